/*
 * test_stream_quorum.c: a separate executor under Byzantine faults applies
 * an entry only once f+1 replicas' streams carry the same one, and a
 * replica takes replies and checkpoints only from its own executor.
 *
 * The executor runs detached (executor.h): the test is the network. It
 * plays four PBFT replicas' Committed streams (f = 1, so two must agree),
 * some of them lying, and watches what the executor applies and sends. A
 * second case drives a detached replica's stream service (stream.c) with
 * frames from its own executor and from another replica's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "exe.h"
#include "executor.h"
#include "keys.h"
#include "node.h"
#include "node_internal.h"
#include "sto.h"
#include "wire.h"

#define SEQ_MAX 64

/* What the executor did: frames sent per replica, entries applied. */
struct watch {
    uint64_t now_ms;
    uint32_t subscribes[SMR_NODES_MAX];
    uint32_t replies[SMR_NODES_MAX];
    uint32_t checkpoints[SMR_NODES_MAX];
    smr_seq applied;                   /* the last seq applied */
    uint64_t applied_time[SEQ_MAX + 1]; /* its leader time */
};

static void w_send(void *arg, smr_node_id to, const uint8_t *f, size_t len)
{
    struct watch *w = arg;
    int type;
    ck_assert_uint_lt(to, SMR_NODES_MAX);
    ck_assert_int_eq(wire_peek_type(f, len, &type), SMR_OK);
    w->subscribes[to] += type == WIRE_SUBSCRIBE;
    w->replies[to] += type == WIRE_REPLY;
    w->checkpoints[to] += type == WIRE_CHECKPOINT;
    if (type == WIRE_REPLIES) { /* a burst's replies: each counts */
        struct wire_replies it;
        const uint8_t *rf;
        size_t rlen;
        ck_assert_int_eq(wire_decode_replies(f, len, &it), SMR_OK);
        while (wire_replies_next(&it, &rf, &rlen))
            w->replies[to]++;
    }
}

static uint64_t w_mono_ms(void *arg)
{
    return ((struct watch *)arg)->now_ms;
}

static void w_executed(void *arg, const struct smr_committed *e,
                       const uint8_t digest[SMR_DIGEST_BYTES])
{
    struct watch *w = arg;
    (void)digest;
    ck_assert_uint_eq(e->seq, w->applied + 1); /* in order, once each */
    ck_assert_uint_le(e->seq, SEQ_MAX);
    w->applied = e->seq;
    w->applied_time[e->seq] = e->leader_time_ms;
}

static const struct glue_executor_io watch_io = {
    .send = w_send,
    .mono_ms = w_mono_ms,
    .executed = w_executed,
};

static struct glue_keys keys;

static void pbft_config(struct glue_config *c)
{
    glue_config_defaults(c);
    snprintf(c->protocol, sizeof c->protocol, "pbft");
    c->cluster_id = 5;
    c->n_replicas = 4;
    c->storage_engine = GLUE_STORAGE_MEMORY;
    c->checkpoint_interval = 4;
    glue_keys_derive(9, 4, 1, &keys);
    c->keys_mem = &keys;
    for (smr_node_id i = 0; i < 4; i++) {
        c->replicas[i].id = i;
        snprintf(c->replicas[i].peer, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7100 + i);
        snprintf(c->replicas[i].client, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7200 + i);
        snprintf(c->replicas[i].stream, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7300 + i);
    }
}

static struct glue_executor *executor_for(const struct glue_config *c,
                                          smr_node_id self, struct watch *w)
{
    char err[256];
    struct glue_executor *x = NULL;
    struct glue_executor_options opt = {.allow_unsafe_storage = true,
                                        .quiet = true,
                                        .io = &watch_io,
                                        .io_arg = w};
    ck_assert_msg(glue_executor_new(c, self, &opt, &x, err, sizeof err) ==
                      SMR_OK,
                  "%s", err);
    glue_executor_start(x);
    return x;
}

/* Replica `from`'s stream sends entry `seq`: a put of key "k<seq>" by
 * client 1, at leader time `time_ms`; `variant` != 0 changes the value (a
 * lie about the batch). */
static int send_entry(struct glue_executor *x, smr_node_id from, smr_seq seq,
                      uint64_t time_ms, int variant)
{
    struct smr_buf op, batch, frame;
    smr_buf_init(&op);
    smr_buf_init(&batch);
    smr_buf_init(&frame);
    char key[16], value[16];
    snprintf(key, sizeof key, "k%llu", (unsigned long long)seq);
    snprintf(value, sizeof value, "v%d", variant);
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_PUT, key, (uint32_t)strlen(key),
                                   NULL, 0, value, (uint32_t)strlen(value)),
                     SMR_OK);
    struct smr_request r = {(1ull << 32) | 1, seq, op.data, (uint32_t)op.len};
    ck_assert_int_eq(smr_batch_begin(&batch), SMR_OK);
    ck_assert_int_eq(smr_batch_add(&batch, &r), SMR_OK);
    struct smr_committed c = {seq, 1, time_ms, batch.data,
                              (uint32_t)batch.len};
    ck_assert_int_eq(wire_encode_committed(&frame, &c), SMR_OK);
    int rc = glue_executor_on_frame(x, from, frame.data, frame.len);
    if (rc == SMR_OK)
        rc = glue_executor_end_burst(x);
    smr_buf_free(&op);
    smr_buf_free(&batch);
    smr_buf_free(&frame);
    return rc;
}

static int send_compacted(struct glue_executor *x, smr_node_id from)
{
    struct smr_buf frame;
    smr_buf_init(&frame);
    struct wire_snapshot_required sr = {100};
    ck_assert_int_eq(wire_encode_snapshot_required(&frame, &sr), SMR_OK);
    int rc = glue_executor_on_frame(x, from, frame.data, frame.len);
    smr_buf_free(&frame);
    return rc;
}

START_TEST(test_f_plus_one_streams_agree)
{
    struct glue_config c;
    pbft_config(&c);
    struct watch w = {.now_ms = 1000};
    struct glue_executor *x = executor_for(&c, 2, &w);
    /* It subscribes to every replica's stream. */
    for (smr_node_id i = 0; i < 4; i++)
        ck_assert_uint_eq(w.subscribes[i], 1);

    /* One replica alone, however often it says so, is not enough. */
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(send_entry(x, 3, 1, 10, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 0);
    /* A second replica with another batch at that seq: still nothing. */
    ck_assert_int_eq(send_entry(x, 0, 1, 10, 1), SMR_OK);
    ck_assert_uint_eq(w.applied, 0);
    /* Another leader time is another entry too. */
    ck_assert_int_eq(send_entry(x, 1, 1, 11, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 0);
    /* A replica id that is not in the cluster counts for nothing. */
    ck_assert_int_eq(send_entry(x, 7, 1, 10, 0), SMR_OK);
    ck_assert_int_eq(send_entry(x, SMR_NODES_MAX + 3, 1, 10, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 0);
    /* f+1 = 2 distinct replicas agree: applied, with their leader time. */
    ck_assert_int_eq(send_entry(x, 2, 1, 10, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 1);
    ck_assert_uint_eq(w.applied_time[1], 10);
    /* Its reply went to this executor's replica only. */
    ck_assert_uint_eq(w.replies[2], 1);
    ck_assert_uint_eq(w.replies[0] + w.replies[1] + w.replies[3], 0);

    /* Entries ahead wait for their quorum, then apply in order. */
    for (smr_seq s = 3; s <= 8; s++)
        ck_assert_int_eq(send_entry(x, 0, s, 20 + s, 0), SMR_OK);
    for (smr_seq s = 3; s <= 8; s++)
        ck_assert_int_eq(send_entry(x, 1, s, 20 + s, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 1); /* seq 2 is missing */
    ck_assert_int_eq(send_entry(x, 3, 2, 22, 0), SMR_OK);
    ck_assert_int_eq(send_entry(x, 1, 2, 22, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 8);
    /* Checkpoints (every 4) went to its replica only. */
    ck_assert_uint_eq(w.checkpoints[2], 2);
    ck_assert_uint_eq(w.checkpoints[0] + w.checkpoints[1] + w.checkpoints[3],
                      0);
    glue_executor_destroy(&x);
}
END_TEST

/* A lying replica floods its stream far ahead and with wrong entries; the
 * others' agreement still applies, and its lies never do. */
START_TEST(test_a_lying_stream_cannot_block_or_steer)
{
    struct glue_config c;
    pbft_config(&c);
    struct watch w = {.now_ms = 1000};
    struct glue_executor *x = executor_for(&c, 0, &w);
    for (smr_seq s = 1; s <= SEQ_MAX; s++)
        ck_assert_int_eq(send_entry(x, 3, s + 100000, 5, 1), SMR_OK);
    for (smr_seq s = 1; s <= 40; s++) {
        ck_assert_int_eq(send_entry(x, 3, s, 5, 1), SMR_OK); /* a lie */
        ck_assert_int_eq(send_entry(x, 1, s, 7, 0), SMR_OK);
        w.now_ms += 1;
    }
    ck_assert_uint_eq(w.applied, 0);
    for (smr_seq s = 1; s <= 40; s++)
        ck_assert_int_eq(send_entry(x, 2, s, 7, 0), SMR_OK);
    ck_assert_uint_eq(w.applied, 40);
    for (smr_seq s = 1; s <= 40; s++)
        ck_assert_uint_eq(w.applied_time[s], 7);
    /* One replica saying it truncated is not believed; two are. */
    ck_assert_int_eq(send_compacted(x, 3), SMR_OK);
    ck_assert_int_eq(send_compacted(x, 3), SMR_OK);
    ck_assert_int_eq(send_compacted(x, 1), SMR_ECOMPACTED);
    glue_executor_destroy(&x);
}
END_TEST

/* The contract: under PBFT a separate executor that would trust one
 * replica's stream is refused, with the field named. */
START_TEST(test_quorum_of_one_refused)
{
    struct glue_config c;
    pbft_config(&c);
    struct watch w = {0};
    struct glue_executor *x = NULL;
    char err[512];
    struct glue_executor_options opt = {.allow_unsafe_storage = true,
                                        .quiet = true,
                                        .io = &watch_io,
                                        .io_arg = &w};
    c.stream_quorum = 1;
    ck_assert_int_eq(glue_executor_new(&c, 0, &opt, &x, err, sizeof err),
                     SMR_ECONTRACT);
    ck_assert_ptr_nonnull(strstr(err, "stream_quorum is 1"));
    ck_assert_ptr_null(x);
    c.stream_quorum = 0;
    c.replicas[3].stream[0] = '\0'; /* a quorum reads every stream */
    ck_assert_int_eq(glue_executor_new(&c, 0, &opt, &x, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "replicas[3].stream"));
    ck_assert_ptr_null(x);
}
END_TEST

/* Catching up over replicas that stream at different speeds, one of them
 * down, with batches near PBFT's bound (8 MiB / window): whatever arrives
 * out of order must fit, or be asked for again, and the entry at the
 * cursor must always get in. (Before the credit was sized to the byte
 * bound, this stalled for good at a few hundred seqs: later entries filled
 * a stream's buffer and the cursor's entry was refused at every resend.)
 * The replicas follow stream.c's rules for SUBSCRIBE: a cursor that did
 * not move restarts the stream there, otherwise it is a credit top-up. */
struct replica_model {
    smr_seq next_seq, limit, executed;
};

struct catch_up {
    struct watch w;
    struct replica_model r[4];
};

static void cu_send(void *arg, smr_node_id to, const uint8_t *f, size_t len)
{
    struct catch_up *cu = arg;
    struct wire_subscribe s;
    int type;
    ck_assert_int_eq(wire_peek_type(f, len, &type), SMR_OK);
    if (type != WIRE_SUBSCRIBE)
        return;
    ck_assert_int_eq(wire_decode_subscribe(f, len, &s), SMR_OK);
    struct replica_model *c = &cu->r[to];
    bool resume = s.from_seq <= c->executed + 1;
    if (c->next_seq == 0 || resume || s.from_seq > c->next_seq)
        c->next_seq = s.from_seq;
    c->limit = s.from_seq + s.credit - 1;
    c->executed = s.from_seq - 1;
}

static uint64_t cu_mono_ms(void *arg)
{
    return ((struct catch_up *)arg)->w.now_ms;
}

static void cu_executed(void *arg, const struct smr_committed *e,
                        const uint8_t digest[SMR_DIGEST_BYTES])
{
    (void)digest;
    struct catch_up *cu = arg;
    ck_assert_uint_eq(e->seq, cu->w.applied + 1);
    cu->w.applied = e->seq;
}

static const struct glue_executor_io catch_up_io = {
    .send = cu_send,
    .mono_ms = cu_mono_ms,
    .executed = cu_executed,
};

/* Entry `seq`: one put whose value makes the batch about `bytes` long. */
static void big_entry(struct smr_buf *frame, smr_seq seq, uint32_t bytes)
{
    static char value[200 * 1024];
    struct smr_buf op, batch;
    smr_buf_init(&op);
    smr_buf_init(&batch);
    memset(value, 'v', sizeof value);
    char key[16];
    snprintf(key, sizeof key, "k%llu", (unsigned long long)seq);
    ck_assert_uint_le(bytes, sizeof value);
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_PUT, key, (uint32_t)strlen(key),
                                   NULL, 0, value, bytes),
                     SMR_OK);
    struct smr_request r = {(1ull << 32) | 1, seq, op.data, (uint32_t)op.len};
    ck_assert_int_eq(smr_batch_begin(&batch), SMR_OK);
    ck_assert_int_eq(smr_batch_add(&batch, &r), SMR_OK);
    struct smr_committed c = {seq, 1, 100 + seq, batch.data,
                              (uint32_t)batch.len};
    ck_assert_int_eq(wire_encode_committed(frame, &c), SMR_OK);
    smr_buf_free(&op);
    smr_buf_free(&batch);
}

START_TEST(test_catch_up_over_uneven_streams)
{
    enum { COMMITTED = 400 };
    static const int speed[4] = {4, 2, 1, 0}; /* replica 3 is down */
    struct glue_config c;
    pbft_config(&c);
    c.checkpoint_interval = 1000;
    struct catch_up cu = {.w.now_ms = 1000};
    struct glue_executor *x = NULL;
    char err[256];
    struct glue_executor_options opt = {.allow_unsafe_storage = true,
                                        .quiet = true,
                                        .io = &catch_up_io,
                                        .io_arg = &cu};
    ck_assert_msg(glue_executor_new(&c, 0, &opt, &x, err, sizeof err) ==
                      SMR_OK,
                  "%s", err);
    glue_executor_start(x);
    /* The largest batch PBFT allows at the default window of 64. */
    uint32_t bytes = 128 * 1024 - 256;
    struct smr_buf frame;
    smr_buf_init(&frame);
    int round = 0;
    for (; round < 400 && cu.w.applied < COMMITTED; round++) {
        for (bool more = true; more;) {
            more = false;
            for (smr_node_id i = 0; i < 4; i++)
                for (int b = 0; b < speed[i]; b++) {
                    struct replica_model *m = &cu.r[i];
                    if (!m->next_seq || m->next_seq > m->limit ||
                        m->next_seq > COMMITTED)
                        break;
                    big_entry(&frame, m->next_seq++, bytes);
                    ck_assert_int_eq(glue_executor_on_frame(x, i, frame.data,
                                                            frame.len),
                                     SMR_OK);
                    more = true;
                }
        }
        ck_assert_int_eq(glue_executor_end_burst(x), SMR_OK);
        cu.w.now_ms += 50;
        glue_executor_tick(x);
    }
    ck_assert_msg(cu.w.applied == COMMITTED,
                  "stalled at seq %llu of %d after %d rounds of 50 ms",
                  (unsigned long long)cu.w.applied, COMMITTED, round);
    if (getenv("STREAM_QUORUM_VERBOSE"))
        fprintf(stderr, "caught up in %d rounds\n", round);
    smr_buf_free(&frame);
    glue_executor_destroy(&x);
}
END_TEST

/* ------------------------------------------------- the replica's side */

struct node_watch {
    uint32_t client_frames;
};

static void n_send_peer(void *arg, smr_node_id to, const uint8_t *f,
                        size_t len)
{
    (void)arg, (void)to, (void)f, (void)len;
}

static void n_send_client(void *arg, const uint8_t *route, size_t route_len,
                          const uint8_t *f, size_t len)
{
    (void)route, (void)route_len, (void)f, (void)len;
    ((struct node_watch *)arg)->client_frames++;
}

static bool n_send_stream(void *arg, const uint8_t *route, size_t route_len,
                          const uint8_t *f, size_t len)
{
    (void)arg, (void)route, (void)route_len, (void)f, (void)len;
    return true;
}

static uint64_t n_now_ms(void *arg)
{
    (void)arg;
    return 1000;
}

START_TEST(test_replica_takes_votes_from_its_own_executor_only)
{
    struct glue_config c;
    pbft_config(&c);
    struct node_watch nw = {0};
    const struct glue_io_ops io = {
        .peer_send = n_send_peer,
        .client_send = n_send_client,
        .stream_send = n_send_stream,
        .now_ms = n_now_ms,
        .mono_ms = n_now_ms,
    };
    struct glue_node_options opt = {.allow_unsafe_storage = true,
                                    .quiet = true,
                                    .io = &io,
                                    .io_arg = &nw};
    struct glue_node *n = NULL;
    char err[256];
    ck_assert_msg(glue_node_new(&c, 1, &opt, &n, err, sizeof err) == SMR_OK,
                  "%s", err);
    /* The client's route, learned as a request would teach it. */
    smr_client_id client = (1ull << 32) | 1;
    uint8_t route = 9;
    glue_node_route_put(n, client, &route, 1);
    struct smr_buf f;
    smr_buf_init(&f);
    struct wire_reply r = {.client_id = client,
                           .req_id = 1,
                           .seq = 1,
                           .status = WIRE_REPLY_OK,
                           .leader_hint = WIRE_LEADER_UNKNOWN,
                           .result = (const uint8_t *)"x",
                           .result_len = 1};
    ck_assert_int_eq(wire_encode_reply(&f, &r), SMR_OK);
    uint8_t id = 1;
    uint64_t refused = n->stats.rejected[SMR_EFORBIDDEN];
    /* From another replica's executor: dropped and counted. */
    glue_stream_on_frame(n, &id, 1, 3, f.data, f.len);
    ck_assert_uint_eq(nw.client_frames, 0);
    ck_assert_uint_eq(n->stats.rejected[SMR_EFORBIDDEN], refused + 1);
    struct wire_checkpoint cp = {.seq = 40};
    ck_assert_int_eq(wire_encode_checkpoint(&f, &cp), SMR_OK);
    glue_stream_on_frame(n, &id, 1, 3, f.data, f.len);
    ck_assert_uint_eq(n->stream_checkpoint, 0);
    ck_assert_uint_eq(n->stats.rejected[SMR_EFORBIDDEN], refused + 2);
    /* From its own: passed on. */
    ck_assert_int_eq(wire_encode_reply(&f, &r), SMR_OK);
    glue_stream_on_frame(n, &id, 1, 1, f.data, f.len);
    ck_assert_uint_eq(nw.client_frames, 1);
    ck_assert_int_eq(wire_encode_checkpoint(&f, &cp), SMR_OK);
    glue_stream_on_frame(n, &id, 1, 1, f.data, f.len);
    ck_assert_uint_eq(n->stream_checkpoint, 40);
    /* One consumer slot per executor: another replica's executor opening
     * connection after connection replaces only its own slot, and the
     * credit it asks for is bounded. */
    struct wire_subscribe sub = {.consumer_id = 1, .from_seq = 10,
                                 .credit = 100};
    ck_assert_int_eq(wire_encode_subscribe(&f, &sub), SMR_OK);
    glue_stream_on_frame(n, &id, 1, 1, f.data, f.len);
    ck_assert_uint_eq(glue_stream_executed(n), 9);
    sub.credit = UINT32_MAX;
    ck_assert_int_eq(wire_encode_subscribe(&f, &sub), SMR_OK);
    for (uint8_t route = 20; route < 20 + 2 * GLUE_CONSUMERS_MAX; route++)
        glue_stream_on_frame(n, &route, 1, 3, f.data, f.len);
    ck_assert_uint_eq(glue_stream_executed(n), 9);
    uint32_t slots = 0;
    for (int i = 0; i < GLUE_CONSUMERS_MAX; i++) {
        const struct glue_consumer *cs = &n->consumers[i];
        if (!cs->id_len)
            continue;
        slots++;
        ck_assert_uint_lt(cs->limit - cs->executed, 10000);
    }
    ck_assert_uint_eq(slots, 2);
    smr_buf_free(&f);
    glue_node_destroy(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_quorum");
    TCase *tc = tcase_create("quorum");
    tcase_add_test(tc, test_f_plus_one_streams_agree);
    tcase_add_test(tc, test_a_lying_stream_cannot_block_or_steer);
    tcase_add_test(tc, test_quorum_of_one_refused);
    tcase_add_test(tc, test_catch_up_over_uneven_streams);
    tcase_add_test(tc, test_replica_takes_votes_from_its_own_executor_only);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
