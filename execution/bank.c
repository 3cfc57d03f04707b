/*
 * bank.c: the bank app (exe.h): named accounts with u64 balances, open,
 * transfer, balance and an audit that reads every account.
 *
 * Approach: accounts live in an exe_store (store.h) keyed by name, each
 * value exactly 8 bytes (the balance, little-endian), so the digest, the
 * snapshot and checked access come from the store. Money is created only
 * by OPEN and moved only by TRANSFER, which checks funds and overflow
 * before it writes, so the sum of the balances always equals the sum of
 * the amounts opened (mod 2^64): the invariant the tests check with AUDIT.
 * AUDIT's total and count are sums, which do not depend on the order the
 * store visits accounts in.
 *
 * Snapshot: u32 magic "SBK1", u64 count, count times { u32 name_len, name,
 * u32 8, u64 balance }, names strictly ascending.
 */
#include "exe.h"
#include "exe_util.h"
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define BANK_SNAPSHOT_MAGIC 0x314b4253u /* "SBK1" little-endian */
#define BALANCE_BYTES 8u

static bool balance_ok(const uint8_t *value, uint32_t len)
{
    (void)value;
    return len == BALANCE_BYTES;
}

static const struct exe_store_format bank_format = {
    .app = "bank",
    .elem_tag = 'B',
    .digest_domain = "strata.bank.v1",
    .magic = BANK_SNAPSHOT_MAGIC,
    .key_bytes_max = EXE_BANK_NAME_BYTES_MAX,
    .value_bytes_max = BALANCE_BYTES,
    .value_ok = balance_ok,
};

struct bank_app {
    struct exe_app base; /* first */
    struct exe_store *store;
};

struct bank_cmd {
    uint8_t opcode;
    const uint8_t *name;
    uint32_t name_len;
    const uint8_t *to; /* TRANSFER */
    uint32_t to_len;
    uint64_t amount; /* OPEN, TRANSFER */
};

static struct bank_app *bank_of(struct exe_app *app)
{
    return (struct bank_app *)app;
}

/* ---- command encoding ------------------------------------------------- */

static bool read_name(struct exe_reader *r, const uint8_t **name,
                      uint32_t *len)
{
    return exe_read_field(r, EXE_BANK_NAME_BYTES_MAX, name, len) && *len > 0;
}

static bool bank_parse(const uint8_t *op, uint32_t op_len, struct bank_cmd *c)
{
    struct exe_reader r = exe_reader_make(op, op_len);
    memset(c, 0, sizeof *c);
    if (!exe_read_u8(&r, &c->opcode))
        return false;
    switch (c->opcode) {
    case EXE_BANK_OPEN:
        if (!read_name(&r, &c->name, &c->name_len) ||
            !exe_read_u64(&r, &c->amount))
            return false;
        break;
    case EXE_BANK_TRANSFER:
        if (!read_name(&r, &c->name, &c->name_len) ||
            !read_name(&r, &c->to, &c->to_len) ||
            !exe_read_u64(&r, &c->amount))
            return false;
        break;
    case EXE_BANK_BALANCE:
        if (!read_name(&r, &c->name, &c->name_len))
            return false;
        break;
    case EXE_BANK_AUDIT:
        break;
    default:
        return false;
    }
    return r.left == 0;
}

int exe_bank_encode(struct smr_buf *out, enum exe_bank_opcode opcode,
                    const void *name, uint32_t name_len, const void *to,
                    uint32_t to_len, uint64_t amount)
{
    assert(out);
    if (opcode < EXE_BANK_OPEN || opcode > EXE_BANK_AUDIT)
        return SMR_EINVAL;
    bool has_name = opcode != EXE_BANK_AUDIT;
    bool has_to = opcode == EXE_BANK_TRANSFER;
    bool has_amount = opcode == EXE_BANK_OPEN || opcode == EXE_BANK_TRANSFER;
    assert(!has_name || name || name_len == 0);
    assert(!has_to || to || to_len == 0);
    if ((has_name && name_len > EXE_BANK_NAME_BYTES_MAX) ||
        (has_to && to_len > EXE_BANK_NAME_BYTES_MAX))
        return SMR_ETOOBIG;
    uint8_t buf[1 + 2 * (4 + EXE_BANK_NAME_BYTES_MAX) + 8];
    uint8_t *p = buf;
    *p++ = (uint8_t)opcode;
    if (has_name)
        p = exe_write_bytes(exe_write_u32(p, name_len), name, name_len);
    if (has_to)
        p = exe_write_bytes(exe_write_u32(p, to_len), to, to_len);
    if (has_amount)
        p = exe_write_u64(p, amount);
    return smr_buf_set(out, buf, (size_t)(p - buf));
}

/* ---- apply ------------------------------------------------------------ */

static int reply_status(struct smr_buf *reply, enum exe_bank_status status)
{
    uint8_t b = (uint8_t)status;
    return smr_buf_append(reply, &b, 1);
}

static bool get_balance(struct bank_app *b, const uint8_t *name, uint32_t len,
                        uint64_t *balance)
{
    const uint8_t *value;
    uint32_t value_len;
    if (!exe_store_get(b->store, name, len, &value, &value_len))
        return false;
    (void)value_len;
    assert(value_len == BALANCE_BYTES); /* only this app writes the store */
    *balance = smr_get_u64(value);
    return true;
}

static int put_balance(struct bank_app *b, const uint8_t *name, uint32_t len,
                       uint64_t balance)
{
    uint8_t value[BALANCE_BYTES];
    smr_put_u64(value, balance);
    return exe_store_put(b->store, name, len, value, sizeof value);
}

static int bank_open(struct bank_app *b, const struct bank_cmd *c,
                     struct smr_buf *reply)
{
    uint64_t balance;
    if (get_balance(b, c->name, c->name_len, &balance))
        return reply_status(reply, EXE_BANK_EXISTS);
    int rc = put_balance(b, c->name, c->name_len, c->amount);
    return rc ? rc : reply_status(reply, EXE_BANK_OK);
}

/* Both balances are checked before either is written: a refused transfer
 * changes nothing, and a failed put (SMR_ENOMEM) cannot happen after the
 * first one since both accounts exist (an overwrite keeps its buffer). */
static int bank_transfer(struct bank_app *b, const struct bank_cmd *c,
                         struct smr_buf *reply)
{
    uint64_t from, to;
    if (!get_balance(b, c->name, c->name_len, &from) ||
        !get_balance(b, c->to, c->to_len, &to))
        return reply_status(reply, EXE_BANK_NO_ACCOUNT);
    if (from < c->amount)
        return reply_status(reply, EXE_BANK_INSUFFICIENT);
    bool same = c->name_len == c->to_len &&
                memcmp(c->name, c->to, c->name_len) == 0;
    if (same)
        return reply_status(reply, EXE_BANK_OK);
    if (to > UINT64_MAX - c->amount)
        return reply_status(reply, EXE_BANK_OVERFLOW);
    int rc = put_balance(b, c->name, c->name_len, from - c->amount);
    if (rc == SMR_OK)
        rc = put_balance(b, c->to, c->to_len, to + c->amount);
    return rc ? rc : reply_status(reply, EXE_BANK_OK);
}

static int reply_u64s(struct smr_buf *reply, uint64_t a, uint64_t b, int n)
{
    uint8_t buf[1 + 16];
    buf[0] = EXE_BANK_OK;
    smr_put_u64(buf + 1, a);
    smr_put_u64(buf + 9, b);
    return smr_buf_append(reply, buf, 1 + 8 * (size_t)n);
}

struct audit_sum {
    uint64_t total;
    uint64_t accounts;
};

static int audit_one(void *arg, const uint8_t *key, uint32_t key_len,
                     const uint8_t *value, uint32_t value_len)
{
    struct audit_sum *sum = arg;
    (void)key;
    (void)key_len;
    (void)value_len;
    assert(value_len == BALANCE_BYTES);
    sum->total += smr_get_u64(value); /* wraps alike everywhere */
    sum->accounts++;
    return SMR_OK;
}

static int bank_apply(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                      smr_seq seq, uint64_t time_ms, struct smr_buf *reply)
{
    struct bank_app *b = bank_of(app);
    struct bank_cmd c;
    uint64_t balance;
    (void)seq;
    (void)time_ms;
    assert(op || op_len == 0);
    /* Room for the longest reply first: once state changed, it must fit. */
    int rc = smr_buf_reserve(reply, 1 + 16);
    if (rc)
        return rc;
    if (!bank_parse(op, op_len, &c))
        return reply_status(reply, EXE_BANK_BAD_COMMAND);
    switch (c.opcode) {
    case EXE_BANK_OPEN:
        return bank_open(b, &c, reply);
    case EXE_BANK_TRANSFER:
        return bank_transfer(b, &c, reply);
    case EXE_BANK_BALANCE:
        if (!get_balance(b, c.name, c.name_len, &balance))
            return reply_status(reply, EXE_BANK_NO_ACCOUNT);
        return reply_u64s(reply, balance, 0, 1);
    default: {
        struct audit_sum sum = {0, 0};
        exe_store_visit(b->store, audit_one, &sum);
        return reply_u64s(reply, sum.total, sum.accounts, 2);
    }
    }
}

/* OPEN reads (the reply says whether it existed) and writes its account;
 * TRANSFER both accounts; BALANCE reads one; AUDIT reads every account. */
static int bank_conflict_keys(struct exe_app *app, const uint8_t *op,
                              uint32_t op_len, struct exe_keyset *out)
{
    struct bank_cmd c;
    (void)app;
    out->n_reads = out->n_writes = 0;
    out->read_prefixes = out->write_prefixes = 0;
    if (!bank_parse(op, op_len, &c))
        return SMR_EMALFORMED;
    switch (c.opcode) {
    case EXE_BANK_OPEN:
        exe_keyset_add(out, true, c.name, c.name_len, false);
        break;
    case EXE_BANK_TRANSFER:
        exe_keyset_add(out, true, c.name, c.name_len, false);
        exe_keyset_add(out, true, c.to, c.to_len, false);
        break;
    case EXE_BANK_BALANCE:
        exe_keyset_add(out, false, c.name, c.name_len, false);
        break;
    default:
        exe_keyset_add(out, false, NULL, 0, true);
        break;
    }
    return SMR_OK;
}

/* ---- state ------------------------------------------------------------ */

static int bank_snapshot(struct exe_app *app, struct smr_buf *out)
{
    return exe_store_snapshot(bank_of(app)->store, out);
}

static int bank_restore(struct exe_app *app, const uint8_t *data, size_t len)
{
    return exe_store_restore(bank_of(app)->store, data, len);
}

static void bank_digest(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_store_digest(bank_of(app)->store, out);
}

static void bank_destroy(struct exe_app *app)
{
    struct bank_app *b = bank_of(app);
    exe_store_destroy(&b->store);
    free(b);
}

static const struct exe_app_ops bank_ops = {
    .version = EXE_APP_OPS_VERSION,
    .name = "bank",
    .has_conflict_keys = true,
    .destroy = bank_destroy,
    .apply = bank_apply,
    .conflict_keys = bank_conflict_keys,
    .snapshot = bank_snapshot,
    .restore = bank_restore,
    .digest = bank_digest,
};

int exe_bank_app_new(struct exe_app **out)
{
    assert(out);
    struct bank_app *b = calloc(1, sizeof *b);
    if (!b)
        return SMR_ENOMEM;
    int rc = exe_store_new(&bank_format, &b->store);
    if (rc) {
        free(b);
        return rc;
    }
    b->base.ops = &bank_ops;
    *out = &b->base;
    return SMR_OK;
}
