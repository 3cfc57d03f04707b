/*
 * sim.h: the deterministic simulator behind `strata sim`.
 *
 * One seed = one whole cluster in one thread: the real protocol core, the
 * real replica driver (node.c: batching, held sends, group commit,
 * redelivery, recovery), the real executor and the in-memory store with its
 * crash model, on a virtual clock and a seeded virtual network. Everything
 * random comes from the seed, so a failing seed replays exactly.
 */
#ifndef STRATA_GLUE_SIM_H
#define STRATA_GLUE_SIM_H

#include <stdio.h>

#include "smr.h"

/* Where each replica's executor runs: inside the replica (the Committed
 * stream consumed in-process), as a separate executor over the simulated
 * network (SUBSCRIBE credit, redelivery, resume from its cursor, its own
 * crashes), or either, drawn per seed. */
enum sim_executors { SIM_EXEC_MIXED, SIM_EXEC_EMBEDDED, SIM_EXEC_SEPARATE };

/* The ordering protocol. PBFT runs n = 3f+1 replicas (4 or 7) with keys
 * derived from the seed, embedded executors only, clients that accept a
 * result from f+1 matching replies, and up to f Byzantine replicas
 * (sim_byz.c). */
enum sim_protocol { SIM_PAXOS, SIM_PBFT };

struct sim_options {
    uint32_t replicas;   /* 3 by default */
    uint32_t clients;    /* concurrent clients, 4 by default */
    uint32_t ops;        /* client operations per seed, 300 by default */
    uint32_t keys;       /* distinct keys, 3 by default */
    bool faults;         /* false: a calm run (no drops, crashes...) */
    enum sim_executors executors; /* SIM_EXEC_MIXED by default */
    enum sim_protocol protocol;   /* SIM_PAXOS by default */
    int byzantine;       /* PBFT: Byzantine replicas, 0..f; -1: drawn */
    uint32_t behaviours; /* PBFT: the behaviours drawn from (a mask of
                          * sim_byz_names bits); 0: every one */
    FILE *trace;         /* event trace, or NULL */
    FILE *history;       /* the client history as JSON Lines, or NULL */
    /* After the clients finish, this much more virtual time without
     * faults (Byzantine replicas go on), then every correct replica that
     * is up must have reached the highest commit point among them. 0: no
     * such check. */
    uint64_t settle_ms;
};

void sim_options_defaults(struct sim_options *o);

struct sim_result {
    bool failed;
    char invariant[256]; /* which invariant broke, when failed */
    uint64_t virtual_ms; /* simulated time the seed took */
    uint64_t committed;  /* highest sequence number committed */
    uint64_t ops_ok, ops_failed, ops_unknown;
    uint64_t crashes, partitions, fsync_errors;
    bool separate_executors; /* this seed's executors ran apart */
    uint64_t executor_crashes;
    uint64_t torn_tails;        /* torn writes dropped at a reopen */
    uint64_t corrupt_refusals;  /* replicas refusing a corrupt store */
    bool lin_unknown; /* the linearizability search ran out of budget */
    uint32_t byzantine;     /* PBFT: Byzantine replicas this seed */
    char byz_desc[128];     /* PBFT: who they are and what they do */
    uint64_t byz_tampered;  /* PBFT: frames they altered, dropped or replayed */
    uint64_t bad_client_requests; /* PBFT: requests of the faulty client */
    uint64_t held;            /* PBFT: pre-prepares correct replicas held */
    uint64_t signed_requests; /* PBFT: client signatures they checked */
    uint64_t stream_lies;     /* PBFT: entries Byzantine replicas' streams
                                 altered for separate executors */
    uint64_t truncations;      /* PBFT: log truncations by correct replicas */
    uint64_t states_installed; /* PBFT: snapshots installed by state transfer */
};

/* PBFT Byzantine behaviours, bit i named sim_byz_names[i]
 * (SIM_BYZ_BEHAVIOURS of them), for --behaviours and the trace. */
#define SIM_BYZ_BEHAVIOURS 11
extern const char *const sim_byz_names[SIM_BYZ_BEHAVIOURS];

/* Runs one seed. Returns SMR_OK whether or not an invariant broke (see
 * result->failed); an error only when the simulation itself could not run. */
int sim_run_seed(uint64_t seed, const struct sim_options *o,
                 struct sim_result *result);

#endif
