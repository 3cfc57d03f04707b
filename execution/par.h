/*
 * par.h: the parallel engine's dependency graph (internal to execution/;
 * par_graph.c builds it, par_engine.c runs it).
 *
 * A node is one command (struct pe_cmd). Its key set is the app's
 * conflict_keys plus a write of its client's session key. An edge P -> C
 * means C may not start before P has finished; C counts its unfinished
 * predecessors (npred) and becomes ready at zero.
 *
 * Point keys go through a table (struct pe_key): for each key, the last
 * unfinished writer and the unfinished readers since that write. A new
 * reader waits for the writer; a new writer waits for the writer and every
 * such reader and becomes the writer. That gives every write/write,
 * write/read and read/write order directly or by transitivity, while
 * readers of one key share. Ranges (prefix keys, exe.h) are rare and
 * scanned instead: a ranged command waits for every conflicting unfinished
 * command, and every later command checks the unfinished ranged ones.
 *
 * Ready commands run oldest first (a heap by arrival): a command released
 * late, such as the next link of a chain of writes to one hot key, is on
 * the critical path and must not wait behind a window of younger commands.
 *
 * Partial-order entries add entry-level edges: every command of an entry
 * waits until every dependency entry is complete (all its commands
 * finished, and its own dependencies complete).
 *
 * Nothing here locks: the engine calls every function under its graph lock.
 * Insertion is two-phase so that an allocation failure leaves the graph as
 * it was.
 */
#ifndef STRATA_EXE_PAR_H
#define STRATA_EXE_PAR_H

#include "exe.h"
#include "exe_util.h"
#include "run.h"

#define PE_SLOTS_MAX (2 * EXE_KEYS_MAX + 1)
#define PE_NS_APP 'A'
#define PE_NS_SESSION 'S'

struct pe_cmd;
struct pe_entry;

struct pe_key {
    struct exe_htab_node node; /* first: a node pointer is a key pointer */
    struct pe_cmd *writer;     /* the last unfinished writer, or NULL */
    struct pe_slot *readers;   /* unfinished readers since that write */
    uint32_t refs;             /* slots of unfinished commands naming it */
    uint32_t cap;              /* bytes[] capacity */
    uint32_t len;
    uint8_t ns;
    struct pe_key *next_free;
    uint8_t bytes[];
};

/* One distinct point key of one command. */
struct pe_slot {
    struct pe_cmd *cmd;
    struct pe_key *key; /* set at insertion */
    struct pe_slot *prev, *next; /* in key->readers while linked */
    const uint8_t *bytes;
    uint32_t len;
    uint64_t hash;
    uint8_t ns;
    bool write;
    bool linked;
};

struct pe_cmd {
    struct pe_cmd *next; /* free list or done list */
    struct pe_entry *entry;
    smr_seq seq;
    uint64_t time_ms;
    struct smr_request req; /* op points into the entry's batch copy */
    uint8_t session_key[8];
    struct exe_keyset keys; /* the app's, pointing into op */
    bool ranged;            /* keys hold a prefix */
    uint32_t n_slots;
    struct pe_slot slots[PE_SLOTS_MAX];
    uint32_t npred;
    uint64_t order; /* arrival number: the ready heap runs oldest first */
    uint64_t stamp; /* insertion that last listed it as a predecessor */
    struct pe_cmd **succ;
    uint32_t n_succ, cap_succ;
    struct pe_cmd *live_prev, *live_next;   /* unfinished, by arrival */
    struct pe_cmd *range_prev, *range_next; /* unfinished and ranged */
    struct smr_buf reply;
    struct exe_run_result res;
    uint64_t run_ns; /* how long it ran (scheduling only) */
};

struct pe_entry {
    smr_seq seq;
    uint64_t time_ms;
    uint8_t *batch; /* a copy: the caller's bytes are borrowed */
    uint32_t batch_len;
    uint32_t n_cmds;
    uint32_t n_inserted;
    struct pe_cmd **cmds;
    uint32_t pending;  /* unfinished commands + dep_wait + 1 while inserting */
    uint32_t dep_wait; /* dependency entries not yet complete */
    bool complete;
    struct pe_entry **waiters; /* entries waiting for this one */
    uint32_t n_waiters, cap_waiters;
    struct pe_entry *next_done; /* completion work list */
};

struct pe_graph {
    struct exe_htab keys;
    uint8_t seed[EXE_HASH_SEED_BYTES];
    struct pe_key *free_short; /* pooled key objects for short keys */
    uint32_t n_free_short;
    struct pe_key *free_long;  /* reserved for long keys */
    struct pe_cmd *live_head, *live_tail;
    struct pe_cmd *range_head;
    uint32_t n_ranged;
    uint64_t stamp;
    struct pe_cmd **preds; /* scratch for one insertion, inflight_max */
    uint32_t preds_cap;
    uint64_t arrivals;
    struct pe_cmd **ready; /* ready commands, a min-heap by order */
    uint32_t ready_len, ready_cap;
};

/* Sizes the graph for at most `inflight_max` commands. SMR_ENOMEM,
 * SMR_EIO. */
int pe_graph_init(struct pe_graph *g, uint32_t inflight_max);
void pe_graph_free(struct pe_graph *g);

/* Outside the lock: fills cmd->slots from cmd->keys and the session key
 * (distinct keys only, writes winning) and hashes them. */
void pe_cmd_prepare(const struct pe_graph *g, struct pe_cmd *c);
/* Adds `c` to the graph: edges from every unfinished conflicting command,
 * plus `extra_pred` (entry dependencies) to its count. Pushes it to the
 * ready heap when nothing is in its way. SMR_ENOMEM leaves the graph
 * unchanged. */
int pe_graph_insert(struct pe_graph *g, struct pe_cmd *c, uint32_t extra_pred);
/* Removes a finished command: releases its keys and its successors.
 * Returns how many commands became ready. */
uint32_t pe_graph_finish(struct pe_graph *g, struct pe_cmd *c);
/* One fewer unfinished predecessor (an entry dependency completed). */
void pe_graph_release(struct pe_graph *g, struct pe_cmd *c);

/* The ready heap: index 0 pops the oldest; another index an arbitrary one
 * (the seeded scheduler draws it). NULL when none is ready. */
struct pe_cmd *pe_ready_pop(struct pe_graph *g, uint32_t index);

#endif
