/*
 * session.h: the client session table and the engine state framing, shared
 * by every engine (internal to execution/).
 *
 * A session maps a client id to its last request id, the reply to that
 * request and the log time it was last seen. It is replicated state: it is
 * hashed into the digest and written into the snapshot. The rules
 * (ARCHITECTURE.md "Execution", exactly-once):
 *
 *   no session, or req_id > last:  NEW    apply, then record the reply
 *   req_id == last:                RETRY  answer the recorded reply
 *   req_id < last:                 STALE  drop silently: the client has
 *                                         moved on and needs no answer
 *
 * Expiry: with ttl_ms > 0, a session whose last_seen_ms + ttl_ms is below
 * the log time of the entry being executed is removed, before that entry's
 * commands. Log time (the leader's timestamp) may step backwards after a
 * leader change, so sessions sit in a min-heap by (last_seen_ms, client_id)
 * rather than in arrival order; the set removed depends only on the state
 * and the entry, so every replica removes the same sessions.
 *
 * The engine state framing (exe_state_*) fixes one snapshot layout and one
 * digest for every engine, so that the sequential and the parallel engine
 * can be compared byte for byte:
 *
 *     u32 magic "SEXE", u32 version (2), u64 executed_seq,
 *     u64 log_time_ms, u64 sessions_bytes, sessions section,
 *     app snapshot (the rest)
 *
 *     (version 1, without log_time_ms, is still read: its clock is 0, so
 *     the next entry sets it)
 *
 *     sessions section: u64 count, count times { u64 client_id,
 *     u64 last_req_id, u64 last_seen_ms, u32 reply_len, reply },
 *     client ids strictly ascending
 *
 *     digest = BLAKE2b-256("strata.exe.v2" || u64 executed_seq ||
 *                          u64 log_time_ms || app digest ||
 *                          sessions digest)
 */
#ifndef STRATA_EXE_SESSION_H
#define STRATA_EXE_SESSION_H

#include "exe.h"

struct exe_sessions;

enum exe_session_verdict {
    EXE_SESSION_NEW,
    EXE_SESSION_RETRY,
    EXE_SESSION_STALE,
};

/* An empty table. SMR_ENOMEM, SMR_EIO (libsodium would not initialize). */
int exe_sessions_new(uint64_t ttl_ms, struct exe_sessions **out);
void exe_sessions_destroy(struct exe_sessions **s);

/* Classifies a request. On RETRY it also refreshes the session's
 * last_seen_ms to `now_ms` (a client still retrying is alive) and points
 * `reply` at the recorded reply, borrowed until the table next changes. */
enum exe_session_verdict exe_sessions_admit(struct exe_sessions *s,
                                            smr_client_id client_id,
                                            smr_req_id req_id, uint64_t now_ms,
                                            const uint8_t **reply,
                                            uint32_t *reply_len);

/* Records the reply to a NEW request (creating the session if needed); the
 * bytes are copied. SMR_ENOMEM leaves the table unchanged; SMR_ETOOBIG for a
 * reply over EXE_REPLY_BYTES_MAX. */
int exe_sessions_record(struct exe_sessions *s, smr_client_id client_id,
                        smr_req_id req_id, uint64_t now_ms,
                        const uint8_t *reply, uint32_t reply_len);

/* Removes every session with last_seen_ms + ttl_ms < now_ms (none when the
 * ttl is 0). Returns how many were removed. */
size_t exe_sessions_expire(struct exe_sessions *s, uint64_t now_ms);

size_t exe_sessions_count(const struct exe_sessions *s);
/* The smallest last_seen_ms of any session (the next to expire); false
 * when the table is empty. */
bool exe_sessions_oldest_ms(const struct exe_sessions *s, uint64_t *ms);
/* BLAKE2b-256 over the set hash of the sessions. */
void exe_sessions_digest(const struct exe_sessions *s,
                         uint8_t out[SMR_DIGEST_BYTES]);
/* Appends the sessions section, sorted by client id; on failure `out` keeps
 * its length. SMR_ENOMEM, SMR_ETOOBIG. */
int exe_sessions_snapshot(const struct exe_sessions *s, struct smr_buf *out);
/* Builds a new table from exactly the bytes of a sessions section.
 * SMR_ECORRUPT on bad bytes, SMR_ENOMEM; allocation is bounded by `len`. */
int exe_sessions_restore(uint64_t ttl_ms, const uint8_t *data, size_t len,
                         struct exe_sessions **out);

/* ---- engine state framing --------------------------------------------- */

/* The log clock after an entry at `leader_time_ms`: it never goes back. */
static inline uint64_t exe_log_clock(uint64_t clock_ms, uint64_t leader_time_ms)
{
    return leader_time_ms > clock_ms ? leader_time_ms : clock_ms;
}

/* Appends the engine snapshot (layout above); on failure `out` keeps its
 * length. */
int exe_state_snapshot(struct exe_app *app, const struct exe_sessions *s,
                       smr_seq executed_seq, uint64_t log_time_ms,
                       struct smr_buf *out);
/* Parses an engine snapshot, restores the app from it and returns the new
 * session table, executed seq and log clock. On any failure (SMR_ECORRUPT,
 * SMR_EVERSION, SMR_ENOMEM, or the app's code) neither the app nor the
 * outputs change. */
int exe_state_restore(struct exe_app *app, uint64_t ttl_ms, const uint8_t *data,
                      size_t len, struct exe_sessions **sessions,
                      smr_seq *executed_seq, uint64_t *log_time_ms);
void exe_state_digest(struct exe_app *app, const struct exe_sessions *s,
                      smr_seq executed_seq, uint64_t log_time_ms,
                      uint8_t out[SMR_DIGEST_BYTES]);

#endif
