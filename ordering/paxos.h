/*
 * paxos.h: Multi-Paxos as a pure core (Lamport, "Paxos Made Simple" §3;
 * van Renesse & Altinbuken, "Paxos Made Moderately Complex").
 *
 * One stable leader runs phase 1 once for every slot from its commit point
 * on, then phase 2 for many slots in flight (a window), each slot carrying a
 * batch of client requests. Followers elect a new leader after a randomized
 * timeout; the new leader re-proposes the highest-ballot value it learns for
 * each slot and fills gaps with no-ops. A follower that learns of commits it
 * cannot deliver asks the leader to re-send them (from memory or, via
 * ORD_OUT_FETCH, from storage).
 *
 * Ballots are (round << 8) | node id, so two proposers never share one.
 * Durable state, written through PERSIST outputs:
 *   state "paxos/promise"  u64 promised ballot
 *   state "paxos/commit"   u64 highest slot known chosen whose record is
 *                          durable (a hint: recovery replays up to it)
 *   log   slot            the accepted value (ord_paxos_record_*)
 * An acceptor's promise is the max of the promise record and every accepted
 * ballot it holds, so accepting needs no separate promise write.
 */
#ifndef STRATA_PAXOS_H
#define STRATA_PAXOS_H

#include "ord.h"

#define ORD_PAXOS_ENTRIES_MAX 64     /* entries in one message */
#define ORD_PAXOS_WINDOW_MAX 4096    /* slots kept in memory */
#define ORD_PAXOS_STATE_PROMISE "paxos/promise"
#define ORD_PAXOS_STATE_COMMIT "paxos/commit"
/* The ballot of an entry known chosen (CATCHUP entries, promise entries). */
#define ORD_PAXOS_BALLOT_CHOSEN UINT64_MAX

enum ord_paxos_timer {
    ORD_PAXOS_TIMER_ELECTION = 1,
    ORD_PAXOS_TIMER_HEARTBEAT = 2,
};

enum ord_paxos_msg_type {
    ORD_PAXOS_PREPARE = 1,  /* ballot, slot = first slot asked about */
    ORD_PAXOS_PROMISE,      /* ballot, commit_upto, more, entries */
    ORD_PAXOS_ACCEPT,       /* ballot, commit_upto, entries (contiguous) */
    ORD_PAXOS_ACCEPTED,     /* ballot, slot, slot_count */
    ORD_PAXOS_NACK,         /* ballot = the higher ballot promised */
    ORD_PAXOS_COMMIT,       /* ballot, commit_upto: heartbeat + commit index */
    ORD_PAXOS_CATCHUP_REQ,  /* slot = first missing, slot_count */
    ORD_PAXOS_CATCHUP,      /* commit_upto, entries (chosen values) */
    ORD_PAXOS_MSG__MAX = ORD_PAXOS_CATCHUP,
};

/* One slot's value. `batch` is borrowed (canonical batch bytes, smr.h). */
struct ord_paxos_entry {
    smr_seq slot;
    uint64_t ballot; /* the ballot it was accepted in (PROMISE) */
    smr_epoch epoch;
    uint64_t leader_time_ms;
    const uint8_t *batch;
    uint32_t batch_len;
};

/* One protocol message; fields unused by a type are zero. */
struct ord_paxos_msg {
    enum ord_paxos_msg_type type;
    smr_node_id from;
    uint64_t ballot;
    smr_seq slot;
    uint32_t slot_count;
    smr_seq commit_upto;
    bool more; /* the entries were capped; more exist */
    uint32_t n_entries;
    const struct ord_paxos_entry *entries; /* borrowed, n_entries long */
};

struct ord_paxos_config {
    smr_node_id self;
    uint32_t n_replicas;          /* ids are 0 .. n_replicas-1 */
    smr_epoch epoch;
    uint64_t election_timeout_ms; /* randomized in [t, 2t) */
    uint64_t heartbeat_ms;
    uint32_t batch_max;           /* requests per batch */
    uint32_t batch_bytes_max;
    uint32_t window;              /* slots in flight at the leader */
    uint32_t pending_max;         /* requests waiting for a slot */
    uint64_t rng_seed;
};

/* Fills defaults: election 300 ms, heartbeat 50 ms, batch 512 requests /
 * 1 MiB, window 64, pending 16384. */
void ord_paxos_config_defaults(struct ord_paxos_config *c);
/* SMR_ECONFIG with a sentence naming the field in `err`. */
int ord_paxos_config_check(const struct ord_paxos_config *c, char *err,
                           size_t err_len);
void ord_paxos_contract(const struct ord_paxos_config *c,
                        struct ord_contract *out);

struct ord_paxos;

/* Creation and recovery. The driver creates the core, feeds it what it finds
 * in storage, then calls ord_paxos_start():
 *   1. ord_paxos_recover_state() for each of the two state keys found;
 *   2. ord_paxos_recover_log() for every log index from
 *      ord_paxos_recover_log_from() to the last index present;
 *   3. ord_paxos_start(), which arms the timers (its outputs are returned
 *      like a step's).
 * Recovered bytes are untrusted: SMR_ECORRUPT when they do not decode. */
int ord_paxos_new(const struct ord_paxos_config *c, struct ord_paxos **out);
void ord_paxos_destroy(struct ord_paxos **p);
int ord_paxos_recover_state(struct ord_paxos *p, const char *key,
                            const uint8_t *data, size_t len);
smr_seq ord_paxos_recover_log_from(const struct ord_paxos *p);
int ord_paxos_recover_log(struct ord_paxos *p, smr_seq slot,
                          const uint8_t *data, size_t len);
/* The slots up to this are known chosen: the driver replays them to the
 * executor from storage. */
smr_seq ord_paxos_recovered_commit(const struct ord_paxos *p);
int ord_paxos_start(struct ord_paxos *p, uint64_t now_ms,
                    const struct ord_output **outs, size_t *n_outs);

/* One step. Returns SMR_OK; outputs are valid until the next call. Invalid
 * messages (wrong sender, out-of-range fields) are counted and ignored. */
int ord_paxos_step(struct ord_paxos *p, uint64_t now_ms,
                   const struct ord_event *ev, const struct ord_output **outs,
                   size_t *n_outs);

/* Observers (status lines, tests). */
bool ord_paxos_is_leader(const struct ord_paxos *p);
smr_node_id ord_paxos_leader_hint(const struct ord_paxos *p); /* or ORD_TO_ALL */
smr_seq ord_paxos_commit_upto(const struct ord_paxos *p);
uint64_t ord_paxos_ballot(const struct ord_paxos *p);
uint64_t ord_paxos_dropped_messages(const struct ord_paxos *p);

/* The log record format (so the driver can serve committed entries from
 * storage to lagging replicas and executors). decode: entry fields point
 * into `data`; SMR_ECORRUPT on bad bytes. */
int ord_paxos_record_encode(struct smr_buf *out,
                            const struct ord_paxos_entry *e);
int ord_paxos_record_decode(const uint8_t *data, size_t len, smr_seq slot,
                            struct ord_paxos_entry *out);

#endif
