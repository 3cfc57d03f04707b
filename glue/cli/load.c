/*
 * load.c: the closed-loop load generator (load.h).
 */
#include "load.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "exe.h"

#define LAT_MAX (32u << 20) /* latencies kept per interval */
#define HIST_STR 48          /* a history value: "s<session>-<n>" */
#define HIST_FLUSH_US 1000000

/* History mode: the request a session has outstanding. */
struct hist_op {
    enum exe_kv_opcode kind;
    bool inflight;
    uint32_t key;
    uint64_t n; /* values this session wrote so far */
    char value[HIST_STR];
    char expect[HIST_STR];
};

static volatile sig_atomic_t stop_requested;

struct load {
    void *zctx;
    uint32_t n_sessions;
    uint32_t n_conns;
    struct glue_client **conns;  /* session i lives on conns[i % n_conns] */
    uint64_t *started_us;        /* per session */
    zmq_pollitem_t *items;
    int n_items;
    uint32_t keys, value_bytes, get_permille;
    uint64_t rng;
    uint32_t *lat_us;
    size_t n_lat;
    uint64_t ops, errors;
    struct smr_buf op;
    uint8_t *value;
    /* history mode */
    FILE *hist;
    bool hist_error;
    bool draining;
    uint64_t timeout_us, last_flush_us, timeouts;
    const char *key_prefix;
    struct hist_op *hops;        /* per session */
    char (*last_value)[HIST_STR]; /* per key: last value seen, "" absent */
    struct done_ctx *fail_ctx;    /* per connection, for on_fail */
};

struct done_ctx {
    struct load *l;
    uint32_t conn;
};

uint64_t load_now_us(void)
{
    return glue_mono_us();
}

static uint64_t rnd(struct load *l)
{
    return smr_rng_next(&l->rng);
}

static struct glue_client *conn_of(struct load *l, uint32_t session)
{
    return l->conns[session % l->n_conns];
}

/* ---------------------------------------------------------- history */

/* Writes `s` (`len` bytes) as a JSON string literal. */
static void json_str(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static const char *kind_name(enum exe_kv_opcode k)
{
    switch (k) {
    case EXE_KV_GET: return "get";
    case EXE_KV_PUT: return "put";
    case EXE_KV_DEL: return "del";
    case EXE_KV_CAS: return "cas";
    }
    return "?";
}

static int key_name(struct load *l, uint32_t k, char *buf, size_t len)
{
    return snprintf(buf, len, "%s%lu", l->key_prefix, (unsigned long)k);
}

/* The head of an event line: client, type, op and key. */
static void hist_head(struct load *l, uint32_t session, const char *type)
{
    const struct hist_op *h = &l->hops[session];
    char key[64 + 1024];
    int klen = key_name(l, h->key, key, sizeof key);
    fprintf(l->hist, "{\"client\":%lu,\"type\":\"%s\",\"op\":\"%s\",\"key\":",
            (unsigned long)session, type, kind_name(h->kind));
    json_str(l->hist, key, (size_t)klen);
}

static void hist_invoke(struct load *l, uint32_t session)
{
    const struct hist_op *h = &l->hops[session];
    hist_head(l, session, "invoke");
    if (h->kind == EXE_KV_CAS) {
        fputs(",\"expect\":", l->hist);
        json_str(l->hist, h->expect, strlen(h->expect));
    }
    if (h->kind == EXE_KV_PUT || h->kind == EXE_KV_CAS) {
        fputs(",\"value\":", l->hist);
        json_str(l->hist, h->value, strlen(h->value));
    }
    fputs("}\n", l->hist);
}

/* A completion; `read`/`read_len` only for a get's ok (NULL: absent),
 * `found` (-1: omit) only for a del's ok. */
static void hist_complete(struct load *l, uint32_t session, const char *type,
                          const char *read, size_t read_len, int found)
{
    const struct hist_op *h = &l->hops[session];
    hist_head(l, session, type);
    if (h->kind == EXE_KV_GET && strcmp(type, "ok") == 0) {
        fputs(",\"value\":", l->hist);
        if (read)
            json_str(l->hist, read, read_len);
        else
            fputs("null", l->hist);
    }
    if (found >= 0)
        fprintf(l->hist, ",\"found\":%s", found ? "true" : "false");
    fputs("}\n", l->hist);
}

static void set_last(struct load *l, uint32_t key, const char *v, size_t len)
{
    if (len >= HIST_STR)
        len = 0; /* not one of ours: forget it */
    memcpy(l->last_value[key], v, len);
    l->last_value[key][len] = 0;
}

/* Picks a random operation for `session`, records its invoke and sends
 * it. */
static void hist_submit(struct load *l, uint32_t session)
{
    struct hist_op *h = &l->hops[session];
    if (l->draining)
        return;
    h->key = (uint32_t)(rnd(l) % l->keys);
    uint64_t r = rnd(l) % 100;
    h->kind = r < 35   ? EXE_KV_GET
              : r < 65 ? EXE_KV_PUT
              : r < 85 ? EXE_KV_CAS
                       : EXE_KV_DEL;
    /* A cas expects the last value seen on the key, so that some swap. */
    if (h->kind == EXE_KV_CAS && l->last_value[h->key][0] == 0)
        h->kind = EXE_KV_PUT;
    h->expect[0] = 0;
    h->value[0] = 0;
    if (h->kind == EXE_KV_CAS)
        memcpy(h->expect, l->last_value[h->key], HIST_STR);
    if (h->kind == EXE_KV_PUT || h->kind == EXE_KV_CAS)
        snprintf(h->value, sizeof h->value, "s%lu-%llu", (unsigned long)session,
                 (unsigned long long)++h->n);
    char key[64 + 1024];
    int klen = key_name(l, h->key, key, sizeof key);
    int rc = exe_kv_encode(&l->op, h->kind, key, (uint32_t)klen, h->expect,
                           (uint32_t)strlen(h->expect), h->value,
                           (uint32_t)strlen(h->value));
    l->started_us[session] = load_now_us();
    if (rc != SMR_OK) {
        l->errors++;
        return;
    }
    hist_invoke(l, session);
    rc = glue_client_submit(conn_of(l, session), session / l->n_conns,
                            l->op.data, (uint32_t)l->op.len);
    h->inflight = rc == SMR_OK;
    if (rc != SMR_OK) {
        /* Not sent; "info" is right whatever the reason. */
        l->errors++;
        hist_complete(l, session, "info", NULL, 0, -1);
    }
}

/* A reply for `session`'s request: its completion event. */
static void hist_done(struct load *l, uint32_t session, const uint8_t *res,
                      uint32_t len)
{
    struct hist_op *h = &l->hops[session];
    h->inflight = false;
    int st = len >= 1 ? res[0] : -1;
    switch (h->kind) {
    case EXE_KV_GET:
        if (st == EXE_KV_OK) {
            hist_complete(l, session, "ok", (const char *)res + 1, len - 1, -1);
            set_last(l, h->key, (const char *)res + 1, len - 1);
        } else if (st == EXE_KV_NOT_FOUND) {
            hist_complete(l, session, "ok", NULL, 0, -1);
            set_last(l, h->key, "", 0);
        } else {
            hist_complete(l, session, "info", NULL, 0, -1);
        }
        break;
    case EXE_KV_PUT:
        if (st == EXE_KV_OK) {
            hist_complete(l, session, "ok", NULL, 0, -1);
            set_last(l, h->key, h->value, strlen(h->value));
        } else {
            hist_complete(l, session, st == EXE_KV_BAD_COMMAND ? "fail" : "info",
                          NULL, 0, -1);
        }
        break;
    case EXE_KV_DEL:
        if (st == EXE_KV_OK || st == EXE_KV_NOT_FOUND) {
            hist_complete(l, session, "ok", NULL, 0, st == EXE_KV_OK);
            set_last(l, h->key, "", 0);
        } else {
            hist_complete(l, session, st == EXE_KV_BAD_COMMAND ? "fail" : "info",
                          NULL, 0, -1);
        }
        break;
    case EXE_KV_CAS:
        if (st == EXE_KV_OK) {
            hist_complete(l, session, "ok", NULL, 0, -1);
            set_last(l, h->key, h->value, strlen(h->value));
        } else if (st == EXE_KV_CAS_MISMATCH || st == EXE_KV_NOT_FOUND) {
            /* Definitely not swapped: the value was not `expect`. */
            hist_complete(l, session, "fail", NULL, 0, -1);
        } else {
            hist_complete(l, session, "info", NULL, 0, -1);
        }
        break;
    }
}

/* Abandons every request older than the timeout (recorded as info) and
 * starts the session's next one. */
static void hist_expire(struct load *l, uint64_t now_us)
{
    for (uint32_t s = 0; s < l->n_sessions; s++) {
        struct hist_op *h = &l->hops[s];
        if (!h->inflight || now_us - l->started_us[s] < l->timeout_us)
            continue;
        glue_client_abandon(conn_of(l, s), s / l->n_conns);
        h->inflight = false;
        l->timeouts++;
        hist_complete(l, s, "info", NULL, 0, -1);
        hist_submit(l, s);
    }
    if (now_us - l->last_flush_us >= HIST_FLUSH_US) {
        if (fflush(l->hist) != 0)
            l->hist_error = true;
        l->last_flush_us = now_us;
    }
}

static bool hist_inflight(const struct load *l)
{
    for (uint32_t s = 0; s < l->n_sessions; s++)
        if (l->hops[s].inflight)
            return true;
    return false;
}

/* ---------------------------------------------------------- load */

static void submit(struct load *l, uint32_t session)
{
    if (l->hist) {
        hist_submit(l, session);
        return;
    }
    char key[32];
    int klen = snprintf(key, sizeof key, "key-%llu",
                        (unsigned long long)(rnd(l) % l->keys));
    bool get = rnd(l) % 1000 < l->get_permille;
    int rc = exe_kv_encode(&l->op, get ? EXE_KV_GET : EXE_KV_PUT, key,
                           (uint32_t)klen, NULL, 0, get ? NULL : l->value,
                           get ? 0 : l->value_bytes);
    struct glue_client *c = l->conns[session % l->n_conns];
    if (rc == SMR_OK)
        rc = glue_client_submit(c, session / l->n_conns, l->op.data,
                                (uint32_t)l->op.len);
    if (rc != SMR_OK)
        l->errors++;
    l->started_us[session] = load_now_us();
}

/* The replicas' replies disagreed (Byzantine faults): the outcome is
 * unknown, so it is counted as an error and recorded as info. */
static void on_fail(void *arg, uint32_t session, int rc)
{
    struct done_ctx *d = arg;
    struct load *l = d->l;
    (void)rc;
    uint32_t global = session * l->n_conns + d->conn;
    l->errors++;
    if (l->hist) {
        l->hops[global].inflight = false;
        hist_complete(l, global, "info", NULL, 0, -1);
    }
    submit(l, global);
}

int load_new(const struct glue_config *cfg, uint32_t clients, uint32_t conns,
             uint32_t keys, uint32_t value_bytes, uint32_t get_permille,
             struct load **out)
{
    struct load_opts o = {
        .clients = clients,
        .conns = conns,
        .keys = keys,
        .value_bytes = value_bytes,
        .get_permille = get_permille,
    };
    return load_new_opts(cfg, &o, out);
}

int load_new_opts(const struct glue_config *cfg, const struct load_opts *o,
                  struct load **out)
{
    uint32_t clients = o->clients, conns = o->conns, keys = o->keys;
    uint32_t value_bytes = o->value_bytes, get_permille = o->get_permille;
    if (clients == 0)
        return SMR_EINVAL;
    struct load *l = calloc(1, sizeof *l);
    if (!l)
        return SMR_ENOMEM;
    if (o->history) {
        l->hist = fopen(o->history, "w");
        if (!l->hist) {
            free(l);
            return SMR_EIO;
        }
        setvbuf(l->hist, NULL, _IOFBF, 1u << 20);
        l->timeout_us = (o->timeout_ms ? o->timeout_ms : 5000) * 1000;
        l->key_prefix = o->key_prefix ? o->key_prefix : "key-";
        l->hops = calloc(clients, sizeof *l->hops);
        l->last_value = calloc(keys ? keys : 1, sizeof *l->last_value);
        if (!l->hops || !l->last_value) {
            load_destroy(&l);
            return SMR_ENOMEM;
        }
        l->last_flush_us = load_now_us();
    }
    l->zctx = zmq_ctx_new();
    l->n_sessions = clients;
    l->n_conns = conns < 1 ? 1 : conns > clients ? clients : conns;
    l->keys = keys ? keys : 1;
    l->value_bytes = value_bytes;
    l->get_permille = get_permille;
    l->rng = load_now_us() | 1;
    l->conns = calloc(l->n_conns, sizeof *l->conns);
    l->started_us = calloc(clients, sizeof *l->started_us);
    l->items = calloc((size_t)l->n_conns * SMR_NODES_MAX, sizeof *l->items);
    l->lat_us = malloc(LAT_MAX * sizeof *l->lat_us);
    l->value = malloc(value_bytes ? value_bytes : 1);
    if (!l->zctx || !l->conns || !l->started_us || !l->items || !l->lat_us ||
        !l->value) {
        load_destroy(&l);
        return SMR_ENOMEM;
    }
    memset(l->value, 'v', value_bytes);
    l->fail_ctx = calloc(l->n_conns, sizeof *l->fail_ctx);
    for (uint32_t i = 0; i < l->n_conns; i++) {
        uint32_t sessions = (clients - i + l->n_conns - 1) / l->n_conns;
        char err[512];
        int rc = l->fail_ctx ? glue_client_open(cfg, l->zctx, sessions,
                                                &l->conns[i], err, sizeof err)
                             : SMR_ENOMEM;
        if (rc != SMR_OK) {
            if (rc != SMR_ENOMEM)
                fprintf(stderr, "strata: cannot create a client: %s\n", err);
            load_destroy(&l);
            return rc == SMR_ENOMEM ? rc : SMR_EIO;
        }
        l->fail_ctx[i] = (struct done_ctx){l, i};
        glue_client_on_fail(l->conns[i], on_fail, &l->fail_ctx[i]);
        l->n_items += glue_client_pollitems(l->conns[i], &l->items[l->n_items],
                                            SMR_NODES_MAX);
    }
    for (uint32_t s = 0; s < clients; s++)
        submit(l, s);
    *out = l;
    return SMR_OK;
}

void load_destroy(struct load **pl)
{
    if (!pl || !*pl)
        return;
    struct load *l = *pl;
    load_close_history(l);
    for (uint32_t i = 0; l->conns && i < l->n_conns; i++)
        glue_client_destroy(&l->conns[i]);
    if (l->zctx)
        zmq_ctx_term(l->zctx);
    free(l->conns);
    free(l->started_us);
    free(l->items);
    free(l->lat_us);
    free(l->value);
    smr_buf_free(&l->op);
    free(l->hops);
    free(l->last_value);
    free(l->fail_ctx);
    free(l);
    *pl = NULL;
}

int load_close_history(struct load *l)
{
    if (!l->hist)
        return l->hist_error ? SMR_EIO : SMR_OK;
    if (ferror(l->hist) || fclose(l->hist) != 0)
        l->hist_error = true;
    l->hist = NULL;
    return l->hist_error ? SMR_EIO : SMR_OK;
}

void load_request_stop(void)
{
    stop_requested = 1;
}

static void on_done(void *arg, uint32_t session, const uint8_t *result,
                    uint32_t len, smr_seq seq)
{
    struct done_ctx *d = arg;
    struct load *l = d->l;
    (void)seq;
    uint32_t global = session * l->n_conns + d->conn;
    if (l->hist)
        hist_done(l, global, result, len);
    uint64_t lat = load_now_us() - l->started_us[global];
    if (l->n_lat < LAT_MAX)
        l->lat_us[l->n_lat++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
    l->ops++;
    submit(l, global);
}

static void poll_once(struct load *l)
{
    zmq_poll(l->items, l->n_items, 2);
    uint64_t now = load_now_us();
    for (uint32_t i = 0; i < l->n_conns; i++) {
        struct done_ctx d = {l, i};
        glue_client_poll(l->conns[i], now / 1000, on_done, &d);
    }
    if (l->hist)
        hist_expire(l, load_now_us());
}

void load_run(struct load *l, uint64_t ms)
{
    uint64_t end = load_now_us() + ms * 1000;
    while (!stop_requested && load_now_us() < end)
        poll_once(l);
}

void load_drain(struct load *l)
{
    if (!l->hist)
        return;
    l->draining = true;
    while (hist_inflight(l))
        poll_once(l);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i] / 1000.0;
}

void load_stats(struct load *l, struct load_stats *out)
{
    qsort(l->lat_us, l->n_lat, sizeof *l->lat_us, cmp_u32);
    out->ops = l->ops;
    out->errors = l->errors;
    out->timeouts = l->timeouts;
    out->p50_ms = pct(l->lat_us, l->n_lat, 0.50);
    out->p99_ms = pct(l->lat_us, l->n_lat, 0.99);
    out->p999_ms = pct(l->lat_us, l->n_lat, 0.999);
}

void load_reset(struct load *l)
{
    l->n_lat = 0;
    l->ops = 0;
    l->errors = 0;
    l->timeouts = 0;
}
