/*
 * exe_util.h: internal helpers shared by the execution layer's apps and
 * engines (not part of the public interface in exe.h).
 *
 *  - exe_reader: a cursor that validates every length against the bytes that
 *    remain, for decoding commands and snapshots that may be hostile.
 *  - exe_htab: an intrusive chained hash table keyed by a 64-bit hash. Its
 *    iteration order depends on a per-process random seed, so nothing may
 *    iterate it to produce an output: callers collect and sort instead.
 *  - exe_sethash: an incremental multiset hash (the sum, mod 2^2048, of each
 *    element's 32-byte BLAKE2b hash expanded to 256 bytes with ChaCha20).
 *    Adding and removing an element is O(1) and the result depends only on
 *    the set, not on the order of updates. 2048 bits rather than 256 because
 *    a sum modulo 2^n admits generalized-birthday (k-tree) collisions in about
 *    2^(2*sqrt(n)) work: 2^32 for n = 256, out of reach (~2^90) for n = 2048,
 *    and a Byzantine client chooses the elements.
 */
#ifndef STRATA_EXE_UTIL_H
#define STRATA_EXE_UTIL_H

#include "smr.h"

#include <string.h>

/* ---- validating reader ------------------------------------------------ */

struct exe_reader {
    const uint8_t *p;
    size_t left;
};

static inline struct exe_reader exe_reader_make(const uint8_t *p, size_t len)
{
    struct exe_reader r = {p, len};
    return r;
}

static inline bool exe_read_bytes(struct exe_reader *r, size_t n,
                                  const uint8_t **out)
{
    if (n > r->left)
        return false;
    *out = r->p;
    if (n)
        r->p += n;
    r->left -= n;
    return true;
}

static inline bool exe_read_u8(struct exe_reader *r, uint8_t *v)
{
    const uint8_t *p;
    if (!exe_read_bytes(r, 1, &p))
        return false;
    *v = p[0];
    return true;
}

static inline bool exe_read_u32(struct exe_reader *r, uint32_t *v)
{
    const uint8_t *p;
    if (!exe_read_bytes(r, 4, &p))
        return false;
    *v = smr_get_u32(p);
    return true;
}

static inline bool exe_read_u64(struct exe_reader *r, uint64_t *v)
{
    const uint8_t *p;
    if (!exe_read_bytes(r, 8, &p))
        return false;
    *v = smr_get_u64(p);
    return true;
}

/* A u32 length (at most `max`) followed by that many bytes. */
static inline bool exe_read_field(struct exe_reader *r, uint32_t max,
                                  const uint8_t **out, uint32_t *len)
{
    uint32_t n;
    if (!exe_read_u32(r, &n) || n > max || !exe_read_bytes(r, n, out))
        return false;
    *len = n;
    return true;
}

/* Appends u32/u64 little-endian to a buffer that already has room. */
static inline uint8_t *exe_write_u32(uint8_t *p, uint32_t v)
{
    smr_put_u32(p, v);
    return p + 4;
}

static inline uint8_t *exe_write_u64(uint8_t *p, uint64_t v)
{
    smr_put_u64(p, v);
    return p + 8;
}

static inline uint8_t *exe_write_bytes(uint8_t *p, const void *d, size_t n)
{
    if (n)
        memcpy(p, d, n);
    return p + n;
}

/* ---- keyed hashing for table lookups ---------------------------------- */

#define EXE_HASH_SEED_BYTES 16

/* Initializes libsodium and draws a random SipHash key. The seed only shapes
 * table layout (defeating hash flooding by chosen keys); it never reaches
 * replicated state. SMR_EIO when libsodium cannot initialize. */
int exe_hash_seed(uint8_t seed[EXE_HASH_SEED_BYTES]);
uint64_t exe_keyed_hash(const uint8_t seed[EXE_HASH_SEED_BYTES],
                        const void *data, size_t len);

/* ---- intrusive hash table --------------------------------------------- */

struct exe_htab_node {
    struct exe_htab_node *next;
    uint64_t hash;
};

struct exe_htab {
    struct exe_htab_node **buckets;
    size_t mask;  /* bucket count - 1; the count is a power of two */
    size_t count; /* nodes in the table */
};

/* Sizes the bucket array for about `expected` nodes. SMR_ENOMEM. */
int exe_htab_init(struct exe_htab *t, size_t expected);
/* Frees the bucket array only; the caller owns (and frees) the nodes. */
void exe_htab_free(struct exe_htab *t);

static inline struct exe_htab_node *exe_htab_bucket(const struct exe_htab *t,
                                                    uint64_t hash)
{
    return t->buckets[hash & t->mask];
}

/* Links `n` (its `hash` set by the caller; its key not yet present). Grows
 * the bucket array when it can; a failed growth only costs speed. */
void exe_htab_insert(struct exe_htab *t, struct exe_htab_node *n);
void exe_htab_remove(struct exe_htab *t, struct exe_htab_node *n);
/* Writes every node into `out` (room for t->count), in no useful order. */
void exe_htab_collect(const struct exe_htab *t, struct exe_htab_node **out);
/* Unlinks every node, calling `free_fn` on each. */
void exe_htab_drain(struct exe_htab *t,
                    void (*free_fn)(struct exe_htab_node *n));

/* ---- incremental multiset hash ---------------------------------------- */

#define EXE_SETHASH_LIMBS 32 /* 2048 bits */

struct exe_sethash {
    uint64_t limb[EXE_SETHASH_LIMBS]; /* little-endian limbs of the sum */
    uint64_t count;                   /* elements in the set */
};

void exe_sethash_init(struct exe_sethash *h);
/* `elem` is the element's BLAKE2b-256 hash (domain-separated by caller). */
void exe_sethash_add(struct exe_sethash *h,
                     const uint8_t elem[SMR_DIGEST_BYTES]);
void exe_sethash_remove(struct exe_sethash *h,
                        const uint8_t elem[SMR_DIGEST_BYTES]);
/* dst += src: the hash of the union of two disjoint multisets. */
void exe_sethash_merge(struct exe_sethash *dst, const struct exe_sethash *src);
/* BLAKE2b-256 over `domain`, the sum and the count. */
void exe_sethash_final(const struct exe_sethash *h, const char *domain,
                       uint8_t out[SMR_DIGEST_BYTES]);

#endif
