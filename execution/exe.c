/*
 * exe.c: the thin wrappers every engine and app call goes through, and the
 * factories that pick a built-in app or engine by name (exe.h).
 */
#include "exe.h"

#include <assert.h>
#include <string.h>

void exe_app_destroy(struct exe_app **app)
{
    if (!app || !*app)
        return;
    (*app)->ops->destroy(*app);
    *app = NULL;
}

const char *const exe_app_names[] = {"kv", "bank", "work", NULL};

int exe_app_new(const char *name, struct exe_app **out)
{
    assert(name && out);
    if (strcmp(name, "kv") == 0)
        return exe_kv_app_new(out);
    if (strcmp(name, "bank") == 0)
        return exe_bank_app_new(out);
    if (strcmp(name, "work") == 0)
        return exe_work_app_new(out);
    return SMR_ENOTFOUND;
}

int exe_engine_new(const char *name, uint32_t workers, struct exe_app *app,
                   uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                   void *reply_arg, struct exe_engine **out)
{
    assert(name && app && out);
    if (strcmp(name, "sequential") == 0)
        return exe_seq_engine_new(app, session_ttl_ms, reply_fn, reply_arg,
                                  out);
    if (strcmp(name, "parallel") != 0)
        return SMR_ENOTFOUND;
    if (workers < 1 || workers > EXE_PAR_WORKERS_MAX)
        return SMR_EINVAL;
    return exe_par_engine_new(app, workers, session_ttl_ms, reply_fn,
                              reply_arg, out);
}

void exe_engine_destroy(struct exe_engine **e)
{
    if (!e || !*e)
        return;
    (*e)->ops->destroy(*e);
    *e = NULL;
}

int exe_execute(struct exe_engine *e, const struct smr_committed *entry)
{
    assert(e && entry);
    assert(entry->seq == e->accepted_seq + 1);
    return e->ops->execute(e, entry);
}

int exe_execute_deps(struct exe_engine *e, const struct smr_committed *entry,
                     const smr_seq *deps, uint32_t n_deps)
{
    assert(e && entry && (deps || n_deps == 0));
    assert(entry->seq == e->accepted_seq + 1);
    assert(e->ops->version >= 2);
    return e->ops->execute_deps(e, entry, deps, n_deps);
}

int exe_barrier(struct exe_engine *e)
{
    assert(e);
    if (e->ops->version < 2)
        return SMR_OK; /* a version 1 engine finishes inside execute() */
    return e->ops->barrier(e);
}

int exe_drain(struct exe_engine *e)
{
    assert(e);
    if (e->ops->version < 2)
        return SMR_OK;
    return e->ops->drain(e);
}

int exe_snapshot(struct exe_engine *e, struct smr_buf *out)
{
    assert(e && out);
    return e->ops->snapshot(e, out);
}

int exe_restore(struct exe_engine *e, const uint8_t *data, size_t len)
{
    assert(e && (data || len == 0));
    return e->ops->restore(e, data, len);
}

void exe_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES])
{
    assert(e && out);
    e->ops->digest(e, out);
}
