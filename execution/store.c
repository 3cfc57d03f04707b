/*
 * store.c: the sharded byte-string map apps keep their state in (store.h).
 *
 * Approach: STORE_SHARDS shards chosen by the top bits of a seeded SipHash
 * of the key (keys come from clients, so the seed defeats chosen-key
 * flooding); each shard is an intrusive chained table (exe_util.h) with a
 * mutex and its own incremental set hash. Only the digest (a sum of the
 * shards' sums, which equals the sum one table would hold), the sorted
 * snapshot and order-independent visits reach outputs.
 */
#include "store.h"

#include "exe_util.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SHARDS 64 /* a power of two */
#define STORE_SHARD_SHIFT 58
/* The smallest pair in a snapshot: two empty length-prefixed fields. */
#define PAIR_BYTES_MIN 8u

struct store_entry {
    struct exe_htab_node node; /* first: a node pointer is an entry pointer */
    uint8_t *value;
    uint32_t value_len;
    uint32_t value_cap;
    uint32_t key_len;
    uint8_t elem[SMR_DIGEST_BYTES]; /* this pair's set-hash element */
    uint8_t key[];
};

struct shard {
    pthread_mutex_t lock;
    struct exe_htab table;
    struct exe_sethash set;
};

struct exe_store {
    const struct exe_store_format *fmt;
    uint8_t seed[EXE_HASH_SEED_BYTES];
    struct shard shards[STORE_SHARDS];
};

static struct store_entry *entry_of(const struct exe_htab_node *n)
{
    return (struct store_entry *)n;
}

static uint64_t key_hash(const struct exe_store *s, const uint8_t *key,
                         uint32_t len)
{
    return exe_keyed_hash(s->seed, key, len);
}

static struct shard *shard_of(struct exe_store *s, uint64_t hash)
{
    return &s->shards[hash >> STORE_SHARD_SHIFT];
}

static void pair_elem(const struct exe_store *s, uint8_t out[SMR_DIGEST_BYTES],
                      const uint8_t *key, uint32_t key_len,
                      const uint8_t *value, uint32_t value_len)
{
    crypto_generichash_state st;
    uint8_t header[5];
    header[0] = s->fmt->elem_tag;
    smr_put_u32(header + 1, key_len);
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, header, sizeof header);
    if (key_len)
        crypto_generichash_update(&st, key, key_len);
    if (value_len)
        crypto_generichash_update(&st, value, value_len);
    crypto_generichash_final(&st, out, SMR_DIGEST_BYTES);
}

static void entry_free(struct exe_htab_node *n)
{
    struct store_entry *e = entry_of(n);
    free(e->value);
    free(e);
}

/* ---- shards ----------------------------------------------------------- */

static void shards_clear(struct shard *sh)
{
    for (int i = 0; i < STORE_SHARDS; i++) {
        exe_htab_drain(&sh[i].table, entry_free);
        exe_htab_free(&sh[i].table);
        exe_sethash_init(&sh[i].set);
    }
}

/* Initializes the tables and set hashes (not the locks). */
static int shards_init(struct shard *sh, size_t expected)
{
    for (int i = 0; i < STORE_SHARDS; i++) {
        exe_sethash_init(&sh[i].set);
        if (exe_htab_init(&sh[i].table, expected / STORE_SHARDS) != SMR_OK) {
            for (int j = 0; j < i; j++)
                exe_htab_free(&sh[j].table);
            return SMR_ENOMEM;
        }
    }
    return SMR_OK;
}

static struct store_entry *shard_find(const struct shard *sh, uint64_t hash,
                                      const uint8_t *key, uint32_t key_len)
{
    struct exe_htab_node *n = exe_htab_bucket(&sh->table, hash);
    for (; n; n = n->next) {
        struct store_entry *e = entry_of(n);
        if (n->hash == hash && e->key_len == key_len &&
            (key_len == 0 || memcmp(e->key, key, key_len) == 0))
            return e;
    }
    return NULL;
}

/* Replaces the value bytes; keeps the buffer unless it is too small or more
 * than twice too big. SMR_ENOMEM leaves the entry unchanged. */
static int entry_set_value(struct store_entry *e, const uint8_t *value,
                           uint32_t len)
{
    if (len > e->value_cap || e->value_cap / 2 > len + 64) {
        uint8_t *p = len ? malloc(len) : NULL;
        if (len && !p)
            return SMR_ENOMEM;
        free(e->value);
        e->value = p;
        e->value_cap = len;
    }
    if (len)
        memcpy(e->value, value, len);
    e->value_len = len;
    return SMR_OK;
}

static int shard_insert(const struct exe_store *s, struct shard *sh,
                        uint64_t hash, const uint8_t *key, uint32_t key_len,
                        const uint8_t *value, uint32_t value_len)
{
    struct store_entry *e = calloc(1, sizeof *e + key_len);
    if (!e)
        return SMR_ENOMEM;
    if (entry_set_value(e, value, value_len) != SMR_OK) {
        free(e);
        return SMR_ENOMEM;
    }
    if (key_len)
        memcpy(e->key, key, key_len);
    e->key_len = key_len;
    e->node.hash = hash;
    pair_elem(s, e->elem, key, key_len, value, value_len);
    exe_htab_insert(&sh->table, &e->node);
    exe_sethash_add(&sh->set, e->elem);
    return SMR_OK;
}

/* ---- lifecycle -------------------------------------------------------- */

int exe_store_new(const struct exe_store_format *fmt, struct exe_store **out)
{
    assert(fmt && out);
    struct exe_store *s = calloc(1, sizeof *s);
    if (!s)
        return SMR_ENOMEM;
    int rc = exe_hash_seed(s->seed);
    if (rc == SMR_OK)
        rc = shards_init(s->shards, 0);
    if (rc) {
        free(s);
        return rc;
    }
    for (int i = 0; i < STORE_SHARDS; i++)
        pthread_mutex_init(&s->shards[i].lock, NULL);
    s->fmt = fmt;
    *out = s;
    return SMR_OK;
}

void exe_store_destroy(struct exe_store **ps)
{
    if (!ps || !*ps)
        return;
    struct exe_store *s = *ps;
    shards_clear(s->shards);
    for (int i = 0; i < STORE_SHARDS; i++)
        pthread_mutex_destroy(&s->shards[i].lock);
    free(s);
    *ps = NULL;
}

/* ---- operations ------------------------------------------------------- */

bool exe_store_get(struct exe_store *s, const uint8_t *key, uint32_t key_len,
                   const uint8_t **value, uint32_t *value_len)
{
    exe_access_check(s->fmt->app, key, key_len, false);
    uint64_t h = key_hash(s, key, key_len);
    struct shard *sh = shard_of(s, h);
    pthread_mutex_lock(&sh->lock);
    struct store_entry *e = shard_find(sh, h, key, key_len);
    pthread_mutex_unlock(&sh->lock);
    if (!e)
        return false;
    /* Only a conflicting command could change these, and none runs now. */
    *value = e->value;
    *value_len = e->value_len;
    return true;
}

static int overwrite(const struct exe_store *s, struct shard *sh,
                     struct store_entry *e, const uint8_t *value,
                     uint32_t value_len)
{
    uint8_t elem[SMR_DIGEST_BYTES];
    pair_elem(s, elem, e->key, e->key_len, value, value_len);
    int rc = entry_set_value(e, value, value_len);
    if (rc)
        return rc;
    exe_sethash_remove(&sh->set, e->elem);
    exe_sethash_add(&sh->set, elem);
    memcpy(e->elem, elem, sizeof elem);
    return SMR_OK;
}

int exe_store_put(struct exe_store *s, const uint8_t *key, uint32_t key_len,
                  const uint8_t *value, uint32_t value_len)
{
    assert((key || key_len == 0) && (value || value_len == 0));
    exe_access_check(s->fmt->app, key, key_len, true);
    uint64_t h = key_hash(s, key, key_len);
    struct shard *sh = shard_of(s, h);
    pthread_mutex_lock(&sh->lock);
    struct store_entry *e = shard_find(sh, h, key, key_len);
    int rc = e ? overwrite(s, sh, e, value, value_len)
               : shard_insert(s, sh, h, key, key_len, value, value_len);
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

bool exe_store_del(struct exe_store *s, const uint8_t *key, uint32_t key_len)
{
    exe_access_check(s->fmt->app, key, key_len, true);
    uint64_t h = key_hash(s, key, key_len);
    struct shard *sh = shard_of(s, h);
    pthread_mutex_lock(&sh->lock);
    struct store_entry *e = shard_find(sh, h, key, key_len);
    if (e) {
        exe_htab_remove(&sh->table, &e->node);
        exe_sethash_remove(&sh->set, e->elem);
    }
    pthread_mutex_unlock(&sh->lock);
    if (e)
        entry_free(&e->node);
    return e != NULL;
}

int exe_store_visit(struct exe_store *s,
                    int (*fn)(void *arg, const uint8_t *key, uint32_t key_len,
                              const uint8_t *value, uint32_t value_len),
                    void *arg)
{
    int rc = SMR_OK;
    for (int i = 0; rc == SMR_OK && i < STORE_SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->lock);
        for (size_t b = 0; rc == SMR_OK && b <= sh->table.mask; b++)
            for (struct exe_htab_node *n = sh->table.buckets[b];
                 rc == SMR_OK && n; n = n->next) {
                struct store_entry *e = entry_of(n);
                exe_access_check(s->fmt->app, e->key, e->key_len, false);
                rc = fn(arg, e->key, e->key_len, e->value, e->value_len);
            }
        pthread_mutex_unlock(&sh->lock);
    }
    return rc;
}

/* Called at barriers only (no command runs), like the digest and the
 * snapshot; the locks keep the memory model honest all the same. */
uint64_t exe_store_count(struct exe_store *s)
{
    uint64_t n = 0;
    for (int i = 0; i < STORE_SHARDS; i++) {
        pthread_mutex_lock(&s->shards[i].lock);
        n += s->shards[i].table.count;
        pthread_mutex_unlock(&s->shards[i].lock);
    }
    return n;
}

void exe_store_digest(struct exe_store *s, uint8_t out[SMR_DIGEST_BYTES])
{
    struct exe_sethash sum;
    exe_sethash_init(&sum);
    for (int i = 0; i < STORE_SHARDS; i++) {
        pthread_mutex_lock(&s->shards[i].lock);
        exe_sethash_merge(&sum, &s->shards[i].set);
        pthread_mutex_unlock(&s->shards[i].lock);
    }
    exe_sethash_final(&sum, s->fmt->digest_domain, out);
}

/* ---- snapshot and restore --------------------------------------------- */

static int key_cmp(const uint8_t *a, uint32_t a_len, const uint8_t *b,
                   uint32_t b_len)
{
    uint32_t n = a_len < b_len ? a_len : b_len;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (a_len > b_len) - (a_len < b_len);
}

static int node_cmp(const void *pa, const void *pb)
{
    const struct store_entry *a = entry_of(*(struct exe_htab_node *const *)pa);
    const struct store_entry *b = entry_of(*(struct exe_htab_node *const *)pb);
    return key_cmp(a->key, a->key_len, b->key, b->key_len);
}

static size_t snapshot_bytes(struct exe_htab_node **sorted, size_t n)
{
    size_t total = 4 + 8;
    for (size_t i = 0; i < n; i++) {
        const struct store_entry *e = entry_of(sorted[i]);
        total += PAIR_BYTES_MIN + (size_t)e->key_len + e->value_len;
    }
    return total;
}

static void snapshot_write(uint32_t magic, struct exe_htab_node **sorted,
                           size_t n, uint8_t *p)
{
    p = exe_write_u32(p, magic);
    p = exe_write_u64(p, n);
    for (size_t i = 0; i < n; i++) {
        const struct store_entry *e = entry_of(sorted[i]);
        p = exe_write_bytes(exe_write_u32(p, e->key_len), e->key, e->key_len);
        p = exe_write_bytes(exe_write_u32(p, e->value_len), e->value,
                            e->value_len);
    }
}

/* Collects every entry of every shard into `out` (room for the count). */
static size_t collect(struct exe_store *s, struct exe_htab_node **out)
{
    size_t k = 0;
    for (int i = 0; i < STORE_SHARDS; i++) {
        exe_htab_collect(&s->shards[i].table, out + k);
        k += s->shards[i].table.count;
    }
    return k;
}

static void lock_all(struct exe_store *s)
{
    for (int i = 0; i < STORE_SHARDS; i++)
        pthread_mutex_lock(&s->shards[i].lock);
}

static void unlock_all(struct exe_store *s)
{
    for (int i = STORE_SHARDS - 1; i >= 0; i--)
        pthread_mutex_unlock(&s->shards[i].lock);
}

int exe_store_snapshot(struct exe_store *s, struct smr_buf *out)
{
    lock_all(s);
    size_t n = 0;
    for (int i = 0; i < STORE_SHARDS; i++)
        n += s->shards[i].table.count;
    struct exe_htab_node **sorted = malloc((n ? n : 1) * sizeof *sorted);
    int rc = sorted ? SMR_OK : SMR_ENOMEM;
    if (rc == SMR_OK) {
        collect(s, sorted);
        qsort(sorted, n, sizeof *sorted, node_cmp);
        size_t total = snapshot_bytes(sorted, n);
        rc = smr_buf_reserve(out, total);
        if (rc == SMR_OK) {
            snapshot_write(s->fmt->magic, sorted, n, out->data + out->len);
            out->len += total;
        }
    }
    unlock_all(s);
    free(sorted);
    return rc;
}

/* Fills `fresh` (initialized, empty) from the pairs after the header. */
static int restore_pairs(struct exe_store *s, struct exe_reader *r,
                         uint64_t count, struct shard *fresh)
{
    const struct exe_store_format *f = s->fmt;
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *key, *value;
        uint32_t key_len, value_len;
        if (!exe_read_field(r, f->key_bytes_max, &key, &key_len) ||
            !exe_read_field(r, f->value_bytes_max, &value, &value_len))
            return SMR_ECORRUPT;
        if (i > 0 && key_cmp(prev, prev_len, key, key_len) >= 0)
            return SMR_ECORRUPT; /* unsorted or duplicate: not canonical */
        if (f->value_ok && !f->value_ok(value, value_len))
            return SMR_ECORRUPT;
        uint64_t h = key_hash(s, key, key_len);
        int rc = shard_insert(s, &fresh[h >> STORE_SHARD_SHIFT], h, key,
                              key_len, value, value_len);
        if (rc)
            return rc;
        prev = key;
        prev_len = key_len;
    }
    return r->left == 0 ? SMR_OK : SMR_ECORRUPT;
}

int exe_store_restore(struct exe_store *s, const uint8_t *data, size_t len)
{
    struct exe_reader r = exe_reader_make(data, len);
    uint32_t magic;
    uint64_t count;
    struct shard *fresh;
    if (!exe_read_u32(&r, &magic) || magic != s->fmt->magic ||
        !exe_read_u64(&r, &count) || count > r.left / PAIR_BYTES_MIN)
        return SMR_ECORRUPT;
    fresh = calloc(STORE_SHARDS, sizeof *fresh);
    if (!fresh)
        return SMR_ENOMEM;
    /* count is bounded by the input, and so are the bucket arrays. */
    int rc = shards_init(fresh, (size_t)count);
    if (rc) {
        free(fresh);
        return rc;
    }
    rc = restore_pairs(s, &r, count, fresh);
    if (rc == SMR_OK) {
        lock_all(s);
        shards_clear(s->shards);
        for (int i = 0; i < STORE_SHARDS; i++) {
            s->shards[i].table = fresh[i].table;
            s->shards[i].set = fresh[i].set;
        }
        unlock_all(s);
    } else {
        shards_clear(fresh);
    }
    free(fresh);
    return rc;
}
