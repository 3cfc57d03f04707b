/*
 * node.c: the replica driver (node.h): storage and the embedded executor
 * around a pure ordering core, which it reaches only through the core's
 * ops tables (core.h, ord_core.h). It does no network I/O itself: frames
 * come in through the glue_node_on_* calls and go out through the
 * glue_io_ops table, which node_loop.c fills with ZeroMQ sockets and the
 * simulator (sim.c) with its own network.
 *
 * The driver's half of the durability rule lives here: a SEND whose
 * after_lsn is not yet durable is held (bounded) until the group commit at
 * the end of the loop iteration has made it so. An fsync failure is fatal:
 * the replica stops instead of retrying (see sto.h).
 */
#include "node.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "node_internal.h"

void node_log(struct glue_node *n, const char *fmt, ...)
{
    if (n->opt.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "replica %u: ", n->id);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------- client routes */

static uint32_t route_slot(smr_client_id client)
{
    uint64_t h = client * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 40) % GLUE_ROUTES;
}

void glue_node_route_put(struct glue_node *n, smr_client_id client,
                      const uint8_t *id, size_t id_len)
{
    if (id_len == 0 || id_len > GLUE_ROUTE_ID_BYTES)
        return;
    struct glue_route *r = &n->routes[route_slot(client)];
    r->client_id = client;
    r->id_len = (uint8_t)id_len;
    memcpy(r->id, id, id_len);
}

static const struct glue_route *route_get(struct glue_node *n,
                                          smr_client_id client)
{
    const struct glue_route *r = &n->routes[route_slot(client)];
    return r->id_len && r->client_id == client ? r : NULL;
}

/* Sends one frame to a client through the ROUTER socket; drops it when the
 * client is gone or its queue is full (the client retries). */
static void client_send(struct glue_node *n, const uint8_t *id, size_t id_len,
                        const struct smr_buf *frame)
{
    n->io->client_send(n->io_arg, id, id_len, frame->data, frame->len);
}

void glue_node_reply_frame(struct glue_node *n, const uint8_t *id,
                           size_t id_len, const struct wire_reply *rep)
{
    struct wire_reply tagged;
    if (n->core_glue->reply_tag) {
        tagged = *rep;
        n->core_glue->reply_tag(n->core, n->id, &tagged);
        rep = &tagged;
    }
    if (wire_encode_reply(&n->scratch, rep) != SMR_OK)
        return;
    if (n->io->client_reply)
        n->io->client_reply(n->io_arg, id, id_len, n->scratch.data,
                            n->scratch.len);
    else
        client_send(n, id, id_len, &n->scratch);
}

static void reply_to(struct glue_node *n, smr_client_id client,
                     const struct wire_reply *rep)
{
    const struct glue_route *r = route_get(n, client);
    if (r)
        glue_node_reply_frame(n, r->id, r->id_len, rep);
}

void glue_node_reply_client(struct glue_node *n, const struct wire_reply *r)
{
    reply_to(n, r->client_id, r);
}

smr_seq glue_node_executed(const struct glue_node *n)
{
    return n->engine ? n->engine->executed_seq : glue_stream_executed(n);
}

void glue_node_send_status(struct glue_node *n, const uint8_t *id,
                           size_t id_len, uint64_t nonce)
{
    uint64_t first = 0, last = 0;
    if (sto_log_bounds(n->sto, &first, &last) != SMR_OK || last == 0)
        first = 0;
    struct wire_status st = {
        .nonce = nonce,
        .node_id = n->id,
        .is_leader = ord_core_is_leader(n->core_ops, n->core),
        .leader_hint = ord_core_leader_hint(n->core_ops, n->core),
        .ballot = ord_core_view(n->core_ops, n->core),
        .committed_seq = ord_core_commit_upto(n->core_ops, n->core),
        .executed_seq = glue_node_executed(n),
        .frames_rejected = wire_stats_rejected_total(&n->stats),
        .fsyncs = n->sto->syncs,
        .writes_per_fsync_x100 =
            n->sto->syncs ? n->sto->synced_writes * 100 / n->sto->syncs : 0,
        .peer_drops = n->peer_drops,
        .client_drops = n->client_drops,
        .paxos_dropped = ord_core_dropped(n->core_ops, n->core),
        .log_first = first,
    };
    if (wire_encode_status(&n->scratch, &st) == SMR_OK)
        client_send(n, id, id_len, &n->scratch);
}

void glue_node_on_reply(void *arg, smr_client_id client, smr_req_id req,
                         smr_seq seq, const uint8_t *reply, uint32_t len,
                         bool from_session)
{
    struct glue_node *n = arg;
    (void)from_session;
    if (n->replaying)
        return;
    struct wire_reply rep = {
        .client_id = client,
        .req_id = req,
        .seq = seq,
        .status = WIRE_REPLY_OK,
        .leader_hint = ord_core_leader_hint(n->core_ops, n->core),
        .result = reply,
        .result_len = len,
    };
    reply_to(n, client, &rep);
}

/* ------------------------------------------------------- peer sends */

static void peer_send_frame(struct glue_node *n, smr_node_id to,
                            const uint8_t *frame, size_t len)
{
    if (to >= n->cfg.n_replicas || to == n->id)
        return;
    n->io->peer_send(n->io_arg, to, frame, len);
}

static void hold_send(struct glue_node *n, uint32_t to_mask, smr_lsn after,
                      const struct smr_buf *frame)
{
    if (n->n_held == GLUE_HELD_MAX) {
        /* Bounded: dropping an unsent vote is safe (it is as if lost). */
        n->peer_drops++;
        return;
    }
    struct glue_held *h = &n->held[(n->held_head + n->n_held) % GLUE_HELD_MAX];
    h->to_mask = to_mask;
    h->after_lsn = after;
    smr_buf_reset(&h->frame);
    if (smr_buf_append(&h->frame, frame->data, frame->len) != SMR_OK) {
        n->peer_drops++;
        return;
    }
    n->n_held++;
}

void glue_node_release_held(struct glue_node *n)
{
    while (n->n_held) {
        struct glue_held *h = &n->held[n->held_head];
        if (h->after_lsn > n->core_durable_lsn)
            break;
        for (smr_node_id to = 0; to < n->cfg.n_replicas; to++)
            if (h->to_mask & (1u << to))
                peer_send_frame(n, to, h->frame.data, h->frame.len);
        if (h->frame.cap > GLUE_HELD_KEEP_BYTES)
            smr_buf_free(&h->frame);
        n->held_head = (n->held_head + 1) % GLUE_HELD_MAX;
        n->n_held--;
    }
}

static void out_send(struct glue_node *n, const struct ord_output *o)
{
    if (n->core_glue->msg_encode(&n->scratch, n->cfg.cluster_id, n->epoch,
                                 o->u.send.msg) != SMR_OK) {
        n->peer_drops++;
        return;
    }
    uint32_t mask = 0;
    for (smr_node_id to = 0; to < n->cfg.n_replicas; to++)
        if (to != n->id && (o->u.send.to == ORD_TO_ALL || o->u.send.to == to))
            mask |= 1u << to;
    if (mask && o->u.send.after_lsn > n->core_durable_lsn) {
        hold_send(n, mask, o->u.send.after_lsn, &n->scratch);
        return;
    }
    for (smr_node_id to = 0; to < n->cfg.n_replicas; to++)
        if (mask & (1u << to))
            peer_send_frame(n, to, n->scratch.data, n->scratch.len);
}

/* ------------------------------------------------------- outputs */

static int out_persist(struct glue_node *n, const struct ord_output *o)
{
    int rc;
    if (o->u.persist.is_log)
        rc = sto_log_put(n->sto, o->u.persist.index, o->u.persist.data,
                         o->u.persist.len, NULL);
    else
        rc = sto_state_put(n->sto, o->u.persist.key, o->u.persist.data,
                           o->u.persist.len, NULL);
    if (rc == SMR_OK)
        n->core_issued_lsn = o->u.persist.lsn;
    return rc;
}

static int checkpoint_if_due(struct glue_node *n)
{
    smr_seq seq = n->engine->accepted_seq; /* the snapshot waits for it */
    if (n->cfg.checkpoint_interval == 0 ||
        seq % n->cfg.checkpoint_interval != 0)
        return SMR_OK;
    smr_buf_reset(&n->snap);
    int rc = exe_snapshot(n->engine, &n->snap);
    if (rc != SMR_OK) {
        node_log(n, "checkpoint at seq %llu skipped: %s",
                 (unsigned long long)seq, smr_strerror(rc));
        return SMR_OK;
    }
    rc = sto_state_put(n->sto, GLUE_STATE_SNAPSHOT, n->snap.data, n->snap.len,
                       NULL);
    if (rc == SMR_OK)
        glue_state_snapshot_written(n, seq);
    return rc;
}

int glue_node_execute(struct glue_node *n, const struct smr_committed *c)
{
    int rc = exe_execute(n->engine, c);
    if (rc == SMR_EMALFORMED)
        rc = SMR_OK; /* applied as a no-op, alike on every replica */
    if (rc == SMR_OK && n->io->executed) {
        uint8_t digest[SMR_DIGEST_BYTES];
        exe_digest(n->engine, digest);
        n->io->executed(n->io_arg, c, digest);
    }
    return rc;
}

static int out_commit(struct glue_node *n, const struct smr_committed *c)
{
    if (!n->engine)
        return SMR_OK; /* a separate executor reads the stream */
    if (c->seq < exe_next_seq(n->engine))
        return SMR_OK; /* already applied (restored from a snapshot) */
    if (c->seq != exe_next_seq(n->engine)) {
        node_log(n, "committed stream gap: got %llu after %llu",
                 (unsigned long long)c->seq,
                 (unsigned long long)n->engine->accepted_seq);
        return SMR_ECORRUPT;
    }
    int rc = glue_node_execute(n, c);
    return rc == SMR_OK ? checkpoint_if_due(n) : rc;
}

/* The reply status that tells a client why a core refused its request. */
static enum wire_reply_status reject_status(enum ord_reject_reason why)
{
    switch (why) {
    case ORD_REJECT_BUSY: return WIRE_REPLY_BUSY;
    case ORD_REJECT_SIGN: return WIRE_REPLY_SIGN;
    case ORD_REJECT_NOT_LEADER: break;
    }
    return WIRE_REPLY_NOT_LEADER;
}

static void out_reject(struct glue_node *n, const struct ord_output *o)
{
    struct wire_reply rep = {
        .client_id = o->u.reject.client_id,
        .req_id = o->u.reject.req_id,
        .status = reject_status(o->u.reject.reason),
        .leader_hint = o->u.reject.leader_hint,
    };
    reply_to(n, o->u.reject.client_id, &rep);
}

/* Serves committed entries older than the core's window from storage, in
 * the protocol's catch-up message. */
static void out_fetch(struct glue_node *n, const struct ord_output *o)
{
    const struct glue_core_ops *g = n->core_glue;
    if (g->serve_fetch(n->core, n->id, n->sto, o->u.fetch.from_seq,
                       o->u.fetch.to_seq, n->fetch_bufs, n->cfg.cluster_id,
                       n->epoch, &n->scratch) == SMR_OK)
        peer_send_frame(n, o->u.fetch.to, n->scratch.data, n->scratch.len);
}

int glue_node_apply(struct glue_node *n, const struct ord_output *o,
                         size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = SMR_OK;
        switch (o[i].type) {
        case ORD_OUT_SEND: out_send(n, &o[i]); break;
        case ORD_OUT_PERSIST: rc = out_persist(n, &o[i]); break;
        case ORD_OUT_TIMER:
            n->timers[o[i].u.timer.id % GLUE_TIMERS].due_ms =
                n->io->mono_ms(n->io_arg) + o[i].u.timer.after_ms;
            n->timers[o[i].u.timer.id % GLUE_TIMERS].gen =
                o[i].u.timer.generation;
            break;
        case ORD_OUT_COMMIT: rc = out_commit(n, &o[i].u.commit); break;
        case ORD_OUT_REJECT: out_reject(n, &o[i]); break;
        case ORD_OUT_FETCH: out_fetch(n, &o[i]); break;
        case ORD_OUT_TRUNCATE:
            rc = sto_log_truncate_prefix(n->sto, o[i].u.truncate.below, NULL);
            break;
        case ORD_OUT_FETCH_STATE: glue_state_fetch(n, &o[i]); break;
        }
        if (rc != SMR_OK)
            return rc;
    }
    return SMR_OK;
}

int glue_node_step(struct glue_node *n, const struct ord_event *ev)
{
    const struct ord_output *o;
    size_t count;
    int rc = ord_core_step(n->core_ops, n->core, n->io->now_ms(n->io_arg), ev,
                           &o, &count);
    if (rc == SMR_OK)
        rc = glue_node_apply(n, o, count);
    return rc;
}

/* ------------------------------------------------------- the driver */

static void count(struct glue_node *n, int rc)
{
    wire_stats_count(&n->stats, rc);
}

int glue_node_on_peer_frame(struct glue_node *n, const uint8_t *f, size_t len)
{
    const void *m = NULL;
    uint64_t cluster;
    smr_epoch epoch;
    smr_node_id from;
    int type;
    int rc = n->core_glue->msg_decode(f, len, n->rx_msg, &cluster, &epoch,
                                      &from, &m);
    if (rc == SMR_ETYPE && wire_peek_type(f, len, &type) == SMR_OK &&
        (type == WIRE_STATE_REQ || type == WIRE_STATE_CHUNK))
        return glue_state_on_frame(n, type, f, len); /* not the protocol's */
    if (rc == SMR_OK && (cluster != n->cfg.cluster_id || epoch != n->epoch ||
                         from >= n->cfg.n_replicas || from == n->id))
        rc = SMR_EINVAL;
    count(n, rc);
    if (rc != SMR_OK)
        return SMR_OK; /* dropped and counted */
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = from;
    ev.u.message.msg = m;
    return glue_node_step(n, &ev);
}

static const char UNAUTHENTICATED[] =
    "this protocol takes only authenticated requests: configure the client "
    "with the cluster's keys";

static int on_client_request(struct glue_node *n, const uint8_t *id,
                             size_t id_len, const uint8_t *f, size_t len)
{
    struct smr_request r;
    int rc = wire_decode_request(f, len, &r);
    count(n, rc);
    if (rc != SMR_OK)
        return SMR_OK;
    if (n->core_glue->request_decode) {
        struct wire_reply rep = {
            .client_id = r.client_id,
            .req_id = r.req_id,
            .status = WIRE_REPLY_ERROR,
            .leader_hint = WIRE_LEADER_UNKNOWN,
            .result = (const uint8_t *)UNAUTHENTICATED,
            .result_len = sizeof UNAUTHENTICATED - 1,
        };
        glue_node_reply_frame(n, id, id_len, &rep);
        return SMR_OK;
    }
    if (!ord_core_is_leader(n->core_ops, n->core)) {
        struct wire_reply rep = {
            .client_id = r.client_id,
            .req_id = r.req_id,
            .status = WIRE_REPLY_NOT_LEADER,
            .leader_hint = ord_core_leader_hint(n->core_ops, n->core),
        };
        glue_node_reply_frame(n, id, id_len, &rep);
        return SMR_OK;
    }
    glue_node_route_put(n, r.client_id, id, id_len);
    struct ord_event ev = {.type = ORD_EV_REQUEST};
    ev.u.request = r;
    return glue_node_step(n, &ev);
}

/* A request carrying the client's authenticator (PBFT): every replica takes
 * it, since the client sends to all; the core checks the tags. The client's
 * route is kept only if the core took the request, so a forged request
 * cannot redirect another client's replies. */
static int on_client_auth_request(struct glue_node *n, const uint8_t *id,
                                  size_t id_len, const uint8_t *f, size_t len)
{
    uint64_t cluster;
    smr_epoch epoch;
    struct smr_request r;
    smr_node_id from;
    const void *m = NULL;
    int rc = n->core_glue->request_decode(f, len, n->rx_msg, &cluster, &epoch,
                                          &r, &from, &m);
    if (rc == SMR_OK && (cluster != n->cfg.cluster_id || epoch != n->epoch))
        rc = SMR_EINVAL;
    count(n, rc);
    if (rc != SMR_OK)
        return SMR_OK;
    struct glue_route *slot = &n->routes[route_slot(r.client_id)];
    struct glue_route before = *slot;
    uint64_t dropped = ord_core_dropped(n->core_ops, n->core);
    glue_node_route_put(n, r.client_id, id, id_len);
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = from;
    ev.u.message.msg = m;
    rc = glue_node_step(n, &ev);
    if (ord_core_dropped(n->core_ops, n->core) != dropped)
        *slot = before; /* refused: not this client's request */
    return rc;
}

int glue_node_on_client_frame(struct glue_node *n, const uint8_t *route,
                              size_t route_len, const uint8_t *f, size_t len)
{
    int type;
    int rc = wire_peek_type(f, len, &type);
    if (rc != SMR_OK) {
        count(n, rc);
        return SMR_OK;
    }
    if (type == WIRE_REQUEST)
        return on_client_request(n, route, route_len, f, len);
    if (type == WIRE_PBFT && n->core_glue->request_decode)
        return on_client_auth_request(n, route, route_len, f, len);
    if (type == WIRE_STATUS_REQ) {
        struct wire_status_req q;
        rc = wire_decode_status_req(f, len, &q);
        count(n, rc);
        if (rc == SMR_OK)
            glue_node_send_status(n, route, route_len, q.nonce);
        return SMR_OK;
    }
    count(n, SMR_ETYPE);
    return SMR_OK;
}

static int fire_timers(struct glue_node *n)
{
    uint64_t now = n->io->mono_ms(n->io_arg);
    for (uint32_t t = 0; t < GLUE_TIMERS; t++) {
        struct glue_timer *tm = &n->timers[t];
        if (!tm->due_ms || tm->due_ms > now)
            continue;
        tm->due_ms = 0;
        struct ord_event ev = {.type = ORD_EV_TIMER};
        ev.u.timer.id = t;
        ev.u.timer.generation = tm->gen;
        int rc = glue_node_step(n, &ev);
        if (rc != SMR_OK)
            return rc;
    }
    return SMR_OK;
}

/* Group commit: one fsync covers every write of this iteration. */
int glue_node_make_durable(struct glue_node *n)
{
    if (!sto_pending(n->sto) && !glue_state_sync_wanted(n))
        return SMR_OK;
    smr_lsn issued = n->core_issued_lsn;
    struct glue_state_due due;
    glue_state_sync_begin(n, &due);
    int rc = sto_sync(n->sto);
    if (rc != SMR_OK)
        return rc;
    if (issued > n->core_durable_lsn) {
        n->core_durable_lsn = issued;
        glue_node_release_held(n);
        struct ord_event ev = {.type = ORD_EV_PERSISTED};
        ev.u.persisted.lsn = issued;
        rc = glue_node_step(n, &ev);
    }
    return rc == SMR_OK ? glue_state_sync_end(n, &due) : rc;
}

int glue_node_end_burst(struct glue_node *n, bool any)
{
    /* A parallel engine's replies leave once its commands finish: for the
     * entries the burst committed, and for those its group commit did. */
    int rc = n->engine ? exe_barrier(n->engine) : SMR_OK;
    if (rc == SMR_OK && any) {
        struct ord_event ev = {.type = ORD_EV_FLUSH};
        rc = glue_node_step(n, &ev);
    }
    if (rc == SMR_OK)
        rc = fire_timers(n);
    if (rc == SMR_OK)
        glue_state_tick(n);
    if (n->io->client_flush) /* replies need not wait for this fsync */
        n->io->client_flush(n->io_arg);
    if (rc == SMR_OK)
        rc = glue_node_make_durable(n);
    if (rc == SMR_OK && n->engine)
        rc = exe_barrier(n->engine);
    return rc;
}

long glue_node_next_timeout_ms(struct glue_node *n, long cap_ms)
{
    if (sto_pending(n->sto) || glue_state_sync_wanted(n))
        return 0;
    uint64_t now = n->io->mono_ms(n->io_arg);
    long wait = cap_ms;
    for (uint32_t t = 0; t < GLUE_TIMERS; t++) {
        uint64_t due = n->timers[t].due_ms;
        if (!due)
            continue;
        long left = due > now ? (long)(due - now) : 0;
        if (left < wait)
            wait = left;
    }
    return wait;
}

int glue_node_start(struct glue_node *n)
{
    const struct ord_output *o;
    size_t count_out;
    int rc = ord_core_start(n->core_ops, n->core, n->io->now_ms(n->io_arg), &o,
                            &count_out);
    if (rc == SMR_OK)
        rc = glue_node_apply(n, o, count_out);
    return rc;
}
