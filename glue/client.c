/*
 * client.c: the client library (client.h): leader finding, retries with
 * the same request id, and the KV helpers. Under a Byzantine fault model
 * (PBFT) requests carry the client's MAC vector and a result needs f+1
 * matching replies (reply_quorum.h).
 */
#include "client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clock.h"
#include "contract.h"
#include "exe.h"
#include "reply_quorum.h"
#include "zmq_util.h"

#define TRY_TIMEOUT_MS 400 /* then try the next replica */
#define NO_LEADER_BACKOFF_MS 20
#define BUSY_BACKOFF_MS 5
#define FULL_RETRY_MS 1 /* a send found the socket's queue full */
#define SESSIONS_MAX 65536

struct glue_session {
    smr_req_id req_id;
    smr_node_id target;
    struct smr_buf frame; /* the encoded request, kept for retries */
    struct smr_buf op;    /* Byzantine: its op, to sign a retransmission */
    bool signed_frame;    /* Byzantine: frame carries the proof */
    bool outstanding;
    uint64_t resend_at_ms; /* 0: sent, waiting */
    uint64_t try_deadline_ms;
    /* Byzantine: send to every replica (a first request, which tells each
     * replica where to reply, or a retry); else to the primary alone. */
    bool to_all;
    bool introduced;
    struct glue_reply_quorum votes;
};

struct glue_client {
    void *zctx;
    bool own_zctx;
    uint32_t n;
    void *socks[SMR_NODES_MAX];
    smr_client_id base_id; /* session i has client id base_id + i */
    uint32_t n_sessions;
    struct glue_session *sessions;
    smr_node_id leader_guess;
    /* Byzantine fault model: authenticated requests, f+1 matching replies */
    bool byzantine;
    uint32_t f;
    uint64_t cluster_id;
    smr_epoch epoch;
    struct glue_keys *keys; /* sodium_malloc'd */
    /* session i's key with replica j: session_keys[i * n + j] */
    uint8_t (*session_keys)[ORD_PBFT_KEY_BYTES];
    glue_client_fail_fn fail;
    void *fail_arg;
    char error[256]; /* the last ERROR reply's message */
    /* glue_client_call's result, filled by its completion callback */
    struct smr_buf *call_result;
    smr_seq *call_seq;
    bool call_done;
    int call_rc;
};

/* Under a Byzantine fault model: the credential, f and the epoch. */
static int open_byzantine(struct glue_client *c, const struct glue_config *cfg,
                          const struct ord_contract *ct, char *err,
                          size_t err_len)
{
    struct ord_pbft_config pc;
    c->byzantine = true;
    c->f = ct->faults_tolerated;
    c->cluster_id = cfg->cluster_id;
    glue_config_pbft(cfg, 0, NULL, &pc);
    c->epoch = pc.epoch;
    c->keys = sodium_malloc(sizeof *c->keys);
    if (!c->keys)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    int rc = glue_keys_load(cfg, SMR_NODES_MAX, true, c->keys, err, err_len);
    if (rc != SMR_OK)
        return rc;
    /* Ids of the credential's block; the low half is drawn (pbft.h). */
    uint32_t low;
    randombytes_buf(&low, sizeof low);
    low %= UINT32_MAX - c->n_sessions;
    c->base_id = ((smr_client_id)c->keys->client_block << 32) | low;
    c->session_keys = sodium_allocarray((size_t)c->n_sessions * c->n,
                                        sizeof *c->session_keys);
    if (!c->session_keys)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    for (uint32_t i = 0; i < c->n_sessions && rc == SMR_OK; i++)
        rc = glue_pbft_client_keys(c->keys, c->n, c->base_id + i,
                                   &c->session_keys[(size_t)i * c->n]);
    return rc;
}

int glue_client_open(const struct glue_config *cfg, void *zmq_context,
                     uint32_t sessions, struct glue_client **out, char *err,
                     size_t err_len)
{
    if (sessions == 0 || sessions > SESSIONS_MAX)
        return glue_say(SMR_EINVAL, err, err_len,
                        "sessions: must be 1 to 65536");
    if (sodium_init() < 0)
        return glue_say(SMR_EIO, err, err_len,
                        "libsodium failed to initialize");
    struct glue_composition k;
    int rc = glue_composition_build(cfg, &k, err, err_len);
    if (rc != SMR_OK)
        return rc;
    struct glue_client *c = calloc(1, sizeof *c);
    if (!c)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    c->sessions = calloc(sessions, sizeof *c->sessions);
    c->n_sessions = sessions;
    c->zctx = zmq_context;
    if (!c->zctx) {
        c->zctx = zmq_ctx_new();
        c->own_zctx = true;
    }
    c->n = cfg->n_replicas;
    randombytes_buf(&c->base_id, sizeof c->base_id);
    c->base_id &= (1ULL << 62) - 1; /* positive, and base + i never wraps */
    if (k.ord.byzantine && c->sessions) {
        rc = open_byzantine(c, cfg, &k.ord, err, err_len);
        if (rc != SMR_OK) {
            glue_client_destroy(&c);
            return rc;
        }
    }
    c->leader_guess = (smr_node_id)(c->base_id % c->n);
    bool ok = c->sessions && c->zctx;
    for (uint32_t i = 0; ok && i < c->n; i++) {
        const struct glue_replica_config *r = glue_config_replica(cfg, i);
        c->socks[i] = zmq_socket(c->zctx, ZMQ_DEALER);
        ok = c->socks[i] && glue_zsock_harden(c->socks[i]) == SMR_OK &&
             zmq_connect(c->socks[i], r->client) == 0;
    }
    if (!ok) {
        glue_client_destroy(&c);
        return glue_say(SMR_EIO, err, err_len,
                        "cannot open the client's sockets");
    }
    *out = c;
    return SMR_OK;
}

int glue_client_new_sessions(const struct glue_config *cfg, void *zmq_context,
                             uint32_t sessions, struct glue_client **out)
{
    return glue_client_open(cfg, zmq_context, sessions, out, NULL, 0);
}

void glue_client_on_fail(struct glue_client *c, glue_client_fail_fn fn,
                         void *arg)
{
    c->fail = fn;
    c->fail_arg = arg;
}

int glue_client_new(const struct glue_config *cfg, void *zmq_context,
                    struct glue_client **out)
{
    return glue_client_new_sessions(cfg, zmq_context, 1, out);
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
    for (uint32_t i = 0; c->sessions && i < c->n_sessions; i++) {
        smr_buf_free(&c->sessions[i].frame);
        smr_buf_free(&c->sessions[i].op);
    }
    free(c->sessions);
    if (c->keys)
        sodium_free(c->keys);
    if (c->session_keys)
        sodium_free(c->session_keys);
    free(c);
    *pc = NULL;
}

smr_client_id glue_client_id(const struct glue_client *c)
{
    return c->base_id;
}

/* A send that finds a socket's queue full (many sessions on one
 * connection) is tried again after FULL_RETRY_MS, not after a whole
 * TRY_TIMEOUT_MS; the same request id makes a duplicate harmless. */
static void send_now(struct glue_client *c, struct glue_session *s,
                     uint64_t now_ms)
{
    bool sent = false;
    for (uint32_t i = 0; i < c->n; i++)
        if ((s->to_all || i == s->target) &&
            zmq_send(c->socks[i], s->frame.data, s->frame.len,
                     ZMQ_DONTWAIT) >= 0)
            sent = true;
    s->resend_at_ms = sent ? 0 : now_ms + FULL_RETRY_MS;
    s->try_deadline_ms = now_ms + TRY_TIMEOUT_MS;
}

/* A session's request frame under a Byzantine fault model: the MAC vector,
 * and with `sign` the proof (a retransmission: TOCS §4.1, docs/pbft.md
 * "Faulty clients"). */
static int encode_byzantine(struct glue_client *c, uint32_t session,
                            const struct smr_request *r, bool sign)
{
    c->sessions[session].signed_frame = sign;
    return glue_pbft_request_encode_keyed(
        &c->sessions[session].frame, c->cluster_id, c->epoch,
        (const uint8_t(*)[ORD_PBFT_KEY_BYTES]) &
            c->session_keys[(size_t)session * c->n],
        c->n, r, sign ? c->keys : NULL);
}

int glue_client_submit(struct glue_client *c, uint32_t session,
                       const uint8_t *op, uint32_t op_len)
{
    if (session >= c->n_sessions)
        return SMR_EINVAL;
    struct glue_session *s = &c->sessions[session];
    if (s->outstanding)
        return SMR_EFULL;
    if (op_len > SMR_OP_BYTES_MAX)
        return SMR_ETOOBIG;
    struct smr_request r = {c->base_id + session, s->req_id + 1, op, op_len};
    int rc = c->byzantine ? encode_byzantine(c, session, &r, false)
                          : wire_encode_request(&s->frame, &r);
    if (rc == SMR_OK && c->byzantine) {
        smr_buf_reset(&s->op);
        rc = smr_buf_append(&s->op, op, op_len);
    }
    if (rc != SMR_OK)
        return rc;
    s->req_id++;
    s->outstanding = true;
    s->target = c->leader_guess;
    s->to_all = c->byzantine && !s->introduced;
    s->introduced = true;
    glue_reply_quorum_reset(&s->votes, c->n, c->f);
    send_now(c, s, glue_mono_ms());
    return SMR_OK;
}

int glue_client_abandon(struct glue_client *c, uint32_t session)
{
    if (session >= c->n_sessions)
        return SMR_EINVAL;
    /* A late reply carries this req_id; the next submit moves past it and
     * on_reply ignores a session with nothing outstanding meanwhile. */
    c->sessions[session].outstanding = false;
    return SMR_OK;
}

/* A replica refused the request for good (an ERROR reply): the session
 * stops retrying and the message is kept for glue_client_error. */
static void refused(struct glue_client *c, uint32_t idx,
                    const struct wire_reply *rep)
{
    c->sessions[idx].outstanding = false;
    size_t len = rep->result_len < sizeof c->error - 1 ? rep->result_len
                                                       : sizeof c->error - 1;
    for (size_t i = 0; i < len; i++) /* printable: it reaches a terminal */
        c->error[i] = rep->result[i] >= 32 && rep->result[i] < 127
                          ? (char)rep->result[i]
                          : '?';
    c->error[len] = '\0';
    if (c->fail)
        c->fail(c->fail_arg, idx, SMR_EREFUSED);
}

const char *glue_client_error(const struct glue_client *c)
{
    return c->error;
}

/* Byzantine: the reply of replica `from`, if it carries that replica's tag,
 * joins the request's vote. Other replies (BUSY, ERROR) are ignored rather
 * than obeyed: a faulty primary answering BUSY to every resend would
 * otherwise keep the client from ever retrying at every replica, which is
 * what deposes it. SIGN is obeyed once per request: the request goes signed
 * to that replica at once (a faulty replica asking costs a signature,
 * nothing else). */
static void vote(struct glue_client *c, uint32_t idx, smr_node_id from,
                 const struct wire_reply *rep, glue_client_done_fn done,
                 void *arg)
{
    struct glue_session *s = &c->sessions[idx];
    if (from >= c->n ||
        !glue_pbft_reply_check(c->session_keys[(size_t)idx * c->n + from],
                               c->cluster_id, c->epoch, from, rep))
        return; /* not replica `from`'s reply */
    if (rep->status == WIRE_REPLY_SIGN) {
        struct smr_request r = {c->base_id + idx, s->req_id, s->op.data,
                                (uint32_t)s->op.len};
        if (!s->signed_frame && encode_byzantine(c, idx, &r, true) == SMR_OK)
            (void)zmq_send(c->socks[from], s->frame.data, s->frame.len,
                           ZMQ_DONTWAIT); /* lost: the retry covers it */
        return;
    }
    switch (glue_reply_quorum_add(&s->votes, from, rep)) {
    case GLUE_VOTE_PENDING:
        return;
    case GLUE_VOTE_DONE:
        s->outstanding = false;
        if (rep->leader_hint < c->n)
            c->leader_guess = rep->leader_hint;
        done(arg, idx, rep->result, rep->result_len, rep->seq);
        return;
    case GLUE_VOTE_FAILED:
        s->outstanding = false;
        if (c->fail)
            c->fail(c->fail_arg, idx, SMR_EDISAGREE);
        return;
    }
}

/* Handles one reply frame. Stale, foreign and malformed frames are ignored:
 * the request they answer is no longer outstanding. */
static void on_reply(struct glue_client *c, smr_node_id from, const uint8_t *f,
                     size_t len, uint64_t now_ms, glue_client_done_fn done,
                     void *arg)
{
    struct wire_reply rep;
    if (wire_decode_reply(f, len, &rep) != SMR_OK ||
        rep.client_id < c->base_id ||
        rep.client_id - c->base_id >= c->n_sessions)
        return;
    uint32_t idx = (uint32_t)(rep.client_id - c->base_id);
    struct glue_session *s = &c->sessions[idx];
    if (!s->outstanding || rep.req_id != s->req_id)
        return;
    if (c->byzantine)
        return vote(c, idx, from, &rep, done, arg);
    switch (rep.status) {
    case WIRE_REPLY_OK:
        s->outstanding = false;
        c->leader_guess = s->target;
        done(arg, idx, rep.result, rep.result_len, rep.seq);
        return;
    case WIRE_REPLY_NOT_LEADER:
        if (rep.leader_hint < c->n && rep.leader_hint != s->target) {
            s->target = c->leader_guess = rep.leader_hint;
            send_now(c, s, now_ms);
        } else {
            s->target = (s->target + 1) % c->n;
            s->resend_at_ms = now_ms + NO_LEADER_BACKOFF_MS;
        }
        return;
    case WIRE_REPLY_BUSY:
        s->resend_at_ms = now_ms + BUSY_BACKOFF_MS;
        return;
    case WIRE_REPLY_ERROR:
        refused(c, idx, &rep);
        return;
    case WIRE_REPLY_SIGN:
        return; /* PBFT only (vote) */
    }
}

/* Handles one frame from replica `from`: a REPLY, or a REPLIES frame (the
 * replies one replica's loop iteration had for this connection), each of
 * whose replies counts as if it had come alone. */
static void on_frame(struct glue_client *c, smr_node_id from, const uint8_t *f,
                     size_t len, uint64_t now_ms, glue_client_done_fn done,
                     void *arg)
{
    struct wire_replies it;
    if (wire_decode_replies(f, len, &it) != SMR_OK) {
        on_reply(c, from, f, len, now_ms, done, arg);
        return;
    }
    const uint8_t *rf;
    size_t rlen;
    while (wire_replies_next(&it, &rf, &rlen))
        on_reply(c, from, rf, rlen, now_ms, done, arg);
}

static void retry_due(struct glue_client *c, uint64_t now_ms)
{
    for (uint32_t i = 0; i < c->n_sessions; i++) {
        struct glue_session *s = &c->sessions[i];
        if (!s->outstanding)
            continue;
        if (s->resend_at_ms && now_ms >= s->resend_at_ms) {
            send_now(c, s, now_ms);
        } else if (!s->resend_at_ms && now_ms >= s->try_deadline_ms) {
            /* Same request id at the next replica: the session table
             * answers it if the first attempt was applied after all. Under
             * Byzantine faults, to every replica (TOCS §4.1): a faulty
             * primary cannot then hide the request from the backups. */
            s->target = (s->target + 1) % c->n;
            s->to_all = c->byzantine;
            if (c->byzantine && !s->signed_frame) {
                struct smr_request r = {c->base_id + i, s->req_id,
                                        s->op.data, (uint32_t)s->op.len};
                if (encode_byzantine(c, i, &r, true) != SMR_OK)
                    continue; /* not reached: it encoded unsigned */
            }
            send_now(c, s, now_ms);
        }
    }
}

int glue_client_poll(struct glue_client *c, uint64_t now_ms,
                     glue_client_done_fn done, void *arg)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (uint32_t i = 0; i < c->n; i++)
        for (int k = 0;
             k < 4096 && zmq_msg_recv(&msg, c->socks[i], ZMQ_DONTWAIT) >= 0;
             k++)
            on_frame(c, i, zmq_msg_data(&msg), zmq_msg_size(&msg), now_ms, done,
                     arg);
    zmq_msg_close(&msg);
    retry_due(c, now_ms);
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

static void call_failed(void *arg, uint32_t session, int rc)
{
    struct glue_client *c = arg;
    (void)session;
    c->call_done = true;
    c->call_rc = rc;
}

static void call_done(void *arg, uint32_t session, const uint8_t *result,
                      uint32_t len, smr_seq seq)
{
    struct glue_client *c = arg;
    (void)session;
    c->call_done = true;
    c->call_rc =
        c->call_result ? smr_buf_set(c->call_result, result, len) : SMR_OK;
    if (c->call_seq)
        *c->call_seq = seq;
}

int glue_client_call(struct glue_client *c, const uint8_t *op, uint32_t op_len,
                     uint64_t timeout_ms, struct smr_buf *result, smr_seq *seq)
{
    int rc = glue_client_submit(c, 0, op, op_len);
    if (rc != SMR_OK)
        return rc;
    c->call_result = result;
    c->call_seq = seq;
    c->call_done = false;
    glue_client_fail_fn saved = c->fail;
    void *saved_arg = c->fail_arg;
    glue_client_on_fail(c, call_failed, c);
    uint64_t deadline = glue_mono_ms() + timeout_ms;
    zmq_pollitem_t items[SMR_NODES_MAX];
    int n = glue_client_pollitems(c, items, SMR_NODES_MAX);
    for (;;) {
        uint64_t now = glue_mono_ms();
        glue_client_poll(c, now, call_done, c);
        if (c->call_done || now >= deadline) {
            glue_client_on_fail(c, saved, saved_arg);
            if (c->call_done)
                return c->call_rc;
            c->sessions[0].outstanding = false;
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
    if (rc == SMR_OK && zmq_send(c->socks[id], f.data, f.len, ZMQ_DONTWAIT) < 0)
        rc = SMR_EUNAVAILABLE;
    smr_buf_free(&f);
    if (rc != SMR_OK)
        return rc;
    uint64_t deadline = glue_mono_ms() + timeout_ms;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    rc = SMR_ETIMEOUT;
    while (glue_mono_ms() < deadline) {
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
    int rc =
        key_len > EXE_KV_KEY_BYTES_MAX || value_len > EXE_KV_VALUE_BYTES_MAX
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
