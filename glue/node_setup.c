/*
 * node_setup.c: creating a replica (storage, recovery, executor replay,
 * sockets) and tearing it down.
 *
 * Recovery order: the core's durable state (its state keys, then its log
 * from the index it asks for; for Paxos the promise, the commit mark and
 * the accepted log above the mark); then the executor from its last
 * snapshot, replaying the committed log from the snapshot up to the
 * core's recovered commit point; then the core starts and delivers the
 * rest as it learns it.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "contract.h"
#include "curve.h"
#include "executor.h"
#include "fsutil.h"
#include "node_internal.h"
#include "zmq_util.h"

#define SET_ERR(...) ((void)glue_say(SMR_OK, err, err_len, __VA_ARGS__))

static int open_storage(struct glue_node *n, char *err, size_t err_len)
{
    if (n->opt.store) {
        n->sto = n->opt.store;
        return SMR_OK;
    }
    n->own_sto = true;
    if (n->cfg.storage_engine == GLUE_STORAGE_MEMORY)
        return sto_mem_open(&n->sto);
    char path[GLUE_PATH_BYTES_MAX + 32];
    snprintf(path, sizeof path, "%s/replica-%u", n->cfg.storage_path, n->id);
    if (glue_mkdir_p(path) != 0) {
        SET_ERR("storage.path: cannot create %s: %s", path, strerror(errno));
        return SMR_EIO;
    }
    return sto_rocksdb_open(path, n->cfg.storage_sync, &n->sto, err, err_len);
}

static int recover_core(struct glue_node *n, char *err, size_t err_len)
{
    const struct ord_core_ops *ops = n->core_ops;
    const char *const *keys = ops->state_keys;
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = SMR_OK;
    for (size_t i = 0; keys[i] && rc == SMR_OK; i++) {
        rc = sto_state_get(n->sto, keys[i], &b);
        if (rc == SMR_ENOTFOUND) {
            rc = SMR_OK;
            continue;
        }
        if (rc == SMR_OK)
            rc = ops->recover_state(n->core, keys[i], b.data, b.len);
        if (rc != SMR_OK)
            SET_ERR("recovery: state %s: %s", keys[i], smr_strerror(rc));
    }
    uint64_t first = 0, last = 0;
    if (rc == SMR_OK)
        rc = sto_log_bounds(n->sto, &first, &last);
    smr_seq from = ops->recover_log_from(n->core);
    for (smr_seq s = from; rc == SMR_OK && last && s <= last; s++) {
        rc = sto_log_get(n->sto, s, &b);
        if (rc == SMR_ENOTFOUND) {
            rc = SMR_OK;
            continue;
        }
        if (rc == SMR_OK)
            rc = ops->recover_log(n->core, s, b.data, b.len);
        if (rc != SMR_OK)
            SET_ERR("recovery: log entry %llu: %s", (unsigned long long)s,
                    smr_strerror(rc));
    }
    smr_buf_free(&b);
    return rc;
}

/* Restores the last snapshot, then replays the committed log up to the
 * core's recovered commit point. Replies are not sent during replay. */
static int recover_executor(struct glue_node *n, char *err, size_t err_len)
{
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = sto_state_get(n->sto, GLUE_STATE_SNAPSHOT, &b);
    if (rc == SMR_OK)
        rc = exe_restore(n->engine, b.data, b.len);
    if (rc == SMR_OK)
        n->snap_latest = n->engine->executed_seq;
    else if (rc == SMR_ENOTFOUND)
        rc = SMR_OK;
    if (rc != SMR_OK)
        SET_ERR("recovery: executor snapshot: %s", smr_strerror(rc));
    smr_seq upto = ord_core_recovered_commit(n->core_ops, n->core);
    n->replaying = true;
    for (smr_seq s = n->engine->executed_seq + 1; rc == SMR_OK && s <= upto;
         s++) {
        struct smr_committed c;
        rc = sto_log_get(n->sto, s, &b);
        if (rc == SMR_OK)
            rc = ord_core_record_decode(n->core_ops, n->core, b.data, b.len,
                                        s, &c);
        if (rc == SMR_OK)
            rc = glue_node_execute(n, &c);
        if (rc != SMR_OK)
            SET_ERR("recovery: replaying committed entry %llu: %s",
                    (unsigned long long)s, smr_strerror(rc));
    }
    if (rc == SMR_OK)
        rc = exe_barrier(n->engine); /* replies of the replay stay here */
    n->replaying = false;
    smr_buf_free(&b);
    return rc;
}

static void *new_socket(struct glue_node *n, int type)
{
    void *s = zmq_socket(n->zctx, type);
    if (s && glue_zsock_harden(s) != SMR_OK) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int open_sockets(struct glue_node *n, char *err, size_t err_len)
{
    const struct glue_replica_config *me = glue_config_replica(&n->cfg, n->id);
    int hwm = 100000;
    n->peer_in = new_socket(n, ZMQ_PULL);
    n->client_sock = new_socket(n, ZMQ_ROUTER);
    if (!n->peer_in || !n->client_sock) {
        SET_ERR("sockets: %s", zmq_strerror(errno));
        return SMR_EIO;
    }
    zmq_setsockopt(n->peer_in, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(n->client_sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(n->client_sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_bind(n->peer_in, me->peer) != 0) {
        SET_ERR("replicas[%u].peer: cannot bind %s: %s", n->id, me->peer,
                zmq_strerror(errno));
        return SMR_EIO;
    }
    if (zmq_bind(n->client_sock, me->client) != 0) {
        SET_ERR("replicas[%u].client: cannot bind %s: %s", n->id, me->client,
                zmq_strerror(errno));
        return SMR_EIO;
    }
    for (smr_node_id i = 0; i < n->cfg.n_replicas; i++) {
        if (i == n->id)
            continue;
        int one = 1;
        n->peer_out[i] = new_socket(n, ZMQ_PUSH);
        if (!n->peer_out[i]) {
            SET_ERR("sockets: %s", zmq_strerror(errno));
            return SMR_EIO;
        }
        zmq_setsockopt(n->peer_out[i], ZMQ_SNDHWM, &hwm, sizeof hwm);
        /* Queue nothing for a peer that is not connected: a restarted peer
         * must not receive a burst of stale messages. */
        zmq_setsockopt(n->peer_out[i], ZMQ_IMMEDIATE, &one, sizeof one);
        const struct glue_replica_config *r = glue_config_replica(&n->cfg, i);
        if (zmq_connect(n->peer_out[i], r->peer) != 0) {
            SET_ERR("replicas[%u].peer: cannot connect %s: %s", i, r->peer,
                    zmq_strerror(errno));
            return SMR_EIO;
        }
    }
    return SMR_OK;
}

/* Under Byzantine faults the stream's links are authenticated: a ZAP
 * handler that knows every replica's executor by its CURVE key, and a CURVE
 * server keyed from this replica's Ed25519 key (curve.h). */
static int secure_stream(struct glue_node *n, char *err, size_t err_len)
{
    struct glue_composition k;
    int rc = glue_composition_build(&n->cfg, &k, err, err_len);
    if (rc != SMR_OK || !k.ord.byzantine)
        return rc;
    uint8_t curve[SMR_NODES_MAX][GLUE_CURVE_KEY_BYTES];
    uint8_t pk[GLUE_CURVE_KEY_BYTES], sk[GLUE_CURVE_KEY_BYTES];
    rc = glue_curve_keys_load(&n->cfg, n->id, pk, sk, curve, err, err_len);
    if (rc == SMR_OK &&
        glue_zap_new(n->zctx, (const uint8_t(*)[32])curve, n->cfg.n_replicas,
                     &n->zap) != SMR_OK)
        rc = glue_say(SMR_EIO, err, err_len,
                      "replicas[%u].stream: cannot start the ZAP handler "
                      "(a replica serving an authenticated stream needs a "
                      "ZeroMQ context of its own)",
                      n->id);
    if (rc == SMR_OK && glue_curve_server(n->stream_sock, sk, n->zap) != SMR_OK)
        rc = glue_say(SMR_EIO, err, err_len,
                      "replicas[%u].stream: cannot make it a CURVE server: %s",
                      n->id, zmq_strerror(errno));
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* The Committed stream's ROUTER socket, for separate executors. At most
 * GLUE_STREAM_SNDHWM frames wait per consumer: one that does not read
 * pauses its stream there instead of filling memory. */
static int open_stream_socket(struct glue_node *n, char *err, size_t err_len)
{
    const struct glue_replica_config *me = glue_config_replica(&n->cfg, n->id);
    /* Mandatory routing: a full queue refuses the send (the stream pauses
     * there) instead of dropping a frame in the middle of the stream. */
    int one = 1, hwm = GLUE_STREAM_SNDHWM;
    n->stream_sock = new_socket(n, ZMQ_ROUTER);
    if (!n->stream_sock ||
        zmq_setsockopt(n->stream_sock, ZMQ_ROUTER_MANDATORY, &one,
                       sizeof one) != 0 ||
        zmq_setsockopt(n->stream_sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0) {
        SET_ERR("replicas[%u].stream: cannot create a socket: %s", n->id,
                zmq_strerror(errno));
        return SMR_EIO;
    }
    int rc = secure_stream(n, err, err_len);
    if (rc != SMR_OK)
        return rc;
    if (zmq_bind(n->stream_sock, me->stream) != 0) {
        SET_ERR("replicas[%u].stream: cannot bind %s: %s", n->id, me->stream,
                zmq_strerror(errno));
        return SMR_EIO;
    }
    return SMR_OK;
}

static int alloc_buffers(struct glue_node *n)
{
    n->held = calloc(GLUE_HELD_MAX, sizeof *n->held);
    n->routes = calloc(GLUE_ROUTES, sizeof *n->routes);
    n->fetch_bufs =
        calloc(n->core_glue->fetch_entries_max, sizeof *n->fetch_bufs);
    n->rx_msg = calloc(1, n->core_glue->msg_scratch_bytes);
    return n->held && n->routes && n->fetch_bufs && n->rx_msg ? SMR_OK
                                                              : SMR_ENOMEM;
}

static int build(struct glue_node *n, char *err, size_t err_len)
{
    int rc = alloc_buffers(n);
    if (rc == SMR_OK)
        rc = open_storage(n, err, err_len);
    if (rc != SMR_OK)
        return rc;
    /* Election timeouts must differ between runs of one replica too; the
     * clock comes through the io ops so that the simulator stays
     * deterministic. */
    uint64_t rng_mix = n->io->now_ms(n->io_arg) * 0x9E3779B97F4A7C15ULL;
    rc = n->core_glue->create(&n->cfg, n->id, rng_mix, &n->core, &n->epoch,
                              err, err_len);
    if (rc != SMR_OK)
        return rc; /* `err` says why */
    bool embedded = glue_config_replica(&n->cfg, n->id)->stream[0] == '\0';
    n->stream_on = !embedded;
    n->state_transfer = glue_config_state_transfer(&n->cfg);
    if (rc == SMR_OK && embedded)
        rc = exe_app_new(n->cfg.app, &n->app);
    if (rc == SMR_OK && embedded)
        rc = glue_engine_new(&n->cfg, n->opt.sched_seed, n->app,
                             glue_node_on_reply, n, &n->engine);
    if (rc != SMR_OK) {
        SET_ERR("cannot create the replica: %s", smr_strerror(rc));
        return rc;
    }
    rc = recover_core(n, err, err_len);
    if (rc == SMR_OK && embedded)
        rc = recover_executor(n, err, err_len);
    if (n->opt.io)
        return rc; /* detached: the caller carries the frames */
    if (rc == SMR_OK)
        rc = open_sockets(n, err, err_len);
    if (rc == SMR_OK && n->stream_on)
        rc = open_stream_socket(n, err, err_len);
    return rc;
}

int glue_node_new(const struct glue_config *cfg, smr_node_id id,
                  const struct glue_node_options *opt, struct glue_node **out,
                  char *err, size_t err_len)
{
    int rc = glue_config_check(cfg, err, err_len);
    if (rc == SMR_OK)
        rc = glue_contract_check(cfg, opt && opt->allow_unsafe_storage, err,
                                 err_len);
    if (rc != SMR_OK)
        return rc;
    if (!glue_config_replica(cfg, id)) {
        SET_ERR("--id: replica %u is not in the config (it has %u replicas)",
                id, cfg->n_replicas);
        return SMR_ECONFIG;
    }
    const struct glue_core_ops *core = glue_core_find(cfg->protocol);
    if (!core) {
        SET_ERR("protocol: %s cannot run in the replica driver yet",
                cfg->protocol);
        return SMR_ECONFIG;
    }
    struct glue_node *n = calloc(1, sizeof *n);
    if (!n)
        return SMR_ENOMEM;
    n->core_glue = core;
    n->core_ops = core->ord;
    n->cfg = *cfg;
    n->id = id;
    if (opt)
        n->opt = *opt;
    pthread_mutex_init(&n->info_lock, NULL);
    n->io = n->opt.io ? n->opt.io : &glue_zmq_io;
    n->io_arg = n->opt.io ? n->opt.io_arg : n;
    n->zctx = n->opt.zmq_context;
    if (!n->zctx && !n->opt.io) {
        n->zctx = zmq_ctx_new();
        n->own_zctx = true;
    }
    rc = n->zctx || n->opt.io ? build(n, err, err_len) : SMR_EIO;
    if (rc != SMR_OK) {
        glue_node_destroy(&n);
        return rc;
    }
    *out = n;
    return SMR_OK;
}

void glue_node_destroy(struct glue_node **pn)
{
    if (!pn || !*pn)
        return;
    struct glue_node *n = *pn;
    if (n->peer_in)
        zmq_close(n->peer_in);
    if (n->client_sock)
        zmq_close(n->client_sock);
    if (n->stream_sock)
        zmq_close(n->stream_sock);
    glue_zap_destroy(&n->zap);
    smr_buf_free(&n->stream_rec);
    for (smr_node_id i = 0; i < SMR_NODES_MAX; i++)
        if (n->peer_out[i])
            zmq_close(n->peer_out[i]);
    if (n->own_zctx && n->zctx)
        zmq_ctx_term(n->zctx);
    exe_engine_destroy(&n->engine);
    exe_app_destroy(&n->app);
    if (n->core_ops)
        n->core_ops->destroy(&n->core);
    if (n->own_sto)
        sto_close(&n->sto);
    if (n->held)
        for (uint32_t i = 0; i < GLUE_HELD_MAX; i++)
            smr_buf_free(&n->held[i].frame);
    for (uint32_t i = 0; i < GLUE_BUNDLES; i++)
        smr_buf_free(&n->bundles[i].frame);
    if (n->fetch_bufs)
        for (uint32_t i = 0; i < n->core_glue->fetch_entries_max; i++)
            smr_buf_free(&n->fetch_bufs[i]);
    free(n->held);
    free(n->routes);
    free(n->fetch_bufs);
    free(n->rx_msg);
    smr_buf_free(&n->scratch);
    smr_buf_free(&n->snap);
    smr_buf_free(&n->served);
    smr_buf_free(&n->served_prev);
    smr_buf_free(&n->installed_bytes);
    smr_buf_free(&n->claim_bytes);
    smr_buf_free(&n->due_bytes);
    smr_buf_free(&n->xfer.buf);
    smr_buf_free(&n->rx);
    pthread_mutex_destroy(&n->info_lock);
    free(n);
    *pn = NULL;
}
