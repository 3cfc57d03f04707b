/*
 * sto.c: the one thin wrapper every storage call goes through (sto.h).
 * It asserts preconditions, numbers writes with LSNs, refuses writes to a
 * poisoned store and turns a failed sync into a permanent SMR_EFSYNC.
 */
#include "sto.h"

#include <assert.h>
#include <string.h>

void sto_close(struct sto **s)
{
    if (!s || !*s)
        return;
    (*s)->ops->destroy(*s);
    *s = NULL;
}

static int issue(struct sto *s, int rc, smr_lsn *lsn)
{
    if (rc != SMR_OK)
        return rc;
    s->issued_lsn++;
    if (lsn)
        *lsn = s->issued_lsn;
    return SMR_OK;
}

static bool key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 0 && n <= STO_STATE_KEY_BYTES_MAX;
}

int sto_log_put(struct sto *s, uint64_t index, const uint8_t *data,
                size_t len, smr_lsn *lsn)
{
    assert(s && (data || len == 0));
    if (s->poisoned)
        return SMR_EFSYNC;
    if (index == 0)
        return SMR_EINVAL;
    return issue(s, s->ops->log_put(s, index, data, len), lsn);
}

int sto_log_get(struct sto *s, uint64_t index, struct smr_buf *out)
{
    assert(s && out);
    return s->ops->log_get(s, index, out);
}

int sto_log_bounds(struct sto *s, uint64_t *first, uint64_t *last)
{
    assert(s && first && last);
    return s->ops->log_bounds(s, first, last);
}

int sto_log_truncate_prefix(struct sto *s, uint64_t below, smr_lsn *lsn)
{
    assert(s);
    if (s->poisoned)
        return SMR_EFSYNC;
    return issue(s, s->ops->log_truncate_prefix(s, below), lsn);
}

int sto_state_put(struct sto *s, const char *key, const uint8_t *data,
                  size_t len, smr_lsn *lsn)
{
    assert(s && (data || len == 0));
    if (s->poisoned)
        return SMR_EFSYNC;
    if (!key_ok(key))
        return SMR_EINVAL;
    return issue(s, s->ops->state_put(s, key, data, len), lsn);
}

int sto_state_get(struct sto *s, const char *key, struct smr_buf *out)
{
    assert(s && out);
    if (!key_ok(key))
        return SMR_EINVAL;
    return s->ops->state_get(s, key, out);
}

bool sto_pending(const struct sto *s)
{
    return s->issued_lsn > s->durable_lsn;
}

int sto_sync(struct sto *s)
{
    assert(s);
    if (s->poisoned)
        return SMR_EFSYNC;
    if (!sto_pending(s))
        return SMR_OK;
    int rc = s->ops->sync(s);
    if (rc != SMR_OK) {
        /* Never retry: the kernel may have dropped the dirty pages. */
        s->poisoned = true;
        return SMR_EFSYNC;
    }
    s->syncs++;
    s->synced_writes += s->issued_lsn - s->durable_lsn;
    s->durable_lsn = s->issued_lsn;
    return SMR_OK;
}
