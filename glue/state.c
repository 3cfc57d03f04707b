/*
 * state.c: the replica driver's half of log truncation and state transfer
 * (pbft.h, "Log truncation and state transfer"), for replicas whose
 * executor is embedded (the replica holds the snapshots):
 *
 *  - claims: each snapshot the embedded executor writes is hashed
 *    (BLAKE2b-256 of its bytes) and reported to the core as
 *    ORD_EV_CHECKPOINT once a group commit that began after the write has
 *    made it durable; from then on it is the snapshot this replica serves;
 *  - truncation: ORD_OUT_TRUNCATE removes the log below a bound;
 *  - serving: a STATE_REQ from a peer is answered with one STATE_CHUNK of
 *    the snapshot it names, if that is the one this replica serves;
 *  - fetching: ORD_OUT_FETCH_STATE names a snapshot (seq, digest) and the
 *    replicas that claim it. The bytes come in order, in full chunks, from
 *    one of them; a source that stalls, is too slow for the whole, or sends
 *    a chunk of the wrong size or total is marked bad and replaced by the
 *    next. The whole is checked against the digest before anything parses
 *    it (f+1 replicas vouched for that digest, so a correct one made it),
 *    then restored into the executor and written; the core hears
 *    ORD_EV_STATE_INSTALLED only after the next group commit has made the
 *    snapshot durable, since the commit mark it writes then must never be
 *    durable without the snapshot under it.
 *
 * Both frames carry a tag (SipHash with the key the two replicas share,
 * through the core's peer_tag ops) over their other fields: a frame that
 * does not check is dropped and counted, so nobody can pose as a source or
 * make a replica send its snapshot elsewhere.
 */
#include <sodium.h>
#include <string.h>

#include "node_internal.h"

/* A source that sends nothing for this long is replaced; the whole
 * snapshot may take twice this plus this per MiB. */
#define STATE_WAIT_MS 1000
/* Chunks served to one peer: a burst of a whole snapshot (16 MiB), then
 * 32 a second. */
#define SERVE_BURST 32
#define SERVE_COST_MS 31

static uint64_t now_ms(struct glue_node *n)
{
    return n->io->mono_ms(n->io_arg);
}

static void swap_bufs(struct smr_buf *a, struct smr_buf *b)
{
    struct smr_buf t = *a;
    *a = *b;
    *b = t;
}

static void snapshot_digest(const struct smr_buf *b,
                            uint8_t out[SMR_DIGEST_BYTES])
{
    crypto_generichash(out, SMR_DIGEST_BYTES, b->data, b->len, NULL, 0);
}

static smr_seq snapshot_seq(const struct smr_buf *b)
{
    return exe_snapshot_seq(b->data, b->len);
}

/* ------------------------------------------------------ authentication */

static void h_u64(crypto_generichash_state *st, uint64_t v)
{
    uint8_t b[8];
    smr_put_u64(b, v);
    crypto_generichash_update(st, b, sizeof b);
}

/* The digest a frame's tag covers: every other field, and the type. */
static void frame_digest(const struct glue_node *n, int type, smr_node_id from,
                         smr_seq seq, uint64_t offset, uint64_t total,
                         const uint8_t *bytes, uint32_t len,
                         uint8_t out[SMR_DIGEST_BYTES])
{
    static const char domain[] = "strata-state";
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain);
    h_u64(&st, (uint64_t)type);
    h_u64(&st, n->cfg.cluster_id);
    h_u64(&st, n->epoch);
    h_u64(&st, from);
    h_u64(&st, seq);
    h_u64(&st, offset);
    h_u64(&st, total);
    h_u64(&st, len);
    crypto_generichash_update(&st, bytes, len);
    crypto_generichash_final(&st, out, SMR_DIGEST_BYTES);
}

int glue_state_encode_chunk(const struct glue_node *n, smr_node_id to,
                            struct wire_state_chunk *c, struct smr_buf *out)
{
    uint8_t d[SMR_DIGEST_BYTES];
    frame_digest(n, WIRE_STATE_CHUNK, c->from, c->seq, c->offset, c->total,
                 c->bytes, c->len, d);
    n->core_glue->peer_tag(n->core, to, d, c->tag);
    return wire_encode_state_chunk(out, c);
}

static void send_tagged(struct glue_node *n, smr_node_id to, int type,
                        smr_seq seq, uint64_t offset, uint64_t total,
                        const uint8_t *bytes, uint32_t len)
{
    int rc;
    if (type == WIRE_STATE_REQ) {
        uint8_t d[SMR_DIGEST_BYTES];
        struct wire_state_req q = {n->cfg.cluster_id, n->epoch, n->id, seq,
                                   offset, {0}};
        frame_digest(n, type, n->id, seq, offset, 0, NULL, 0, d);
        n->core_glue->peer_tag(n->core, to, d, q.tag);
        rc = wire_encode_state_req(&n->scratch, &q);
    } else {
        struct wire_state_chunk c = {n->cfg.cluster_id, n->epoch, n->id, seq,
                                     total, offset, bytes, len, {0}};
        rc = glue_state_encode_chunk(n, to, &c, &n->scratch);
    }
    if (rc == SMR_OK)
        n->io->peer_send(n->io_arg, to, n->scratch.data, n->scratch.len);
}

/* --------------------------------------------------- claims and syncs */

void glue_state_snapshot_written(struct glue_node *n, smr_seq seq)
{
    n->snap_latest = seq;
    if (!n->state_transfer)
        return;
    n->claim_seq = seq;
    snapshot_digest(&n->snap, n->claim_digest);
    swap_bufs(&n->snap, &n->claim_bytes); /* the claim keeps these bytes */
}

void glue_state_sync_begin(struct glue_node *n, struct glue_state_due *due)
{
    due->claim_seq = n->claim_seq;
    memcpy(due->claim_digest, n->claim_digest, SMR_DIGEST_BYTES);
    if (n->claim_seq)
        swap_bufs(&n->claim_bytes, &n->due_bytes);
    due->install = n->install_pending;
    n->claim_seq = 0;
    n->install_pending = 0;
}

bool glue_state_sync_wanted(const struct glue_node *n)
{
    return n->install_pending != 0;
}

/* `bytes` (taken) become the snapshot served; the one served so far is
 * kept as the older one. */
static void serve_new(struct glue_node *n, struct smr_buf *bytes, smr_seq seq)
{
    if (seq == n->served_seq)
        return;
    swap_bufs(&n->served_prev, &n->served);
    n->served_prev_seq = n->served_seq;
    swap_bufs(&n->served, bytes);
    n->served_seq = seq;
}

int glue_state_sync_end(struct glue_node *n, const struct glue_state_due *due)
{
    int rc = SMR_OK;
    if (due->claim_seq) {
        serve_new(n, &n->due_bytes, due->claim_seq);
        struct ord_event ev = {.type = ORD_EV_CHECKPOINT};
        ev.u.checkpoint.seq = due->claim_seq;
        memcpy(ev.u.checkpoint.digest, due->claim_digest, SMR_DIGEST_BYTES);
        rc = glue_node_step(n, &ev);
    }
    if (rc == SMR_OK && due->install) {
        if (snapshot_seq(&n->installed_bytes) == due->install)
            serve_new(n, &n->installed_bytes, due->install); /* our claim */
        struct ord_event ev = {.type = ORD_EV_STATE_INSTALLED};
        ev.u.installed.seq = due->install;
        rc = glue_node_step(n, &ev);
    }
    return rc;
}

/* ---------------------------------------------------------- fetching */

static void ask(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    x->asked_ms = now_ms(n);
    send_tagged(n, x->src, WIRE_STATE_REQ, x->seq, x->buf.len, 0, NULL, 0);
}

/* The next replica that claims the snapshot and has not failed this fetch
 * (all of them again once every one has); the bytes start over, since a
 * source's bytes are checked only as a whole. */
static void next_source(struct glue_node *n, bool src_failed)
{
    struct glue_xfer *x = &n->xfer;
    if (src_failed && x->src != n->id)
        x->bad |= 1u << x->src;
    if ((x->sources & ~x->bad) == 0)
        x->bad = 0;
    for (uint32_t i = 1; i <= n->cfg.n_replicas; i++) {
        smr_node_id j = (x->src + i) % n->cfg.n_replicas;
        if (j != n->id && (x->sources & ~x->bad & (1u << j))) {
            x->src = j;
            break;
        }
    }
    smr_buf_reset(&x->buf);
    x->total = 0;
    x->source_ms = now_ms(n);
    ask(n);
}

/* The executor already holds the state at seq in a snapshot written to
 * storage (a restart after an install whose commit mark a crash lost, or
 * the log got there first): the core only needs to hear it once that
 * snapshot is durable. */
static bool already_there(struct glue_node *n, smr_seq seq)
{
    if (n->engine->accepted_seq < seq)
        return false;
    if (n->snap_latest >= seq)
        n->install_pending = seq;
    n->xfer.seq = 0;
    smr_buf_free(&n->xfer.buf);
    return true;
}

void glue_state_fetch(struct glue_node *n, const struct ord_output *o)
{
    struct glue_xfer *x = &n->xfer;
    if (!n->engine || !n->state_transfer || !n->core_glue->peer_tag ||
        already_there(n, o->u.fetch_state.seq))
        return;
    x->sources = o->u.fetch_state.sources & ~(1u << n->id);
    if (x->seq == o->u.fetch_state.seq &&
        memcmp(x->digest, o->u.fetch_state.digest, SMR_DIGEST_BYTES) == 0)
        return; /* the same one: carry on */
    x->seq = o->u.fetch_state.seq;
    memcpy(x->digest, o->u.fetch_state.digest, SMR_DIGEST_BYTES);
    x->src = n->id;
    x->bad = 0;
    node_log(n, "fetching the snapshot at seq %llu from its peers",
             (unsigned long long)x->seq);
    next_source(n, false);
}

void glue_state_tick(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    if (!x->seq)
        return;
    uint64_t now = now_ms(n);
    uint64_t whole = (2 + (x->total >> 20)) * STATE_WAIT_MS;
    if (now - x->asked_ms > STATE_WAIT_MS || now - x->source_ms > whole)
        next_source(n, true);
}

static int install(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    uint8_t d[SMR_DIGEST_BYTES];
    snapshot_digest(&x->buf, d);
    if (sodium_memcmp(d, x->digest, SMR_DIGEST_BYTES) != 0 ||
        snapshot_seq(&x->buf) != x->seq) {
        node_log(n, "the snapshot from replica %u does not match the digest "
                    "its peers vouch for: trying another",
                 x->src);
        next_source(n, true);
        return SMR_OK;
    }
    int rc = exe_drain(n->engine);
    if (rc != SMR_OK || already_there(n, x->seq))
        return rc;
    rc = exe_restore(n->engine, x->buf.data, x->buf.len);
    if (rc != SMR_OK) {
        node_log(n, "restoring the snapshot at seq %llu: %s",
                 (unsigned long long)x->seq, smr_strerror(rc));
        return rc; /* f+1 replicas made these bytes: our executor is wrong */
    }
    if (n->io->installed) {
        uint8_t state[SMR_DIGEST_BYTES];
        exe_digest(n->engine, state);
        n->io->installed(n->io_arg, x->seq, state);
    }
    rc = sto_state_put(n->sto, GLUE_STATE_SNAPSHOT, x->buf.data, x->buf.len,
                       NULL);
    if (rc != SMR_OK)
        return rc;
    node_log(n, "installed the snapshot at seq %llu (%zu bytes)",
             (unsigned long long)x->seq, x->buf.len);
    n->snap_latest = n->install_pending = x->seq;
    n->claim_seq = 0; /* an older snapshot of ours: no claim */
    x->seq = 0;
    swap_bufs(&x->buf, &n->installed_bytes); /* served once durable */
    smr_buf_free(&x->buf);
    return SMR_OK;
}

static int on_chunk(struct glue_node *n, const struct wire_state_chunk *c)
{
    struct glue_xfer *x = &n->xfer;
    if (!x->seq || c->seq != x->seq || c->from != x->src ||
        c->offset != x->buf.len)
        return SMR_OK; /* late, repeated or not asked for */
    uint64_t left = c->total - c->offset;
    if ((x->total && c->total != x->total) ||
        c->len != (left < WIRE_STATE_CHUNK_BYTES ? left
                                                 : WIRE_STATE_CHUNK_BYTES)) {
        next_source(n, true); /* a correct source sends full chunks */
        return SMR_OK;
    }
    x->total = c->total;
    if (smr_buf_append(&x->buf, c->bytes, c->len) != SMR_OK) {
        node_log(n, "no memory for the snapshot at seq %llu",
                 (unsigned long long)x->seq);
        next_source(n, false); /* starts over */
        return SMR_OK;
    }
    if (x->buf.len < x->total) {
        ask(n);
        return SMR_OK;
    }
    return install(n);
}

/* ----------------------------------------------------------- serving */

/* The snapshot this replica serves: the one it claimed last, or after a
 * restart (until its next claim) the one in storage. */
static bool load_served(struct glue_node *n)
{
    if (n->served_seq)
        return true;
    if (sto_state_get(n->sto, GLUE_STATE_SNAPSHOT, &n->served) != SMR_OK) {
        smr_buf_reset(&n->served);
        return false;
    }
    n->served_seq = snapshot_seq(&n->served);
    return n->served_seq != 0;
}

static void on_request(struct glue_node *n, const struct wire_state_req *q)
{
    if (!n->engine || !q->seq || !load_served(n))
        return;
    const struct smr_buf *b = q->seq == n->served_seq        ? &n->served
                              : q->seq == n->served_prev_seq ? &n->served_prev
                                                             : NULL;
    if (!b || q->offset > b->len)
        return; /* not a snapshot we serve: it asks another */
    uint64_t now = now_ms(n), *at = &n->serve_at[q->from];
    if (*at > now + SERVE_BURST * SERVE_COST_MS)
        return; /* over its budget (a correct fetcher never is) */
    *at = (*at > now ? *at : now) + SERVE_COST_MS;
    size_t left = b->len - q->offset;
    uint32_t len = (uint32_t)(left < WIRE_STATE_CHUNK_BYTES
                                  ? left
                                  : WIRE_STATE_CHUNK_BYTES);
    send_tagged(n, q->from, WIRE_STATE_CHUNK, q->seq, q->offset, b->len,
                b->data + q->offset, len);
}

/* The header checks and the tag; SMR_OK when the frame is the peer's. */
static int accept(struct glue_node *n, int type, uint64_t cluster,
                  smr_epoch epoch, smr_node_id from, smr_seq seq,
                  uint64_t offset, uint64_t total, const uint8_t *bytes,
                  uint32_t len, const uint8_t tag[SMR_TAG_BYTES])
{
    uint8_t d[SMR_DIGEST_BYTES];
    if (cluster != n->cfg.cluster_id || epoch != n->epoch ||
        from >= n->cfg.n_replicas || from == n->id)
        return SMR_EINVAL;
    if (!n->core_glue->peer_tag_check)
        return SMR_ETYPE; /* this protocol transfers no state */
    frame_digest(n, type, from, seq, offset, total, bytes, len, d);
    return n->core_glue->peer_tag_check(n->core, from, d, tag)
               ? SMR_OK
               : SMR_EFORBIDDEN;
}

int glue_state_on_frame(struct glue_node *n, int type, const uint8_t *f,
                        size_t len)
{
    struct wire_state_req q;
    struct wire_state_chunk c;
    int rc;
    if (type == WIRE_STATE_REQ) {
        rc = wire_decode_state_req(f, len, &q);
        if (rc == SMR_OK)
            rc = accept(n, type, q.cluster_id, q.epoch, q.from, q.seq,
                        q.offset, 0, NULL, 0, q.tag);
    } else {
        rc = wire_decode_state_chunk(f, len, &c);
        if (rc == SMR_OK)
            rc = accept(n, type, c.cluster_id, c.epoch, c.from, c.seq,
                        c.offset, c.total, c.bytes, c.len, c.tag);
    }
    wire_stats_count(&n->stats, rc);
    if (rc != SMR_OK)
        return SMR_OK; /* dropped and counted */
    if (type == WIRE_STATE_REQ) {
        on_request(n, &q);
        return SMR_OK;
    }
    return on_chunk(n, &c);
}
