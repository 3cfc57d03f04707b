/*
 * sim.c: the deterministic simulator (sim.h).
 *
 * Approach (after FoundationDB's and TigerBeetle's simulators): the real
 * replica drivers run detached (node.h, glue_io_ops) over a virtual network
 * kept in a heap of frames ordered by (delivery time, sequence counter), so
 * ties break the same way on every run. Each seed draws its own fault
 * rates, from calm to stormy: drops, duplicates, delays (hence reordering),
 * symmetric, asymmetric and one-way partitions that heal, crashes that keep
 * an arbitrary subset of unsynced writes and may tear the newest one (the
 * reopen drops a torn tail by its checksum), bit rot in synced data (the
 * replica must refuse its store and stay down), fsync errors (the replica
 * stops), slow disks, and timer skew between replicas. Executors run inside
 * the replicas or apart, over the network, with crashes of their own.
 * Concurrent clients (sim_client.c) retry with the same request id and
 * record a history.
 *
 * Checked after every step: no two replicas execute different batches at
 * one sequence number, and equal sequence numbers give equal state digests.
 * Checked at the end: the history is linearizable (lincheck), the final
 * reads after healing see every acknowledged write, and the cluster made
 * progress once the faults stopped.
 */
#include "sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exe.h"
#include "executor.h"
#include "lincheck.h"
#include "node_internal.h"
#include "sim_internal.h"
#include "wire.h"

/* ------------------------------------------------------------ basics */

uint64_t sim_rnd(struct sim *s)
{
    return smr_rng_next(&s->rng);
}

bool sim_chance(struct sim *s, unsigned permille)
{
    return sim_rnd(s) % 1000 < permille;
}

void sim_trace(struct sim *s, const char *fmt, ...)
{
    if (!s->opt.trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(s->opt.trace, "%8llu ", (unsigned long long)s->now);
    vfprintf(s->opt.trace, fmt, ap);
    fputc('\n', s->opt.trace);
    va_end(ap);
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
    if (s->res->failed)
        return;
    s->res->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->invariant, sizeof s->res->invariant, fmt, ap);
    va_end(ap);
    sim_trace(s, "INVARIANT BROKEN: %s", s->res->invariant);
}

/* ------------------------------------------------------------ heap */

static bool before(const struct frame *a, const struct frame *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void heap_push(struct sim *s, struct frame *f)
{
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? s->heap_cap * 2 : 256;
        s->heap = realloc(s->heap, s->heap_cap * sizeof *s->heap);
        if (!s->heap)
            abort();
    }
    size_t i = s->heap_len++;
    while (i > 0 && before(f, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = f;
}

static struct frame *heap_pop(struct sim *s)
{
    struct frame *top = s->heap[0], *last = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && before(s->heap[c + 1], s->heap[c]))
            c++;
        if (!before(s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->heap_len)
        s->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------ network */

void sim_net_send_tagged(struct sim *s, uint8_t kind, uint8_t tag,
                            uint32_t from, uint32_t to, uint64_t depart,
                            const uint8_t *data, size_t len)
{
    if (s->faults_on && sim_chance(s, s->drop_pm))
        return;
    if (kind == TO_PEER && s->blocked[from][to])
        return;
    if (s->twin_of == to && (kind == TO_PEER || kind == TO_REPLICA)) {
        /* Twins: clients reach both copies; each peer reaches one. */
        uint32_t twin = s->opt.replicas;
        if (kind == TO_REPLICA)
            sim_net_send_tagged(s, kind, tag, from, twin, depart, data, len);
        else if (s->twin_split & (1u << from))
            to = twin;
    }
    int copies = s->faults_on && sim_chance(s, s->dup_pm) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        struct frame *f = malloc(sizeof *f + len);
        if (!f)
            abort();
        uint64_t delay = s->faults_on ? 1 + sim_rnd(s) % s->delay_max_ms
                                      : 1 + sim_rnd(s) % 2;
        f->at = depart + delay;
        f->depart = depart;
        f->cancelled = false;
        f->order = s->order++;
        f->kind = kind;
        f->tag = tag;
        f->from = from;
        f->to = to;
        f->len = (uint32_t)len;
        memcpy(f->data, data, len);
        heap_push(s, f);
    }
}

void sim_net_send(struct sim *s, uint8_t kind, uint32_t from, uint32_t to,
                     uint64_t depart, const uint8_t *data, size_t len)
{
    sim_net_send_tagged(s, kind, 0, from, to, depart, data, len);
}

static void io_peer_send(void *arg, smr_node_id to, const uint8_t *frame,
                         size_t len)
{
    struct snode *nd = arg;
    if (nd->byz)
        sim_byz_peer_send(nd, to, frame, len);
    else
        sim_net_send(nd->sim, TO_PEER, nd->id, to, nd->depart_at, frame, len);
}

static void io_client_send(void *arg, const uint8_t *route, size_t route_len,
                           const uint8_t *frame, size_t len)
{
    struct snode *nd = arg;
    if (route_len != 1 || route[0] >= nd->sim->opt.clients)
        return;
    if (nd->byz)
        sim_byz_client_send(nd, route[0], frame, len);
    else
        sim_net_send(nd->sim, TO_CLIENT, nd->id, route[0], nd->depart_at,
                     frame, len);
}

static uint64_t io_now_ms(void *arg)
{
    struct snode *nd = arg;
    return WALL_BASE_MS + nd->sim->now;
}

static uint64_t io_mono_ms(void *arg)
{
    struct snode *nd = arg;
    return 1000000 + nd->sim->now * nd->rate_permille / 1000;
}

/* Agreement and determinism, checked as each executor applies an entry:
 * `who` executed `e` reaching `digest`, after *executed. */
static void check_executed(struct sim *s, const char *who, uint32_t id,
                           smr_seq *executed, const struct smr_committed *e,
                           const uint8_t digest[SMR_DIGEST_BYTES])
{
    /* A restarted executor resumes after its snapshot: its first entry may
     * be any seq (the digest comparison below checks the restored state). */
    if (*executed != SMR_SEQ_UNKNOWN && e->seq != *executed + 1)
        sim_fail(s, "%s %u executed seq %llu after %llu (gap or repeat)", who, id,
             (unsigned long long)e->seq, (unsigned long long)*executed);
    *executed = e->seq;
    if (e->seq >= s->log_cap) {
        size_t cap = s->log_cap ? s->log_cap : 1024;
        while (cap <= e->seq)
            cap *= 2;
        s->log = realloc(s->log, cap * sizeof *s->log);
        if (!s->log)
            abort();
        memset(s->log + s->log_cap, 0, (cap - s->log_cap) * sizeof *s->log);
        s->log_cap = cap;
    }
    struct entry_rec *r = &s->log[e->seq];
    uint8_t h[SMR_DIGEST_BYTES];
    smr_hash(h, e->batch, e->batch_len);
    if (!r->set) {
        r->set = true;
        memcpy(r->batch_hash, h, sizeof h);
        memcpy(r->digest, digest, SMR_DIGEST_BYTES);
        if (e->seq > s->res->committed)
            s->res->committed = e->seq;
        return;
    }
    if (memcmp(r->batch_hash, h, sizeof h) != 0)
        sim_fail(s, "agreement: %s %u executed a different batch at seq %llu", who,
             id, (unsigned long long)e->seq);
    else if (memcmp(r->digest, digest, SMR_DIGEST_BYTES) != 0)
        sim_fail(s, "determinism: %s %u has a different state digest at seq %llu",
             who, id, (unsigned long long)e->seq);
}

static void io_executed(void *arg, const struct smr_committed *e,
                        const uint8_t digest[SMR_DIGEST_BYTES])
{
    struct snode *nd = arg;
    if (nd->byz)
        return; /* a Byzantine replica's state proves nothing */
    check_executed(nd->sim, "replica", nd->id, &nd->executed, e, digest);
}

/* State transfer replaced a replica's state with a snapshot at seq: the
 * state must be the one correct replicas reached there. */
static void io_installed(void *arg, smr_seq seq,
                         const uint8_t digest[SMR_DIGEST_BYTES])
{
    struct snode *nd = arg;
    struct sim *s = nd->sim;
    if (nd->byz)
        return;
    s->res->states_installed++;
    nd->executed = seq;
    if (seq < s->log_cap && s->log[seq].set &&
        memcmp(s->log[seq].digest, digest, SMR_DIGEST_BYTES) != 0)
        sim_fail(s, "state transfer: replica %u installed a state at seq %llu "
                    "that differs from the one executed there",
                 nd->id, (unsigned long long)seq);
}

/* A stream frame to the executor routed [index, incarnation]. */
static bool io_stream_send(void *arg, const uint8_t *route, size_t route_len,
                           const uint8_t *frame, size_t len)
{
    struct snode *nd = arg;
    if (route_len != 2 || route[0] >= nd->sim->opt.replicas)
        return true;
    if (nd->byz)
        sim_byz_stream_send(nd, route[0], route[1], frame, len);
    else
        sim_net_send_tagged(nd->sim, TO_EXECUTOR, route[1], nd->id, route[0],
                            nd->depart_at, frame, len);
    return true; /* the network may still drop it: a lost frame */
}

static const struct glue_io_ops sim_io = {
    .peer_send = io_peer_send,
    .installed = io_installed,
    .client_send = io_client_send,
    .stream_send = io_stream_send,
    .now_ms = io_now_ms,
    .mono_ms = io_mono_ms,
    .executed = io_executed,
};

/* ------------------------------------------------------------ replicas */

/* A restart first reopens the disk: torn tails are dropped and counted;
 * corruption means the store must not be used. */
static int reopen_store(struct sim *s, struct sto *store)
{
    uint64_t torn = 0;
    int rc = sto_mem_reopen(store, &torn);
    s->res->torn_tails += torn;
    return rc;
}

static void node_up(struct sim *s, struct snode *nd)
{
    char err[256];
    if (reopen_store(s, nd->store) != SMR_OK) {
        nd->corrupt = true;
        nd->restart_at = UINT64_MAX;
        s->res->corrupt_refusals++;
        sim_trace(s, "replica %u refuses to start: its store is corrupt", nd->id);
        return;
    }
    struct glue_node_options opt = {
        .allow_unsafe_storage = true, /* the memory store models the disk */
        .quiet = true,
        .store = nd->store,
        .io = &sim_io,
        .io_arg = nd,
        .sched_seed = nd->sched_seed
                          ? nd->sched_seed ^ (++nd->starts * 0x9E3779B97F4A7C15ULL)
                          : 0,
    };
    nd->executed = SMR_SEQ_UNKNOWN;
    nd->depart_at = s->now;
    if (glue_node_new(&s->cfg, nd->id, &opt, &nd->n, err, sizeof err) !=
        SMR_OK) {
        sim_fail(s, "replica %u%s failed to recover: %s", nd->id,
                 nd->twin ? " (twin)" : "", err);
        return;
    }
    nd->up = true;
    nd->busy_until = s->now;
    sim_trace(s, "replica %u%s up (recovered commit %llu)", nd->id,
              nd->twin ? " (twin)" : "",
          (unsigned long long)ord_core_recovered_commit(nd->n->core_ops,
                                                        nd->n->core));
    if (glue_node_start(nd->n) != SMR_OK)
        sim_fail(s, "replica %u failed to start", nd->id);
}

/* Frames a replica sends from its kind and index (sim.c's convention). */
static bool sent_by_replica(const struct frame *f, uint32_t id)
{
    return f->from == id && (f->kind == TO_PEER || f->kind == TO_CLIENT ||
                             f->kind == TO_EXECUTOR);
}

static void node_down(struct sim *s, struct snode *nd, const char *why)
{
    /* What was waiting for the sync in progress never leaves. */
    for (size_t i = 0; i < s->heap_len; i++)
        if (sent_by_replica(s->heap[i], nd->id) && s->heap[i]->depart > s->now)
            s->heap[i]->cancelled = true;
    nd->syncing = false;
    sim_byz_count(s, nd);
    glue_node_destroy(&nd->n);
    unsigned keep = (unsigned)(sim_rnd(s) % 1001);
    sto_mem_crash(nd->store, &s->rng, keep);
    nd->up = false;
    nd->restart_at = s->now + 50 + sim_rnd(s) % 1500;
    sim_trace(s, "replica %u%s down (%s), keeps %u/1000 of unsynced writes",
              nd->id, nd->twin ? " (twin)" : "", why, keep);
    if (s->rot_pending && sto_mem_corrupt(nd->store, &s->rng) == SMR_OK) {
        s->rot_pending = false;
        sim_trace(s, "bit rot in replica %u's synced data", nd->id);
    }
}

/* Ends a replica's burst: FLUSH, timers, and a group commit that takes
 * disk time, during which the replica is busy and after which its held
 * sends depart. */
static void node_burst(struct sim *s, struct snode *nd, bool any)
{
    uint64_t disk = sto_pending(nd->store) || any
                        ? (s->faults_on ? 1 + sim_rnd(s) % s->disk_max_ms : 1)
                        : 0;
    if (s->faults_on && sim_chance(s, s->fsync_pm)) {
        sto_mem_fail_next_sync(nd->store);
        s->res->fsync_errors++;
    }
    nd->depart_at = s->now + disk;
    nd->busy_until = s->now + disk;
    nd->syncing = true; /* the sync reaches the disk at busy_until */
    int rc = glue_node_end_burst(nd->n, any);
    if (rc == SMR_EFSYNC)
        node_down(s, nd, "fsync error: the replica stops");
    else if (rc != SMR_OK)
        sim_fail(s, "replica %u stopped: %s", nd->id, smr_strerror(rc));
}

static uint64_t node_next_ms(struct snode *nd)
{
    long left = glue_node_next_timeout_ms(nd->n, 1000);
    return (uint64_t)left * 1000 / nd->rate_permille + (left > 0);
}

/* ------------------------------------------------------------ executors */

static void xio_send(void *arg, smr_node_id to, const uint8_t *frame,
                     size_t len)
{
    struct sexec *ex = arg;
    if (to < ex->sim->opt.replicas)
        sim_net_send_tagged(ex->sim, TO_STREAM, ex->incarnation, ex->idx, to,
                            ex->sim->now, frame, len);
}

static uint64_t xio_mono_ms(void *arg)
{
    struct sexec *ex = arg;
    return 1000000 + ex->sim->now;
}

static void xio_executed(void *arg, const struct smr_committed *e,
                         const uint8_t digest[SMR_DIGEST_BYTES])
{
    struct sexec *ex = arg;
    check_executed(ex->sim, "executor", ex->idx, &ex->executed, e, digest);
}

static const struct glue_executor_io sim_exec_io = {
    .send = xio_send,
    .mono_ms = xio_mono_ms,
    .executed = xio_executed,
};

static void exec_up(struct sim *s, struct sexec *ex)
{
    char err[256];
    uint64_t base = ex->sim->nodes[ex->idx].sched_seed;
    struct glue_executor_options opt = {
        .allow_unsafe_storage = true,
        .quiet = true,
        .store = ex->store,
        .io = &sim_exec_io,
        .io_arg = ex,
        .sched_seed = base ? base ^ ((uint64_t)ex->incarnation << 32) : 0,
    };
    ex->executed = SMR_SEQ_UNKNOWN;
    ex->incarnation++;
    if (reopen_store(s, ex->store) != SMR_OK) {
        sim_fail(s, "executor %u: its store reads as corrupt after a crash "
                "(no corruption was injected)",
             ex->idx);
        return;
    }
    if (glue_executor_new(&s->cfg, ex->idx, &opt, &ex->x, err, sizeof err) !=
        SMR_OK) {
        sim_fail(s, "executor %u failed to recover: %s", ex->idx, err);
        return;
    }
    ex->up = true;
    sim_trace(s, "executor %u up (restored seq %llu)", ex->idx,
          (unsigned long long)glue_executor_executed(ex->x));
    glue_executor_start(ex->x);
}

static void exec_down(struct sim *s, struct sexec *ex, const char *why)
{
    glue_executor_destroy(&ex->x);
    unsigned keep = (unsigned)(sim_rnd(s) % 1001);
    sto_mem_crash(ex->store, &s->rng, keep);
    ex->up = false;
    ex->restart_at = s->now + 50 + sim_rnd(s) % 1500;
    s->res->executor_crashes++;
    sim_trace(s, "executor %u down (%s), keeps %u/1000 of unsynced writes",
          ex->idx, why, keep);
}

static void exec_deliver(struct sim *s, struct frame *f)
{
    struct sexec *ex = &s->execs[f->to];
    if (!ex->up || f->tag != ex->incarnation)
        return; /* that connection is gone */
    int rc = glue_executor_on_frame(ex->x, f->from, f->data, f->len);
    int end_rc = glue_executor_end_burst(ex->x); /* its replies, even so */
    if (rc == SMR_OK)
        rc = end_rc;
    if (rc == SMR_EFSYNC)
        exec_down(s, ex, "fsync error: the executor stops");
    else if (rc != SMR_OK)
        sim_fail(s, "executor %u stopped: %s", ex->idx, smr_strerror(rc));
}

static void step_execs(struct sim *s)
{
    for (uint32_t i = 0; s->separate && i < s->opt.replicas; i++) {
        struct sexec *ex = &s->execs[i];
        if (!ex->up && s->now >= ex->restart_at)
            exec_up(s, ex);
        else if (ex->up && glue_executor_next_timeout_ms(ex->x, 1) == 0)
            glue_executor_tick(ex->x);
    }
}

/* ------------------------------------------------------------ faults */

static void partition(struct sim *s)
{
    uint32_t n = s->opt.replicas;
    uint32_t a = (uint32_t)(sim_rnd(s) % n), b = (uint32_t)(sim_rnd(s) % n);
    switch (sim_rnd(s) % 4) {
    case 0: /* isolate a, both ways */
        for (uint32_t i = 0; i < n; i++)
            s->blocked[a][i] = s->blocked[i][a] = i != a;
        sim_trace(s, "partition: replica %u isolated", a);
        break;
    case 1: /* one-way: a cannot reach b */
        s->blocked[a][b] = a != b;
        sim_trace(s, "partition: %u -> %u cut (one-way)", a, b);
        break;
    case 2: /* asymmetric: a hears everyone, nobody hears a */
        for (uint32_t i = 0; i < n; i++)
            s->blocked[a][i] = i != a;
        sim_trace(s, "partition: nobody hears replica %u", a);
        break;
    default:
        memset(s->blocked, 0, sizeof s->blocked);
        sim_trace(s, "partition: healed");
        break;
    }
    s->res->partitions++;
}

static void fault_tick(struct sim *s)
{
    if (sim_chance(s, s->crash_pm)) {
        struct snode *nd = &s->nodes[sim_rnd(s) % s->n_nodes];
        if (nd->up)
            node_down(s, nd, "crash");
        s->res->crashes++;
    }
    if (s->separate && sim_chance(s, s->crash_pm)) {
        struct sexec *ex = &s->execs[sim_rnd(s) % s->opt.replicas];
        if (ex->up)
            exec_down(s, ex, "crash");
    }
    if (s->separate && sim_chance(s, s->fsync_pm)) {
        /* An executor syncs only at checkpoints: its next one fails. */
        sto_mem_fail_next_sync(s->execs[sim_rnd(s) % s->opt.replicas].store);
        s->res->fsync_errors++;
    }
    if (sim_chance(s, s->part_pm))
        partition(s);
}

static void heal(struct sim *s)
{
    s->faults_on = false;
    s->healed_at = s->now;
    memset(s->blocked, 0, sizeof s->blocked);
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        if (!s->nodes[i].up && !s->nodes[i].corrupt)
            s->nodes[i].restart_at = s->now;
        if (s->separate && i < s->opt.replicas && !s->execs[i].up)
            s->execs[i].restart_at = s->now;
    }
    sim_trace(s, "faults stop; every replica restarts and every link heals");
}

/* ------------------------------------------------------------ the loop */

static void deliver(struct sim *s, struct frame *f)
{
    if (f->cancelled) {
        free(f);
        return;
    }
    if (f->kind == TO_CLIENT || f->kind == TO_EXECUTOR) {
        if (f->kind == TO_CLIENT)
            sim_client_reply(s, &s->clients[f->to], f->from, f->data, f->len);
        else
            exec_deliver(s, f);
        free(f);
        return;
    }
    struct snode *nd = &s->nodes[f->to];
    if (!nd->up) {
        free(f);
        return;
    }
    if (nd->busy_until > s->now) { /* in a sync: it waits in the socket */
        f->at = nd->busy_until;
        heap_push(s, f);
        return;
    }
    nd->depart_at = s->now;
    int rc;
    if (f->kind == TO_PEER) {
        rc = glue_node_on_peer_frame(nd->n, f->data, f->len);
    } else if (f->kind == TO_STREAM) {
        uint8_t route[2] = {(uint8_t)f->from, f->tag};
        /* Under PBFT the links are authenticated (CURVE over ZeroMQ): the
         * replica knows whose executor sent this. */
        glue_stream_on_frame(nd->n, route, sizeof route,
                             s->pbft ? (int)f->from : -1, f->data, f->len);
        rc = SMR_OK;
    } else {
        uint8_t route = (uint8_t)f->from;
        rc = glue_node_on_client_frame(nd->n, &route, 1, f->data, f->len);
    }
    free(f);
    nd->touched = true;
    if (rc != SMR_OK)
        sim_fail(s, "replica %u failed on a frame: %s", nd->id, smr_strerror(rc));
}

static uint64_t next_time(struct sim *s)
{
    uint64_t t = s->now + FAULT_TICK_MS - s->now % FAULT_TICK_MS;
    if (s->heap_len && s->heap[0]->at < t)
        t = s->heap[0]->at;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        struct snode *nd = &s->nodes[i];
        uint64_t when = nd->up ? (nd->busy_until > s->now
                                      ? nd->busy_until
                                      : s->now + node_next_ms(nd))
                               : nd->restart_at;
        if (when < t)
            t = when;
    }
    for (uint32_t i = 0; s->separate && i < s->opt.replicas; i++) {
        struct sexec *ex = &s->execs[i];
        uint64_t when =
            ex->up ? s->now + (uint64_t)glue_executor_next_timeout_ms(ex->x,
                                                                      1000)
                   : ex->restart_at;
        if (when < t)
            t = when;
    }
    for (uint32_t i = 0; i < s->opt.clients; i++) {
        struct sclient *c = &s->clients[i];
        uint64_t when = c->phase == C_WAITING && c->give_up_at < c->next_at
                            ? c->give_up_at
                            : c->next_at;
        if (c->phase != C_DONE && when < t)
            t = when;
    }
    return t > s->now ? t : s->now;
}

static void step_nodes(struct sim *s)
{
    for (uint32_t i = 0; i < s->n_nodes && !s->res->failed; i++) {
        struct snode *nd = &s->nodes[i];
        if (!nd->up) {
            if (s->now >= nd->restart_at)
                node_up(s, nd);
            continue;
        }
        if (nd->busy_until > s->now)
            continue;
        if (nd->syncing) {
            sto_mem_sync_done(nd->store);
            nd->syncing = false;
        }
        if (nd->touched || glue_node_next_timeout_ms(nd->n, 1) == 0)
            node_burst(s, nd, nd->touched);
        nd->touched = false;
        if (nd->up && nd->n->stream_on)
            glue_stream_pump(nd->n); /* what the executors' credit allows */
    }
}

static bool clients_done(struct sim *s)
{
    for (uint32_t i = 0; i < s->opt.clients; i++)
        if (s->clients[i].phase != C_DONE)
            return false;
    return true;
}

static bool clients_idle(struct sim *s)
{
    for (uint32_t i = 0; i < s->opt.clients; i++)
        if (s->clients[i].phase == C_WAITING)
            return false;
    return true;
}

static void phase_changes(struct sim *s)
{
    if (s->faults_on && s->ops_issued >= s->opt.ops)
        heal(s);
    if (!s->healed_at && s->ops_issued >= s->opt.ops)
        s->healed_at = s->now; /* a calm run: the progress bound starts */
    if (!s->faults_on && !s->final_reads && s->ops_issued >= s->opt.ops &&
        clients_idle(s)) {
        s->final_reads = true; /* read every key: acked writes survived? */
        sim_trace(s, "final reads of every key");
    }
}

/* One trace line a virtual second: each replica's role and progress, and
 * what each client waits for. */
static void trace_status(struct sim *s, uint64_t prev)
{
    if (!s->opt.trace || s->now / 1000 == prev / 1000)
        return;
    char line[512];
    size_t len = 0;
    for (uint32_t i = 0; i < s->opt.replicas && len < sizeof line; i++) {
        struct snode *nd = &s->nodes[i];
        if (!nd->up) {
            len += (size_t)snprintf(line + len, sizeof line - len, " r%u:down",
                                    i);
            continue;
        }
        len += (size_t)snprintf(
            line + len, sizeof line - len, " r%u:%s c%llu e%llu", i,
            ord_core_is_leader(nd->n->core_ops, nd->n->core) ? "L" : "f",
            (unsigned long long)ord_core_commit_upto(nd->n->core_ops,
                                                     nd->n->core),
            (unsigned long long)glue_node_executed(nd->n));
    }
    for (uint32_t i = 0; i < s->opt.clients && len < sizeof line; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, " cl%u:%s%llu",
                                i,
                                s->clients[i].phase == C_WAITING ? "wait#"
                                : s->clients[i].phase == C_DONE  ? "done#"
                                                                 : "idle#",
                                (unsigned long long)s->clients[i].req);
    sim_trace(s, "status%s", line);
}

static void run_loop(struct sim *s)
{
    while (!s->res->failed && !clients_done(s)) {
        uint64_t prev = s->now;
        s->now = next_time(s);
        trace_status(s, prev);
        if (s->now > VIRTUAL_MS_MAX ||
            (s->healed_at &&
             s->now > s->healed_at + (s->pbft ? PBFT_PROGRESS_MS
                                              : PROGRESS_MS))) {
            sim_fail(s, "no progress: the clients did not finish %llu ms after "
                    "the faults stopped",
                 (unsigned long long)(s->now - s->healed_at));
            break;
        }
        while (s->heap_len && s->heap[0]->at <= s->now && !s->res->failed)
            deliver(s, heap_pop(s));
        step_nodes(s);
        step_execs(s);
        for (uint32_t i = 0; i < s->opt.clients; i++)
            sim_client_tick(s, &s->clients[i]);
        if (s->faults_on && s->now % FAULT_TICK_MS == 0)
            fault_tick(s);
        if (s->byz && s->now % FAULT_TICK_MS == 0)
            sim_byz_tick(s); /* Byzantine replicas never stop */
        phase_changes(s);
    }
}

/* --settle: the clients are done and the faults have stopped; after
 * settle_ms more, every correct replica that is up must be at the highest
 * commit point any of them reached. */
static void settle(struct sim *s)
{
    uint64_t end = s->now + s->opt.settle_ms;
    while (!s->res->failed && s->now < end) {
        uint64_t prev = s->now;
        s->now = next_time(s);
        if (s->now > end)
            s->now = end;
        trace_status(s, prev);
        while (s->heap_len && s->heap[0]->at <= s->now && !s->res->failed)
            deliver(s, heap_pop(s));
        step_nodes(s);
        step_execs(s);
        if (s->byz && s->now % FAULT_TICK_MS == 0)
            sim_byz_tick(s);
    }
    smr_seq top = 0;
    for (uint32_t i = 0; i < s->opt.replicas; i++) {
        struct snode *nd = &s->nodes[i];
        if (nd->up && !nd->byz) {
            smr_seq c = ord_core_commit_upto(nd->n->core_ops, nd->n->core);
            top = c > top ? c : top;
        }
    }
    for (uint32_t i = 0; i < s->opt.replicas && !s->res->failed; i++) {
        struct snode *nd = &s->nodes[i];
        smr_seq c = nd->up && !nd->byz ? ord_core_commit_upto(nd->n->core_ops,
                                                              nd->n->core)
                                       : top;
        if (c < top)
            sim_fail(s, "catch-up: replica %u stayed at commit %llu while "
                        "correct replicas reached %llu (%llu ms after the "
                        "clients finished)",
                     i, (unsigned long long)c, (unsigned long long)top,
                     (unsigned long long)s->opt.settle_ms);
    }
}

/* ------------------------------------------------------------ a seed */

void sim_options_defaults(struct sim_options *o)
{
    memset(o, 0, sizeof *o);
    o->replicas = 3;
    o->clients = 4;
    o->ops = 300;
    o->keys = 3;
    o->faults = true;
    o->protocol = SIM_PAXOS;
    o->byzantine = -1;
}

static void draw_faults(struct sim *s)
{
    s->faults_on = s->opt.faults;
    bool stormy = sim_chance(s, 400);
    s->drop_pm = (unsigned)(sim_rnd(s) % (stormy ? 150 : 20));
    s->dup_pm = (unsigned)(sim_rnd(s) % (stormy ? 100 : 10));
    s->crash_pm = (unsigned)(sim_rnd(s) % (stormy ? 20 : 4));
    s->part_pm = (unsigned)(sim_rnd(s) % (stormy ? 20 : 4));
    s->fsync_pm = sim_chance(s, 200) ? (unsigned)(sim_rnd(s) % 3) : 0;
    s->delay_max_ms = 1 + sim_rnd(s) % (stormy ? 60 : 8);
    s->disk_max_ms = 1 + sim_rnd(s) % (sim_chance(s, 300) ? 30 : 3);
    for (uint32_t i = 0; i < s->opt.replicas; i++)
        s->nodes[i].rate_permille =
            s->opt.faults ? 900 + (uint32_t)(sim_rnd(s) % 201) : 1000;
}

static void make_config(struct sim *s)
{
    glue_config_defaults(&s->cfg);
    s->cfg.cluster_id = 77;
    s->cfg.n_replicas = s->opt.replicas;
    s->cfg.storage_engine = GLUE_STORAGE_MEMORY;
    s->cfg.storage_sync = true;
    uint64_t draw = sim_rnd(s);
    s->cfg.checkpoint_interval = 50 + draw % 200;
    if (s->pbft && !s->separate) {
        /* State transfer (pbft.h): snapshot claims are made at the core's
         * checkpoints (every 16 seqs), and short runs must truncate and
         * transfer state often. (From the same draw: the seeds' other
         * draws stay as they were.) */
        s->cfg.checkpoint_interval = 16 * (1 + draw % 4);
        s->cfg.log_retain = (draw >> 8) % 2 ? 0 : (draw >> 16) % 48;
    }
    s->cfg.batch_max = 1 + (uint32_t)(sim_rnd(s) % 16);
    s->cfg.window = 1 + (uint32_t)(sim_rnd(s) % 16);
    if (s->pbft) /* L: a multiple of the core's K = 16, at least 2K */
        s->cfg.window = 16 * (2 + s->cfg.window % 3);
    for (uint32_t i = 0; i < s->opt.replicas; i++) {
        s->cfg.replicas[i].id = i;
        snprintf(s->cfg.replicas[i].peer, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://sim:%u", 1000 + i);
        snprintf(s->cfg.replicas[i].client, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://sim:%u", 2000 + i);
        if (s->separate)
            snprintf(s->cfg.replicas[i].stream, GLUE_ENDPOINT_BYTES_MAX,
                     "tcp://sim:%u", 3000 + i);
    }
}

static void check_history(struct sim *s)
{
    if (s->opt.history)
        fwrite(s->history.data, 1, s->history.len, s->opt.history);
    if (s->res->failed)
        return;
    struct lin_history *h;
    struct lin_report rep;
    struct lin_limits lim;
    char err[256];
    if (lin_history_new(&h) != SMR_OK)
        abort();
    int rc = lin_history_parse_buf(h, (const char *)s->history.data,
                                   s->history.len, err, sizeof err);
    if (rc != SMR_OK) {
        sim_fail(s, "the client history is malformed: %s", err);
    } else if (lin_limits_default(&lim), lim.states_per_key_max = 200000,
               lim.shrink_states_max = 2000000,
               lin_check(h, &lim, &rep) != SMR_OK) {
        sim_fail(s, "the linearizability check ran out of memory");
    } else {
        char op[256] = "";
        if (rep.verdict == LIN_VIOLATION && rep.n_report_ops > 0)
            lin_op_format(&rep.ops[rep.n_report_ops - 1], op, sizeof op);
        if (rep.verdict == LIN_VIOLATION)
            sim_fail(s, "linearizability: key \"%s\" (%zu operations, last: %s)",
                 rep.key, rep.n_report_ops, op);
        else if (rep.verdict == LIN_UNKNOWN)
            s->res->lin_unknown = true;
        lin_report_free(&rep);
    }
    lin_history_destroy(&h);
}

static void teardown(struct sim *s)
{
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        sim_byz_count(s, &s->nodes[i]);
        glue_node_destroy(&s->nodes[i].n);
        sto_close(&s->nodes[i].store);
        glue_executor_destroy(&s->execs[i].x);
        sto_close(&s->execs[i].store);
    }
    for (uint32_t i = 0; i < s->opt.clients; i++) {
        smr_buf_free(&s->clients[i].frame);
        smr_buf_free(&s->clients[i].signed_frame);
        smr_buf_free(&s->clients[i].pbft_op);
    }
    while (s->heap_len)
        free(heap_pop(s));
    free(s->heap);
    free(s->log);
    smr_buf_free(&s->history);
    smr_buf_free(&s->scratch);
    sim_byz_free(s);
}

int sim_run_seed(uint64_t seed, const struct sim_options *o,
                 struct sim_result *result)
{
    if (o->replicas < 1 || o->replicas > NODES_MAX || o->clients < 1 ||
        o->clients > CLIENTS_MAX || o->keys < 1 || o->keys > CLIENTS_MAX)
        return SMR_EINVAL;
    if (o->protocol == SIM_PBFT &&
        ((o->replicas != 4 && o->replicas != 7) ||
         o->byzantine > (int)(o->replicas - 1) / 3))
        return SMR_EINVAL;
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        return SMR_ENOMEM;
    memset(result, 0, sizeof *result);
    s->opt = *o;
    s->res = result;
    s->pbft = o->protocol == SIM_PBFT;
    s->n_nodes = o->replicas;
    s->twin_of = UINT32_MAX;
    s->rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
    /* Drawn apart from the main generator, so that an embedded seed replays
     * exactly as it did before separate executors existed. */
    uint64_t topology = seed ^ 0xD1B54A32D192ED03ULL;
    bool coin = smr_rng_next(&topology) % 2 == 0; /* drawn either way, so
                                                    the replay hint replays */
    s->separate = o->executors == SIM_EXEC_SEPARATE ||
                  (o->executors == SIM_EXEC_MIXED && coin);
    result->separate_executors = s->separate;
    if (o->faults) {
        static const unsigned tear[] = {0, 300, 1000};
        s->tear_pm = tear[smr_rng_next(&topology) % 3];
        /* Rot in one replica of ten seeds, where a majority outlives it. */
        s->rot_pending = o->replicas >= 3 && smr_rng_next(&topology) % 10 == 0;
    }
    /* Each replica's executor: the sequential engine, or the parallel one
     * under a seeded scheduler, so that equal digests at equal sequence
     * numbers also compare the two engines. */
    for (uint32_t i = 0; i < o->replicas; i++) {
        uint64_t draw = smr_rng_next(&topology);
        s->nodes[i].sched_seed = draw % 2 ? draw | 1 : 0;
    }
    draw_faults(s);
    make_config(s);
    if (s->pbft && sim_byz_setup(s, seed) != SMR_OK) {
        teardown(s);
        free(s);
        return SMR_ENOMEM;
    }
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        struct snode *nd = &s->nodes[i];
        nd->sim = s;
        nd->id = nd->twin ? s->twin_of : i;
        if (sto_mem_open(&nd->store) != SMR_OK)
            abort();
        sto_mem_set_tear(nd->store, s->tear_pm);
        sto_mem_set_sync_delay(nd->store, true);
        node_up(s, nd);
        if (s->separate && !nd->twin) { /* executors reach the original */
            struct sexec *ex = &s->execs[i];
            ex->sim = s;
            ex->idx = i;
            if (sto_mem_open(&ex->store) != SMR_OK)
                abort();
            sto_mem_set_tear(ex->store, s->tear_pm);
            exec_up(s, ex);
        }
    }
    for (uint32_t i = 0; i < o->clients; i++) {
        s->clients[i].idx = i;
        s->clients[i].target = (uint32_t)(sim_rnd(s) % o->replicas);
    }
    char engines[NODES_MAX + 1] = "";
    for (uint32_t i = 0; i < o->replicas; i++)
        engines[i] = s->nodes[i].sched_seed ? 'P' : 'S';
    sim_trace(s, "seed %llu: drop %u‰ dup %u‰ crash %u‰ partition %u‰ fsync-error "
             "%u‰ delay ≤%llu ms disk ≤%llu ms torn-tail %u‰%s, executors %s "
             "(engines %s: S sequential, P parallel)",
          (unsigned long long)seed, s->drop_pm, s->dup_pm, s->crash_pm,
          s->part_pm, s->fsync_pm, (unsigned long long)s->delay_max_ms,
          (unsigned long long)s->disk_max_ms, s->tear_pm,
          s->rot_pending ? ", bit rot" : "",
          s->separate ? "separate" : "embedded", engines);
    if (s->pbft)
        sim_trace(s, "pbft: n %u f %u, Byzantine: %s", o->replicas, s->f,
                  result->byz_desc[0] ? result->byz_desc : "none");
    run_loop(s);
    if (s->opt.settle_ms && !s->res->failed)
        settle(s);
    check_history(s);
    result->virtual_ms = s->now;
    teardown(s);
    free(s);
    return SMR_OK;
}
