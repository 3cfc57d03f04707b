/*
 * test_pbft_client.c: Check suite for what a PBFT deployment adds around
 * the core: key files (glue/keys.c: `strata keygen`, enrolment, loading and
 * its refusals), the client's authenticated requests and the f+1 reply
 * vote (glue/reply_quorum.c), and client ids bound to credential blocks.
 * A real PBFT core is the judge of every request built here.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "pbft.h"
#include "reply_quorum.h"
#include "wire_pbft.h"

#define ERR_BYTES 512

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/strata-keys-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(rmdir(dir), 0); /* keygen creates it */
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void config_of(struct glue_config *c, uint32_t n)
{
    glue_config_defaults(c);
    snprintf(c->protocol, sizeof c->protocol, "pbft");
    snprintf(c->keys_dir, sizeof c->keys_dir, "%s", dir);
    c->cluster_id = 77;
    c->n_replicas = n;
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A PBFT core for replica `self` with the keys `k`. */
static struct ord_pbft *core_of(const struct glue_config *c,
                                const struct glue_keys *k, smr_node_id self)
{
    struct ord_pbft_config pc;
    struct ord_pbft *p = NULL;
    glue_config_pbft(c, self, k, &pc);
    ck_assert_int_eq(ord_pbft_new(&pc, &p), SMR_OK);
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_pbft_start(p, 1, &o, &n), SMR_OK);
    return p;
}

/* Steps `frame` (a client request) into `p` the way the driver does; true
 * when the core took it (no authentication failure counted). */
static bool core_accepts(struct ord_pbft *p, const struct smr_buf *frame)
{
    static struct wire_pbft_store store;
    struct ord_pbft_msg m;
    uint64_t cluster;
    smr_epoch epoch;
    ck_assert_int_eq(
        wire_decode_pbft(frame->data, frame->len, &cluster, &epoch, &m, &store),
        SMR_OK);
    struct ord_pbft_stats before, after;
    ord_pbft_get_stats(p, &before);
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = ORD_PBFT_FROM_CLIENT;
    ev.u.message.msg = &m;
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_pbft_step(p, 2, &ev, &o, &n), SMR_OK);
    ord_pbft_get_stats(p, &after);
    return after.bad_mac == before.bad_mac && after.invalid == before.invalid;
}

START_TEST(test_keygen_load_and_requests)
{
    char err[ERR_BYTES] = "";
    make_dir();
    ck_assert_int_eq(glue_keys_generate(dir, 4, 3, err, sizeof err), SMR_OK);
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "%s/replica-2.key", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* never over existing keys */
    ck_assert_int_eq(glue_keys_generate(dir, 4, 3, err, sizeof err), SMR_EIO);
    ck_assert_ptr_nonnull(strstr(err, "replica-0.pub"));

    struct glue_config c;
    config_of(&c, 4);
    static struct glue_keys client, replica[4];
    ck_assert_int_eq(
        glue_keys_load(&c, SMR_NODES_MAX, true, &client, err, sizeof err),
        SMR_OK);
    ck_assert_uint_eq(client.client_block, 3);
    struct ord_pbft *cores[4];
    for (smr_node_id i = 0; i < 4; i++) {
        ck_assert_int_eq(
            glue_keys_load(&c, i, false, &replica[i], err, sizeof err), SMR_OK);
        cores[i] = core_of(&c, &replica[i], i);
    }

    struct ord_pbft_config pc;
    glue_config_pbft(&c, 0, NULL, &pc);
    const uint8_t op[] = "op";
    struct smr_request r = {((smr_client_id)3 << 32) | 99, 1, op, 2};
    struct smr_buf f;
    smr_buf_init(&f);
    ck_assert_int_eq(
        glue_pbft_request_encode(&f, c.cluster_id, pc.epoch, &client, 4, &r,
                                 false),
        SMR_OK);
    for (smr_node_id i = 0; i < 4; i++)
        ck_assert_msg(core_accepts(cores[i], &f), "replica %u refused", i);

    /* Signed (a retransmission): every replica checks the proof, which the
     * credential's signing key and the CA's certificate make. */
    ck_assert_int_eq(glue_pbft_request_encode(&f, c.cluster_id, pc.epoch,
                                              &client, 4, &r, true),
                     SMR_OK);
    for (smr_node_id i = 0; i < 4; i++) {
        struct ord_pbft_stats st0, st1;
        ord_pbft_get_stats(cores[i], &st0);
        ck_assert_msg(core_accepts(cores[i], &f), "replica %u refused", i);
        ord_pbft_get_stats(cores[i], &st1);
        ck_assert_uint_eq(st1.signed_requests, st0.signed_requests + 1);
    }
    /* A proof is checked even where the tag checks: one flipped bit of the
     * signature, of the certificate, or a key the CA did not certify, and
     * the request is dropped. */
    for (int part = 0; part < 3; part++) {
        static struct glue_keys bad;
        bad = client;
        if (part == 0)
            bad.client_cert[5] ^= 1;
        else if (part == 1)
            bad.client_sign_key[3] ^= 1; /* another key, same certificate */
        struct smr_request r2 = {r.client_id, 2 + (smr_req_id)part, op, 2};
        ck_assert_int_eq(glue_pbft_request_encode(&f, c.cluster_id, pc.epoch,
                                                  &bad, 4, &r2, true),
                         SMR_OK);
        if (part == 2) /* flip a bit of the signature in the frame */
            f.data[f.len - 1 - 4 * ORD_PBFT_MAC_BYTES - 3] ^= 1;
        for (smr_node_id i = 0; i < 4; i++)
            ck_assert_msg(!core_accepts(cores[i], &f),
                          "replica %u took a bad proof (%d)", i, part);
    }

    /* An id of another block: the encoder refuses it, and tags made with
     * this credential's block keys for that id do not check anywhere. */
    struct smr_request other = {((smr_client_id)4 << 32) | 99, 1, op, 2};
    ck_assert_int_eq(glue_pbft_request_encode(&f, c.cluster_id, pc.epoch,
                                              &client, 4, &other, false),
                     SMR_EINVAL);
    ck_assert_int_eq(glue_pbft_request_encode(&f, c.cluster_id, pc.epoch,
                                              &client, 4, &other, true),
                     SMR_EINVAL);
    uint8_t forged[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    for (uint32_t i = 0; i < 4; i++)
        ord_pbft_client_key_in_block(client.client_block_keys[i],
                                     other.client_id, forged[i]);
    ck_assert_int_eq(glue_pbft_request_encode_keyed(
                         &f, c.cluster_id, pc.epoch,
                         (const uint8_t(*)[ORD_PBFT_KEY_BYTES])forged, 4,
                         &other, NULL),
                     SMR_OK);
    for (smr_node_id i = 0; i < 4; i++)
        ck_assert_msg(!core_accepts(cores[i], &f), "replica %u took a forgery",
                      i);
    /* Nor can it sign for that block: its certificate names block 3. */
    static struct glue_keys as_other;
    as_other = client;
    as_other.client_block = 4;
    ck_assert_int_eq(glue_pbft_request_encode_keyed(
                         &f, c.cluster_id, pc.epoch,
                         (const uint8_t(*)[ORD_PBFT_KEY_BYTES])forged, 4,
                         &other, &as_other),
                     SMR_OK);
    for (smr_node_id i = 0; i < 4; i++)
        ck_assert_msg(!core_accepts(cores[i], &f),
                      "replica %u took a proof of another block", i);

    /* Enrolment: a second block's credential works for that block. */
    char cred[160];
    snprintf(cred, sizeof cred, "%s/client-4.cred", dir);
    ck_assert_int_eq(glue_keys_enroll(dir, 4, 4, cred, err, sizeof err),
                     SMR_OK);
    snprintf(path, sizeof path, "%s/client.cred", dir);
    ck_assert_int_eq(rename(cred, path), 0);
    ck_assert_int_eq(
        glue_keys_load(&c, SMR_NODES_MAX, true, &client, err, sizeof err),
        SMR_OK);
    ck_assert_uint_eq(client.client_block, 4);
    for (int sign = 0; sign < 2; sign++) {
        other.req_id = 1 + (smr_req_id)sign;
        ck_assert_int_eq(glue_pbft_request_encode(&f, c.cluster_id, pc.epoch,
                                                  &client, 4, &other, sign),
                         SMR_OK);
        for (smr_node_id i = 0; i < 4; i++)
            ck_assert(core_accepts(cores[i], &f));
    }

    for (smr_node_id i = 0; i < 4; i++)
        ord_pbft_destroy(&cores[i]);
    smr_buf_free(&f);
    remove_dir();
}
END_TEST

START_TEST(test_key_files_refused)
{
    char err[ERR_BYTES] = "";
    make_dir();
    ck_assert_int_eq(glue_keys_generate(dir, 4, 1, err, sizeof err), SMR_OK);
    struct glue_config c;
    config_of(&c, 4);
    static struct glue_keys k;

    write_file("replica-1.pub", "abcd\n");
    ck_assert_int_eq(glue_keys_load(&c, 0, false, &k, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_msg(strstr(err, "replica-1.pub: line 1: expected 64 hex digits"),
                  "%s", err);

    write_file(
        "replica-1.pub",
        "zz00000000000000000000000000000000000000000000000000000000000000\n");
    ck_assert_int_eq(glue_keys_load(&c, 0, false, &k, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "expected 64 hex digits"));

    write_file(
        "replica-1.pub",
        "0000000000000000000000000000000000000000000000000000000000000000\n"
        "extra\n");
    ck_assert_int_eq(glue_keys_load(&c, 0, false, &k, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_msg(strstr(err, "replica-1.pub: line 2: unexpected text"), "%s",
                  err);

    char path[128];
    snprintf(path, sizeof path, "%s/replica-1.pub", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(glue_keys_load(&c, 0, false, &k, err, sizeof err),
                     SMR_EIO);
    ck_assert_msg(strstr(err, "replica-1.pub: cannot open") &&
                      strstr(err, "strata keygen"),
                  "%s", err);

    write_file("client.cred", "block 0\n");
    c.n_replicas = 1; /* replica-0.pub is still good */
    ck_assert_int_eq(
        glue_keys_load(&c, SMR_NODES_MAX, true, &k, err, sizeof err),
        SMR_ECONFIG);
    ck_assert_msg(strstr(err, "client.cred: line 1: expected \"block <n>\""),
                  "%s", err);

    c.keys_dir[0] = '\0';
    ck_assert_int_eq(glue_keys_load(&c, 0, false, &k, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_str_eq(err, "keys: required when protocol is pbft (a directory "
                          "written by `strata keygen`)");
    remove_dir();
}
END_TEST

START_TEST(test_secret_key_of_another_replica_refused)
{
    struct glue_config c;
    static struct glue_keys k;
    glue_keys_derive(5, 4, 1, &k);
    config_of(&c, 4);
    struct ord_pbft_config pc;
    glue_config_pbft(&c, 1, &k, &pc);
    memcpy(pc.secret_key, k.secret_keys[2], sizeof pc.secret_key);
    struct ord_pbft *p = NULL;
    ck_assert_int_eq(ord_pbft_new(&pc, &p), SMR_ECONFIG);
    /* the same seed gives the same keys */
    static struct glue_keys again;
    glue_keys_derive(5, 4, 1, &again);
    ck_assert_mem_eq(&k, &again, sizeof k);
}
END_TEST

static struct wire_reply reply(smr_seq seq, const char *result)
{
    return (struct wire_reply){.client_id = 1,
                               .req_id = 1,
                               .seq = seq,
                               .status = WIRE_REPLY_OK,
                               .result = (const uint8_t *)result,
                               .result_len = (uint32_t)strlen(result)};
}

START_TEST(test_reply_vote)
{
    struct glue_reply_quorum q;
    struct wire_reply ok = reply(7, "v"), lie = reply(7, "x"),
                      other_seq = reply(8, "v"), busy = reply(7, "v");
    busy.status = WIRE_REPLY_BUSY;

    /* f = 1: two matching replies decide; one liar does not. */
    glue_reply_quorum_reset(&q, 4, 1);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 0, &lie), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 2, &ok), GLUE_VOTE_DONE);

    /* The same replica twice counts once; non-OK and unknown replicas
     * count nothing. */
    glue_reply_quorum_reset(&q, 4, 1);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 2, &busy), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 9, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 0, &lie), GLUE_VOTE_PENDING);
    struct wire_reply third = reply(7, "y"); /* replica 3 could still match */
    ck_assert_int_eq(glue_reply_quorum_add(&q, 2, &third), GLUE_VOTE_PENDING);
    struct wire_reply fourth = reply(7, "z");
    ck_assert_int_eq(glue_reply_quorum_add(&q, 3, &fourth), GLUE_VOTE_FAILED);

    /* The seq is not voted on: a request committed twice is answered with
     * the seq of the copy each replica executed. */
    glue_reply_quorum_reset(&q, 4, 1);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 3, &other_seq), GLUE_VOTE_DONE);

    /* A replica that changes its reply replaces its vote. */
    glue_reply_quorum_reset(&q, 4, 1);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 0, &lie), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &lie), GLUE_VOTE_DONE);
    glue_reply_quorum_reset(&q, 4, 1);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 0, &lie), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 0, &ok), GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 1, &lie), GLUE_VOTE_PENDING);

    /* f = 2 of 7: three matching; fails only once no result can reach it. */
    glue_reply_quorum_reset(&q, 7, 2);
    struct wire_reply r[7];
    const char *vals[7] = {"a", "b", "c", "d", "a", "b", "c"};
    for (int i = 0; i < 7; i++)
        r[i] = reply(1, vals[i]);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(glue_reply_quorum_add(&q, (smr_node_id)i, &r[i]),
                         GLUE_VOTE_PENDING);
    ck_assert_int_eq(glue_reply_quorum_add(&q, 6, &r[6]), GLUE_VOTE_FAILED);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("pbft_client");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_keygen_load_and_requests);
    tcase_add_test(tc, test_key_files_refused);
    tcase_add_test(tc, test_secret_key_of_another_replica_refused);
    tcase_add_test(tc, test_reply_vote);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
