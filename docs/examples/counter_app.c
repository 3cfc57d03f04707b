/*
 * counter_app.c: a complete example app for Strata (docs/writing-an-app.md).
 *
 * Named 64-bit counters. Commands, integers little-endian:
 *
 *     ADD  u8 1, u8 name_len, name, u64 delta  ->  u8 status, u64 new value
 *     GET  u8 2, u8 name_len, name             ->  u8 status, u64 value
 *
 * name_len is 1 to COUNTER_NAME_BYTES_MAX. A counter never added to reads
 * as 0. Additions wrap modulo 2^64 (unsigned overflow is defined in C, so
 * every replica wraps alike). Each counter also remembers the leader time
 * of its last update: the log's timestamp is the only clock an app may read.
 *
 * The state is an array of at most COUNTERS_MAX counters sorted by name, so
 * a lookup is a binary search and every output (snapshot, digest) walks the
 * counters in name order, never in an order that depends on addresses or a
 * hash seed. Snapshot layout, canonical (equal states give equal bytes):
 *
 *     u32 magic "CNT1", u32 count,
 *     count times { u8 name_len, name, u64 value, u64 updated_ms }
 *
 * with names strictly ascending. The digest is BLAKE2b-256 (smr_hash) of
 * those bytes: O(state), which is fine for a small state; the KV app keeps
 * an incremental set hash instead.
 *
 * Under the parallel engine, apply runs on several threads at once for
 * commands on different names. Those commands commute (their order does
 * not change the result), but inserting a name moves the others in the
 * array, so one mutex serializes apply: correct, though it gains no
 * parallelism. The KV app shards its table instead (execution/store.h).
 *
 * Uses only exe.h and smr.h:
 *   cc -std=c11 -Wall -Wextra -Werror -I glue/smr -I execution \
 *      -c docs/examples/counter_app.c
 * With -DCOUNTER_APP_DEMO it also has a main() that runs a few commands
 * through the sequential engine (link build/libstrata_execution.a
 * build/libstrata_smr.a -lsodium).
 */
#include "exe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define COUNTER_OP_ADD 1
#define COUNTER_OP_GET 2
#define COUNTER_NAME_BYTES_MAX 32
#define COUNTERS_MAX 1024
#define COUNTER_MAGIC 0x31544e43u /* "CNT1" read as a little-endian u32 */

enum counter_status {
    COUNTER_OK = 0,
    COUNTER_FULL = 1,        /* ADD of a new name when COUNTERS_MAX exist */
    COUNTER_BAD_COMMAND = 2, /* bytes that are not exactly one command */
};

#define SNAPSHOT_HEADER_BYTES 8
#define SNAPSHOT_ENTRY_BYTES_MAX (1 + COUNTER_NAME_BYTES_MAX + 8 + 8)
#define SNAPSHOT_BYTES_MAX                                                     \
    (SNAPSHOT_HEADER_BYTES + COUNTERS_MAX * SNAPSHOT_ENTRY_BYTES_MAX)
#define REPLY_BYTES 9

/* The constructor a replica calls (see docs/writing-an-app.md, "Plugging
 * it in"). In a real tree this prototype lives in a header. */
int counter_app_new(struct exe_app **out);

struct counter {
    uint8_t name_len;
    uint8_t name[COUNTER_NAME_BYTES_MAX];
    uint64_t value;
    uint64_t updated_ms;
};

struct counter_app {
    struct exe_app base; /* first member: a struct exe_app * points here */
    pthread_mutex_t lock; /* apply may run on several threads at once */
    uint32_t n;
    struct counter c[COUNTERS_MAX];      /* sorted by name */
    uint8_t scratch[SNAPSHOT_BYTES_MAX]; /* digest() serializes here */
};

struct counter_cmd {
    uint8_t opcode;
    uint8_t name_len;
    const uint8_t *name; /* points into the command bytes */
    uint64_t delta;
};

static struct counter_app *counter_of(struct exe_app *app)
{
    return (struct counter_app *)app;
}

/* ---- commands --------------------------------------------------------- */

/* A command is exactly its encoding: anything else is refused. The bytes
 * come from clients, so every length is checked before it is used. */
static bool parse(const uint8_t *op, uint32_t op_len, struct counter_cmd *cmd)
{
    if (op_len < 2)
        return false;
    cmd->opcode = op[0];
    cmd->name_len = op[1];
    cmd->name = op + 2;
    cmd->delta = 0;
    if (cmd->opcode != COUNTER_OP_ADD && cmd->opcode != COUNTER_OP_GET)
        return false;
    if (cmd->name_len == 0 || cmd->name_len > COUNTER_NAME_BYTES_MAX)
        return false;
    uint32_t want = 2u + cmd->name_len + (cmd->opcode == COUNTER_OP_ADD ? 8u : 0u);
    if (op_len != want)
        return false;
    if (cmd->opcode == COUNTER_OP_ADD)
        cmd->delta = smr_get_u64(op + 2 + cmd->name_len);
    return true;
}

static int name_cmp(const uint8_t *a, uint8_t a_len, const uint8_t *b,
                    uint8_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return (a_len > b_len) - (a_len < b_len);
}

/* Index of `name`, or where it would be inserted (*found false). */
static uint32_t find(const struct counter_app *a, const uint8_t *name,
                     uint8_t name_len, bool *found)
{
    uint32_t lo = 0, hi = a->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(a->c[mid].name, a->c[mid].name_len, name, name_len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Room for the reply is reserved before anything changes, so this cannot
 * fail once the state has moved. */
static int reply_value(struct smr_buf *reply, enum counter_status status,
                       uint64_t value)
{
    uint8_t b[REPLY_BYTES];
    b[0] = (uint8_t)status;
    smr_put_u64(b + 1, value);
    return smr_buf_append(reply, b, status == COUNTER_OK ? REPLY_BYTES : 1);
}

/* Under a->lock. */
static int apply_locked(struct counter_app *a, const struct counter_cmd *cmd,
                        uint64_t time_ms, struct smr_buf *reply)
{
    bool found;
    uint32_t i = find(a, cmd->name, cmd->name_len, &found);
    if (cmd->opcode == COUNTER_OP_GET)
        return reply_value(reply, COUNTER_OK, found ? a->c[i].value : 0);
    if (!found) {
        if (a->n == COUNTERS_MAX)
            return reply_value(reply, COUNTER_FULL, 0);
        memmove(&a->c[i + 1], &a->c[i], (a->n - i) * sizeof a->c[0]);
        a->n++;
        memset(&a->c[i], 0, sizeof a->c[i]);
        a->c[i].name_len = cmd->name_len;
        memcpy(a->c[i].name, cmd->name, cmd->name_len);
    }
    a->c[i].value += cmd->delta;  /* wraps modulo 2^64, the same everywhere */
    a->c[i].updated_ms = time_ms; /* leader time from the log, not a clock */
    return reply_value(reply, COUNTER_OK, a->c[i].value);
}

static int counter_apply(struct exe_app *app, const uint8_t *op,
                         uint32_t op_len, smr_seq seq, uint64_t time_ms,
                         struct smr_buf *reply)
{
    struct counter_app *a = counter_of(app);
    struct counter_cmd cmd;
    (void)seq;
    int rc = smr_buf_reserve(reply, REPLY_BYTES);
    if (rc != SMR_OK)
        return rc; /* a resource failure: the executor stops */
    if (!parse(op, op_len, &cmd))
        return reply_value(reply, COUNTER_BAD_COMMAND, 0); /* not an error */
    pthread_mutex_lock(&a->lock);
    rc = apply_locked(a, &cmd, time_ms, reply);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

/* Both commands read the counter (the reply carries its value); ADD also
 * writes it. The keys point into the command bytes. */
static int counter_conflict_keys(struct exe_app *app, const uint8_t *op,
                                 uint32_t op_len, struct exe_keyset *out)
{
    struct counter_cmd cmd;
    (void)app;
    out->n_reads = 0;
    out->n_writes = 0;
    if (!parse(op, op_len, &cmd))
        return SMR_EMALFORMED;
    struct exe_key k = {cmd.name, cmd.name_len};
    out->reads[out->n_reads++] = k;
    if (cmd.opcode == COUNTER_OP_ADD)
        out->writes[out->n_writes++] = k;
    return SMR_OK;
}

/* ---- snapshot, restore, digest ---------------------------------------- */

static size_t encoded_bytes(const struct counter_app *a)
{
    size_t total = SNAPSHOT_HEADER_BYTES;
    for (uint32_t i = 0; i < a->n; i++)
        total += 1 + (size_t)a->c[i].name_len + 16;
    return total;
}

/* Writes the canonical snapshot into `p` (room for encoded_bytes()). */
static size_t encode(const struct counter_app *a, uint8_t *p)
{
    uint8_t *start = p;
    smr_put_u32(p, COUNTER_MAGIC);
    smr_put_u32(p + 4, a->n);
    p += SNAPSHOT_HEADER_BYTES;
    for (uint32_t i = 0; i < a->n; i++) {
        const struct counter *c = &a->c[i];
        *p++ = c->name_len;
        memcpy(p, c->name, c->name_len);
        p += c->name_len;
        smr_put_u64(p, c->value);
        smr_put_u64(p + 8, c->updated_ms);
        p += 16;
    }
    return (size_t)(p - start);
}

/* Appends to `out`; on failure `out` keeps its length (exe.h). */
static int counter_snapshot(struct exe_app *app, struct smr_buf *out)
{
    struct counter_app *a = counter_of(app);
    int rc = smr_buf_reserve(out, encoded_bytes(a));
    if (rc != SMR_OK)
        return rc;
    out->len += encode(a, out->data + out->len);
    return SMR_OK;
}

/* Accepts exactly the canonical form; on any failure the state is
 * unchanged (the counters are parsed into a fresh array first). */
static int counter_restore(struct exe_app *app, const uint8_t *data,
                           size_t len)
{
    struct counter_app *a = counter_of(app);
    if (len < SNAPSHOT_HEADER_BYTES || smr_get_u32(data) != COUNTER_MAGIC)
        return SMR_ECORRUPT;
    uint32_t n = smr_get_u32(data + 4);
    if (n > COUNTERS_MAX)
        return SMR_ECORRUPT;
    struct counter *fresh = calloc(n ? n : 1, sizeof *fresh);
    if (!fresh)
        return SMR_ENOMEM;
    size_t off = SNAPSHOT_HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        struct counter *c = &fresh[i];
        if (len - off < 1)
            goto corrupt;
        c->name_len = data[off++];
        if (c->name_len == 0 || c->name_len > COUNTER_NAME_BYTES_MAX ||
            len - off < (size_t)c->name_len + 16)
            goto corrupt;
        memcpy(c->name, data + off, c->name_len);
        off += c->name_len;
        c->value = smr_get_u64(data + off);
        c->updated_ms = smr_get_u64(data + off + 8);
        off += 16;
        if (i > 0 && name_cmp(fresh[i - 1].name, fresh[i - 1].name_len,
                              c->name, c->name_len) >= 0)
            goto corrupt; /* unsorted or repeated: not canonical */
    }
    if (off != len)
        goto corrupt; /* trailing bytes */
    if (n)
        memcpy(a->c, fresh, n * sizeof *fresh);
    a->n = n;
    free(fresh);
    return SMR_OK;
corrupt:
    free(fresh);
    return SMR_ECORRUPT;
}

/* Depends only on the current counters, not on the history that made them. */
static void counter_digest(struct exe_app *app, uint8_t out[SMR_DIGEST_BYTES])
{
    struct counter_app *a = counter_of(app);
    smr_hash(out, a->scratch, encode(a, a->scratch));
}

static void counter_destroy(struct exe_app *app)
{
    pthread_mutex_destroy(&counter_of(app)->lock);
    free(counter_of(app));
}

static const struct exe_app_ops counter_ops = {
    .version = EXE_APP_OPS_VERSION,
    .name = "counter",
    .has_conflict_keys = true,
    .destroy = counter_destroy,
    .apply = counter_apply,
    .conflict_keys = counter_conflict_keys,
    .snapshot = counter_snapshot,
    .restore = counter_restore,
    .digest = counter_digest,
};

int counter_app_new(struct exe_app **out)
{
    struct counter_app *a = calloc(1, sizeof *a);
    if (!a)
        return SMR_ENOMEM;
    pthread_mutex_init(&a->lock, NULL);
    a->base.ops = &counter_ops;
    *out = &a->base;
    return SMR_OK;
}

/* ---- a small driver (only with -DCOUNTER_APP_DEMO) --------------------- */

#ifdef COUNTER_APP_DEMO
#include <stdio.h>

static void print_reply(void *arg, smr_client_id client, smr_req_id req,
                        smr_seq seq, const uint8_t *reply, uint32_t len,
                        bool from_session)
{
    (void)arg;
    printf("seq %llu client %llu req %llu: status %u value %llu%s\n",
           (unsigned long long)seq, (unsigned long long)client,
           (unsigned long long)req, len ? reply[0] : 255u,
           (unsigned long long)(len == REPLY_BYTES ? smr_get_u64(reply + 1)
                                                   : 0),
           from_session ? " (answered from the session table)" : "");
}

static int add(struct smr_buf *batch, smr_client_id client, smr_req_id req,
               const char *name, uint64_t delta)
{
    uint8_t op[2 + COUNTER_NAME_BYTES_MAX + 8];
    size_t n = strlen(name);
    if (n == 0 || n > COUNTER_NAME_BYTES_MAX)
        return SMR_EINVAL;
    op[0] = COUNTER_OP_ADD;
    op[1] = (uint8_t)n;
    memcpy(op + 2, name, n);
    smr_put_u64(op + 2 + n, delta);
    struct smr_request r = {client, req, op, (uint32_t)(2 + n + 8)};
    return smr_batch_add(batch, &r);
}

int main(void)
{
    struct exe_app *app = NULL, *copy_app = NULL;
    struct exe_engine *e = NULL, *copy = NULL;
    struct smr_buf batch, snap;
    uint8_t d1[SMR_DIGEST_BYTES], d2[SMR_DIGEST_BYTES];
    int rc;
    smr_buf_init(&batch);
    smr_buf_init(&snap);
    rc = counter_app_new(&app);
    if (rc == SMR_OK)
        rc = exe_seq_engine_new(app, 0, print_reply, NULL, &e);
    /* seq 1: two clients add to two counters */
    if (rc == SMR_OK)
        rc = smr_batch_begin(&batch);
    if (rc == SMR_OK)
        rc = add(&batch, 7, 1, "apples", 3);
    if (rc == SMR_OK)
        rc = add(&batch, 8, 1, "pears", 5);
    struct smr_committed c1 = {1, 1, 1000, batch.data, (uint32_t)batch.len};
    if (rc == SMR_OK)
        rc = exe_execute(e, &c1);
    /* seq 2: client 7 retries request 1 (not applied again), then sends 2 */
    if (rc == SMR_OK)
        rc = smr_batch_begin(&batch);
    if (rc == SMR_OK)
        rc = add(&batch, 7, 1, "apples", 3);
    if (rc == SMR_OK)
        rc = add(&batch, 7, 2, "apples", 4);
    struct smr_committed c2 = {2, 1, 1005, batch.data, (uint32_t)batch.len};
    if (rc == SMR_OK)
        rc = exe_execute(e, &c2);
    /* A second engine restored from a snapshot reaches the same digest. */
    if (rc == SMR_OK)
        rc = exe_snapshot(e, &snap);
    if (rc == SMR_OK)
        rc = counter_app_new(&copy_app);
    if (rc == SMR_OK)
        rc = exe_seq_engine_new(copy_app, 0, NULL, NULL, &copy);
    if (rc == SMR_OK)
        rc = exe_restore(copy, snap.data, snap.len);
    if (rc == SMR_OK) {
        exe_digest(e, d1);
        exe_digest(copy, d2);
        printf("snapshot %zu bytes; restored copy at seq %llu; digests %s\n",
               snap.len, (unsigned long long)copy->executed_seq,
               memcmp(d1, d2, sizeof d1) == 0 ? "match" : "DIFFER");
    } else {
        printf("failed: %s\n", smr_strerror(rc));
    }
    exe_engine_destroy(&copy);
    exe_app_destroy(&copy_app);
    exe_engine_destroy(&e);
    exe_app_destroy(&app);
    smr_buf_free(&batch);
    smr_buf_free(&snap);
    return rc == SMR_OK ? 0 : 1;
}
#endif
