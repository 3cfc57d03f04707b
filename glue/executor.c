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
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "exe.h"
#include "fsutil.h"
#include "sto.h"
#include "wire.h"
#include "zmq_util.h"

#define CREDIT 1024          /* entries granted per SUBSCRIBE */
#define STALL_MS 300         /* no progress this long: resubscribe */
#define GAP_MS 20            /* after a gap, ask again at most this often */
#define AHEAD_MAX 128        /* entries kept past a gap, ... */
#define AHEAD_BYTES_MAX (8u << 20) /* ... holding at most this many bytes */
#define REPORT_MS 100        /* progress reported at least this often */
#define SNAPSHOT_KEY "exe/snapshot"

struct glue_executor {
    struct glue_config cfg;
    struct glue_executor_options opt;
    const struct glue_executor_io *io;
    void *io_arg;
    smr_node_id replica;
    bool own_sto;
    void *zctx;
    void *sock;
    struct sto *sto;
    struct exe_app *app;
    struct exe_engine *engine;
    uint64_t consumer_id;
    smr_seq granted_from; /* from_seq of the last SUBSCRIBE */
    /* Entries that arrived past a gap, by seq % AHEAD_MAX (seq 0: empty),
     * so that one resent entry fills the gap instead of a whole window. */
    smr_seq ahead_seq[AHEAD_MAX];
    struct smr_buf ahead[AHEAD_MAX];
    size_t ahead_bytes;
    uint64_t subscribed_ms;
    uint64_t last_progress_ms;
    struct smr_buf frame;
    struct smr_buf snap;
    atomic_bool stop;
};

static void send_frame(struct glue_executor *x)
{
    x->io->send(x->io_arg, x->frame.data, x->frame.len);
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
    if (wire_encode_reply(&x->frame, &r) == SMR_OK)
        send_frame(x);
}

static void subscribe(struct glue_executor *x)
{
    struct wire_subscribe s = {x->consumer_id, exe_next_seq(x->engine),
                               CREDIT};
    x->granted_from = s.from_seq;
    x->subscribed_ms = x->last_progress_ms = mono_ms(x);
    if (wire_encode_subscribe(&x->frame, &s) == SMR_OK)
        send_frame(x);
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
        send_frame(x);
    return SMR_OK;
}

/* Keeps an entry that arrived past a gap, within the bounds. */
static void keep_ahead(struct glue_executor *x, smr_seq seq, const uint8_t *f,
                       size_t len)
{
    uint32_t slot = (uint32_t)(seq % AHEAD_MAX);
    if (seq - exe_next_seq(x->engine) >= AHEAD_MAX ||
        x->ahead_seq[slot] == seq ||
        x->ahead_bytes - x->ahead[slot].len + len > AHEAD_BYTES_MAX)
        return;
    x->ahead_bytes -= x->ahead[slot].len;
    x->ahead_seq[slot] = 0;
    smr_buf_reset(&x->ahead[slot]);
    if (smr_buf_append(&x->ahead[slot], f, len) != SMR_OK)
        return; /* a cache: the replica resends what we lack */
    x->ahead_bytes += len;
    x->ahead_seq[slot] = seq;
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

static int on_committed(struct glue_executor *x, const uint8_t *f, size_t len)
{
    struct smr_committed c;
    if (wire_decode_committed(f, len, &c) != SMR_OK)
        return SMR_OK; /* dropped: the cursor did not move, we resubscribe */
    if (c.seq < exe_next_seq(x->engine))
        return SMR_OK; /* at-least-once: already have it */
    if (c.seq != exe_next_seq(x->engine)) {
        /* A gap: keep this entry and ask again from our cursor, once (the
         * entries in flight behind the lost one would each ask otherwise,
         * and every request restarts the stream at the cursor). */
        keep_ahead(x, c.seq, f, len);
        if (x->granted_from != exe_next_seq(x->engine) ||
            mono_ms(x) - x->subscribed_ms >= GAP_MS)
            subscribe(x);
        return SMR_OK;
    }
    int rc = apply(x, &c);
    /* Then whatever was waiting behind it. */
    for (;;) {
        smr_seq next = exe_next_seq(x->engine);
        uint32_t slot = (uint32_t)(next % AHEAD_MAX);
        if (rc != SMR_OK || x->ahead_seq[slot] != next)
            break;
        x->ahead_seq[slot] = 0;
        x->ahead_bytes -= x->ahead[slot].len;
        if (wire_decode_committed(x->ahead[slot].data, x->ahead[slot].len,
                                  &c) == SMR_OK)
            rc = apply(x, &c);
        smr_buf_reset(&x->ahead[slot]);
    }
    /* Top up the credit before it runs out; the cursor it carries is also
     * how the replica reports this executor's progress. */
    smr_seq next = exe_next_seq(x->engine);
    if (rc == SMR_OK &&
        (next >= x->granted_from + CREDIT / 2 ||
         (next > x->granted_from &&
          x->last_progress_ms - x->subscribed_ms >= REPORT_MS)))
        subscribe(x);
    return rc;
}

int glue_executor_on_frame(struct glue_executor *x, const uint8_t *f,
                           size_t len)
{
    int type;
    if (wire_peek_type(f, len, &type) != SMR_OK)
        return SMR_OK;
    if (type == WIRE_COMMITTED)
        return on_committed(x, f, len);
    if (type == WIRE_SNAPSHOT_REQUIRED) {
        exec_log(x, "the replica has truncated past our cursor %llu and "
                    "state transfer is not built yet",
                 (unsigned long long)x->engine->executed_seq);
        return SMR_ECOMPACTED;
    }
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
    return exe_barrier(x->engine); /* a parallel engine's replies leave */
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

static void zmq_exec_send(void *arg, const uint8_t *frame, size_t len)
{
    struct glue_executor *x = arg;
    zmq_send(x->sock, frame, len, ZMQ_DONTWAIT);
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
    if (!x->sock)
        return SMR_EINVAL; /* detached: the caller drives it */
    glue_executor_start(x);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = SMR_OK;
    while (rc == SMR_OK && !atomic_load(&x->stop)) {
        zmq_pollitem_t it = {x->sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, glue_executor_next_timeout_ms(x, 50));
        for (int i = 0; rc == SMR_OK && i < 4096 &&
                        zmq_msg_recv(&msg, x->sock, ZMQ_DONTWAIT) >= 0;
             i++)
            rc = glue_executor_on_frame(x, zmq_msg_data(&msg),
                                        zmq_msg_size(&msg));
        if (rc == SMR_OK)
            rc = glue_executor_end_burst(x);
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

int glue_executor_new(const struct glue_config *cfg, smr_node_id replica,
                      const struct glue_executor_options *opt,
                      struct glue_executor **out, char *err, size_t err_len)
{
    int rc = glue_config_check(cfg, err, err_len);
    if (rc == SMR_OK)
        rc = glue_contract_check(cfg, opt && opt->allow_unsafe_storage, err,
                                 err_len);
    if (rc != SMR_OK)
        return rc;
    const struct glue_replica_config *r = glue_config_replica(cfg, replica);
    if (!r || r->stream[0] == '\0') {
        snprintf(err, err_len, "--replica: replica %u %s", replica,
                 r ? "has no stream endpoint (replicas[].stream): its "
                     "executor runs inside the replica"
                   : "is not in the config");
        return SMR_ECONFIG;
    }
    struct glue_executor *x = calloc(1, sizeof *x);
    if (!x)
        return SMR_ENOMEM;
    x->cfg = *cfg;
    if (opt)
        x->opt = *opt;
    x->io = x->opt.io ? x->opt.io : &zmq_exec_io;
    x->io_arg = x->opt.io ? x->opt.io_arg : x;
    x->replica = replica;
    /* Detached runs must replay bit for bit: no pid in their frames. */
    x->consumer_id = ((uint64_t)replica << 32) |
                     (x->opt.io ? 0 : (uint64_t)getpid());
    rc = open_store(x, err, err_len);
    if (rc == SMR_OK)
        rc = exe_app_new(cfg->app, &x->app);
    if (rc == SMR_OK)
        rc = glue_engine_new(cfg, x->opt.sched_seed, x->app, on_reply, x,
                             &x->engine);
    if (rc == SMR_OK)
        rc = restore(x, err, err_len);
    if (rc == SMR_OK && !x->opt.io) {
        x->zctx = zmq_ctx_new();
        x->sock = x->zctx ? zmq_socket(x->zctx, ZMQ_DEALER) : NULL;
        if (!x->sock || glue_zsock_harden(x->sock) != SMR_OK ||
            zmq_connect(x->sock, r->stream) != 0) {
            snprintf(err, err_len, "replicas[%u].stream: cannot connect %s",
                     replica, r->stream);
            rc = SMR_EIO;
        }
    }
    if (rc != SMR_OK) {
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
    if (x->sock)
        zmq_close(x->sock);
    if (x->zctx)
        zmq_ctx_term(x->zctx);
    exe_engine_destroy(&x->engine);
    exe_app_destroy(&x->app);
    if (x->own_sto)
        sto_close(&x->sto);
    smr_buf_free(&x->frame);
    smr_buf_free(&x->snap);
    for (int i = 0; i < AHEAD_MAX; i++)
        smr_buf_free(&x->ahead[i]);
    free(x);
    *px = NULL;
}
