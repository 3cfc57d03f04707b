/*
 * sto.h: the storage ops table: a log keyed by index and a small map of
 * durable state records. There is no separate snapshot call: the glue
 * stores an executor snapshot as one state record (key "exe/snapshot").
 *
 * Modelled on SQLite's VFS: a versioned table of function pointers, every
 * call made through one thin wrapper (sto_*), which asserts preconditions,
 * keeps the LSN accounting and is where faults are injected.
 *
 * Contract, for every implementation:
 *  - Writes (log_put, state_put, log_truncate_prefix) are queued: each
 *    returns the LSN it was given (1, 2, 3... per open store) and is
 *    visible to reads at once, but is durable only after a sync().
 *  - sync() makes every write queued so far durable with one fsync (group
 *    commit) and advances durable_lsn to the last LSN issued. A failed sync
 *    poisons the store: it returns SMR_EFSYNC, now and for every later write
 *    or sync, because after an fsync error the kernel may have dropped the
 *    dirty pages and a retry would report success on lost data. The caller
 *    must stop the replica.
 *  - After a crash, every write up to the last successful sync survives;
 *    writes after it may survive or not, each independently, but a write
 *    never survives partially (a torn record is detected and discarded).
 *  - Log entries are keyed by a u64 index; overwriting an index is allowed
 *    (a Paxos acceptor re-accepting a slot). Truncation removes indexes below
 *    a bound; reads there return SMR_ECOMPACTED.
 *  - Buffers passed in are borrowed (copied if kept). Reads fill a caller's
 *    smr_buf.
 */
#ifndef STRATA_STO_H
#define STRATA_STO_H

#include "smr.h"

#define STO_OPS_VERSION 1
#define STO_STATE_KEY_BYTES_MAX 64

struct sto;

struct sto_ops {
    int version; /* STO_OPS_VERSION */
    const char *name;
    bool durable; /* true when sync() really fsyncs */
    void (*destroy)(struct sto *s);
    int (*log_put)(struct sto *s, uint64_t index, const uint8_t *data,
                   size_t len);
    int (*log_get)(struct sto *s, uint64_t index, struct smr_buf *out);
    /* first and last index present; both 0 when the log is empty.
     * `first` is at least the truncation bound. */
    int (*log_bounds)(struct sto *s, uint64_t *first, uint64_t *last);
    int (*log_truncate_prefix)(struct sto *s, uint64_t below);
    int (*state_put)(struct sto *s, const char *key, const uint8_t *data,
                     size_t len);
    int (*state_get)(struct sto *s, const char *key, struct smr_buf *out);
    int (*sync)(struct sto *s);
};

/* The base every implementation embeds as its first member. */
struct sto {
    const struct sto_ops *ops;
    smr_lsn issued_lsn;  /* LSN of the last queued write */
    smr_lsn durable_lsn; /* every write up to here survives a crash */
    bool poisoned;       /* a sync failed; see the contract above */
    uint64_t syncs;      /* number of successful syncs */
    uint64_t synced_writes; /* writes covered by those syncs */
};

/* Implementations. On success *out is owned by the caller: sto_close(). */
int sto_mem_open(struct sto **out);
/* Opens (creating if needed) a RocksDB store in directory `path`. With
 * `fsync` false, sync() is a no-op that still advances the LSN (benchmarks,
 * tests; the composition check refuses it under a durability requirement).
 * `err` (may be NULL) receives a sentence on failure. */
int sto_rocksdb_open(const char *path, bool fsync, struct sto **out,
                     char *err, size_t err_len);

/* Closes the store and nulls *s. Queued writes not yet synced may be lost. */
void sto_close(struct sto **s);

/* Wrappers: see the contract at the top. Write wrappers set *lsn (may be
 * NULL) to the LSN given to the write. */
int sto_log_put(struct sto *s, uint64_t index, const uint8_t *data,
                size_t len, smr_lsn *lsn);
int sto_log_get(struct sto *s, uint64_t index, struct smr_buf *out);
int sto_log_bounds(struct sto *s, uint64_t *first, uint64_t *last);
int sto_log_truncate_prefix(struct sto *s, uint64_t below, smr_lsn *lsn);
int sto_state_put(struct sto *s, const char *key, const uint8_t *data,
                  size_t len, smr_lsn *lsn);
/* SMR_ENOTFOUND when the key was never written. */
int sto_state_get(struct sto *s, const char *key, struct smr_buf *out);
/* No-op when nothing is pending. */
int sto_sync(struct sto *s);
/* True when writes are queued but not yet durable. */
bool sto_pending(const struct sto *s);

/* Fault injection for the in-memory store (tests and the simulator). */
/* The next sync fails with SMR_EFSYNC (and poisons the store). */
void sto_mem_fail_next_sync(struct sto *s);
/* Simulates a crash: keeps every synced write, and of the unsynced ones
 * keeps each with probability keep_permille/1000 using `rng_state` (an
 * xorshift64 state owned by the caller), then clears the poisoned flag and
 * resets LSNs as a freshly opened store would have them. */
void sto_mem_crash(struct sto *s, uint64_t *rng_state, unsigned keep_permille);
/* With the delay on, a sync returns at once (the caller sees its writes
 * durable) but they reach the disk only at sto_mem_sync_done(): a crash in
 * between may lose any of them, as a power cut during fsync does, and
 * loses every write issued after that sync (the caller, in reality still
 * blocked in fsync, had not issued them). The simulator completes the
 * sync when the disk time it drew has passed. */
void sto_mem_set_sync_delay(struct sto *s, bool on);
void sto_mem_sync_done(struct sto *s);
/* From now on, each crash tears the newest unsynced put with probability
 * tear_permille/1000 (default 0): it is left half written with a wrong
 * checksum, whether or not the dice kept it, as a power cut in the middle
 * of an append leaves a WAL. */
void sto_mem_set_tear(struct sto *s, unsigned tear_permille);
/* What a restart does before using the store, as a WAL replay would: a
 * value failing its checksum that is the newest write is a torn tail,
 * dropped (the value it replaced comes back) and counted in *torn_dropped;
 * one anywhere else is corruption: SMR_ECORRUPT, and the store must not
 * be used. Call after sto_mem_crash, before any write. */
int sto_mem_reopen(struct sto *s, uint64_t *torn_dropped);
/* Flips a bit in one stored value other than the newest write (bit rot in
 * synced data, which no reopen may mistake for a torn tail). SMR_ENOTFOUND
 * when the store holds fewer than two values. */
int sto_mem_corrupt(struct sto *s, uint64_t *rng_state);

/* Details every implementation shares (the contract above leaves them open):
 *  - The truncation bound only rises: truncating at or below it is a no-op
 *    that still takes an LSN. A log_put below the bound fails with
 *    SMR_ECOMPACTED (a stale accept for a compacted slot) and takes no LSN.
 *  - A value longer than SMR_FRAME_BYTES_MAX fails with SMR_ETOOBIG, since
 *    no read could return it.
 *  - log_bounds reports the lowest and highest index present; indexes in
 *    between may be missing (holes), and get returns SMR_ENOTFOUND there.
 *  - A stored value that fails its checksum reads as SMR_ECORRUPT.
 *  - sto_mem_crash draws one xorshift64 step per unsynced write, in LSN
 *    order (so a seed replays exactly); it also zeroes `syncs` and
 *    `synced_writes`, as a reopen would, and forgets a pending
 *    sto_mem_fail_next_sync. It aborts if memory runs out. */

/* Test-only hooks for the RocksDB store: they bypass the wrapper, take no
 * LSN and exist so tests can damage what is on disk. */
/* Stores `raw` verbatim (no checksum) as the value of log index `index`. */
int sto_rocksdb_put_raw_for_test(struct sto *s, uint64_t index,
                                 const uint8_t *raw, size_t len);
/* Flips one bit of the stored value of log index `index`; SMR_ENOTFOUND
 * when it is absent. */
int sto_rocksdb_corrupt_for_test(struct sto *s, uint64_t index);

#endif
