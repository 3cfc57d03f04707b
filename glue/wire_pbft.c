/*
 * wire_pbft.c: encoder and strict decoder of the PBFT frame (wire_pbft.h;
 * docs/pbft.md "Frames").
 *
 * Same approach as wire.c: msgpack-c's packer writes, through a callback
 * that keeps the first error, into an smr_buf; the strict reader of
 * wire_reader.h reads, checking every type, length and bound before it
 * consumes anything, and msgpack-c's unpacker never sees the bytes. The
 * decoder builds the message in locals and in the caller's store and
 * copies it out only when the whole frame is valid.
 *
 * Body schemas, by ord_pbft_msg_type (cert = [seq, view, digest], entry =
 * [seq, leader_time_ms, batch], vc = from, view, stable, [cert...] C,
 * [cert...] P, [cert...] Q, sig):
 *   REQUEST               [client_id, req_id, op, proof] (proof: empty, or
 *                         ORD_PBFT_PROOF_BYTES for a signed request)
 *   PRE_PREPARE           [digest, leader_time_ms, batch, req_auth]
 *   PREPARE, COMMIT,
 *   CHECKPOINT            [digest]
 *   VIEW_CHANGE           [vc..., [entry...] bodies]
 *   NEW_VIEW              [from, view, [[vc...]...] vcs, cert ckpt,
 *                          [cert...] chosen, sig, [entry...] bodies]
 *   STATUS                [active, stable, commit_upto, log_from, snap_seq,
 *                          snap_chain, snap_digest]
 *   CATCHUP               [[entry...] entries]
 */
#include "wire_pbft.h"

#include <assert.h>
#include <msgpack.h>
#include <string.h>

#include "wire_enc.h"
#include "wire_reader.h"

#define PBFT_FRAME_FIELDS 10 /* version, type and 8 more (wire.c agrees) */
#define CERT_FIELDS 3
#define ENTRY_FIELDS 3
#define VC_FIELDS 7 /* without bodies */
#define NV_FIELDS 7
#define VC_CERTS_P_MAX ORD_PBFT_CAP
#define VC_CERTS_Q_MAX (ORD_PBFT_CAP * ORD_PBFT_Q_MAX)

/* Body fields per message type. */
static const uint32_t body_fields[ORD_PBFT_MSG__MAX + 1] = {
    [ORD_PBFT_REQUEST] = 4,          [ORD_PBFT_PRE_PREPARE] = 4,
    [ORD_PBFT_PREPARE] = 1,          [ORD_PBFT_COMMIT] = 1,
    [ORD_PBFT_CHECKPOINT] = 1,       [ORD_PBFT_VIEW_CHANGE] = VC_FIELDS + 1,
    [ORD_PBFT_NEW_VIEW] = NV_FIELDS, [ORD_PBFT_STATUS] = 7,
    [ORD_PBFT_CATCHUP] = 1,
};

#define TRY(expr)                                                              \
    do {                                                                       \
        int try_rc_ = (expr);                                                  \
        if (try_rc_)                                                           \
            return try_rc_;                                                    \
    } while (0)

/* ---- Encoding ---------------------------------------------------------- */

static void enc_cert(struct enc *e, const struct ord_pbft_cert *c)
{
    enc_array(e, CERT_FIELDS);
    enc_u64(e, c->seq);
    enc_u64(e, c->view);
    enc_bin(e, c->digest, SMR_DIGEST_BYTES);
}

static void enc_certs(struct enc *e, const struct ord_pbft_cert *c, uint32_t n)
{
    assert(c || n == 0);
    enc_array(e, n);
    for (uint32_t i = 0; i < n; i++)
        enc_cert(e, &c[i]);
}

static void enc_entries(struct enc *e, const struct ord_pbft_entry *en,
                        uint32_t n)
{
    assert(en || n == 0);
    enc_array(e, n);
    for (uint32_t i = 0; i < n; i++) {
        enc_array(e, ENTRY_FIELDS);
        enc_u64(e, en[i].seq);
        enc_u64(e, en[i].leader_time_ms);
        enc_bin(e, en[i].batch, en[i].batch_len);
    }
}

/* The signed fields of a view change (all but its bodies). */
static void enc_vc_fields(struct enc *e, const struct ord_pbft_view_change *vc)
{
    enc_u64(e, vc->from);
    enc_u64(e, vc->view);
    enc_u64(e, vc->stable);
    enc_certs(e, vc->ckpts, vc->n_ckpts);
    enc_certs(e, vc->prepared, vc->n_prepared);
    enc_certs(e, vc->preprepared, vc->n_preprepared);
    enc_bin(e, vc->sig, ORD_PBFT_SIG_BYTES);
}

static void enc_body(struct enc *e, const struct ord_pbft_msg *m)
{
    enc_array(e, body_fields[m->type]);
    switch (m->type) {
    case ORD_PBFT_REQUEST:
        enc_u64(e, m->client_id);
        enc_u64(e, m->req_id);
        enc_bin(e, m->op, m->op_len);
        enc_bin(e, m->proof, m->proof ? ORD_PBFT_PROOF_BYTES : 0);
        break;
    case ORD_PBFT_PRE_PREPARE:
        enc_bin(e, m->digest, SMR_DIGEST_BYTES);
        enc_u64(e, m->leader_time_ms);
        enc_bin(e, m->batch, m->batch_len);
        enc_bin(e, m->req_auth, m->req_auth_len);
        break;
    case ORD_PBFT_PREPARE:
    case ORD_PBFT_COMMIT:
    case ORD_PBFT_CHECKPOINT:
        enc_bin(e, m->digest, SMR_DIGEST_BYTES);
        break;
    case ORD_PBFT_VIEW_CHANGE:
        enc_vc_fields(e, m->vc);
        enc_entries(e, m->vc->bodies, m->vc->n_prepared);
        break;
    case ORD_PBFT_NEW_VIEW:
        enc_u64(e, m->nv->from);
        enc_u64(e, m->nv->view);
        enc_array(e, m->nv->n_vcs);
        for (uint32_t i = 0; i < m->nv->n_vcs; i++) {
            enc_array(e, VC_FIELDS);
            enc_vc_fields(e, &m->nv->vcs[i]);
        }
        enc_cert(e, &m->nv->ckpt);
        enc_certs(e, m->nv->chosen, m->nv->n_chosen);
        enc_bin(e, m->nv->sig, ORD_PBFT_SIG_BYTES);
        enc_entries(e, m->nv->bodies, m->nv->n_chosen);
        break;
    case ORD_PBFT_STATUS:
        (void)(m->active ? msgpack_pack_true(&e->pk)
                         : msgpack_pack_false(&e->pk));
        enc_u64(e, m->stable);
        enc_u64(e, m->commit_upto);
        enc_u64(e, m->log_from);
        enc_u64(e, m->snap.seq);
        enc_bin(e, m->snap.chain, SMR_DIGEST_BYTES);
        enc_bin(e, m->snap.digest, SMR_DIGEST_BYTES);
        break;
    case ORD_PBFT_CATCHUP:
        enc_entries(e, m->entries, m->n_entries);
        break;
    }
}

/* Tags up to the last non-zero one. */
static uint32_t mac_count(const struct ord_pbft_msg *m)
{
    static const uint8_t zero[ORD_PBFT_MAC_BYTES];
    uint32_t k = SMR_NODES_MAX;
    while (k > 0 && memcmp(m->mac[k - 1], zero, ORD_PBFT_MAC_BYTES) == 0)
        k--;
    return k;
}

static int entries_check(const struct ord_pbft_entry *en, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (en[i].batch_len > SMR_BATCH_BYTES_MAX)
            return SMR_ETOOBIG;
    return SMR_OK;
}

static int vc_check(const struct ord_pbft_view_change *vc)
{
    if (vc->n_ckpts > ORD_PBFT_CKPTS_MAX || vc->n_prepared > VC_CERTS_P_MAX ||
        vc->n_preprepared > VC_CERTS_Q_MAX)
        return SMR_ETOOBIG;
    return SMR_OK;
}

/* The decoder's bounds, so that whatever encodes also decodes. */
static int check_bounds(const struct ord_pbft_msg *m)
{
    switch (m->type) {
    case ORD_PBFT_REQUEST:
        return m->op_len > SMR_OP_BYTES_MAX ? SMR_ETOOBIG : SMR_OK;
    case ORD_PBFT_PRE_PREPARE:
        return m->batch_len > SMR_BATCH_BYTES_MAX ? SMR_ETOOBIG : SMR_OK;
    case ORD_PBFT_CATCHUP:
        if (m->n_entries > ORD_PBFT_ENTRIES_MAX)
            return SMR_ETOOBIG;
        return entries_check(m->entries, m->n_entries);
    case ORD_PBFT_VIEW_CHANGE:
        assert(m->vc);
        TRY(vc_check(m->vc));
        if (m->vc->n_prepared && !m->vc->bodies)
            return SMR_EINVAL;
        return entries_check(m->vc->bodies, m->vc->n_prepared);
    case ORD_PBFT_NEW_VIEW:
        assert(m->nv && (m->nv->vcs || m->nv->n_vcs == 0));
        if (m->nv->n_vcs > SMR_NODES_MAX || m->nv->n_chosen > ORD_PBFT_CAP)
            return SMR_ETOOBIG;
        for (uint32_t i = 0; i < m->nv->n_vcs; i++)
            TRY(vc_check(&m->nv->vcs[i]));
        return entries_check(m->nv->bodies, m->nv->n_chosen);
    default:
        return SMR_OK;
    }
}

int wire_encode_pbft(struct smr_buf *out, uint64_t cluster_id, smr_epoch epoch,
                     const struct ord_pbft_msg *m)
{
    assert(m->type >= ORD_PBFT_REQUEST && m->type <= ORD_PBFT_MSG__MAX);
    struct enc e;
    enc_init(&e, out);
    int rc = check_bounds(m);
    if (rc)
        return rc;
    enc_array(&e, PBFT_FRAME_FIELDS);
    enc_u64(&e, WIRE_VERSION);
    enc_u64(&e, WIRE_PBFT);
    enc_u64(&e, cluster_id);
    enc_u64(&e, epoch);
    enc_u64(&e, (uint64_t)m->type);
    enc_u64(&e, m->from);
    enc_u64(&e, m->view);
    enc_u64(&e, m->seq);
    enc_body(&e, m);
    enc_bin(&e, m->mac[0], (size_t)mac_count(m) * ORD_PBFT_MAC_BYTES);
    return enc_end(&e);
}

/* ---- Decoding ---------------------------------------------------------- */

/* Where the next arrays go in the caller's store. */
struct dec {
    struct wire_reader r;
    struct wire_pbft_store *st;
    uint32_t n_certs;   /* used in st->certs */
    uint32_t n_entries; /* used in st->entries */
};

/* Room left in the store (the bounds above never exhaust it). */
#define ROOM(d, arr, used) (sizeof(d)->st->arr / sizeof(d)->st->arr[0] - (used))

/* `[version, WIRE_PBFT,` with wire.c's checks in wire.c's order. */
static int dec_header(struct wire_reader *r, const uint8_t *f, size_t len)
{
    uint32_t n_fields;
    uint64_t version, type;
    if (len > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    wire_reader_init(r, f, len);
    TRY(wire_read_array(r, UINT32_MAX, &n_fields));
    if (n_fields < 2)
        return SMR_EMALFORMED;
    TRY(wire_read_u64(r, &version));
    if (version != WIRE_VERSION)
        return SMR_EVERSION;
    TRY(wire_read_u64(r, &type));
    if (type != WIRE_PBFT)
        return SMR_ETYPE;
    return n_fields == PBFT_FRAME_FIELDS ? SMR_OK : SMR_EMALFORMED;
}

/* A bin of exactly `n` bytes, copied into `out`. */
static int dec_batch(struct wire_reader *r, const uint8_t **batch,
                     uint32_t *len)
{
    TRY(wire_read_bin(r, SMR_BATCH_BYTES_MAX, batch, len));
    return smr_batch_validate(*batch, *len) ? SMR_EMALFORMED : SMR_OK;
}

static int dec_cert(struct wire_reader *r, struct ord_pbft_cert *c)
{
    TRY(wire_read_array_exact(r, CERT_FIELDS));
    TRY(wire_read_u64(r, &c->seq));
    TRY(wire_read_u64(r, &c->view));
    return wire_read_fixed(r, c->digest, SMR_DIGEST_BYTES);
}

/* An array of at most `max` certificates, into the store. */
static int dec_certs(struct dec *d, uint32_t max,
                     const struct ord_pbft_cert **out, uint32_t *n)
{
    TRY(wire_read_array(&d->r, max, n));
    if (*n > ROOM(d, certs, d->n_certs))
        return SMR_ETOOBIG; /* unreachable with the bounds above */
    struct ord_pbft_cert *c = &d->st->certs[d->n_certs];
    for (uint32_t i = 0; i < *n; i++)
        TRY(dec_cert(&d->r, &c[i]));
    d->n_certs += *n;
    *out = c;
    return SMR_OK;
}

/* An array of exactly `want` entries (any count up to `max` when `want`
 * is UINT32_MAX), into the store. */
static int dec_entries(struct dec *d, uint32_t max, uint32_t want,
                       const struct ord_pbft_entry **out, uint32_t *n)
{
    TRY(wire_read_array(&d->r, max, n));
    if (want != UINT32_MAX && *n != want)
        return SMR_EMALFORMED;
    if (*n > ROOM(d, entries, d->n_entries))
        return SMR_ETOOBIG; /* unreachable with the bounds above */
    struct ord_pbft_entry *en = &d->st->entries[d->n_entries];
    for (uint32_t i = 0; i < *n; i++) {
        TRY(wire_read_array_exact(&d->r, ENTRY_FIELDS));
        TRY(wire_read_u64(&d->r, &en[i].seq));
        TRY(wire_read_u64(&d->r, &en[i].leader_time_ms));
        TRY(dec_batch(&d->r, &en[i].batch, &en[i].batch_len));
    }
    d->n_entries += *n;
    *out = en;
    return SMR_OK;
}

static int dec_vc_fields(struct dec *d, struct ord_pbft_view_change *vc)
{
    memset(vc, 0, sizeof *vc);
    TRY(wire_read_u32(&d->r, &vc->from));
    TRY(wire_read_u64(&d->r, &vc->view));
    TRY(wire_read_u64(&d->r, &vc->stable));
    TRY(dec_certs(d, ORD_PBFT_CKPTS_MAX, &vc->ckpts, &vc->n_ckpts));
    TRY(dec_certs(d, VC_CERTS_P_MAX, &vc->prepared, &vc->n_prepared));
    TRY(dec_certs(d, VC_CERTS_Q_MAX, &vc->preprepared, &vc->n_preprepared));
    return wire_read_fixed(&d->r, vc->sig, ORD_PBFT_SIG_BYTES);
}

static int dec_view_change(struct dec *d, struct ord_pbft_msg *m)
{
    struct ord_pbft_view_change *vc = &d->st->vcs[0];
    uint32_t n;
    TRY(dec_vc_fields(d, vc));
    TRY(dec_entries(d, VC_CERTS_P_MAX, vc->n_prepared, &vc->bodies, &n));
    m->vc = vc;
    return SMR_OK;
}

static int dec_new_view(struct dec *d, struct ord_pbft_msg *m)
{
    struct ord_pbft_new_view *nv = &d->st->nv;
    uint32_t n;
    memset(nv, 0, sizeof *nv);
    TRY(wire_read_u32(&d->r, &nv->from));
    TRY(wire_read_u64(&d->r, &nv->view));
    TRY(wire_read_array(&d->r, SMR_NODES_MAX, &nv->n_vcs));
    for (uint32_t i = 0; i < nv->n_vcs; i++) {
        TRY(wire_read_array_exact(&d->r, VC_FIELDS));
        TRY(dec_vc_fields(d, &d->st->vcs[i]));
    }
    nv->vcs = d->st->vcs;
    TRY(dec_cert(&d->r, &nv->ckpt));
    TRY(dec_certs(d, ORD_PBFT_CAP, &nv->chosen, &nv->n_chosen));
    TRY(wire_read_fixed(&d->r, nv->sig, ORD_PBFT_SIG_BYTES));
    TRY(dec_entries(d, ORD_PBFT_CAP, nv->n_chosen, &nv->bodies, &n));
    m->nv = nv;
    return SMR_OK;
}

/* Request authentication: per request of the batch at most SMR_NODES_MAX
 * tags and one proof entry (the core checks the layout against its n). */
static int dec_req_auth(struct wire_reader *r, struct ord_pbft_msg *m)
{
    uint64_t max = (uint64_t)smr_batch_count(m->batch, m->batch_len) *
                   (SMR_NODES_MAX * ORD_PBFT_MAC_BYTES +
                    ORD_PBFT_PROOF_ENTRY_BYTES);
    return wire_read_bin(r, max > UINT32_MAX ? UINT32_MAX : (uint32_t)max,
                         &m->req_auth, &m->req_auth_len);
}

static int dec_proof(struct wire_reader *r, struct ord_pbft_msg *m)
{
    const uint8_t *proof;
    uint32_t len;
    TRY(wire_read_bin(r, ORD_PBFT_PROOF_BYTES, &proof, &len));
    if (len != 0 && len != ORD_PBFT_PROOF_BYTES)
        return SMR_EMALFORMED;
    m->proof = len ? proof : NULL;
    return SMR_OK;
}

static int dec_body(struct dec *d, struct ord_pbft_msg *m)
{
    struct wire_reader *r = &d->r;
    TRY(wire_read_array_exact(r, body_fields[m->type]));
    switch (m->type) {
    case ORD_PBFT_REQUEST:
        TRY(wire_read_u64(r, &m->client_id));
        TRY(wire_read_u64(r, &m->req_id));
        TRY(wire_read_bin(r, SMR_OP_BYTES_MAX, &m->op, &m->op_len));
        return dec_proof(r, m);
    case ORD_PBFT_PRE_PREPARE:
        TRY(wire_read_fixed(r, m->digest, SMR_DIGEST_BYTES));
        TRY(wire_read_u64(r, &m->leader_time_ms));
        TRY(dec_batch(r, &m->batch, &m->batch_len));
        return dec_req_auth(r, m);
    case ORD_PBFT_PREPARE:
    case ORD_PBFT_COMMIT:
    case ORD_PBFT_CHECKPOINT:
        return wire_read_fixed(r, m->digest, SMR_DIGEST_BYTES);
    case ORD_PBFT_VIEW_CHANGE:
        return dec_view_change(d, m);
    case ORD_PBFT_NEW_VIEW:
        return dec_new_view(d, m);
    case ORD_PBFT_STATUS:
        TRY(wire_read_bool(r, &m->active));
        TRY(wire_read_u64(r, &m->stable));
        TRY(wire_read_u64(r, &m->commit_upto));
        TRY(wire_read_u64(r, &m->log_from));
        TRY(wire_read_u64(r, &m->snap.seq));
        TRY(wire_read_fixed(r, m->snap.chain, SMR_DIGEST_BYTES));
        return wire_read_fixed(r, m->snap.digest, SMR_DIGEST_BYTES);
    case ORD_PBFT_CATCHUP:
        return dec_entries(d, ORD_PBFT_ENTRIES_MAX, UINT32_MAX, &m->entries,
                           &m->n_entries);
    }
    return SMR_EMALFORMED; /* not reached: the type was range-checked */
}

static int dec_macs(struct wire_reader *r, struct ord_pbft_msg *m)
{
    const uint8_t *tags;
    uint32_t len;
    TRY(wire_read_bin(r, SMR_NODES_MAX * ORD_PBFT_MAC_BYTES, &tags, &len));
    if (len % ORD_PBFT_MAC_BYTES != 0)
        return SMR_EMALFORMED;
    if (len)
        memcpy(m->mac, tags, len); /* the rest stays zero */
    return SMR_OK;
}

int wire_decode_pbft(const uint8_t *f, size_t len, uint64_t *cluster_id,
                     smr_epoch *epoch, struct ord_pbft_msg *out,
                     struct wire_pbft_store *store)
{
    struct dec d = {.st = store};
    struct ord_pbft_msg m;
    uint64_t cid, ep, type;
    memset(&m, 0, sizeof m);
    TRY(dec_header(&d.r, f, len));
    TRY(wire_read_u64(&d.r, &cid));
    TRY(wire_read_u64(&d.r, &ep));
    TRY(wire_read_uint(&d.r, ORD_PBFT_MSG__MAX, &type));
    if (type < ORD_PBFT_REQUEST)
        return SMR_EMALFORMED;
    m.type = (enum ord_pbft_msg_type)type;
    TRY(wire_read_u32(&d.r, &m.from));
    TRY(wire_read_u64(&d.r, &m.view));
    TRY(wire_read_u64(&d.r, &m.seq));
    TRY(dec_body(&d, &m));
    TRY(dec_macs(&d.r, &m));
    TRY(wire_read_end(&d.r));
    *cluster_id = cid;
    *epoch = ep;
    *out = m;
    return SMR_OK;
}
