/*
 * run.c: one request through the session table and the app (run.h), and
 * checked state access (exe.h, "checked state access").
 *
 * Checked access keeps the declared key set of the command being applied in
 * a thread-local pointer: apply runs on the thread that called
 * exe_run_request, so an app's state accessor on that thread finds the set
 * without it being passed through the app interface.
 */
#include "run.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checked access --------------------------------------------------- */

#define MESSAGE_BYTES 1024
#define SHOWN_KEY_BYTES 40

static atomic_bool checking;
static _Atomic(exe_access_violation_fn) on_violation;
static _Thread_local const struct exe_keyset *declared;

void exe_access_checking(bool on)
{
    atomic_store(&checking, on);
}

bool exe_access_checking_on(void)
{
    return atomic_load_explicit(&checking, memory_order_relaxed);
}

void exe_access_on_violation(exe_access_violation_fn fn)
{
    atomic_store(&on_violation, fn);
}

static bool key_match(const struct exe_key *k, bool prefix, const uint8_t *key,
                      uint32_t len)
{
    if (prefix)
        return k->len <= len && (k->len == 0 || memcmp(k->key, key, k->len) == 0);
    return k->len == len && (len == 0 || memcmp(k->key, key, len) == 0);
}

bool exe_keyset_allows(const struct exe_keyset *ks, const uint8_t *key,
                       uint32_t key_len, bool write)
{
    for (uint32_t i = 0; i < ks->n_writes; i++)
        if (key_match(&ks->writes[i], ks->write_prefixes >> i & 1, key,
                      key_len))
            return true;
    for (uint32_t i = 0; !write && i < ks->n_reads; i++)
        if (key_match(&ks->reads[i], ks->read_prefixes >> i & 1, key,
                      key_len))
            return true;
    return false;
}

/* Appends `key` to `out` (NUL-terminated, at most `cap` bytes), printable
 * ASCII as is and other bytes as \xNN, cut after SHOWN_KEY_BYTES. */
static void show_key(char *out, size_t cap, const uint8_t *key, uint32_t len,
                     bool prefix)
{
    size_t used = strlen(out);
    for (uint32_t i = 0; i < len && i < SHOWN_KEY_BYTES && used + 8 < cap; i++) {
        uint8_t c = key[i];
        used += (size_t)snprintf(out + used, cap - used,
                                 c >= 0x20 && c < 0x7f && c != '\'' ? "%c"
                                                                    : "\\x%02x",
                                 c);
    }
    if (used + 8 < cap)
        snprintf(out + used, cap - used, "%s%s", len > SHOWN_KEY_BYTES ? "..." : "",
                 prefix ? "*" : "");
}

static void show_set(char *out, size_t cap, const char *what,
                     const struct exe_key *keys, uint32_t n, uint32_t prefixes)
{
    size_t used = strlen(out);
    snprintf(out + used, cap - used, " %s [", what);
    for (uint32_t i = 0; i < n; i++) {
        used = strlen(out);
        snprintf(out + used, cap - used, "%s'", i ? ", " : "");
        show_key(out, cap, keys[i].key, keys[i].len, prefixes >> i & 1);
        used = strlen(out);
        snprintf(out + used, cap - used, "'");
    }
    used = strlen(out);
    snprintf(out + used, cap - used, "]");
}

static void violation(const char *app, const uint8_t *key, uint32_t len,
                      bool write)
{
    char msg[MESSAGE_BYTES];
    snprintf(msg, sizeof msg, "checked access: app %s %s key '", app,
             write ? "writes" : "reads");
    show_key(msg, sizeof msg, key, len, false);
    size_t used = strlen(msg);
    snprintf(msg + used, sizeof msg - used,
             "', outside the key set its conflict_keys declared for the "
             "command:");
    show_set(msg, sizeof msg, "reads", declared->reads, declared->n_reads,
             declared->read_prefixes);
    show_set(msg, sizeof msg, "writes", declared->writes, declared->n_writes,
             declared->write_prefixes);
    exe_access_violation_fn fn = atomic_load(&on_violation);
    if (fn) {
        fn(msg);
        return;
    }
    fprintf(stderr, "%s\n", msg);
    abort();
}

void exe_access_check(const char *app, const uint8_t *key, uint32_t key_len,
                      bool write)
{
    if (!exe_access_checking_on() || !declared)
        return;
    if (!exe_keyset_allows(declared, key, key_len, write))
        violation(app, key, key_len, write);
}

/* ---- one request ------------------------------------------------------ */

int exe_keys_of(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                struct exe_keyset *ks)
{
    ks->n_reads = ks->n_writes = 0;
    ks->read_prefixes = ks->write_prefixes = 0;
    int rc = app->ops->conflict_keys(app, op, op_len, ks);
    if (rc == SMR_OK && (ks->n_reads > EXE_KEYS_MAX || ks->n_writes > EXE_KEYS_MAX))
        rc = SMR_EMALFORMED; /* the app broke its contract: trust nothing */
    if (rc != SMR_OK) {
        ks->n_reads = ks->n_writes = 0;
        ks->read_prefixes = ks->write_prefixes = 0;
    }
    return rc;
}

/* Applies a NEW request and records its reply. */
static int apply_new(struct exe_app *app, struct exe_sessions *sessions,
                     pthread_mutex_t *lock, const struct smr_request *r,
                     smr_seq seq, uint64_t time_ms,
                     const struct exe_keyset *keys, struct smr_buf *reply)
{
    struct exe_keyset own;
    if (exe_access_checking_on() && !keys) {
        exe_keys_of(app, r->op, r->op_len, &own);
        keys = &own;
    }
    declared = keys;
    int rc = app->ops->apply(app, r->op, r->op_len, seq, time_ms, reply);
    declared = NULL;
    if (rc)
        return rc;
    if (reply->len > EXE_REPLY_BYTES_MAX)
        return SMR_ETOOBIG; /* the app broke its contract */
    if (lock)
        pthread_mutex_lock(lock);
    rc = exe_sessions_record(sessions, r->client_id, r->req_id, time_ms,
                             reply->data, (uint32_t)reply->len);
    if (lock)
        pthread_mutex_unlock(lock);
    return rc;
}

struct exe_run_result exe_run_request(struct exe_app *app,
                                      struct exe_sessions *sessions,
                                      pthread_mutex_t *lock,
                                      const struct smr_request *r, smr_seq seq,
                                      uint64_t time_ms,
                                      const struct exe_keyset *keys,
                                      struct smr_buf *reply)
{
    struct exe_run_result res = {EXE_SESSION_STALE, SMR_OK};
    const uint8_t *recorded = NULL;
    uint32_t recorded_len = 0;
    smr_buf_reset(reply);
    if (lock)
        pthread_mutex_lock(lock);
    res.verdict = exe_sessions_admit(sessions, r->client_id, r->req_id, time_ms,
                                     &recorded, &recorded_len);
    /* The recorded reply is borrowed until the table changes: copy it
     * while the table is still ours. */
    if (res.verdict == EXE_SESSION_RETRY)
        res.rc = smr_buf_set(reply, recorded, recorded_len);
    if (lock)
        pthread_mutex_unlock(lock);
    if (res.verdict == EXE_SESSION_NEW)
        res.rc = apply_new(app, sessions, lock, r, seq, time_ms, keys, reply);
    return res;
}
