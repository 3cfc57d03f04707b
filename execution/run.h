/*
 * run.h: the step every engine shares (internal to execution/): one request
 * against the session table and the app, and the checked-access context
 * around apply.
 *
 * The sequential engine calls exe_run_request on its own thread with no
 * lock; the parallel engine calls it on worker threads with the session
 * table's lock, after its dependency graph has made sure that no earlier
 * command of the same client, and no earlier command touching the same
 * keys, is unfinished. Both therefore see the same verdicts and replies.
 */
#ifndef STRATA_EXE_RUN_H
#define STRATA_EXE_RUN_H

#include "exe.h"
#include "session.h"

#include <pthread.h>

/* What happened to one request. */
struct exe_run_result {
    enum exe_session_verdict verdict; /* STALE: no reply */
    int rc;                           /* a resource failure, else SMR_OK */
};

/* Computes a command's key sets: zeroes `ks` (prefix masks included), then
 * asks the app. On SMR_EMALFORMED (or an app that overflows the bounds) the
 * sets are left empty: such a command touches no state. */
int exe_keys_of(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                struct exe_keyset *ks);

/* True when `ks` declares `key` (a write needs a declared write, a read
 * accepts a read or a write; a prefix covers every key it starts). */
bool exe_keyset_allows(const struct exe_keyset *ks, const uint8_t *key,
                       uint32_t key_len, bool write);

/* Runs one request of the entry (`seq`, `time_ms`): admit it through the
 * session table (under `sessions_lock` when not NULL); a NEW request goes
 * through the app (with `declared` as the checked-access context when
 * checking is on; NULL: computed here) and its reply is recorded; a RETRY
 * copies the recorded reply. `reply` holds the reply afterwards (empty for
 * STALE). */
struct exe_run_result exe_run_request(struct exe_app *app,
                                      struct exe_sessions *sessions,
                                      pthread_mutex_t *sessions_lock,
                                      const struct smr_request *r, smr_seq seq,
                                      uint64_t time_ms,
                                      const struct exe_keyset *declared,
                                      struct smr_buf *reply);

#endif
