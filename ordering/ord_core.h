/*
 * ord_core.h: one ordering core behind a table of function pointers, so
 * the replica driver (glue/node*.c) runs any protocol the same way.
 *
 * The table holds what the driver needs of a core once it exists:
 * recovery from storage, start, step, the observers of status lines, and
 * the protocol's log record format (the driver replays and serves committed
 * entries from storage). Creating a core takes the protocol's own config,
 * which the glue derives from its YAML config, and encoding a protocol
 * message is a wire-format matter: both live in the glue's half of the
 * table (glue/core.h), which points here.
 *
 * Versioned and append-only like sqlite3_io_methods: a new member goes at
 * the end and raises ORD_CORE_OPS_VERSION. `core` is the protocol's own
 * object (struct ord_paxos *, struct ord_pbft *) passed as void *; every
 * member must be set. Call through the ord_core_* wrappers below, which
 * assert the preconditions.
 */
#ifndef STRATA_ORD_CORE_H
#define STRATA_ORD_CORE_H

#include <assert.h>

#include "ord.h"

#define ORD_CORE_OPS_VERSION 1

struct ord_core_ops {
    int version; /* ORD_CORE_OPS_VERSION */
    const char *protocol;

    /* The state keys a core persists (PERSIST outputs with is_log false),
     * ending with NULL. Recovery reads each one present in storage. */
    const char *const *state_keys;

    /* Frees the core and sets *core to NULL; NULL or *core NULL is a
     * no-op. */
    void (*destroy)(void **core);

    /* Recovery, before start (the order of paxos.h and pbft.h):
     * recover_state() for each state key found; recover_log() for every
     * log index from recover_log_from() to the last present; then start().
     * Recovered bytes are untrusted: SMR_ECORRUPT when they do not
     * decode. */
    int (*recover_state)(void *core, const char *key, const uint8_t *data,
                         size_t len);
    smr_seq (*recover_log_from)(const void *core);
    int (*recover_log)(void *core, smr_seq index, const uint8_t *data,
                       size_t len);
    /* Entries up to this are committed: the driver replays them to the
     * executor from storage. */
    smr_seq (*recovered_commit)(const void *core);

    /* start() arms the timers; step() takes one event. Both return SMR_OK
     * or a fatal error; outputs are owned by the core and valid until the
     * next call into it (ord.h). */
    int (*start)(void *core, uint64_t now_ms, const struct ord_output **outs,
                 size_t *n_outs);
    int (*step)(void *core, uint64_t now_ms, const struct ord_event *ev,
                const struct ord_output **outs, size_t *n_outs);

    /* Observers (status lines, the simulator). */
    bool (*is_leader)(const void *core);
    smr_node_id (*leader_hint)(const void *core); /* or ORD_TO_ALL */
    smr_seq (*commit_upto)(const void *core);
    uint64_t (*view)(const void *core); /* Paxos ballot, PBFT view */
    uint64_t (*dropped_messages)(const void *core);

    /* Decodes the log record of a committed entry at `seq` into `out`,
     * whose batch points into `data` (the core supplies what the record
     * does not hold, such as PBFT's epoch). SMR_ECORRUPT on bad bytes;
     * SMR_ENOTFOUND when the record holds no committed value. */
    int (*record_decode)(const void *core, const uint8_t *data, size_t len,
                         smr_seq seq, struct smr_committed *out);
};

/* Multi-Paxos (paxos.h; ordering/paxos_core.c). */
extern const struct ord_core_ops ord_paxos_core_ops;
/* PBFT (pbft.h; ordering/pbft_core.c). */
extern const struct ord_core_ops ord_pbft_core_ops;

static inline void ord_core_ops_check(const struct ord_core_ops *ops)
{
    assert(ops && ops->version == ORD_CORE_OPS_VERSION);
    (void)ops;
}

static inline int ord_core_start(const struct ord_core_ops *ops, void *core,
                                 uint64_t now_ms,
                                 const struct ord_output **outs, size_t *n_outs)
{
    ord_core_ops_check(ops);
    assert(core && outs && n_outs);
    return ops->start(core, now_ms, outs, n_outs);
}

static inline int ord_core_step(const struct ord_core_ops *ops, void *core,
                                uint64_t now_ms, const struct ord_event *ev,
                                const struct ord_output **outs, size_t *n_outs)
{
    ord_core_ops_check(ops);
    assert(core && ev && outs && n_outs);
    return ops->step(core, now_ms, ev, outs, n_outs);
}

static inline bool ord_core_is_leader(const struct ord_core_ops *ops,
                                      const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->is_leader(core);
}

static inline smr_node_id ord_core_leader_hint(const struct ord_core_ops *ops,
                                               const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->leader_hint(core);
}

static inline smr_seq ord_core_commit_upto(const struct ord_core_ops *ops,
                                           const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->commit_upto(core);
}

static inline uint64_t ord_core_view(const struct ord_core_ops *ops,
                                     const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->view(core);
}

static inline uint64_t ord_core_dropped(const struct ord_core_ops *ops,
                                        const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->dropped_messages(core);
}

static inline smr_seq ord_core_recovered_commit(const struct ord_core_ops *ops,
                                                const void *core)
{
    ord_core_ops_check(ops);
    assert(core);
    return ops->recovered_commit(core);
}

static inline int ord_core_record_decode(const struct ord_core_ops *ops,
                                         const void *core, const uint8_t *data,
                                         size_t len, smr_seq seq,
                                         struct smr_committed *out)
{
    ord_core_ops_check(ops);
    assert(core && out);
    return ops->record_decode(core, data, len, seq, out);
}

#endif
