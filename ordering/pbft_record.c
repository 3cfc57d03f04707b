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
 *   commit mark:  u64 seq, digest (chain digest at seq), u64 stable seq,
 *                 its digest, u32 checksum
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
