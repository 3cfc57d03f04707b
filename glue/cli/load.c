/*
 * load.c: the closed-loop load generator (load.h).
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "client.h"
#include "exe.h"

#define LAT_MAX (32u << 20) /* latencies kept per interval */

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
};

uint64_t load_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t rnd(struct load *l)
{
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return l->rng;
}

static void submit(struct load *l, uint32_t session)
{
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

int load_new(const struct glue_config *cfg, uint32_t clients, uint32_t conns,
             uint32_t keys, uint32_t value_bytes, uint32_t get_permille,
             struct load **out)
{
    struct load *l = calloc(1, sizeof *l);
    if (!l)
        return SMR_ENOMEM;
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
    for (uint32_t i = 0; i < l->n_conns; i++) {
        uint32_t sessions = (clients - i + l->n_conns - 1) / l->n_conns;
        if (glue_client_new_sessions(cfg, l->zctx, sessions, &l->conns[i]) !=
            SMR_OK) {
            load_destroy(&l);
            return SMR_EIO;
        }
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
    free(l);
    *pl = NULL;
}

struct done_ctx {
    struct load *l;
    uint32_t conn;
};

static void on_done(void *arg, uint32_t session, const uint8_t *result,
                    uint32_t len, smr_seq seq)
{
    struct done_ctx *d = arg;
    struct load *l = d->l;
    (void)result;
    (void)len;
    (void)seq;
    uint32_t global = session * l->n_conns + d->conn;
    uint64_t lat = load_now_us() - l->started_us[global];
    if (l->n_lat < LAT_MAX)
        l->lat_us[l->n_lat++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
    l->ops++;
    submit(l, global);
}

void load_run(struct load *l, uint64_t ms)
{
    uint64_t end = load_now_us() + ms * 1000;
    for (;;) {
        uint64_t now = load_now_us();
        if (now >= end)
            break;
        zmq_poll(l->items, l->n_items, 2);
        now = load_now_us();
        for (uint32_t i = 0; i < l->n_conns; i++) {
            struct done_ctx d = {l, i};
            glue_client_poll(l->conns[i], now / 1000, on_done, &d);
        }
    }
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
    out->p50_ms = pct(l->lat_us, l->n_lat, 0.50);
    out->p99_ms = pct(l->lat_us, l->n_lat, 0.99);
    out->p999_ms = pct(l->lat_us, l->n_lat, 0.999);
}

void load_reset(struct load *l)
{
    l->n_lat = 0;
    l->ops = 0;
    l->errors = 0;
}
