/*
 * executor.h: a separate executor following the replicas' Committed
 * streams (stream.c describes the protocol).
 *
 * It restores its last snapshot (kept in its own store, <storage.path>/
 * executor-<replica>), subscribes from its cursor with a bounded credit,
 * applies each entry in order through the same engine an embedded executor
 * uses, and sends its replies back to its replica, one REPLIES frame per
 * input burst, which routes each to its client. Every checkpoint_interval
 * entries it snapshots durably and sends CHECKPOINT{seq, digest} to its
 * replica.
 *
 * With a stream quorum of 1 (crash faults) it follows its replica's stream
 * alone. With a quorum q > 1 (Byzantine faults: f+1, glue_stream_quorum)
 * it subscribes to every replica's stream and applies an entry only once q
 * streams carry the same one (seq, epoch, leader time, batch), so no f
 * replicas can make it apply what was not committed. Over ZeroMQ each
 * stream is a CURVE link keyed from the replicas' Ed25519 keys (curve.h):
 * the executor knows which replica a stream comes from, and a replica
 * takes replies and CHECKPOINT only from its own executor.
 *
 * The executor itself does no I/O: frames come in through
 * glue_executor_on_frame() and leave through glue_executor_io, so the same
 * code runs as a process over ZeroMQ (glue_executor_run) and inside the
 * deterministic simulator.
 */
#ifndef STRATA_GLUE_EXECUTOR_H
#define STRATA_GLUE_EXECUTOR_H

#include "config.h"
#include "exe.h"
#include "smr.h"

struct glue_executor;

/* The executor's only ways out. `send` goes to replica `to` and may drop
 * (the executor resubscribes from its cursor). */
struct glue_executor_io {
    void (*send)(void *arg, smr_node_id to, const uint8_t *frame, size_t len);
    uint64_t (*mono_ms)(void *arg);
    /* Optional observer, after each applied entry, with the state digest
     * at that point (the simulator checks agreement with it). */
    void (*executed)(void *arg, const struct smr_committed *entry,
                     const uint8_t digest[SMR_DIGEST_BYTES]);
};

/* The engine `cfg` names (its executor and workers fields), or, with a
 * non-zero sched_seed, a parallel engine without threads whose ready
 * commands run in an order drawn from that seed (the simulator's seeded
 * scheduler). Used by the replica's embedded executor and by this one. */
int glue_engine_new(const struct glue_config *cfg, uint64_t sched_seed,
                    struct exe_app *app, exe_reply_fn reply_fn,
                    void *reply_arg, struct exe_engine **out);

struct glue_executor_options {
    bool allow_unsafe_storage; /* accept sync: false / memory storage */
    bool quiet;                /* no log lines on stderr */
    /* Use this store instead of <storage.path>/executor-<replica>
     * (borrowed: lets a caller restart an executor over the same disk). */
    struct sto *store;
    /* Detached mode: no socket; the caller delivers frames and drives
     * glue_executor_start/on_frame/tick. NULL: ZeroMQ. */
    const struct glue_executor_io *io;
    void *io_arg;
    uint64_t sched_seed; /* non-zero: glue_engine_new's seeded scheduler */
};

/* Creates the executor for `replica`, whose config entry must name a
 * stream endpoint (SMR_ECONFIG otherwise). Runs the same checks as
 * glue_node_new first: glue_config_check (SMR_ECONFIG) and
 * glue_contract_check (SMR_ECONTRACT; `allow_unsafe_storage` accepts sync:
 * false or memory storage). Creates <storage.path>/executor-<replica> and
 * its parents (SMR_EIO when it cannot); each refusal above writes a
 * sentence into `err`. `cfg` and `opt` (NULL: defaults) are copied; on
 * success *out is the caller's: glue_executor_destroy(). */
int glue_executor_new(const struct glue_config *cfg, smr_node_id replica,
                      const struct glue_executor_options *opt,
                      struct glue_executor **out, char *err, size_t err_len);
/* Runs over ZeroMQ until glue_executor_stop(); SMR_OK after a requested
 * stop, else the fatal error (storage; the replica truncated past the
 * cursor: SMR_ECOMPACTED). */
int glue_executor_run(struct glue_executor *x);
void glue_executor_stop(struct glue_executor *x);
void glue_executor_destroy(struct glue_executor **x);
smr_seq glue_executor_executed(const struct glue_executor *x);

/* The driver, free of I/O (detached mode; glue_executor_run uses it too).
 * start: the first SUBSCRIBE. on_frame: one frame from replica `from`, as
 * the transport authenticated it (bad frames, and frames from a replica
 * whose stream the executor does not read, are dropped). end_burst: after
 * the frames that arrived together; waits for the engine's commands to
 * finish, so their replies leave. tick:
 * call when next_timeout_ms has passed; a cursor that has not moved for a
 * while resubscribes. Those returning int give SMR_OK or a fatal error:
 * the executor must stop. */
void glue_executor_start(struct glue_executor *x);
int glue_executor_on_frame(struct glue_executor *x, smr_node_id from,
                           const uint8_t *f, size_t len);
int glue_executor_end_burst(struct glue_executor *x);
void glue_executor_tick(struct glue_executor *x);
long glue_executor_next_timeout_ms(const struct glue_executor *x, long cap_ms);

#endif
