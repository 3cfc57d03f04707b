/*
 * exe.c: the thin wrappers every engine and app call goes through (exe.h).
 */
#include "exe.h"

#include <assert.h>

void exe_app_destroy(struct exe_app **app)
{
    if (!app || !*app)
        return;
    (*app)->ops->destroy(*app);
    *app = NULL;
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
    assert(entry->seq == e->executed_seq + 1);
    return e->ops->execute(e, entry);
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
