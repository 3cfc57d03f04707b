/*
 * kv.c: the built-in key-value app (exe.h): get, put, del and cas over byte
 * string keys (at most EXE_KV_KEY_BYTES_MAX) and values (at most
 * EXE_KV_VALUE_BYTES_MAX).
 *
 * Approach: the pairs live in an exe_store (store.h): sharded, seeded
 * hash tables that the parallel engine's workers can use at once for
 * commands on different keys, every access checked against the command's
 * declared keys when checked access is on. The digest is an incremental set
 * hash (exe_util.h) over BLAKE2b('K' || u32 key_len || key || value) of
 * every pair, updated on each write, so digest() is O(1) and depends only
 * on the current pairs. The snapshot lists the pairs in key order, so equal
 * states give equal bytes:
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
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define KV_SNAPSHOT_MAGIC 0x31564b53u /* "SKV1" little-endian */

static const struct exe_store_format kv_format = {
    .app = "kv",
    .elem_tag = 'K',
    .digest_domain = "strata.kv.v1",
    .magic = KV_SNAPSHOT_MAGIC,
    .key_bytes_max = EXE_KV_KEY_BYTES_MAX,
    .value_bytes_max = EXE_KV_VALUE_BYTES_MAX,
};

struct kv_app {
    struct exe_app base; /* first */
    struct exe_store *store;
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

/* ---- apply ------------------------------------------------------------ */

static int reply_status(struct smr_buf *reply, enum exe_kv_status status)
{
    uint8_t b = (uint8_t)status;
    return smr_buf_append(reply, &b, 1);
}

static int kv_get(struct kv_app *kv, const struct kv_cmd *c,
                  struct smr_buf *reply)
{
    const uint8_t *value;
    uint32_t value_len;
    if (!exe_store_get(kv->store, c->key, c->key_len, &value, &value_len))
        return reply_status(reply, EXE_KV_NOT_FOUND);
    int rc = smr_buf_reserve(reply, 1 + (size_t)value_len);
    if (rc)
        return rc;
    reply_status(reply, EXE_KV_OK);
    return smr_buf_append(reply, value, value_len);
}

static int kv_put(struct kv_app *kv, const struct kv_cmd *c)
{
    return exe_store_put(kv->store, c->key, c->key_len, c->arg, c->arg_len);
}

static enum exe_kv_status kv_del(struct kv_app *kv, const struct kv_cmd *c)
{
    return exe_store_del(kv->store, c->key, c->key_len) ? EXE_KV_OK
                                                         : EXE_KV_NOT_FOUND;
}

static int kv_cas(struct kv_app *kv, const struct kv_cmd *c,
                  enum exe_kv_status *status)
{
    const uint8_t *value;
    uint32_t value_len;
    *status = EXE_KV_CAS_MISMATCH;
    if (!exe_store_get(kv->store, c->key, c->key_len, &value, &value_len) ||
        value_len != c->arg_len ||
        (c->arg_len && memcmp(value, c->arg, c->arg_len) != 0))
        return SMR_OK;
    *status = EXE_KV_OK;
    return exe_store_put(kv->store, c->key, c->key_len, c->arg2, c->arg2_len);
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
    out->read_prefixes = 0;
    out->write_prefixes = 0;
    if (!kv_parse(op, op_len, &c))
        return SMR_EMALFORMED;
    if (c.opcode != EXE_KV_PUT)
        exe_keyset_add(out, false, c.key, c.key_len, false);
    if (c.opcode != EXE_KV_GET)
        exe_keyset_add(out, true, c.key, c.key_len, false);
    return SMR_OK;
}

/* ---- snapshot and restore --------------------------------------------- */

/* Appends the canonical snapshot to `out`; on failure `out` keeps its
 * length. SMR_ENOMEM, or SMR_ETOOBIG past the smr_buf cap. */
static int kv_snapshot(struct exe_app *app, struct smr_buf *out)
{
    return exe_store_snapshot(kv_of(app)->store, out);
}

static int kv_restore(struct exe_app *app, const uint8_t *data, size_t len)
{
    return exe_store_restore(kv_of(app)->store, data, len);
}

static void kv_digest(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_store_digest(kv_of(app)->store, out);
}

static void kv_destroy(struct exe_app *app)
{
    struct kv_app *kv = kv_of(app);
    exe_store_destroy(&kv->store);
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
    int rc = exe_store_new(&kv_format, &kv->store);
    if (rc) {
        free(kv);
        return rc;
    }
    kv->base.ops = &kv_ops;
    *out = &kv->base;
    return SMR_OK;
}
