/*
 * pbft_record.c: the durable record formats of the PBFT core.
 *
 * Each record ends with a checksum so recovery tells a torn or corrupt
 * record from a good one; recovery treats these bytes as untrusted. All
 * integers little-endian.
 *
 *   slot record (log, at the seq):
 *     u8 version, u8 flags (1 pre-prepare, 2 prepared, 4 P body is the
 *     pre-prepare's, 8 value learned committed by catch-up),
 *     [pre-prepare: u64 view, digest, u64 time, u32 len, batch,
 *                   u32 auth_len, client tags]
 *     [prepared:    u64 view, digest, unless flag 4: u64 time, u32 len, batch]
 *     u8 n_q, n_q x (u64 view, digest)
 *     [catch-up:    digest, u64 time, u32 len, batch]
 *     u32 checksum
 *   view record:  u64 view, u8 active, u32 checksum
 *   reservation:  u64 view, u64 highest seq it may pre-prepare, u32 checksum
 *   commit mark:  u64 seq, digest (chain digest at seq), u64 stable seq,
 *                 its digest, u32 checksum
 *   snapshot claim: u64 seq, chain digest at seq, snapshot digest,
 *                 u64 first log seq held, u32 checksum
 *   new view:     u8 version, u32 from, u64 view, u32 n_vcs, n_vcs x vc,
 *                 cert ckpt, u32 n, n x cert (chosen), sig, n x (u64 seq,
 *                 u64 time, u32 len, batch), u32 checksum; with
 *                 cert = u64 seq, u64 view, digest and
 *                 vc = u32 from, u64 view, u64 stable, u32 n, n x cert (C),
 *                 u32 n, n x cert (P), u32 n, n x cert (Q), sig
 */
#include "pbft_internal.h"

#include <string.h>

#define RECORD_VERSION 1
#define F_PP 1
#define F_P 2
#define F_P_SAME 4
#define F_CU 8

struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

static uint64_t rd_u64(struct rd *r)
{
    const uint8_t *b = rd_take(r, 8);
    return b ? smr_get_u64(b) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
    const uint8_t *b = rd_take(r, 4);
    return b ? smr_get_u32(b) : 0;
}

static uint8_t rd_u8(struct rd *r)
{
    const uint8_t *b = rd_take(r, 1);
    return b ? b[0] : 0;
}

/* A batch: u32 len then bytes, validated. */
static const uint8_t *rd_batch(struct rd *r, uint32_t *len)
{
    *len = rd_u32(r);
    if (*len > SMR_BATCH_BYTES_MAX) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *b = rd_take(r, *len);
    if (b && smr_batch_validate(b, *len) != SMR_OK)
        r->bad = true;
    return b;
}

/* The parsed fields of a slot record, pointing into the record. */
struct rec {
    uint8_t flags;
    uint64_t pp_view, pp_time;
    const uint8_t *pp_digest, *pp_batch, *pp_auth;
    uint32_t pp_len, auth_len;
    uint64_t p_view, p_time;
    const uint8_t *p_digest, *p_batch;
    uint32_t p_len;
    uint32_t n_q;
    const uint8_t *q; /* n_q x (u64, digest) */
    const uint8_t *c_digest, *c_batch;
    uint64_t c_time;
    uint32_t c_len;
};

static int rec_parse(const uint8_t *data, size_t len, struct rec *o)
{
    memset(o, 0, sizeof *o);
    if (len < 2 + 4 || data[0] != RECORD_VERSION)
        return SMR_ECORRUPT;
    size_t body = len - 4;
    if (smr_get_u32(data + body) != smr_checksum32(data, body))
        return SMR_ECORRUPT;
    struct rd r = {data + 1, data + body, false};
    o->flags = rd_u8(&r);
    if (o->flags & ~(F_PP | F_P | F_P_SAME | F_CU))
        return SMR_ECORRUPT;
    if (o->flags & F_PP) {
        o->pp_view = rd_u64(&r);
        o->pp_digest = rd_take(&r, PBFT_D);
        o->pp_time = rd_u64(&r);
        o->pp_batch = rd_batch(&r, &o->pp_len);
        o->auth_len = rd_u32(&r);
        o->pp_auth = rd_take(&r, o->auth_len);
    }
    if (o->flags & F_P) {
        o->p_view = rd_u64(&r);
        o->p_digest = rd_take(&r, PBFT_D);
        if (o->flags & F_P_SAME) {
            if (!(o->flags & F_PP))
                return SMR_ECORRUPT;
            o->p_time = o->pp_time;
            o->p_batch = o->pp_batch;
            o->p_len = o->pp_len;
        } else {
            o->p_time = rd_u64(&r);
            o->p_batch = rd_batch(&r, &o->p_len);
        }
    }
    o->n_q = rd_u8(&r);
    if (o->n_q > ORD_PBFT_Q_MAX)
        return SMR_ECORRUPT;
    o->q = rd_take(&r, (size_t)o->n_q * (8 + PBFT_D));
    if (o->flags & F_CU) {
        o->c_digest = rd_take(&r, PBFT_D);
        o->c_time = rd_u64(&r);
        o->c_batch = rd_batch(&r, &o->c_len);
    }
    if (r.bad || r.p != r.end)
        return SMR_ECORRUPT;
    return SMR_OK;
}

static int put(struct smr_buf *b, const void *data, size_t len)
{
    return len ? smr_buf_append(b, data, len) : SMR_OK;
}

static int put_u64(struct smr_buf *b, uint64_t v)
{
    uint8_t x[8];
    smr_put_u64(x, v);
    return put(b, x, 8);
}

static int put_u32(struct smr_buf *b, uint32_t v)
{
    uint8_t x[4];
    smr_put_u32(x, v);
    return put(b, x, 4);
}

int pbft_slot_encode(const struct pbft_slot *s, struct smr_buf *out)
{
    smr_buf_reset(out);
    bool same =
        s->has_pp && s->has_p && memcmp(s->pp_digest, s->p_digest, PBFT_D) == 0;
    uint8_t head[2] = {RECORD_VERSION,
                       (uint8_t)((s->has_pp ? F_PP : 0) | (s->has_p ? F_P : 0) |
                                 (same ? F_P_SAME : 0) |
                                 (s->cu_value ? F_CU : 0))};
    int rc = put(out, head, 2);
    if (s->has_pp) {
        rc = rc ? rc : put_u64(out, s->pp_view);
        rc = rc ? rc : put(out, s->pp_digest, PBFT_D);
        rc = rc ? rc : put_u64(out, s->pp_time_ms);
        rc = rc ? rc : put_u32(out, (uint32_t)s->pp_batch.len);
        rc = rc ? rc : put(out, s->pp_batch.data, s->pp_batch.len);
        rc = rc ? rc : put_u32(out, (uint32_t)s->pp_auth.len);
        rc = rc ? rc : put(out, s->pp_auth.data, s->pp_auth.len);
    }
    if (s->has_p) {
        rc = rc ? rc : put_u64(out, s->p_view);
        rc = rc ? rc : put(out, s->p_digest, PBFT_D);
        if (!same) {
            rc = rc ? rc : put_u64(out, s->p_time_ms);
            rc = rc ? rc : put_u32(out, (uint32_t)s->p_batch.len);
            rc = rc ? rc : put(out, s->p_batch.data, s->p_batch.len);
        }
    }
    uint8_t nq = (uint8_t)s->n_q;
    rc = rc ? rc : put(out, &nq, 1);
    for (uint32_t i = 0; i < s->n_q; i++) {
        rc = rc ? rc : put_u64(out, s->q[i].view);
        rc = rc ? rc : put(out, s->q[i].digest, PBFT_D);
    }
    if (s->cu_value) {
        rc = rc ? rc : put(out, s->c_digest, PBFT_D);
        rc = rc ? rc : put_u64(out, s->c_time_ms);
        rc = rc ? rc : put_u32(out, (uint32_t)s->c_batch.len);
        rc = rc ? rc : put(out, s->c_batch.data, s->c_batch.len);
    }
    rc = rc ? rc : put_u32(out, smr_checksum32(out->data, out->len));
    return rc;
}

static void set_buf(struct smr_buf *b, const uint8_t *data, uint32_t len)
{
    if (smr_buf_set(b, data, len) != SMR_OK)
        abort(); /* bounded by SMR_BATCH_BYTES_MAX, checked on parse */
}

int pbft_slot_decode(const uint8_t *data, size_t len, struct pbft_slot *s)
{
    struct rec o;
    if (rec_parse(data, len, &o) != SMR_OK)
        return SMR_ECORRUPT;
    s->has_pp = o.flags & F_PP;
    if (s->has_pp) {
        s->pp_view = o.pp_view;
        memcpy(s->pp_digest, o.pp_digest, PBFT_D);
        s->pp_time_ms = o.pp_time;
        set_buf(&s->pp_batch, o.pp_batch, o.pp_len);
        set_buf(&s->pp_auth, o.pp_auth, o.auth_len);
    }
    s->has_p = o.flags & F_P;
    if (s->has_p) {
        s->p_view = o.p_view;
        memcpy(s->p_digest, o.p_digest, PBFT_D);
        s->p_time_ms = o.p_time;
        set_buf(&s->p_batch, o.p_batch, o.p_len);
    }
    s->n_q = o.n_q;
    for (uint32_t i = 0; i < o.n_q; i++) {
        s->q[i].view = smr_get_u64(o.q + i * (8 + PBFT_D));
        memcpy(s->q[i].digest, o.q + i * (8 + PBFT_D) + 8, PBFT_D);
    }
    s->cu_value = o.flags & F_CU;
    if (s->cu_value) {
        s->committed = true;
        memcpy(s->c_digest, o.c_digest, PBFT_D);
        s->c_time_ms = o.c_time;
        set_buf(&s->c_batch, o.c_batch, o.c_len);
    }
    return SMR_OK;
}

int ord_pbft_record_committed(const uint8_t *data, size_t len, smr_seq seq,
                              struct ord_pbft_entry *out)
{
    struct rec o;
    if (rec_parse(data, len, &o) != SMR_OK)
        return SMR_ECORRUPT;
    out->seq = seq;
    if (o.flags & F_CU) {
        out->leader_time_ms = o.c_time;
        out->batch = o.c_batch;
        out->batch_len = o.c_len;
        return SMR_OK;
    }
    if (o.flags & F_P) {
        out->leader_time_ms = o.p_time;
        out->batch = o.p_batch;
        out->batch_len = o.p_len;
        return SMR_OK;
    }
    return SMR_ENOTFOUND;
}

void pbft_view_record_encode(uint8_t out[PBFT_VIEW_RECORD_BYTES], uint64_t view,
                             bool active)
{
    smr_put_u64(out, view);
    out[8] = active ? 1 : 0;
    smr_put_u32(out + 9, smr_checksum32(out, 9));
}

int pbft_view_record_decode(const uint8_t *data, size_t len, uint64_t *view,
                            bool *active)
{
    if (len != PBFT_VIEW_RECORD_BYTES || data[8] > 1 ||
        smr_get_u32(data + 9) != smr_checksum32(data, 9))
        return SMR_ECORRUPT;
    *view = smr_get_u64(data);
    *active = data[8] == 1;
    return SMR_OK;
}

void pbft_reserve_record_encode(uint8_t out[PBFT_RESERVE_RECORD_BYTES],
                                uint64_t view, smr_seq upto)
{
    smr_put_u64(out, view);
    smr_put_u64(out + 8, upto);
    smr_put_u32(out + 16, smr_checksum32(out, 16));
}

int pbft_reserve_record_decode(const uint8_t *data, size_t len, uint64_t *view,
                               smr_seq *upto)
{
    if (len != PBFT_RESERVE_RECORD_BYTES ||
        smr_get_u32(data + 16) != smr_checksum32(data, 16))
        return SMR_ECORRUPT;
    *view = smr_get_u64(data);
    *upto = smr_get_u64(data + 8);
    return SMR_OK;
}

void pbft_mark_record_encode(uint8_t out[PBFT_MARK_RECORD_BYTES], smr_seq seq,
                             const uint8_t digest[PBFT_D], smr_seq stable,
                             const uint8_t stable_digest[PBFT_D])
{
    smr_put_u64(out, seq);
    memcpy(out + 8, digest, PBFT_D);
    smr_put_u64(out + 8 + PBFT_D, stable);
    memcpy(out + 16 + PBFT_D, stable_digest, PBFT_D);
    smr_put_u32(out + 16 + 2 * PBFT_D, smr_checksum32(out, 16 + 2 * PBFT_D));
}

int pbft_mark_record_decode(const uint8_t *data, size_t len, smr_seq *seq,
                            uint8_t digest[PBFT_D], smr_seq *stable,
                            uint8_t stable_digest[PBFT_D])
{
    if (len != PBFT_MARK_RECORD_BYTES ||
        smr_get_u32(data + 16 + 2 * PBFT_D) !=
            smr_checksum32(data, 16 + 2 * PBFT_D))
        return SMR_ECORRUPT;
    *seq = smr_get_u64(data);
    memcpy(digest, data + 8, PBFT_D);
    *stable = smr_get_u64(data + 8 + PBFT_D);
    memcpy(stable_digest, data + 16 + PBFT_D, PBFT_D);
    return SMR_OK;
}

void pbft_snap_record_encode(uint8_t *out, const struct ord_pbft_snap *snap,
                             smr_seq log_from)
{
    smr_put_u64(out, snap->seq);
    memcpy(out + 8, snap->chain, PBFT_D);
    memcpy(out + 8 + PBFT_D, snap->digest, PBFT_D);
    smr_put_u64(out + 8 + 2 * PBFT_D, log_from);
    smr_put_u32(out + 16 + 2 * PBFT_D, smr_checksum32(out, 16 + 2 * PBFT_D));
}

int pbft_snap_record_decode(const uint8_t *data, size_t len,
                            struct ord_pbft_snap *snap, smr_seq *log_from)
{
    if (len != PBFT_SNAP_RECORD_BYTES ||
        smr_get_u32(data + 16 + 2 * PBFT_D) !=
            smr_checksum32(data, 16 + 2 * PBFT_D))
        return SMR_ECORRUPT;
    snap->seq = smr_get_u64(data);
    memcpy(snap->chain, data + 8, PBFT_D);
    memcpy(snap->digest, data + 8 + PBFT_D, PBFT_D);
    *log_from = smr_get_u64(data + 8 + 2 * PBFT_D);
    return *log_from == 0 || *log_from > snap->seq + 1 ? SMR_ECORRUPT
                                                       : SMR_OK;
}

/* ------------------------------------------------------------ new view */

#define NV_VERSION 1
#define CERT_BYTES (16 + PBFT_D)

static int put_cert(struct smr_buf *b, const struct ord_pbft_cert *c)
{
    int rc = put_u64(b, c->seq);
    rc = rc ? rc : put_u64(b, c->view);
    return rc ? rc : put(b, c->digest, PBFT_D);
}

static int put_certs(struct smr_buf *b, const struct ord_pbft_cert *c,
                     uint32_t n)
{
    int rc = put_u32(b, n);
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = put_cert(b, &c[i]);
    return rc;
}

int pbft_nv_encode(const struct ord_pbft_new_view *nv, struct smr_buf *out)
{
    smr_buf_reset(out);
    uint8_t version = NV_VERSION;
    int rc = put(out, &version, 1);
    rc = rc ? rc : put_u32(out, nv->from);
    rc = rc ? rc : put_u64(out, nv->view);
    rc = rc ? rc : put_u32(out, nv->n_vcs);
    for (uint32_t i = 0; i < nv->n_vcs && !rc; i++) {
        const struct ord_pbft_view_change *vc = &nv->vcs[i];
        rc = put_u32(out, vc->from);
        rc = rc ? rc : put_u64(out, vc->view);
        rc = rc ? rc : put_u64(out, vc->stable);
        rc = rc ? rc : put_certs(out, vc->ckpts, vc->n_ckpts);
        rc = rc ? rc : put_certs(out, vc->prepared, vc->n_prepared);
        rc = rc ? rc : put_certs(out, vc->preprepared, vc->n_preprepared);
        rc = rc ? rc : put(out, vc->sig, ORD_PBFT_SIG_BYTES);
    }
    rc = rc ? rc : put_cert(out, &nv->ckpt);
    rc = rc ? rc : put_certs(out, nv->chosen, nv->n_chosen);
    rc = rc ? rc : put(out, nv->sig, ORD_PBFT_SIG_BYTES);
    for (uint32_t i = 0; i < nv->n_chosen && !rc; i++) {
        const struct ord_pbft_entry *e = &nv->bodies[i];
        rc = put_u64(out, e->seq);
        rc = rc ? rc : put_u64(out, e->leader_time_ms);
        rc = rc ? rc : put_u32(out, e->batch_len);
        rc = rc ? rc : put(out, e->batch, e->batch_len);
    }
    return rc ? rc : put_u32(out, smr_checksum32(out->data, out->len));
}

/* Reads a count and that many certs into a fresh array (*out; NULL for
 * none). Refuses counts above `max` or the bytes left. */
static int rd_certs(struct rd *r, uint32_t max, uint32_t *n,
                    struct ord_pbft_cert **out)
{
    *n = rd_u32(r);
    *out = NULL;
    if (r->bad || *n > max || (size_t)(r->end - r->p) / CERT_BYTES < *n)
        return SMR_ECORRUPT;
    if (*n == 0)
        return SMR_OK;
    *out = malloc(*n * sizeof **out);
    if (!*out)
        return SMR_ENOMEM;
    for (uint32_t i = 0; i < *n; i++) {
        (*out)[i].seq = rd_u64(r);
        (*out)[i].view = rd_u64(r);
        memcpy((*out)[i].digest, rd_take(r, PBFT_D), PBFT_D);
    }
    return SMR_OK;
}

int pbft_nv_decode(const uint8_t *data, size_t len,
                   struct ord_pbft_new_view **out)
{
    if (len < 1 + 4 || data[0] != NV_VERSION ||
        smr_get_u32(data + len - 4) != smr_checksum32(data, len - 4))
        return SMR_ECORRUPT;
    struct rd r = {data + 1, data + len - 4, false};
    struct ord_pbft_new_view nv;
    struct ord_pbft_view_change vcs[SMR_NODES_MAX];
    struct ord_pbft_cert *arrays[3 * SMR_NODES_MAX + 1] = {0};
    struct ord_pbft_entry *bodies = NULL;
    uint32_t n_arrays = 0;
    memset(&nv, 0, sizeof nv);
    memset(vcs, 0, sizeof vcs);
    nv.from = rd_u32(&r);
    nv.view = rd_u64(&r);
    nv.n_vcs = rd_u32(&r);
    int rc = r.bad || nv.n_vcs > SMR_NODES_MAX ? SMR_ECORRUPT : SMR_OK;
    for (uint32_t i = 0; i < nv.n_vcs && rc == SMR_OK; i++) {
        struct ord_pbft_view_change *vc = &vcs[i];
        struct ord_pbft_cert **c = &arrays[n_arrays];
        vc->from = rd_u32(&r);
        vc->view = rd_u64(&r);
        vc->stable = rd_u64(&r);
        rc = rd_certs(&r, ORD_PBFT_CKPTS_MAX, &vc->n_ckpts, &c[0]);
        rc = rc ? rc : rd_certs(&r, PBFT_CAP, &vc->n_prepared, &c[1]);
        rc = rc ? rc
                : rd_certs(&r, PBFT_CAP * ORD_PBFT_Q_MAX, &vc->n_preprepared,
                           &c[2]);
        n_arrays += 3;
        vc->ckpts = c[0];
        vc->prepared = c[1];
        vc->preprepared = c[2];
        const uint8_t *sig = rd_take(&r, ORD_PBFT_SIG_BYTES);
        if (sig)
            memcpy(vc->sig, sig, ORD_PBFT_SIG_BYTES);
    }
    nv.vcs = vcs;
    if (rc == SMR_OK) {
        nv.ckpt.seq = rd_u64(&r);
        nv.ckpt.view = rd_u64(&r);
        const uint8_t *d = rd_take(&r, PBFT_D);
        if (d)
            memcpy(nv.ckpt.digest, d, PBFT_D);
        struct ord_pbft_cert *chosen = NULL;
        rc = rd_certs(&r, PBFT_CAP, &nv.n_chosen, &chosen);
        arrays[n_arrays++] = chosen;
        nv.chosen = chosen;
    }
    const uint8_t *sig = rc == SMR_OK ? rd_take(&r, ORD_PBFT_SIG_BYTES) : NULL;
    if (sig)
        memcpy(nv.sig, sig, ORD_PBFT_SIG_BYTES);
    if (rc == SMR_OK && nv.n_chosen) {
        bodies = calloc(nv.n_chosen, sizeof *bodies);
        rc = bodies ? SMR_OK : SMR_ENOMEM;
    }
    for (uint32_t i = 0; i < nv.n_chosen && rc == SMR_OK; i++) {
        bodies[i].seq = rd_u64(&r);
        bodies[i].leader_time_ms = rd_u64(&r);
        bodies[i].batch = rd_batch(&r, &bodies[i].batch_len);
    }
    nv.bodies = bodies;
    if (rc == SMR_OK && (r.bad || r.p != r.end))
        rc = SMR_ECORRUPT;
    if (rc == SMR_OK) {
        *out = pbft_nv_dup(&nv);
        rc = *out ? SMR_OK : SMR_ENOMEM;
    }
    for (uint32_t i = 0; i < n_arrays; i++)
        free(arrays[i]);
    free(bodies);
    return rc;
}
