/*
 * state.c: the replica driver's half of log truncation and state transfer
 * (pbft.h, "Log truncation and state transfer"), for replicas whose
 * executor is embedded (the replica holds the snapshots):
 *
 *  - claims: each snapshot the embedded executor writes is hashed
 *    (BLAKE2b-256 of its bytes) and, once the group commit has made it
 *    durable, reported to the core as ORD_EV_CHECKPOINT;
 *  - truncation: ORD_OUT_TRUNCATE removes the log below a bound;
 *  - serving: a STATE_REQ from a peer is answered with one STATE_CHUNK of
 *    the snapshot it names, if that is the one this replica holds;
 *  - fetching: ORD_OUT_FETCH_STATE names a snapshot (seq, digest) and the
 *    replicas that claim it. The bytes come in order, chunk by chunk, from
 *    one of them; a source that stalls is replaced by the next. The whole
 *    is checked against the digest before anything parses it (f+1
 *    replicas vouched for that digest, so a correct one made it), then
 *    restored into the executor, written and synced, and only then is the
 *    core told (ORD_EV_STATE_INSTALLED): the commit mark it writes next
 *    must never be durable without the snapshot below it.
 *
 * The chunks are not authenticated: a forged one only fails the digest.
 * What a faulty source can cost is one fetch, then it is skipped.
 */
#include <sodium.h>
#include <string.h>

#include "node_internal.h"

/* A source that sends nothing for this long is replaced. */
#define STATE_WAIT_MS 1000

static uint64_t now_ms(struct glue_node *n)
{
    return n->io->mono_ms(n->io_arg);
}

static void snapshot_digest(const struct smr_buf *b,
                            uint8_t out[SMR_DIGEST_BYTES])
{
    crypto_generichash(out, SMR_DIGEST_BYTES, b->data, b->len, NULL, 0);
}

/* The executed_seq in a snapshot's header (execution/session.c: u32 magic,
 * u32 version, u64 executed_seq), 0 when too short. */
static smr_seq snapshot_seq(const struct smr_buf *b)
{
    return b->len >= 16 ? smr_get_u64(b->data + 8) : 0;
}

void glue_state_snapshot_written(struct glue_node *n, smr_seq seq)
{
    n->snap_latest = seq;
    if (!n->state_transfer)
        return;
    n->claim_seq = seq;
    snapshot_digest(&n->snap, n->claim_digest);
}

int glue_state_after_sync(struct glue_node *n)
{
    if (!n->claim_seq)
        return SMR_OK;
    struct ord_event ev = {.type = ORD_EV_CHECKPOINT};
    ev.u.checkpoint.seq = n->claim_seq;
    memcpy(ev.u.checkpoint.digest, n->claim_digest, SMR_DIGEST_BYTES);
    n->claim_seq = 0;
    return glue_node_step(n, &ev);
}

int glue_state_truncate(struct glue_node *n, smr_seq below)
{
    return sto_log_truncate_prefix(n->sto, below, NULL);
}

/* ---------------------------------------------------------- fetching */

static void ask(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    struct wire_state_req q = {
        .cluster_id = n->cfg.cluster_id,
        .epoch = n->epoch,
        .from = n->id,
        .seq = x->seq,
        .offset = x->buf.len,
    };
    x->asked_ms = now_ms(n);
    if (wire_encode_state_req(&n->scratch, &q) == SMR_OK)
        n->io->peer_send(n->io_arg, x->src, n->scratch.data, n->scratch.len);
}

/* The next replica that claims the snapshot, after the current source;
 * the bytes start over (a source's bytes are checked only as a whole). */
static void next_source(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    for (uint32_t i = 1; i <= n->cfg.n_replicas; i++) {
        smr_node_id j = (x->src + i) % n->cfg.n_replicas;
        if (j != n->id && (x->sources & (1u << j))) {
            x->src = j;
            break;
        }
    }
    smr_buf_reset(&x->buf);
    x->total = 0;
    ask(n);
}

void glue_state_fetch(struct glue_node *n, const struct ord_output *o)
{
    struct glue_xfer *x = &n->xfer;
    if (!n->engine || !n->state_transfer)
        return;
    x->sources = o->u.fetch_state.sources & ~(1u << n->id);
    if (x->seq == o->u.fetch_state.seq &&
        memcmp(x->digest, o->u.fetch_state.digest, SMR_DIGEST_BYTES) == 0)
        return; /* the same one: carry on */
    x->seq = o->u.fetch_state.seq;
    memcpy(x->digest, o->u.fetch_state.digest, SMR_DIGEST_BYTES);
    x->src = n->id;
    node_log(n, "fetching the snapshot at seq %llu from its peers",
             (unsigned long long)x->seq);
    next_source(n);
}

void glue_state_tick(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    if (x->seq && now_ms(n) - x->asked_ms > STATE_WAIT_MS)
        next_source(n);
}

static int install(struct glue_node *n)
{
    struct glue_xfer *x = &n->xfer;
    uint8_t d[SMR_DIGEST_BYTES];
    snapshot_digest(&x->buf, d);
    if (sodium_memcmp(d, x->digest, SMR_DIGEST_BYTES) != 0 ||
        snapshot_seq(&x->buf) != x->seq) {
        n->state_refused++;
        node_log(n, "the snapshot from replica %u does not match the digest "
                    "its peers vouch for: trying another",
                 x->src);
        next_source(n);
        return SMR_OK;
    }
    int rc = exe_drain(n->engine);
    if (rc != SMR_OK)
        return rc;
    if (n->engine->accepted_seq >= x->seq) {
        x->seq = 0; /* the log got us there first */
        smr_buf_free(&x->buf);
        return SMR_OK;
    }
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
    if (rc == SMR_OK)
        rc = glue_node_make_durable(n); /* a group commit of its own */
    if (rc != SMR_OK)
        return rc;
    node_log(n, "installed the snapshot at seq %llu (%zu bytes)",
             (unsigned long long)x->seq, x->buf.len);
    smr_seq seq = x->seq;
    n->snap_latest = seq;
    n->claim_seq = 0;
    n->states_installed++;
    x->seq = 0;
    smr_buf_free(&x->buf);
    struct ord_event ev = {.type = ORD_EV_STATE_INSTALLED};
    ev.u.installed.seq = seq;
    return glue_node_step(n, &ev);
}

static int on_chunk(struct glue_node *n, const struct wire_state_chunk *c)
{
    struct glue_xfer *x = &n->xfer;
    if (!x->seq || c->seq != x->seq || c->from != x->src ||
        c->offset != x->buf.len)
        return SMR_OK; /* late, repeated or not asked for */
    if (x->total && c->total != x->total) {
        n->state_refused++;
        next_source(n);
        return SMR_OK;
    }
    x->total = c->total;
    if (smr_buf_append(&x->buf, c->bytes, c->len) != SMR_OK) {
        node_log(n, "no memory for the snapshot at seq %llu",
                 (unsigned long long)x->seq);
        next_source(n); /* starts over, and tries again later */
        return SMR_OK;
    }
    if (x->buf.len < x->total) {
        ask(n);
        return SMR_OK;
    }
    return install(n);
}

/* ----------------------------------------------------------- serving */

/* The snapshot this replica holds, read once per snapshot written. */
static bool load_served(struct glue_node *n)
{
    if (n->served_seq && n->served_seq == n->snap_latest)
        return true;
    if (sto_state_get(n->sto, GLUE_STATE_SNAPSHOT, &n->served) != SMR_OK) {
        smr_buf_reset(&n->served);
        n->served_seq = 0;
        return false;
    }
    n->served_seq = snapshot_seq(&n->served);
    return true;
}

static void on_request(struct glue_node *n, const struct wire_state_req *q)
{
    if (!n->engine || !load_served(n) || q->seq != n->served_seq ||
        q->offset > n->served.len)
        return; /* not the snapshot we hold: it asks another */
    size_t left = n->served.len - q->offset;
    struct wire_state_chunk c = {
        .cluster_id = n->cfg.cluster_id,
        .epoch = n->epoch,
        .from = n->id,
        .seq = q->seq,
        .total = n->served.len,
        .offset = q->offset,
        .bytes = n->served.data + q->offset,
        .len = (uint32_t)(left < WIRE_STATE_CHUNK_BYTES ? left
                                                        : WIRE_STATE_CHUNK_BYTES),
    };
    if (wire_encode_state_chunk(&n->scratch, &c) == SMR_OK)
        n->io->peer_send(n->io_arg, q->from, n->scratch.data, n->scratch.len);
}

int glue_state_on_frame(struct glue_node *n, int type, const uint8_t *f,
                        size_t len)
{
    int rc;
    if (type == WIRE_STATE_REQ) {
        struct wire_state_req q;
        rc = wire_decode_state_req(f, len, &q);
        if (rc == SMR_OK &&
            (q.cluster_id != n->cfg.cluster_id || q.epoch != n->epoch ||
             q.from >= n->cfg.n_replicas || q.from == n->id))
            rc = SMR_EINVAL;
        wire_stats_count(&n->stats, rc);
        if (rc == SMR_OK)
            on_request(n, &q);
        return SMR_OK;
    }
    struct wire_state_chunk c;
    rc = wire_decode_state_chunk(f, len, &c);
    if (rc == SMR_OK && (c.cluster_id != n->cfg.cluster_id ||
                         c.epoch != n->epoch || c.from >= n->cfg.n_replicas))
        rc = SMR_EINVAL;
    wire_stats_count(&n->stats, rc);
    return rc == SMR_OK ? on_chunk(n, &c) : SMR_OK;
}
