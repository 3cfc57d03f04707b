/*
 * node_loop.c: the replica's ZeroMQ event loop around the I/O-free driver
 * in node.c (node.h describes one iteration).
 *
 * Every frame from a socket is untrusted: the driver decodes it strictly,
 * and a frame that does not decode, or claims another cluster or an
 * impossible sender, is dropped and counted (wire_stats), never trusted.
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "node_internal.h"

/* ------------------------------------------------------- ZeroMQ io ops */

static void zmq_peer_send(void *arg, smr_node_id to, const uint8_t *frame,
                          size_t len)
{
    struct glue_node *n = arg;
    if (zmq_send(n->peer_out[to], frame, len, ZMQ_DONTWAIT) < 0)
        n->peer_drops++; /* the protocol tolerates loss; never block */
}

static void zmq_client_send(void *arg, const uint8_t *route, size_t route_len,
                            const uint8_t *frame, size_t len)
{
    struct glue_node *n = arg;
    if (zmq_send(n->client_sock, route, route_len,
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(n->client_sock, frame, len, ZMQ_DONTWAIT) < 0)
        n->client_drops++; /* the client retries */
}

/* Sends a route's held replies: bare when there is one, else as one
 * REPLIES frame. */
static void bundle_send(struct glue_node *n, struct glue_bundle *b)
{
    uint32_t count = wire_replies_count(&b->frame);
    struct wire_replies it;
    const uint8_t *one;
    size_t one_len;
    if (count == 1 &&
        wire_decode_replies(b->frame.data, b->frame.len, &it) == SMR_OK &&
        wire_replies_next(&it, &one, &one_len))
        zmq_client_send(n, b->id, b->id_len, one, one_len);
    else if (count > 1 &&
             (zmq_send(n->client_sock, b->id, b->id_len,
                       ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
              zmq_send(n->client_sock, b->frame.data, b->frame.len,
                       ZMQ_DONTWAIT) < 0))
        n->client_drops += count;
    b->frame.len = 0;
}

/* Sends every held route's replies: before the group commit of each burst
 * (glue_node_end_burst: a reply need not wait for this iteration's fsync)
 * and at the end of the iteration (replies the burst's end produced). */
static void zmq_client_flush(void *arg)
{
    struct glue_node *n = arg;
    for (uint32_t i = 0; i < n->n_bundles; i++)
        bundle_send(n, &n->bundles[i]);
    n->n_bundles = 0;
}

/* Holds a REPLY frame for its route until the burst ends, so that a client
 * connection with many sessions (strata bench, a proxy) gets one frame per
 * burst rather than one per request. With more routes than GLUE_BUNDLES,
 * the oldest held route leaves early; a bundle that would pass its bounds
 * (wire_replies_add) leaves and a new one starts; a reply over half the
 * byte bound leaves at once, bare. */
static void zmq_client_reply(void *arg, const uint8_t *route,
                             size_t route_len, const uint8_t *frame,
                             size_t len)
{
    struct glue_node *n = arg;
    if (route_len > GLUE_ROUTE_ID_BYTES || len > WIRE_REPLIES_BYTES_MAX / 2) {
        zmq_client_send(n, route, route_len, frame, len);
        return;
    }
    struct glue_bundle *b = NULL;
    for (uint32_t i = 0; i < n->n_bundles && !b; i++)
        if (n->bundles[i].id_len == route_len &&
            memcmp(n->bundles[i].id, route, route_len) == 0)
            b = &n->bundles[i];
    if (!b && n->n_bundles == GLUE_BUNDLES) {
        bundle_send(n, &n->bundles[0]);
        struct glue_bundle oldest = n->bundles[0];
        memmove(&n->bundles[0], &n->bundles[1],
                (GLUE_BUNDLES - 1) * sizeof *n->bundles);
        n->bundles[GLUE_BUNDLES - 1] = oldest;
        n->n_bundles--;
    }
    if (!b) {
        b = &n->bundles[n->n_bundles++];
        b->id_len = (uint8_t)route_len;
        memcpy(b->id, route, route_len);
    }
    int rc = wire_replies_add(&b->frame, frame, len);
    if (rc == SMR_ETOOBIG) { /* no room: send what is held, start again */
        bundle_send(n, b);
        rc = wire_replies_add(&b->frame, frame, len);
    }
    if (rc != SMR_OK)
        n->client_drops++; /* the client retries */
}

static bool zmq_stream_send(void *arg, const uint8_t *route, size_t route_len,
                            const uint8_t *frame, size_t len)
{
    struct glue_node *n = arg;
    return zmq_send(n->stream_sock, route, route_len,
                    ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
           zmq_send(n->stream_sock, frame, len, ZMQ_DONTWAIT) >= 0;
}

static uint64_t zmq_now_ms(void *arg)
{
    (void)arg;
    return glue_now_ms();
}

static uint64_t zmq_mono_ms(void *arg)
{
    (void)arg;
    return glue_mono_ms();
}

const struct glue_io_ops glue_zmq_io = {
    .peer_send = zmq_peer_send,
    .client_send = zmq_client_send,
    .client_reply = zmq_client_reply,
    .client_flush = zmq_client_flush,
    .stream_send = zmq_stream_send,
    .now_ms = zmq_now_ms,
    .mono_ms = zmq_mono_ms,
};

/* ------------------------------------------------------- draining */

static int drain_peers(struct glue_node *n, bool *any)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = SMR_OK;
    for (int i = 0; i < GLUE_BURST_MAX && rc == SMR_OK; i++) {
        if (zmq_msg_recv(&msg, n->peer_in, ZMQ_DONTWAIT) < 0)
            break;
        *any = true;
        rc = glue_node_on_peer_frame(n, zmq_msg_data(&msg), zmq_msg_size(&msg));
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
        if (zmq_msg_recv(&id, n->client_sock, ZMQ_DONTWAIT) < 0)
            break;
        *any = true;
        if (!zmq_msg_more(&id) || zmq_msg_recv(&body, n->client_sock, 0) < 0) {
            wire_stats_count(&n->stats, SMR_EMALFORMED);
            continue;
        }
        bool extra = zmq_msg_more(&body);
        while (zmq_msg_more(&body)) /* discard extra parts */
            zmq_msg_recv(&body, n->client_sock, 0);
        if (extra) {
            wire_stats_count(&n->stats, SMR_EMALFORMED);
            continue;
        }
        rc = glue_node_on_client_frame(n, zmq_msg_data(&id), zmq_msg_size(&id),
                                       zmq_msg_data(&body),
                                       zmq_msg_size(&body));
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return rc;
}

/* Frames from separate executors: [routing id, body]. */
static void drain_stream(struct glue_node *n, bool *any)
{
    if (!n->stream_sock)
        return;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    for (int i = 0; i < GLUE_BURST_MAX; i++) {
        if (zmq_msg_recv(&id, n->stream_sock, ZMQ_DONTWAIT) < 0)
            break;
        *any = true;
        if (!zmq_msg_more(&id) ||
            zmq_msg_recv(&body, n->stream_sock, 0) < 0 ||
            zmq_msg_more(&body)) {
            while (zmq_msg_more(&body))
                zmq_msg_recv(&body, n->stream_sock, 0);
            wire_stats_count(&n->stats, SMR_EMALFORMED);
            continue;
        }
        /* Authenticated links name their executor; an unnamed frame on
         * one is dropped (see curve.h). */
        int who = n->zap ? glue_zap_peer(&body) : -1;
        if (n->zap && who < 0) {
            wire_stats_count(&n->stats, SMR_EFORBIDDEN);
            continue;
        }
        glue_stream_on_frame(n, zmq_msg_data(&id), zmq_msg_size(&id), who,
                             zmq_msg_data(&body), zmq_msg_size(&body));
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
}

/* Executors' handshakes wait for the ZAP handler; each one it refuses (a
 * key no replica holds) is counted as a rejected frame. */
static void serve_zap(struct glue_node *n)
{
    struct glue_zap_stats st;
    glue_zap_serve(n->zap);
    glue_zap_stats(n->zap, &st);
    for (; n->zap_refused < st.refused; n->zap_refused++)
        wire_stats_count(&n->stats, SMR_EFORBIDDEN);
}

static void publish_info(struct glue_node *n)
{
    pthread_mutex_lock(&n->info_lock);
    n->info.id = n->id;
    n->info.is_leader = ord_core_is_leader(n->core_ops, n->core);
    n->info.leader_hint = ord_core_leader_hint(n->core_ops, n->core);
    n->info.committed_seq = ord_core_commit_upto(n->core_ops, n->core);
    n->info.executed_seq = glue_node_executed(n);
    n->info.fsyncs = n->sto->syncs;
    n->info.synced_writes = n->sto->synced_writes;
    n->info.frames_rejected = wire_stats_rejected_total(&n->stats);
    pthread_mutex_unlock(&n->info_lock);
}

static int iterate(struct glue_node *n)
{
    zmq_pollitem_t items[4] = {
        {n->peer_in, 0, ZMQ_POLLIN, 0},
        {n->client_sock, 0, ZMQ_POLLIN, 0},
        {n->stream_sock, 0, ZMQ_POLLIN, 0},
        {n->zap ? glue_zap_socket(n->zap) : NULL, 0, ZMQ_POLLIN, 0},
    };
    int n_items = n->zap ? 4 : n->stream_sock ? 3 : 2;
    if (zmq_poll(items, n_items, glue_node_next_timeout_ms(n, 100)) < 0 &&
        errno != EINTR)
        return SMR_EIO;
    if (n->zap)
        serve_zap(n);
    bool any = false;
    int rc = drain_peers(n, &any);
    if (rc == SMR_OK)
        rc = drain_clients(n, &any);
    if (rc == SMR_OK)
        drain_stream(n, &any);
    if (rc == SMR_OK)
        rc = glue_node_end_burst(n, any);
    glue_stream_pump(n);
    zmq_client_flush(n);
    publish_info(n);
    return rc;
}

int glue_node_run(struct glue_node *n)
{
    atomic_store(&n->running, true);
    int rc = glue_node_start(n);
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
