/*
 * test_lincheck_random.c: Check suite for glue/lincheck*.c: a randomized
 * self-test against a brute-force checker, and the speed.
 *
 * Small random histories (at most 8 operations, 2-3 clients, 1-2 keys,
 * values from {1,2,3}) are checked both by lin_check() and by a
 * brute-force oracle that tries every order consistent with real time
 * (and every subset of the operations of unknown outcome), over all keys
 * at once, so the per-key split is tested too. Three generators: outcomes
 * drawn at random; outcomes computed from a sequential execution with
 * each operation taking effect at a random point of its interval (always
 * linearizable); and those mutated. Each violation's evidence is checked
 * against the shrink's rules (lincheck_shrink.c), reimplemented here by
 * brute force: the cut is the key's first failing completion, the set is
 * evidence there, and no single operation can be dropped. The seed is
 * printed; LINCHECK_SEED overrides it. Last, the speed on generated
 * linearizable histories of 100k operations (100 keys, 16 clients) and of
 * 10k operations on one key.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lincheck.h"

#define ERR_BYTES 512

/* ---------------------------------------------------- random histories */

#define T_OPS_MAX 8
#define T_EVENTS_MAX (2 * T_OPS_MAX)
#define NEVER 1000000

struct t_op {
    int client, kind, key, expect, value, outcome, found;
    int inv, cmp; /* event positions; cmp NEVER when pending */
};

/* Events name an op; complete or invoke is implied by order. */
struct t_hist {
    struct t_op op[T_OPS_MAX];
    int n_ops;
    int ev[T_EVENTS_MAX];
    int n_ev;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static int rnd(uint64_t *s, int n)
{
    return (int)(rng_next(s) % (uint64_t)n);
}

static void t_positions(struct t_hist *t)
{
    for (int i = 0; i < t->n_ops; i++)
        t->op[i].inv = t->op[i].cmp = NEVER;
    for (int e = 0; e < t->n_ev; e++) {
        struct t_op *o = &t->op[t->ev[e]];
        if (o->inv == NEVER)
            o->inv = e;
        else
            o->cmp = e;
    }
}

static bool t_definite(const struct t_op *o)
{
    return o->outcome == LIN_OK ||
           (o->kind == LIN_CAS && o->outcome == LIN_FAIL);
}

static bool t_relevant(const struct t_op *o)
{
    bool unknown = o->outcome == LIN_INFO || o->outcome == LIN_PENDING;
    return t_definite(o) || (unknown && o->kind != LIN_GET);
}

static bool t_step(const struct t_op *o, int s, int *next)
{
    *next = s;
    switch (o->kind) {
    case LIN_GET:
        return s == o->value;
    case LIN_PUT:
        *next = o->value;
        return true;
    case LIN_DEL: /* only an ok says what it found */
        *next = 0;
        return o->outcome != LIN_OK || !o->found ||
               (o->found == LIN_FOUND_YES) == (s != 0);
    default:
        if (o->outcome == LIN_FAIL)
            return s != o->expect;
        *next = o->value;
        return s == o->expect;
    }
}

/* The oracle: some order of the subset `use` (a bitmask), consistent with
 * real time, in which every definite op appears and the model agrees. */
static bool bf_search(const struct t_hist *t, unsigned use, unsigned placed,
                      int *state)
{
    unsigned todo = 0;
    for (int i = 0; i < t->n_ops; i++)
        if ((use >> i & 1) && !(placed >> i & 1) && t_definite(&t->op[i]))
            todo |= 1u << i;
    if (!todo)
        return true;
    for (int i = 0; i < t->n_ops; i++) {
        const struct t_op *o = &t->op[i];
        if (!(use >> i & 1) || (placed >> i & 1))
            continue;
        bool ready = true;
        for (int j = 0; j < t->n_ops && ready; j++)
            ready = !(todo >> j & 1) || t->op[j].cmp > o->inv;
        int next, old = state[o->key];
        if (!ready || !t_step(o, old, &next))
            continue;
        state[o->key] = next;
        bool found = bf_search(t, use, placed | 1u << i, state);
        state[o->key] = old;
        if (found)
            return true;
    }
    return false;
}

static bool bf_linearizable(const struct t_hist *t, unsigned use)
{
    int state[2] = {0, 0};
    unsigned rel = 0;
    for (int i = 0; i < t->n_ops; i++)
        if (t_relevant(&t->op[i]))
            rel |= 1u << i;
    return bf_search(t, use & rel, 0, state);
}

static void t_value(char *buf, int v)
{
    snprintf(buf, 8, "%d", v);
}

static struct lin_history *t_build(const struct t_hist *t)
{
    static const char *const keys[] = {"a", "b"};
    struct lin_history *h;
    char err[ERR_BYTES], e[8], v[8];
    ck_assert_int_eq(lin_history_new(&h), SMR_OK);
    for (int i = 0; i < t->n_ev; i++) {
        const struct t_op *o = &t->op[t->ev[i]];
        int rc;
        t_value(e, o->expect);
        t_value(v, o->value);
        if (o->inv == i) {
            struct lin_invoke in = {o->client, o->kind, keys[o->key],
                                    e,         v,       (uint64_t)i + 1};
            rc = lin_history_add_invoke(h, &in, err, sizeof err);
        } else {
            int out = o->outcome == LIN_PENDING ? LIN_INFO : o->outcome;
            struct lin_complete c = {o->client, out, o->value ? v : NULL,
                                     o->found, (uint64_t)i + 1};
            rc = lin_history_add_complete(h, &c, err, sizeof err);
        }
        ck_assert_msg(rc == SMR_OK, "%s", err);
    }
    return h;
}

/* Random operation for client c; arguments only. */
static void t_new_op(struct t_hist *t, uint64_t *s, int c, int keys)
{
    struct t_op *o = &t->op[t->n_ops];
    memset(o, 0, sizeof *o);
    o->client = c;
    o->kind = rnd(s, 4);
    o->key = rnd(s, keys);
    o->expect = o->kind == LIN_CAS ? 1 + rnd(s, 3) : 0;
    o->value = o->kind == LIN_PUT || o->kind == LIN_CAS ? 1 + rnd(s, 3) : 0;
    o->outcome = LIN_PENDING;
    t->ev[t->n_ev++] = t->n_ops++;
}

/* Outcome and result drawn at random (get reads anything). */
static void t_complete_random(struct t_hist *t, uint64_t *s, int i)
{
    struct t_op *o = &t->op[i];
    int r = rnd(s, 10);
    o->outcome = r < 6 ? LIN_OK : r < 8 ? LIN_FAIL : LIN_INFO;
    if (o->kind == LIN_GET && o->outcome == LIN_OK)
        o->value = rnd(s, 4);
    if (o->kind == LIN_DEL && o->outcome == LIN_OK)
        o->found = rnd(s, 3);
    t->ev[t->n_ev++] = i;
}

/* Applies op i to the model (its linearization point); the outcome it
 * will report is decided here. */
static void t_apply(struct t_op *o, int *state, uint64_t *s)
{
    int *v = &state[o->key];
    if (o->kind == LIN_GET) {
        o->value = *v;
    } else if (o->kind == LIN_DEL) {
        o->found = rnd(s, 2) ? (*v ? LIN_FOUND_YES : LIN_FOUND_NO) : 0;
        *v = 0;
    } else if (o->kind == LIN_PUT) {
        *v = o->value;
    } else if (*v == o->expect) {
        *v = o->value;
    } else {
        o->outcome = LIN_FAIL;
        return;
    }
    o->outcome = LIN_OK;
}

struct t_client {
    int op;       /* -1 idle */
    bool applied; /* its effect is in the model */
    bool doomed;  /* will end in info without having applied */
};

/* A history from a sequential execution: each op takes effect at one step
 * between its invoke and completion (or, for some, never: fail or info). */
static void t_gen(struct t_hist *t, uint64_t *s, bool model, int clients,
                  int keys, int n_ops)
{
    struct t_client cl[3];
    int state[2] = {0, 0};
    memset(t, 0, sizeof *t);
    for (int c = 0; c < clients; c++)
        cl[c] = (struct t_client){-1, false, false};
    for (int steps = 0; steps < 200 && t->n_ev < T_EVENTS_MAX; steps++) {
        struct t_client *k = &cl[rnd(s, clients)];
        int c = (int)(k - cl);
        if (k->op < 0) {
            if (t->n_ops == n_ops)
                continue;
            k->op = t->n_ops;
            k->applied = false;
            k->doomed = rnd(s, 8) == 0;
            t_new_op(t, s, c, keys);
        } else if (!model) {
            t_complete_random(t, s, k->op);
            k->op = -1;
        } else if (!k->applied && !k->doomed && rnd(s, 8) == 0 &&
                   t->op[k->op].kind != LIN_CAS) {
            t->op[k->op].outcome = LIN_FAIL; /* refused, no effect */
            t->ev[t->n_ev++] = k->op, k->op = -1;
        } else if (!k->applied && !k->doomed) {
            t_apply(&t->op[k->op], state, s);
            k->applied = true;
        } else {
            if (k->doomed || rnd(s, 8) == 0)
                t->op[k->op].outcome = LIN_INFO;
            t->ev[t->n_ev++] = k->op, k->op = -1;
        }
    }
    for (int c = 0; c < clients; c++) /* left pending: applied or not */
        if (cl[c].op >= 0)
            t->op[cl[c].op].outcome = LIN_PENDING;
    t_positions(t);
}

/* One random change: a read value, a cas outcome, a found flag, an
 * outcome, or two adjacent events of different clients swapped. */
static void t_mutate(struct t_hist *t, uint64_t *s)
{
    if (!t->n_ops)
        return;
    struct t_op *o = &t->op[rnd(s, t->n_ops)];
    int what = rnd(s, 5);
    if (what == 0 && o->kind == LIN_GET && o->outcome == LIN_OK)
        o->value = (o->value + 1 + rnd(s, 3)) % 4;
    else if (what == 1 && o->kind == LIN_CAS && o->outcome != LIN_PENDING)
        o->outcome = o->outcome == LIN_OK ? LIN_FAIL : LIN_OK;
    else if (what == 2 && o->kind == LIN_DEL && o->outcome == LIN_OK)
        o->found = rnd(s, 3);
    else if (what == 3 && o->outcome == LIN_INFO)
        o->outcome = LIN_OK, o->value = o->kind == LIN_GET ? 0 : o->value;
    else if (what == 4 && t->n_ev > 1) {
        int e = rnd(s, t->n_ev - 1);
        if (t->op[t->ev[e]].client != t->op[t->ev[e + 1]].client) {
            int x = t->ev[e];
            t->ev[e] = t->ev[e + 1], t->ev[e + 1] = x;
        }
    }
    t_positions(t);
}

/* The history cut at event position `cut`: ops invoked later, and those
 * the whole history shows to be irrelevant (a refused put), are out of
 * the returned mask; ops that complete later are pending. */
static unsigned t_cut(const struct t_hist *t, int cut, struct t_hist *u)
{
    unsigned in = 0;
    *u = *t;
    for (int i = 0; i < u->n_ops; i++) {
        struct t_op *o = &u->op[i];
        if (o->inv > cut || !t_relevant(o))
            continue;
        in |= 1u << i;
        if (o->cmp != NEVER && o->cmp > cut)
            o->outcome = LIN_PENDING, o->cmp = NEVER, o->found = 0;
    }
    return in;
}

#define C_ABSENT 0 /* value classes as in the shrink: 1..3 are values */
#define C_ANY 9

/* The class an op observes, or -1. */
static int t_need(const struct t_op *o)
{
    if (o->kind == LIN_GET && o->outcome == LIN_OK)
        return o->value;
    if (o->kind == LIN_CAS && o->outcome != LIN_FAIL)
        return o->expect;
    if (o->kind == LIN_DEL && o->outcome == LIN_OK && o->found)
        return o->found == LIN_FOUND_YES ? C_ANY : C_ABSENT;
    return -1;
}

/* Whether relevant op w may write class c. */
static bool t_writes(const struct t_op *w, int c)
{
    if (w->kind == LIN_DEL)
        return c == C_ABSENT;
    bool writes = w->kind == LIN_PUT || w->outcome != LIN_FAIL;
    return w->kind != LIN_GET && writes && c != C_ABSENT &&
           (c == C_ANY || c == w->value);
}

/* Whether definite op w makes class c false. */
static bool t_against(const struct t_op *w, int c)
{
    if (w->outcome != LIN_OK || w->kind == LIN_GET)
        return false;
    if (w->kind == LIN_DEL)
        return c != C_ABSENT;
    return c == C_ABSENT || (c != C_ANY && c != w->value);
}

/* The shrink's source rule for observer i of `use`, relative to `all`
 * (both of the cut history u): a writer not overwritten if `all` has one,
 * else the writer of the value that ended last, else nothing. */
static bool t_source_kept(const struct t_hist *u, unsigned all, unsigned use,
                          int i)
{
    const struct t_op *o = &u->op[i];
    int c = t_need(o), since = -1, last = -1;
    bool wrote_before = false, fresh = false;
    if (c < 0)
        return true;
    for (int j = 0; j < u->n_ops; j++) {
        const struct t_op *w = &u->op[j];
        if ((all >> j & 1) && t_definite(w) && w->cmp < o->inv) {
            since = t_against(w, c) && w->inv > since ? w->inv : since;
            wrote_before |= t_against(w, C_ABSENT);
        }
    }
    if (c == C_ABSENT && !wrote_before)
        return true; /* the initial state */
    int end_o = t_definite(o) ? o->cmp : NEVER;
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < u->n_ops; j++) {
            const struct t_op *w = &u->op[j];
            int end = t_definite(w) ? w->cmp : NEVER;
            if (!(((pass ? use : all) >> j) & 1) || !t_writes(w, c) ||
                w->inv >= end_o)
                continue;
            if (!pass) {
                fresh |= end >= since;
                last = end > last ? end : last;
            } else if (end >= (fresh ? since : last)) {
                return true;
            }
        }
        if (!pass && !fresh && last < 0)
            return true; /* a value no one wrote */
    }
    return false;
}

/* Whether `use` is evidence for the history's first failing return at
 * position `cut` (the rules of lincheck_shrink.c). */
static bool t_is_evidence(const struct t_hist *t, int cut, unsigned all,
                          unsigned use)
{
    struct t_hist u, before;
    unsigned in = t_cut(t, cut, &u), in_before = t_cut(t, cut - 1, &before);
    for (int i = 0; i < t->n_ops; i++)
        if (!t_relevant(&u.op[i]))
            in &= ~(1u << i);
    for (int i = 0; i < t->n_ops; i++)
        if ((use >> i & 1) && !t_source_kept(&u, all & in, use & in, i))
            return false;
    return !bf_linearizable(&u, use & in) &&
           bf_linearizable(&before, use & in_before);
}

/* The evidence: within the reported key; the cut is where the key's
 * history first fails; the set is evidence and loses that when any op is
 * dropped; with the ops' full outcomes it is still no linearization. */
static void t_check_evidence(const struct t_hist *t, const struct lin_report *r)
{
    unsigned use = 0, all = 0;
    int key = r->key[0] - 'a', cut = (int)r->violation_line - 1;
    for (size_t i = 0; i < r->n_report_ops; i++)
        use |= 1u << t->ev[r->ops[i].invoke_line - 1];
    for (int i = 0; i < t->n_ops; i++)
        if (t->op[i].key == key)
            all |= 1u << i;
    struct t_hist u;
    ck_assert_msg((use & ~all) == 0, "evidence outside key %s", r->key);
    ck_assert_msg(cut > 0 && cut < t->n_ev && use >> t->ev[cut] & 1,
                  "cut %d is not an evidence op's return", cut);
    ck_assert_msg(!bf_linearizable(t, use), "evidence is linearizable");
    ck_assert_msg(!bf_linearizable(&u, all & t_cut(t, cut, &u)),
                  "the key is linearizable up to the cut");
    ck_assert_msg(bf_linearizable(&u, all & t_cut(t, cut - 1, &u)),
                  "the key is not linearizable before the cut");
    ck_assert_msg(t_is_evidence(t, cut, all, use), "not evidence");
    ck_assert(r->minimal);
    for (int i = 0; i < t->n_ops; i++)
        ck_assert_msg(!(use >> i & 1) ||
                          !t_is_evidence(t, cut, all, use & ~(1u << i)),
                      "evidence not minimal: op %d removable", i);
}

struct t_counts {
    int lin, not ;
};

/* Prints a history as JSON Lines, to turn a failing seed into a test. */
static void t_dump(const struct t_hist *t)
{
    static const char *const kinds[] = {"get", "put", "del", "cas"};
    static const char *const types[] = {"info", "ok", "fail", "info"};
    for (int e = 0; e < t->n_ev; e++) {
        const struct t_op *o = &t->op[t->ev[e]];
        if (o->inv == e)
            printf("{\"client\":%d,\"type\":\"invoke\",\"op\":\"%s\","
                   "\"key\":\"%c\",\"expect\":\"%d\",\"value\":\"%d\"}\n",
                   o->client, kinds[o->kind], 'a' + o->key, o->expect,
                   o->value);
        else
            printf("{\"client\":%d,\"type\":\"%s\",\"value\":\"%d\","
                   "\"found\":%d}\n",
                   o->client, types[o->outcome], o->value, o->found);
    }
}

/* Checks one history both ways; returns lin_check's verdict. */
static bool t_compare(const struct t_hist *t, uint64_t seed, int round)
{
    struct lin_history *h = t_build(t);
    struct lin_report r;
    ck_assert_int_eq(lin_check(h, NULL, &r), SMR_OK);
    bool oracle = bf_linearizable(t, ~0u);
    if (oracle != (r.verdict == LIN_LINEARIZABLE))
        t_dump(t);
    ck_assert_msg(r.verdict != LIN_UNKNOWN, "unknown: seed %#llx round %d",
                  (unsigned long long)seed, round);
    ck_assert_msg(oracle == (r.verdict == LIN_LINEARIZABLE),
                  "seed %#llx round %d: lincheck says %d, brute force %d",
                  (unsigned long long)seed, round, r.verdict, oracle);
    if (r.verdict == LIN_VIOLATION)
        t_check_evidence(t, &r);
    lin_report_free(&r);
    lin_history_destroy(&h);
    return oracle;
}

static uint64_t test_seed(void)
{
    const char *env = getenv("LINCHECK_SEED");
    return env ? strtoull(env, NULL, 0) : 0x11ec4ec4ull;
}

#define ROUNDS 10000

START_TEST(test_random_vs_brute_force)
{
    uint64_t seed = test_seed(), s = seed | 1;
    struct t_counts random = {0}, seq = {0}, mutated = {0};
    struct t_hist t;
    for (int round = 0; round < ROUNDS; round++) {
        int clients = 2 + rnd(&s, 2), keys = 1 + rnd(&s, 2);
        int n = 1 + rnd(&s, T_OPS_MAX);
        t_gen(&t, &s, false, clients, keys, n);
        t_compare(&t, seed, round) ? random.lin++ : random.not ++;
        t_gen(&t, &s, true, clients, keys, n);
        ck_assert_msg(t_compare(&t, seed, round),
                      "a sequential execution was judged not linearizable");
        seq.lin++;
        for (int m = rnd(&s, 2); m >= 0; m--)
            t_mutate(&t, &s);
        t_compare(&t, seed, round) ? mutated.lin++ : mutated.not ++;
    }
    printf("test_random_vs_brute_force: seed %#llx: random %d linearizable "
           "/ %d not; from executions %d / %d; mutated %d / %d\n",
           (unsigned long long)seed, random.lin, random.not, seq.lin, seq.not,
           mutated.lin, mutated.not );
    ck_assert_int_gt(random.not, ROUNDS / 10);
    ck_assert_int_gt(mutated.not, ROUNDS / 20);
}
END_TEST

/* ---------------------------------------------------------------- speed */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void emit(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emit(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < b->cap - b->len);
    b->len += (size_t)n;
}

static void emit_invoke(struct sbuf *b, int c, const struct t_op *o)
{
    static const char *const kinds[] = {"get", "put", "del", "cas"};
    emit(b, "{\"client\":%d,\"type\":\"invoke\",\"op\":\"%s\",\"key\":\"k%d\"",
         c, kinds[o->kind], o->key);
    if (o->kind == LIN_CAS)
        emit(b, ",\"expect\":\"%d\"", o->expect);
    if (o->kind == LIN_PUT || o->kind == LIN_CAS)
        emit(b, ",\"value\":\"%d\"", o->value);
    emit(b, "}\n");
}

static void emit_complete(struct sbuf *b, int c, const struct t_op *o,
                          bool info)
{
    emit(b, "{\"client\":%d,\"type\":\"%s\"", c,
         info                     ? "info"
         : o->outcome == LIN_FAIL ? "fail"
                                  : "ok");
    bool ok = !info && o->outcome == LIN_OK;
    if (ok && o->kind == LIN_GET && o->value)
        emit(b, ",\"value\":\"%d\"", o->value);
    else if (ok && o->kind == LIN_GET)
        emit(b, ",\"value\":null");
    if (ok && o->kind == LIN_DEL && o->found)
        emit(b, ",\"found\":%s", o->found == LIN_FOUND_YES ? "true" : "false");
    emit(b, "}\n");
}

/* A linearizable history as JSON Lines: `clients` clients on `keys` keys
 * (5 values each); each op takes effect at a random step between its
 * invoke and its completion; 2% of put/get/del are refused (fail), 2% of
 * all end in info. */
static struct sbuf big_history(uint64_t *s, int n_ops, int keys, int clients)
{
    struct sbuf b = {malloc((size_t)n_ops * 200), 0, (size_t)n_ops * 200};
    int *state = calloc((size_t)keys, sizeof *state);
    struct t_op *cur = calloc((size_t)clients, sizeof *cur);
    int *phase = calloc((size_t)clients, sizeof *phase);
    ck_assert(b.p && state && cur && phase);
    for (int issued = 0, busy = 0; issued < n_ops || busy;) {
        int c = rnd(s, clients);
        struct t_op *o = &cur[c];
        if (phase[c] == 0 && issued < n_ops) {
            *o = (struct t_op){.kind = rnd(s, 4),
                               .key = rnd(s, keys),
                               .expect = 1 + rnd(s, 5),
                               .value = 1 + rnd(s, 5)};
            emit_invoke(&b, c, o);
            issued++, busy++, phase[c] = 1;
        } else if (phase[c] == 1) {
            if (o->kind != LIN_CAS && rnd(s, 50) == 0)
                o->outcome = LIN_FAIL; /* refused: no effect */
            else
                t_apply(o, state, s);
            phase[c] = 2;
        } else if (phase[c] == 2) {
            emit_complete(&b, c, o, rnd(s, 50) == 0);
            busy--, phase[c] = 0;
        }
    }
    free(state);
    free(cur);
    free(phase);
    return b;
}

/* CPU time, so that a loaded machine does not skew the figures. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void measure(int n_ops, int keys, int clients)
{
    uint64_t s = test_seed() | 1;
    struct sbuf b = big_history(&s, n_ops, keys, clients);
    struct lin_history *h;
    struct lin_report r;
    char err[ERR_BYTES] = "";
    ck_assert_int_eq(lin_history_new(&h), SMR_OK);
    double t0 = cpu_ms();
    ck_assert_msg(lin_history_parse_buf(h, b.p, b.len, err, sizeof err) ==
                      SMR_OK,
                  "%s", err);
    double t1 = cpu_ms();
    ck_assert_int_eq(lin_check(h, NULL, &r), SMR_OK);
    double t2 = cpu_ms();
    ck_assert_int_eq(r.verdict, LIN_LINEARIZABLE);
    printf("test_speed: %d ops, %d keys, %d clients (%zu bytes): CPU parse "
           "%.0f ms, check %.0f ms (%.0f ops/s), %llu states\n",
           n_ops, keys, clients, b.len, t1 - t0, t2 - t1,
           t2 > t1 ? n_ops / ((t2 - t1) / 1e3) : 0.0,
           (unsigned long long)r.states);
    lin_report_free(&r);
    lin_history_destroy(&h);
    free(b.p);
}

START_TEST(test_speed)
{
    measure(100000, 100, 16);
    measure(10000, 1, 16);
}
END_TEST

static Suite *lincheck_random_suite(void)
{
    Suite *s = suite_create("lincheck_random");
    TCase *random = tcase_create("random");
    tcase_set_timeout(random, 120);
    tcase_add_test(random, test_random_vs_brute_force);
    tcase_add_test(random, test_speed);
    suite_add_tcase(s, random);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lincheck_random_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
