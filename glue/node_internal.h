/*
 * node_internal.h: the replica driver's state, shared by node.c (outputs),
 * node_loop.c (the event loop) and node_setup.c (recovery, sockets).
 */
#ifndef STRATA_GLUE_NODE_INTERNAL_H
#define STRATA_GLUE_NODE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "clock.h"
#include "core.h"
#include "exe.h"
#include "node.h"
#include "sto.h"
#include "wire.h"

#define GLUE_ROUTES 65536          /* client routes (direct-mapped) */
#define GLUE_ROUTE_ID_BYTES 32     /* ZeroMQ routing ids are 5 bytes */
#define GLUE_HELD_MAX 65536        /* sends waiting for durability */
#define GLUE_TIMERS 4
#define GLUE_BURST_MAX 512         /* frames per socket per iteration */
#define GLUE_BUNDLES 8             /* client routes replies are held for */
#define GLUE_STATE_SNAPSHOT "exe/snapshot"

struct glue_route {
    smr_client_id client_id;
    uint8_t id_len;
    uint8_t id[GLUE_ROUTE_ID_BYTES];
};

/* The replies one input burst has for one client route, sent as one
 * REPLIES frame before the burst's group commit or when the loop iteration
 * ends (node_loop.c). */
struct glue_bundle {
    uint8_t id_len;
    uint8_t id[GLUE_ROUTE_ID_BYTES];
    struct smr_buf frame; /* a REPLIES frame, or empty */
};

/* A frame held until its LSN is durable, once for all its receivers. */
struct glue_held {
    uint32_t to_mask; /* bit i: send to replica i */
    smr_lsn after_lsn;
    struct smr_buf frame;
};
/* A held frame's buffer above this is freed once sent, so the ring does not
 * keep GLUE_HELD_MAX large buffers alive. */
#define GLUE_HELD_KEEP_BYTES 4096

/* An executor process following this replica's Committed stream. */
#define GLUE_CONSUMERS_MAX 16
#define GLUE_STREAM_SNDHWM 128 /* frames queued per stream consumer */
struct glue_consumer {
    uint8_t id_len; /* 0: slot unused */
    uint8_t id[GLUE_ROUTE_ID_BYTES];
    smr_seq next_seq; /* next entry to send */
    smr_seq limit;    /* last entry the credit allows */
    smr_seq executed; /* the consumer's cursor at its last SUBSCRIBE */
    uint64_t last_seen_ms;
    int who;          /* the executor's replica (authenticated), or -1 */
};

/* A snapshot being fetched from peers (state.c). */
struct glue_xfer {
    smr_seq seq; /* 0: none */
    uint8_t digest[SMR_DIGEST_BYTES];
    uint32_t sources;   /* bit i: replica i claims it */
    uint32_t bad;       /* bit i: replica i failed this fetch */
    smr_node_id src;    /* the one asked */
    struct smr_buf buf; /* its bytes so far, in order */
    uint64_t total;     /* 0 until the first chunk */
    uint64_t asked_ms;  /* the last STATE_REQ */
    uint64_t source_ms; /* when `src` was first asked */
};

/* What a group commit made durable for state transfer (state.c): taken
 * before the sync, reported after it. */
struct glue_state_due {
    smr_seq claim_seq; /* a snapshot written before the sync */
    uint8_t claim_digest[SMR_DIGEST_BYTES];
    smr_seq install; /* a snapshot installed before the sync */
};

struct glue_timer {
    uint64_t due_ms; /* monotonic; 0 = unset */
    uint64_t gen;
};

struct glue_node {
    struct glue_config cfg;
    struct glue_node_options opt;
    const struct glue_io_ops *io;
    void *io_arg;
    smr_node_id id;
    /* The ordering core, protocol-neutral (core.h): `core_glue` creates it
     * and speaks its peer messages, `core_ops` (core_glue->ord) drives it. */
    const struct glue_core_ops *core_glue;
    const struct ord_core_ops *core_ops;
    void *core;
    smr_epoch epoch;   /* carried by every peer message */
    void *rx_msg;      /* core_glue->msg_scratch_bytes: a decoded message */

    void *zctx;
    bool own_zctx;
    void *peer_in;
    void *peer_out[SMR_NODES_MAX];
    void *client_sock;
    bool stream_on;    /* executors are separate: serve the stream */
    void *stream_sock; /* its ROUTER socket (NULL when detached) */
    /* Under Byzantine faults the stream socket is a CURVE server and this
     * ZAP handler names each executor by its replica (curve.h). */
    struct glue_zap *zap;
    uint64_t zap_refused; /* handshakes refused, counted into `stats` */
    struct glue_consumer consumers[GLUE_CONSUMERS_MAX];
    struct smr_buf stream_rec;
    smr_seq stream_checkpoint;

    struct sto *sto;
    bool own_sto;
    struct exe_app *app;
    struct exe_engine *engine;

    struct glue_timer timers[GLUE_TIMERS];
    smr_lsn core_issued_lsn;  /* last core LSN written to storage */
    smr_lsn core_durable_lsn; /* last core LSN made durable */
    struct glue_held *held;
    uint32_t held_head, n_held;
    struct glue_route *routes;
    bool replaying;

    struct smr_buf scratch;
    struct smr_buf snap;
    struct smr_buf *fetch_bufs;
    struct smr_buf rx;

    /* Truncation and state transfer (state.c): PBFT with every executor
     * embedded. */
    bool state_transfer;
    smr_seq snap_latest; /* seq of the snapshot in storage (0: none) */
    smr_seq claim_seq;   /* a snapshot written, reported once durable */
    uint8_t claim_digest[SMR_DIGEST_BYTES];
    struct smr_buf claim_bytes; /* its bytes */
    struct smr_buf due_bytes;   /* ... while its sync runs */
    smr_seq install_pending;    /* installed, reported once durable */
    struct glue_xfer xfer;
    /* The snapshots peers fetch: the last two claimed or installed (a
     * replica whose stable checkpoint lags may still want the older). */
    struct smr_buf served, served_prev;
    smr_seq served_seq, served_prev_seq;
    struct smr_buf installed_bytes; /* an install, until it is durable */
    uint64_t serve_at[SMR_NODES_MAX]; /* per peer: its chunk budget (GCRA) */

    struct wire_stats stats;
    uint64_t peer_drops;
    uint64_t client_drops;
    struct glue_bundle bundles[GLUE_BUNDLES];
    uint32_t n_bundles;

    atomic_bool stop;
    atomic_bool running;
    pthread_mutex_t info_lock;
    struct glue_node_info info;
};

void node_log(struct glue_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int glue_node_step(struct glue_node *n, const struct ord_event *ev);

/* The driver, free of I/O (node.c): the event loop (node_loop.c) and the
 * simulator call these. Each returns SMR_OK or a fatal error (SMR_EFSYNC:
 * the replica must stop). */
int glue_node_start(struct glue_node *n);
int glue_node_on_peer_frame(struct glue_node *n, const uint8_t *f, size_t len);
int glue_node_on_client_frame(struct glue_node *n, const uint8_t *route,
                              size_t route_len, const uint8_t *f, size_t len);
/* Ends an input burst: FLUSH when anything arrived, due timers, then one
 * group commit and the sends that waited for it. */
int glue_node_end_burst(struct glue_node *n, bool any);
/* Group commit: syncs every queued write, releases the sends that waited
 * for it and tells the core (ORD_EV_PERSISTED). */
int glue_node_make_durable(struct glue_node *n);
/* Milliseconds until the next timer (at most cap_ms); 0 when writes wait. */
long glue_node_next_timeout_ms(struct glue_node *n, long cap_ms);
/* The ZeroMQ io ops (node_loop.c). */
extern const struct glue_io_ops glue_zmq_io;
/* Applies one committed entry through the embedded executor (a malformed
 * batch is a no-op, alike everywhere) and tells the executed observer. */
int glue_node_execute(struct glue_node *n, const struct smr_committed *c);
int glue_node_apply(struct glue_node *n, const struct ord_output *o,
                    size_t count);
void glue_node_release_held(struct glue_node *n);
void glue_node_on_reply(void *arg, smr_client_id client, smr_req_id req,
                        smr_seq seq, const uint8_t *reply, uint32_t len,
                        bool from_session);
/* Sends a STATUS frame to the client route `id`. */
void glue_node_send_status(struct glue_node *n, const uint8_t *id,
                           size_t id_len, uint64_t nonce);
void glue_node_reply_frame(struct glue_node *n, const uint8_t *id,
                           size_t id_len, const struct wire_reply *rep);
/* Routes a reply from an executor to its client, if this replica serves
 * that client. */
void glue_node_reply_client(struct glue_node *n, const struct wire_reply *r);
/* The executed seq: the embedded executor's, else the furthest consumer's. */
smr_seq glue_node_executed(const struct glue_node *n);

/* The Committed stream to separate executors (stream.c), free of I/O: one
 * frame from the consumer routed `id` (SUBSCRIBE, REPLY, CHECKPOINT;
 * anything else is dropped and counted), and a pump that sends what the
 * consumers' credit allows through io->stream_send. `who` is the replica
 * whose executor sent it, as authenticated links prove (curve.h), or -1
 * when the links are not authenticated (crash faults: every consumer is
 * taken as the replica's own). */
void glue_stream_on_frame(struct glue_node *n, const uint8_t *id,
                          size_t id_len, int who, const uint8_t *f,
                          size_t len);
void glue_stream_pump(struct glue_node *n);
smr_seq glue_stream_executed(const struct glue_node *n);

void glue_node_route_put(struct glue_node *n, smr_client_id client,
                         const uint8_t *id, size_t id_len);

/* State transfer (state.c). */
/* The embedded executor wrote its snapshot at seq (in n->snap, which it
 * takes; n->snap is left with a buffer to reuse). */
void glue_state_snapshot_written(struct glue_node *n, smr_seq seq);
/* Around a group commit: what was written before it is reported to the
 * core after it (ORD_EV_CHECKPOINT, ORD_EV_STATE_INSTALLED). */
void glue_state_sync_begin(struct glue_node *n, struct glue_state_due *due);
int glue_state_sync_end(struct glue_node *n, const struct glue_state_due *due);
/* True when a report waits for a group commit with nothing else to sync. */
bool glue_state_sync_wanted(const struct glue_node *n);
/* Encodes a STATE_CHUNK from c->from to `to` with its tag (the simulator's
 * Byzantine replicas re-encode what they alter). */
int glue_state_encode_chunk(const struct glue_node *n, smr_node_id to,
                            struct wire_state_chunk *c, struct smr_buf *out);
void glue_state_fetch(struct glue_node *n, const struct ord_output *o);
/* Replaces a source that went quiet. */
void glue_state_tick(struct glue_node *n);
/* A STATE_REQ or STATE_CHUNK frame from a peer. */
int glue_state_on_frame(struct glue_node *n, int type, const uint8_t *f,
                        size_t len);

#endif
