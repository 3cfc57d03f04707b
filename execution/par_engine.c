/*
 * par_engine.c: the parallel dependency-graph engine (exe.h): commands that
 * do not conflict run at once on worker threads, and the replies, the
 * session table and the state digest come out exactly as the sequential
 * engine's (CBASE, Kotla and Dahlin, DSN '04; the conflict-ordered set of
 * parallel BFT-SMaRt, Escobar et al., Middleware '19).
 *
 * The caller's thread copies each entry, computes each command's key sets
 * (outside the lock) and inserts it into the graph (par.h) under one lock;
 * a command with no unfinished conflicting predecessor goes to the ready
 * heap. Workers pop ready commands, oldest first, run them through the step
 * every engine shares (run.h; the session table has its own lock, the app's
 * state its own, see store.h), then, under the graph lock, release their
 * successors and take the next ready command themselves; an idle worker is
 * woken only for ready work nobody is coming for that is worth a wake-up
 * (wake_worth_ns, judged by a moving average of run times), and a caller
 * that waits runs ready commands itself, so a burst of small commands costs
 * no thread switch at all. Finished commands go to a done list that the
 * caller's thread drains: it delivers their replies and retires complete
 * entries in sequence order, which is what moves executed_seq (a prefix:
 * every command up to it finished).
 *
 * Why the results equal the sequential engine's: two commands that touch a
 * common key (the session key included) run in log order, so each command
 * sees exactly the state and session it would see sequentially. Session
 * expiry is the exception, since it touches every session: before each
 * entry the engine bounds from below the last-seen time any session can
 * have at that point of the sequential run (the oldest session now, and the
 * oldest entry still in flight, whose commands set last-seen to its time);
 * when that bound proves expiry a no-op, nothing waits; otherwise the
 * engine drains (a barrier) and expires exactly as the sequential engine.
 * Snapshot and digest are taken at a barrier, where every accepted command
 * has finished and none after it has started.
 */
#include "par.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


struct par_engine;

struct pe_worker {
    struct par_engine *pe;
    pthread_t thread;
    pthread_cond_t cv;
    bool signaled; /* woken on purpose, not yet back at work */
};

struct par_engine {
    struct exe_engine base; /* first */
    uint64_t session_ttl_ms;
    uint32_t inflight_max;
    uint32_t n_workers; /* 0: the seeded scheduler */
    uint64_t rng;

    pthread_mutex_t sessions_lock;
    struct exe_sessions *sessions;

    /* Under `lock`. */
    pthread_mutex_t lock;
    struct pe_graph g;
    struct pe_worker **idle; /* workers asleep and not yet signaled */
    uint32_t n_idle;
    uint32_t n_waking; /* signaled, not yet back at the ready ring */
    uint64_t avg_run_ns; /* moving average of a command's run time */
    /* A worker is woken only for at least this much ready work: waking a
     * thread and switching to it costs microseconds, more than a small
     * command, and on a small machine the threads of other processes (the
     * ordering replicas) want the cores too. Scheduling only: results
     * never depend on it. */
    uint64_t wake_worth_ns;
    pthread_cond_t caller_cv;
    bool caller_waiting;
    uint32_t caller_want; /* wake the caller at this many done */
    struct pe_cmd *done_head, *done_tail;
    uint32_t n_done;
    uint32_t unfinished; /* inserted, not finished */
    int failed;          /* the first resource failure */
    bool stop;

    /* The caller's thread only. */
    struct pe_worker *workers;
    uint32_t n_started;
    struct pe_cmd *free_cmds;
    uint32_t inflight; /* command objects not in free_cmds */
    struct pe_entry **ring; /* entries executed_seq+1 .. accepted_seq */
    uint32_t ring_mask;
};

static struct par_engine *pe_of(struct exe_engine *e)
{
    return (struct par_engine *)e;
}

/* ---- entries ---------------------------------------------------------- */

static void entry_free(struct pe_entry *e)
{
    free(e->batch);
    free(e->cmds);
    free(e->waiters);
    free(e);
}

/* Under the lock: `e` lost one pending item. At zero it is complete, and
 * so, in turn, is every entry that waited only for it. */
static void entry_settle(struct par_engine *pe, struct pe_entry *e)
{
    assert(e->pending > 0);
    if (--e->pending > 0)
        return;
    struct pe_entry *work = e;
    e->next_done = NULL;
    while (work) { /* bounded: each entry completes once */
        struct pe_entry *x = work;
        work = x->next_done;
        x->complete = true;
        for (uint32_t i = 0; i < x->n_waiters; i++) {
            struct pe_entry *w = x->waiters[i];
            w->dep_wait--;
            for (uint32_t k = 0; k < w->n_inserted; k++) {
                /* unfinished: it counted this dependency */
                assert(w->cmds[k]->entry == w);
                pe_graph_release(&pe->g, w->cmds[k]);
            }
            if (--w->pending == 0) {
                w->next_done = work;
                work = w;
            }
        }
        x->n_waiters = 0;
    }
}

/* Under the lock: registers `e` with each unfinished dependency. On
 * SMR_ENOMEM every registration is undone. */
static int entry_wait_deps(struct par_engine *pe, struct pe_entry *e,
                           const smr_seq *deps, uint32_t n_deps)
{
    uint32_t i;
    for (i = 0; i < n_deps; i++) {
        if (deps[i] <= pe->base.executed_seq)
            continue; /* retired, so complete */
        struct pe_entry *d = pe->ring[deps[i] & pe->ring_mask];
        assert(d && d->seq == deps[i]);
        if (d->complete ||
            (d->n_waiters > 0 && d->waiters[d->n_waiters - 1] == e))
            continue; /* done, or listed twice */
        if (d->n_waiters == d->cap_waiters) {
            uint32_t cap = d->cap_waiters ? 2 * d->cap_waiters : 4;
            struct pe_entry **w = realloc(d->waiters, cap * sizeof *w);
            if (!w)
                break;
            d->waiters = w;
            d->cap_waiters = cap;
        }
        d->waiters[d->n_waiters++] = e;
        e->dep_wait++;
    }
    if (i == n_deps)
        return SMR_OK;
    while (i-- > 0) { /* undo: e is the last waiter of each it joined */
        struct pe_entry *d = deps[i] <= pe->base.executed_seq
                                 ? NULL
                                 : pe->ring[deps[i] & pe->ring_mask];
        if (d && d->n_waiters > 0 && d->waiters[d->n_waiters - 1] == e) {
            d->n_waiters--;
            e->dep_wait--;
        }
    }
    return SMR_ENOMEM;
}

/* ---- running commands ------------------------------------------------- */

/* Under the lock: wakes idle workers for the ready commands nobody is
 * coming for yet, keeping `taken` of them for the calling thread; each
 * woken worker counts for wake_worth_ns of them (at least one). */
static void wake_workers(struct par_engine *pe, uint32_t taken)
{
    uint64_t avg = pe->avg_run_ns ? pe->avg_run_ns : 1;
    uint64_t per = pe->wake_worth_ns / avg ? pe->wake_worth_ns / avg : 1;
    uint64_t claimed = pe->n_waking * per + taken;
    while (pe->n_idle > 0 && pe->g.ready_len >= claimed + per) {
        struct pe_worker *w = pe->idle[--pe->n_idle];
        w->signaled = true;
        pe->n_waking++;
        claimed += per;
        pthread_cond_signal(&w->cv);
    }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_cmd(struct par_engine *pe, struct pe_cmd *c, bool skip)
{
    if (skip) { /* the engine failed: drain without touching state */
        c->res.verdict = EXE_SESSION_STALE;
        c->res.rc = SMR_OK;
        c->run_ns = 0;
        return;
    }
    uint64_t t0 = mono_ns();
    c->res = exe_run_request(pe->base.app, pe->sessions, &pe->sessions_lock,
                             &c->req, c->seq, c->time_ms, &c->keys, &c->reply);
    c->run_ns = mono_ns() - t0;
}

/* Under the lock: `c` has run. Releases what waited for it, queues it for
 * delivery and wakes the caller if it waits for this. */
static void finish_cmd(struct par_engine *pe, struct pe_cmd *c)
{
    int64_t delta = (int64_t)c->run_ns - (int64_t)pe->avg_run_ns;
    pe->avg_run_ns = (uint64_t)((int64_t)pe->avg_run_ns + delta / 8);
    pe_graph_finish(&pe->g, c);
    entry_settle(pe, c->entry);
    c->entry = NULL;
    if (c->res.rc && !pe->failed)
        pe->failed = c->res.rc;
    pe->unfinished--;
    c->next = NULL;
    if (pe->done_tail)
        pe->done_tail->next = c;
    else
        pe->done_head = c;
    pe->done_tail = c;
    pe->n_done++;
    if (pe->caller_waiting &&
        (pe->n_done >= pe->caller_want || pe->unfinished == 0)) {
        pe->caller_waiting = false;
        pthread_cond_signal(&pe->caller_cv);
    }
}

/* Under the lock: runs one ready command on this thread (the seeded
 * scheduler's step); false when none is ready. */
static bool run_one_here(struct par_engine *pe)
{
    if (pe->g.ready_len == 0)
        return false;
    uint32_t pick = pe->n_workers == 0
                        ? (uint32_t)(smr_rng_next(&pe->rng) % pe->g.ready_len)
                        : 0;
    struct pe_cmd *c = pe_ready_pop(&pe->g, pick);
    bool skip = pe->failed != 0;
    pthread_mutex_unlock(&pe->lock);
    run_cmd(pe, c, skip);
    pthread_mutex_lock(&pe->lock);
    finish_cmd(pe, c);
    if (pe->n_workers > 0)
        wake_workers(pe, 1); /* this thread goes on too */
    return true;
}

static void *worker_main(void *arg)
{
    struct pe_worker *w = arg;
    struct par_engine *pe = w->pe;
    pthread_mutex_lock(&pe->lock);
    for (;;) {
        struct pe_cmd *c = pe_ready_pop(&pe->g, 0);
        if (!c) {
            if (pe->stop)
                break;
            w->signaled = false;
            pe->idle[pe->n_idle++] = w;
            while (!w->signaled)
                pthread_cond_wait(&w->cv, &pe->lock);
            pe->n_waking--;
            continue;
        }
        bool skip = pe->failed != 0;
        pthread_mutex_unlock(&pe->lock);
        run_cmd(pe, c, skip);
        pthread_mutex_lock(&pe->lock);
        finish_cmd(pe, c);
        wake_workers(pe, 1); /* this worker takes the next one itself */
    }
    pthread_mutex_unlock(&pe->lock);
    return NULL;
}

/* Under the lock: until `want` commands wait for delivery or none is
 * unfinished. The caller's thread runs ready commands itself meanwhile
 * (with the seeded scheduler, it is the only one that does: one command is
 * always ready while any is unfinished, since the graph only points
 * backwards); with threads it sleeps only when nothing is ready, until a
 * worker says so. Helping spares a burst of small commands the wake-up of
 * a worker and of the caller. */
static void wait_done(struct par_engine *pe, uint32_t want)
{
    while (pe->n_done < want && pe->unfinished > 0) {
        if (run_one_here(pe))
            continue;
        if (pe->n_workers == 0)
            break; /* cannot happen (see above) */
        pe->caller_waiting = true;
        pe->caller_want = want;
        pthread_cond_wait(&pe->caller_cv, &pe->lock);
    }
    pe->caller_waiting = false;
}

/* ---- delivery (the caller's thread) ----------------------------------- */

/* Under the lock: retires complete entries in order, moving executed_seq. */
static void retire(struct par_engine *pe)
{
    struct exe_engine *e = &pe->base;
    while (e->executed_seq < e->accepted_seq) {
        struct pe_entry **slot = &pe->ring[(e->executed_seq + 1) & pe->ring_mask];
        if (!*slot || !(*slot)->complete)
            break;
        entry_free(*slot);
        *slot = NULL;
        e->executed_seq++;
    }
}

static void recycle(struct par_engine *pe, struct pe_cmd *c)
{
    c->next = pe->free_cmds;
    pe->free_cmds = c;
    pe->inflight--;
}

static void deliver(struct par_engine *pe, struct pe_cmd *list)
{
    struct exe_engine *e = &pe->base;
    while (list) {
        struct pe_cmd *c = list;
        list = c->next;
        enum exe_session_verdict v = c->res.verdict;
        if (v == EXE_SESSION_NEW)
            e->commands_applied++;
        else
            e->commands_deduplicated++;
        if (v != EXE_SESSION_STALE && e->reply_fn && !c->res.rc)
            e->reply_fn(e->reply_arg, c->req.client_id, c->req.req_id, c->seq,
                        c->reply.data, (uint32_t)c->reply.len,
                        v == EXE_SESSION_RETRY);
        recycle(pe, c);
    }
}

/* Waits for `want` finished commands (0: none), then delivers everything
 * finished and retires complete entries. Returns the first failure. */
static int collect(struct par_engine *pe, uint32_t want)
{
    pthread_mutex_lock(&pe->lock);
    if (want)
        wait_done(pe, want);
    struct pe_cmd *list = pe->done_head;
    pe->done_head = pe->done_tail = NULL;
    pe->n_done = 0;
    retire(pe);
    int rc = pe->failed;
    pthread_mutex_unlock(&pe->lock);
    deliver(pe, list);
    return rc;
}

static int par_barrier(struct exe_engine *e)
{
    struct par_engine *pe = pe_of(e);
    int rc = collect(pe, UINT32_MAX);
    assert(rc || e->executed_seq == e->accepted_seq);
    return rc;
}

/* Also wakes workers for every ready command, worth it or not: a caller
 * that only drains must still see its commands finish. */
static int par_drain(struct exe_engine *e)
{
    struct par_engine *pe = pe_of(e);
    pthread_mutex_lock(&pe->lock);
    while (pe->n_idle > 0 && pe->g.ready_len > pe->n_waking) {
        struct pe_worker *w = pe->idle[--pe->n_idle];
        w->signaled = true;
        pe->n_waking++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&pe->lock);
    return collect(pe, 0);
}

/* ---- execute ---------------------------------------------------------- */

/* A command object, waiting for a quarter of the window to finish when the
 * window is full (back-pressure). SMR_ENOMEM. */
static int get_cmd(struct par_engine *pe, struct pe_cmd **out)
{
    if (!pe->free_cmds && pe->inflight == pe->inflight_max) {
        uint32_t want = pe->inflight_max / 4 ? pe->inflight_max / 4 : 1;
        collect(pe, want);
        /* inflight_max objects are unfinished or done; one at least is
         * done now and back in the free list */
        assert(pe->free_cmds);
    }
    struct pe_cmd *c = pe->free_cmds;
    if (c) {
        pe->free_cmds = c->next;
    } else {
        c = calloc(1, sizeof *c);
        if (!c)
            return SMR_ENOMEM;
        smr_buf_init(&c->reply);
    }
    pe->inflight++;
    *out = c;
    return SMR_OK;
}

/* Session expiry before the entry at `now_ms` (see the top of the file). */
static int expire_sessions(struct par_engine *pe, uint64_t now_ms)
{
    struct exe_engine *e = &pe->base;
    uint64_t low = UINT64_MAX, oldest;
    if (pe->session_ttl_ms == 0)
        return SMR_OK;
    for (smr_seq s = e->executed_seq + 1; s <= e->accepted_seq; s++) {
        const struct pe_entry *x = pe->ring[s & pe->ring_mask];
        if (x && x->time_ms < low)
            low = x->time_ms;
    }
    pthread_mutex_lock(&pe->sessions_lock);
    if (exe_sessions_oldest_ms(pe->sessions, &oldest) && oldest < low)
        low = oldest;
    pthread_mutex_unlock(&pe->sessions_lock);
    if (low == UINT64_MAX || now_ms <= low || now_ms - low <= pe->session_ttl_ms)
        return SMR_OK; /* nothing can expire: no need to wait */
    int rc = par_barrier(e);
    if (rc)
        return rc;
    pthread_mutex_lock(&pe->sessions_lock);
    exe_sessions_expire(pe->sessions, now_ms);
    pthread_mutex_unlock(&pe->sessions_lock);
    return SMR_OK;
}

static bool deps_valid(smr_seq seq, const smr_seq *deps, uint32_t n_deps)
{
    if (n_deps > EXE_DEPS_MAX)
        return false;
    for (uint32_t i = 0; i < n_deps; i++)
        if (deps[i] == 0 || deps[i] >= seq)
            return false;
    return true;
}

/* A copy of the entry, its commands not yet inserted. */
static int entry_new(const struct smr_committed *c, uint64_t time_ms,
                     bool has_batch, struct pe_entry **out)
{
    struct pe_entry *x = calloc(1, sizeof *x);
    if (!x)
        return SMR_ENOMEM;
    x->seq = c->seq;
    x->time_ms = time_ms; /* the log clock */
    x->n_cmds = has_batch ? smr_batch_count(c->batch, c->batch_len) : 0;
    x->batch = has_batch ? malloc(c->batch_len) : NULL;
    x->cmds = x->n_cmds ? calloc(x->n_cmds, sizeof *x->cmds) : NULL;
    if ((has_batch && !x->batch) || (x->n_cmds && !x->cmds)) {
        entry_free(x);
        return SMR_ENOMEM;
    }
    if (has_batch) {
        memcpy(x->batch, c->batch, c->batch_len);
        x->batch_len = c->batch_len;
    }
    x->pending = 1; /* until every command is in the graph */
    *out = x;
    return SMR_OK;
}

static int insert_cmd(struct par_engine *pe, struct pe_entry *x,
                      const struct smr_request *r)
{
    struct pe_cmd *c;
    int rc = get_cmd(pe, &c);
    if (rc)
        return rc;
    c->entry = x;
    c->seq = x->seq;
    c->time_ms = x->time_ms;
    c->req = *r;
    c->n_succ = 0;
    exe_keys_of(pe->base.app, r->op, r->op_len, &c->keys);
    pe_cmd_prepare(&pe->g, c);
    pthread_mutex_lock(&pe->lock);
    rc = pe_graph_insert(&pe->g, c, x->dep_wait);
    if (rc == SMR_OK) {
        x->cmds[x->n_inserted++] = c;
        x->pending++;
        pe->unfinished++;
        wake_workers(pe, 0);
    } else if (!pe->failed) {
        pe->failed = rc;
    }
    pthread_mutex_unlock(&pe->lock);
    if (rc)
        recycle(pe, c);
    return rc;
}

/* Puts the entry in the ring (waiting for room) with its dependencies. */
static int place_entry(struct par_engine *pe, struct pe_entry *x,
                       const smr_seq *deps, uint32_t n_deps)
{
    struct exe_engine *e = &pe->base;
    if (e->accepted_seq - e->executed_seq > pe->ring_mask) {
        int rc = par_barrier(e); /* the ring is full: rare, see exe.h */
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&pe->lock);
    int rc = entry_wait_deps(pe, x, deps, n_deps);
    if (rc == SMR_OK) {
        x->pending += x->dep_wait;
        pe->ring[x->seq & pe->ring_mask] = x;
    }
    pthread_mutex_unlock(&pe->lock);
    return rc;
}

static int insert_batch(struct par_engine *pe, struct pe_entry *x)
{
    struct smr_batch_iter it;
    struct smr_request r;
    int rc = smr_batch_iter_init(&it, x->batch, x->batch_len);
    assert(rc == SMR_OK); /* validated by the caller */
    for (uint32_t i = 0; i < x->n_cmds; i++) {
        rc = smr_batch_next(&it, &r);
        assert(rc == SMR_OK);
        rc = insert_cmd(pe, x, &r);
        if (rc)
            return rc;
    }
    return SMR_OK;
}

/* Seeded scheduler: a random number of ready commands run now. */
static void run_some(struct par_engine *pe)
{
    pthread_mutex_lock(&pe->lock);
    uint32_t n = (uint32_t)(smr_rng_next(&pe->rng) % (pe->g.ready_len + 1));
    for (uint32_t i = 0; i < n && run_one_here(pe); i++)
        ;
    pthread_mutex_unlock(&pe->lock);
}

static int par_execute_deps(struct exe_engine *e, const struct smr_committed *c,
                            const smr_seq *deps, uint32_t n_deps)
{
    struct par_engine *pe = pe_of(e);
    assert(c->batch || c->batch_len == 0);
    int rc = collect(pe, 0);
    /* The log clock moves as entries are taken, in log order, as in the
     * sequential engine; every command of the entry runs at it. */
    e->log_time_ms = exe_log_clock(e->log_time_ms, c->leader_time_ms);
    if (rc == SMR_OK)
        rc = expire_sessions(pe, e->log_time_ms);
    if (rc)
        return rc;
    bool ok = deps_valid(c->seq, deps, n_deps) &&
              (c->batch_len == 0 ||
               smr_batch_validate(c->batch, c->batch_len) == SMR_OK);
    int result = ok ? SMR_OK : SMR_EMALFORMED;
    bool has_batch = ok && c->batch_len > 0;
    if (!ok)
        n_deps = 0; /* a malformed entry is a plain no-op */
    if (!has_batch && n_deps == 0 && e->executed_seq == e->accepted_seq) {
        e->executed_seq = e->accepted_seq = c->seq; /* nothing in flight */
        return result;
    }
    struct pe_entry *x;
    rc = entry_new(c, e->log_time_ms, has_batch, &x);
    if (rc)
        return rc;
    rc = place_entry(pe, x, deps, n_deps);
    if (rc) {
        entry_free(x);
        return rc;
    }
    e->accepted_seq = c->seq;
    rc = insert_batch(pe, x);
    if (rc)
        return rc; /* the entry stays incomplete: restore before reuse */
    pthread_mutex_lock(&pe->lock);
    entry_settle(pe, x); /* may complete it, and release its waiters */
    wake_workers(pe, 0);
    pthread_mutex_unlock(&pe->lock);
    if (pe->n_workers == 0)
        run_some(pe);
    rc = collect(pe, 0);
    return rc ? rc : result;
}

static int par_execute(struct exe_engine *e, const struct smr_committed *c)
{
    return par_execute_deps(e, c, NULL, 0);
}

/* ---- snapshot, restore, digest ---------------------------------------- */

static int par_snapshot(struct exe_engine *e, struct smr_buf *out)
{
    int rc = par_barrier(e);
    if (rc)
        return rc;
    return exe_state_snapshot(e->app, pe_of(e)->sessions, e->executed_seq,
                              e->log_time_ms, out);
}

static void par_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES])
{
    par_barrier(e); /* a failure is reported by the next execute */
    exe_state_digest(e->app, pe_of(e)->sessions, e->executed_seq,
                     e->log_time_ms, out);
}

/* Frees the entries a failure left in the ring. Nothing is unfinished. */
static void drop_ring(struct par_engine *pe)
{
    for (uint32_t i = 0; i <= pe->ring_mask; i++)
        if (pe->ring[i]) {
            entry_free(pe->ring[i]);
            pe->ring[i] = NULL;
        }
}

static int par_restore(struct exe_engine *e, const uint8_t *data, size_t len)
{
    struct par_engine *pe = pe_of(e);
    struct exe_sessions *sessions;
    smr_seq seq;
    uint64_t clock;
    collect(pe, UINT32_MAX);
    int rc = exe_state_restore(e->app, pe->session_ttl_ms, data, len,
                               &sessions, &seq, &clock);
    if (rc)
        return rc;
    drop_ring(pe);
    pthread_mutex_lock(&pe->sessions_lock);
    exe_sessions_destroy(&pe->sessions);
    pe->sessions = sessions;
    pthread_mutex_unlock(&pe->sessions_lock);
    pthread_mutex_lock(&pe->lock);
    pe->failed = SMR_OK;
    pthread_mutex_unlock(&pe->lock);
    e->executed_seq = e->accepted_seq = seq;
    e->log_time_ms = clock;
    return SMR_OK;
}

/* ---- lifecycle -------------------------------------------------------- */

static void free_cmd(struct pe_cmd *c)
{
    smr_buf_free(&c->reply);
    free(c->succ);
    free(c);
}

static void stop_workers(struct par_engine *pe)
{
    pthread_mutex_lock(&pe->lock);
    wait_done(pe, UINT32_MAX);
    pe->stop = true;
    while (pe->n_idle > 0) {
        struct pe_worker *w = pe->idle[--pe->n_idle];
        w->signaled = true;
        pe->n_waking++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&pe->lock);
    for (uint32_t i = 0; i < pe->n_started; i++)
        pthread_join(pe->workers[i].thread, NULL);
}

static void par_destroy(struct exe_engine *e)
{
    struct par_engine *pe = pe_of(e);
    stop_workers(pe);
    for (uint32_t i = 0; i < pe->n_started; i++)
        pthread_cond_destroy(&pe->workers[i].cv);
    struct pe_cmd *lists[2] = {pe->done_head, pe->free_cmds};
    for (int i = 0; i < 2; i++)
        while (lists[i]) {
            struct pe_cmd *c = lists[i];
            lists[i] = c->next;
            free_cmd(c);
        }
    if (pe->ring)
        drop_ring(pe);
    free(pe->ring);
    free(pe->workers);
    free(pe->idle);
    pe_graph_free(&pe->g);
    exe_sessions_destroy(&pe->sessions);
    pthread_cond_destroy(&pe->caller_cv);
    pthread_mutex_destroy(&pe->lock);
    pthread_mutex_destroy(&pe->sessions_lock);
    free(pe);
}

static const struct exe_engine_ops par_ops = {
    .version = EXE_ENGINE_OPS_VERSION,
    .name = "parallel",
    .needs_conflict_keys = true,
    .destroy = par_destroy,
    .execute = par_execute,
    .snapshot = par_snapshot,
    .restore = par_restore,
    .digest = par_digest,
    .execute_deps = par_execute_deps,
    .barrier = par_barrier,
    .drain = par_drain,
};

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static int start_workers(struct par_engine *pe)
{
    pe->workers = calloc(pe->n_workers ? pe->n_workers : 1, sizeof *pe->workers);
    pe->idle = calloc(pe->n_workers ? pe->n_workers : 1, sizeof *pe->idle);
    if (!pe->workers || !pe->idle)
        return SMR_ENOMEM;
    for (uint32_t i = 0; i < pe->n_workers; i++) {
        struct pe_worker *w = &pe->workers[i];
        w->pe = pe;
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_cond_destroy(&w->cv);
            return SMR_ENOMEM;
        }
        pe->n_started++;
    }
    return SMR_OK;
}

static int build(struct par_engine *pe, uint64_t ttl_ms)
{
    uint32_t ring = pow2_at_least(2 * pe->inflight_max);
    pe->ring = calloc(ring, sizeof *pe->ring);
    if (!pe->ring)
        return SMR_ENOMEM;
    pe->ring_mask = ring - 1;
    int rc = pe_graph_init(&pe->g, pe->inflight_max);
    if (rc == SMR_OK)
        rc = exe_sessions_new(ttl_ms, &pe->sessions);
    if (rc == SMR_OK)
        rc = start_workers(pe);
    return rc;
}

int exe_par_engine_new_opts(struct exe_app *app,
                            const struct exe_par_options *opt,
                            uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                            void *reply_arg, struct exe_engine **out)
{
    assert(app && app->ops && opt && out);
    if (app->ops->version != EXE_APP_OPS_VERSION)
        return SMR_EVERSION;
    if (!app->ops->has_conflict_keys || opt->workers > EXE_PAR_WORKERS_MAX ||
        (opt->workers == 0 && opt->sched_seed == 0) ||
        opt->inflight_max > EXE_PAR_INFLIGHT_MAX)
        return SMR_EINVAL;
    struct par_engine *pe = calloc(1, sizeof *pe);
    if (!pe)
        return SMR_ENOMEM;
    pe->base.ops = &par_ops;
    pe->base.app = app;
    pe->base.reply_fn = reply_fn;
    pe->base.reply_arg = reply_arg;
    pe->session_ttl_ms = session_ttl_ms;
    pe->inflight_max = opt->inflight_max ? opt->inflight_max
                                         : EXE_PAR_INFLIGHT_DEFAULT;
    pe->n_workers = opt->workers;
    pe->rng = opt->sched_seed;
    pe->wake_worth_ns = opt->wake_worth_ns ? opt->wake_worth_ns
                                           : EXE_PAR_WAKE_WORTH_NS_DEFAULT;
    pthread_mutex_init(&pe->lock, NULL);
    pthread_mutex_init(&pe->sessions_lock, NULL);
    pthread_cond_init(&pe->caller_cv, NULL);
    int rc = build(pe, session_ttl_ms);
    if (rc) {
        par_destroy(&pe->base);
        return rc;
    }
    *out = &pe->base;
    return SMR_OK;
}

int exe_par_engine_new(struct exe_app *app, uint32_t workers,
                       uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                       void *reply_arg, struct exe_engine **out)
{
    struct exe_par_options opt = {.workers = workers};
    if (workers == 0)
        return SMR_EINVAL;
    return exe_par_engine_new_opts(app, &opt, session_ttl_ms, reply_fn,
                                   reply_arg, out);
}
