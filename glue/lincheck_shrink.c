/*
 * lincheck_shrink.c: turns a key whose history has no linearization into
 * evidence a person can read: a few of its operations that still have
 * none, anchored where the history stops being linearizable.
 *
 * Approach: delta debugging over the key's operations (drop halves,
 * quarters, ... then single operations until a whole pass drops none),
 * keeping a drop only when what is left is still evidence:
 *  - anchored: `cut` is the first return event at which the key's history
 *    has no linearization (a binary search: a prefix without one only
 *    gets longer without one). Cut there, the rest has no linearization;
 *    cut just before, it has one. So the evidence shows the history's
 *    first violation, not one manufactured elsewhere by the drops.
 *  - explained: every value a kept operation observes (a get's value, a
 *    cas's expectation, what a del found) keeps a writer that may be its
 *    source: invoked before the observer returned, and, when the key has
 *    such writers, not definitely overwritten before the observer was
 *    invoked (by a definite write of something else that began after the
 *    writer ended and ended before the observer began). Otherwise
 *    dropping the recent put a read saw would make it a "stale read" of
 *    an older put, a violation that the history does not have. A read
 *    that is stale in the history keeps the writer of its value that
 *    ended last.
 * Searches go through lincheck_search.c, within a budget of states; when
 * it runs out, the evidence is smaller than the key but not minimal.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "lincheck_internal.h"

#define NONE UINT32_MAX
#define VAL_ABSENT 0 /* value classes: absent, written by a del */
#define VAL_ANY 1    /* any value, written by any put or cas */

struct shrink {
    const struct lin_history *h;
    struct lin_search *w;
    uint32_t *all; /* the key's operations, in invoke order */
    uint32_t n;
    uint32_t cut;
    bool *alive;
    uint32_t *cur, n_cur; /* alive positions */
    uint32_t *sub;        /* search input */
    uint32_t *need;       /* per position: class it observes, or NONE */
    uint32_t *prod;       /* per position: class it writes, or NONE */
    uint32_t *since;      /* per observer: writers ending before are stale */
    uint64_t *seq;        /* writer invokes, observer returns, by time */
    uint32_t n_seq;
    uint64_t *newest;       /* per class in a sweep: latest writer end + 1 */
    uint32_t *vals, n_vals; /* distinct value ids, sorted */
    uint64_t budget;        /* states left */
    bool exhausted;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct lin_op op_at(const struct shrink *s, uint32_t pos)
{
    return lin_at_cut(&s->h->ops[s->all[pos]], s->cut);
}

/* Searches the alive ops (all of them when `every`) cut at `cut`, within
 * the budget. Returns the verdict or -SMR_ENOMEM. */
static int shrink_search(struct shrink *s, bool every, uint32_t cut)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if ((every || s->alive[i]) &&
            lin_relevant_at(&s->h->ops[s->all[i]], cut))
            s->sub[m++] = s->all[i];
    uint64_t states;
    int verdict = lin_search_run(s->w, s->sub, m, cut, s->budget, &states);
    s->budget -= states < s->budget ? states : s->budget;
    s->exhausted |= verdict == LIN_UNKNOWN || !s->budget;
    return verdict;
}

/* The first return event of the key whose prefix has no linearization. */
static int find_cut(struct shrink *s)
{
    uint32_t *ret = s->cur, n_ret = 0; /* scratch */
    for (uint32_t i = 0; i < s->n; i++)
        if (s->h->ops[s->all[i]].complete_ev != NONE)
            ret[n_ret++] = s->h->ops[s->all[i]].complete_ev;
    qsort(ret, n_ret, sizeof *ret, cmp_u32);
    assert(n_ret);               /* a violation needs a definite operation */
    uint32_t lo = 0, hi = n_ret; /* the answer's index is in [lo, hi) */
    while (hi - lo > 1 && !s->exhausted) {
        uint32_t mid = lo + (hi - lo) / 2;
        int v = shrink_search(s, true, ret[mid - 1]);
        if (v < 0)
            return -v;
        if (v == LIN_VIOLATION)
            hi = mid;
        else
            lo = mid;
    }
    s->cut = ret[hi - 1];
    return SMR_OK;
}

static uint32_t val_class(const struct shrink *s, uint32_t id)
{
    if (!id)
        return VAL_ABSENT;
    const uint32_t *p = bsearch(&id, s->vals, s->n_vals, sizeof id, cmp_u32);
    assert(p);
    return 2 + (uint32_t)(p - s->vals);
}

static void classify(struct shrink *s, uint32_t i)
{
    struct lin_op o = op_at(s, i);
    bool ok = o.outcome == LIN_OK;
    s->need[i] = s->prod[i] = NONE;
    if (o.kind == LIN_GET && ok)
        s->need[i] = val_class(s, o.value);
    else if (o.kind == LIN_CAS && o.outcome != LIN_FAIL)
        s->need[i] = val_class(s, o.expect); /* to swap, if unknown */
    else if (o.kind == LIN_DEL && ok && o.found != LIN_FOUND_ANY)
        s->need[i] = o.found == LIN_FOUND_YES ? VAL_ANY : VAL_ABSENT;
    if (o.kind == LIN_PUT || (o.kind == LIN_CAS && o.outcome != LIN_FAIL))
        s->prod[i] = val_class(s, o.value);
    else if (o.kind == LIN_DEL)
        s->prod[i] = VAL_ABSENT;
}

/* The two latest definite writes of different classes, and the latest
 * del: what has overwritten a class by some point. Events are stored + 1
 * (0: none). */
struct latest {
    uint32_t ev[2], cls[2];
    uint32_t del;
};

static void latest_add(struct latest *l, uint32_t ev, uint32_t cls)
{
    if (cls == VAL_ABSENT && ev > l->del)
        l->del = ev;
    if (ev > l->ev[0]) {
        if (cls != l->cls[0])
            l->ev[1] = l->ev[0], l->cls[1] = l->cls[0];
        l->ev[0] = ev, l->cls[0] = cls;
    } else if (cls != l->cls[0] && ev > l->ev[1]) {
        l->ev[1] = ev, l->cls[1] = cls;
    }
}

/* Latest invoke (+ 1) of a write that makes class `c` false. */
static uint32_t latest_against(const struct latest *l, uint32_t c)
{
    if (c == VAL_ANY)
        return l->del;
    return l->cls[0] != c ? l->ev[0] : l->ev[1];
}

/* For each observer: the latest invoke of a definite write against its
 * class that ended before the observer began; a writer of the class that
 * ended before that one began cannot be the source. */
static void compute_since(struct shrink *s)
{
    uint64_t *ends = s->seq; /* scratch: definite writers by their end */
    uint32_t m = 0, next = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        struct lin_op o = op_at(s, i);
        bool definite = o.outcome == LIN_OK;
        if (definite && s->prod[i] != NONE)
            ends[m++] = (uint64_t)o.complete_ev << 32 | i;
    }
    qsort(ends, m, sizeof *ends, cmp_u64);
    struct latest l = {{0, 0}, {NONE, NONE}, 0};
    for (uint32_t i = 0; i < s->n; i++) { /* observers by invoke */
        uint32_t begin = s->h->ops[s->all[i]].invoke_ev;
        for (; next < m && ends[next] >> 32 < begin; next++) {
            uint32_t w = (uint32_t)ends[next];
            latest_add(&l, s->h->ops[s->all[w]].invoke_ev + 1, s->prod[w]);
        }
        uint32_t at = s->need[i] == NONE ? 0 : latest_against(&l, s->need[i]);
        s->since[i] = at ? at - 1 : NONE;
        if (s->need[i] == VAL_ABSENT && !latest_against(&l, VAL_ABSENT))
            s->need[i] = NONE; /* the initial state explains it */
    }
}

/* Writer invokes and observer returns, merged by time. */
static void build_seq(struct shrink *s)
{
    s->n_seq = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        struct lin_op o = op_at(s, i);
        if (s->prod[i] != NONE)
            s->seq[s->n_seq++] = (uint64_t)o.invoke_ev << 32 | i << 1;
        if (s->need[i] != NONE)
            s->seq[s->n_seq++] = (uint64_t)o.complete_ev << 32 | i << 1 | 1;
    }
    qsort(s->seq, s->n_seq, sizeof *s->seq, cmp_u64);
}

/* Whether every alive observer keeps an alive possible source. With
 * `prune` (all alive), sets the rule per observer instead: a writer not
 * overwritten if the key has one; else (a stale read) the writer of the
 * value that ended last; else (a value no one wrote) none. */
static bool sources_kept(struct shrink *s, bool prune)
{
    memset(s->newest, 0, (s->n_vals + 2) * sizeof *s->newest);
    for (uint32_t k = 0; k < s->n_seq; k++) {
        uint32_t i = (uint32_t)s->seq[k] >> 1;
        if (!s->alive[i])
            continue;
        if (!(s->seq[k] & 1)) { /* a writer begins */
            struct lin_op o = op_at(s, i);
            uint64_t end = (uint64_t)o.complete_ev + 1; /* pending: max */
            uint32_t c = s->prod[i];
            s->newest[c] = end > s->newest[c] ? end : s->newest[c];
            if (c != VAL_ABSENT && end > s->newest[VAL_ANY])
                s->newest[VAL_ANY] = end;
            continue;
        }
        uint32_t c = s->need[i];
        if (c == NONE)
            continue;
        bool any = s->newest[c] != 0;
        bool fresh =
            any && (s->since[i] == NONE || s->newest[c] - 1 >= s->since[i]);
        if (!prune && !fresh)
            return false;
        if (prune && !fresh && any) /* stale: its newest writer stays */
            s->since[i] = (uint32_t)(s->newest[c] - 1);
        if (prune && !any) /* a value no one wrote: nothing to keep */
            s->need[i] = NONE;
    }
    return true;
}

/* Keeps the ops relevant at the cut and sets up the source rule. */
static void setup_sources(struct shrink *s)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (lin_relevant_at(&s->h->ops[s->all[i]], s->cut))
            s->all[m++] = s->all[i];
    s->n = s->n_cur = m;
    for (uint32_t i = 0; i < m; i++) {
        const struct lin_op *o = &s->h->ops[s->all[i]];
        s->vals[2 * i] = o->value;
        s->vals[2 * i + 1] = o->expect;
    }
    qsort(s->vals, 2 * (size_t)m, sizeof *s->vals, cmp_u32);
    s->n_vals = 0;
    for (uint32_t i = 0; i < 2 * m; i++)
        if (s->vals[i] && (!s->n_vals || s->vals[s->n_vals - 1] != s->vals[i]))
            s->vals[s->n_vals++] = s->vals[i];
    for (uint32_t i = 0; i < m; i++) {
        s->alive[i] = true;
        s->cur[i] = i;
        classify(s, i);
    }
    compute_since(s);
    build_seq(s);
    sources_kept(s, true);
}

static void shrink_free(struct shrink *s)
{
    free(s->alive);
    free(s->cur);
    free(s->sub);
    free(s->need);
    free(s->prod);
    free(s->since);
    free(s->seq);
    free(s->newest);
    free(s->vals);
}

static int shrink_init(struct shrink *s, struct lin_search *w,
                       const struct lin_history *h, uint32_t *all, uint32_t n,
                       uint64_t budget)
{
    memset(s, 0, sizeof *s);
    s->h = h, s->w = w, s->all = all, s->n = n, s->budget = budget;
    size_t two = 2 * (size_t)n + 2;
    s->alive = malloc(n * sizeof *s->alive);
    s->cur = malloc(two * sizeof *s->cur);
    s->sub = malloc(n * sizeof *s->sub);
    s->need = malloc(n * sizeof *s->need);
    s->prod = malloc(n * sizeof *s->prod);
    s->since = malloc(n * sizeof *s->since);
    s->seq = malloc(two * sizeof *s->seq);
    s->newest = malloc(two * sizeof *s->newest);
    s->vals = malloc(two * sizeof *s->vals);
    if (!s->alive || !s->cur || !s->sub || !s->need || !s->prod || !s->since ||
        !s->seq || !s->newest || !s->vals)
        return SMR_ENOMEM;
    int rc = find_cut(s);
    if (!rc)
        setup_sources(s);
    return rc;
}

/* Whether the alive ops are still evidence (see the top of the file). */
static int still_evidence(struct shrink *s, bool *yes)
{
    *yes = false;
    if (!sources_kept(s, false))
        return SMR_OK;
    int v = shrink_search(s, false, s->cut);
    if (v == LIN_VIOLATION && !s->exhausted) {
        int before = shrink_search(s, false, s->cut - 1);
        if (before < 0)
            return -before;
        *yes = before == LIN_LINEARIZABLE && !s->exhausted;
    }
    return v < 0 ? -v : SMR_OK;
}

/* Drops cur[from, from+len) when the rest is still evidence; *removed. */
static int try_remove(struct shrink *s, uint32_t from, uint32_t len,
                      bool *removed)
{
    for (uint32_t j = from; j < from + len; j++)
        s->alive[s->cur[j]] = false;
    int rc = still_evidence(s, removed);
    if (rc || !*removed) {
        for (uint32_t j = from; j < from + len; j++)
            s->alive[s->cur[j]] = true;
        return rc;
    }
    memmove(s->cur + from, s->cur + from + len,
            (s->n_cur - from - len) * sizeof *s->cur);
    s->n_cur -= len;
    return SMR_OK;
}

/* One pass with chunks of `len`; *changed when anything went. */
static int shrink_pass(struct shrink *s, uint32_t len, bool *changed)
{
    *changed = false;
    for (uint32_t i = 0; i < s->n_cur && !s->exhausted;) {
        uint32_t l = s->n_cur - i < len ? s->n_cur - i : len;
        bool removed;
        int rc = try_remove(s, i, l, &removed);
        if (rc)
            return rc;
        *changed |= removed;
        if (!removed)
            i += l;
    }
    return SMR_OK;
}

int lin_shrink(struct lin_search *w, const struct lin_history *h, uint32_t *ops,
               uint32_t *n, uint64_t budget, bool *minimal, uint32_t *cut_ev)
{
    struct shrink s;
    int rc = shrink_init(&s, w, h, ops, *n, budget);
    for (uint32_t len = s.n / 2; !rc && len > 1 && !s.exhausted; len /= 2) {
        bool changed;
        rc = shrink_pass(&s, len, &changed);
    }
    bool changed = true;
    while (!rc && changed && !s.exhausted)
        rc = shrink_pass(&s, 1, &changed);
    if (!rc) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < s.n; i++)
            if (s.alive[i])
                ops[m++] = ops[i];
        *n = m;
        *minimal = !s.exhausted;
        *cut_ev = s.cut;
    }
    shrink_free(&s);
    return rc;
}
