/*
 * test_pbft_client.c: Check suite for what a PBFT deployment adds around
 * the core: key files (glue/keys.c: `strata keygen`, enrolment, loading and
 * its refusals), the client's authenticated requests and the f+1 reply
 * vote (glue/reply_quorum.c), client ids bound to credential blocks, and
 * when the client library signs a request (fake replicas on ipc sockets).
 * A real PBFT core is the judge of every request built here.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "client.h"
#include "clock.h"
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

/* ------------------------------------------- the client library's sends */

/* Four fake replicas (ROUTER sockets on ipc paths) in front of a PBFT
 * client: what it sends, and when it signs. */
struct fakes {
    const struct glue_keys *k; /* the client's credential */
    uint64_t cluster_id;
    smr_epoch epoch;
    void *ctx, *r[4];
    char path[4][64];
    uint8_t id[4][256];
    size_t id_len[4];
};

static void fakes_open(struct fakes *fk, struct glue_config *c,
                       struct glue_keys *k)
{
    glue_config_defaults(c);
    snprintf(c->protocol, sizeof c->protocol, "pbft");
    c->cluster_id = 77;
    c->n_replicas = 4;
    glue_keys_derive(5, 4, 1, k);
    c->keys_mem = k;
    fk->k = k;
    struct ord_pbft_config pc;
    glue_config_pbft(c, 0, NULL, &pc);
    fk->cluster_id = pc.cluster_id;
    fk->epoch = pc.epoch;
    fk->ctx = zmq_ctx_new();
    for (int i = 0; i < 4; i++) {
        c->replicas[i].id = (smr_node_id)i;
        snprintf(c->replicas[i].peer, sizeof c->replicas[i].peer,
                 "ipc:///tmp/strata-fake-peer-%d-%d", (int)getpid(), i);
        snprintf(fk->path[i], sizeof fk->path[i],
                 "ipc:///tmp/strata-fake-client-%d-%d", (int)getpid(), i);
        snprintf(c->replicas[i].client, sizeof c->replicas[i].client, "%s",
                 fk->path[i]);
        fk->r[i] = zmq_socket(fk->ctx, ZMQ_ROUTER);
        ck_assert_int_eq(zmq_bind(fk->r[i], fk->path[i]), 0);
    }
}

static void fakes_close(struct fakes *fk)
{
    for (int i = 0; i < 4; i++) {
        zmq_close(fk->r[i]);
        unlink(fk->path[i] + strlen("ipc://"));
    }
    zmq_ctx_term(fk->ctx);
}

/* The request replica i received (waiting up to 1 s), decoded into *m;
 * false when none came. */
static bool fake_recv(struct fakes *fk, int i, struct ord_pbft_msg *m,
                      int timeout_ms)
{
    static struct wire_pbft_store store;
    static uint8_t frame[4096];
    zmq_pollitem_t it = {fk->r[i], 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return false;
    int n = zmq_recv(fk->r[i], fk->id[i], sizeof fk->id[i], 0);
    ck_assert_int_gt(n, 0);
    fk->id_len[i] = (size_t)n;
    n = zmq_recv(fk->r[i], frame, sizeof frame, 0);
    ck_assert_int_gt(n, 0);
    uint64_t cluster;
    smr_epoch epoch;
    ck_assert_int_eq(wire_decode_pbft(frame, (size_t)n, &cluster, &epoch, m,
                                      &store),
                     SMR_OK);
    ck_assert_int_eq(m->type, ORD_PBFT_REQUEST);
    return true;
}

/* Tags `rep` as replica `as` would (the key the client shares with it,
 * derived here from the client's side), or leaves it untagged (`as` < 0). */
static void fake_tag(const struct fakes *fk, int as, struct wire_reply *rep)
{
    uint8_t keys[4][ORD_PBFT_KEY_BYTES];
    rep->has_tag = as >= 0;
    if (as < 0)
        return;
    ck_assert_int_eq(glue_pbft_client_keys(fk->k, 4, rep->client_id, keys),
                     SMR_OK);
    struct ord_pbft_reply r = {(smr_node_id)as, rep->client_id, rep->req_id,
                               rep->seq,        rep->status,    rep->leader_hint,
                               rep->result,     rep->result_len};
    ord_pbft_reply_tag(keys[as], fk->cluster_id, fk->epoch, &r, rep->tag);
}

static void fake_reply(struct fakes *fk, int i, const struct ord_pbft_msg *m,
                       enum wire_reply_status status, const char *result)
{
    struct wire_reply rep = {.client_id = m->client_id,
                             .req_id = m->req_id,
                             .seq = 1,
                             .status = status,
                             .leader_hint = 0,
                             .result = (const uint8_t *)result,
                             .result_len = (uint32_t)strlen(result)};
    fake_tag(fk, i, &rep);
    struct smr_buf f;
    smr_buf_init(&f);
    ck_assert_int_eq(wire_encode_reply(&f, &rep), SMR_OK);
    zmq_send(fk->r[i], fk->id[i], fk->id_len[i], ZMQ_SNDMORE);
    zmq_send(fk->r[i], f.data, f.len, 0);
    smr_buf_free(&f);
}

static int done_calls;
static void on_done(void *arg, uint32_t session, const uint8_t *result,
                    uint32_t len, smr_seq seq)
{
    (void)arg, (void)session, (void)seq;
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(result, "ok", 2);
    done_calls++;
}

static void poll_for(struct glue_client *cl, uint64_t now, int ms)
{
    for (int t = 0; t < ms; t++) {
        glue_client_poll(cl, now, on_done, NULL);
        usleep(1000);
    }
}

/* Opens the fakes and a one-session client, and submits one request: its
 * first goes to every replica, unsigned; *m is the copy replica 3 got. */
static void one_request(struct fakes *fk, struct glue_config *c,
                        struct glue_keys *k, struct glue_client **cl,
                        struct ord_pbft_msg *m)
{
    fakes_open(fk, c, k);
    ck_assert_int_eq(glue_client_new(c, fk->ctx, cl), SMR_OK);
    ck_assert_int_eq(glue_client_submit(*cl, 0, (const uint8_t *)"op", 2),
                     SMR_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(fake_recv(fk, i, m, 1000), "replica %d got nothing", i);
        ck_assert_ptr_null(m->proof);
    }
}

/* A first request goes to all, unsigned; SIGN from a replica gets it signed
 * to that replica at once, once; a retry after the timeout goes to all,
 * signed; f+1 matching replies complete it. */
START_TEST(test_client_signs_when_asked_and_on_retry)
{
    struct fakes fk;
    struct glue_config c;
    static struct glue_keys k;
    struct glue_client *cl;
    struct ord_pbft_msg m;
    one_request(&fk, &c, &k, &cl, &m);
    uint64_t t0 = glue_mono_ms(); /* the clock submit used */
    fake_reply(&fk, 0, &m, WIRE_REPLY_SIGN, "");
    poll_for(cl, t0, 50);
    ck_assert(fake_recv(&fk, 0, &m, 1000));
    ck_assert_ptr_nonnull(m.proof);
    fake_reply(&fk, 0, &m, WIRE_REPLY_SIGN, ""); /* asked again: ignored */
    poll_for(cl, t0, 50);
    for (int i = 0; i < 4; i++)
        ck_assert(!fake_recv(&fk, i, &m, 0));
    /* The retry, after the 400 ms timeout: to every replica, signed. */
    poll_for(cl, t0 + 10000, 20);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(fake_recv(&fk, i, &m, 1000), "no retry at %d", i);
        ck_assert_ptr_nonnull(m.proof);
    }
    /* One reply is not enough, f+1 = 2 matching are. */
    fake_reply(&fk, 1, &m, WIRE_REPLY_OK, "ok");
    poll_for(cl, t0 + 10000, 50);
    ck_assert_int_eq(done_calls, 0);
    fake_reply(&fk, 3, &m, WIRE_REPLY_OK, "ok");
    poll_for(cl, t0 + 10000, 50);
    ck_assert_int_eq(done_calls, 1);
    glue_client_destroy(&cl);
    fakes_close(&fk);
}
END_TEST

/* Replies bundled in one REPLIES frame count one by one, each as its
 * replica's reply; an inner frame that is not a valid REPLY is skipped, and
 * a REPLIES frame that is malformed anywhere is dropped whole. */
static void fake_replies(struct fakes *fk, int i, const struct ord_pbft_msg *m,
                         int n_m, bool garbage, bool break_count)
{
    struct smr_buf f, one;
    smr_buf_init(&f);
    smr_buf_init(&one);
    ck_assert_int_eq(wire_replies_start(&f), SMR_OK);
    for (int k = 0; k < n_m; k++) {
        struct wire_reply rep = {.client_id = m[k].client_id,
                                 .req_id = m[k].req_id,
                                 .seq = 1,
                                 .status = WIRE_REPLY_OK,
                                 .result = (const uint8_t *)"ok",
                                 .result_len = 2};
        fake_tag(fk, i, &rep);
        ck_assert_int_eq(wire_encode_reply(&one, &rep), SMR_OK);
        ck_assert_int_eq(wire_replies_add(&f, one.data, one.len), SMR_OK);
        if (garbage && k == 0)
            ck_assert_int_eq(wire_replies_add(&f, one.data, one.len - 1),
                             SMR_OK);
    }
    if (break_count)
        f.data[7]++; /* one more frame declared than there are */
    zmq_send(fk->r[i], fk->id[i], fk->id_len[i], ZMQ_SNDMORE);
    zmq_send(fk->r[i], f.data, f.len, 0);
    smr_buf_free(&f);
    smr_buf_free(&one);
}

START_TEST(test_bundled_replies_vote)
{
    struct fakes fk;
    struct glue_config c;
    static struct glue_keys k;
    fakes_open(&fk, &c, &k);
    struct glue_client *cl;
    ck_assert_int_eq(glue_client_new_sessions(&c, fk.ctx, 3, &cl), SMR_OK);
    struct ord_pbft_msg m[3];
    for (uint32_t s = 0; s < 3; s++)
        ck_assert_int_eq(glue_client_submit(cl, s, (const uint8_t *)"op", 2),
                         SMR_OK);
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < 3; s++)
            ck_assert_msg(fake_recv(&fk, i, &m[s], 1000),
                          "replica %d got %d requests", i, s);
    uint64_t t0 = glue_mono_ms();
    done_calls = 0;
    fake_replies(&fk, 1, m, 3, false, false);
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 0); /* one replica each: f+1 is 2 */
    fake_replies(&fk, 2, m, 3, false, true); /* malformed: dropped whole */
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 0);
    fake_replies(&fk, 2, m, 2, true, false); /* a bad inner frame skipped */
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 2);
    fake_replies(&fk, 1, &m[2], 1, false, false); /* the same replica again */
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 2);
    fake_replies(&fk, 3, &m[2], 1, false, false);
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 3);
    glue_client_destroy(&cl);
    fakes_close(&fk);
}
END_TEST

/* A reply counts only with its replica's tag: not untagged, not with
 * another replica's tag, not with a tag over other fields. */
START_TEST(test_reply_tags_checked)
{
    struct fakes fk;
    struct glue_config c;
    static struct glue_keys k;
    struct glue_client *cl;
    struct ord_pbft_msg m;
    one_request(&fk, &c, &k, &cl, &m);
    uint64_t t0 = glue_mono_ms();
    done_calls = 0;
    struct wire_reply rep = {.client_id = m.client_id,
                             .req_id = m.req_id,
                             .seq = 1,
                             .status = WIRE_REPLY_OK,
                             .result = (const uint8_t *)"ok",
                             .result_len = 2};
    struct smr_buf f;
    smr_buf_init(&f);
    struct {
        int sender, tag_as;
        uint64_t tagged_seq; /* the seq the tag covers */
    } bad[] = {
        {1, -1, 1}, /* untagged */
        {1, 2, 1},  /* replica 2's tag, over replica 1's link */
        {2, 1, 1},  /* and the reverse */
        {3, 3, 2},  /* a tag over another seq */
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        rep.seq = bad[b].tagged_seq;
        fake_tag(&fk, bad[b].tag_as, &rep);
        rep.seq = 1;
        ck_assert_int_eq(wire_encode_reply(&f, &rep), SMR_OK);
        zmq_send(fk.r[bad[b].sender], fk.id[bad[b].sender],
                 fk.id_len[bad[b].sender], ZMQ_SNDMORE);
        zmq_send(fk.r[bad[b].sender], f.data, f.len, 0);
    }
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 0);
    fake_reply(&fk, 1, &m, WIRE_REPLY_OK, "ok");
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 0);
    fake_reply(&fk, 2, &m, WIRE_REPLY_OK, "ok");
    poll_for(cl, t0, 50);
    ck_assert_int_eq(done_calls, 1);
    smr_buf_free(&f);
    glue_client_destroy(&cl);
    fakes_close(&fk);
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
    tcase_add_test(tc, test_client_signs_when_asked_and_on_retry);
    tcase_add_test(tc, test_bundled_replies_vote);
    tcase_add_test(tc, test_reply_tags_checked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
