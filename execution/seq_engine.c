/*
 * seq_engine.c: the sequential engine (exe.h): applies every command of
 * every committed entry in log order, on the caller's thread.
 *
 * For each entry: expire sessions by the entry's log time, validate the
 * whole batch (a malformed batch is a no-op entry on every replica, so
 * nothing is applied before it is known to parse), then run each request
 * through the step every engine shares (run.h): the session table sends
 * NEW requests through the app and records their reply, answers RETRY
 * requests from the table and drops STALE ones. Snapshot, restore and
 * digest use the engine state framing shared with the other engines
 * (session.h).
 */
#include "exe.h"
#include "run.h"
#include "session.h"

#include <assert.h>
#include <stdlib.h>

struct seq_engine {
    struct exe_engine base; /* first */
    struct exe_sessions *sessions;
    uint64_t session_ttl_ms;
    struct smr_buf reply; /* reused for every applied command */
};

static struct seq_engine *seq_of(struct exe_engine *e)
{
    return (struct seq_engine *)e;
}

static void deliver(struct exe_engine *e, const struct smr_request *r,
                    smr_seq seq, const uint8_t *reply, uint32_t reply_len,
                    bool from_session)
{
    if (e->reply_fn)
        e->reply_fn(e->reply_arg, r->client_id, r->req_id, seq, reply,
                    reply_len, from_session);
}

/* A failure here stops the executor (exe.h): the app or the table is out
 * of resources. */
static int execute_one(struct seq_engine *se, const struct smr_committed *c,
                       const struct smr_request *r)
{
    struct exe_run_result res =
        exe_run_request(se->base.app, se->sessions, NULL, r, c->seq,
                        se->base.log_time_ms, NULL, &se->reply);
    if (res.rc)
        return res.rc;
    switch (res.verdict) {
    case EXE_SESSION_NEW:
        se->base.commands_applied++;
        break;
    case EXE_SESSION_RETRY:
    case EXE_SESSION_STALE:
        se->base.commands_deduplicated++;
        break;
    }
    if (res.verdict != EXE_SESSION_STALE)
        deliver(&se->base, r, c->seq, se->reply.data, (uint32_t)se->reply.len,
                res.verdict == EXE_SESSION_RETRY);
    return SMR_OK;
}

/* On a resource failure mid-batch the entry is partly applied and
 * executed_seq stays behind it: the engine must be rebuilt from a snapshot
 * (the executor stops anyway, exe.h). */
static int seq_execute(struct exe_engine *e, const struct smr_committed *c)
{
    struct seq_engine *se = seq_of(e);
    struct smr_batch_iter it;
    struct smr_request r;
    int rc;
    assert(c->batch || c->batch_len == 0);
    e->log_time_ms = exe_log_clock(e->log_time_ms, c->leader_time_ms);
    exe_sessions_expire(se->sessions, e->log_time_ms);
    if (c->batch_len == 0) { /* the no-op entry */
        e->executed_seq = e->accepted_seq = c->seq;
        return SMR_OK;
    }
    if (smr_batch_validate(c->batch, c->batch_len) != SMR_OK) {
        e->executed_seq = e->accepted_seq = c->seq;
        return SMR_EMALFORMED;
    }
    rc = smr_batch_iter_init(&it, c->batch, c->batch_len);
    assert(rc == SMR_OK); /* validated above */
    while ((rc = smr_batch_next(&it, &r)) == SMR_OK) {
        rc = execute_one(se, c, &r);
        if (rc)
            return rc;
    }
    assert(rc == SMR_ENOTFOUND);
    e->executed_seq = e->accepted_seq = c->seq;
    return SMR_OK;
}

/* A partial order must be linearized before it reaches this engine: it
 * applies in sequence order and knows nothing of dependencies. */
static int seq_execute_deps(struct exe_engine *e, const struct smr_committed *c,
                            const smr_seq *deps, uint32_t n_deps)
{
    (void)deps;
    if (n_deps > 0)
        return SMR_EINVAL;
    return seq_execute(e, c);
}

/* Every command has finished when execute() returns. */
static int seq_barrier(struct exe_engine *e)
{
    (void)e;
    return SMR_OK;
}

/* Appends to `out`; on failure `out` keeps its length. */
static int seq_snapshot(struct exe_engine *e, struct smr_buf *out)
{
    return exe_state_snapshot(e->app, seq_of(e)->sessions, e->executed_seq,
                              e->log_time_ms, out);
}

static int seq_restore(struct exe_engine *e, const uint8_t *data, size_t len)
{
    struct seq_engine *se = seq_of(e);
    struct exe_sessions *sessions;
    smr_seq seq;
    uint64_t clock;
    int rc = exe_state_restore(e->app, se->session_ttl_ms, data, len, &sessions,
                               &seq, &clock);
    if (rc)
        return rc;
    exe_sessions_destroy(&se->sessions);
    se->sessions = sessions;
    e->executed_seq = e->accepted_seq = seq;
    e->log_time_ms = clock;
    return SMR_OK;
}

static void seq_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_state_digest(e->app, seq_of(e)->sessions, e->executed_seq,
                     e->log_time_ms, out);
}

static void seq_destroy(struct exe_engine *e)
{
    struct seq_engine *se = seq_of(e);
    exe_sessions_destroy(&se->sessions);
    smr_buf_free(&se->reply);
    free(se);
}

static const struct exe_engine_ops seq_ops = {
    .version = EXE_ENGINE_OPS_VERSION,
    .name = "sequential",
    .needs_conflict_keys = false,
    .destroy = seq_destroy,
    .execute = seq_execute,
    .snapshot = seq_snapshot,
    .restore = seq_restore,
    .digest = seq_digest,
    .execute_deps = seq_execute_deps,
    .barrier = seq_barrier,
    .drain = seq_barrier,
};

int exe_seq_engine_new(struct exe_app *app, uint64_t session_ttl_ms,
                       exe_reply_fn reply_fn, void *reply_arg,
                       struct exe_engine **out)
{
    assert(app && app->ops && out);
    if (app->ops->version != EXE_APP_OPS_VERSION)
        return SMR_EVERSION;
    struct seq_engine *se = calloc(1, sizeof *se);
    if (!se)
        return SMR_ENOMEM;
    int rc = exe_sessions_new(session_ttl_ms, &se->sessions);
    if (rc) {
        free(se);
        return rc;
    }
    smr_buf_init(&se->reply);
    se->session_ttl_ms = session_ttl_ms;
    se->base.ops = &seq_ops;
    se->base.app = app;
    se->base.reply_fn = reply_fn;
    se->base.reply_arg = reply_arg;
    *out = &se->base;
    return SMR_OK;
}
