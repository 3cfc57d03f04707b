/*
 * node_loop.c: the replica's event loop (node.h describes one iteration).
 *
 * Every frame from a socket is untrusted: it is decoded strictly, and a
 * frame that does not decode, or claims another cluster or an impossible
 * sender, is dropped and counted (wire_stats), never trusted.
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "node_internal.h"

static void count(struct glue_node *n, int rc)
{
    wire_stats_count(&n->stats, rc);
}

static int on_peer_frame(struct glue_node *n, const uint8_t *f, size_t len)
{
    struct ord_paxos_entry entries[ORD_PAXOS_ENTRIES_MAX];
    struct ord_paxos_msg m;
    uint64_t cluster;
    smr_epoch epoch;
    int rc = wire_decode_paxos(f, len, &cluster, &epoch, &m, entries);
    if (rc == SMR_OK && (cluster != n->cfg.cluster_id ||
                         epoch != n->paxos_cfg.epoch ||
                         m.from >= n->cfg.n_replicas || m.from == n->id))
        rc = SMR_EINVAL;
    count(n, rc);
    if (rc != SMR_OK)
        return SMR_OK; /* dropped and counted */
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = m.from;
    ev.u.message.msg = &m;
    return glue_node_step(n, &ev);
}

static int on_client_request(struct glue_node *n, const uint8_t *id,
                             size_t id_len, const uint8_t *f, size_t len)
{
    struct smr_request r;
    int rc = wire_decode_request(f, len, &r);
    count(n, rc);
    if (rc != SMR_OK)
        return SMR_OK;
    if (!ord_paxos_is_leader(n->core)) {
        struct wire_reply rep = {
            .client_id = r.client_id,
            .req_id = r.req_id,
            .status = WIRE_REPLY_NOT_LEADER,
            .leader_hint = ord_paxos_leader_hint(n->core),
        };
        glue_node_reply_frame(n, id, id_len, &rep);
        return SMR_OK;
    }
    glue_node_route_put(n, r.client_id, id, id_len);
    struct ord_event ev = {.type = ORD_EV_REQUEST};
    ev.u.request = r;
    return glue_node_step(n, &ev);
}

static int on_client_frame(struct glue_node *n, const uint8_t *id,
                           size_t id_len, const uint8_t *f, size_t len)
{
    int type;
    int rc = wire_peek_type(f, len, &type);
    if (rc != SMR_OK) {
        count(n, rc);
        return SMR_OK;
    }
    if (type == WIRE_REQUEST)
        return on_client_request(n, id, id_len, f, len);
    if (type == WIRE_STATUS_REQ) {
        struct wire_status_req q;
        rc = wire_decode_status_req(f, len, &q);
        count(n, rc);
        if (rc == SMR_OK)
            glue_node_send_status(n, id, id_len, q.nonce);
        return SMR_OK;
    }
    count(n, SMR_ETYPE);
    return SMR_OK;
}

/* Receives one message into n->rx; false when none is waiting. */
static bool recv_part(void *sock, zmq_msg_t *msg)
{
    return zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) >= 0;
}

static int drain_peers(struct glue_node *n, bool *any)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = SMR_OK;
    for (int i = 0; i < GLUE_BURST_MAX && rc == SMR_OK; i++) {
        if (!recv_part(n->peer_in, &msg))
            break;
        *any = true;
        rc = on_peer_frame(n, zmq_msg_data(&msg), zmq_msg_size(&msg));
    }
    zmq_msg_close(&msg);
    return rc;
}

static int drain_clients(struct glue_node *n, bool *any)
{
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    int rc = SMR_OK;
    for (int i = 0; i < GLUE_BURST_MAX && rc == SMR_OK; i++) {
        if (!recv_part(n->client_sock, &id))
            break;
        *any = true;
        if (!zmq_msg_more(&id) || zmq_msg_recv(&body, n->client_sock, 0) < 0) {
            count(n, SMR_EMALFORMED);
            continue;
        }
        bool extra = zmq_msg_more(&body);
        while (zmq_msg_more(&body)) /* discard extra parts */
            zmq_msg_recv(&body, n->client_sock, 0);
        if (extra) {
            count(n, SMR_EMALFORMED);
            continue;
        }
        rc = on_client_frame(n, zmq_msg_data(&id), zmq_msg_size(&id),
                             zmq_msg_data(&body), zmq_msg_size(&body));
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return rc;
}

static int fire_timers(struct glue_node *n)
{
    uint64_t now = glue_mono_ms();
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
static int make_durable(struct glue_node *n)
{
    if (!sto_pending(n->sto))
        return SMR_OK;
    smr_lsn issued = n->core_issued_lsn;
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
    return rc;
}

static long poll_timeout_ms(struct glue_node *n)
{
    if (sto_pending(n->sto))
        return 0;
    uint64_t now = glue_mono_ms();
    long wait = 100;
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

static void publish_info(struct glue_node *n)
{
    pthread_mutex_lock(&n->info_lock);
    n->info.id = n->id;
    n->info.is_leader = ord_paxos_is_leader(n->core);
    n->info.leader_hint = ord_paxos_leader_hint(n->core);
    n->info.committed_seq = ord_paxos_commit_upto(n->core);
    n->info.executed_seq = glue_node_executed(n);
    n->info.fsyncs = n->sto->syncs;
    n->info.synced_writes = n->sto->synced_writes;
    n->info.frames_rejected = wire_stats_rejected_total(&n->stats);
    pthread_mutex_unlock(&n->info_lock);
}

static int iterate(struct glue_node *n)
{
    zmq_pollitem_t items[3] = {
        {n->peer_in, 0, ZMQ_POLLIN, 0},
        {n->client_sock, 0, ZMQ_POLLIN, 0},
        {n->stream_sock, 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll(items, n->stream_sock ? 3 : 2, poll_timeout_ms(n)) < 0 &&
        errno != EINTR)
        return SMR_EIO;
    bool any = false;
    int rc = drain_peers(n, &any);
    if (rc == SMR_OK)
        rc = drain_clients(n, &any);
    if (rc == SMR_OK)
        rc = glue_stream_drain(n, &any);
    if (rc == SMR_OK && any) {
        struct ord_event ev = {.type = ORD_EV_FLUSH};
        rc = glue_node_step(n, &ev);
    }
    if (rc == SMR_OK)
        rc = fire_timers(n);
    if (rc == SMR_OK)
        rc = make_durable(n);
    glue_stream_pump(n);
    publish_info(n);
    return rc;
}

int glue_node_run(struct glue_node *n)
{
    const struct ord_output *o;
    size_t count_out;
    atomic_store(&n->running, true);
    int rc = ord_paxos_start(n->core, glue_now_ms(), &o, &count_out);
    if (rc == SMR_OK) {
        rc = glue_node_apply(n, o, count_out);
    }
    while (rc == SMR_OK && !atomic_load(&n->stop))
        rc = iterate(n);
    if (rc == SMR_EFSYNC)
        node_log(n, "fsync failed: stopping the replica (a retry could "
                    "report success on lost data)");
    else if (rc != SMR_OK)
        node_log(n, "stopping: %s", smr_strerror(rc));
    publish_info(n);
    atomic_store(&n->running, false);
    return rc;
}

void glue_node_stop(struct glue_node *n)
{
    atomic_store(&n->stop, true);
}

void glue_node_info(struct glue_node *n, struct glue_node_info *out)
{
    pthread_mutex_lock(&n->info_lock);
    *out = n->info;
    pthread_mutex_unlock(&n->info_lock);
    if (!atomic_load(&n->running) && n->engine)
        exe_digest(n->engine, out->digest);
}
