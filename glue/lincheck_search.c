/*
 * lincheck_search.c: the model and the per-key search of lincheck.h.
 *
 * The search is Lowe's (2017) just-in-time linearization, with the
 * memoization he added to Wing and Gong's (1993) tree search. Walk the
 * key's events in real-time order; an invoked operation joins the open
 * set; at the return of an operation not yet linearized, choose: take it
 * now, or first take another open operation (which then takes effect just
 * before it). Each configuration (event index, model state, set of the
 * linearized operations) is recorded, and one dominated by a recorded one
 * is not searched again. The set is a bitmap whose hash is kept
 * incrementally (a random word per operation, XORed in and out); the
 * memo stores only the part of it that can vary at that event. The open
 * set is a dancing-links list, so undoing a choice is relinking.
 *
 * Three reductions keep histories with much concurrency or many timeouts
 * cheap, each sound on its own:
 *  - an open operation that only observes (a get, a failed cas) and that
 *    the current state satisfies is taken at once, without a choice:
 *    moving it earlier changes no state and breaks no real-time order;
 *  - operations of unknown outcome (info, pending) have no return, so
 *    nothing forces them; they are tried last, only the earliest unused
 *    one of a class with the same effect (the others are its twins), and a
 *    configuration that used a superset of the unknown ones of a recorded
 *    one is dominated by it (an unused one is an option, never a duty);
 *  - P-compositionality: the caller searches one key at a time.
 * A search can also stop at an event (`cut`): operations that complete
 * after it are pending there, which is how the shrink finds the first
 * return the history cannot linearize.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "lincheck_internal.h"

#define NONE UINT32_MAX

/* ------------------------------------------------------------- the model */

/* A definite outcome must be linearized; an unknown one may be. */
static bool is_definite(const struct lin_op *o)
{
    return o->outcome == LIN_OK ||
           (o->kind == LIN_CAS && o->outcome == LIN_FAIL);
}

bool lin_op_relevant(const struct lin_op *o)
{
    if (is_definite(o))
        return true;
    bool unknown = o->outcome == LIN_INFO || o->outcome == LIN_PENDING;
    return unknown && o->kind != LIN_GET;
}

/* True when `o`, wherever the model accepts it, leaves the state as is. */
static bool observes_only(const struct lin_op *o)
{
    switch ((enum lin_kind)o->kind) {
    case LIN_GET:
        return true;
    case LIN_PUT:
        return false;
    case LIN_DEL:
        return o->found == LIN_FOUND_NO;
    case LIN_CAS:
        return o->outcome == LIN_FAIL || o->expect == o->value;
    }
    return false;
}

struct lin_op lin_at_cut(const struct lin_op *o, uint32_t cut)
{
    struct lin_op e = *o;
    if (e.complete_ev != NONE && e.complete_ev > cut) {
        e.outcome = LIN_PENDING;
        e.complete_ev = NONE;
        e.found = LIN_FOUND_ANY;
    }
    return e;
}

bool lin_relevant_at(const struct lin_op *o, uint32_t cut)
{
    struct lin_op e = lin_at_cut(o, cut);
    return o->invoke_ev <= cut && lin_op_relevant(o) && lin_op_relevant(&e);
}

/* Applies `o` to state `s` (a value id, 0 = absent). False when the model
 * cannot produce the recorded outcome from `s`. */
static bool model_step(const struct lin_op *o, uint32_t s, uint32_t *next)
{
    switch ((enum lin_kind)o->kind) {
    case LIN_GET:
        *next = s;
        return s == o->value;
    case LIN_PUT:
        *next = o->value;
        return true;
    case LIN_DEL:
        *next = 0;
        return o->found == LIN_FOUND_ANY ||
               (o->found == LIN_FOUND_YES) == (s != 0);
    case LIN_CAS:
        if (o->outcome == LIN_FAIL) {
            *next = s;
            return s != o->expect;
        }
        *next = o->value;
        return s == o->expect;
    }
    assert(!"unknown op kind");
    return false;
}

/* ---------------------------------------------------------- the memo table */

/* A configuration at event `at` is determined by few facts: every
 * definite op invoked before the earliest one still open at `at` has
 * returned and so is linearized, none invoked after `at` is; what varies
 * is which definite ops of the window [lo, hi) are linearized (a bit
 * slice) and how many unknown-outcome ops of each effect class are (the
 * first ones of the class, by invoke). So an entry costs the window and
 * the classes in use, not the key's whole history. */
struct memo_entry {
    uint64_t hash;
    uint64_t tag;     /* event index << 32 | model state */
    uint32_t slice;   /* offset of its window bits in `words` */
    uint32_t unknown; /* offset of its class counts in `counts` */
    uint32_t n_unknown;
};

struct memo {
    struct memo_entry *e;
    uint32_t n, cap;
    uint64_t *words;
    uint32_t n_words, cap_words;
    uint64_t *counts; /* class << 32 | count, sorted by class */
    uint32_t n_counts, cap_counts;
    uint32_t *slot; /* id + 1; 0 is empty */
    uint32_t n_slots;
};

/* One configuration, as the search hands it over. */
struct memo_key {
    uint64_t hash, tag;
    const uint64_t *slice;
    uint32_t n_slice;        /* words */
    const uint64_t *unknown; /* class << 32 | count, sorted by class */
    uint32_t n_unknown;
};

#define MEMO_SEEN 0
#define MEMO_NEW 1
#define MEMO_FULL 2

static void memo_free(struct memo *m)
{
    free(m->e);
    free(m->words);
    free(m->counts);
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static void memo_reset(struct memo *m)
{
    m->n = m->n_words = m->n_counts = 0;
    if (m->slot)
        memset(m->slot, 0, (size_t)m->n_slots * sizeof *m->slot);
}

static uint64_t memo_bytes(const struct memo *m)
{
    return (uint64_t)m->cap * sizeof *m->e +
           (uint64_t)m->cap_words * sizeof *m->words +
           (uint64_t)m->cap_counts * sizeof *m->counts +
           (uint64_t)m->n_slots * sizeof *m->slot;
}

/* True when the recorded entry is as good as `k`: the same window, and
 * no more unknown ops used in any class (an unused one is an option,
 * never a duty). */
static bool dominates(const struct memo *m, const struct memo_entry *e,
                      const struct memo_key *k)
{
    if (e->hash != k->hash || e->tag != k->tag ||
        memcmp(m->words + e->slice, k->slice, k->n_slice * sizeof *k->slice))
        return false;
    const uint64_t *a = m->counts + e->unknown;
    uint32_t j = 0;
    for (uint32_t i = 0; i < e->n_unknown; i++, j++) {
        while (j < k->n_unknown && k->unknown[j] >> 32 < a[i] >> 32)
            j++;
        if (j == k->n_unknown || k->unknown[j] >> 32 != a[i] >> 32 ||
            (uint32_t)k->unknown[j] < (uint32_t)a[i])
            return false;
    }
    return true;
}

/* The free slot for `k`; *seen when a recorded entry dominates it. The
 * hash covers only definite ops, so every candidate is on this probe
 * sequence. */
static uint32_t memo_probe(const struct memo *m, const struct memo_key *k,
                           bool *seen)
{
    uint32_t mask = m->n_slots - 1;
    uint32_t i = (uint32_t)k->hash & mask;
    *seen = false;
    for (;;) {
        uint32_t id = m->slot[i];
        if (!id--)
            return i;
        if (dominates(m, &m->e[id], k)) {
            *seen = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int memo_rehash(struct memo *m)
{
    uint32_t n = m->n_slots ? m->n_slots * 2 : 4096;
    uint32_t *slot = calloc(n, sizeof *slot);
    if (!slot)
        return SMR_ENOMEM;
    free(m->slot);
    m->slot = slot;
    m->n_slots = n;
    for (uint32_t id = 0; id < m->n; id++) {
        uint32_t i = (uint32_t)m->e[id].hash & (n - 1);
        while (slot[i])
            i = (i + 1) & (n - 1);
        slot[i] = id + 1;
    }
    return SMR_OK;
}

/* Room for `k`: SMR_OK, SMR_ENOMEM, or SMR_ETOOBIG past `bytes_max`. */
static int memo_room(struct memo *m, const struct memo_key *k,
                     uint64_t bytes_max)
{
    uint64_t words = (uint64_t)m->n_words + k->n_slice;
    uint64_t counts = (uint64_t)m->n_counts + k->n_unknown;
    uint32_t cap = m->cap, cap_words = m->cap_words;
    uint32_t cap_counts = m->cap_counts;
    int rc = lin_grow((void **)&m->e, &cap, (uint64_t)m->n + 1, sizeof *m->e);
    if (!rc)
        rc = lin_grow((void **)&m->words, &cap_words, words, sizeof *m->words);
    if (!rc)
        rc = lin_grow((void **)&m->counts, &cap_counts, counts,
                      sizeof *m->counts);
    m->cap = cap, m->cap_words = cap_words, m->cap_counts = cap_counts;
    return rc ? rc : memo_bytes(m) > bytes_max ? SMR_ETOOBIG : SMR_OK;
}

/* MEMO_SEEN, MEMO_NEW (recorded), MEMO_FULL (`max` entries or
 * `bytes_max` bytes reached) or -SMR_ENOMEM. */
static int memo_insert(struct memo *m, const struct memo_key *k, uint64_t max,
                       uint64_t bytes_max)
{
    if ((uint64_t)(m->n + 1) * 2 > m->n_slots && memo_rehash(m))
        return -SMR_ENOMEM;
    bool seen;
    uint32_t i = memo_probe(m, k, &seen);
    if (seen)
        return MEMO_SEEN;
    int rc = m->n >= max ? SMR_ETOOBIG : memo_room(m, k, bytes_max);
    if (rc)
        return rc == SMR_ETOOBIG ? MEMO_FULL : -rc;
    struct memo_entry *e = &m->e[m->n];
    *e = (struct memo_entry){k->hash, k->tag, m->n_words, m->n_counts,
                             k->n_unknown};
    if (k->n_slice)
        memcpy(m->words + m->n_words, k->slice, k->n_slice * sizeof *k->slice);
    if (k->n_unknown)
        memcpy(m->counts + m->n_counts, k->unknown,
               k->n_unknown * sizeof *k->unknown);
    m->n_words += k->n_slice;
    m->n_counts += k->n_unknown;
    m->slot[i] = ++m->n;
    return MEMO_NEW;
}

/* ------------------------------------------------------------- the search */

/* One event of the subset, in real-time order. */
struct event {
    uint32_t local; /* index into the subset */
    bool ret;
};

/* A return whose operation was not linearized yet: a choice point. */
struct frame {
    uint32_t at;     /* the return's event index */
    uint32_t from;   /* where the advance that reached it began */
    uint32_t log;    /* the action log's length at `from` */
    uint32_t state;  /* the model state before the choice */
    uint32_t cursor; /* NONE: the returning op not tried yet; else the last
                      * open op tried (a list head: none of its ops yet) */
    uint32_t chosen; /* the op linearized by this frame now, or NONE */
};

/* Operations of unknown outcome with the same effect (kind, expect,
 * value) are interchangeable once invoked: only the earliest unused one of
 * each class is tried, so the used ones of a class are always a prefix. */
struct effect {
    uint32_t kind, expect, value, local;
};

/* Workspace for searches over subsets of at most `cap` operations. Open
 * operations (invoked, not linearized) sit in two lists in invoke order,
 * definite outcomes (head n) and unknown ones (head n + 1). */
struct lin_search {
    const struct lin_history *h;
    const uint32_t *ops; /* the subset being searched */
    struct lin_op *eff;  /* its ops as the cut sees them */
    uint32_t cap, n, n_ev;
    struct event *ev;
    uint64_t *keys; /* sort scratch: event ordinal << 32 | op << 1 | ret */
    uint32_t *onext, *oprev;
    uint32_t *log; /* advance actions, undone in reverse: op << 1 | absorbed */
    uint32_t n_log;
    uint32_t *lo, *hi; /* per event: the window of the memo key */
    uint8_t *done;     /* scratch while laying out the windows */
    uint64_t *bits;    /* linearized operations (one spare word) */
    uint64_t *def;     /* bit per definite operation (one spare word) */
    uint64_t *slice;   /* the memo key's window bits */
    uint32_t *active;  /* classes with unknown ops linearized (a stack) */
    uint64_t *sorted;  /* class << 32 | count, sorted, for the memo key */
    uint32_t n_active;
    uint64_t *zob;  /* per operation; 0 for unknown outcomes */
    uint32_t *cls;  /* unknown outcome: its effect class */
    uint32_t *rank; /* and its rank in the class by invoke */
    uint32_t *used; /* per class: how many are linearized */
    struct effect *fx;
    struct frame *stack;
    struct memo memo;
    uint64_t zobrist;
    uint64_t states; /* memoized by the last search */
};

static void search_free(struct lin_search *w)
{
    free(w->ev);
    free(w->eff);
    free(w->keys);
    free(w->onext);
    free(w->oprev);
    free(w->log);
    free(w->lo);
    free(w->hi);
    free(w->done);
    free(w->bits);
    free(w->def);
    free(w->slice);
    free(w->active);
    free(w->sorted);
    free(w->zob);
    free(w->cls);
    free(w->rank);
    free(w->used);
    free(w->fx);
    free(w->stack);
    memo_free(&w->memo);
}

static int search_init(struct lin_search *w, const struct lin_history *h,
                       uint32_t cap)
{
    size_t n = (size_t)cap + 2, words = (size_t)cap / 64 + 2;
    w->h = h;
    w->cap = cap;
    w->ev = malloc(2 * n * sizeof *w->ev);
    w->keys = malloc(2 * n * sizeof *w->keys);
    w->eff = malloc(n * sizeof *w->eff);
    w->onext = malloc(n * sizeof *w->onext);
    w->oprev = malloc(n * sizeof *w->oprev);
    w->log = malloc(2 * n * sizeof *w->log);
    w->lo = malloc(2 * n * sizeof *w->lo);
    w->hi = malloc(2 * n * sizeof *w->hi);
    w->done = malloc(n * sizeof *w->done);
    w->bits = malloc(words * sizeof *w->bits);
    w->def = malloc(words * sizeof *w->def);
    w->slice = malloc(words * sizeof *w->slice);
    w->active = malloc(n * sizeof *w->active);
    w->sorted = malloc(n * sizeof *w->sorted);
    w->zob = malloc(n * sizeof *w->zob);
    w->cls = malloc(n * sizeof *w->cls);
    w->rank = malloc(n * sizeof *w->rank);
    w->used = malloc(n * sizeof *w->used);
    w->fx = malloc(n * sizeof *w->fx);
    w->stack = malloc(n * sizeof *w->stack);
    if (!w->ev || !w->eff || !w->keys || !w->onext || !w->oprev || !w->log ||
        !w->lo || !w->hi || !w->done || !w->slice || !w->active || !w->sorted ||
        !w->bits || !w->def || !w->zob || !w->cls || !w->rank || !w->used ||
        !w->fx || !w->stack) {
        search_free(w);
        return SMR_ENOMEM;
    }
    return SMR_OK;
}

static int cmp_effect(const void *a, const void *b)
{
    const struct effect *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->expect != y->expect)
        return x->expect < y->expect ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->local > y->local) - (x->local < y->local);
}

/* Sorts the unknown-outcome operations into effect classes. */
static void build_classes(struct lin_search *w)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        const struct lin_op *o = &w->eff[i];
        if (!is_definite(o))
            w->fx[k++] = (struct effect){o->kind, o->expect, o->value, i};
    }
    qsort(w->fx, k, sizeof *w->fx, cmp_effect);
    uint32_t c = 0;
    for (uint32_t j = 0; j < k; j++) {
        const struct effect *a = &w->fx[j], *b = &w->fx[j ? j - 1 : 0];
        bool same = j && a->kind == b->kind && a->expect == b->expect &&
                    a->value == b->value;
        c += j && !same;
        w->rank[a->local] = same ? w->rank[b->local] + 1 : 0;
        w->cls[a->local] = c;
        w->used[c] = 0;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t p = *(const uint64_t *)a, q = *(const uint64_t *)b;
    return (p > q) - (p < q);
}

static bool bit(const uint64_t *words, uint32_t i)
{
    return (words[i / 64] >> (i % 64)) & 1;
}

/* For each event: hi, the ops invoked before it (ops are numbered in
 * invoke order), and lo, the earliest definite op among them that has not
 * returned yet. Every definite op below lo is linearized there. */
static void build_windows(struct lin_search *w)
{
    uint32_t invoked = 0, lo = 0;
    memset(w->done, 0, w->n * sizeof *w->done);
    for (uint32_t at = 0; at < w->n_ev; at++) {
        while (lo < invoked && (!bit(w->def, lo) || w->done[lo]))
            lo++;
        w->lo[at] = lo, w->hi[at] = invoked;
        if (w->ev[at].ret) {
            w->done[w->ev[at].local] = 1;
        } else {
            assert(w->ev[at].local == invoked);
            invoked++;
        }
    }
}

/* Lays out the events of the subset up to event `cut` in real-time order,
 * the definite mask, the hash words and the classes; empties the open
 * lists and the log. */
static void build(struct lin_search *w, const uint32_t *ops, uint32_t n,
                  uint32_t cut)
{
    assert(n <= w->cap);
    uint64_t *keys = w->keys;
    uint32_t m = 0;
    w->ops = ops, w->n = n, w->n_log = 0, w->zobrist = 0;
    memset(w->def, 0, (n / 64 + 2) * sizeof *w->def);
    memset(w->bits, 0, (n / 64 + 2) * sizeof *w->bits);
    w->n_active = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct lin_op *o = &w->eff[i];
        w->eff[i] = lin_at_cut(&w->h->ops[ops[i]], cut);
        assert(lin_relevant_at(&w->h->ops[ops[i]], cut));
        keys[m++] = (uint64_t)o->invoke_ev << 32 | (uint64_t)i << 1;
        w->zob[i] = 0;
        if (is_definite(o)) {
            keys[m++] = (uint64_t)o->complete_ev << 32 | (uint64_t)i << 1 | 1;
            w->def[i / 64] |= 1ull << (i % 64);
            w->zob[i] = lin_mix64(0x5eed0000ull + i);
        }
    }
    qsort(keys, m, sizeof *keys, cmp_u64);
    for (uint32_t j = 0; j < m; j++) {
        uint64_t k = keys[j];
        w->ev[j] = (struct event){(uint32_t)k >> 1, k & 1};
    }
    w->n_ev = m;
    for (uint32_t head = n; head < n + 2; head++)
        w->onext[head] = w->oprev[head] = head;
    build_classes(w);
    build_windows(w);
}

static void open_append(struct lin_search *w, uint32_t i)
{
    uint32_t head = w->n + !bit(w->def, i), tail = w->oprev[head];
    w->onext[tail] = i, w->oprev[i] = tail;
    w->onext[i] = head, w->oprev[head] = i;
}

/* Dancing links: an unlinked op keeps its neighbours, so relinking in the
 * reverse order of unlinking restores the lists. */
static void open_unlink(struct lin_search *w, uint32_t i)
{
    w->onext[w->oprev[i]] = w->onext[i];
    w->oprev[w->onext[i]] = w->oprev[i];
}

static void open_relink(struct lin_search *w, uint32_t i)
{
    w->onext[w->oprev[i]] = i;
    w->oprev[w->onext[i]] = i;
}

/* Linearizes op i, or undoes that: its bit, the hash, the open list, the
 * count of its effect class. */
static void linearize(struct lin_search *w, uint32_t i, bool undo)
{
    w->bits[i / 64] ^= 1ull << (i % 64);
    w->zobrist ^= w->zob[i];
    if (undo)
        open_relink(w, i);
    else
        open_unlink(w, i);
    if (bit(w->def, i))
        return;
    uint32_t c = w->cls[i];
    if (!undo && !w->used[c]++) /* undone in reverse order: a stack */
        w->active[w->n_active++] = c;
    if (undo && !--w->used[c]) {
        assert(w->n_active && w->active[w->n_active - 1] == c);
        w->n_active--;
    }
}

/* Linearizes, without branching, every open definite op that only
 * observes (wherever the model accepts it, it leaves the state as it is:
 * a get, a failed cas, a del that found nothing) and that the model
 * accepts in `state`. It must be linearized at some point; moving it to
 * now changes no state and no real-time order that any completion needs.
 * (A put of the current value is not such an op: later it would write.) */
static bool absorb(struct lin_search *w, uint32_t state)
{
    bool any = false;
    for (uint32_t c = w->onext[w->n]; c != w->n; c = w->onext[c]) {
        const struct lin_op *o = &w->eff[c];
        uint32_t next;
        if (observes_only(o) && model_step(o, state, &next)) {
            linearize(w, c, false);
            w->log[w->n_log++] = c << 1 | 1;
            any = true;
        }
    }
    return any;
}

/* Moves past invokes (the op joins its open list), returns of ops
 * already linearized and absorbed ops; stops at the first return that
 * forces a choice, or at the end. */
static uint32_t advance(struct lin_search *w, uint32_t at, uint32_t state)
{
    bool invoked = true;
    for (; at < w->n_ev; at++) {
        const struct event *e = &w->ev[at];
        if (!e->ret) {
            open_append(w, e->local);
            w->log[w->n_log++] = e->local << 1;
            invoked = true;
        } else if (!bit(w->bits, e->local)) {
            if (!invoked || !absorb(w, state))
                break;
            invoked = false;
            at--; /* look at this return again */
        }
    }
    return at;
}

/* Undoes the actions logged since `log`, newest first. */
static void unadvance(struct lin_search *w, uint32_t log)
{
    while (w->n_log > log) {
        uint32_t a = w->log[--w->n_log];
        if (a & 1)
            linearize(w, a >> 1, true);
        else
            open_unlink(w, a >> 1);
    }
}

/* The open op after `cursor` in frame order (the definite list, then the
 * unknown one, skipping `forced`), or NONE at the end. */
static uint32_t next_open(const struct lin_search *w, uint32_t cursor,
                          uint32_t forced)
{
    uint32_t c = w->onext[cursor];
    for (;;) {
        if (c == w->n) /* the definite list ends: the unknown one */
            c = w->onext[w->n + 1];
        else if (c == w->n + 1)
            return NONE;
        else if (c == forced)
            c = w->onext[c];
        else
            return c;
    }
}

/* Linearizes the next candidate of frame f: the op whose return forced it,
 * else an open op, taking effect just before. False when none is left. */
static bool choose(struct lin_search *w, struct frame *f, uint32_t *state,
                   uint32_t *at)
{
    uint32_t forced = w->ev[f->at].local;
    for (;;) {
        uint32_t c =
            f->cursor == NONE ? forced : next_open(w, f->cursor, forced);
        if (c == NONE)
            return false;
        f->cursor = c == forced ? w->n : c;
        if (!bit(w->def, c) && w->rank[c] != w->used[w->cls[c]])
            continue; /* an earlier twin stands for it */
        uint32_t next;
        if (!model_step(&w->eff[c], f->state, &next))
            continue;
        linearize(w, c, false);
        f->chosen = c;
        *state = next;
        *at = c == forced ? f->at + 1 : f->at;
        return true;
    }
}

/* Backtracks to the newest frame with a candidate left and takes it.
 * False when the search space is exhausted. */
static bool next_choice(struct lin_search *w, uint32_t *depth, uint32_t *state,
                        uint32_t *at)
{
    while (*depth) {
        struct frame *f = &w->stack[*depth - 1];
        if (f->chosen != NONE)
            linearize(w, f->chosen, true);
        f->chosen = NONE;
        if (choose(w, f, state, at))
            return true;
        unadvance(w, f->log);
        --*depth;
    }
    return false;
}

/* The memo key of the configuration at event `at`: the definite ops of
 * the window [lo, hi) as bits, and the classes of unknown ops in use with
 * their counts, sorted. */
static void memo_key(struct lin_search *w, uint32_t at, uint32_t state,
                     struct memo_key *k)
{
    uint32_t lo = w->lo[at], n_bits = w->hi[at] - lo;
    uint32_t words = (n_bits + 63) / 64, sh = lo % 64;
    const uint64_t *b = w->bits + lo / 64, *d = w->def + lo / 64;
    for (uint32_t j = 0; j < words; j++) {
        uint64_t bits = b[j] & d[j], next = b[j + 1] & d[j + 1];
        w->slice[j] = sh ? bits >> sh | next << (64 - sh) : bits;
    }
    if (n_bits % 64) /* bits past hi are not linearized: zero already */
        assert(!(w->slice[words - 1] >> (n_bits % 64)));
    for (uint32_t j = 0; j < w->n_active; j++)
        w->sorted[j] = (uint64_t)w->active[j] << 32 | w->used[w->active[j]];
    qsort(w->sorted, w->n_active, sizeof *w->sorted, cmp_u64);
    *k = (struct memo_key){
        .hash = w->zobrist ^ lin_mix64((uint64_t)at << 32 | state),
        .tag = (uint64_t)at << 32 | state,
        .slice = w->slice,
        .n_slice = words,
        .unknown = w->sorted,
        .n_unknown = w->n_active,
    };
}

/* Searches the subset `ops` (sorted by invoke) of one key with Lowe's
 * just-in-time linearization: walk the events; an op is linearized only
 * when its return is reached, or just before another whose return is;
 * a configuration (event, state, linearized set) dominated by one seen
 * before is not explored again. Returns the verdict, or -SMR_ENOMEM. */
static int search_run(struct lin_search *w, const uint32_t *ops, uint32_t n,
                      uint32_t cut, uint64_t states_max)
{
    build(w, ops, n, cut);
    uint32_t depth = 0, state = 0, at = 0;
    memo_reset(&w->memo);
    int verdict;
    for (;;) {
        uint32_t from = at, log = w->n_log;
        at = advance(w, at, state);
        if (at == w->n_ev) {
            verdict = LIN_LINEARIZABLE;
            break;
        }
        struct memo_key key;
        memo_key(w, at, state, &key);
        int r = memo_insert(&w->memo, &key, states_max, LIN_MEMO_BYTES_MAX);
        if (r == MEMO_NEW) {
            w->stack[depth++] =
                (struct frame){at, from, log, state, NONE, NONE};
        } else if (r == MEMO_SEEN) {
            unadvance(w, log);
        } else {
            verdict = r == MEMO_FULL ? LIN_UNKNOWN : r;
            break;
        }
        if (!next_choice(w, &depth, &state, &at)) {
            verdict = LIN_VIOLATION;
            break;
        }
    }
    w->states = w->memo.n;
    return verdict;
}

/* ------------------------------------------------------------ the API */

int lin_search_new(const struct lin_history *h, uint32_t cap,
                   struct lin_search **out)
{
    struct lin_search *w = calloc(1, sizeof *w);
    if (!w)
        return SMR_ENOMEM;
    if (search_init(w, h, cap)) {
        free(w);
        return SMR_ENOMEM;
    }
    *out = w;
    return SMR_OK;
}

void lin_search_destroy(struct lin_search **wp)
{
    if (!wp || !*wp)
        return;
    search_free(*wp);
    free(*wp);
    *wp = NULL;
}

int lin_search_run(struct lin_search *w, const uint32_t *ops, uint32_t n,
                   uint32_t cut_ev, uint64_t states_max, uint64_t *states)
{
    int verdict = search_run(w, ops, n, cut_ev, states_max);
    *states = w->states;
    return verdict;
}
