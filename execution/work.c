/*
 * work.c: the work app (exe.h), a stand-in for expensive commands in
 * benchmarks: each command burns its cost in microseconds of CPU, then
 * WRITE increments its key's u64 counter and READ reads it.
 *
 * The burn is a busy wait on the monotonic clock. The clock only paces the
 * command; nothing it returns reaches state or a reply, which depend on the
 * counters alone, so the app stays deterministic. Counters live in an
 * exe_store (store.h) as 8-byte little-endian values.
 *
 * Snapshot: u32 magic "SWK1", u64 count, count times { u32 key_len, key,
 * u32 8, u64 counter }, keys strictly ascending.
 */
#include "exe.h"
#include "exe_util.h"
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORK_SNAPSHOT_MAGIC 0x314b5753u /* "SWK1" little-endian */
#define COUNTER_BYTES 8u

static bool counter_ok(const uint8_t *value, uint32_t len)
{
    (void)value;
    return len == COUNTER_BYTES;
}

static const struct exe_store_format work_format = {
    .app = "work",
    .elem_tag = 'W',
    .digest_domain = "strata.work.v1",
    .magic = WORK_SNAPSHOT_MAGIC,
    .key_bytes_max = EXE_WORK_KEY_BYTES_MAX,
    .value_bytes_max = COUNTER_BYTES,
    .value_ok = counter_ok,
};

struct work_app {
    struct exe_app base; /* first */
    struct exe_store *store;
};

struct work_cmd {
    uint8_t opcode;
    uint32_t cost_us;
    const uint8_t *key;
    uint32_t key_len;
};

static struct work_app *work_of(struct exe_app *app)
{
    return (struct work_app *)app;
}

static bool work_parse(const uint8_t *op, uint32_t op_len, struct work_cmd *c)
{
    struct exe_reader r = exe_reader_make(op, op_len);
    memset(c, 0, sizeof *c);
    return exe_read_u8(&r, &c->opcode) &&
           (c->opcode == EXE_WORK_WRITE || c->opcode == EXE_WORK_READ) &&
           exe_read_u32(&r, &c->cost_us) && c->cost_us <= EXE_WORK_COST_US_MAX &&
           exe_read_field(&r, EXE_WORK_KEY_BYTES_MAX, &c->key, &c->key_len) &&
           r.left == 0;
}

int exe_work_encode(struct smr_buf *out, enum exe_work_opcode opcode,
                    const void *key, uint32_t key_len, uint32_t cost_us)
{
    assert(out && (key || key_len == 0));
    if ((opcode != EXE_WORK_WRITE && opcode != EXE_WORK_READ) ||
        cost_us > EXE_WORK_COST_US_MAX)
        return SMR_EINVAL;
    if (key_len > EXE_WORK_KEY_BYTES_MAX)
        return SMR_ETOOBIG;
    uint8_t buf[1 + 4 + 4 + EXE_WORK_KEY_BYTES_MAX];
    uint8_t *p = buf;
    *p++ = (uint8_t)opcode;
    p = exe_write_u32(p, cost_us);
    p = exe_write_bytes(exe_write_u32(p, key_len), key, key_len);
    return smr_buf_set(out, buf, (size_t)(p - buf));
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bounded: at most EXE_WORK_COST_US_MAX, checked by the parser. */
static void burn(uint32_t cost_us)
{
    if (cost_us == 0)
        return;
    uint64_t until = mono_ns() + (uint64_t)cost_us * 1000u;
    while (mono_ns() < until)
        ;
}

static int work_apply(struct exe_app *app, const uint8_t *op, uint32_t op_len,
                      smr_seq seq, uint64_t time_ms, struct smr_buf *reply)
{
    struct work_app *w = work_of(app);
    struct work_cmd c;
    const uint8_t *value;
    uint32_t value_len;
    uint8_t out[1 + COUNTER_BYTES] = {EXE_WORK_OK};
    (void)seq;
    (void)time_ms;
    int rc = smr_buf_reserve(reply, sizeof out);
    if (rc)
        return rc;
    if (!work_parse(op, op_len, &c)) {
        out[0] = EXE_WORK_BAD_COMMAND;
        return smr_buf_append(reply, out, 1);
    }
    burn(c.cost_us);
    uint64_t counter = 0;
    if (exe_store_get(w->store, c.key, c.key_len, &value, &value_len))
        counter = smr_get_u64(value);
    if (c.opcode == EXE_WORK_WRITE) {
        uint8_t v[COUNTER_BYTES];
        smr_put_u64(v, ++counter);
        rc = exe_store_put(w->store, c.key, c.key_len, v, sizeof v);
        if (rc)
            return rc;
    }
    smr_put_u64(out + 1, counter);
    return smr_buf_append(reply, out, sizeof out);
}

static int work_conflict_keys(struct exe_app *app, const uint8_t *op,
                              uint32_t op_len, struct exe_keyset *out)
{
    struct work_cmd c;
    (void)app;
    out->n_reads = out->n_writes = 0;
    out->read_prefixes = out->write_prefixes = 0;
    if (!work_parse(op, op_len, &c))
        return SMR_EMALFORMED;
    exe_keyset_add(out, c.opcode == EXE_WORK_WRITE, c.key, c.key_len, false);
    return SMR_OK;
}

static int work_snapshot(struct exe_app *app, struct smr_buf *out)
{
    return exe_store_snapshot(work_of(app)->store, out);
}

static int work_restore(struct exe_app *app, const uint8_t *data, size_t len)
{
    return exe_store_restore(work_of(app)->store, data, len);
}

static void work_digest(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES])
{
    exe_store_digest(work_of(app)->store, out);
}

static void work_destroy(struct exe_app *app)
{
    struct work_app *w = work_of(app);
    exe_store_destroy(&w->store);
    free(w);
}

static const struct exe_app_ops work_ops = {
    .version = EXE_APP_OPS_VERSION,
    .name = "work",
    .has_conflict_keys = true,
    .destroy = work_destroy,
    .apply = work_apply,
    .conflict_keys = work_conflict_keys,
    .snapshot = work_snapshot,
    .restore = work_restore,
    .digest = work_digest,
};

int exe_work_app_new(struct exe_app **out)
{
    assert(out);
    struct work_app *w = calloc(1, sizeof *w);
    if (!w)
        return SMR_ENOMEM;
    int rc = exe_store_new(&work_format, &w->store);
    if (rc) {
        free(w);
        return rc;
    }
    w->base.ops = &work_ops;
    *out = &w->base;
    return SMR_OK;
}
