/*
 * kv.c: the built-in key-value app (exe.h): get, put, del and cas over byte
 * string keys (at most EXE_KV_KEY_BYTES_MAX) and values (at most
 * EXE_KV_VALUE_BYTES_MAX).
 *
 * Approach: a chained hash table (randomly seeded SipHash, so chosen keys
 * cannot flood one bucket) serves lookups; nothing iterates it to produce an
 * output. The digest is an incremental set hash (exe_util.h) over
 * BLAKE2b('K' || u32 key_len || key || value) of every pair, updated on each
 * write, so digest() is O(1) and depends only on the current pairs. The
 * snapshot lists the pairs in key order, so equal states give equal bytes:
 *
 *     u32 magic "SKV1", u64 count,
 *     count times { u32 key_len, key, u32 value_len, value }
 *
 * with keys strictly ascending (memcmp order, a prefix before its
 * extensions). restore() accepts exactly that canonical form.
 *
 * Semantics where the interface leaves a choice:
 *  - a command must be exactly its encoding: an unknown opcode, a short or
 *    over-long length, an oversize key or value or any trailing byte gives
 *    EXE_KV_BAD_COMMAND and touches nothing;
 *  - the empty key and the empty value are ordinary values;
 *  - del of an absent key replies EXE_KV_NOT_FOUND;
 *  - cas on an absent key never matches (EXE_KV_CAS_MISMATCH), even with an
 *    empty expected value; a matching cas replies EXE_KV_OK;
 *  - only a successful get carries bytes after the status byte.
 */
#include "exe.h"
#include "exe_util.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define KV_SNAPSHOT_MAGIC 0x31564b53u /* "SKV1" little-endian */
#define KV_DIGEST_DOMAIN "strata.kv.v1"
#define KV_ELEM_TAG 'K'
/* The smallest pair in a snapshot: two empty length-prefixed fields. */
#define KV_PAIR_BYTES_MIN 8u

struct kv_entry {
    struct exe_htab_node node; /* first: a node pointer is an entry pointer */
    uint8_t *value;
    uint32_t value_len;
    uint32_t value_cap;
    uint32_t key_len;
    uint8_t elem[SMR_DIGEST_BYTES]; /* this pair's set-hash element */
    uint8_t key[];
};

/* The store proper: what restore() builds fresh and then swaps in. */
struct kv_store {
    struct exe_htab table;
    struct exe_sethash set;
};

struct kv_app {
    struct exe_app base; /* first */
    struct kv_store store;
    uint8_t seed[EXE_HASH_SEED_BYTES];
};

struct kv_cmd {
    uint8_t opcode;
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *arg; /* put: the value; cas: the expected value */
    uint32_t arg_len;
    const uint8_t *arg2; /* cas: the new value */
    uint32_t arg2_len;
};

static struct kv_app *kv_of(struct exe_app *app)
{
    return (struct kv_app *)app;
}

/* ---- command encoding ------------------------------------------------- */

static bool kv_parse(const uint8_t *op, uint32_t op_len, struct kv_cmd *c)
{
    struct exe_reader r = exe_reader_make(op, op_len);
    memset(c, 0, sizeof *c);
    if (!exe_read_u8(&r, &c->opcode))
        return false;
    if (c->opcode < EXE_KV_GET || c->opcode > EXE_KV_CAS)
        return false;
    if (!exe_read_field(&r, EXE_KV_KEY_BYTES_MAX, &c->key, &c->key_len))
        return false;
    if (c->opcode == EXE_KV_PUT || c->opcode == EXE_KV_CAS) {
        if (!exe_read_field(&r, EXE_KV_VALUE_BYTES_MAX, &c->arg, &c->arg_len))
            return false;
    }
    if (c->opcode == EXE_KV_CAS) {
        if (!exe_read_field(&r, EXE_KV_VALUE_BYTES_MAX, &c->arg2, &c->arg2_len))
            return false;
    }
    return r.left == 0;
}

int exe_kv_encode(struct smr_buf *out, enum exe_kv_opcode opcode,
                  const void *key, uint32_t key_len, const void *expect,
                  uint32_t expect_len, const void *value, uint32_t value_len)
{
    assert(out && (key || key_len == 0));
    if (opcode < EXE_KV_GET || opcode > EXE_KV_CAS)
        return SMR_EINVAL;
    bool has_value = opcode == EXE_KV_PUT || opcode == EXE_KV_CAS;
    bool has_expect = opcode == EXE_KV_CAS;
    assert(!has_value || value || value_len == 0);
    assert(!has_expect || expect || expect_len == 0);
    if (key_len > EXE_KV_KEY_BYTES_MAX ||
        (has_value && value_len > EXE_KV_VALUE_BYTES_MAX) ||
        (has_expect && expect_len > EXE_KV_VALUE_BYTES_MAX))
        return SMR_ETOOBIG;
    size_t total = 1 + 4 + (size_t)key_len;
    total += has_expect ? 4 + (size_t)expect_len : 0;
    total += has_value ? 4 + (size_t)value_len : 0;
    size_t old_len = out->len;
    out->len = 0;
    int rc = smr_buf_reserve(out, total);
    if (rc) {
        out->len = old_len;
        return rc;
    }
    uint8_t *p = out->data;
    *p++ = (uint8_t)opcode;
    p = exe_write_bytes(exe_write_u32(p, key_len), key, key_len);
    if (has_expect)
        p = exe_write_bytes(exe_write_u32(p, expect_len), expect, expect_len);
    if (has_value)
        p = exe_write_bytes(exe_write_u32(p, value_len), value, value_len);
    out->len = (size_t)(p - out->data);
    assert(out->len == total);
    return SMR_OK;
}

/* ---- the store -------------------------------------------------------- */

static void kv_elem(uint8_t out[SMR_DIGEST_BYTES], const uint8_t *key,
                    uint32_t key_len, const uint8_t *value, uint32_t value_len)
{
    crypto_generichash_state st;
    uint8_t header[5];
    header[0] = KV_ELEM_TAG;
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
    struct kv_entry *e = (struct kv_entry *)n;
    free(e->value);
    free(e);
}

static void store_clear(struct kv_store *s)
{
    exe_htab_drain(&s->table, entry_free);
    exe_htab_free(&s->table);
    exe_sethash_init(&s->set);
}

static int store_init(struct kv_store *s, size_t expected)
{
    exe_sethash_init(&s->set);
    return exe_htab_init(&s->table, expected);
}

static struct kv_entry *store_find(const struct kv_store *s, uint64_t hash,
                                   const uint8_t *key, uint32_t key_len)
{
    struct exe_htab_node *n = exe_htab_bucket(&s->table, hash);
    for (; n; n = n->next) {
        struct kv_entry *e = (struct kv_entry *)n;
        if (n->hash == hash && e->key_len == key_len &&
            (key_len == 0 || memcmp(e->key, key, key_len) == 0))
            return e;
    }
    return NULL;
}

/* Replaces the value bytes; keeps the buffer unless it is too small or more
 * than twice too big. SMR_ENOMEM leaves the entry unchanged. */
static int entry_set_value(struct kv_entry *e, const uint8_t *value,
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

static int store_insert(struct kv_store *s, uint64_t hash, const uint8_t *key,
                        uint32_t key_len, const uint8_t *value,
                        uint32_t value_len)
{
    struct kv_entry *e = calloc(1, sizeof *e + key_len);
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
    kv_elem(e->elem, key, key_len, value, value_len);
    exe_htab_insert(&s->table, &e->node);
    exe_sethash_add(&s->set, e->elem);
    return SMR_OK;
}

static int store_overwrite(struct kv_store *s, struct kv_entry *e,
                           const uint8_t *value, uint32_t value_len)
{
    uint8_t elem[SMR_DIGEST_BYTES];
    kv_elem(elem, e->key, e->key_len, value, value_len);
    int rc = entry_set_value(e, value, value_len);
    if (rc)
        return rc;
    exe_sethash_remove(&s->set, e->elem);
    exe_sethash_add(&s->set, elem);
    memcpy(e->elem, elem, sizeof elem);
    return SMR_OK;
}

static void store_delete(struct kv_store *s, struct kv_entry *e)
{
    exe_htab_remove(&s->table, &e->node);
    exe_sethash_remove(&s->set, e->elem);
    entry_free(&e->node);
}

static uint64_t kv_hash(const struct kv_app *kv, const uint8_t *key,
                        uint32_t key_len)
{
    return exe_keyed_hash(kv->seed, key, key_len);
}

/* ---- apply ------------------------------------------------------------ */

static int reply_status(struct smr_buf *reply, enum exe_kv_status status)
{
    uint8_t b = (uint8_t)status;
    return smr_buf_append(reply, &b, 1);
}

static int kv_get(struct kv_app *kv, const struct kv_cmd *c,
                  struct smr_buf *reply)
{
    uint64_t h = kv_hash(kv, c->key, c->key_len);
    struct kv_entry *e = store_find(&kv->store, h, c->key, c->key_len);
    if (!e)
        return reply_status(reply, EXE_KV_NOT_FOUND);
    int rc = smr_buf_reserve(reply, 1 + (size_t)e->value_len);
    if (rc)
        return rc;
    reply_status(reply, EXE_KV_OK);
    return smr_buf_append(reply, e->value, e->value_len);
}

static int kv_put(struct kv_app *kv, const struct kv_cmd *c)
{
    uint64_t h = kv_hash(kv, c->key, c->key_len);
    struct kv_entry *e = store_find(&kv->store, h, c->key, c->key_len);
    if (e)
        return store_overwrite(&kv->store, e, c->arg, c->arg_len);
    return store_insert(&kv->store, h, c->key, c->key_len, c->arg, c->arg_len);
}

static enum exe_kv_status kv_del(struct kv_app *kv, const struct kv_cmd *c)
{
    uint64_t h = kv_hash(kv, c->key, c->key_len);
    struct kv_entry *e = store_find(&kv->store, h, c->key, c->key_len);
    if (!e)
        return EXE_KV_NOT_FOUND;
    store_delete(&kv->store, e);
    return EXE_KV_OK;
}

static int kv_cas(struct kv_app *kv, const struct kv_cmd *c,
                  enum exe_kv_status *status)
{
    uint64_t h = kv_hash(kv, c->key, c->key_len);
    struct kv_entry *e = store_find(&kv->store, h, c->key, c->key_len);
    *status = EXE_KV_CAS_MISMATCH;
    if (!e || e->value_len != c->arg_len ||
        (c->arg_len && memcmp(e->value, c->arg, c->arg_len) != 0))
        return SMR_OK;
    *status = EXE_KV_OK;
    return store_overwrite(&kv->store, e, c->arg2, c->arg2_len);
}

static int kv_apply(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                    smr_seq seq, uint64_t time_ms, struct smr_buf *reply)
{
    struct kv_app *kv = kv_of(app);
    struct kv_cmd c;
    enum exe_kv_status status = EXE_KV_OK;
    int rc;
    (void)seq;
    (void)time_ms;
    assert(op || op_len == 0);
    if (!kv_parse(op, op_len, &c))
        return reply_status(reply, EXE_KV_BAD_COMMAND);
    if (c.opcode == EXE_KV_GET)
        return kv_get(kv, &c, reply);
    /* Room for the status first: once state changed, the reply must fit. */
    rc = smr_buf_reserve(reply, 1);
    if (rc)
        return rc;
    if (c.opcode == EXE_KV_PUT)
        rc = kv_put(kv, &c);
    else if (c.opcode == EXE_KV_DEL)
        status = kv_del(kv, &c);
    else
        rc = kv_cas(kv, &c, &status);
    if (rc)
        return rc;
    return reply_status(reply, status);
}

/* Reads and writes are the key itself. del and cas also read: their reply
 * depends on what was there. */
static int kv_conflict_keys(struct exe_app *app, const uint8_t *op,
                            uint32_t op_len, struct exe_keyset *out)
{
    struct kv_cmd c;
    (void)app;
    out->n_reads = 0;
    out->n_writes = 0;
    if (!kv_parse(op, op_len, &c))
        return SMR_EMALFORMED;
    struct exe_key k = {c.key, c.key_len};
    if (c.opcode != EXE_KV_PUT)
        out->reads[out->n_reads++] = k;
    if (c.opcode != EXE_KV_GET)
        out->writes[out->n_writes++] = k;
    return SMR_OK;
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

static const struct kv_entry *entry_of(const struct exe_htab_node *n)
{
    return (const struct kv_entry *)n;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct kv_entry *a = entry_of(*(struct exe_htab_node *const *)pa);
    const struct kv_entry *b = entry_of(*(struct exe_htab_node *const *)pb);
    return key_cmp(a->key, a->key_len, b->key, b->key_len);
}

static size_t snapshot_bytes(struct exe_htab_node **sorted, size_t n)
{
    size_t total = 4 + 8;
    for (size_t i = 0; i < n; i++) {
        const struct kv_entry *e = entry_of(sorted[i]);
        total += KV_PAIR_BYTES_MIN + (size_t)e->key_len + e->value_len;
    }
    return total;
}

static void snapshot_write(struct exe_htab_node **sorted, size_t n, uint8_t *p)
{
    p = exe_write_u32(p, KV_SNAPSHOT_MAGIC);
    p = exe_write_u64(p, n);
    for (size_t i = 0; i < n; i++) {
        const struct kv_entry *e = entry_of(sorted[i]);
        p = exe_write_bytes(exe_write_u32(p, e->key_len), e->key, e->key_len);
        p = exe_write_bytes(exe_write_u32(p, e->value_len), e->value,
                            e->value_len);
    }
}

/* Appends the canonical snapshot to `out`; on failure `out` keeps its
 * length. SMR_ENOMEM, or SMR_ETOOBIG past the smr_buf cap. */
static int kv_snapshot(struct exe_app *app, struct smr_buf *out)
{
    struct kv_app *kv = kv_of(app);
    size_t n = kv->store.table.count;
    struct exe_htab_node **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return SMR_ENOMEM;
    exe_htab_collect(&kv->store.table, sorted);
    qsort(sorted, n, sizeof *sorted, entry_cmp);
    size_t total = snapshot_bytes(sorted, n);
    int rc = smr_buf_reserve(out, total);
    if (rc == SMR_OK) {
        snapshot_write(sorted, n, out->data + out->len);
        out->len += total;
    }
    free(sorted);
    return rc;
}

/* Fills `s` (initialized, empty) from the pairs after the header. */
static int restore_pairs(struct kv_app *kv, struct exe_reader *r,
                         uint64_t count, struct kv_store *s)
{
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *key, *value;
        uint32_t key_len, value_len;
        if (!exe_read_field(r, EXE_KV_KEY_BYTES_MAX, &key, &key_len) ||
            !exe_read_field(r, EXE_KV_VALUE_BYTES_MAX, &value, &value_len))
            return SMR_ECORRUPT;
        if (i > 0 && key_cmp(prev, prev_len, key, key_len) >= 0)
            return SMR_ECORRUPT; /* unsorted or duplicate: not canonical */
        uint64_t h = kv_hash(kv, key, key_len);
        int rc = store_insert(s, h, key, key_len, value, value_len);
        if (rc)
            return rc;
        prev = key;
        prev_len = key_len;
    }
    return r->left == 0 ? SMR_OK : SMR_ECORRUPT;
}

static int kv_restore(struct exe_app *app, const uint8_t *data, size_t len)
{
    struct kv_app *kv = kv_of(app);
    struct exe_reader r = exe_reader_make(data, len);
    uint32_t magic;
    uint64_t count;
    struct kv_store fresh;
    if (!exe_read_u32(&r, &magic) || magic != KV_SNAPSHOT_MAGIC ||
        !exe_read_u64(&r, &count) || count > r.left / KV_PAIR_BYTES_MIN)
        return SMR_ECORRUPT;
    /* count is bounded by the input, and so is the bucket array. */
    int rc = store_init(&fresh, (size_t)count);
    if (rc)
        return rc;
    rc = restore_pairs(kv, &r, count, &fresh);
    if (rc) {
        store_clear(&fresh);
        return rc;
    }
    store_clear(&kv->store);
    kv->store = fresh;
    return SMR_OK;
}

static void kv_digest(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_sethash_final(&kv_of(app)->store.set, KV_DIGEST_DOMAIN, out);
}

static void kv_destroy(struct exe_app *app)
{
    struct kv_app *kv = kv_of(app);
    store_clear(&kv->store);
    free(kv);
}

static const struct exe_app_ops kv_ops = {
    .version = EXE_APP_OPS_VERSION,
    .name = "kv",
    .has_conflict_keys = true,
    .destroy = kv_destroy,
    .apply = kv_apply,
    .conflict_keys = kv_conflict_keys,
    .snapshot = kv_snapshot,
    .restore = kv_restore,
    .digest = kv_digest,
};

int exe_kv_app_new(struct exe_app **out)
{
    assert(out);
    struct kv_app *kv = calloc(1, sizeof *kv);
    if (!kv)
        return SMR_ENOMEM;
    int rc = exe_hash_seed(kv->seed);
    if (rc == SMR_OK)
        rc = store_init(&kv->store, 0);
    if (rc) {
        free(kv);
        return rc;
    }
    kv->base.ops = &kv_ops;
    *out = &kv->base;
    return SMR_OK;
}
