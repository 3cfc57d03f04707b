/*
 * node.h: one replica: its ordering core, storage and executor, driven by
 * one event-loop thread over ZeroMQ.
 *
 * The loop polls the peer socket (PULL, replica-to-replica protocol frames:
 * PAXOS or PBFT) and the client socket (ROUTER: REQUEST and STATUS_REQ in,
 * STATUS and REPLY out, a burst's replies to one client connection
 * bundled as one REPLIES frame), steps the core with every decoded frame,
 * then ends each burst with FLUSH (so requests that arrived together share
 * a batch), fires due timers, makes every queued write durable with one
 * fsync (group commit), and only then releases the sends that waited for
 * it. The executor runs in the same thread and consumes the Committed
 * stream directly: a committed entry is already durable on a quorum, so no
 * second fsync sits on the write path.
 */
#ifndef STRATA_GLUE_NODE_H
#define STRATA_GLUE_NODE_H

#include "config.h"
#include "smr.h"

struct glue_node;

/* The driver's only ways out, so that the same driver runs on ZeroMQ (the
 * default, when `io` is NULL) or inside the deterministic simulator. Sends
 * may drop: the protocol tolerates loss. Clocks are in milliseconds: `now`
 * is wall time (leader timestamps), `mono` drives timers. */
struct glue_io_ops {
    void (*peer_send)(void *arg, smr_node_id to, const uint8_t *frame,
                      size_t len);
    void (*client_send)(void *arg, const uint8_t *route, size_t route_len,
                        const uint8_t *frame, size_t len);
    /* Optional: a REPLY frame. The ZeroMQ driver holds the replies of an
     * input burst and sends them as one REPLIES frame per client
     * connection. NULL: sent through client_send. */
    void (*client_reply)(void *arg, const uint8_t *route, size_t route_len,
                         const uint8_t *frame, size_t len);
    /* Optional, with client_reply: send the replies held so far. Called
     * before each group commit. */
    void (*client_flush)(void *arg);
    /* To the separate executor routed `route` (the Committed stream);
     * false when its queue is full: the stream pauses there until the next
     * pump, so nothing is skipped. */
    bool (*stream_send)(void *arg, const uint8_t *route, size_t route_len,
                        const uint8_t *frame, size_t len);
    uint64_t (*now_ms)(void *arg);
    uint64_t (*mono_ms)(void *arg);
    /* Optional observer: called after the embedded executor applied each
     * committed entry, with the state digest at that point (the simulator
     * checks agreement and equal digests with it). NULL: not called. */
    void (*executed)(void *arg, const struct smr_committed *entry,
                     const uint8_t digest[SMR_DIGEST_BYTES]);
    /* Optional observer: the embedded executor's state was replaced by a
     * snapshot at `seq` fetched from peers (state transfer), with this
     * state digest. The next entry executed is seq + 1. */
    void (*installed)(void *arg, smr_seq seq,
                      const uint8_t digest[SMR_DIGEST_BYTES]);
};

struct glue_node_options {
    bool allow_unsafe_storage; /* accept sync: false / memory storage */
    bool quiet;                /* no log lines on stderr */
    void *zmq_context;         /* shared context (embedded mode) or NULL */
    /* The node uses this store instead of opening one (borrowed; lets a
     * caller restart a replica over the same "disk"). Used by the
     * simulator and the unit tests; `strata demo` uses RocksDB files. */
    struct sto *store;
    /* Detached mode: no sockets; the caller delivers frames and drives the
     * loop through the glue_node_* driver calls of node_internal.h. */
    const struct glue_io_ops *io;
    void *io_arg;
    /* Non-zero: the embedded executor is a parallel engine without threads
     * whose ready commands run in an order drawn from this seed (the
     * simulator's seeded scheduler; glue_engine_new in executor.h). */
    uint64_t sched_seed;
};

/* Creates replica `id` of `cfg` (copied): opens (or borrows) storage,
 * recovers the core and the executor (replaying the committed prefix), and
 * binds its sockets. Returns SMR_OK, or an error with a sentence in err. */
int glue_node_new(const struct glue_config *cfg, smr_node_id id,
                  const struct glue_node_options *opt, struct glue_node **out,
                  char *err, size_t err_len);

/* Runs the event loop until glue_node_stop() or a fatal error (fsync
 * failure: SMR_EFSYNC). Returns SMR_OK after a requested stop. */
int glue_node_run(struct glue_node *n);

/* Asks the loop to return; safe from any thread or a signal handler. */
void glue_node_stop(struct glue_node *n);

/* Closes sockets and storage (unless borrowed) and frees; nulls *n. */
void glue_node_destroy(struct glue_node **n);

/* A snapshot of the replica's state, readable from any thread. */
struct glue_node_info {
    smr_node_id id;
    bool is_leader;
    smr_node_id leader_hint;
    smr_seq committed_seq;
    smr_seq executed_seq;
    uint64_t fsyncs;
    uint64_t synced_writes;
    uint64_t frames_rejected;
    uint8_t digest[SMR_DIGEST_BYTES];
};
void glue_node_info(struct glue_node *n, struct glue_node_info *out);

#endif
