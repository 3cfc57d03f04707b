/*
 * exe.h: the execution layer: the app (state machine) interface and the
 * engine (executor) interface.
 *
 * An app is a deterministic state machine behind a versioned ops table. An
 * engine consumes the Committed stream (smr.h), applies each command of each
 * batch through the app exactly once (the client session table, part of the
 * replicated state, answers retries from the last reply), and hands replies
 * to a callback. The sequential engine applies in log order; the parallel
 * engine (par_engine.c) uses conflict_keys to run non-conflicting commands
 * at once on worker threads and gives the same replies and digest.
 *
 * Determinism rules for apps: no floats in replicated state, no wall clock
 * (use `time_ms`, the leader's timestamp from the log), no unseeded
 * randomness, no iteration in hash or pointer order reaching an output.
 */
#ifndef STRATA_EXE_H
#define STRATA_EXE_H

#include "smr.h"

#define EXE_APP_OPS_VERSION 1
#define EXE_ENGINE_OPS_VERSION 2
#define EXE_KEYS_MAX 16
#define EXE_REPLY_BYTES_MAX (1u << 20)

/* Read and write sets of one command. Keys point into the command bytes.
 * A write implies a read of the same key. */
struct exe_key {
    const uint8_t *key;
    uint32_t len;
};
struct exe_keyset {
    struct exe_key reads[EXE_KEYS_MAX];
    uint32_t n_reads;
    struct exe_key writes[EXE_KEYS_MAX];
    uint32_t n_writes;
    /* Ranges. Bit i set: reads[i] (writes[i]) names every key that starts
     * with its bytes; a zero-length prefix names the whole state (an audit
     * that reads everything). Engines zero both masks before they call
     * conflict_keys, so an app that names single keys only never sets
     * them. */
    uint32_t read_prefixes;
    uint32_t write_prefixes;
};

/* Appends a key (is_prefix: every key starting with these bytes) to the
 * read or write set. False when that set already holds EXE_KEYS_MAX. */
static inline bool exe_keyset_add(struct exe_keyset *ks, bool write,
                                  const uint8_t *key, uint32_t len,
                                  bool is_prefix)
{
    struct exe_key *set = write ? ks->writes : ks->reads;
    uint32_t *n = write ? &ks->n_writes : &ks->n_reads;
    uint32_t *mask = write ? &ks->write_prefixes : &ks->read_prefixes;
    if (*n >= EXE_KEYS_MAX)
        return false;
    set[*n].key = key;
    set[*n].len = len;
    if (is_prefix)
        *mask |= 1u << *n;
    (*n)++;
    return true;
}

struct exe_app;

struct exe_app_ops {
    int version; /* EXE_APP_OPS_VERSION */
    const char *name;
    bool has_conflict_keys; /* the parallel engine requires it */
    void (*destroy)(struct exe_app *app);
    /* Applies one command at log position `seq`, at leader time `time_ms`.
     * Writes the reply into `reply` (reset by the caller). A command the app
     * cannot parse is not an error of the replica: it returns SMR_OK with an
     * error reply, so every replica answers the same. Returns non-zero only
     * on resource failure (SMR_ENOMEM), which stops the executor. */
    int (*apply)(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                 smr_seq seq, uint64_t time_ms, struct smr_buf *reply);
    /* Fills the read/write key sets from the command bytes (never from a
     * client's declaration). SMR_EMALFORMED for unparseable bytes. Must be
     * a pure function of the bytes: it may run on any thread, at any time
     * before apply. An app with has_conflict_keys must also let apply run
     * on several threads at once for commands whose key sets do not
     * conflict (execution/store.h is such a state). */
    int (*conflict_keys)(struct exe_app *app, const uint8_t *op,
                         uint32_t op_len, struct exe_keyset *out);
    /* Serializes the whole state deterministically into `out`. Appends (an
     * engine frames it after its own header); on failure `out` keeps its
     * length. SMR_ENOMEM, or SMR_ETOOBIG past the smr_buf cap
     * (SMR_FRAME_BYTES_MAX). */
    int (*snapshot)(struct exe_app *app, struct smr_buf *out);
    /* Replaces the state with a snapshot; SMR_ECORRUPT on bad bytes (state
     * unchanged then). */
    int (*restore)(struct exe_app *app, const uint8_t *data, size_t len);
    /* Digest of the state, independent of history and of engine. */
    void (*digest)(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES]);
};

struct exe_app {
    const struct exe_app_ops *ops;
};

/* The built-in key-value app (kv.c). Ops: get, put, del, cas. */
int exe_kv_app_new(struct exe_app **out);
void exe_app_destroy(struct exe_app **app);

/* Creates a built-in app by name: "kv", "bank" or "work" (apps.c).
 * SMR_ENOTFOUND for another name; SMR_ENOMEM. */
int exe_app_new(const char *name, struct exe_app **out);
/* The built-in apps' names, NULL-terminated. */
extern const char *const exe_app_names[];

/* KV command encoding, shared by clients and the app. Layout: u8 opcode,
 * then u32 key length + key, then for put: u32 + value, for cas: u32 +
 * expected, u32 + new value. */
enum exe_kv_opcode {
    EXE_KV_GET = 1,
    EXE_KV_PUT = 2,
    EXE_KV_DEL = 3,
    EXE_KV_CAS = 4,
};
#define EXE_KV_KEY_BYTES_MAX 1024
#define EXE_KV_VALUE_BYTES_MAX (256u << 10)

int exe_kv_encode(struct smr_buf *out, enum exe_kv_opcode opcode,
                  const void *key, uint32_t key_len, const void *expect,
                  uint32_t expect_len, const void *value, uint32_t value_len);

/* KV reply layout: u8 status, then for get/ok: the value bytes.
 * A command is exactly its encoding (no trailing bytes) or it is refused
 * with EXE_KV_BAD_COMMAND. del of an absent key: EXE_KV_NOT_FOUND. cas on
 * an absent key never matches, not even an empty expected value. Only a
 * successful get carries bytes after the status. exe_kv_encode() replaces
 * the contents of `out`: SMR_EINVAL for an unknown opcode, SMR_ETOOBIG for
 * an oversize key or value (then `out` is unchanged). */
enum exe_kv_status {
    EXE_KV_OK = 0,
    EXE_KV_NOT_FOUND = 1,
    EXE_KV_CAS_MISMATCH = 2,
    EXE_KV_BAD_COMMAND = 3,
};

/* The bank app (bank.c): named accounts holding u64 balances; money moves
 * only by transfer, so the total balance equals the sum of every amount
 * opened: the invariant the tests check through audit. Commands, integers
 * little-endian, a name 1..EXE_BANK_NAME_BYTES_MAX bytes:
 *
 *   OPEN      u8 1, u32 len, name, u64 amount    -> status
 *   TRANSFER  u8 2, u32 len, from, u32 len, to, u64 amount -> status
 *   BALANCE   u8 3, u32 len, name               -> status, u64 balance
 *   AUDIT     u8 4                              -> status, u64 total,
 *                                                  u64 accounts
 *
 * Conflict keys: OPEN reads and writes its account, TRANSFER both, BALANCE
 * reads one, AUDIT reads every account (a prefix read of the empty key).
 * A transfer from an account to itself moves nothing but still needs the
 * funds. Only BALANCE and AUDIT carry bytes after an OK status. */
enum exe_bank_opcode {
    EXE_BANK_OPEN = 1,
    EXE_BANK_TRANSFER = 2,
    EXE_BANK_BALANCE = 3,
    EXE_BANK_AUDIT = 4,
};
enum exe_bank_status {
    EXE_BANK_OK = 0,
    EXE_BANK_NO_ACCOUNT = 1,
    EXE_BANK_EXISTS = 2,
    EXE_BANK_INSUFFICIENT = 3,
    EXE_BANK_OVERFLOW = 4, /* the credit would pass 2^64 - 1 */
    EXE_BANK_BAD_COMMAND = 5,
};
#define EXE_BANK_NAME_BYTES_MAX 64

int exe_bank_app_new(struct exe_app **out);
/* Replaces the contents of `out` with one command; `to` is used by
 * TRANSFER only, names by everything but AUDIT. SMR_EINVAL for an unknown
 * opcode, SMR_ETOOBIG for a name over the limit (`out` unchanged then). */
int exe_bank_encode(struct smr_buf *out, enum exe_bank_opcode opcode,
                    const void *name, uint32_t name_len, const void *to,
                    uint32_t to_len, uint64_t amount);

/* The work app (work.c), for benchmarks: each command burns `cost_us`
 * microseconds of CPU (a busy wait: the clock paces it and never reaches
 * state or replies), then WRITE increments the u64 counter of its key and
 * READ reads it. Reply: u8 status (0 ok, 1 bad command), then on ok the
 * u64 counter after the command. Encoding: u8 opcode, u32 cost_us,
 * u32 key_len, key. Conflict keys: WRITE reads and writes its key, READ
 * reads it. */
enum exe_work_opcode {
    EXE_WORK_WRITE = 1,
    EXE_WORK_READ = 2,
};
#define EXE_WORK_OK 0
#define EXE_WORK_BAD_COMMAND 1
#define EXE_WORK_KEY_BYTES_MAX 256
#define EXE_WORK_COST_US_MAX 1000000u

int exe_work_app_new(struct exe_app **out);
/* Replaces the contents of `out`. SMR_EINVAL for an unknown opcode or a
 * cost over EXE_WORK_COST_US_MAX, SMR_ETOOBIG for a long key. */
int exe_work_encode(struct smr_buf *out, enum exe_work_opcode opcode,
                    const void *key, uint32_t key_len, uint32_t cost_us);

/* Replies leave the engine through this callback; `reply` is borrowed for
 * the duration of the call. `from_session` is true when the reply was
 * answered from the session table (a retry), not by applying the command.
 * Every engine calls it on the caller's thread, from inside execute(),
 * execute_deps(), drain(), barrier(), snapshot() or digest(); never from a
 * worker thread. */
typedef void (*exe_reply_fn)(void *arg, smr_client_id client_id,
                             smr_req_id req_id, smr_seq seq,
                             const uint8_t *reply, uint32_t reply_len,
                             bool from_session);

struct exe_engine;

/* At most this many explicit dependencies per partial-order entry. */
#define EXE_DEPS_MAX 64

struct exe_engine_ops {
    int version; /* EXE_ENGINE_OPS_VERSION */
    const char *name;
    bool needs_conflict_keys;
    void (*destroy)(struct exe_engine *e);
    /* Takes one committed entry. The entry's seq must be exactly
     * accepted_seq + 1 (the caller drops duplicates and fills gaps). The
     * batch bytes are borrowed for the call only. SMR_EMALFORMED for a
     * batch that does not parse (the entry is then a no-op,
     * deterministically on every replica). Any other non-zero code is a
     * resource failure: the entry may be partly applied, and the engine
     * must be restored from a snapshot before it runs again. An engine may
     * return before the entry's commands have run (executed_seq tells what
     * has finished) and may block while it holds too much unfinished work
     * (back-pressure). */
    int (*execute)(struct exe_engine *e, const struct smr_committed *entry);
    /* Serializes app state + session table + executed seq, after a
     * checkpoint barrier (see barrier). Appends to `out`; on failure `out`
     * keeps its length. The layout is shared by all engines
     * (execution/session.h). restore: SMR_ECORRUPT on bad bytes,
     * SMR_EVERSION for an unknown snapshot version; state unchanged then;
     * on success executed_seq = accepted_seq = the snapshot's seq. */
    int (*snapshot)(struct exe_engine *e, struct smr_buf *out);
    int (*restore)(struct exe_engine *e, const uint8_t *data, size_t len);
    /* Digest over app state, session table and executed seq, identical
     * for every engine (execution/session.h), after a checkpoint barrier. */
    void (*digest)(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES]);

    /* ---- version 2 ---- */

    /* execute() for partial-order input: the entry may run only after
     * every command of the entries `deps` (earlier sequence numbers, at
     * most EXE_DEPS_MAX; `deps` borrowed for the call) has finished. A dep
     * that is 0 or not below the entry's seq makes the entry malformed (a
     * no-op, SMR_EMALFORMED), so the order stays acyclic whatever the
     * input. The sequential engine refuses n_deps > 0 with SMR_EINVAL: a
     * partial order must be linearized before it reaches it. */
    int (*execute_deps)(struct exe_engine *e, const struct smr_committed *entry,
                        const smr_seq *deps, uint32_t n_deps);
    /* Checkpoint barrier: waits until every command of every accepted entry
     * has finished, then delivers every reply not yet delivered. Afterwards
     * executed_seq == accepted_seq and no command is running, so state is
     * exactly the state after that prefix. Returns a resource failure a
     * command met since the last call, if any. */
    int (*barrier)(struct exe_engine *e);
    /* Delivers the replies of commands that have finished, without
     * waiting, and makes sure the others are being run. Returns like
     * barrier. */
    int (*drain)(struct exe_engine *e);
};

struct exe_engine {
    const struct exe_engine_ops *ops;
    struct exe_app *app; /* borrowed */
    /* Every command of every entry up to here has finished (a prefix). */
    smr_seq executed_seq;
    exe_reply_fn reply_fn;
    void *reply_arg;
    uint64_t commands_applied;
    uint64_t commands_deduplicated;
    /* The last entry execute() took; the next must be accepted_seq + 1.
     * executed_seq <= accepted_seq; equal in the sequential engine. */
    smr_seq accepted_seq;
    /* The log's clock: the highest leader time of the entries taken. A
     * command runs at this time, never at an entry's own when that is
     * lower (leader times may step back after a leader change), so the
     * time an app sees never goes backwards. In snapshots and digests. */
    uint64_t log_time_ms;
};

/* Sequential engine. `app` is borrowed and must outlive the engine.
 * `session_ttl_ms` expires a client session when the log time has moved
 * that far past its last request (0: never): before each entry, sessions
 * with last_seen + ttl < the log time (log_time_ms) are removed; a retry
 * refreshes last_seen. Every replica must use the same ttl. `reply_fn` may
 * be NULL (replay without clients). commands_deduplicated counts retries
 * answered from the table and stale requests dropped. */
int exe_seq_engine_new(struct exe_app *app, uint64_t session_ttl_ms,
                       exe_reply_fn reply_fn, void *reply_arg,
                       struct exe_engine **out);

/* Parallel dependency-graph engine (par_engine.c), the same contract as the
 * sequential one, giving the same replies and digests for any worker count.
 *
 * Each command's key set is the app's conflict_keys (recomputed from the
 * bytes) plus a write of its client's session key; a command waits for
 * every earlier unfinished command it conflicts with (write/write,
 * write/read, read/write; reads share), across entries, and for the
 * explicit dependencies of partial-order entries. `workers` threads run
 * ready commands; a worker that finishes one takes the next ready one
 * itself. The app must have conflict keys (SMR_EINVAL otherwise).
 *
 * Threading: apply() runs on worker threads; everything else, including
 * every reply_fn call, on the caller's thread. The engine copies each
 * batch, so the caller's buffer is free once execute() returns.
 *
 * Back-pressure: at most `inflight_max` commands (EXE_PAR_INFLIGHT_DEFAULT
 * when 0) and `inflight_max` entries are held between execute() and the
 * delivery of their replies; execute() blocks while it cannot add more, so
 * a caller that grants credit upstream only after execute() returns slows
 * the stream instead of buffering it.
 *
 * Replies are collected as commands finish and delivered on the caller's
 * thread at the next execute(), drain(), barrier(), snapshot() or digest().
 * A caller with nothing more to execute calls drain() or barrier(). Workers
 * are woken only for ready work worth a thread switch (a moving average of
 * run times says), so a burst of small commands may run on the caller's
 * thread, at barrier(), without any wake-up; drain() wakes them regardless.
 *
 * workers == 0 with a non-zero `sched_seed` runs no threads: ready
 * commands run on the caller's thread, in an order drawn from the seeded
 * generator, at random points of execute() and in full at barrier(): a
 * seeded scheduler for tests and the simulator, replayable by its seed. */
#define EXE_PAR_WORKERS_MAX 64
#define EXE_PAR_INFLIGHT_DEFAULT 1024
#define EXE_PAR_INFLIGHT_MAX 65536

/* Half a millisecond of ready work per woken worker. With 50 µs, a
 * 3-replica KV cluster at 64 clients (2 cores, shared with the replicas'
 * loops and ZeroMQ threads) lost a fifth of its throughput to wake-ups:
 * 33-36k against 43k ops/s sequential; with 500 µs it is at parity
 * (41.5-43.7k) and bench-exec keeps its speedups (1.95-1.98 at 0-10%
 * conflicts, 100 µs commands). */
#define EXE_PAR_WAKE_WORTH_NS_DEFAULT 500000u

struct exe_par_options {
    uint32_t workers;      /* 0..EXE_PAR_WORKERS_MAX; 0 needs sched_seed */
    uint32_t inflight_max; /* 0: EXE_PAR_INFLIGHT_DEFAULT */
    uint64_t sched_seed;   /* workers == 0 only */
    /* Ready work (count times average run time) worth waking a worker for;
     * 0: EXE_PAR_WAKE_WORTH_NS_DEFAULT; 1 wakes for any ready command
     * (tests that want the threads busy). */
    uint32_t wake_worth_ns;
};

int exe_par_engine_new(struct exe_app *app, uint32_t workers,
                       uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                       void *reply_arg, struct exe_engine **out);
int exe_par_engine_new_opts(struct exe_app *app,
                            const struct exe_par_options *opt,
                            uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                            void *reply_arg, struct exe_engine **out);

/* Creates an engine by name (the glue's `executor` field): "sequential" or
 * "parallel" (with `workers` threads, 1..EXE_PAR_WORKERS_MAX). SMR_ENOTFOUND
 * for another name, SMR_EINVAL for a bad worker count or an app the engine
 * cannot run. */
int exe_engine_new(const char *name, uint32_t workers, struct exe_app *app,
                   uint64_t session_ttl_ms, exe_reply_fn reply_fn,
                   void *reply_arg, struct exe_engine **out);
void exe_engine_destroy(struct exe_engine **e);

int exe_execute(struct exe_engine *e, const struct smr_committed *entry);
int exe_execute_deps(struct exe_engine *e, const struct smr_committed *entry,
                     const smr_seq *deps, uint32_t n_deps);
int exe_barrier(struct exe_engine *e);
int exe_drain(struct exe_engine *e);
int exe_snapshot(struct exe_engine *e, struct smr_buf *out);
int exe_restore(struct exe_engine *e, const uint8_t *data, size_t len);
/* The executed_seq an engine snapshot holds, from its header; 0 when the
 * bytes do not start like one (a peek: restore still checks it all). */
smr_seq exe_snapshot_seq(const uint8_t *data, size_t len);
void exe_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES]);
/* The sequence number the next execute() must carry. */
static inline smr_seq exe_next_seq(const struct exe_engine *e)
{
    return e->accepted_seq + 1;
}

/* ---- checked state access (tests and the simulator) ------------------- */

/* With checking on (process-wide, off by default), the engines declare on
 * the applying thread the key set of each command they apply, and the
 * built-in apps reach their state only through accessors that call
 * exe_access_check() first (execution/store.h): a key outside the declared
 * set (a write needs a declared write; a read accepts either) is a
 * violation. The default handler prints one sentence naming the app, the
 * key and the command's declared set to stderr and aborts; a test may
 * install its own. Turn checking on before engines are created. Outside
 * apply (restore, snapshot, a direct call in a test) nothing is checked. */
typedef void (*exe_access_violation_fn)(const char *message);
void exe_access_checking(bool on);
bool exe_access_checking_on(void);
/* NULL restores the default (print and abort). */
void exe_access_on_violation(exe_access_violation_fn fn);
void exe_access_check(const char *app, const uint8_t *key, uint32_t key_len,
                      bool write);

#endif
