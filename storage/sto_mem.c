/*
 * sto_mem.c: the in-memory store (sto.h) for tests and the deterministic
 * simulator, with fault injection: a failing fsync, and a crash that keeps
 * every synced write and each unsynced one independently by a dice roll.
 *
 * The log is an array of (index, value) sorted by index with a movable head,
 * so the common cases (append at the tail, overwrite or fill a hole near it,
 * drop a prefix) cost a binary search plus O(1) amortised. Protocol state is
 * a small sorted array of keys. Every write not yet synced is recorded in a
 * journal together with what it replaced. A sync forgets the journal; a
 * crash undoes the whole journal, newest first, then redoes, oldest first,
 * the writes that the dice let survive. Undo and redo move values rather
 * than copy them, so a write costs one allocation for its value.
 *
 * Torn writes: every value carries a checksum bound to its index or key and
 * the number of the write that stored it (its place in the log file a real
 * store appends to). A crash may tear the newest write: it is left half
 * written, its checksum wrong, with the value it replaced kept beside it.
 * Reopening (sto_mem_reopen) tells a torn tail from corruption as a WAL
 * replay does: a bad value that is the newest write is a torn tail, dropped
 * (the value before it comes back); a bad value anywhere else is corruption,
 * and the store refuses to open.
 */
#include "sto.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem_val {
    size_t len;
    uint32_t sum;           /* over the index or key, and the bytes */
    uint64_t write_no;      /* this store's write counter when written */
    struct mem_val *shadow; /* torn: the value it replaced (or NULL) */
    uint8_t data[];
};

struct mem_slot {
    uint64_t index;
    struct mem_val *val;
};

struct mem_log {
    struct mem_slot *slots;
    size_t head, end, cap; /* live slots are [head, end) */
    uint64_t bound;        /* indexes below it are truncated */
};

struct mem_key {
    char key[STO_STATE_KEY_BYTES_MAX + 1];
    struct mem_val *val;
};

struct mem_state {
    struct mem_key *keys; /* sorted by strcmp */
    size_t n, cap;
};

/* One record per write that took an LSN, so a crash rolls one die per
 * unsynced write; JREC_NOOP is a truncation at or below the bound. */
enum jrec_op { JREC_LOG_PUT, JREC_STATE_PUT, JREC_TRUNCATE, JREC_NOOP };

/* One unsynced write and what it replaced. */
struct jrec {
    enum jrec_op op;
    bool keep;                /* drawn at crash time */
    uint64_t index;           /* log put: the index; truncate: the new bound */
    uint64_t old_bound;       /* truncate */
    char *key;                /* state put, owned */
    struct mem_val *before;   /* puts: the value replaced, NULL if none */
    struct mem_val *after;    /* puts: the value written, while undone */
    struct mem_slot *removed; /* truncate: the slots it dropped */
    size_t removed_n;
};

struct sto_mem {
    struct sto base; /* first member: a struct sto * points here */
    struct mem_log log;
    struct mem_state state;
    struct jrec *journal;
    size_t journal_n, journal_cap;
    bool fail_next_sync;
    uint64_t writes;        /* write_no of the newest put */
    unsigned tear_permille; /* chance that a crash tears the newest put */
    bool sync_delay;        /* a sync completes at sto_mem_sync_done */
    size_t sync_upto;       /* journal records a sync has in flight */
};

static const struct sto_ops mem_ops;

static struct sto_mem *mem_of(struct sto *s)
{
    assert(s && s->ops == &mem_ops);
    return (struct sto_mem *)s;
}

/* FNV-1a: a checksum for a model of a disk, not a defence. */
static uint32_t fnv1a(uint32_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The checksum of `v`'s bytes stored under `ident` (an index or a key). */
static uint32_t val_sum(const struct mem_val *v, const void *ident,
                        size_t ident_len)
{
    uint32_t h = fnv1a(2166136261u, ident, ident_len);
    h = fnv1a(h, &v->len, sizeof v->len);
    return fnv1a(h, v->data, v->len);
}

static uint32_t index_sum(const struct mem_val *v, uint64_t index)
{
    return val_sum(v, &index, sizeof index);
}

static uint32_t key_sum(const struct mem_val *v, const char *key)
{
    return val_sum(v, key, strlen(key));
}

static struct mem_val *val_new(struct sto_mem *m, const uint8_t *data,
                               size_t len)
{
    struct mem_val *v = malloc(sizeof *v + len);
    if (!v)
        return NULL;
    v->len = len;
    v->write_no = ++m->writes;
    v->shadow = NULL;
    if (len)
        memcpy(v->data, data, len);
    return v;
}

static void val_free(struct mem_val *v)
{
    if (v)
        free(v->shadow);
    free(v);
}

/* Copies into `out`; on failure `out` keeps its contents. */
static int buf_assign(struct smr_buf *out, const uint8_t *data, size_t len)
{
    size_t old_len = out->len;
    out->len = 0;
    int rc = smr_buf_reserve(out, len);
    if (rc != SMR_OK) {
        out->len = old_len;
        return rc;
    }
    if (len)
        memcpy(out->data, data, len);
    out->len = len;
    return SMR_OK;
}

/* ---- the log: a sorted array with a movable head ---- */

/* First live position whose index is >= `index`. */
static size_t log_lower_bound(const struct mem_log *l, uint64_t index)
{
    if (l->end == l->head || l->slots[l->end - 1].index < index)
        return l->end; /* the append fast path */
    size_t lo = l->head, hi = l->end;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->slots[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool log_find(const struct mem_log *l, uint64_t index, size_t *pos)
{
    *pos = log_lower_bound(l, index);
    return *pos < l->end && l->slots[*pos].index == index;
}

static void log_compact(struct mem_log *l)
{
    size_t live = l->end - l->head;
    if (l->head > 0 && live > 0)
        memmove(l->slots, l->slots + l->head, live * sizeof *l->slots);
    l->head = 0;
    l->end = live;
}

/* Grows the array to at least `cap_min` slots, compacting it. */
static int log_grow(struct mem_log *l, size_t cap_min)
{
    if (l->cap >= cap_min)
        return SMR_OK;
    size_t cap = l->cap ? l->cap : 64;
    while (cap < cap_min)
        cap *= 2;
    struct mem_slot *slots = realloc(l->slots, cap * sizeof *slots);
    if (!slots)
        return SMR_ENOMEM;
    l->slots = slots;
    l->cap = cap;
    log_compact(l);
    return SMR_OK;
}

/* Makes room for `extra` slots after `end`. Compacts, without allocating,
 * when that leaves at least half the array free, so each slot is moved
 * O(1) times amortised; otherwise grows. */
static int log_reserve(struct mem_log *l, size_t extra)
{
    if (l->end + extra <= l->cap)
        return SMR_OK;
    size_t live = l->end - l->head;
    if (live + extra <= l->cap / 2) {
        log_compact(l);
        return SMR_OK;
    }
    return log_grow(l, 2 * (live + extra));
}

/* Inserts at `pos` (from log_lower_bound); room must be reserved, and
 * reserving may compact, so `pos` is taken relative to the head. */
static void log_insert(struct mem_log *l, size_t rel, uint64_t index,
                       struct mem_val *val)
{
    size_t pos = l->head + rel;
    assert(l->end < l->cap && pos <= l->end);
    memmove(l->slots + pos + 1, l->slots + pos,
            (l->end - pos) * sizeof *l->slots);
    l->slots[pos] = (struct mem_slot){index, val};
    l->end++;
}

static void log_remove(struct mem_log *l, size_t pos)
{
    assert(pos >= l->head && pos < l->end);
    memmove(l->slots + pos, l->slots + pos + 1,
            (l->end - pos - 1) * sizeof *l->slots);
    l->end--;
}

/* Sets `index` to `val` (owned), returning the value it replaced or NULL.
 * Room for one slot must be reserved. */
static struct mem_val *log_set(struct mem_log *l, uint64_t index,
                               struct mem_val *val)
{
    size_t pos;
    if (log_find(l, index, &pos)) {
        struct mem_val *old = l->slots[pos].val;
        l->slots[pos].val = val;
        return old;
    }
    log_insert(l, pos - l->head, index, val);
    return NULL;
}

/* Puts `removed` back in front of the live slots; they all sort before
 * them and the array has room, because they were taken from it. */
static void log_prepend(struct mem_log *l, const struct mem_slot *removed,
                        size_t n)
{
    if (n == 0)
        return;
    size_t live = l->end - l->head;
    assert(live + n <= l->cap);
    assert(live == 0 || removed[n - 1].index < l->slots[l->head].index);
    if (l->head < n) {
        memmove(l->slots + n, l->slots + l->head, live * sizeof *l->slots);
        l->head = n;
        l->end = n + live;
    }
    l->head -= n;
    memcpy(l->slots + l->head, removed, n * sizeof *removed);
}

static void log_free(struct mem_log *l)
{
    for (size_t i = l->head; i < l->end; i++)
        val_free(l->slots[i].val);
    free(l->slots);
    memset(l, 0, sizeof *l);
}

/* ---- protocol state: a sorted array of keys ---- */

static bool state_find(const struct mem_state *st, const char *key, size_t *pos)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->keys[mid].key, key);
        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

static int state_reserve(struct mem_state *st)
{
    if (st->n < st->cap)
        return SMR_OK;
    size_t cap = st->cap ? st->cap * 2 : 8;
    struct mem_key *keys = realloc(st->keys, cap * sizeof *keys);
    if (!keys)
        return SMR_ENOMEM;
    st->keys = keys;
    st->cap = cap;
    return SMR_OK;
}

/* Like log_set; room for one key must be reserved. */
static struct mem_val *state_set(struct mem_state *st, const char *key,
                                 struct mem_val *val)
{
    size_t pos;
    if (state_find(st, key, &pos)) {
        struct mem_val *old = st->keys[pos].val;
        st->keys[pos].val = val;
        return old;
    }
    assert(st->n < st->cap && strlen(key) <= STO_STATE_KEY_BYTES_MAX);
    memmove(st->keys + pos + 1, st->keys + pos,
            (st->n - pos) * sizeof *st->keys);
    strcpy(st->keys[pos].key, key);
    st->keys[pos].val = val;
    st->n++;
    return NULL;
}

static void state_free(struct mem_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        val_free(st->keys[i].val);
    free(st->keys);
    memset(st, 0, sizeof *st);
}

/* ---- the journal of unsynced writes ---- */

static int journal_reserve(struct sto_mem *m)
{
    if (m->journal_n < m->journal_cap)
        return SMR_OK;
    size_t cap = m->journal_cap ? m->journal_cap * 2 : 64;
    struct jrec *j = realloc(m->journal, cap * sizeof *j);
    if (!j)
        return SMR_ENOMEM;
    m->journal = j;
    m->journal_cap = cap;
    return SMR_OK;
}

/* Appends a record; room must be reserved. */
static struct jrec *journal_push(struct sto_mem *m, enum jrec_op op)
{
    assert(m->journal_n < m->journal_cap);
    struct jrec *j = &m->journal[m->journal_n++];
    memset(j, 0, sizeof *j);
    j->op = op;
    return j;
}

/* Frees what records [0, n) still own and forgets them. After a crash's
 * undo the removed slots are back in the log, so only their arrays are
 * freed. */
static void journal_drop(struct sto_mem *m, size_t n, bool undone)
{
    for (size_t i = 0; i < n; i++) {
        struct jrec *j = &m->journal[i];
        val_free(j->before);
        val_free(j->after);
        free(j->key);
        for (size_t k = 0; !undone && k < j->removed_n; k++)
            val_free(j->removed[k].val);
        free(j->removed);
    }
    if (m->journal_n > n) /* the journal may be NULL when empty */
        memmove(m->journal, m->journal + n,
                (m->journal_n - n) * sizeof *m->journal);
    m->journal_n -= n;
    m->sync_upto = m->sync_upto > n ? m->sync_upto - n : 0;
}

static void journal_clear(struct sto_mem *m, bool undone)
{
    journal_drop(m, m->journal_n, undone);
}

/* ---- ops ---- */

static int mem_log_put(struct sto *s, uint64_t index, const uint8_t *data,
                       size_t len)
{
    struct sto_mem *m = mem_of(s);
    if (index < m->log.bound)
        return SMR_ECOMPACTED;
    if (len > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    int rc = journal_reserve(m);
    if (rc == SMR_OK)
        rc = log_reserve(&m->log, 1);
    if (rc != SMR_OK)
        return rc;
    struct mem_val *val = val_new(m, data, len);
    if (!val)
        return SMR_ENOMEM;
    val->sum = index_sum(val, index);
    struct jrec *j = journal_push(m, JREC_LOG_PUT);
    j->index = index;
    j->before = log_set(&m->log, index, val);
    return SMR_OK;
}

static int mem_log_get(struct sto *s, uint64_t index, struct smr_buf *out)
{
    struct sto_mem *m = mem_of(s);
    if (index < m->log.bound)
        return SMR_ECOMPACTED;
    size_t pos;
    if (!log_find(&m->log, index, &pos))
        return SMR_ENOTFOUND;
    const struct mem_val *v = m->log.slots[pos].val;
    if (v->sum != index_sum(v, index))
        return SMR_ECORRUPT;
    return buf_assign(out, v->data, v->len);
}

static int mem_log_bounds(struct sto *s, uint64_t *first, uint64_t *last)
{
    const struct mem_log *l = &mem_of(s)->log;
    if (l->head == l->end) {
        *first = *last = 0;
        return SMR_OK;
    }
    *first = l->slots[l->head].index;
    *last = l->slots[l->end - 1].index;
    assert(*first >= l->bound && *first <= *last);
    return SMR_OK;
}

/* Drops live slots below `below` and raises the bound; returns how many
 * slots were dropped, starting at the old head. */
static size_t log_cut(struct mem_log *l, uint64_t below)
{
    size_t pos = log_lower_bound(l, below);
    size_t n = pos - l->head;
    l->head = pos;
    if (l->head == l->end)
        l->head = l->end = 0;
    l->bound = below;
    return n;
}

static int mem_log_truncate_prefix(struct sto *s, uint64_t below)
{
    struct sto_mem *m = mem_of(s);
    int rc = journal_reserve(m);
    if (rc != SMR_OK)
        return rc;
    if (below <= m->log.bound) {
        journal_push(m, JREC_NOOP); /* the bound never moves down */
        return SMR_OK;
    }
    size_t n = log_lower_bound(&m->log, below) - m->log.head;
    struct mem_slot *removed = NULL;
    if (n > 0) {
        removed = malloc(n * sizeof *removed);
        if (!removed)
            return SMR_ENOMEM;
        memcpy(removed, m->log.slots + m->log.head, n * sizeof *removed);
    }
    struct jrec *j = journal_push(m, JREC_TRUNCATE);
    j->index = below;
    j->old_bound = m->log.bound;
    j->removed = removed;
    j->removed_n = log_cut(&m->log, below);
    assert(j->removed_n == n);
    return SMR_OK;
}

static int mem_state_put(struct sto *s, const char *key, const uint8_t *data,
                         size_t len)
{
    struct sto_mem *m = mem_of(s);
    assert(strlen(key) <= STO_STATE_KEY_BYTES_MAX);
    if (len > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    int rc = journal_reserve(m);
    if (rc == SMR_OK)
        rc = state_reserve(&m->state);
    if (rc != SMR_OK)
        return rc;
    struct mem_val *val = val_new(m, data, len);
    char *key_copy = strdup(key);
    if (!val || !key_copy) {
        free(val);
        free(key_copy);
        return SMR_ENOMEM;
    }
    val->sum = key_sum(val, key);
    struct jrec *j = journal_push(m, JREC_STATE_PUT);
    j->key = key_copy;
    j->before = state_set(&m->state, key, val);
    return SMR_OK;
}

static int mem_state_get(struct sto *s, const char *key, struct smr_buf *out)
{
    struct sto_mem *m = mem_of(s);
    size_t pos;
    if (!state_find(&m->state, key, &pos))
        return SMR_ENOTFOUND;
    const struct mem_val *v = m->state.keys[pos].val;
    if (v->sum != key_sum(v, key))
        return SMR_ECORRUPT;
    return buf_assign(out, v->data, v->len);
}

static int mem_sync(struct sto *s)
{
    struct sto_mem *m = mem_of(s);
    if (m->fail_next_sync) {
        /* Keep the journal: what reached the disk is for a crash to say. */
        m->fail_next_sync = false;
        return SMR_EFSYNC;
    }
    if (m->sync_delay)
        m->sync_upto = m->journal_n; /* on its way to the disk */
    else
        journal_clear(m, false);
    return SMR_OK;
}

static void mem_destroy(struct sto *s)
{
    struct sto_mem *m = mem_of(s);
    journal_clear(m, false);
    free(m->journal);
    log_free(&m->log);
    state_free(&m->state);
    free(m);
}

static const struct sto_ops mem_ops = {
    .version = STO_OPS_VERSION,
    .name = "mem",
    .durable = false,
    .destroy = mem_destroy,
    .log_put = mem_log_put,
    .log_get = mem_log_get,
    .log_bounds = mem_log_bounds,
    .log_truncate_prefix = mem_log_truncate_prefix,
    .state_put = mem_state_put,
    .state_get = mem_state_get,
    .sync = mem_sync,
};

int sto_mem_open(struct sto **out)
{
    assert(out);
    struct sto_mem *m = calloc(1, sizeof *m);
    if (!m)
        return SMR_ENOMEM;
    m->base.ops = &mem_ops;
    *out = &m->base;
    return SMR_OK;
}

/* ---- fault injection ---- */

void sto_mem_fail_next_sync(struct sto *s)
{
    mem_of(s)->fail_next_sync = true;
}

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Removes the key at `pos` (only a crash undoing its creation does). */
static void state_remove(struct mem_state *st, size_t pos)
{
    assert(pos < st->n);
    memmove(st->keys + pos, st->keys + pos + 1,
            (st->n - pos - 1) * sizeof *st->keys);
    st->n--;
}

static void undo(struct sto_mem *m, struct jrec *j)
{
    size_t pos;
    switch (j->op) {
    case JREC_LOG_PUT: {
        bool found = log_find(&m->log, j->index, &pos);
        assert(found);
        (void)found;
        j->after = m->log.slots[pos].val;
        if (j->before)
            m->log.slots[pos].val = j->before;
        else
            log_remove(&m->log, pos);
        break;
    }
    case JREC_STATE_PUT: {
        bool found = state_find(&m->state, j->key, &pos);
        assert(found);
        (void)found;
        j->after = m->state.keys[pos].val;
        if (j->before)
            m->state.keys[pos].val = j->before;
        else
            state_remove(&m->state, pos);
        break;
    }
    case JREC_TRUNCATE:
        log_prepend(&m->log, j->removed, j->removed_n);
        m->log.bound = j->old_bound;
        break;
    case JREC_NOOP:
        break;
    }
    j->before = NULL; /* back in the store */
}

/* A torn value keeps what it replaced, for the reopen to bring back. */
static void replaced(struct mem_val *now, struct mem_val *old, bool torn)
{
    if (torn)
        now->shadow = old;
    else
        val_free(old);
}

static void redo(struct sto_mem *m, struct jrec *j, bool torn)
{
    switch (j->op) {
    case JREC_LOG_PUT: {
        assert(j->index >= m->log.bound);
        int rc = log_reserve(&m->log, 1); /* compacts: see crash_reserve */
        assert(rc == SMR_OK);
        (void)rc;
        replaced(j->after, log_set(&m->log, j->index, j->after), torn);
        break;
    }
    case JREC_STATE_PUT:
        replaced(j->after, state_set(&m->state, j->key, j->after), torn);
        break;
    case JREC_TRUNCATE: {
        size_t head = m->log.head;
        size_t n = log_lower_bound(&m->log, j->index) - head;
        for (size_t k = 0; k < n; k++)
            val_free(m->log.slots[head + k].val);
        log_cut(&m->log, j->index);
        break;
    }
    case JREC_NOOP:
        break;
    }
    j->after = NULL; /* owned by the store again */
}

/* Undo then redo must not fail halfway. Every index present at any point
 * of either is live now or was dropped by a journalled truncation, so a
 * log of twice that many slots never needs to allocate: log_reserve only
 * compacts it. */
static void crash_reserve(struct sto_mem *m)
{
    size_t need = m->log.end - m->log.head;
    for (size_t i = 0; i < m->journal_n; i++)
        need += m->journal[i].removed_n;
    if (log_grow(&m->log, 2 * (need + 1)) != SMR_OK) {
        fprintf(stderr, "sto_mem_crash: out of memory\n");
        abort();
    }
}

/* Leaves `v` half written: a prefix of its bytes, its checksum wrong. */
static void tear(struct mem_val *v, uint64_t *rng_state)
{
    uint32_t sum = v->sum;
    if (v->len)
        v->len = (size_t)(xorshift64(rng_state) % v->len);
    v->sum = sum;
    /* A prefix could checksum like the whole by chance: make sure. */
    if (v->len == 0 || xorshift64(rng_state) % 2)
        v->sum ^= 0x80000000u;
}

void sto_mem_crash(struct sto *s, uint64_t *rng_state, unsigned keep_permille)
{
    struct sto_mem *m = mem_of(s);
    assert(rng_state && *rng_state != 0 && keep_permille <= 1000);
    assert(m->journal_n >= s->issued_lsn - s->durable_lsn);
    crash_reserve(m);
    /* A crash while a sync is in flight is a power cut during fsync: the
     * caller was still blocked in it, so the writes it issued after that
     * sync (which it saw return) were never issued at all. */
    size_t issued = m->sync_delay && m->sync_upto ? m->sync_upto
                                                  : m->journal_n;
    for (size_t i = 0; i < m->journal_n; i++)
        m->journal[i].keep = xorshift64(rng_state) % 1000 < keep_permille &&
                             i < issued;
    /* The newest put may reach the disk half written, kept or not. */
    size_t torn = m->journal_n;
    if (m->tear_permille && xorshift64(rng_state) % 1000 < m->tear_permille) {
        for (size_t i = issued; i-- > 0 && torn == m->journal_n;)
            if (m->journal[i].op == JREC_LOG_PUT ||
                m->journal[i].op == JREC_STATE_PUT)
                torn = i;
    }
    for (size_t i = m->journal_n; i-- > 0;)
        undo(m, &m->journal[i]);
    for (size_t i = 0; i < m->journal_n; i++) {
        struct jrec *j = &m->journal[i];
        if (i == torn) {
            tear(j->after, rng_state);
            redo(m, j, true);
        } else if (j->keep) {
            redo(m, j, false);
        }
    }
    journal_clear(m, true);
    m->fail_next_sync = false;
    /* As a freshly reopened store. */
    s->poisoned = false;
    s->issued_lsn = 0;
    s->durable_lsn = 0;
    s->syncs = 0;
    s->synced_writes = 0;
}

void sto_mem_set_sync_delay(struct sto *s, bool on)
{
    struct sto_mem *m = mem_of(s);
    if (!on)
        journal_drop(m, m->sync_upto, false);
    m->sync_delay = on;
}

void sto_mem_sync_done(struct sto *s)
{
    struct sto_mem *m = mem_of(s);
    journal_drop(m, m->sync_upto, false);
}

void sto_mem_set_tear(struct sto *s, unsigned tear_permille)
{
    assert(tear_permille <= 1000);
    mem_of(s)->tear_permille = tear_permille;
}

/* The newest write present in the store: a torn value can only be it. */
static uint64_t newest_write(const struct sto_mem *m)
{
    uint64_t newest = 0;
    for (size_t i = m->log.head; i < m->log.end; i++)
        if (m->log.slots[i].val->write_no > newest)
            newest = m->log.slots[i].val->write_no;
    for (size_t i = 0; i < m->state.n; i++)
        if (m->state.keys[i].val->write_no > newest)
            newest = m->state.keys[i].val->write_no;
    return newest;
}

/* Checks one stored value: SMR_OK when sound or a torn tail (then *vp is
 * the value it replaced, NULL for none: the caller removes the entry), and
 * SMR_ECORRUPT for a bad value that is not the newest write. */
static int check_value(struct mem_val **vp, uint32_t sum, uint64_t newest,
                       uint64_t *torn_dropped)
{
    struct mem_val *v = *vp;
    if (v->sum == sum)
        return SMR_OK;
    if (v->write_no != newest)
        return SMR_ECORRUPT;
    *vp = v->shadow;
    v->shadow = NULL;
    val_free(v);
    ++*torn_dropped;
    return SMR_OK;
}

int sto_mem_reopen(struct sto *s, uint64_t *torn_dropped)
{
    struct sto_mem *m = mem_of(s);
    assert(m->journal_n == 0); /* after a crash, before any write */
    uint64_t newest = newest_write(m);
    int rc = SMR_OK;
    for (size_t i = m->log.head; i < m->log.end; i++) {
        struct mem_slot *sl = &m->log.slots[i];
        if (check_value(&sl->val, index_sum(sl->val, sl->index), newest,
                        torn_dropped) != SMR_OK)
            rc = SMR_ECORRUPT;
        else if (!sl->val)
            log_remove(&m->log, i--);
    }
    for (size_t i = 0; i < m->state.n; i++) {
        struct mem_key *k = &m->state.keys[i];
        if (check_value(&k->val, key_sum(k->val, k->key), newest,
                        torn_dropped) != SMR_OK)
            rc = SMR_ECORRUPT;
        else if (!k->val)
            state_remove(&m->state, i--);
    }
    return rc;
}

int sto_mem_corrupt(struct sto *s, uint64_t *rng_state)
{
    struct sto_mem *m = mem_of(s);
    uint64_t newest = newest_write(m);
    size_t n_log = m->log.end - m->log.head, n = n_log + m->state.n;
    if (n < 2)
        return SMR_ENOTFOUND; /* nothing but the newest write */
    struct mem_val *v;
    do {
        size_t pick = (size_t)(xorshift64(rng_state) % n);
        v = pick < n_log ? m->log.slots[m->log.head + pick].val
                         : m->state.keys[pick - n_log].val;
    } while (v->write_no == newest);
    if (v->len)
        v->data[xorshift64(rng_state) % v->len] ^= 0x10;
    else
        v->sum ^= 1;
    return SMR_OK;
}
