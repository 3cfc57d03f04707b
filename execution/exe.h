/*
 * exe.h: the execution layer: the app (state machine) interface and the
 * engine (executor) interface.
 *
 * An app is a deterministic state machine behind a versioned ops table. An
 * engine consumes the Committed stream (smr.h), applies each command of each
 * batch through the app exactly once (the client session table, part of the
 * replicated state, answers retries from the last reply), and hands replies
 * to a callback. The sequential engine applies in log order; the parallel
 * engine (later) uses conflict_keys to run non-conflicting commands at once
 * and must give the same replies and digest.
 *
 * Determinism rules for apps: no floats in replicated state, no wall clock
 * (use `time_ms`, the leader's timestamp from the log), no unseeded
 * randomness, no iteration in hash or pointer order reaching an output.
 */
#ifndef STRATA_EXE_H
#define STRATA_EXE_H

#include "smr.h"

#define EXE_APP_OPS_VERSION 1
#define EXE_ENGINE_OPS_VERSION 1
#define EXE_KEYS_MAX 16
#define EXE_REPLY_BYTES_MAX (1u << 20)

/* Read and write sets of one command. Keys point into the command bytes. */
struct exe_key {
    const uint8_t *key;
    uint32_t len;
};
struct exe_keyset {
    struct exe_key reads[EXE_KEYS_MAX];
    uint32_t n_reads;
    struct exe_key writes[EXE_KEYS_MAX];
    uint32_t n_writes;
};

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
     * client's declaration). SMR_EMALFORMED for unparseable bytes. */
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

/* Replies leave the engine through this callback; `reply` is borrowed for
 * the duration of the call. `from_session` is true when the reply was
 * answered from the session table (a retry), not by applying the command. */
typedef void (*exe_reply_fn)(void *arg, smr_client_id client_id,
                             smr_req_id req_id, smr_seq seq,
                             const uint8_t *reply, uint32_t reply_len,
                             bool from_session);

struct exe_engine;

struct exe_engine_ops {
    int version; /* EXE_ENGINE_OPS_VERSION */
    const char *name;
    bool needs_conflict_keys;
    void (*destroy)(struct exe_engine *e);
    /* Applies one committed entry. The entry's seq must be exactly
     * executed_seq + 1 (the caller drops duplicates and fills gaps).
     * SMR_EMALFORMED for a batch that does not parse (the entry is then
     * applied as a no-op, deterministically on every replica). Any other
     * non-zero code is a resource failure: executed_seq stays put, the
     * entry may be partly applied, and the engine must be restored from a
     * snapshot before it runs again. */
    int (*execute)(struct exe_engine *e, const struct smr_committed *entry);
    /* Serializes app state + session table + executed seq. Appends to
     * `out`; on failure `out` keeps its length. The layout is shared by all
     * engines (execution/session.h). restore: SMR_ECORRUPT on bad bytes,
     * SMR_EVERSION for an unknown snapshot version; state unchanged then. */
    int (*snapshot)(struct exe_engine *e, struct smr_buf *out);
    int (*restore)(struct exe_engine *e, const uint8_t *data, size_t len);
    /* Digest over app state, session table and executed seq, identical
     * for every engine (execution/session.h). */
    void (*digest)(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES]);
};

struct exe_engine {
    const struct exe_engine_ops *ops;
    struct exe_app *app; /* borrowed */
    smr_seq executed_seq;
    exe_reply_fn reply_fn;
    void *reply_arg;
    uint64_t commands_applied;
    uint64_t commands_deduplicated;
};

/* Sequential engine. `app` is borrowed and must outlive the engine.
 * `session_ttl_ms` expires a client session when the log time has moved
 * that far past its last request (0: never): before each entry, sessions
 * with last_seen + ttl < the entry's leader_time_ms are removed; a retry
 * refreshes last_seen. Every replica must use the same ttl. `reply_fn` may
 * be NULL (replay without clients). commands_deduplicated counts retries
 * answered from the table and stale requests dropped. */
int exe_seq_engine_new(struct exe_app *app, uint64_t session_ttl_ms,
                       exe_reply_fn reply_fn, void *reply_arg,
                       struct exe_engine **out);
void exe_engine_destroy(struct exe_engine **e);

int exe_execute(struct exe_engine *e, const struct smr_committed *entry);
int exe_snapshot(struct exe_engine *e, struct smr_buf *out);
int exe_restore(struct exe_engine *e, const uint8_t *data, size_t len);
void exe_digest(struct exe_engine *e, uint8_t out[SMR_DIGEST_BYTES]);

#endif
