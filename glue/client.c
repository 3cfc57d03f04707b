/*
 * client.c: the client library (client.h): leader finding, retries with
 * the same request id, and the KV helpers.
 */
#include "client.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "exe.h"
#include "zmq_util.h"

#define TRY_TIMEOUT_MS 400   /* then try the next replica */
#define NO_LEADER_BACKOFF_MS 20
#define BUSY_BACKOFF_MS 5

struct glue_client {
    void *zctx;
    bool own_zctx;
    uint32_t n;
    void *socks[SMR_NODES_MAX];
    smr_client_id id;
    smr_req_id req_id;
    smr_node_id target;
    struct smr_buf op;
    struct smr_buf frame;
    bool outstanding;
    uint64_t resend_at_ms; /* 0: sent, waiting */
    uint64_t try_deadline_ms;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int glue_client_new(const struct glue_config *cfg, void *zmq_context,
                    struct glue_client **out)
{
    if (sodium_init() < 0)
        return SMR_EIO;
    struct glue_client *c = calloc(1, sizeof *c);
    if (!c)
        return SMR_ENOMEM;
    c->zctx = zmq_context;
    if (!c->zctx) {
        c->zctx = zmq_ctx_new();
        c->own_zctx = true;
    }
    c->n = cfg->n_replicas;
    randombytes_buf(&c->id, sizeof c->id);
    c->id &= ~(1ULL << 63); /* keep ids positive for JSON consumers */
    for (uint32_t i = 0; i < c->n; i++) {
        const struct glue_replica_config *r = glue_config_replica(cfg, i);
        c->socks[i] = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
        if (!c->socks[i] || glue_zsock_harden(c->socks[i]) != SMR_OK ||
            zmq_connect(c->socks[i], r->client) != 0) {
            glue_client_destroy(&c);
            return SMR_EIO;
        }
    }
    c->target = (smr_node_id)(c->id % c->n);
    *out = c;
    return SMR_OK;
}

void glue_client_destroy(struct glue_client **pc)
{
    if (!pc || !*pc)
        return;
    struct glue_client *c = *pc;
    for (uint32_t i = 0; i < SMR_NODES_MAX; i++)
        if (c->socks[i])
            zmq_close(c->socks[i]);
    if (c->own_zctx && c->zctx)
        zmq_ctx_term(c->zctx);
    smr_buf_free(&c->op);
    smr_buf_free(&c->frame);
    free(c);
    *pc = NULL;
}

smr_client_id glue_client_id(const struct glue_client *c)
{
    return c->id;
}

static void send_now(struct glue_client *c, uint64_t now_ms)
{
    zmq_send(c->socks[c->target], c->frame.data, c->frame.len, ZMQ_DONTWAIT);
    c->resend_at_ms = 0;
    c->try_deadline_ms = now_ms + TRY_TIMEOUT_MS;
}

int glue_client_submit(struct glue_client *c, const uint8_t *op,
                       uint32_t op_len)
{
    if (op_len > SMR_OP_BYTES_MAX)
        return SMR_ETOOBIG;
    int rc = smr_buf_set(&c->op, op, op_len);
    if (rc != SMR_OK)
        return rc;
    struct smr_request r = {c->id, ++c->req_id, c->op.data, op_len};
    rc = wire_encode_request(&c->frame, &r);
    if (rc != SMR_OK)
        return rc;
    c->outstanding = true;
    send_now(c, mono_ms());
    return SMR_OK;
}

static void next_replica(struct glue_client *c)
{
    c->target = (c->target + 1) % c->n;
}

/* Handles one reply frame; sets *done when it answers our request. */
static void on_reply(struct glue_client *c, const uint8_t *f, size_t len,
                     uint64_t now_ms, bool *done, struct smr_buf *result,
                     smr_seq *seq)
{
    struct wire_reply rep;
    if (wire_decode_reply(f, len, &rep) != SMR_OK || rep.client_id != c->id ||
        rep.req_id != c->req_id || !c->outstanding)
        return; /* malformed or stale: ignore */
    switch (rep.status) {
    case WIRE_REPLY_OK:
        if (result && smr_buf_set(result, rep.result, rep.result_len) != SMR_OK)
            return;
        if (seq)
            *seq = rep.seq;
        c->outstanding = false;
        *done = true;
        return;
    case WIRE_REPLY_NOT_LEADER:
        if (rep.leader_hint < c->n && rep.leader_hint != c->target) {
            c->target = rep.leader_hint;
            send_now(c, now_ms);
        } else {
            next_replica(c);
            c->resend_at_ms = now_ms + NO_LEADER_BACKOFF_MS;
        }
        return;
    case WIRE_REPLY_BUSY:
    case WIRE_REPLY_ERROR:
        c->resend_at_ms = now_ms + BUSY_BACKOFF_MS;
        return;
    }
}

int glue_client_poll(struct glue_client *c, uint64_t now_ms, bool *done,
                     struct smr_buf *result, smr_seq *seq)
{
    *done = false;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (uint32_t i = 0; i < c->n && !*done; i++)
        while (!*done && zmq_msg_recv(&msg, c->socks[i], ZMQ_DONTWAIT) >= 0)
            on_reply(c, zmq_msg_data(&msg), zmq_msg_size(&msg), now_ms, done,
                     result, seq);
    zmq_msg_close(&msg);
    if (*done || !c->outstanding)
        return SMR_OK;
    if (c->resend_at_ms && now_ms >= c->resend_at_ms) {
        send_now(c, now_ms);
    } else if (!c->resend_at_ms && now_ms >= c->try_deadline_ms) {
        next_replica(c); /* same request id: the session table dedupes */
        send_now(c, now_ms);
    }
    return SMR_OK;
}

int glue_client_pollitems(struct glue_client *c, void *items, int max)
{
    zmq_pollitem_t *it = items;
    int k = 0;
    for (uint32_t i = 0; i < c->n && k < max; i++, k++) {
        it[k].socket = c->socks[i];
        it[k].fd = 0;
        it[k].events = ZMQ_POLLIN;
        it[k].revents = 0;
    }
    return k;
}

int glue_client_call(struct glue_client *c, const uint8_t *op,
                     uint32_t op_len, uint64_t timeout_ms,
                     struct smr_buf *result, smr_seq *seq)
{
    int rc = glue_client_submit(c, op, op_len);
    if (rc != SMR_OK)
        return rc;
    uint64_t deadline = mono_ms() + timeout_ms;
    zmq_pollitem_t items[SMR_NODES_MAX];
    int n = glue_client_pollitems(c, items, SMR_NODES_MAX);
    for (;;) {
        uint64_t now = mono_ms();
        bool done = false;
        rc = glue_client_poll(c, now, &done, result, seq);
        if (rc != SMR_OK || done)
            return rc;
        if (now >= deadline) {
            c->outstanding = false;
            return SMR_ETIMEOUT;
        }
        zmq_poll(items, n, 10);
    }
}

int glue_client_status(struct glue_client *c, smr_node_id id,
                       uint64_t timeout_ms, struct wire_status *out)
{
    if (id >= c->n)
        return SMR_EINVAL;
    uint64_t nonce;
    randombytes_buf(&nonce, sizeof nonce);
    struct wire_status_req q = {nonce};
    struct smr_buf f;
    smr_buf_init(&f);
    int rc = wire_encode_status_req(&f, &q);
    if (rc == SMR_OK &&
        zmq_send(c->socks[id], f.data, f.len, ZMQ_DONTWAIT) < 0)
        rc = SMR_EUNAVAILABLE;
    smr_buf_free(&f);
    if (rc != SMR_OK)
        return rc;
    uint64_t deadline = mono_ms() + timeout_ms;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    rc = SMR_ETIMEOUT;
    while (mono_ms() < deadline) {
        zmq_pollitem_t it = {c->socks[id], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10) <= 0)
            continue;
        if (zmq_msg_recv(&msg, c->socks[id], ZMQ_DONTWAIT) < 0)
            continue;
        if (wire_decode_status(zmq_msg_data(&msg), zmq_msg_size(&msg), out) ==
                SMR_OK &&
            out->nonce == nonce) {
            rc = SMR_OK;
            break;
        }
    }
    zmq_msg_close(&msg);
    return rc;
}

/* ------------------------------------------------------------ KV */

static int kv_call(struct glue_client *c, enum exe_kv_opcode opc,
                   const char *key, const void *expect, uint32_t expect_len,
                   const void *value, uint32_t value_len, uint64_t timeout_ms,
                   struct smr_buf *out_value)
{
    struct smr_buf op, res;
    smr_buf_init(&op);
    smr_buf_init(&res);
    size_t key_len = strlen(key);
    int rc = key_len > EXE_KV_KEY_BYTES_MAX || value_len > EXE_KV_VALUE_BYTES_MAX
                 ? SMR_ETOOBIG
                 : exe_kv_encode(&op, opc, key, (uint32_t)key_len, expect,
                                 expect_len, value, value_len);
    if (rc == SMR_OK)
        rc = glue_client_call(c, op.data, (uint32_t)op.len, timeout_ms, &res,
                              NULL);
    if (rc == SMR_OK) {
        if (res.len < 1)
            rc = SMR_EMALFORMED;
        else if (res.data[0] == EXE_KV_NOT_FOUND)
            rc = SMR_ENOTFOUND;
        else if (res.data[0] == EXE_KV_CAS_MISMATCH)
            rc = SMR_ECONTRACT;
        else if (res.data[0] != EXE_KV_OK)
            rc = SMR_EINVAL;
        else if (out_value)
            rc = smr_buf_set(out_value, res.data + 1, res.len - 1);
    }
    smr_buf_free(&op);
    smr_buf_free(&res);
    return rc;
}

int glue_kv_put(struct glue_client *c, const char *key, const void *value,
                uint32_t value_len, uint64_t timeout_ms)
{
    return kv_call(c, EXE_KV_PUT, key, NULL, 0, value, value_len, timeout_ms,
                   NULL);
}

int glue_kv_get(struct glue_client *c, const char *key, struct smr_buf *value,
                uint64_t timeout_ms)
{
    return kv_call(c, EXE_KV_GET, key, NULL, 0, NULL, 0, timeout_ms, value);
}

int glue_kv_del(struct glue_client *c, const char *key, uint64_t timeout_ms)
{
    return kv_call(c, EXE_KV_DEL, key, NULL, 0, NULL, 0, timeout_ms, NULL);
}

int glue_kv_cas(struct glue_client *c, const char *key, const void *expect,
                uint32_t expect_len, const void *value, uint32_t value_len,
                uint64_t timeout_ms)
{
    return kv_call(c, EXE_KV_CAS, key, expect, expect_len, value, value_len,
                   timeout_ms, NULL);
}
