/*
 * wire_check.h: the decode -> re-encode -> decode oracle shared by the wire
 * fuzz targets (tests/fuzz/fuzz_wire_*.c), the corpus replay test
 * (tests/unit/test_wire_corpus.c) and the byte-flip tests in test_wire.c.
 *
 * wire_check_frame() runs one input through every decoder of the chosen
 * families. Whatever decodes is encoded again; the new frame must decode to
 * the same fields, and encoding those must give the same bytes (encoding is
 * canonical even when the input used wider integer encodings). Decoded byte
 * fields must point inside the input. Header-only (static functions) so
 * each target compiles it with its own instrumentation.
 */
#ifndef STRATA_TESTS_WIRE_CHECK_H
#define STRATA_TESTS_WIRE_CHECK_H

#include <string.h>

#include "wire.h"
#include "wire_pbft.h"

enum wire_family {
    WIRE_FAMILY_CLIENT = 1, /* REQUEST, REPLY, STATUS_REQ, STATUS, REPLIES */
    WIRE_FAMILY_PAXOS = 2,  /* PAXOS */
    WIRE_FAMILY_STREAM = 4, /* COMMITTED, SUBSCRIBE, CHECKPOINT, SNAPSHOT_* */
    WIRE_FAMILY_PBFT = 8,   /* PBFT, STATE_REQ, STATE_CHUNK */
    WIRE_FAMILY_ALL = 15,
};

/* Result of checking one decoder. */
#define WC_REJECTED 0 /* the decoder returned an error code */
#define WC_DECODED 1  /* decoded, and the round trip held */
#define WC_BROKEN -1  /* a bug: bad return code or round-trip mismatch */

struct wc_bufs {
    struct smr_buf a; /* first re-encoding */
    struct smr_buf b; /* second re-encoding */
};

static bool wc_valid_rc(int rc)
{
    return rc == SMR_ETRUNCATED || rc == SMR_EMALFORMED || rc == SMR_ETOOBIG ||
           rc == SMR_EVERSION || rc == SMR_ETYPE;
}

static bool wc_inside(const uint8_t *p, size_t n, const uint8_t *f, size_t len)
{
    return n == 0 || (p >= f && n <= len && p <= f + len - n);
}

static bool wc_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b,
                        size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool wc_same_frame(const struct wc_bufs *w)
{
    return wc_bytes_eq(w->a.data, w->a.len, w->b.data, w->b.len);
}

/* Common tail: `rc` from the first decode; `reenc` encodes the decoded
 * message into w->a, `redec_cmp` decodes w->a, compares, and encodes the
 * result into w->b. */
#define WC_ROUND_TRIP(rc, first_ok, reenc, redec_cmp)                          \
    do {                                                                       \
        if ((rc) != SMR_OK)                                                    \
            return wc_valid_rc(rc) ? WC_REJECTED : WC_BROKEN;                  \
        if (!(first_ok) || (reenc) != SMR_OK || !(redec_cmp))                  \
            return WC_BROKEN;                                                  \
        return wc_same_frame(w) ? WC_DECODED : WC_BROKEN;                      \
    } while (0)

static bool wc_request_eq(const struct smr_request *x,
                          const struct smr_request *y)
{
    return x->client_id == y->client_id && x->req_id == y->req_id &&
           wc_bytes_eq(x->op, x->op_len, y->op, y->op_len);
}

static bool wc_request_redec(struct wc_bufs *w, const struct smr_request *m)
{
    struct smr_request m2;
    return wire_decode_request(w->a.data, w->a.len, &m2) == SMR_OK &&
           wc_request_eq(m, &m2) && wire_encode_request(&w->b, &m2) == 0;
}

static int wc_request(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct smr_request m;
    int rc = wire_decode_request(f, len, &m);
    WC_ROUND_TRIP(rc, wc_inside(m.op, m.op_len, f, len),
                  wire_encode_request(&w->a, &m), wc_request_redec(w, &m));
}

static bool wc_reply_eq(const struct wire_reply *x, const struct wire_reply *y)
{
    return x->client_id == y->client_id && x->req_id == y->req_id &&
           x->seq == y->seq && x->status == y->status &&
           x->leader_hint == y->leader_hint &&
           wc_bytes_eq(x->result, x->result_len, y->result, y->result_len) &&
           x->has_tag == y->has_tag &&
           (!x->has_tag || memcmp(x->tag, y->tag, SMR_TAG_BYTES) == 0);
}

static bool wc_reply_redec(struct wc_bufs *w, const struct wire_reply *m)
{
    struct wire_reply m2;
    return wire_decode_reply(w->a.data, w->a.len, &m2) == SMR_OK &&
           wc_reply_eq(m, &m2) && wire_encode_reply(&w->b, &m2) == 0;
}

static int wc_reply(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_reply m;
    int rc = wire_decode_reply(f, len, &m);
    WC_ROUND_TRIP(rc, wc_inside(m.result, m.result_len, f, len),
                  wire_encode_reply(&w->a, &m), wc_reply_redec(w, &m));
}

/* REPLIES: re-encoded from its inner frames (array 32, shortest bins);
 * the inner frames are compared as bytes (the client decodes each one). */
static int wc_replies_encode(struct smr_buf *out, struct wire_replies it)
{
    const uint8_t *f;
    size_t n;
    int rc = wire_replies_start(out);
    while (rc == SMR_OK && wire_replies_next(&it, &f, &n))
        rc = wire_replies_add(out, f, n);
    return rc;
}

static bool wc_replies_eq(struct wire_replies x, struct wire_replies y)
{
    const uint8_t *fx, *fy;
    size_t nx, ny;
    bool more_x, more_y;
    do {
        more_x = wire_replies_next(&x, &fx, &nx);
        more_y = wire_replies_next(&y, &fy, &ny);
        if (more_x != more_y || (more_x && !wc_bytes_eq(fx, nx, fy, ny)))
            return false;
    } while (more_x);
    return true;
}

static bool wc_replies_inside(struct wire_replies it, const uint8_t *f,
                              size_t len)
{
    const uint8_t *p;
    size_t n;
    while (wire_replies_next(&it, &p, &n))
        if (!wc_inside(p, n, f, len))
            return false;
    return true;
}

static bool wc_replies_redec(struct wc_bufs *w, struct wire_replies m)
{
    struct wire_replies m2;
    return wire_decode_replies(w->a.data, w->a.len, &m2) == SMR_OK &&
           wc_replies_eq(m, m2) && wc_replies_encode(&w->b, m2) == 0;
}

static int wc_replies(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_replies m;
    int rc = wire_decode_replies(f, len, &m);
    WC_ROUND_TRIP(rc, wc_replies_inside(m, f, len),
                  wc_replies_encode(&w->a, m), wc_replies_redec(w, m));
}

static bool wc_status_req_redec(struct wc_bufs *w,
                                const struct wire_status_req *m)
{
    struct wire_status_req m2;
    return wire_decode_status_req(w->a.data, w->a.len, &m2) == SMR_OK &&
           m->nonce == m2.nonce && wire_encode_status_req(&w->b, &m2) == 0;
}

static int wc_status_req(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_status_req m;
    int rc = wire_decode_status_req(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_status_req(&w->a, &m),
                  wc_status_req_redec(w, &m));
}

static bool wc_status_eq(const struct wire_status *x,
                         const struct wire_status *y)
{
    return x->nonce == y->nonce && x->node_id == y->node_id &&
           x->is_leader == y->is_leader && x->leader_hint == y->leader_hint &&
           x->ballot == y->ballot && x->committed_seq == y->committed_seq &&
           x->executed_seq == y->executed_seq &&
           x->frames_rejected == y->frames_rejected && x->fsyncs == y->fsyncs &&
           x->writes_per_fsync_x100 == y->writes_per_fsync_x100 &&
           x->peer_drops == y->peer_drops &&
           x->client_drops == y->client_drops &&
           x->paxos_dropped == y->paxos_dropped &&
           x->log_first == y->log_first;
}

static bool wc_status_redec(struct wc_bufs *w, const struct wire_status *m)
{
    struct wire_status m2;
    return wire_decode_status(w->a.data, w->a.len, &m2) == SMR_OK &&
           wc_status_eq(m, &m2) && wire_encode_status(&w->b, &m2) == 0;
}

static int wc_status(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_status m;
    int rc = wire_decode_status(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_status(&w->a, &m),
                  wc_status_redec(w, &m));
}

static bool wc_entry_eq(const struct ord_paxos_entry *x,
                        const struct ord_paxos_entry *y)
{
    return x->slot == y->slot && x->ballot == y->ballot &&
           x->epoch == y->epoch && x->leader_time_ms == y->leader_time_ms &&
           wc_bytes_eq(x->batch, x->batch_len, y->batch, y->batch_len) &&
           smr_batch_validate(x->batch, x->batch_len) == SMR_OK;
}

static bool wc_paxos_eq(const struct ord_paxos_msg *x,
                        const struct ord_paxos_msg *y)
{
    if (x->type != y->type || x->from != y->from || x->ballot != y->ballot ||
        x->slot != y->slot || x->slot_count != y->slot_count ||
        x->commit_upto != y->commit_upto || x->more != y->more ||
        x->n_entries != y->n_entries || x->n_entries > ORD_PAXOS_ENTRIES_MAX)
        return false;
    for (uint32_t i = 0; i < x->n_entries; i++)
        if (!wc_entry_eq(&x->entries[i], &y->entries[i]))
            return false;
    return x->type >= ORD_PAXOS_PREPARE && x->type <= ORD_PAXOS_MSG__MAX;
}

static bool wc_paxos_inside(const struct ord_paxos_msg *m, const uint8_t *f,
                            size_t len)
{
    for (uint32_t i = 0; i < m->n_entries; i++)
        if (!wc_inside(m->entries[i].batch, m->entries[i].batch_len, f, len))
            return false;
    return true;
}

static int wc_paxos(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    static struct ord_paxos_entry e1[ORD_PAXOS_ENTRIES_MAX];
    static struct ord_paxos_entry e2[ORD_PAXOS_ENTRIES_MAX];
    struct ord_paxos_msg m, m2;
    uint64_t cid, cid2;
    smr_epoch ep, ep2;
    int rc = wire_decode_paxos(f, len, &cid, &ep, &m, e1);
    if (rc != SMR_OK)
        return wc_valid_rc(rc) ? WC_REJECTED : WC_BROKEN;
    if (m.entries != e1 || !wc_paxos_inside(&m, f, len) ||
        wire_encode_paxos(&w->a, cid, ep, &m) != SMR_OK)
        return WC_BROKEN;
    if (wire_decode_paxos(w->a.data, w->a.len, &cid2, &ep2, &m2, e2) != 0 ||
        cid != cid2 || ep != ep2 || !wc_paxos_eq(&m, &m2))
        return WC_BROKEN;
    if (wire_encode_paxos(&w->b, cid2, ep2, &m2) != SMR_OK)
        return WC_BROKEN;
    return wc_same_frame(w) ? WC_DECODED : WC_BROKEN;
}

static bool wc_committed_eq(const struct smr_committed *x,
                            const struct smr_committed *y)
{
    return x->seq == y->seq && x->epoch == y->epoch &&
           x->leader_time_ms == y->leader_time_ms &&
           wc_bytes_eq(x->batch, x->batch_len, y->batch, y->batch_len) &&
           smr_batch_validate(x->batch, x->batch_len) == SMR_OK;
}

static bool wc_committed_redec(struct wc_bufs *w, const struct smr_committed *m)
{
    struct smr_committed m2;
    return wire_decode_committed(w->a.data, w->a.len, &m2) == SMR_OK &&
           wc_committed_eq(m, &m2) && wire_encode_committed(&w->b, &m2) == 0;
}

static int wc_committed(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct smr_committed m;
    int rc = wire_decode_committed(f, len, &m);
    WC_ROUND_TRIP(rc, wc_inside(m.batch, m.batch_len, f, len),
                  wire_encode_committed(&w->a, &m), wc_committed_redec(w, &m));
}

static bool wc_subscribe_redec(struct wc_bufs *w,
                               const struct wire_subscribe *m)
{
    struct wire_subscribe m2;
    return wire_decode_subscribe(w->a.data, w->a.len, &m2) == SMR_OK &&
           m->consumer_id == m2.consumer_id && m->from_seq == m2.from_seq &&
           m->credit == m2.credit && wire_encode_subscribe(&w->b, &m2) == 0;
}

static int wc_subscribe(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_subscribe m;
    int rc = wire_decode_subscribe(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_subscribe(&w->a, &m),
                  wc_subscribe_redec(w, &m));
}

static bool wc_checkpoint_redec(struct wc_bufs *w,
                                const struct wire_checkpoint *m)
{
    struct wire_checkpoint m2;
    return wire_decode_checkpoint(w->a.data, w->a.len, &m2) == SMR_OK &&
           m->seq == m2.seq &&
           memcmp(m->digest, m2.digest, SMR_DIGEST_BYTES) == 0 &&
           wire_encode_checkpoint(&w->b, &m2) == 0;
}

static int wc_checkpoint(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_checkpoint m;
    int rc = wire_decode_checkpoint(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_checkpoint(&w->a, &m),
                  wc_checkpoint_redec(w, &m));
}

static bool wc_snapshot_redec(struct wc_bufs *w,
                              const struct wire_snapshot_required *m)
{
    struct wire_snapshot_required m2;
    return wire_decode_snapshot_required(w->a.data, w->a.len, &m2) == 0 &&
           m->first_available_seq == m2.first_available_seq &&
           wire_encode_snapshot_required(&w->b, &m2) == 0;
}

static int wc_snapshot(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_snapshot_required m;
    int rc = wire_decode_snapshot_required(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_snapshot_required(&w->a, &m),
                  wc_snapshot_redec(w, &m));
}

static bool wc_state_req_redec(struct wc_bufs *w,
                               const struct wire_state_req *m)
{
    struct wire_state_req m2;
    return wire_decode_state_req(w->a.data, w->a.len, &m2) == 0 &&
           m->cluster_id == m2.cluster_id && m->epoch == m2.epoch &&
           m->from == m2.from && m->seq == m2.seq && m->offset == m2.offset &&
           memcmp(m->tag, m2.tag, SMR_TAG_BYTES) == 0 &&
           wire_encode_state_req(&w->b, &m2) == 0;
}

static int wc_state_req(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_state_req m;
    int rc = wire_decode_state_req(f, len, &m);
    WC_ROUND_TRIP(rc, true, wire_encode_state_req(&w->a, &m),
                  wc_state_req_redec(w, &m));
}

static bool wc_state_chunk_redec(struct wc_bufs *w,
                                 const struct wire_state_chunk *m)
{
    struct wire_state_chunk m2;
    return wire_decode_state_chunk(w->a.data, w->a.len, &m2) == 0 &&
           m->cluster_id == m2.cluster_id && m->epoch == m2.epoch &&
           m->from == m2.from && m->seq == m2.seq && m->total == m2.total &&
           m->offset == m2.offset &&
           wc_bytes_eq(m->bytes, m->len, m2.bytes, m2.len) &&
           memcmp(m->tag, m2.tag, SMR_TAG_BYTES) == 0 &&
           wire_encode_state_chunk(&w->b, &m2) == 0;
}

static int wc_state_chunk(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    struct wire_state_chunk m;
    int rc = wire_decode_state_chunk(f, len, &m);
    WC_ROUND_TRIP(rc, wc_inside(m.bytes, m.len, f, len),
                  wire_encode_state_chunk(&w->a, &m),
                  wc_state_chunk_redec(w, &m));
}

/* PBFT: every field of the message and of its view change / new view,
 * arrays compared element by element. */
static bool wc_cert_eq(const struct ord_pbft_cert *x,
                       const struct ord_pbft_cert *y)
{
    return x->seq == y->seq && x->view == y->view &&
           memcmp(x->digest, y->digest, SMR_DIGEST_BYTES) == 0;
}

static bool wc_certs_eq(const struct ord_pbft_cert *x, uint32_t nx,
                        const struct ord_pbft_cert *y, uint32_t ny)
{
    if (nx != ny)
        return false;
    for (uint32_t i = 0; i < nx; i++)
        if (!wc_cert_eq(&x[i], &y[i]))
            return false;
    return true;
}

static bool wc_pentries_eq(const struct ord_pbft_entry *x,
                           const struct ord_pbft_entry *y, uint32_t n)
{
    if (n && (!x || !y))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (x[i].seq != y[i].seq ||
            x[i].leader_time_ms != y[i].leader_time_ms ||
            !wc_bytes_eq(x[i].batch, x[i].batch_len, y[i].batch,
                         y[i].batch_len) ||
            smr_batch_validate(x[i].batch, x[i].batch_len) != SMR_OK)
            return false;
    return true;
}

static bool wc_vc_eq(const struct ord_pbft_view_change *x,
                     const struct ord_pbft_view_change *y, bool bodies)
{
    return x->from == y->from && x->view == y->view && x->stable == y->stable &&
           wc_certs_eq(x->ckpts, x->n_ckpts, y->ckpts, y->n_ckpts) &&
           wc_certs_eq(x->prepared, x->n_prepared, y->prepared,
                       y->n_prepared) &&
           wc_certs_eq(x->preprepared, x->n_preprepared, y->preprepared,
                       y->n_preprepared) &&
           memcmp(x->sig, y->sig, ORD_PBFT_SIG_BYTES) == 0 &&
           (!bodies || wc_pentries_eq(x->bodies, y->bodies, x->n_prepared));
}

static bool wc_nv_eq(const struct ord_pbft_new_view *x,
                     const struct ord_pbft_new_view *y)
{
    if (x->from != y->from || x->view != y->view || x->n_vcs != y->n_vcs ||
        x->n_vcs > SMR_NODES_MAX || !wc_cert_eq(&x->ckpt, &y->ckpt) ||
        !wc_certs_eq(x->chosen, x->n_chosen, y->chosen, y->n_chosen) ||
        memcmp(x->sig, y->sig, ORD_PBFT_SIG_BYTES) != 0 ||
        !wc_pentries_eq(x->bodies, y->bodies, x->n_chosen))
        return false;
    for (uint32_t i = 0; i < x->n_vcs; i++)
        if (!wc_vc_eq(&x->vcs[i], &y->vcs[i], false) || x->vcs[i].bodies)
            return false;
    return true;
}

static bool wc_pbft_eq(const struct ord_pbft_msg *x,
                       const struct ord_pbft_msg *y)
{
    if (x->type != y->type || x->from != y->from || x->view != y->view ||
        x->seq != y->seq ||
        memcmp(x->digest, y->digest, SMR_DIGEST_BYTES) != 0 ||
        x->client_id != y->client_id || x->req_id != y->req_id ||
        !wc_bytes_eq(x->op, x->op_len, y->op, y->op_len) ||
        x->leader_time_ms != y->leader_time_ms ||
        !wc_bytes_eq(x->batch, x->batch_len, y->batch, y->batch_len) ||
        !wc_bytes_eq(x->req_auth, x->req_auth_len, y->req_auth,
                     y->req_auth_len) ||
        x->active != y->active || x->stable != y->stable ||
        x->commit_upto != y->commit_upto || x->log_from != y->log_from ||
        memcmp(&x->snap, &y->snap, sizeof x->snap) != 0 ||
        x->n_entries != y->n_entries || x->n_entries > ORD_PBFT_ENTRIES_MAX ||
        !wc_pentries_eq(x->entries, y->entries, x->n_entries) ||
        memcmp(x->mac, y->mac, sizeof x->mac) != 0)
        return false;
    if ((x->vc == NULL) != (x->type != ORD_PBFT_VIEW_CHANGE) ||
        (y->vc == NULL) != (x->vc == NULL) ||
        (x->vc && !wc_vc_eq(x->vc, y->vc, true)))
        return false;
    if ((x->nv == NULL) != (x->type != ORD_PBFT_NEW_VIEW) ||
        (y->nv == NULL) != (x->nv == NULL) ||
        (x->nv && !wc_nv_eq(x->nv, y->nv)))
        return false;
    return x->type >= ORD_PBFT_REQUEST && x->type <= ORD_PBFT_MSG__MAX;
}

static bool wc_pentries_inside(const struct ord_pbft_entry *e, uint32_t n,
                               const uint8_t *f, size_t len)
{
    for (uint32_t i = 0; i < n; i++)
        if (!wc_inside(e[i].batch, e[i].batch_len, f, len))
            return false;
    return true;
}

static bool wc_pbft_inside(const struct ord_pbft_msg *m, const uint8_t *f,
                           size_t len)
{
    return wc_inside(m->op, m->op_len, f, len) &&
           wc_inside(m->batch, m->batch_len, f, len) &&
           wc_inside(m->req_auth, m->req_auth_len, f, len) &&
           wc_pentries_inside(m->entries, m->n_entries, f, len) &&
           (!m->vc ||
            wc_pentries_inside(m->vc->bodies, m->vc->n_prepared, f, len)) &&
           (!m->nv ||
            wc_pentries_inside(m->nv->bodies, m->nv->n_chosen, f, len));
}

static int wc_pbft(struct wc_bufs *w, const uint8_t *f, size_t len)
{
    static struct wire_pbft_store s1, s2;
    struct ord_pbft_msg m, m2;
    uint64_t cid, cid2;
    smr_epoch ep, ep2;
    int rc = wire_decode_pbft(f, len, &cid, &ep, &m, &s1);
    if (rc != SMR_OK)
        return wc_valid_rc(rc) ? WC_REJECTED : WC_BROKEN;
    if (!wc_pbft_inside(&m, f, len) ||
        wire_encode_pbft(&w->a, cid, ep, &m) != SMR_OK)
        return WC_BROKEN;
    if (wire_decode_pbft(w->a.data, w->a.len, &cid2, &ep2, &m2, &s2) != 0 ||
        cid != cid2 || ep != ep2 || !wc_pbft_eq(&m, &m2))
        return WC_BROKEN;
    if (wire_encode_pbft(&w->b, cid2, ep2, &m2) != SMR_OK)
        return WC_BROKEN;
    return wc_same_frame(w) ? WC_DECODED : WC_BROKEN;
}

typedef int (*wc_fn)(struct wc_bufs *w, const uint8_t *f, size_t len);

/* Cross-checks wire_peek_type() against the decoders: a frame that some
 * decoder accepts must peek as that decoder's type. */
static int wc_peek(const uint8_t *f, size_t len, int decoded_type)
{
    int type = 0;
    int rc = wire_peek_type(f, len, &type);
    if (rc != SMR_OK && !wc_valid_rc(rc))
        return WC_BROKEN;
    if (decoded_type && (rc != SMR_OK || type != decoded_type))
        return WC_BROKEN;
    return WC_REJECTED;
}

/* Runs `f` through every decoder of `families` (a mask of enum
 * wire_family). Returns WC_DECODED when one decoder accepted it,
 * WC_REJECTED when all refused it cleanly, WC_BROKEN on any bug. */
static int wire_check_frame(const uint8_t *f, size_t len, unsigned families)
{
    static const struct {
        unsigned family;
        int type;
        wc_fn fn;
    } decoders[] = {
        {WIRE_FAMILY_CLIENT, WIRE_REQUEST, wc_request},
        {WIRE_FAMILY_CLIENT, WIRE_REPLY, wc_reply},
        {WIRE_FAMILY_CLIENT, WIRE_STATUS_REQ, wc_status_req},
        {WIRE_FAMILY_CLIENT, WIRE_STATUS, wc_status},
        {WIRE_FAMILY_CLIENT, WIRE_REPLIES, wc_replies},
        {WIRE_FAMILY_PAXOS, WIRE_PAXOS, wc_paxos},
        {WIRE_FAMILY_STREAM, WIRE_COMMITTED, wc_committed},
        {WIRE_FAMILY_STREAM, WIRE_SUBSCRIBE, wc_subscribe},
        {WIRE_FAMILY_STREAM, WIRE_CHECKPOINT, wc_checkpoint},
        {WIRE_FAMILY_STREAM, WIRE_SNAPSHOT_REQUIRED, wc_snapshot},
        {WIRE_FAMILY_PBFT, WIRE_PBFT, wc_pbft},
        {WIRE_FAMILY_PBFT, WIRE_STATE_REQ, wc_state_req},
        {WIRE_FAMILY_PBFT, WIRE_STATE_CHUNK, wc_state_chunk},
    };
    static struct wc_bufs w; /* reused across calls; reachable, not leaked */
    int decoded_type = 0;
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++) {
        if (!(decoders[i].family & families))
            continue;
        int rc = decoders[i].fn(&w, f, len);
        if (rc == WC_BROKEN || (rc == WC_DECODED && decoded_type))
            return WC_BROKEN; /* a bug, or two decoders accepted one frame */
        if (rc == WC_DECODED)
            decoded_type = decoders[i].type;
    }
    if (wc_peek(f, len, decoded_type) == WC_BROKEN)
        return WC_BROKEN;
    return decoded_type ? WC_DECODED : WC_REJECTED;
}

#endif
