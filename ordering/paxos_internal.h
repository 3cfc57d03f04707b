/*
 * paxos_internal.h: the Multi-Paxos core's private state (paxos.c) and the
 * per-step output arena. Not for use outside ordering/.
 */
#ifndef STRATA_PAXOS_INTERNAL_H
#define STRATA_PAXOS_INTERNAL_H

#include "ord_arena.h"
#include "paxos.h"

#include <stdlib.h>

#define PAXOS_U64_RECORD_BYTES 12
/* A ballot no proposer uses: marks a log record whose value is known chosen
 * (learned by catch-up). Phase 1 prefers it over any real ballot, which is
 * safe because a chosen value is the only value any later ballot proposes. */
#define PAXOS_BALLOT_CHOSEN ORD_PAXOS_BALLOT_CHOSEN
/* Chosen slots kept in memory behind the commit point, so small lags are
 * served without a storage read. */
#define PAXOS_KEEP_CHOSEN 256
#define PAXOS_CAP ORD_PAXOS_WINDOW_MAX

/* An invariant whose failure means the core would go on to break safety
 * (two values for one slot, a lost promise): checked in every build, not
 * only where assert() is compiled in (the default build defines NDEBUG). A
 * replica that finds one stops. */
#define PAXOS_INVARIANT(cond) \
    do {                      \
        if (!(cond))          \
            abort();          \
    } while (0)

void paxos_u64_record_encode(uint8_t out[PAXOS_U64_RECORD_BYTES],
                             uint64_t value);
int paxos_u64_record_decode(const uint8_t *data, size_t len, uint64_t *value);

enum paxos_role {
    PAXOS_FOLLOWER = 0,
    PAXOS_CANDIDATE,
    PAXOS_LEADER,
};

struct paxos_slot {
    smr_seq slot;             /* 0: unused */
    uint64_t ballot;          /* accepted ballot, 0: nothing accepted */
    smr_epoch epoch;
    uint64_t leader_time_ms;
    struct smr_buf value;     /* batch bytes */
    bool chosen;
    smr_lsn lsn;              /* record's LSN; 0 when durable at recovery */
    uint32_t votes;           /* leader: peers that accepted at our ballot */
    /* Candidate: the highest-ballot value a promise reported for this slot,
     * valid while best_for equals the candidate's ballot. Kept apart from
     * the acceptor's own accepted value, which only ACCEPT may change. */
    uint64_t best_for;
    uint64_t best_ballot;
    smr_epoch best_epoch;
    uint64_t best_time_ms;
    struct smr_buf best_value;
};

/* Phase-1 progress per acceptor. */
struct paxos_p1_peer {
    bool done;      /* all pages received */
    smr_seq next;   /* next slot to ask for */
};

struct ord_paxos {
    struct ord_paxos_config cfg;
    uint32_t majority;
    uint64_t rng;

    /* Durable acceptor state. */
    uint64_t promised;
    smr_lsn promise_lsn;       /* LSN of the last promise write */
    uint64_t max_seen_ballot;  /* highest ballot heard of (NACKs) */

    /* The window of slots [base, base + PAXOS_CAP). */
    struct paxos_slot *slots;
    smr_seq base;
    smr_seq chosen_upto;       /* every slot up to here chosen and held */
    smr_seq max_slot;          /* highest slot holding anything */
    smr_seq leader_commit;     /* highest commit point heard */
    smr_seq durable_chosen_upto;
    smr_seq commit_mark;       /* last commit mark written */
    smr_lsn commit_mark_lsn;   /* its LSN (0: none written) */
    smr_seq mark_durable;      /* highest commit mark known durable */
    smr_seq recovered_commit;
    uint64_t last_time_ms;     /* highest leader time seen */

    /* Role. */
    enum paxos_role role;
    smr_node_id leader;        /* ORD_TO_ALL when unknown */
    uint64_t last_heard_ms;    /* from the leader (followers) */
    uint64_t ballot;           /* ours, as candidate or leader */
    uint64_t election_gen;
    uint64_t heartbeat_gen;

    /* Candidate. */
    struct paxos_p1_peer p1[SMR_NODES_MAX];
    uint32_t p1_done;          /* bitmask of peers whose pages are in */
    smr_seq p1_top;            /* highest slot any promise reported */

    /* Leader. */
    smr_seq next_slot;
    uint64_t last_ack_ms[SMR_NODES_MAX];
    struct smr_buf open_batch; /* requests not yet in a ready batch */
    uint32_t open_count;
    struct smr_buf *ready;     /* closed batches waiting for a slot */
    uint32_t ready_head, ready_len, ready_cap;
    uint32_t pending_requests; /* in open + ready */

    /* Catch-up (follower). */
    uint64_t catchup_sent_ms;
    smr_seq catchup_from;

    /* Durability. */
    smr_lsn next_lsn;          /* last LSN handed out */
    smr_lsn durable_lsn;

    /* Outputs of the current step. */
    struct ord_output *outs;
    size_t n_outs, outs_cap;
    struct ord_arena arena; /* step-scoped: outputs point into it */

    uint64_t dropped;
    bool started;
};

#endif
