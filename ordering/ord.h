/*
 * ord.h: the protocol-core interface every ordering protocol implements.
 *
 * A core is a pure state machine: `step(core, now, event) → outputs`. It
 * does no I/O, reads no clock and draws no randomness of its own (its driver
 * seeds a generator through the config). The glue drives a core from ZeroMQ
 * sockets and real time; the deterministic tests drive the same core with a
 * seeded virtual network, clock and disk.
 *
 * Outputs live in memory owned by the core and stay valid until the next
 * call into the core. Every step produces a bounded number of outputs.
 *
 * Durability rule (the classic bug this prevents): a SEND whose after_lsn is
 * non-zero must not leave the replica until the driver has reported
 * ORD_EV_PERSISTED with lsn >= after_lsn. PERSIST outputs carry LSNs the core
 * numbers 1, 2, 3... from init; the driver writes them to storage in output
 * order and reports the highest durable one.
 */
#ifndef STRATA_ORD_H
#define STRATA_ORD_H

#include "smr.h"

#define ORD_TO_ALL UINT32_MAX

enum ord_event_type {
    ORD_EV_MESSAGE = 1, /* a validated protocol message from a peer */
    ORD_EV_REQUEST,     /* a client request (bytes borrowed for the call) */
    ORD_EV_FLUSH,       /* end of an input burst: propose what is batched */
    ORD_EV_TIMER,       /* a timer the core set has fired */
    ORD_EV_PERSISTED,   /* every PERSIST up to lsn is durable */
    ORD_EV_CHECKPOINT,  /* a durable executor snapshot: seq, digest */
    ORD_EV_STATE_INSTALLED, /* the state a FETCH_STATE asked for is in place */
};

struct ord_event {
    enum ord_event_type type;
    union {
        struct {
            smr_node_id from;
            const void *msg; /* the protocol's message struct, borrowed */
        } message;
        struct smr_request request;
        struct {
            uint32_t id;
            uint64_t generation;
        } timer;
        struct {
            smr_lsn lsn;
        } persisted;
        struct {
            smr_seq seq;
            uint8_t digest[SMR_DIGEST_BYTES];
        } checkpoint;
        struct {
            smr_seq seq;
        } installed;
    } u;
};

enum ord_output_type {
    ORD_OUT_SEND = 1, /* send msg to a peer, or to all peers (ORD_TO_ALL) */
    ORD_OUT_PERSIST,  /* write a record to the local store */
    ORD_OUT_TIMER,    /* (re)arm timer id to fire after after_ms */
    ORD_OUT_COMMIT,   /* next entry of the gap-free Committed stream */
    ORD_OUT_REJECT,   /* a client request this replica will not order */
    ORD_OUT_FETCH,    /* read committed entries from storage for a peer */
    ORD_OUT_TRUNCATE, /* the log below `below` is no longer needed */
    ORD_OUT_FETCH_STATE, /* fetch a snapshot from peers and install it */
};

enum ord_reject_reason {
    ORD_REJECT_NOT_LEADER = 1,
    ORD_REJECT_BUSY = 2,
    ORD_REJECT_SIGN = 3, /* PBFT: send it signed (the client is suspect) */
};

struct ord_output {
    enum ord_output_type type;
    union {
        struct {
            smr_node_id to;
            smr_lsn after_lsn; /* 0: may go at once */
            const void *msg;   /* the protocol's message struct */
        } send;
        struct {
            smr_lsn lsn;
            bool is_log; /* log record at `index`, else state at `key` */
            uint64_t index;
            const char *key;
            const uint8_t *data;
            uint32_t len;
        } persist;
        struct {
            uint32_t id;
            uint64_t generation;
            uint64_t after_ms;
        } timer;
        struct smr_committed commit;
        struct {
            smr_client_id client_id;
            smr_req_id req_id;
            enum ord_reject_reason reason;
            smr_node_id leader_hint; /* ORD_TO_ALL when unknown */
        } reject;
        struct {
            smr_node_id to;
            smr_seq from_seq; /* inclusive */
            smr_seq to_seq;   /* inclusive */
        } fetch;
        struct {
            smr_seq below; /* log indexes below this may be removed */
        } truncate;
        struct {
            smr_seq seq;     /* the snapshot's executed_seq */
            uint8_t digest[SMR_DIGEST_BYTES]; /* BLAKE2b-256 of its bytes */
            uint32_t sources; /* bit i: replica i holds it */
        } fetch_state;
    } u;
};

/* What a module offers the composition check (glue/contract.c). */
struct ord_contract {
    const char *protocol;
    unsigned faults_tolerated;   /* f */
    unsigned replicas_required;  /* n >= this for f */
    bool byzantine;              /* consumers need f+1 matching streams */
    bool needs_durable_storage;  /* votes must survive a crash */
    bool total_order;
    uint32_t entry_bytes_max;    /* the largest batch one entry carries */
};

#endif
