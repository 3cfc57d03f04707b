/*
 * test_exe_engine.c: the sequential engine (execution/seq_engine.c) and the
 * session table (execution/session.c): exactly-once, stale requests,
 * determinism across engines and across snapshot/restore on a seeded random
 * stream, expiry by log time, malformed batches, corrupt engine snapshots.
 */
#include "exe.h"
#include "session.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures --------------------------------------------------------- */

struct rec {
    smr_client_id client_id;
    smr_req_id req_id;
    smr_seq seq;
    bool from_session;
    uint8_t *bytes;
    uint32_t len;
};

struct eng {
    struct exe_app *app;
    struct exe_engine *e;
    struct rec *recs;
    size_t n_recs;
    size_t cap_recs;
};

static void on_reply(void *arg, smr_client_id client_id, smr_req_id req_id,
                     smr_seq seq, const uint8_t *reply, uint32_t reply_len,
                     bool from_session)
{
    struct eng *g = arg;
    if (g->n_recs == g->cap_recs) {
        g->cap_recs = g->cap_recs ? 2 * g->cap_recs : 64;
        g->recs = realloc(g->recs, g->cap_recs * sizeof *g->recs);
        ck_assert_ptr_nonnull(g->recs);
    }
    struct rec *r = &g->recs[g->n_recs++];
    r->client_id = client_id;
    r->req_id = req_id;
    r->seq = seq;
    r->from_session = from_session;
    r->len = reply_len;
    r->bytes = malloc(reply_len ? reply_len : 1);
    if (reply_len)
        memcpy(r->bytes, reply, reply_len);
}

static struct eng *eng_new(uint64_t ttl_ms)
{
    struct eng *g = calloc(1, sizeof *g);
    ck_assert_int_eq(exe_kv_app_new(&g->app), SMR_OK);
    ck_assert_int_eq(exe_seq_engine_new(g->app, ttl_ms, on_reply, g, &g->e),
                     SMR_OK);
    ck_assert_uint_eq(g->e->executed_seq, 0);
    return g;
}

static void eng_clear_replies(struct eng *g)
{
    for (size_t i = 0; i < g->n_recs; i++)
        free(g->recs[i].bytes);
    g->n_recs = 0;
}

static void eng_free(struct eng *g)
{
    exe_engine_destroy(&g->e);
    ck_assert_ptr_null(g->e);
    exe_app_destroy(&g->app);
    eng_clear_replies(g);
    free(g->recs);
    free(g);
}

static int run(struct eng *g, const struct smr_buf *batch, uint64_t time_ms)
{
    struct smr_committed c = {
        .seq = g->e->executed_seq + 1,
        .epoch = 1,
        .leader_time_ms = time_ms,
        .batch = batch ? batch->data : NULL,
        .batch_len = batch ? (uint32_t)batch->len : 0,
    };
    return exe_execute(g->e, &c);
}

static void add(struct smr_buf *batch, smr_client_id c, smr_req_id r,
                enum exe_kv_opcode opc, const char *k, const char *v)
{
    struct smr_buf op;
    smr_buf_init(&op);
    ck_assert_int_eq(exe_kv_encode(&op, opc, k, strlen(k), v, v ? strlen(v) : 0,
                                   v, v ? strlen(v) : 0),
                     SMR_OK);
    struct smr_request req = {c, r, op.data, (uint32_t)op.len};
    ck_assert_int_eq(smr_batch_add(batch, &req), SMR_OK);
    smr_buf_free(&op);
}

static void digest_eq(struct eng *a, struct eng *b, bool want_equal)
{
    uint8_t da[SMR_DIGEST_BYTES], db[SMR_DIGEST_BYTES];
    exe_digest(a->e, da);
    exe_digest(b->e, db);
    ck_assert_int_eq(memcmp(da, db, sizeof da) == 0, want_equal);
}

static void snapshot(struct eng *g, struct smr_buf *out)
{
    smr_buf_reset(out);
    ck_assert_int_eq(exe_snapshot(g->e, out), SMR_OK);
}

static void same_state(struct eng *a, struct eng *b)
{
    struct smr_buf sa, sb;
    smr_buf_init(&sa);
    smr_buf_init(&sb);
    digest_eq(a, b, true);
    snapshot(a, &sa);
    snapshot(b, &sb);
    ck_assert_uint_eq(sa.len, sb.len);
    ck_assert(memcmp(sa.data, sb.data, sa.len) == 0);
    ck_assert_uint_eq(a->e->executed_seq, b->e->executed_seq);
    smr_buf_free(&sa);
    smr_buf_free(&sb);
}

static bool rec_eq(const struct rec *a, const struct rec *b)
{
    return a->client_id == b->client_id && a->req_id == b->req_id &&
           a->seq == b->seq && a->from_session == b->from_session &&
           a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Runs one get as a fresh client and checks the value (NULL: absent). */
static void expect_value(struct eng *g, const char *k, const char *v)
{
    static smr_client_id probe = 1000000;
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, probe++, 1, EXE_KV_GET, k, NULL);
    ck_assert_int_eq(run(g, &b, 0), SMR_OK);
    const struct rec *r = &g->recs[g->n_recs - 1];
    if (!v) {
        ck_assert_uint_eq(r->len, 1);
        ck_assert_int_eq(r->bytes[0], EXE_KV_NOT_FOUND);
    } else {
        ck_assert_uint_eq(r->len, 1 + strlen(v));
        ck_assert_int_eq(r->bytes[0], EXE_KV_OK);
        ck_assert(memcmp(r->bytes + 1, v, strlen(v)) == 0);
    }
    smr_buf_free(&b);
}

/* ---- exactly-once ----------------------------------------------------- */

START_TEST(test_duplicate_in_batch)
{
    struct eng *g = eng_new(0);
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "k", "a");
    add(&b, 2, 1, EXE_KV_PUT, "k", "b");
    add(&b, 1, 1, EXE_KV_PUT, "k", "a"); /* re-applied would give "a" */
    ck_assert_int_eq(run(g, &b, 10), SMR_OK);
    ck_assert_uint_eq(g->e->executed_seq, 1);
    ck_assert_uint_eq(g->n_recs, 3);
    ck_assert(!g->recs[0].from_session);
    ck_assert(!g->recs[1].from_session);
    ck_assert(g->recs[2].from_session);
    ck_assert_uint_eq(g->recs[2].client_id, 1);
    ck_assert_uint_eq(g->recs[2].req_id, 1);
    ck_assert_uint_eq(g->recs[2].len, g->recs[0].len);
    ck_assert(memcmp(g->recs[2].bytes, g->recs[0].bytes, g->recs[0].len) == 0);
    ck_assert_uint_eq(g->e->commands_applied, 2);
    ck_assert_uint_eq(g->e->commands_deduplicated, 1);
    expect_value(g, "k", "b");
    smr_buf_free(&b);
    eng_free(g);
}
END_TEST

START_TEST(test_retry_in_later_entry)
{
    struct eng *g = eng_new(0);
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "k", "a");
    add(&b, 1, 2, EXE_KV_GET, "k", NULL); /* reply: "a" */
    ck_assert_int_eq(run(g, &b, 10), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 2, 7, EXE_KV_PUT, "k", "b");
    ck_assert_int_eq(run(g, &b, 20), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 1, 2, EXE_KV_GET, "k", NULL); /* retry: the recorded "a" */
    add(&b, 2, 7, EXE_KV_PUT, "k", "b");  /* retry: not applied again */
    ck_assert_int_eq(run(g, &b, 30), SMR_OK);
    ck_assert_uint_eq(g->n_recs, 5);
    const struct rec *r = &g->recs[3];
    ck_assert(r->from_session);
    ck_assert_uint_eq(r->seq, 3); /* answered in the entry that saw it */
    ck_assert_uint_eq(r->len, 2);
    ck_assert(memcmp(r->bytes, "\0a", 2) == 0);
    ck_assert(g->recs[4].from_session);
    ck_assert_uint_eq(g->e->commands_applied, 3);
    ck_assert_uint_eq(g->e->commands_deduplicated, 2);
    smr_buf_free(&b);
    eng_free(g);
}
END_TEST

START_TEST(test_stale_dropped)
{
    struct eng *g = eng_new(0);
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, 1, 5, EXE_KV_PUT, "k", "a");
    add(&b, 1, 6, EXE_KV_PUT, "k", "b");
    ck_assert_int_eq(run(g, &b, 10), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 1, 5, EXE_KV_PUT, "k", "c"); /* stale: no reply, no effect */
    add(&b, 1, 1, EXE_KV_DEL, "k", NULL);
    ck_assert_int_eq(run(g, &b, 20), SMR_OK);
    ck_assert_uint_eq(g->n_recs, 2);
    ck_assert_uint_eq(g->e->commands_deduplicated, 2);
    expect_value(g, "k", "b");
    smr_batch_begin(&b);
    add(&b, 1, 6, EXE_KV_PUT, "k", "b"); /* the last one is still a retry */
    ck_assert_int_eq(run(g, &b, 30), SMR_OK);
    ck_assert(g->recs[g->n_recs - 1].from_session);
    smr_buf_free(&b);
    eng_free(g);
}
END_TEST

START_TEST(test_noop_entry)
{
    struct eng *g = eng_new(0), *h = eng_new(0);
    ck_assert_int_eq(run(g, NULL, 5), SMR_OK);
    ck_assert_uint_eq(g->e->executed_seq, 1);
    ck_assert_uint_eq(g->n_recs, 0);
    digest_eq(g, h, false); /* the seq is part of the digest */
    ck_assert_int_eq(run(h, NULL, 5), SMR_OK);
    same_state(g, h);
    eng_free(g);
    eng_free(h);
}
END_TEST

/* ---- a seeded random stream ------------------------------------------- */

#define GEN_CLIENTS 30
#define GEN_KEYS 40

struct gen {
    uint64_t x;
    smr_req_id next_req[GEN_CLIENTS];
    uint64_t time_ms;
};

static uint64_t rnd(struct gen *g)
{
    g->x ^= g->x >> 12;
    g->x ^= g->x << 25;
    g->x ^= g->x >> 27;
    return g->x * 0x2545f4914f6cdd1dull;
}

static smr_req_id gen_req(struct gen *g, unsigned c)
{
    uint64_t dice = rnd(g) % 100;
    if (dice < 10 && g->next_req[c] > 1)
        return g->next_req[c] - 1; /* a retry of the last request */
    if (dice < 14 && g->next_req[c] > 2)
        return g->next_req[c] - 2; /* a stale one */
    return g->next_req[c]++;
}

static void gen_request(struct gen *g, struct smr_buf *batch)
{
    static const enum exe_kv_opcode opc[] = {EXE_KV_GET, EXE_KV_PUT, EXE_KV_DEL,
                                             EXE_KV_CAS};
    char key[16], v1[16];
    unsigned c = (unsigned)(rnd(g) % GEN_CLIENTS);
    smr_req_id req = gen_req(g, c);
    snprintf(key, sizeof key, "k%u", (unsigned)(rnd(g) % GEN_KEYS));
    snprintf(v1, sizeof v1, "%u", (unsigned)(rnd(g) % 4));
    struct smr_buf op;
    smr_buf_init(&op);
    ck_assert_int_eq(exe_kv_encode(&op, opc[rnd(g) % 4], key, strlen(key), v1,
                                   strlen(v1), v1, strlen(v1)),
                     SMR_OK);
    if (rnd(g) % 50 == 0)
        op.data[0] = 9; /* a bad command now and then */
    struct smr_request r = {c + 1, req, op.data, (uint32_t)op.len};
    ck_assert_int_eq(smr_batch_add(batch, &r), SMR_OK);
    smr_buf_free(&op);
}

/* Builds the next entry; returns the code execute() must give. */
static int gen_entry(struct gen *g, struct smr_buf *batch)
{
    uint64_t dice = rnd(g) % 100;
    g->time_ms += rnd(g) % 40;
    if (dice < 3 && g->time_ms > 100)
        g->time_ms -= rnd(g) % 100; /* a new leader with a slower clock */
    if (dice < 5) {
        smr_buf_reset(batch); /* no-op */
        return SMR_OK;
    }
    smr_batch_begin(batch);
    unsigned n = 1 + (unsigned)(rnd(g) % 20);
    for (unsigned i = 0; i < n; i++)
        gen_request(g, batch);
    if (dice < 7) {
        batch->len--; /* malformed */
        return SMR_EMALFORMED;
    }
    return SMR_OK;
}

/* Feeds `entries` random entries to `a` and, from the middle, to `b`
 * restored from a's snapshot; replies and state must agree. */
static void random_stream(uint64_t seed, uint64_t ttl_ms, unsigned entries)
{
    struct gen gen = {.x = seed};
    struct eng *a = eng_new(ttl_ms), *b = eng_new(ttl_ms);
    struct smr_buf batch, snap;
    size_t split = 0;
    smr_buf_init(&batch);
    smr_buf_init(&snap);
    printf("random stream: seed %llu ttl %llu\n", (unsigned long long)seed,
           (unsigned long long)ttl_ms);
    for (unsigned i = 0; i < entries; i++) {
        if (i == entries / 2) {
            snapshot(a, &snap);
            ck_assert_int_eq(exe_restore(b->e, snap.data, snap.len), SMR_OK);
            same_state(a, b);
            split = a->n_recs;
        }
        int want = gen_entry(&gen, &batch);
        ck_assert_int_eq(run(a, &batch, gen.time_ms), want);
        if (i >= entries / 2)
            ck_assert_int_eq(run(b, &batch, gen.time_ms), want);
    }
    same_state(a, b);
    ck_assert_uint_eq(a->n_recs - split, b->n_recs);
    for (size_t i = 0; i < b->n_recs; i++)
        ck_assert(rec_eq(&a->recs[split + i], &b->recs[i]));
    ck_assert_uint_gt(a->e->commands_applied, entries * 5);
    ck_assert_uint_gt(a->e->commands_deduplicated, entries / 2);
    smr_buf_free(&batch);
    smr_buf_free(&snap);
    eng_free(a);
    eng_free(b);
}

START_TEST(test_random_stream_snapshot_middle)
{
    random_stream(0x5eed0001, 0, 400);
    random_stream(0x5eed0002, 300, 400);
    random_stream(0x5eed0003, 40, 400);
}
END_TEST

START_TEST(test_two_engines_same_stream)
{
    struct gen gen = {.x = 77};
    struct eng *a = eng_new(200), *b = eng_new(200);
    struct smr_buf batch;
    smr_buf_init(&batch);
    for (unsigned i = 0; i < 300; i++) {
        int want = gen_entry(&gen, &batch);
        ck_assert_int_eq(run(a, &batch, gen.time_ms), want);
        ck_assert_int_eq(run(b, &batch, gen.time_ms), want);
        if (i % 50 == 0)
            digest_eq(a, b, true);
    }
    same_state(a, b);
    ck_assert_uint_eq(a->n_recs, b->n_recs);
    for (size_t i = 0; i < a->n_recs; i++)
        ck_assert(rec_eq(&a->recs[i], &b->recs[i]));
    smr_buf_free(&batch);
    eng_free(a);
    eng_free(b);
}
END_TEST

/* ---- expiry ----------------------------------------------------------- */

START_TEST(test_expiry_by_log_time)
{
    struct eng *g = eng_new(1000);
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "a", "1");
    ck_assert_int_eq(run(g, &b, 0), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 2, 1, EXE_KV_PUT, "b", "2");
    ck_assert_int_eq(run(g, &b, 500), SMR_OK);
    /* 0 + 1000 is not below 1000: nothing expires yet */
    ck_assert_int_eq(run(g, NULL, 1000), SMR_OK);
    /* log time going backwards expires nothing either */
    ck_assert_int_eq(run(g, NULL, 3), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 2, 1, EXE_KV_PUT, "b", "2");
    add(&b, 1, 1, EXE_KV_PUT, "a", "X");
    ck_assert_int_eq(run(g, &b, 1001), SMR_OK);
    /* client 1's session (seen at 0) expired; client 2's (500) did not */
    ck_assert_uint_eq(g->n_recs, 4);
    ck_assert(g->recs[2].from_session);
    ck_assert(!g->recs[3].from_session);
    ck_assert_uint_eq(g->e->commands_applied, 3);
    smr_buf_free(&b);
    eng_free(g);
}
END_TEST

/* The log clock never goes back: an entry whose leader time is below an
 * earlier one runs at the earlier time (its sessions are seen then), the
 * clock is part of the digest, and a snapshot carries it. */
START_TEST(test_log_clock_monotonic)
{
    struct eng *g = eng_new(10), *h = eng_new(10);
    struct smr_buf b, snap;
    smr_buf_init(&b);
    smr_buf_init(&snap);
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "a", "1");
    ck_assert_int_eq(run(g, &b, 100), SMR_OK);
    smr_batch_begin(&b);
    add(&b, 2, 1, EXE_KV_PUT, "b", "2");
    ck_assert_int_eq(run(g, &b, 50), SMR_OK); /* a new leader, behind */
    ck_assert_uint_eq(g->e->log_time_ms, 100);
    /* Client 2 was seen at 100, not 50: at 109 neither session expired
     * (50 + 10 would be below 109), so both retries come from the table. */
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "a", "1");
    add(&b, 2, 1, EXE_KV_PUT, "b", "2");
    ck_assert_int_eq(run(g, &b, 109), SMR_OK);
    ck_assert_uint_eq(g->n_recs, 4);
    ck_assert(g->recs[2].from_session);
    ck_assert(g->recs[3].from_session);
    /* The snapshot carries the clock: a restored engine goes on at 109. */
    ck_assert_int_eq(exe_snapshot(g->e, &snap), SMR_OK);
    ck_assert_int_eq(exe_restore(h->e, snap.data, snap.len), SMR_OK);
    ck_assert_uint_eq(h->e->log_time_ms, 109);
    same_state(g, h);
    ck_assert_int_eq(run(g, NULL, 7), SMR_OK);
    ck_assert_int_eq(run(h, NULL, 7), SMR_OK);
    ck_assert_uint_eq(h->e->log_time_ms, 109);
    same_state(g, h);
    /* The clock is state: the same entries at another time differ. */
    ck_assert_int_eq(run(g, NULL, 200), SMR_OK);
    ck_assert_int_eq(run(h, NULL, 150), SMR_OK);
    digest_eq(g, h, false);
    smr_buf_free(&b);
    smr_buf_free(&snap);
    eng_free(g);
    eng_free(h);
}
END_TEST

/* A retry refreshes the session: a client still retrying stays alive. */
START_TEST(test_retry_refreshes_session)
{
    struct eng *g = eng_new(1000);
    struct smr_buf b;
    smr_buf_init(&b);
    smr_batch_begin(&b);
    add(&b, 1, 1, EXE_KV_PUT, "a", "1");
    ck_assert_int_eq(run(g, &b, 0), SMR_OK);
    ck_assert_int_eq(run(g, &b, 900), SMR_OK);  /* retry, seen at 900 */
    ck_assert_int_eq(run(g, &b, 1500), SMR_OK); /* 900 + 1000 >= 1500 */
    ck_assert_uint_eq(g->n_recs, 3);
    ck_assert(g->recs[1].from_session);
    ck_assert(g->recs[2].from_session);
    ck_assert_uint_eq(g->e->commands_applied, 1);
    ck_assert_int_eq(run(g, &b, 2501), SMR_OK); /* expired: applied anew */
    ck_assert(!g->recs[3].from_session);
    smr_buf_free(&b);
    eng_free(g);
}
END_TEST

static void record(struct exe_sessions *s, smr_client_id c, uint64_t t)
{
    char reply[16];
    snprintf(reply, sizeof reply, "r%llu", (unsigned long long)c);
    ck_assert_int_eq(
        exe_sessions_record(s, c, 1, t, (uint8_t *)reply, strlen(reply)),
        SMR_OK);
}

START_TEST(test_session_expiry_exact_set)
{
    struct exe_sessions *s, *survivors;
    uint8_t d1[SMR_DIGEST_BYTES], d2[SMR_DIGEST_BYTES];
    ck_assert_int_eq(exe_sessions_new(1000, &s), SMR_OK);
    ck_assert_int_eq(exe_sessions_new(1000, &survivors), SMR_OK);
    for (smr_client_id c = 1; c <= 5; c++)
        record(s, c, c * 100); /* seen at 100 .. 500 */
    record(s, 9, 50);          /* out of order in log time */
    ck_assert_uint_eq(exe_sessions_expire(s, 40), 0);
    ck_assert_uint_eq(exe_sessions_expire(s, 1100), 1); /* 50 only */
    ck_assert_uint_eq(exe_sessions_expire(s, 1100), 0);
    ck_assert_uint_eq(exe_sessions_expire(s, 1301), 3); /* 100..300 */
    ck_assert_uint_eq(exe_sessions_count(s), 2);
    record(survivors, 5, 500);
    record(survivors, 4, 400);
    exe_sessions_digest(s, d1);
    exe_sessions_digest(survivors, d2);
    ck_assert(memcmp(d1, d2, sizeof d1) == 0);
    /* a zero ttl never expires */
    struct exe_sessions *forever;
    ck_assert_int_eq(exe_sessions_new(0, &forever), SMR_OK);
    record(forever, 1, 0);
    ck_assert_uint_eq(exe_sessions_expire(forever, UINT64_MAX), 0);
    exe_sessions_destroy(&s);
    exe_sessions_destroy(&survivors);
    exe_sessions_destroy(&forever);
    ck_assert_ptr_null(s);
}
END_TEST

/* ---- malformed batches ------------------------------------------------ */

static void malformed_variants(struct smr_buf *v, int i)
{
    uint8_t raw[24] = {0};
    smr_batch_begin(v);
    add(v, 1, 100, EXE_KV_PUT, "k", "never"); /* a valid first entry */
    switch (i) {
    case 0: /* short header */
        smr_buf_set(v, "\1\0\0", 3);
        break;
    case 1: /* count with no entries */
        smr_put_u32(raw, 1);
        smr_buf_set(v, raw, 4);
        break;
    case 2: /* the second entry cut short */
        add(v, 2, 100, EXE_KV_PUT, "j", "never");
        v->len -= 1;
        break;
    case 3: /* trailing byte */
        smr_buf_append(v, "x", 1);
        break;
    case 4: /* count says two, one present */
        smr_put_u32(v->data, 2);
        break;
    case 5: /* op_len far past the end */
        smr_put_u32(v->data + 4 + 16, 0xfffffff0u);
        break;
    default: /* count of four billion */
        smr_put_u32(v->data, 0xffffffffu);
        break;
    }
}

START_TEST(test_malformed_batch)
{
    struct eng *a = eng_new(0), *b = eng_new(0);
    struct smr_buf batch;
    uint8_t before[SMR_DIGEST_BYTES], after[SMR_DIGEST_BYTES];
    smr_buf_init(&batch);
    smr_batch_begin(&batch);
    add(&batch, 1, 1, EXE_KV_PUT, "k", "v");
    ck_assert_int_eq(run(a, &batch, 1), SMR_OK);
    ck_assert_int_eq(run(b, &batch, 1), SMR_OK);
    for (int i = 0; i < 7; i++) {
        a->app->ops->digest(a->app, before);
        size_t replies = a->n_recs;
        malformed_variants(&batch, i);
        ck_assert_int_eq(run(a, &batch, 2), SMR_EMALFORMED);
        ck_assert_uint_eq(a->e->executed_seq, 2 + (smr_seq)i);
        ck_assert_uint_eq(a->n_recs, replies);
        a->app->ops->digest(a->app, after);
        ck_assert(memcmp(before, after, sizeof before) == 0);
        ck_assert_int_eq(run(b, NULL, 2), SMR_OK); /* = a no-op entry */
        same_state(a, b);
    }
    ck_assert_uint_eq(a->e->commands_applied, 1);
    expect_value(a, "k", "v");
    smr_buf_free(&batch);
    eng_free(a);
    eng_free(b);
}
END_TEST

/* ---- engine snapshots ------------------------------------------------- */

START_TEST(test_snapshot_carries_sessions)
{
    struct eng *a = eng_new(0), *b = eng_new(0);
    struct smr_buf batch, snap;
    smr_buf_init(&batch);
    smr_buf_init(&snap);
    smr_batch_begin(&batch);
    add(&batch, 1, 1, EXE_KV_PUT, "k", "a");
    ck_assert_int_eq(run(a, &batch, 1), SMR_OK);
    /* Version 1 (no log clock) is still read, with the clock at 0. */
    snapshot(a, &snap);
    struct smr_buf v1;
    smr_buf_init(&v1);
    smr_buf_append(&v1, snap.data, 16);
    smr_buf_append(&v1, snap.data + 24, snap.len - 24);
    smr_put_u32(v1.data + 4, 1);
    ck_assert_int_eq(exe_restore(b->e, v1.data, v1.len), SMR_OK);
    ck_assert_uint_eq(b->e->log_time_ms, 0);
    ck_assert_uint_eq(b->e->executed_seq, a->e->executed_seq);
    smr_buf_free(&v1);
    ck_assert_int_eq(exe_restore(b->e, snap.data, snap.len), SMR_OK);
    ck_assert_uint_eq(b->e->executed_seq, 1);
    ck_assert_int_eq(run(b, &batch, 2), SMR_OK);
    ck_assert_uint_eq(b->n_recs, 1);
    ck_assert(b->recs[0].from_session);
    ck_assert(
        rec_eq(&(struct rec){1, 1, 2, true, a->recs[0].bytes, a->recs[0].len},
               &b->recs[0]));
    ck_assert_uint_eq(b->e->commands_applied, 0);
    smr_buf_free(&batch);
    smr_buf_free(&snap);
    eng_free(a);
    eng_free(b);
}
END_TEST

static void expect_restore_fails(struct eng *g, const uint8_t *bytes,
                                 size_t len, int want)
{
    struct smr_buf s0, s1;
    uint8_t d0[SMR_DIGEST_BYTES], d1[SMR_DIGEST_BYTES];
    smr_buf_init(&s0);
    smr_buf_init(&s1);
    snapshot(g, &s0);
    exe_digest(g->e, d0);
    ck_assert_int_eq(exe_restore(g->e, bytes, len), want);
    snapshot(g, &s1);
    exe_digest(g->e, d1);
    ck_assert(memcmp(d0, d1, sizeof d0) == 0);
    ck_assert_uint_eq(s0.len, s1.len);
    ck_assert(memcmp(s0.data, s1.data, s0.len) == 0);
    smr_buf_free(&s0);
    smr_buf_free(&s1);
}

START_TEST(test_restore_corrupt)
{
    struct gen gen = {.x = 4242};
    struct eng *a = eng_new(0), *b = eng_new(0);
    struct smr_buf batch, snap;
    smr_buf_init(&batch);
    smr_buf_init(&snap);
    for (int i = 0; i < 20; i++) {
        int want = gen_entry(&gen, &batch);
        ck_assert_int_eq(run(a, &batch, gen.time_ms), want);
        if (i < 5)
            ck_assert_int_eq(run(b, &batch, gen.time_ms), want);
    }
    snapshot(a, &snap);
    for (size_t n = 0; n < snap.len; n++)
        expect_restore_fails(b, snap.data, n, SMR_ECORRUPT);
    smr_buf_append(&snap, "", 1); /* trailing byte: the app refuses it */
    expect_restore_fails(b, snap.data, snap.len, SMR_ECORRUPT);
    snap.len--;
    snap.data[4] = 3; /* version */
    expect_restore_fails(b, snap.data, snap.len, SMR_EVERSION);
    snap.data[4] = 2;
    snap.data[0] ^= 0xff; /* magic */
    expect_restore_fails(b, snap.data, snap.len, SMR_ECORRUPT);
    snap.data[0] ^= 0xff;
    uint64_t sessions_bytes = smr_get_u64(snap.data + 24);
    smr_put_u64(snap.data + 24, UINT64_MAX); /* sessions section length */
    expect_restore_fails(b, snap.data, snap.len, SMR_ECORRUPT);
    smr_put_u64(snap.data + 24, sessions_bytes);
    smr_put_u64(snap.data + 32, UINT64_MAX / 2); /* sessions count */
    expect_restore_fails(b, snap.data, snap.len, SMR_ECORRUPT);
    smr_put_u64(snap.data + 32, 0);
    expect_restore_fails(b, snap.data, snap.len, SMR_ECORRUPT);
    uint8_t junk[256];
    for (int round = 0; round < 100; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rnd(&gen);
        expect_restore_fails(b, junk, 1 + (size_t)round * 2, SMR_ECORRUPT);
    }
    snapshot(a, &snap);
    ck_assert_int_eq(exe_restore(b->e, snap.data, snap.len), SMR_OK);
    same_state(a, b);
    smr_buf_free(&batch);
    smr_buf_free(&snap);
    eng_free(a);
    eng_free(b);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("exe_engine");
    TCase *once = tcase_create("exactly_once");
    tcase_add_test(once, test_duplicate_in_batch);
    tcase_add_test(once, test_retry_in_later_entry);
    tcase_add_test(once, test_stale_dropped);
    tcase_add_test(once, test_noop_entry);
    suite_add_tcase(s, once);
    TCase *det = tcase_create("determinism");
    tcase_add_test(det, test_random_stream_snapshot_middle);
    tcase_add_test(det, test_two_engines_same_stream);
    tcase_add_test(det, test_expiry_by_log_time);
    tcase_add_test(det, test_retry_refreshes_session);
    tcase_add_test(det, test_log_clock_monotonic);
    tcase_add_test(det, test_session_expiry_exact_set);
    suite_add_tcase(s, det);
    TCase *bad = tcase_create("hostile_bytes");
    tcase_add_test(bad, test_malformed_batch);
    tcase_add_test(bad, test_snapshot_carries_sessions);
    tcase_add_test(bad, test_restore_corrupt);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
