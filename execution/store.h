/*
 * store.h: a byte-string map that apps keep their state in (internal to
 * execution/): the KV, bank and work apps use it.
 *
 * It serves both engines. Under the parallel engine, commands whose
 * declared key sets do not conflict run on different threads at once, so
 * the store is split into shards, each with its own lock, hash table and
 * set hash; an operation holds one shard's lock for its duration. A value
 * returned by exe_store_get stays valid until the same key is written or
 * deleted, which no other command may do while this one runs (the engine
 * orders conflicting commands), so it can be read after the lock is gone.
 *
 * Every get, put, del and visit goes through exe_access_check (exe.h): with
 * checked access on, touching a key outside the running command's declared
 * key set stops the process with a sentence naming the app and the key.
 *
 * Outputs are canonical: the digest is the sum of the shards' set hashes
 * (the same sum one table would give), BLAKE2b(tag || u32 key_len || key ||
 * value) per pair, finalized under the format's domain; the snapshot lists
 * the pairs in key order (memcmp order, a prefix before its extensions):
 *
 *     u32 magic, u64 count, count times { u32 key_len, key, u32 value_len,
 *     value }
 *
 * restore() accepts exactly that form and leaves the store unchanged on
 * failure.
 */
#ifndef STRATA_EXE_STORE_H
#define STRATA_EXE_STORE_H

#include "exe.h"

/* How one app's store hashes and serializes. The strings are static. */
struct exe_store_format {
    const char *app;           /* named in access violations */
    uint8_t elem_tag;          /* first byte of every pair's hash input */
    const char *digest_domain; /* e.g. "strata.kv.v1" */
    uint32_t magic;            /* snapshot magic */
    uint32_t key_bytes_max;
    uint32_t value_bytes_max;
    /* Optional: true when a restored value is well-formed for the app. */
    bool (*value_ok)(const uint8_t *value, uint32_t len);
};

struct exe_store;

/* SMR_ENOMEM, SMR_EIO (libsodium). `fmt` is borrowed for the store's life. */
int exe_store_new(const struct exe_store_format *fmt, struct exe_store **out);
void exe_store_destroy(struct exe_store **s);

/* True when `key` is present: *value (borrowed, see above) and *len. */
bool exe_store_get(struct exe_store *s, const uint8_t *key, uint32_t key_len,
                   const uint8_t **value, uint32_t *value_len);
/* Inserts or overwrites. SMR_ENOMEM leaves the store unchanged. */
int exe_store_put(struct exe_store *s, const uint8_t *key, uint32_t key_len,
                  const uint8_t *value, uint32_t value_len);
/* Removes `key`; false when it was absent. */
bool exe_store_del(struct exe_store *s, const uint8_t *key, uint32_t key_len);

/* Calls fn on every pair, in no useful order: only for results that do not
 * depend on order (a sum, a count). The command must have declared a read
 * of every key (a prefix read of the empty key). Stops at the first
 * non-zero return and returns it. */
int exe_store_visit(struct exe_store *s,
                    int (*fn)(void *arg, const uint8_t *key, uint32_t key_len,
                              const uint8_t *value, uint32_t value_len),
                    void *arg);

uint64_t exe_store_count(struct exe_store *s);
void exe_store_digest(struct exe_store *s, uint8_t out[SMR_DIGEST_BYTES]);
/* Appends the canonical snapshot; on failure `out` keeps its length.
 * SMR_ENOMEM, SMR_ETOOBIG past the smr_buf cap. */
int exe_store_snapshot(struct exe_store *s, struct smr_buf *out);
/* Replaces the contents with exactly the bytes of a snapshot; SMR_ECORRUPT
 * on bad bytes, SMR_ENOMEM; the store is unchanged on failure. */
int exe_store_restore(struct exe_store *s, const uint8_t *data, size_t len);

#endif
