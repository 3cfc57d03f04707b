/*
 * exe_util.c: keyed lookup hashing, the intrusive hash table and the
 * incremental multiset hash declared in exe_util.h.
 *
 * The set hash follows Bellare and Micciancio's AdHash (EUROCRYPT '97): the
 * digest of a set is the sum of a random-looking function of its elements,
 * here ChaCha20 keyed by the element's BLAKE2b hash, modulo 2^2048.
 */
#include "exe_util.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>

int exe_hash_seed(uint8_t seed[EXE_HASH_SEED_BYTES])
{
    if (sodium_init() < 0)
        return SMR_EIO;
    randombytes_buf(seed, EXE_HASH_SEED_BYTES);
    return SMR_OK;
}

uint64_t exe_keyed_hash(const uint8_t seed[EXE_HASH_SEED_BYTES],
                        const void *data, size_t len)
{
    uint8_t out[crypto_shorthash_BYTES];
    static const uint8_t empty[1];
    crypto_shorthash(out, len ? data : empty, len, seed);
    return smr_get_u64(out);
}

/* ---- intrusive hash table --------------------------------------------- */

#define HTAB_BUCKETS_MIN 16
#define HTAB_BUCKETS_MAX ((size_t)1 << 40)

static size_t buckets_for(size_t expected)
{
    size_t n = HTAB_BUCKETS_MIN;
    while (n < expected && n < HTAB_BUCKETS_MAX)
        n *= 2;
    return n;
}

int exe_htab_init(struct exe_htab *t, size_t expected)
{
    size_t n = buckets_for(expected);
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets)
        return SMR_ENOMEM;
    t->mask = n - 1;
    t->count = 0;
    return SMR_OK;
}

void exe_htab_free(struct exe_htab *t)
{
    assert(t->count == 0);
    free(t->buckets);
    t->buckets = NULL;
    t->mask = 0;
}

static void link_node(struct exe_htab_node **buckets, size_t mask,
                      struct exe_htab_node *n)
{
    struct exe_htab_node **head = &buckets[n->hash & mask];
    n->next = *head;
    *head = n;
}

/* Doubles the bucket array; on allocation failure keeps the old one. */
static void grow(struct exe_htab *t)
{
    size_t old_n = t->mask + 1;
    if (old_n >= HTAB_BUCKETS_MAX)
        return;
    struct exe_htab_node **b = calloc(old_n * 2, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < old_n; i++) {
        struct exe_htab_node *n = t->buckets[i], *next;
        for (; n; n = next) {
            next = n->next;
            link_node(b, old_n * 2 - 1, n);
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = old_n * 2 - 1;
}

void exe_htab_insert(struct exe_htab *t, struct exe_htab_node *n)
{
    if (t->count >= t->mask + 1)
        grow(t);
    link_node(t->buckets, t->mask, n);
    t->count++;
}

void exe_htab_remove(struct exe_htab *t, struct exe_htab_node *n)
{
    struct exe_htab_node **pp = &t->buckets[n->hash & t->mask];
    while (*pp != n) {
        assert(*pp); /* the node must be in the table */
        pp = &(*pp)->next;
    }
    *pp = n->next;
    n->next = NULL;
    t->count--;
}

void exe_htab_collect(const struct exe_htab *t, struct exe_htab_node **out)
{
    size_t k = 0;
    for (size_t i = 0; i <= t->mask && t->buckets; i++)
        for (struct exe_htab_node *n = t->buckets[i]; n; n = n->next)
            out[k++] = n;
    assert(k == t->count);
}

void exe_htab_drain(struct exe_htab *t,
                    void (*free_fn)(struct exe_htab_node *n))
{
    for (size_t i = 0; i <= t->mask && t->buckets; i++) {
        struct exe_htab_node *n = t->buckets[i], *next;
        for (; n; n = next) {
            next = n->next;
            free_fn(n);
        }
        t->buckets[i] = NULL;
    }
    t->count = 0;
}

/* ---- incremental multiset hash ---------------------------------------- */

#define SETHASH_BYTES (EXE_SETHASH_LIMBS * 8)

void exe_sethash_init(struct exe_sethash *h)
{
    memset(h, 0, sizeof *h);
}

/* smr_get_u64, written so that the compiler merges it into one load. */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Expands an element hash into the limbs of a 2048-bit number. */
static void expand(const uint8_t elem[SMR_DIGEST_BYTES],
                   uint64_t limb[EXE_SETHASH_LIMBS])
{
    static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    uint8_t bytes[SETHASH_BYTES];
    static_assert(SMR_DIGEST_BYTES == crypto_stream_chacha20_KEYBYTES,
                  "an element hash keys ChaCha20");
    crypto_stream_chacha20(bytes, sizeof bytes, nonce, elem);
    for (int i = 0; i < EXE_SETHASH_LIMBS; i++)
        limb[i] = load_le64(bytes + 8 * i);
}

void exe_sethash_add(struct exe_sethash *h,
                     const uint8_t elem[SMR_DIGEST_BYTES])
{
    uint64_t x[EXE_SETHASH_LIMBS];
    uint64_t carry = 0;
    expand(elem, x);
    for (int i = 0; i < EXE_SETHASH_LIMBS; i++) {
        uint64_t s = h->limb[i] + x[i];
        uint64_t c1 = s < x[i];
        uint64_t s2 = s + carry;
        carry = c1 | (s2 < s);
        h->limb[i] = s2;
    }
    h->count++;
}

void exe_sethash_remove(struct exe_sethash *h,
                        const uint8_t elem[SMR_DIGEST_BYTES])
{
    uint64_t x[EXE_SETHASH_LIMBS];
    uint64_t borrow = 0;
    assert(h->count > 0);
    expand(elem, x);
    for (int i = 0; i < EXE_SETHASH_LIMBS; i++) {
        uint64_t a = h->limb[i];
        uint64_t d = a - x[i];
        uint64_t b1 = a < x[i];
        uint64_t d2 = d - borrow;
        borrow = b1 | (d < borrow);
        h->limb[i] = d2;
    }
    h->count--;
}

void exe_sethash_merge(struct exe_sethash *dst, const struct exe_sethash *src)
{
    uint64_t carry = 0;
    for (int i = 0; i < EXE_SETHASH_LIMBS; i++) {
        uint64_t s = dst->limb[i] + src->limb[i];
        uint64_t c1 = s < src->limb[i];
        uint64_t s2 = s + carry;
        carry = c1 | (s2 < s);
        dst->limb[i] = s2;
    }
    dst->count += src->count;
}

void exe_sethash_final(const struct exe_sethash *h, const char *domain,
                       uint8_t out[SMR_DIGEST_BYTES])
{
    crypto_generichash_state st;
    uint8_t bytes[SETHASH_BYTES + 8];
    for (int i = 0; i < EXE_SETHASH_LIMBS; i++)
        smr_put_u64(bytes + 8 * i, h->limb[i]);
    smr_put_u64(bytes + SETHASH_BYTES, h->count);
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain));
    crypto_generichash_update(&st, bytes, sizeof bytes);
    crypto_generichash_final(&st, out, SMR_DIGEST_BYTES);
}
