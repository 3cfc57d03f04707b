/*
 * executor.c: the separate executor (executor.h): the I/O-free driver,
 * then its ZeroMQ loop.
 */
#include "executor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "contract.h"
#include "curve.h"
#include "exe.h"
#include "fsutil.h"
#include "sto.h"
#include "wire.h"
#include "zmq_util.h"

#define CREDIT 1024          /* entries granted per SUBSCRIBE (one stream) */
#define STALL_MS 300         /* no progress this long: resubscribe */
#define GAP_MS 20            /* after a gap, ask again at most this often */
#define AHEAD_MAX 128        /* entries kept per stream past the cursor, ... */
#define AHEAD_BYTES_MAX (8u << 20) /* ... holding at most this many bytes
                                      (allocated), or room for four of the
                                      largest entries if that is more */
#define FRAME_OVERHEAD 64    /* a COMMITTED frame's bytes beyond its batch */
#define REPORT_MS 100        /* progress reported at least this often */
#define SNAPSHOT_KEY "exe/snapshot"

/* One replica's Committed stream. Entries that arrived past the cursor
 * wait here by seq % AHEAD_MAX (seq 0: empty): behind a gap, so that one
 * resent entry fills it instead of a whole window; and, with a quorum,
 * until enough streams agree. */
struct xstream {
    smr_seq granted_from; /* from_seq of the last SUBSCRIBE */
    smr_seq expect;       /* the seq this stream should send next */
    uint64_t subscribed_ms;
    bool compacted;       /* it answered SNAPSHOT_REQUIRED */
    size_t ahead_bytes; /* allocated for the kept entries */
    smr_seq ahead_seq[AHEAD_MAX];
    uint8_t ahead_hash[AHEAD_MAX][SMR_DIGEST_BYTES];
    struct smr_buf ahead[AHEAD_MAX];
};

struct glue_executor {
    struct glue_config cfg;
    struct glue_executor_options opt;
    const struct glue_executor_io *io;
    void *io_arg;
    smr_node_id replica;
    /* quorum 1: one stream, the replica's own. Otherwise one stream per
     * replica (index = replica id), and an entry is applied only once
     * `quorum` of them carry the same one. */
    uint32_t quorum;
    uint32_t n_streams;
    struct xstream *streams;
    uint32_t credit;
    size_t ahead_bytes_max; /* per stream */
    bool own_sto;
    void *zctx;
    void *socks[SMR_NODES_MAX];
    struct sto *sto;
    struct exe_app *app;
    struct exe_engine *engine;
    uint64_t consumer_id;
    uint64_t last_progress_ms;
    struct smr_buf frame;
    struct smr_buf replies; /* this burst's replies: a REPLIES frame */
    struct smr_buf snap;
    atomic_bool stop;
};

/* The replica stream `k` reads (its id). */
static smr_node_id stream_replica(const struct glue_executor *x, uint32_t k)
{
    return x->quorum == 1 ? x->replica : (smr_node_id)k;
}

static void send_frame(struct glue_executor *x, smr_node_id to)
{
    x->io->send(x->io_arg, to, x->frame.data, x->frame.len);
}
static uint64_t mono_ms(const struct glue_executor *x)
{
    return x->io->mono_ms(x->io_arg);
}

static void exec_log(const struct glue_executor *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void exec_log(const struct glue_executor *x, const char *fmt, ...)
{
    if (x->opt.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "executor %u: ", x->replica);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Sends the burst's replies, as one REPLIES frame, through our replica
 * only (it forwards each to its client). */
static void send_replies(struct glue_executor *x)
{
    if (wire_replies_count(&x->replies))
        x->io->send(x->io_arg, x->replica, x->replies.data, x->replies.len);
    x->replies.len = 0;
}

/* Holds a reply until the burst ends (glue_executor_end_burst): the replica
 * gets one frame per burst, not one per request. */
static void on_reply(void *arg, smr_client_id client, smr_req_id req,
                     smr_seq seq, const uint8_t *reply, uint32_t len,
                     bool from_session)
{
    struct glue_executor *x = arg;
    (void)from_session;
    struct wire_reply r = {
        .client_id = client,
        .req_id = req,
        .seq = seq,
        .status = WIRE_REPLY_OK,
        .leader_hint = WIRE_LEADER_UNKNOWN,
        .result = reply,
        .result_len = len,
    };
    if (wire_encode_reply(&x->frame, &r) != SMR_OK)
        return;
    int rc = wire_replies_add(&x->replies, x->frame.data, x->frame.len);
    if (rc == SMR_ETOOBIG) { /* no room: send what is held, start again */
        send_replies(x);
        rc = wire_replies_add(&x->replies, x->frame.data, x->frame.len);
    }
    if (rc != SMR_OK) { /* too big to bundle, or no memory: alone */
        send_replies(x);
        send_frame(x, x->replica);
    }
}

static void subscribe_one(struct glue_executor *x, uint32_t k)
{
    struct xstream *st = &x->streams[k];
    struct wire_subscribe s = {x->consumer_id, exe_next_seq(x->engine),
                               x->credit};
    st->granted_from = st->expect = s.from_seq;
    st->subscribed_ms = mono_ms(x);
    if (wire_encode_subscribe(&x->frame, &s) == SMR_OK)
        send_frame(x, stream_replica(x, k));
}

/* Every stream, from the cursor; also restarts the stall timer. What the
 * streams said of truncation was said of an older cursor. */
static void subscribe(struct glue_executor *x)
{
    for (uint32_t k = 0; k < x->n_streams; k++) {
        subscribe_one(x, k);
        x->streams[k].compacted = false;
    }
    x->last_progress_ms = mono_ms(x);
}

/* The oldest grant of any stream: the one a top-up is due for first. */
static const struct xstream *oldest_grant(const struct glue_executor *x)
{
    const struct xstream *old = &x->streams[0];
    for (uint32_t k = 1; k < x->n_streams; k++)
        if (x->streams[k].granted_from < old->granted_from)
            old = &x->streams[k];
    return old;
}

static int checkpoint(struct glue_executor *x)
{
    smr_seq seq = x->engine->accepted_seq; /* the snapshot waits for it */
    if (x->cfg.checkpoint_interval == 0 ||
        seq % x->cfg.checkpoint_interval != 0)
        return SMR_OK;
    smr_buf_reset(&x->snap);
    int rc = exe_snapshot(x->engine, &x->snap);
    if (rc != SMR_OK) {
        /* Not fatal: a restart replays the log from the last snapshot. */
        exec_log(x, "no snapshot at seq %llu (%s); a restart replays from "
                    "the previous one",
                 (unsigned long long)seq, smr_strerror(rc));
        return SMR_OK;
    }
    rc = sto_state_put(x->sto, SNAPSHOT_KEY, x->snap.data, x->snap.len, NULL);
    if (rc == SMR_OK)
        rc = sto_sync(x->sto);
    if (rc != SMR_OK)
        return rc;
    struct wire_checkpoint cp = {.seq = seq};
    exe_digest(x->engine, cp.digest);
    if (wire_encode_checkpoint(&x->frame, &cp) == SMR_OK)
        send_frame(x, x->replica);
    return SMR_OK;
}

/* What two streams must agree on: the whole entry, as decoded (two
 * encodings of one entry match; a replica's framing proves nothing). */
static void entry_hash(const struct smr_committed *c,
                       uint8_t out[SMR_DIGEST_BYTES])
{
    uint8_t head[24];
    crypto_generichash_state st;
    smr_put_u64(head, c->seq);
    smr_put_u64(head + 8, c->epoch);
    smr_put_u64(head + 16, c->leader_time_ms);
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, c->batch, c->batch_len);
    crypto_generichash_final(&st, out, SMR_DIGEST_BYTES);
}

/* Frees a kept entry (freed, not kept for reuse: the byte bound is on
 * what is allocated). */
static void drop_ahead(struct xstream *st, uint32_t slot)
{
    st->ahead_bytes -= st->ahead[slot].cap;
    st->ahead_seq[slot] = 0;
    smr_buf_free(&st->ahead[slot]);
}

/* Makes room for `len` bytes by dropping the highest kept seqs: the entry
 * at the cursor is the one everything waits for. */
static void make_room(struct glue_executor *x, struct xstream *st, size_t len)
{
    for (int i = 0; i < AHEAD_MAX && st->ahead_bytes + 2 * len >
                                          x->ahead_bytes_max; i++) {
        uint32_t top = AHEAD_MAX;
        for (uint32_t k = 0; k < AHEAD_MAX; k++)
            if (st->ahead_seq[k] &&
                (top == AHEAD_MAX || st->ahead_seq[k] > st->ahead_seq[top]))
                top = k;
        if (top == AHEAD_MAX)
            return;
        drop_ahead(st, top);
    }
}

/* Keeps an entry that arrived past the cursor, within the bounds; false
 * when it was not kept (it is asked for again). */
static bool keep_ahead(struct glue_executor *x, struct xstream *st,
                       const struct smr_committed *c, const uint8_t *f,
                       size_t len)
{
    uint32_t slot = (uint32_t)(c->seq % AHEAD_MAX);
    smr_seq next = exe_next_seq(x->engine);
    if (c->seq - next >= AHEAD_MAX)
        return false;
    if (st->ahead_seq[slot] == c->seq)
        return true; /* a copy: the first one stays */
    if (c->seq == next)
        make_room(x, st, len);
    /* An allocation is at most twice the bytes (smr_buf_reserve). */
    if (st->ahead_bytes - st->ahead[slot].cap + 2 * len > x->ahead_bytes_max)
        return false;
    drop_ahead(st, slot);
    if (smr_buf_append(&st->ahead[slot], f, len) != SMR_OK) {
        smr_buf_free(&st->ahead[slot]);
        return false; /* a cache: the replica resends what we lack */
    }
    if (x->quorum > 1)
        entry_hash(c, st->ahead_hash[slot]);
    st->ahead_bytes += st->ahead[slot].cap;
    st->ahead_seq[slot] = c->seq;
    return true;
}

/* Applies entry `c` (the next in order) and reports it. */
static int apply(struct glue_executor *x, const struct smr_committed *c)
{
    int rc = exe_execute(x->engine, c);
    if (rc != SMR_OK && rc != SMR_EMALFORMED)
        return rc;
    if (x->io->executed) {
        uint8_t digest[SMR_DIGEST_BYTES];
        exe_digest(x->engine, digest);
        x->io->executed(x->io_arg, c, digest);
    }
    x->last_progress_ms = mono_ms(x);
    return checkpoint(x);
}

/* The stream whose kept entry at the cursor `quorum` streams carry, or -1.
 * At most one entry can have a quorum when fewer than `quorum` streams lie
 * (the contract's quorum is f+1). */
static int agreed(const struct glue_executor *x, uint32_t slot, smr_seq seq)
{
    for (uint32_t k = 0; k < x->n_streams; k++) {
        const struct xstream *a = &x->streams[k];
        if (a->ahead_seq[slot] != seq)
            continue;
        uint32_t votes = 0;
        for (uint32_t j = 0; j < x->n_streams; j++) {
            const struct xstream *b = &x->streams[j];
            votes += b->ahead_seq[slot] == seq &&
                     (x->quorum == 1 ||
                      smr_mutant == SMR_MUTANT_STREAM_TRUST_ANY ||
                      memcmp(a->ahead_hash[slot], b->ahead_hash[slot],
                             SMR_DIGEST_BYTES) == 0);
        }
        if (votes >= x->quorum)
            return (int)k;
    }
    return -1;
}

/* Applies kept entries while the one at the cursor has its quorum. */
static int drain(struct glue_executor *x)
{
    int rc = SMR_OK;
    for (int i = 0; rc == SMR_OK && i < AHEAD_MAX; i++) {
        smr_seq next = exe_next_seq(x->engine);
        uint32_t slot = (uint32_t)(next % AHEAD_MAX);
        int k = agreed(x, slot, next);
        if (k < 0)
            break;
        struct smr_committed c;
        struct xstream *st = &x->streams[k];
        struct smr_buf f = st->ahead[slot];
        st->ahead[slot] = (struct smr_buf){0};
        st->ahead_bytes -= f.cap;
        st->ahead_seq[slot] = 0;
        for (uint32_t j = 0; j < x->n_streams; j++)
            if (x->streams[j].ahead_seq[slot] == next)
                drop_ahead(&x->streams[j], slot);
        /* A kept frame decoded once already; this cannot fail. */
        if (wire_decode_committed(f.data, f.len, &c) == SMR_OK)
            rc = apply(x, &c);
        smr_buf_free(&f);
    }
    return rc;
}

/* After a gap in stream `k`, ask again from the cursor, once (the entries
 * in flight behind the lost one would each ask otherwise, and every
 * request restarts the stream at the cursor). One stream: a gap restarts
 * it and the stall timer; with a quorum only that stream, so that a lying
 * stream cannot keep the stall timer from restarting the others. */
static void on_gap(struct glue_executor *x, uint32_t k)
{
    struct xstream *st = &x->streams[k];
    if (st->granted_from == exe_next_seq(x->engine) &&
        mono_ms(x) - st->subscribed_ms < GAP_MS)
        return;
    if (x->quorum == 1)
        subscribe(x);
    else
        subscribe_one(x, k);
}

static int on_committed(struct glue_executor *x, uint32_t k, const uint8_t *f,
                        size_t len)
{
    struct smr_committed c;
    struct xstream *st = &x->streams[k];
    if (wire_decode_committed(f, len, &c) != SMR_OK)
        return SMR_OK; /* dropped: the cursor did not move, we resubscribe */
    smr_seq next = exe_next_seq(x->engine);
    if (c.seq < next)
        return SMR_OK; /* at-least-once: already have it */
    int rc = SMR_OK;
    smr_seq before = next;
    bool kept = true;
    if (x->quorum == 1 && c.seq == next) {
        rc = apply(x, &c);
    } else {
        kept = keep_ahead(x, st, &c, f, len);
        if (x->quorum == 1 ? c.seq != next : c.seq > st->expect)
            on_gap(x, k);
    }
    /* With a quorum, an entry not kept stays a gap: the stream's next
     * entry asks for it again. */
    if ((kept || x->quorum == 1) && c.seq >= st->expect)
        st->expect = c.seq + 1;
    if (rc == SMR_OK)
        rc = drain(x); /* whatever was waiting behind it */
    /* Top up the credit before it runs out; the cursor it carries is also
     * how the replica reports this executor's progress. */
    next = exe_next_seq(x->engine);
    const struct xstream *old = oldest_grant(x);
    if (rc == SMR_OK && next != before &&
        (next >= old->granted_from + x->credit / 2 ||
         (next > old->granted_from &&
          x->last_progress_ms - old->subscribed_ms >= REPORT_MS)))
        subscribe(x);
    return rc;
}

/* SNAPSHOT_REQUIRED: fatal once `quorum` streams say so (a lying replica
 * alone must not stop us). */
static int on_compacted(struct glue_executor *x, uint32_t k)
{
    x->streams[k].compacted = true;
    uint32_t said = 0;
    for (uint32_t j = 0; j < x->n_streams; j++)
        said += x->streams[j].compacted;
    if (said < x->quorum)
        return SMR_OK;
    exec_log(x, "the replicas have truncated past our cursor %llu and "
                "state transfer is not built yet",
             (unsigned long long)x->engine->executed_seq);
    return SMR_ECOMPACTED;
}

int glue_executor_on_frame(struct glue_executor *x, smr_node_id from,
                           const uint8_t *f, size_t len)
{
    int type;
    uint32_t k = x->quorum == 1 ? 0 : from;
    if ((x->quorum == 1 && from != x->replica) || k >= x->n_streams ||
        wire_peek_type(f, len, &type) != SMR_OK)
        return SMR_OK;
    if (type == WIRE_COMMITTED)
        return on_committed(x, k, f, len);
    if (type == WIRE_SNAPSHOT_REQUIRED)
        return on_compacted(x, k);
    return SMR_OK;
}

int glue_engine_new(const struct glue_config *cfg, uint64_t sched_seed,
                    struct exe_app *app, exe_reply_fn reply_fn,
                    void *reply_arg, struct exe_engine **out)
{
    if (!sched_seed)
        return exe_engine_new(cfg->executor, cfg->workers, app,
                              cfg->session_ttl_ms, reply_fn, reply_arg, out);
    struct exe_par_options po = {.workers = 0, .sched_seed = sched_seed};
    return exe_par_engine_new_opts(app, &po, cfg->session_ttl_ms, reply_fn,
                                   reply_arg, out);
}

void glue_executor_start(struct glue_executor *x)
{
    subscribe(x);
}

int glue_executor_end_burst(struct glue_executor *x)
{
    int rc = exe_barrier(x->engine); /* a parallel engine's replies leave */
    send_replies(x);
    return rc;
}

/* Idle or stuck (a lost frame, a restarted replica): the same cursor
 * resumes the stream. */
void glue_executor_tick(struct glue_executor *x)
{
    if (mono_ms(x) - x->last_progress_ms > STALL_MS)
        subscribe(x);
}

long glue_executor_next_timeout_ms(const struct glue_executor *x, long cap_ms)
{
    uint64_t due = x->last_progress_ms + STALL_MS + 1, now = mono_ms(x);
    long left = due > now ? (long)(due - now) : 0;
    return left < cap_ms ? left : cap_ms;
}

/* ------------------------------------------------------- ZeroMQ */

static void zmq_exec_send(void *arg, smr_node_id to, const uint8_t *frame,
                          size_t len)
{
    struct glue_executor *x = arg;
    if (to < SMR_NODES_MAX && x->socks[to])
        zmq_send(x->socks[to], frame, len, ZMQ_DONTWAIT);
}

static uint64_t zmq_exec_mono_ms(void *arg)
{
    (void)arg;
    return glue_mono_ms();
}

static const struct glue_executor_io zmq_exec_io = {
    .send = zmq_exec_send,
    .mono_ms = zmq_exec_mono_ms,
};

int glue_executor_run(struct glue_executor *x)
{
    if (!x->zctx)
        return SMR_EINVAL; /* detached: the caller drives it */
    zmq_pollitem_t items[SMR_NODES_MAX];
    smr_node_id from[SMR_NODES_MAX];
    int n_items = 0;
    for (smr_node_id r = 0; r < SMR_NODES_MAX; r++)
        if (x->socks[r]) {
            items[n_items] = (zmq_pollitem_t){x->socks[r], 0, ZMQ_POLLIN, 0};
            from[n_items++] = r;
        }
    glue_executor_start(x);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = SMR_OK;
    while (rc == SMR_OK && !atomic_load(&x->stop)) {
        zmq_poll(items, n_items, glue_executor_next_timeout_ms(x, 50));
        for (int k = 0; k < n_items; k++)
            for (int i = 0; rc == SMR_OK && i < 4096 &&
                            zmq_msg_recv(&msg, items[k].socket,
                                         ZMQ_DONTWAIT) >= 0;
                 i++)
                rc = glue_executor_on_frame(x, from[k], zmq_msg_data(&msg),
                                            zmq_msg_size(&msg));
        /* Even after an error: the replies of the entries applied before
         * it still leave (committed entries: their results stand). */
        int end_rc = glue_executor_end_burst(x);
        if (rc == SMR_OK)
            rc = end_rc;
        glue_executor_tick(x);
    }
    zmq_msg_close(&msg);
    return rc;
}

void glue_executor_stop(struct glue_executor *x)
{
    atomic_store(&x->stop, true);
}

smr_seq glue_executor_executed(const struct glue_executor *x)
{
    return x->engine->executed_seq;
}

static int open_store(struct glue_executor *x, char *err, size_t err_len)
{
    if (x->opt.store) {
        x->sto = x->opt.store;
        return SMR_OK;
    }
    x->own_sto = true;
    if (x->cfg.storage_engine == GLUE_STORAGE_MEMORY)
        return sto_mem_open(&x->sto);
    char path[GLUE_PATH_BYTES_MAX + 32];
    snprintf(path, sizeof path, "%s/executor-%u", x->cfg.storage_path,
             x->replica);
    if (glue_mkdir_p(path) != 0) {
        snprintf(err, err_len, "storage.path: cannot create %s: %s", path,
                 strerror(errno));
        return SMR_EIO;
    }
    return sto_rocksdb_open(path, x->cfg.storage_sync, &x->sto, err, err_len);
}

static int restore(struct glue_executor *x, char *err, size_t err_len)
{
    int rc = sto_state_get(x->sto, SNAPSHOT_KEY, &x->snap);
    if (rc == SMR_ENOTFOUND)
        return SMR_OK;
    if (rc == SMR_OK)
        rc = exe_restore(x->engine, x->snap.data, x->snap.len);
    if (rc != SMR_OK)
        snprintf(err, err_len, "executor snapshot: %s", smr_strerror(rc));
    return rc;
}

/* The streams this executor reads: its replica's, or with a quorum every
 * replica's, each of which must then have a stream endpoint. */
static int check_streams(const struct glue_config *cfg, smr_node_id replica,
                         uint32_t quorum, char *err, size_t err_len)
{
    const struct glue_replica_config *r = glue_config_replica(cfg, replica);
    if (!r || r->stream[0] == '\0')
        return glue_say(SMR_ECONFIG, err, err_len, "--replica: replica %u %s",
                        replica,
                        r ? "has no stream endpoint (replicas[].stream): "
                            "its executor runs inside the replica"
                          : "is not in the config");
    for (uint32_t i = 0; quorum > 1 && i < cfg->n_replicas; i++)
        if (cfg->replicas[i].stream[0] == '\0')
            return glue_say(SMR_ECONFIG, err, err_len,
                            "replicas[%u].stream: missing, but a separate "
                            "executor reads every replica's stream when it "
                            "needs %u of them to agree (stream_quorum)",
                            i, quorum);
    return SMR_OK;
}

/* One DEALER per stream read; under Byzantine faults a CURVE client whose
 * keys come from the replicas' Ed25519 keys (curve.h), so a stream is
 * known to come from the replica whose key the server proved. */
static int connect_streams(struct glue_executor *x, bool keyed, char *err,
                           size_t err_len)
{
    uint8_t servers[SMR_NODES_MAX][GLUE_CURVE_KEY_BYTES];
    uint8_t pk[GLUE_CURVE_KEY_BYTES], sk[GLUE_CURVE_KEY_BYTES];
    int rc = keyed ? glue_curve_keys_load(&x->cfg, x->replica, pk, sk,
                                          servers, err, err_len)
                   : SMR_OK;
    x->zctx = rc == SMR_OK ? zmq_ctx_new() : NULL;
    if (rc == SMR_OK && !x->zctx)
        rc = glue_say(SMR_EIO, err, err_len, "cannot create a ZeroMQ context");
    for (uint32_t k = 0; rc == SMR_OK && k < x->n_streams; k++) {
        smr_node_id to = stream_replica(x, k);
        const struct glue_replica_config *r = glue_config_replica(&x->cfg, to);
        void *sock = zmq_socket(x->zctx, ZMQ_DEALER);
        x->socks[to] = sock;
        if (!sock || glue_zsock_harden(sock) != SMR_OK ||
            (keyed && glue_curve_client(sock, pk, sk, servers[to]) != SMR_OK) ||
            zmq_connect(sock, r->stream) != 0)
            rc = glue_say(SMR_EIO, err, err_len,
                          "replicas[%u].stream: cannot connect %s", to,
                          r->stream);
    }
    sodium_memzero(sk, sizeof sk);
    return rc;
}

int glue_executor_new(const struct glue_config *cfg, smr_node_id replica,
                      const struct glue_executor_options *opt,
                      struct glue_executor **out, char *err, size_t err_len)
{
    struct glue_composition k;
    if (err && err_len)
        err[0] = '\0';
    int rc = glue_config_check(cfg, err, err_len);
    if (rc == SMR_OK)
        rc = glue_contract_check(cfg, opt && opt->allow_unsafe_storage, err,
                                 err_len);
    if (rc == SMR_OK)
        rc = glue_composition_build(cfg, &k, err, err_len);
    if (rc == SMR_OK)
        rc = check_streams(cfg, replica, k.stream_quorum, err, err_len);
    if (rc != SMR_OK)
        return rc;
    struct glue_executor *x = calloc(1, sizeof *x);
    if (!x)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    x->cfg = *cfg;
    if (opt)
        x->opt = *opt;
    x->io = x->opt.io ? x->opt.io : &zmq_exec_io;
    x->io_arg = x->opt.io ? x->opt.io_arg : x;
    x->replica = replica;
    x->quorum = k.stream_quorum;
    x->n_streams = x->quorum == 1 ? 1 : cfg->n_replicas;
    size_t entry = (size_t)k.ord.entry_bytes_max + FRAME_OVERHEAD;
    x->ahead_bytes_max =
        AHEAD_BYTES_MAX > 4 * 2 * entry ? AHEAD_BYTES_MAX : 4 * 2 * entry;
    /* With a quorum nothing the streams may send is refused for want of
     * room: the credit is what the window and the byte bound can hold. */
    x->credit = CREDIT;
    if (x->quorum > 1) {
        size_t fit = x->ahead_bytes_max / (2 * entry);
        x->credit = fit > AHEAD_MAX ? AHEAD_MAX : (uint32_t)fit;
    }
    x->streams = calloc(x->n_streams, sizeof *x->streams);
    /* Detached runs must replay bit for bit: no pid in their frames. */
    x->consumer_id = ((uint64_t)replica << 32) |
                     (x->opt.io ? 0 : (uint64_t)getpid());
    rc = x->streams ? open_store(x, err, err_len)
                    : glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    if (rc == SMR_OK)
        rc = exe_app_new(cfg->app, &x->app);
    if (rc == SMR_OK)
        rc = glue_engine_new(cfg, x->opt.sched_seed, x->app, on_reply, x,
                             &x->engine);
    if (rc == SMR_OK)
        rc = restore(x, err, err_len);
    if (rc == SMR_OK && !x->opt.io)
        rc = connect_streams(x, k.ord.byzantine, err, err_len);
    if (rc != SMR_OK) {
        if (err && err_len && err[0] == '\0') /* no step said why */
            glue_say(rc, err, err_len, "cannot create the executor: %s",
                     smr_strerror(rc));
        glue_executor_destroy(&x);
        return rc;
    }
    *out = x;
    return SMR_OK;
}

void glue_executor_destroy(struct glue_executor **px)
{
    if (!px || !*px)
        return;
    struct glue_executor *x = *px;
    for (int r = 0; r < SMR_NODES_MAX; r++)
        if (x->socks[r])
            zmq_close(x->socks[r]);
    if (x->zctx)
        zmq_ctx_term(x->zctx);
    exe_engine_destroy(&x->engine);
    exe_app_destroy(&x->app);
    if (x->own_sto)
        sto_close(&x->sto);
    smr_buf_free(&x->frame);
    smr_buf_free(&x->replies);
    smr_buf_free(&x->snap);
    for (uint32_t k = 0; x->streams && k < x->n_streams; k++)
        for (int i = 0; i < AHEAD_MAX; i++)
            smr_buf_free(&x->streams[k].ahead[i]);
    free(x->streams);
    free(x);
    *px = NULL;
}
