/*
 * seq_engine.c: the sequential engine (exe.h): applies every command of
 * every committed entry in log order, on the caller's thread.
 *
 * For each entry: expire sessions by the entry's log time, validate the
 * whole batch (a malformed batch is a no-op entry on every replica, so
 * nothing is applied before it is known to parse), then for each request
 * consult the session table (session.h): NEW requests go through the app and
 * their reply is recorded, RETRY requests are answered from the table and
 * STALE ones dropped. Snapshot, restore and digest use the engine state
 * framing shared with the other engines (session.h).
 */
#include "exe.h"
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

/* Applies one NEW request and records its reply. A failure here stops the
 * executor (exe.h): the app or the table is out of resources. */
static int apply_new(struct seq_engine *se, const struct smr_committed *c,
                     const struct smr_request *r)
{
    struct exe_app *app = se->base.app;
    smr_buf_reset(&se->reply);
    int rc = app->ops->apply(app, r->op, r->op_len, c->seq, c->leader_time_ms,
                             &se->reply);
    if (rc)
        return rc;
    if (se->reply.len > EXE_REPLY_BYTES_MAX)
        return SMR_ETOOBIG; /* the app broke its contract */
    rc = exe_sessions_record(se->sessions, r->client_id, r->req_id,
                             c->leader_time_ms, se->reply.data,
                             (uint32_t)se->reply.len);
    if (rc)
        return rc;
    se->base.commands_applied++;
    deliver(&se->base, r, c->seq, se->reply.data, (uint32_t)se->reply.len,
            false);
    return SMR_OK;
}

static int execute_one(struct seq_engine *se, const struct smr_committed *c,
                       const struct smr_request *r)
{
    const uint8_t *reply = NULL;
    uint32_t reply_len = 0;
    switch (exe_sessions_admit(se->sessions, r->client_id, r->req_id,
                               c->leader_time_ms, &reply, &reply_len)) {
    case EXE_SESSION_NEW:
        return apply_new(se, c, r);
    case EXE_SESSION_RETRY:
        se->base.commands_deduplicated++;
        deliver(&se->base, r, c->seq, reply, reply_len, true);
        return SMR_OK;
    case EXE_SESSION_STALE:
        se->base.commands_deduplicated++;
        return SMR_OK;
    }
    assert(!"unreachable");
    return SMR_EINVAL;
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
    exe_sessions_expire(se->sessions, c->leader_time_ms);
    if (c->batch_len == 0) { /* the no-op entry */
        e->executed_seq = c->seq;
        return SMR_OK;
    }
    if (smr_batch_validate(c->batch, c->batch_len) != SMR_OK) {
        e->executed_seq = c->seq;
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
    e->executed_seq = c->seq;
    return SMR_OK;
}

/* Appends to `out`; on failure `out` keeps its length. */
static int seq_snapshot(struct exe_engine *e, struct smr_buf *out)
{
    return exe_state_snapshot(e->app, seq_of(e)->sessions, e->executed_seq,
                              out);
}

static int seq_restore(struct exe_engine *e, const uint8_t *data, size_t len)
{
    struct seq_engine *se = seq_of(e);
    struct exe_sessions *sessions;
    smr_seq seq;
    int rc = exe_state_restore(e->app, se->session_ttl_ms, data, len, &sessions,
                               &seq);
    if (rc)
        return rc;
    exe_sessions_destroy(&se->sessions);
    se->sessions = sessions;
    e->executed_seq = seq;
    return SMR_OK;
}

static void seq_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_state_digest(e->app, seq_of(e)->sessions, e->executed_seq, out);
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
