/*
 * test_stream_quorum_random.c: a seeded randomized property test of the
 * separate executor that reads every replica's Committed stream under PBFT
 * and applies an entry once a stream quorum carries it (executor.c), fed
 * by replicas that follow stream.c's rules.
 *
 * The test is the cluster and the network, one virtual millisecond at a
 * time. It plays n = 4 or 7 replicas (f = 1 or 2; quorum f+1, sometimes up
 * to n-f). The correct ones serve the committed log 1..K the way stream.c
 * does (a SUBSCRIBE whose cursor did not move restarts the stream there,
 * any other is a credit top-up; never past the credit nor the replica's
 * commit point; a new connection replaces the executor's slot), in bursts
 * at their own speeds, and crash (losing the slot) or are cut off for
 * stretches. Up to f Byzantine ones lie in every way below, colluding or
 * not, and strangers outside the cluster repeat the colluders' lie. The
 * network loses, duplicates and reorders frames within a bounded window.
 * The executor runs detached over a borrowed in-memory store and is
 * crashed and restarted from it (unsynced writes lost, torn, a failed
 * sync), as glue/sim.c does. Then the faults stop: every correct replica
 * up and reachable, no loss (duplicates, reordering and lies go on).
 * Each seed also draws the config: PBFT's window and batch_bytes_max
 * (hence the per-entry bound, entries up to it, and a credit of 15 to
 * 128), the checkpoint interval, the session TTL (leader times sometimes
 * go back), and a sequential or seeded parallel engine.
 *
 * Properties, checked at every step; a violation fails with the seed:
 *  - it applies exactly 1..K in order, each with the committed seq, epoch,
 *    leader time and batch (never a lie, never past K); a restart resumes
 *    from a checkpoint it took, and every seq's digest is the same in
 *    every incarnation;
 *  - what it sends: SUBSCRIBE from its cursor, with no more credit than
 *    its window and byte bound hold at the protocol's largest entry
 *    (ord_contract.entry_bytes_max); REPLY and CHECKPOINT to its own
 *    replica only, a checkpoint carrying the digest at its seq;
 *  - nothing granted is forgotten: once `quorum` correct streams brought
 *    the entry at the cursor (to this incarnation), it is applied;
 *  - errors: SMR_OK, or SMR_EFSYNC right after an injected sync failure;
 *  - memory: heap growth (mallinfo2) within the per-stream byte bounds;
 *  - progress: once the faults stop it reaches K within a time bound
 *    computed from the replicas' speeds, the credit and the latency; in
 *    runs without faults (links in order, as TCP) no correct replica's
 *    grant ends below the cursor for longer than a top-up takes.
 *
 * STREAM_SEED=N replays seed N (everything, n included, is drawn from
 * it); STREAM_SEEDS sets how many seeds run (from STREAM_SEED, else 1);
 * STREAM_VERBOSE=1 prints each seed's profile and what happened. The
 * self-tests show the oracles can fail: f+1 colluding liars must be
 * caught applying a lie, replicas that never return must be caught as a
 * stall.
 */
#include <check.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "exe.h"
#include "executor.h"
#include "keys.h"
#include "sto.h"
#include "wire.h"

#define N_MAX 7
#define K_MAX 400
#define TO_EXEC UINT32_MAX /* a frame's destination: the executor */
#define NET_MAX (1u << 16) /* frames in flight: a harness bound */
#define JITTER_MS_MAX 40   /* reordering window */
#define STALL_MS 300       /* executor.c: no progress this long */
#define CREDIT_MAX 4096u   /* stream.c: the credit a replica grants */
#define AHEAD_MAX 128      /* executor.c: entries kept per stream */
#define AHEAD_BYTES_MAX (8u << 20)
#define FRAME_OVERHEAD 64
#define LOG_BYTES_BUDGET (6u << 20) /* the committed log's bytes per seed */
#define KEYS 8 /* the kv state stays small: values overwrite */

/* What a run did (STREAM_VERBOSE=1), as evidence that it acted. */
#define STATS(X)                                                               \
    X(restarts)                                                                \
    X(fsync_failures)                                                          \
    X(lies) X(lies_at_cursor) X(floods) X(compacted) X(garbage) X(strangers)   \
        X(subscribes) X(checkpoints) X(replies) X(sent) X(healed_from)         \
            X(healed_in_ms)
#define STAT_ENUM(name) ST_##name,
enum stat { STATS(STAT_ENUM) ST__COUNT };
#define STAT_NAME(name) #name,
static const char *const stat_names[] = {STATS(STAT_NAME)};

enum byz {
    BYZ_SILENT = 1 << 0,      /* sends nothing at all */
    BYZ_HONEST = 1 << 1,      /* serves the true log, in stretches */
    BYZ_FORGE = 1 << 2,       /* lies at the cursor and just ahead */
    BYZ_FAR = 1 << 3,         /* seqs at the window's edge, far, huge, 0 */
    BYZ_EQUIVOCATE = 1 << 4,  /* the truth and a lie at one seq */
    BYZ_PAST_CREDIT = 1 << 5, /* true entries past its credit */
    BYZ_FLOOD = 1 << 6,       /* bursts of entries, some oversized */
    BYZ_COMPACTED = 1 << 7,   /* a false SNAPSHOT_REQUIRED */
    BYZ_REPLAY = 1 << 8,      /* old entries, true or not */
    BYZ_GARBAGE = 1 << 9,     /* bytes that are no good COMMITTED frame */
    BYZ_COLLUDE = 1 << 10,    /* every colluder tells the same lie */
    BYZ__ALL = (1 << 11) - 1,
};

struct frame {
    uint64_t at_ms, order; /* delivered by (at_ms, order) */
    uint32_t from, to;     /* replica ids (or a stranger's), or TO_EXEC */
    uint32_t route;        /* the executor incarnation it belongs to */
    const uint8_t *data;   /* the log's frame, or own.data */
    size_t len;
    struct smr_buf own;
};

/* One replica; `c_*` is its consumer slot for this executor (stream.c). */
struct rep {
    bool byz, up, cut, honest_now;
    unsigned behaviours;
    uint32_t period_ms, burst; /* sends up to `burst` every `period_ms` */
    smr_seq committed;         /* its commit point */
    uint64_t commit_x1000;     /* ... rises this much per ms (x1000) */
    uint32_t c_route;          /* 0: no slot */
    uint64_t short_since_ms;   /* its credit ends below the cursor since */
    smr_seq c_next, c_limit, c_executed;
    uint64_t restart_at_ms;
};

struct entry {
    struct smr_buf frame;
    struct smr_committed c; /* batch points into frame */
};

struct world {
    uint64_t seed, rng, now_ms;
    struct glue_config cfg;
    uint32_t n, f, quorum, credit, entry_max, self;
    size_t ahead_bytes_max;
    smr_seq k;
    struct entry log[K_MAX + 1];
    uint8_t digest[K_MAX + 1][SMR_DIGEST_BYTES];
    bool have_digest[K_MAX + 1];
    /* The correct replicas whose stream brought seq to this incarnation
     * while it was not yet applied (bit per replica). */
    uint8_t delivered[K_MAX + 1];
    struct rep r[N_MAX];
    /* the network */
    struct frame *net;
    uint32_t n_net;
    size_t net_bytes; /* owned by frames in flight */
    uint32_t loss_pm, dup_pm, jitter_ms, loss_pm_faults;
    bool fifo;           /* links keep order, as TCP does */
    uint64_t fifo_order; /* ... by send order */
    uint64_t link_at_ms[N_MAX + 1][N_MAX + 1]; /* N_MAX: the executor */
    /* the executor */
    struct glue_executor *x;
    struct sto *store;
    uint32_t incarnation;
    uint64_t sched_seed;
    smr_seq applied, applied_max;
    bool fsync_armed;
    long mem_base;
    size_t net_base;
    /* the run */
    bool faults_on, never_heal, fault_free;
    uint64_t heal_at_ms, deadline_ms;
    uint64_t colluder_salt;
    bool failed;
    char why[512];
    uint64_t st[ST__COUNT];
    long mem_max;
    uint32_t credit_granted;
};

static struct glue_keys keys;

/* ------------------------------------------------------------- helpers */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(struct world *w)
{
    w->rng = mix(w->rng);
    return w->rng;
}

static bool chance_pm(struct world *w, uint32_t pm)
{
    return rnd(w) % 1000 < pm;
}

static void violation(struct world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(struct world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    int at =
        snprintf(w->why, sizeof w->why,
                 "seed %llu (n=%u, t=%llu ms): ", (unsigned long long)w->seed,
                 w->n, (unsigned long long)w->now_ms);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why + at, sizeof w->why - (size_t)at, fmt, ap);
    va_end(ap);
}

/* Heap in use by everything (0 when the allocator does not say, as under
 * ASan: the memory check is then skipped). */
static long heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

/* A batch of at most `bytes` (0: the empty no-op batch): puts into KEYS
 * keys from three clients, values filling it. */
static void make_batch(uint64_t r, uint32_t bytes, smr_seq seq,
                       struct smr_buf *out)
{
    static uint8_t value[EXE_KV_VALUE_BYTES_MAX];
    struct smr_buf op;
    smr_buf_init(&op);
    smr_buf_reset(out);
    if (bytes == 0)
        return;
    ck_assert_int_eq(smr_batch_begin(out), SMR_OK);
    for (uint32_t i = 0; i < 64; i++) {
        char key[8];
        int klen =
            snprintf(key, sizeof key, "k%u", (unsigned)(mix(r + i) % KEYS));
        size_t fixed = 20 + 9 + (size_t)klen; /* batch entry + put headers */
        if (out->len + fixed > bytes)
            break;
        size_t v = bytes - out->len - fixed;
        if (v > EXE_KV_VALUE_BYTES_MAX)
            v = EXE_KV_VALUE_BYTES_MAX;
        value[0] = (uint8_t)r, value[v / 2] = (uint8_t)(r >> 8);
        if (v)
            value[v - 1] = (uint8_t)(r >> 16) | 1;
        ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_PUT, key, (uint32_t)klen,
                                       NULL, 0, value, (uint32_t)v),
                         SMR_OK);
        struct smr_request q = {(1ull << 32) | (1 + i % 3), seq * 64 + i,
                                op.data, (uint32_t)op.len};
        ck_assert_int_eq(smr_batch_add(out, &q), SMR_OK);
    }
    smr_buf_free(&op);
}

static void encode_entry(const struct smr_committed *c, struct smr_buf *out)
{
    ck_assert_int_eq(wire_encode_committed(out, c), SMR_OK);
}

/* ------------------------------------------------------------ network */

/* Queues a frame; `own` (may be NULL) is taken. Loss, cuts and
 * duplicates happen here. */
static void net_send(struct world *w, uint32_t from, uint32_t to,
                     uint32_t route, const uint8_t *data, size_t len,
                     struct smr_buf *own)
{
    bool cut =
        (from < w->n && w->r[from].cut) || (to != TO_EXEC && w->r[to].cut);
    int copies = cut || chance_pm(w, w->loss_pm) ? 0
                 : chance_pm(w, w->dup_pm)       ? 2
                                                 : 1;
    for (int i = 0; i < copies; i++) {
        if (w->n_net == NET_MAX) {
            violation(w, "harness: %u frames in flight (a send storm?)",
                      NET_MAX);
            break;
        }
        struct frame *fr = &w->net[w->n_net++];
        *fr =
            (struct frame){.at_ms = w->now_ms + 1 + rnd(w) % (w->jitter_ms + 1),
                           .order = rnd(w),
                           .from = from,
                           .to = to,
                           .route = route,
                           .data = data,
                           .len = len};
        uint32_t a = from < w->n ? from : N_MAX, b = to < w->n ? to : N_MAX;
        if (w->fifo && (a < N_MAX || b < N_MAX)) {
            if (fr->at_ms < w->link_at_ms[a][b])
                fr->at_ms = w->link_at_ms[a][b];
            w->link_at_ms[a][b] = fr->at_ms;
            fr->order = w->fifo_order++;
        }
        smr_buf_init(&fr->own);
        if (own) {
            ck_assert_int_eq(smr_buf_append(&fr->own, own->data, own->len),
                             SMR_OK);
            fr->data = fr->own.data;
            fr->len = fr->own.len;
            w->net_bytes += fr->own.cap;
        }
    }
    if (own)
        smr_buf_free(own);
}

static int by_time(const void *a, const void *b)
{
    const struct frame *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ----------------------------------------------- the executor's side */

static void x_send(void *arg, smr_node_id to, const uint8_t *f, size_t len)
{
    struct world *w = arg;
    int type = -1;
    if (to >= w->n || wire_peek_type(f, len, &type) != SMR_OK) {
        violation(w, "executor sent a bad frame (type %d) to %u", type, to);
        return;
    }
    if (type == WIRE_SUBSCRIBE) {
        struct wire_subscribe s;
        ck_assert_int_eq(wire_decode_subscribe(f, len, &s), SMR_OK);
        /* From its cursor, and never more than a stream may hold: a
         * correct replica may send every entry granted, each as large as
         * the protocol allows, and none may be refused for want of room. */
        if (s.from_seq != w->applied + 1 || s.credit < 4 ||
            s.credit > AHEAD_MAX ||
            s.credit * 2 * ((size_t)w->entry_max + FRAME_OVERHEAD) >
                w->ahead_bytes_max)
            violation(w,
                      "SUBSCRIBE{from %llu, credit %u} to %u with cursor "
                      "%llu; %u entries of up to %u bytes fit",
                      (unsigned long long)s.from_seq, s.credit, to,
                      (unsigned long long)w->applied + 1, w->credit,
                      w->entry_max);
        w->st[ST_subscribes]++;
        w->credit_granted = s.credit;
        struct smr_buf own;
        smr_buf_init(&own);
        ck_assert_int_eq(smr_buf_append(&own, f, len), SMR_OK);
        net_send(w, TO_EXEC, to, w->incarnation, NULL, 0, &own);
        return;
    }
    if (to != w->self)
        violation(w, "executor %u sent frame type %d to replica %u", w->self,
                  type, to);
    if (type == WIRE_CHECKPOINT) {
        struct wire_checkpoint cp;
        ck_assert_int_eq(wire_decode_checkpoint(f, len, &cp), SMR_OK);
        w->st[ST_checkpoints]++;
        if (cp.seq == 0 || cp.seq > w->applied ||
            cp.seq % w->cfg.checkpoint_interval != 0 ||
            !w->have_digest[cp.seq] ||
            memcmp(cp.digest, w->digest[cp.seq], SMR_DIGEST_BYTES) != 0)
            violation(w,
                      "CHECKPOINT{%llu} with another digest, or not at a "
                      "checkpoint it applied (applied %llu)",
                      (unsigned long long)cp.seq,
                      (unsigned long long)w->applied);
    } else if (type == WIRE_REPLY || type == WIRE_REPLIES) {
        /* A burst's replies come as one REPLIES frame, a reply too big to
         * bundle alone. */
        struct wire_replies it = {0};
        const uint8_t *rf = f;
        size_t rlen = len;
        bool one = type == WIRE_REPLY;
        ck_assert(one || wire_decode_replies(f, len, &it) == SMR_OK);
        while (one || wire_replies_next(&it, &rf, &rlen)) {
            struct wire_reply rp;
            ck_assert_int_eq(wire_decode_reply(rf, rlen, &rp), SMR_OK);
            w->st[ST_replies]++;
            /* A sequential engine replies inside execute(), before the
             * observer hears of the entry. */
            if (rp.seq == 0 || rp.seq > w->applied + 1)
                violation(w, "REPLY for seq %llu, applied %llu",
                          (unsigned long long)rp.seq,
                          (unsigned long long)w->applied);
            one = false;
        }
    } else {
        violation(w, "executor sent frame type %d", type);
    }
}

static uint64_t x_mono_ms(void *arg)
{
    return ((struct world *)arg)->now_ms;
}

/* The oracle: the next seq, with the committed content, and the digest
 * every incarnation reached there. */
static void x_executed(void *arg, const struct smr_committed *e,
                       const uint8_t digest[SMR_DIGEST_BYTES])
{
    struct world *w = arg;
    if (e->seq != w->applied + 1 || e->seq > w->k) {
        violation(w, "applied seq %llu after %llu (log 1..%llu)",
                  (unsigned long long)e->seq, (unsigned long long)w->applied,
                  (unsigned long long)w->k);
        return;
    }
    const struct smr_committed *t = &w->log[e->seq].c;
    if (e->epoch != t->epoch || e->leader_time_ms != t->leader_time_ms ||
        e->batch_len != t->batch_len ||
        (t->batch_len && memcmp(e->batch, t->batch, t->batch_len) != 0))
        violation(
            w,
            "applied a lie at seq %llu (epoch %llu/%llu, time %llu/%llu, "
            "batch %u/%u bytes)",
            (unsigned long long)e->seq, (unsigned long long)e->epoch,
            (unsigned long long)t->epoch, (unsigned long long)e->leader_time_ms,
            (unsigned long long)t->leader_time_ms, e->batch_len, t->batch_len);
    if (w->have_digest[e->seq] &&
        memcmp(digest, w->digest[e->seq], SMR_DIGEST_BYTES) != 0)
        violation(w, "seq %llu reached another digest in incarnation %u",
                  (unsigned long long)e->seq, w->incarnation);
    memcpy(w->digest[e->seq], digest, SMR_DIGEST_BYTES);
    w->have_digest[e->seq] = true;
    w->applied = e->seq;
    if (w->applied > w->applied_max)
        w->applied_max = w->applied;
}

static const struct glue_executor_io x_io = {
    .send = x_send,
    .mono_ms = x_mono_ms,
    .executed = x_executed,
};

static void exec_up(struct world *w)
{
    char err[256];
    uint64_t torn = 0;
    if (sto_mem_reopen(w->store, &torn) != SMR_OK) {
        violation(w, "the executor's store reads as corrupt after a crash");
        return;
    }
    w->incarnation++;
    memset(w->delivered, 0, sizeof w->delivered); /* a new connection */
    struct glue_executor_options opt = {
        .allow_unsafe_storage = true,
        .quiet = true,
        .store = w->store,
        .io = &x_io,
        .io_arg = w,
        .sched_seed = w->sched_seed ? w->sched_seed ^ w->incarnation : 0,
    };
    if (glue_executor_new(&w->cfg, w->self, &opt, &w->x, err, sizeof err) !=
        SMR_OK) {
        violation(w, "the executor failed to start: %s", err);
        return;
    }
    smr_seq from = glue_executor_executed(w->x);
    if (from > w->applied_max || (from && !w->have_digest[from]) ||
        (from && from % w->cfg.checkpoint_interval != 0))
        violation(w,
                  "restarted at seq %llu, not a checkpoint it took (max %llu)",
                  (unsigned long long)from, (unsigned long long)w->applied_max);
    w->applied = from;
    glue_executor_start(w->x);
}

static void exec_down(struct world *w)
{
    glue_executor_destroy(&w->x);
    sto_mem_crash(w->store, &w->rng, (unsigned)(rnd(w) % 1001));
    w->fsync_armed = false; /* a crash forgets a pending failure */
    w->st[ST_restarts]++;
}

/* ----------------------------------------------------------- replicas */

/* stream.c's on_subscribe, for the slot of this executor's connection. */
static void rep_subscribe(struct rep *r, uint32_t route,
                          const struct wire_subscribe *s)
{
    if (s->from_seq == 0)
        return;
    if (r->c_route != route) { /* a new connection replaces the slot */
        r->c_route = route;
        r->c_next = r->c_limit = r->c_executed = 0;
    }
    if (s->from_seq <= r->c_executed)
        return; /* an older SUBSCRIBE, overtaken or repeated: dropped */
    bool resume = s->from_seq <= r->c_executed + 1;
    uint32_t credit = s->credit < CREDIT_MAX ? s->credit : CREDIT_MAX;
    if (r->c_next == 0 || resume || s->from_seq > r->c_next)
        r->c_next = s->from_seq;
    r->c_limit = s->from_seq + credit - 1;
    r->c_executed = s->from_seq - 1;
}

/* stream.c's pump: in order, within the credit and the commit point. */
static void rep_pump(struct world *w, uint32_t id, uint32_t max)
{
    struct rep *r = &w->r[id];
    for (uint32_t i = 0; i < max && r->c_route && r->c_next &&
                         r->c_next <= r->c_limit && r->c_next <= r->committed;
         i++) {
        const struct entry *e = &w->log[r->c_next++];
        w->st[ST_sent] += !r->byz;
        net_send(w, id, TO_EXEC, r->c_route, e->frame.data, e->frame.len, NULL);
    }
}

static void deliver_to_replica(struct world *w, const struct frame *fr)
{
    struct rep *r = &w->r[fr->to];
    struct wire_subscribe s;
    if (!r->up || wire_decode_subscribe(fr->data, fr->len, &s) != SMR_OK)
        return;
    rep_subscribe(r, fr->route, &s);
}

/* ---------------------------------------------------------- Byzantine */

/* A lie about `seq`: one field of the truth changed, or a made-up entry
 * past the log. Colluders draw it from (seq, salt) alone, so they agree. */
static void lie_frame(struct world *w, smr_seq seq, uint64_t r,
                      struct smr_buf *out)
{
    struct smr_committed c = {seq, 1 + (r >> 40) % 3, r % 5000, NULL, 0};
    struct smr_buf batch;
    smr_buf_init(&batch);
    if (seq >= 1 && seq <= w->k)
        c = w->log[seq].c;
    switch (r % 6) {
    case 0:
        c.epoch += 1 + (r >> 8) % 7;
        break;
    case 1:
        c.leader_time_ms += 1 + (r >> 8) % 1000;
        break;
    case 2: /* one byte of a value, or of the count: still a batch or not */
        if (c.batch_len) {
            smr_buf_append(&batch, c.batch, c.batch_len);
            batch.data[batch.len - 1 - (r >> 8) % (batch.len < 8 ? 1 : 8)] ^=
                (uint8_t)(1 + (r >> 16) % 255);
            c.batch = batch.data;
            break;
        }
        /* fall through */
    case 3:
        if (c.batch_len) {
            c.batch_len = 0; /* the no-op */
            break;
        }
        /* fall through */
    case 4:
        if (seq > 1 && seq <= w->k + 1) {
            c.batch = w->log[seq - 1].c.batch;
            c.batch_len = w->log[seq - 1].c.batch_len;
            break;
        }
        /* fall through */
    default:
        make_batch(r, (uint32_t)((r >> 20) % (w->entry_max + 1)), seq, &batch);
        c.batch = batch.data;
        c.batch_len = (uint32_t)batch.len;
        break;
    }
    encode_entry(&c, out);
    smr_buf_free(&batch);
}

static void byz_lie(struct world *w, uint32_t id, smr_seq seq)
{
    struct smr_buf f;
    smr_buf_init(&f);
    bool collude = w->r[id].behaviours & BYZ_COLLUDE;
    lie_frame(w, seq, collude ? mix(seq ^ w->colluder_salt) : rnd(w), &f);
    w->st[ST_lies]++;
    w->st[ST_lies_at_cursor] += seq == w->applied + 1;
    net_send(w, id, TO_EXEC, w->incarnation, NULL, 0, &f);
}

static void byz_truth(struct world *w, uint32_t id, smr_seq seq)
{
    if (seq >= 1 && seq <= w->k)
        net_send(w, id, TO_EXEC, w->incarnation, w->log[seq].frame.data,
                 w->log[seq].frame.len, NULL);
}

/* Entries of up to 1 MiB (past the bound) across and past the window. */
static void byz_flood(struct world *w, uint32_t id, smr_seq cur)
{
    uint32_t count = 8 + (uint32_t)(rnd(w) % 56);
    w->st[ST_floods]++;
    for (uint32_t i = 0; i < count; i++) {
        smr_seq seq = cur + rnd(w) % (AHEAD_MAX + 12);
        uint32_t bytes =
            (uint32_t)(rnd(w) % 4 == 0 ? (1u << 20) : w->entry_max + 1024);
        struct smr_committed c = {seq, 1, 0, NULL, 0};
        struct smr_buf batch, f;
        smr_buf_init(&batch);
        smr_buf_init(&f);
        make_batch(rnd(w), (uint32_t)(rnd(w) % (bytes + 1)), seq, &batch);
        c.batch = batch.data;
        c.batch_len = (uint32_t)batch.len;
        encode_entry(&c, &f);
        smr_buf_free(&batch);
        w->st[ST_lies]++;
        net_send(w, id, TO_EXEC, w->incarnation, NULL, 0, &f);
    }
}

/* Frames that must be dropped: bytes, cut frames, other types, a batch
 * that is no batch. */
static void byz_garbage(struct world *w, uint32_t id, smr_seq cur)
{
    struct smr_buf f;
    smr_buf_init(&f);
    const struct entry *e = &w->log[cur <= w->k ? cur : w->k];
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rnd(w);
    switch (rnd(w) % 5) {
    case 0:
        smr_buf_append(&f, junk, 1 + rnd(w) % sizeof junk);
        break;
    case 1: /* a true frame cut short */
        smr_buf_append(&f, e->frame.data, rnd(w) % e->frame.len);
        break;
    case 2: {
        struct wire_subscribe s = {1, cur, 4096};
        wire_encode_subscribe(&f, &s);
        break;
    }
    case 3: {
        struct wire_checkpoint cp = {.seq = cur};
        wire_encode_checkpoint(&f, &cp);
        break;
    }
    default: {
        struct smr_committed c = {cur, 1, 0, junk, 1 + rnd(w) % 63};
        encode_entry(&c, &f); /* the encoder does not check the batch */
        break;
    }
    }
    w->st[ST_garbage]++;
    net_send(w, id, TO_EXEC, w->incarnation, NULL, 0, &f);
}

/* One of its behaviours, now and then; strangers repeat the colluders. */
static void byz_act(struct world *w, uint32_t id)
{
    struct rep *b = &w->r[id];
    smr_seq cur = w->applied + 1; /* the adversary sees the cursor */
    if (b->behaviours & BYZ_SILENT)
        return;
    if ((b->behaviours & BYZ_HONEST) && chance_pm(w, 5))
        b->honest_now = !b->honest_now;
    if (b->honest_now)
        rep_pump(w, id, b->burst);
    if (!chance_pm(w, 300))
        return;
    unsigned pick = 1u << (rnd(w) % 11);
    if (!(b->behaviours & pick))
        return;
    struct smr_buf f;
    smr_buf_init(&f);
    smr_seq s;
    static const smr_seq huge[] = {UINT64_MAX, UINT64_MAX - 1, 1ull << 63, 0};
    switch (pick) {
    case BYZ_FORGE:
        for (int i = 0, m = 1 + (int)(rnd(w) % 4); i < m; i++)
            byz_lie(w, id, cur + (i ? rnd(w) % 8 : 0));
        if (b->behaviours & BYZ_COLLUDE)
            for (uint32_t i = 0; i < 2; i++) { /* strangers, same lie */
                lie_frame(w, cur, mix(cur ^ w->colluder_salt), &f);
                w->st[ST_strangers]++;
                net_send(w, w->n + i * 5, TO_EXEC, w->incarnation, NULL, 0, &f);
            }
        break;
    case BYZ_FAR:
        s = rnd(w) % 2   ? cur + AHEAD_MAX - 1 + rnd(w) % 3
            : rnd(w) % 2 ? cur + 1000 + rnd(w) % 100000
                         : huge[rnd(w) % 4];
        byz_lie(w, id, s);
        break;
    case BYZ_EQUIVOCATE:
        s = cur + rnd(w) % (w->credit + 1);
        if (rnd(w) % 2) {
            byz_truth(w, id, s);
            byz_lie(w, id, s);
        } else {
            byz_lie(w, id, s);
            byz_truth(w, id, s);
        }
        break;
    case BYZ_PAST_CREDIT:
        for (s = cur + w->credit; s < cur + w->credit + rnd(w) % 64; s++)
            byz_truth(w, id, s);
        break;
    case BYZ_FLOOD:
        byz_flood(w, id, cur);
        break;
    case BYZ_COMPACTED: {
        struct wire_snapshot_required sr = {cur + rnd(w) % 100};
        wire_encode_snapshot_required(&f, &sr);
        w->st[ST_compacted]++;
        net_send(w, id, TO_EXEC, w->incarnation, NULL, 0, &f);
        break;
    }
    case BYZ_REPLAY:
        s = 1 + rnd(w) % cur;
        if (rnd(w) % 2)
            byz_truth(w, id, s);
        else
            byz_lie(w, id, s);
        break;
    case BYZ_GARBAGE:
        byz_garbage(w, id, cur);
        break;
    default:
        break;
    }
    smr_buf_free(&f);
}

/* ------------------------------------------------------------ a world */

struct profile {
    int byz;             /* Byzantine replicas; -1: 0..f drawn; -2: f+1 */
    unsigned behaviours; /* their behaviours are drawn among these */
    bool strict;         /* self-tests: exactly these, quorum f+1 */
    bool never_heal;     /* the correct replicas are cut off for good */
    bool fault_free;     /* no loss, crash or cut: the log committed at
                            once, and the executor must never stall */
};

static void world_config(struct world *w, bool strict)
{
    static const uint32_t windows[] = {32, 64, 64, 128, 256, 256};
    static const uint32_t batch_bytes[] = {1024, 64u << 10, 1u << 20, 1u << 20,
                                           8u << 20};
    static const uint64_t intervals[] = {1, 3, 16, 64};
    static const uint64_t ttls_ms[] = {3600000, 200, 20};
    struct glue_config *c = &w->cfg;
    glue_config_defaults(c);
    snprintf(c->protocol, sizeof c->protocol, "pbft");
    c->cluster_id = 5;
    c->n_replicas = w->n;
    c->storage_engine = GLUE_STORAGE_MEMORY;
    c->window = windows[rnd(w) % 6];
    c->batch_bytes_max = batch_bytes[rnd(w) % 5];
    c->checkpoint_interval = intervals[rnd(w) % 4];
    c->session_ttl_ms = ttls_ms[rnd(w) % 3]; /* sessions expire by log time */
    if (rnd(w) % 4 == 0 && !strict)          /* a quorum above f+1, up to n-f */
        c->stream_quorum = w->f + 1 + (uint32_t)(rnd(w) % (w->n - 2 * w->f));
    glue_keys_derive(9, w->n, 1, &keys);
    c->keys_mem = &keys;
    for (smr_node_id i = 0; i < w->n; i++) {
        c->replicas[i].id = i;
        snprintf(c->replicas[i].peer, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7100 + i);
        snprintf(c->replicas[i].client, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7200 + i);
        snprintf(c->replicas[i].stream, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://127.0.0.1:%u", 7300 + i);
    }
    /* The bounds the executor derives from the same contract. */
    struct glue_composition k;
    char err[256];
    ck_assert_msg(glue_composition_build(c, &k, err, sizeof err) == SMR_OK,
                  "%s", err);
    w->quorum = k.stream_quorum;
    w->entry_max = k.ord.entry_bytes_max;
    size_t entry = (size_t)w->entry_max + FRAME_OVERHEAD;
    w->ahead_bytes_max =
        AHEAD_BYTES_MAX > 8 * entry ? AHEAD_BYTES_MAX : 8 * entry;
    size_t fit = w->ahead_bytes_max / (2 * entry);
    w->credit = fit > AHEAD_MAX ? AHEAD_MAX : (uint32_t)fit;
}

/* The committed log: sizes from the seed's profile, up to the bound. */
static void world_log(struct world *w)
{
    uint32_t profile = (uint32_t)(rnd(w) % 3); /* small, mixed, big */
    uint32_t avg = profile == 0   ? 600
                   : profile == 1 ? 200 + w->entry_max / 10
                                  : w->entry_max * 3 / 4 + 1;
    w->k = LOG_BYTES_BUDGET / avg;
    w->k = w->k < 40 ? 40 : w->k > K_MAX ? K_MAX : w->k;
    uint64_t time_ms = 1000;
    struct smr_buf batch;
    smr_buf_init(&batch);
    for (smr_seq s = 1; s <= w->k; s++) {
        uint32_t bytes;
        uint64_t r = rnd(w);
        if (profile == 0)
            bytes = (uint32_t)(r % 1200);
        else if (profile == 1)
            bytes = r % 10 ? (uint32_t)(r % 1200)
                           : (uint32_t)((r >> 8) % (w->entry_max + 1));
        else
            bytes = r % 3 ? w->entry_max
                          : w->entry_max / 2 +
                                (uint32_t)((r >> 8) % (w->entry_max / 2));
        if (r % 17 == 0)
            bytes = 0; /* a no-op, as after a view change */
        if (bytes > w->entry_max)
            bytes = w->entry_max;
        make_batch(rnd(w), bytes, s, &batch);
        /* Leaders' clocks differ: now and then the time goes back. */
        time_ms = rnd(w) % 8 ? time_ms + rnd(w) % 5 : time_ms - rnd(w) % 50;
        struct smr_committed c = {s, 1 + s / 97, time_ms, batch.data,
                                  (uint32_t)batch.len};
        struct entry *e = &w->log[s];
        smr_buf_init(&e->frame);
        encode_entry(&c, &e->frame);
        ck_assert_int_eq(
            wire_decode_committed(e->frame.data, e->frame.len, &e->c), SMR_OK);
    }
    smr_buf_free(&batch);
}

static void world_init(struct world *w, uint64_t seed, const struct profile *p)
{
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->rng = mix(seed * 0x2545f4914f6cdd1dull + 7);
    w->n = rnd(w) % 2 ? 4 : 7;
    w->f = (w->n - 1) / 3;
    world_config(w, p->strict);
    world_log(w);
    w->self = (uint32_t)(rnd(w) % w->n);
    w->colluder_salt = rnd(w);
    uint32_t byz = p->byz >= 0    ? (uint32_t)p->byz
                   : p->byz == -2 ? w->f + 1
                                  : (uint32_t)(rnd(w) % (w->f + 1));
    uint32_t first = (uint32_t)(rnd(w) % w->n);
    for (uint32_t i = 0; i < w->n; i++) {
        struct rep *r = &w->r[i];
        r->up = true;
        r->period_ms = 1 + (uint32_t)(rnd(w) % 10);
        r->burst = 1 + (uint32_t)(rnd(w) % 32);
        r->committed = rnd(w) % (w->k / 8 + 1);
        r->byz = (i + w->n - first) % w->n < byz;
        r->cut = !r->byz && p->never_heal;
        r->behaviours = (unsigned)rnd(w) & p->behaviours;
        if (r->byz && rnd(w) % 8 == 0)
            r->behaviours = BYZ_SILENT;
        r->behaviours &=
            r->behaviours == BYZ_SILENT ? ~0u : ~(unsigned)BYZ_SILENT;
        if (p->strict)
            r->behaviours = p->behaviours;
        if (r->byz)
            r->committed = w->k; /* it knows the log */
    }
    w->loss_pm_faults = (uint32_t)(rnd(w) % 200);
    w->loss_pm = p->fault_free ? 0 : w->loss_pm_faults;
    w->dup_pm = (uint32_t)(rnd(w) % 100);
    /* A calm network still reorders and duplicates within a link, as
     * glue/sim.c does (STREAM_CALM_FIFO=1: in order, no copies, as TCP). */
    w->fifo = p->fault_free && getenv("STREAM_CALM_FIFO");
    if (w->fifo)
        w->dup_pm = 0;
    w->jitter_ms = (uint32_t)(rnd(w) % (JITTER_MS_MAX + 1));
    w->sched_seed = rnd(w) % 3 == 0 ? rnd(w) | 1 : 0;
    w->faults_on = true;
    w->never_heal = p->never_heal;
    w->fault_free = p->fault_free;
    w->heal_at_ms = p->fault_free ? 0 : 300 + rnd(w) % 2700;
    /* By the time the faults stop, 20-100% of the log is committed. */
    for (uint32_t i = 0; i < w->n; i++)
        w->r[i].commit_x1000 =
            1000 * w->k * (20 + rnd(w) % 81) / 100 / (w->heal_at_ms + 1);
    w->net = calloc(NET_MAX, sizeof *w->net);
    ck_assert_ptr_nonnull(w->net);
    ck_assert_int_eq(sto_mem_open(&w->store), SMR_OK);
    if (rnd(w) % 2)
        sto_mem_set_tear(w->store, (unsigned)(rnd(w) % 500));
    w->mem_base = heap_bytes();
    w->net_base = w->net_bytes;
    exec_up(w);
}

static void world_free(struct world *w)
{
    glue_executor_destroy(&w->x);
    for (uint32_t i = 0; i < w->n_net; i++)
        smr_buf_free(&w->net[i].own);
    free(w->net);
    sto_close(&w->store);
    for (smr_seq s = 1; s <= w->k; s++)
        smr_buf_free(&w->log[s].frame);
}

/* ------------------------------------------------------------- faults */

static void faults(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        struct rep *r = &w->r[i];
        if (r->byz)
            continue;
        if (r->up && chance_pm(w, 1) && rnd(w) % 2) { /* crash: slot lost */
            r->up = false;
            r->c_route = 0;
            r->restart_at_ms = w->now_ms + 20 + rnd(w) % 1000;
        } else if (!r->up && w->now_ms >= r->restart_at_ms) {
            r->up = true;
        }
        if (chance_pm(w, 1) && rnd(w) % 2 && !w->never_heal)
            r->cut = !r->cut;
    }
    if (chance_pm(w, 1) && rnd(w) % 3 == 0) {
        exec_down(w);
        exec_up(w);
    }
    if (!w->fsync_armed && chance_pm(w, 1) && rnd(w) % 4 == 0) {
        sto_mem_fail_next_sync(w->store);
        w->fsync_armed = true;
    }
}

/* Every correct replica up, reachable and committed to K; no loss. */
static void heal(struct world *w)
{
    w->faults_on = false;
    w->loss_pm = 0;
    w->st[ST_healed_from] = w->applied;
    for (uint32_t i = 0; i < w->n; i++) {
        struct rep *r = &w->r[i];
        r->committed = w->k;
        if (r->byz)
            continue;
        if (!r->up)
            r->c_route = 0;
        r->up = true;
        r->cut = w->never_heal;
    }
    /* The (quorum)-th fastest correct stream paces the executor; each
     * grant of credit/2 entries takes a round trip; then a few stalls. */
    uint32_t per_ms_x1000[N_MAX], m = 0;
    for (uint32_t i = 0; i < w->n; i++)
        if (!w->r[i].byz)
            per_ms_x1000[m++] = 1000 * w->r[i].burst / w->r[i].period_ms;
    for (uint32_t i = 0; i < m; i++) /* descending */
        for (uint32_t j = i + 1; j < m; j++)
            if (per_ms_x1000[j] > per_ms_x1000[i]) {
                uint32_t t = per_ms_x1000[i];
                per_ms_x1000[i] = per_ms_x1000[j];
                per_ms_x1000[j] = t;
            }
    uint64_t rate = m >= w->quorum ? per_ms_x1000[w->quorum - 1] : 1;
    uint64_t left = w->k - w->applied;
    uint64_t rtt_ms = 2 * (w->jitter_ms + 2);
    w->deadline_ms = w->now_ms + 4 * STALL_MS + 2 * left * 1000 / rate +
                     2 * rtt_ms * (left / (w->credit / 2) + 1);
}

/* ------------------------------------------------------------ the loop */

/* A correct replica's entry past the cursor, within the credit it was
 * granted: the executor must keep it (its credit is sized for that). */
static void note_delivered(struct world *w, const struct frame *fr)
{
    struct smr_committed c;
    if (fr->from >= w->n || w->r[fr->from].byz ||
        wire_decode_committed(fr->data, fr->len, &c) != SMR_OK)
        return;
    if (c.seq > w->applied && c.seq <= w->k)
        w->delivered[c.seq] |= (uint8_t)(1u << fr->from);
}

/* So once `quorum` correct streams brought the entry at the cursor it is
 * applied at once, whatever the order, the copies and the lies. */
static void check_nothing_forgotten(struct world *w)
{
    smr_seq next = w->applied + 1;
    if (next > w->k ||
        (uint32_t)__builtin_popcount(w->delivered[next]) < w->quorum)
        return;
    violation(w,
              "%d correct streams brought seq %llu, yet it is not "
              "applied: an entry within the credit was not kept "
              "(credit granted %u, quorum %u)",
              __builtin_popcount(w->delivered[next]), (unsigned long long)next,
              w->credit_granted, w->quorum);
}

/* In a calm run no correct replica's grant may end below the cursor for
 * longer than a top-up takes to arrive (test_fault_free_seeds). */
static void check_credit(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        struct rep *r = &w->r[i];
        bool shy = !r->byz && r->c_route == w->incarnation &&
                   r->c_limit <= w->applied && w->applied < w->k;
        if (!shy)
            r->short_since_ms = 0;
        else if (!r->short_since_ms)
            r->short_since_ms = w->now_ms;
        else if (w->now_ms - r->short_since_ms > 2 * JITTER_MS_MAX + 20)
            violation(w,
                      "replica %u's credit ends at seq %llu, below the "
                      "cursor %llu, for %llu ms",
                      i, (unsigned long long)r->c_limit,
                      (unsigned long long)w->applied + 1,
                      (unsigned long long)(w->now_ms - r->short_since_ms));
    }
}

static void deliver(struct world *w)
{
    static struct frame due[NET_MAX];
    uint32_t n_due = 0, kept = 0;
    for (uint32_t i = 0; i < w->n_net; i++)
        if (w->net[i].at_ms <= w->now_ms)
            due[n_due++] = w->net[i];
        else
            w->net[kept++] = w->net[i];
    w->n_net = kept;
    qsort(due, n_due, sizeof *due, by_time);
    int rc = SMR_OK;
    bool to_exec = false;
    for (uint32_t i = 0; i < n_due; i++) {
        struct frame *fr = &due[i];
        if (fr->to != TO_EXEC)
            deliver_to_replica(w, fr);
        else if (w->x && rc == SMR_OK && fr->route == w->incarnation) {
            note_delivered(w, fr);
            rc = glue_executor_on_frame(w->x, fr->from, fr->data, fr->len);
            to_exec = true;
            if (rc == SMR_OK) /* a failed sync stops it mid-way */
                check_nothing_forgotten(w);
        }
        w->net_bytes -= fr->own.cap;
        smr_buf_free(&fr->own);
    }
    if (rc == SMR_OK && to_exec)
        rc = glue_executor_end_burst(w->x);
    if (rc == SMR_EFSYNC && w->fsync_armed) {
        w->st[ST_fsync_failures]++;
        exec_down(w); /* the executor stops; it is restarted */
        exec_up(w);
    } else if (rc != SMR_OK) {
        violation(w, "the executor stopped: %s", smr_strerror(rc));
    }
}

static void send_all(struct world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        struct rep *r = &w->r[i];
        if (r->byz) {
            byz_act(w, i);
            continue;
        }
        if (w->now_ms % 10 == 0)
            r->committed += (r->commit_x1000 * 10 + rnd(w) % 1000) / 1000;
        if (r->committed > w->k)
            r->committed = w->k;
        if (r->up && w->now_ms % r->period_ms == i % r->period_ms)
            rep_pump(w, i, r->burst);
    }
}

static void check_memory(struct world *w)
{
    if (w->mem_base == 0)
        return;
    long used =
        heap_bytes() - w->mem_base - ((long)w->net_bytes - (long)w->net_base);
    /* Every stream's kept entries, the app state and its snapshots. */
    long bound = (long)(w->n * w->ahead_bytes_max) + (48l << 20);
    if (used > w->mem_max)
        w->mem_max = used;
    if (used > bound)
        violation(w, "the heap grew by %ld bytes, over %ld (%u streams of %zu)",
                  used, bound, w->n, w->ahead_bytes_max);
}

static void print_run(const struct world *w)
{
    fprintf(stderr,
            "seed %llu: n=%u q=%u self=%u K=%llu entry<=%u credit=%u "
            "loss=%u dup=%u jitter=%u fifo=%d par=%d heap+%ldKiB",
            (unsigned long long)w->seed, w->n, w->quorum, w->self,
            (unsigned long long)w->k, w->entry_max, w->credit,
            w->loss_pm_faults, w->dup_pm, w->jitter_ms, w->fifo,
            w->sched_seed != 0, w->mem_max >> 10);
    for (int i = 0; i < ST__COUNT; i++)
        fprintf(stderr, " %s=%llu", stat_names[i],
                (unsigned long long)w->st[i]);
    fprintf(stderr, "%s%s\n", w->failed ? ": " : "", w->failed ? w->why : "");
}

/* One seed: NULL, or what went wrong (with the seed). */
static const char *run(struct world *w, uint64_t seed, const struct profile *p)
{
    world_init(w, seed, p);
    uint64_t end_ms = UINT64_MAX;
    for (w->now_ms = 0; !w->failed && w->now_ms < end_ms; w->now_ms++) {
        if (w->faults_on && w->now_ms >= w->heal_at_ms)
            heal(w);
        if (w->faults_on)
            faults(w);
        deliver(w);
        if (w->failed)
            break;
        send_all(w);
        if (w->x && glue_executor_next_timeout_ms(w->x, 1000) == 0)
            glue_executor_tick(w->x);
        if (w->now_ms % 16 == 0)
            check_memory(w);
        if (!w->faults_on && w->applied == w->k && end_ms == UINT64_MAX) {
            w->st[ST_healed_in_ms] = w->now_ms - w->heal_at_ms;
            end_ms = w->now_ms + 2 * STALL_MS; /* nothing past K */
        }
        if (w->fault_free)
            check_credit(w);
        if (!w->faults_on && end_ms == UINT64_MAX && w->now_ms > w->deadline_ms)
            violation(w,
                      "stalled at seq %llu of %llu, %llu ms after the faults "
                      "stopped (bound %llu ms; credit %u, quorum %u)",
                      (unsigned long long)w->applied, (unsigned long long)w->k,
                      (unsigned long long)(w->now_ms - w->heal_at_ms),
                      (unsigned long long)(w->deadline_ms - w->heal_at_ms),
                      w->credit, w->quorum);
    }
    if (getenv("STREAM_VERBOSE"))
        print_run(w);
    world_free(w);
    return w->failed ? w->why : NULL;
}

static uint64_t first_seed(void)
{
    const char *env = getenv("STREAM_SEED");
    return env ? strtoull(env, NULL, 10) : 1;
}

/* STREAM_SEEDS seeds from STREAM_SEED (1 by default); STREAM_SEED alone
 * replays one seed. */
static uint32_t seed_count(uint32_t dflt)
{
    const char *env = getenv("STREAM_SEEDS");
    if (env)
        return (uint32_t)strtoul(env, NULL, 10);
    return getenv("STREAM_SEED") ? 1 : dflt;
}

static struct world world; /* large: the committed log and its digests */

/* ------------------------------------------------------------- tests */

/* STREAM_SEEDS seeds (`dflt` by default) under profile `p`. */
static void run_seeds(const struct profile *p, uint32_t dflt, const char *what)
{
    uint64_t from = first_seed();
    uint32_t count = seed_count(dflt), failed = 0;
    const char *env = getenv("STREAM_CALM_FIFO");
    for (uint64_t seed = from; seed < from + count; seed++) {
        const char *why = run(&world, seed, p);
        if (why) {
            failed++;
            fprintf(stderr,
                    "%s %s; replay: %sSTREAM_SEED=%llu "
                    "test_stream_quorum_random\n",
                    what, why,
                    env && p->fault_free ? "STREAM_CALM_FIFO=1 " : "",
                    (unsigned long long)seed);
        }
    }
    fprintf(stderr, "%u %s seeds, %u failed\n", count, what, failed);
    ck_assert_uint_eq(failed, 0);
}

START_TEST(test_faulty_seeds)
{
    struct profile p = {.byz = -1, .behaviours = BYZ__ALL};
    run_seeds(&p, 40, "faulty");
}
END_TEST

/* No loss, crash or cut, the log committed at once, links in order as
 * over TCP (lies go on): the executor tops up every stream before the
 * cursor passes half of the oldest grant, so no correct replica's grant
 * may end below the cursor for longer than a top-up takes to arrive.
 * Frames within a link are reordered and duplicated as in the faulty runs
 * (STREAM_CALM_FIFO=1: in order): a SUBSCRIBE overtaken by an older one
 * must not rewind a replica below the credit the executor counts on.
 * (stream.c took the older one as a restart until it dropped cursors that
 * went back: STREAM_SEED=1238 then left replica 1's credit at seq 47,
 * below the cursor 48, and nothing was applied for 300 ms.) */
START_TEST(test_fault_free_seeds)
{
    struct profile p = {.byz = -1, .behaviours = BYZ__ALL, .fault_free = true};
    run_seeds(&p, 20, "fault-free");
}
END_TEST

/* The oracles can fail. f+1 replicas telling one lie at the cursor, with
 * the correct ones cut off for good, must make it apply a lie (the quorum
 * tolerates f): the safety oracle must say so. */
START_TEST(test_harness_catches_f_plus_one_liars)
{
    uint32_t caught = 0;
    struct profile p = {.byz = -2,
                        .behaviours = BYZ_FORGE | BYZ_COLLUDE,
                        .strict = true,
                        .never_heal = true};
    for (uint64_t seed = 1; seed <= 6; seed++) {
        const char *why = run(&world, seed, &p);
        if (why && strstr(why, "lie"))
            caught++;
        if (getenv("STREAM_VERBOSE"))
            fprintf(stderr, "self-test seed %llu: %s\n",
                    (unsigned long long)seed, why ? why : "not caught");
    }
    ck_assert_uint_eq(caught, 6);
}
END_TEST

/* Correct replicas that never come back: the progress oracle must fire. */
START_TEST(test_harness_catches_a_stall)
{
    struct profile p = {.byz = 0, .strict = true, .never_heal = true};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const char *why = run(&world, seed, &p);
        ck_assert_msg(why && strstr(why, "stalled"), "seed %llu: %s",
                      (unsigned long long)seed, why ? why : "not caught");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream_quorum_random");
    TCase *faulty = tcase_create("faulty"), *calm = tcase_create("fault_free"),
          *self = tcase_create("self_test");
    tcase_set_timeout(faulty, 600); /* STREAM_SEEDS may ask for many */
    tcase_set_timeout(calm, 600);
    tcase_add_test(faulty, test_faulty_seeds);
    tcase_add_test(calm, test_fault_free_seeds);
    tcase_add_test(self, test_harness_catches_f_plus_one_liars);
    tcase_add_test(self, test_harness_catches_a_stall);
    suite_add_tcase(s, faulty);
    suite_add_tcase(s, calm);
    suite_add_tcase(s, self);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
