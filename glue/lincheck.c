/*
 * lincheck.c: the history of lincheck.h (operations, interned strings, the
 * table of clients with an operation outstanding), lin_check() and the
 * report's formatting.
 *
 * lin_check() groups the operations that matter by key and checks each
 * group on its own (linearizability is local, Herlihy and Wing 1990: the
 * P-compositionality that Lowe 2017 exploits), with the just-in-time
 * search of Wing and Gong 1993 / Lowe 2017 in lincheck_search.c; of the
 * keys that fail, the one with the fewest operations is shrunk and
 * reported. The JSON Lines reader is in lincheck_json.c.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "lincheck_internal.h"

#define NONE UINT32_MAX

/* ----------------------------------------------------------------- helpers */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return lin_mix64(h);
}

int lin_grow(void **p, uint32_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return SMR_OK;
    uint64_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX)
        return SMR_ETOOBIG;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return SMR_ENOMEM;
    *p = q;
    *cap = (uint32_t)n;
    return SMR_OK;
}

int lin_errf(char *err, size_t err_len, int rc, uint64_t line, const char *fmt,
             ...)
{
    if (!err || !err_len)
        return rc;
    int used = snprintf(err, err_len, "line %llu: ", (unsigned long long)line);
    if (used >= 0 && (size_t)used < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + used, err_len - (size_t)used, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ------------------------------------------------------- interned strings */

static uint32_t str_find_slot(const struct lin_strtab *t, const char *s,
                              size_t len, uint64_t h)
{
    uint32_t mask = t->n_slots - 1;
    uint32_t i = (uint32_t)h & mask;
    for (uint32_t probes = 0; probes < t->n_slots; probes++) {
        uint32_t id = t->slot[i];
        if (!id)
            return i;
        const char *b = t->bytes + t->off[id];
        if (!memcmp(b, s, len) && b[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    assert(!"string table full");
    return 0;
}

static int str_rehash(struct lin_strtab *t)
{
    uint32_t n = t->n_slots ? t->n_slots * 2 : 1024;
    uint32_t *slot = calloc(n, sizeof *slot);
    if (!slot)
        return SMR_ENOMEM;
    struct lin_strtab nt = *t;
    nt.slot = slot;
    nt.n_slots = n;
    for (uint32_t id = 1; id < t->n; id++) {
        const char *b = t->bytes + t->off[id];
        size_t len = strlen(b);
        slot[str_find_slot(&nt, b, len, hash_bytes(b, len))] = id;
    }
    free(t->slot);
    t->slot = slot;
    t->n_slots = n;
    return SMR_OK;
}

uint32_t lin_str_find(const struct lin_strtab *t, const char *s)
{
    if (!t->n_slots)
        return 0;
    size_t len = strlen(s);
    return t->slot[str_find_slot(t, s, len, hash_bytes(s, len))];
}

const char *lin_str(const struct lin_strtab *t, uint32_t id)
{
    return id ? t->bytes + t->off[id] : NULL;
}

/* Interns `s` (NULL gives id 0). */
static int str_intern(struct lin_strtab *t, const char *s, uint32_t *id)
{
    if (!s) {
        *id = 0;
        return SMR_OK;
    }
    if ((uint64_t)(t->n + 1) * 2 > t->n_slots && str_rehash(t) != SMR_OK)
        return SMR_ENOMEM;
    size_t len = strlen(s);
    uint32_t i = str_find_slot(t, s, len, hash_bytes(s, len));
    if (t->slot[i]) {
        *id = t->slot[i];
        return SMR_OK;
    }
    if (t->len + len + 1 > LIN_STRING_BYTES_MAX)
        return SMR_ETOOBIG;
    int rc = lin_grow((void **)&t->bytes, &t->cap, t->len + len + 1, 1);
    if (!rc)
        rc = lin_grow((void **)&t->off, &t->n_cap, (uint64_t)t->n + 1,
                      sizeof *t->off);
    if (rc)
        return rc;
    memcpy(t->bytes + t->len, s, len + 1);
    t->off[t->n] = (uint32_t)t->len;
    t->len += len + 1;
    t->slot[i] = t->n;
    *id = t->n++;
    return SMR_OK;
}

/* ------------------------------------------------------------ the history */

int lin_history_new(struct lin_history **out)
{
    struct lin_history *h = calloc(1, sizeof *h);
    if (!h)
        return SMR_ENOMEM;
    h->str.n = 1; /* id 0 is "none" */
    if (lin_grow((void **)&h->str.off, &h->str.n_cap, 1, sizeof(uint32_t))) {
        free(h);
        return SMR_ENOMEM;
    }
    h->str.off[0] = 0;
    *out = h;
    return SMR_OK;
}

void lin_history_destroy(struct lin_history **hp)
{
    if (!hp || !*hp)
        return;
    struct lin_history *h = *hp;
    free(h->ops);
    free(h->str.bytes);
    free(h->str.off);
    free(h->str.slot);
    free(h->clients);
    free(h->scratch);
    free(h);
    *hp = NULL;
}

uint64_t lin_history_ops(const struct lin_history *h)
{
    return h->n_ops;
}

/* The slot of `client`, or the empty slot where it would go. */
static struct lin_client *client_slot(const struct lin_history *h,
                                      uint64_t client)
{
    uint32_t mask = h->n_client_slots - 1;
    uint32_t i = (uint32_t)lin_mix64(client) & mask;
    while (h->clients[i].used && h->clients[i].client != client)
        i = (i + 1) & mask;
    return &h->clients[i];
}

static int clients_grow(struct lin_history *h)
{
    if ((uint64_t)(h->n_clients + 1) * 2 <= h->n_client_slots)
        return SMR_OK;
    struct lin_history nh = *h;
    nh.n_client_slots = h->n_client_slots ? h->n_client_slots * 2 : 64;
    nh.clients = calloc(nh.n_client_slots, sizeof *nh.clients);
    if (!nh.clients)
        return SMR_ENOMEM;
    for (uint32_t i = 0; i < h->n_client_slots; i++)
        if (h->clients[i].used)
            *client_slot(&nh, h->clients[i].client) = h->clients[i];
    free(h->clients);
    h->clients = nh.clients;
    h->n_client_slots = nh.n_client_slots;
    return SMR_OK;
}

struct lin_op *lin_open_op(const struct lin_history *h, uint64_t client)
{
    if (!h->n_client_slots)
        return NULL;
    struct lin_client *c = client_slot(h, client);
    return c->used && c->open ? &h->ops[c->open - 1] : NULL;
}

static uint64_t line_or_ordinal(const struct lin_history *h, uint64_t line)
{
    return line ? line : (uint64_t)h->n_events + 1;
}

static int check_invoke(const struct lin_history *h,
                        const struct lin_invoke *in, uint64_t line, char *err,
                        size_t err_len)
{
    if (h->n_events >= LIN_EVENTS_MAX)
        return lin_errf(err, err_len, SMR_ETOOBIG, line, "more than %u events",
                        LIN_EVENTS_MAX);
    if (in->kind > LIN_CAS || !in->key)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "an invoke needs an op and a key");
    bool need_value = in->kind == LIN_PUT || in->kind == LIN_CAS;
    if ((need_value && !in->value) || (in->kind == LIN_CAS && !in->expect))
        return lin_errf(err, err_len, SMR_EMALFORMED, line, "a %s needs %s",
                        lin_kind_name(in->kind),
                        in->kind == LIN_CAS ? "expect and value" : "a value");
    const struct lin_op *o = lin_open_op(h, in->client);
    if (o)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "client %llu invokes while its %s from line %llu is "
                        "outstanding",
                        (unsigned long long)in->client,
                        lin_kind_name((enum lin_kind)o->kind),
                        (unsigned long long)o->invoke_line);
    return SMR_OK;
}

int lin_history_add_invoke(struct lin_history *h, const struct lin_invoke *in,
                           char *err, size_t err_len)
{
    uint64_t line = line_or_ordinal(h, in->line);
    int rc = check_invoke(h, in, line, err, err_len);
    if (rc)
        return rc;
    uint32_t key, expect = 0, value = 0;
    bool need_value = in->kind == LIN_PUT || in->kind == LIN_CAS;
    if ((rc = str_intern(&h->str, in->key, &key)) ||
        (in->kind == LIN_CAS &&
         (rc = str_intern(&h->str, in->expect, &expect))) ||
        (need_value && (rc = str_intern(&h->str, in->value, &value))) ||
        (rc = lin_grow((void **)&h->ops, &h->cap_ops, (uint64_t)h->n_ops + 1,
                       sizeof *h->ops)) ||
        (rc = clients_grow(h)))
        return lin_errf(err, err_len, rc, line, "%s", smr_strerror(rc));
    struct lin_op *o = &h->ops[h->n_ops];
    memset(o, 0, sizeof *o);
    o->client = in->client;
    o->invoke_line = line;
    o->invoke_ev = h->n_events++;
    o->complete_ev = NONE;
    o->key = key;
    o->expect = expect;
    o->value = value;
    o->kind = (uint8_t)in->kind;
    o->outcome = LIN_PENDING;
    struct lin_client *c = client_slot(h, in->client);
    if (!c->used)
        h->n_clients++;
    c->used = true;
    c->client = in->client;
    c->open = ++h->n_ops;
    return SMR_OK;
}

int lin_history_add_complete(struct lin_history *h,
                             const struct lin_complete *c, char *err,
                             size_t err_len)
{
    uint64_t line = line_or_ordinal(h, c->line);
    if (h->n_events >= LIN_EVENTS_MAX)
        return lin_errf(err, err_len, SMR_ETOOBIG, line, "more than %u events",
                        LIN_EVENTS_MAX);
    struct lin_op *o = lin_open_op(h, c->client);
    if (!o)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "client %llu completes but has no operation "
                        "outstanding",
                        (unsigned long long)c->client);
    if (c->outcome != LIN_OK && c->outcome != LIN_FAIL &&
        c->outcome != LIN_INFO)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "a completion is ok, fail or info");
    uint32_t read = 0;
    if (o->kind == LIN_GET && c->outcome == LIN_OK) {
        int rc = str_intern(&h->str, c->value, &read);
        if (rc)
            return lin_errf(err, err_len, rc, line, "%s", smr_strerror(rc));
        o->value = read;
    }
    if (o->kind == LIN_DEL && c->outcome == LIN_OK && c->found <= LIN_FOUND_YES)
        o->found = (uint8_t)c->found;
    o->outcome = (uint8_t)c->outcome;
    o->complete_line = c->outcome == LIN_INFO ? 0 : line;
    o->complete_ev = c->outcome == LIN_INFO ? NONE : h->n_events;
    h->n_events++;
    client_slot(h, c->client)->open = 0;
    return SMR_OK;
}

/* --------------------------------------------------------------- lin_check */

void lin_limits_default(struct lin_limits *lim)
{
    lim->states_per_key_max = LIN_STATES_PER_KEY_DEFAULT;
    lim->shrink_states_max = LIN_SHRINK_STATES_DEFAULT;
}

struct by_key {
    uint32_t key, ev, op;
};

static int cmp_by_key(const void *a, const void *b)
{
    const struct by_key *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->ev > y->ev) - (x->ev < y->ev);
}

/* Relevant operations grouped by key, each group in invoke order; counts
 * the keys and the largest group. */
static int group_ops(const struct lin_history *h, uint32_t *rel,
                     uint32_t *n_rel, uint64_t *n_keys, uint32_t *largest)
{
    struct by_key *t = malloc(((size_t)h->n_ops + 1) * sizeof *t);
    if (!t)
        return SMR_ENOMEM;
    for (uint32_t i = 0; i < h->n_ops; i++)
        t[i] = (struct by_key){h->ops[i].key, h->ops[i].invoke_ev, i};
    qsort(t, h->n_ops, sizeof *t, cmp_by_key);
    uint32_t m = 0, run = 0;
    *n_keys = 0, *largest = 0;
    for (uint32_t i = 0; i < h->n_ops; i++) {
        if (!i || t[i].key != t[i - 1].key)
            (*n_keys)++, run = 0;
        if (lin_op_relevant(&h->ops[t[i].op])) {
            rel[m++] = t[i].op;
            run++;
            *largest = run > *largest ? run : *largest;
        }
    }
    *n_rel = m;
    free(t);
    return SMR_OK;
}

static void describe(const struct lin_history *h, uint32_t op,
                     struct lin_op_desc *d)
{
    const struct lin_op *o = &h->ops[op];
    d->client = o->client;
    d->kind = (enum lin_kind)o->kind;
    d->outcome = (enum lin_outcome)o->outcome;
    d->key = lin_str(&h->str, o->key);
    d->expect = lin_str(&h->str, o->expect);
    d->value = lin_str(&h->str, o->value);
    d->found = (enum lin_found)o->found;
    d->invoke_line = o->invoke_line;
    d->complete_line = o->complete_line;
}

/* One lin_check() call. */
struct check {
    const struct lin_history *h;
    const struct lin_limits *lim;
    struct lin_search *w;
    struct lin_report *out;
};

/* Shrinks the violating group and copies it into the report. */
static int report_violation(struct check *k, const uint32_t *group, uint32_t n)
{
    uint32_t *ops = malloc(n * sizeof *ops);
    if (!ops)
        return SMR_ENOMEM;
    memcpy(ops, group, n * sizeof *ops);
    bool minimal = false;
    uint32_t cut = 0;
    int rc = lin_shrink(k->w, k->h, ops, &n, k->lim->shrink_states_max,
                        &minimal, &cut);
    if (!rc && !(k->out->ops = calloc(n, sizeof *k->out->ops)))
        rc = SMR_ENOMEM;
    if (!rc) {
        for (uint32_t i = 0; i < n; i++) {
            describe(k->h, ops[i], &k->out->ops[i]);
            if (k->h->ops[ops[i]].complete_ev == cut)
                k->out->violation_line = k->h->ops[ops[i]].complete_line;
        }
        k->out->n_report_ops = n;
        k->out->minimal = minimal;
    }
    free(ops);
    return rc;
}

/* Checks every key; remembers the smallest violating group. */
static int check_keys(struct check *k, const uint32_t *rel, uint32_t n_rel,
                      uint32_t *bad_at, uint32_t *bad_n)
{
    const struct lin_op *ops = k->h->ops;
    struct lin_report *out = k->out;
    *bad_n = 0;
    for (uint32_t i = 0, j; i < n_rel; i = j) {
        for (j = i + 1; j < n_rel && ops[rel[j]].key == ops[rel[i]].key; j++)
            ;
        uint64_t states;
        int v = lin_search_run(k->w, rel + i, j - i, UINT32_MAX,
                               k->lim->states_per_key_max, &states);
        if (v < 0)
            return -v;
        out->states += states;
        if (v == LIN_UNKNOWN && !out->keys_unknown++)
            out->key = lin_str(&k->h->str, ops[rel[i]].key);
        if (v == LIN_VIOLATION && (!out->keys_violating++ || j - i < *bad_n))
            *bad_at = i, *bad_n = j - i;
    }
    return SMR_OK;
}

int lin_check(const struct lin_history *h, const struct lin_limits *lim,
              struct lin_report *out)
{
    struct lin_limits defaults;
    if (!lim) {
        lin_limits_default(&defaults);
        lim = &defaults;
    }
    memset(out, 0, sizeof *out);
    out->n_ops = h->n_ops;
    struct check k = {h, lim, NULL, out};
    uint32_t *rel = malloc(((size_t)h->n_ops + 1) * sizeof *rel);
    uint32_t n_rel = 0, largest = 0, bad_at = 0, bad_n = 0;
    int rc =
        rel ? group_ops(h, rel, &n_rel, &out->n_keys, &largest) : SMR_ENOMEM;
    if (!rc)
        rc = lin_search_new(h, largest, &k.w);
    if (!rc)
        rc = check_keys(&k, rel, n_rel, &bad_at, &bad_n);
    if (!rc && bad_n) {
        out->verdict = LIN_VIOLATION;
        out->key = lin_str(&h->str, h->ops[rel[bad_at]].key);
        out->key_ops = bad_n;
        rc = report_violation(&k, rel + bad_at, bad_n);
    } else if (!rc && out->keys_unknown) {
        out->verdict = LIN_UNKNOWN;
    }
    lin_search_destroy(&k.w);
    free(rel);
    if (rc) {
        lin_report_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void lin_report_free(struct lin_report *r)
{
    free(r->ops);
    r->ops = NULL;
    r->n_report_ops = 0;
}

/* ------------------------------------------------------------- formatting */

const char *lin_kind_name(enum lin_kind k)
{
    static const char *const names[] = {"get", "put", "del", "cas"};
    return k <= LIN_CAS ? names[k] : "?";
}

const char *lin_outcome_name(enum lin_outcome o)
{
    static const char *const names[] = {"pending", "ok", "fail", "info"};
    return o <= LIN_INFO ? names[o] : "?";
}

struct out {
    char *buf;
    size_t len, used;
};

static void put(struct out *o, const char *fmt, ...)
{
    if (o->used + 1 >= o->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used +=
            (size_t)n < o->len - o->used ? (size_t)n : o->len - o->used - 1;
}

/* A JSON string literal of at most 48 source bytes, "..." when cut. */
static void put_quoted(struct out *o, const char *s)
{
    const size_t shown_max = 48;
    if (!s) {
        put(o, "null");
        return;
    }
    put(o, "\"");
    size_t i = 0;
    for (; s[i] && i < shown_max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c == '\n')
            put(o, "\\n");
        else if (c < 0x20 || c == 0x7f)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, s[i] ? "\"..." : "\"");
}

const char *lin_quote(const char *s, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    if (len)
        buf[0] = '\0';
    put_quoted(&o, s);
    return buf;
}

static void put_call(struct out *o, const struct lin_op_desc *d)
{
    put(o, "%s ", lin_kind_name(d->kind));
    put_quoted(o, d->key);
    if (d->kind == LIN_PUT) {
        put(o, " ");
        put_quoted(o, d->value);
    } else if (d->kind == LIN_CAS) {
        put(o, " expect ");
        put_quoted(o, d->expect);
        put(o, " value ");
        put_quoted(o, d->value);
    }
}

const char *lin_op_format(const struct lin_op_desc *d, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    if (!len)
        return buf;
    buf[0] = '\0';
    put(&o, "client %llu  ", (unsigned long long)d->client);
    put_call(&o, d);
    put(&o, " -> %s", lin_outcome_name(d->outcome));
    if (d->kind == LIN_GET && d->outcome == LIN_OK) {
        put(&o, " ");
        put_quoted(&o, d->value);
    }
    if (d->kind == LIN_DEL && d->outcome == LIN_OK && d->found)
        put(&o, d->found == LIN_FOUND_YES ? " found" : " not found");
    if (d->complete_line)
        put(&o, "  (lines %llu-%llu)", (unsigned long long)d->invoke_line,
            (unsigned long long)d->complete_line);
    else
        put(&o, "  (line %llu, %s)", (unsigned long long)d->invoke_line,
            d->outcome == LIN_INFO ? "outcome unknown" : "never completed");
    return buf;
}
