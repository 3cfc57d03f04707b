/*
 * wire_samples.h: a fixed set of valid frames of every wire type, with edge
 * values (0, UINT64_MAX, every msgpack integer width, empty and non-empty
 * bins, no-op batches, ORD_PAXOS_ENTRIES_MAX entries; every PBFT message
 * type, with full MAC vectors, ORD_PBFT_ENTRIES_MAX catch-up entries,
 * ORD_PBFT_CKPTS_MAX checkpoints and a NEW-VIEW of several view changes).
 *
 * Used by tests/unit/test_wire.c (truncation and byte-flip sweeps) and by
 * tests/fuzz/gen_corpus.c (the seed corpus). Header-only so both can include
 * it without a shared library. Frames are kept small (a few KiB at most) so
 * that seeds do not raise libFuzzer's default max_len much.
 */
#ifndef STRATA_TESTS_WIRE_SAMPLES_H
#define STRATA_TESTS_WIRE_SAMPLES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_pbft.h"

#define WIRE_SAMPLES_MAX 96

struct wire_sample {
    char name[48];
    int type;
    struct smr_buf frame; /* owned */
};

struct wire_samples {
    struct wire_sample s[WIRE_SAMPLES_MAX];
    size_t n;
    struct smr_buf batch[3]; /* 0: no-op, 1: three requests, 2: one */
};

/* Values that hit every msgpack unsigned encoding boundary. */
static const uint64_t ws_values[] = {
    0,          1,     127,   128,        255,
    256,        65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
    UINT64_MAX,
};
#define WS_NVALUES (sizeof ws_values / sizeof ws_values[0])

static uint64_t ws_v(unsigned i)
{
    return ws_values[i % WS_NVALUES];
}

static uint32_t ws_v32(unsigned i)
{
    uint64_t v = ws_v(i);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void ws_die(const char *what, int rc)
{
    fprintf(stderr, "wire_samples: %s: %s\n", what, smr_strerror(rc));
    abort();
}

/* Takes the frame just encoded into the next slot. */
static struct smr_buf *ws_next(struct wire_samples *w)
{
    if (w->n == WIRE_SAMPLES_MAX)
        ws_die("too many samples", SMR_EFULL);
    struct wire_sample *s = &w->s[w->n];
    smr_buf_init(&s->frame);
    return &s->frame;
}

static void ws_done(struct wire_samples *w, int rc, int type, const char *name,
                    unsigned variant)
{
    if (rc)
        ws_die(name, rc);
    struct wire_sample *s = &w->s[w->n++];
    s->type = type;
    snprintf(s->name, sizeof s->name, "valid_%s_%u", name, variant);
}

static void ws_batches(struct wire_samples *w)
{
    static const char op[] = "put key-0001 value-0001";
    struct smr_request r = {.client_id = 7, .op = (const uint8_t *)op};
    for (int i = 0; i < 3; i++)
        smr_buf_init(&w->batch[i]);
    /* batch[0] stays empty: the no-op batch. */
    if (smr_batch_begin(&w->batch[1]) || smr_batch_begin(&w->batch[2]))
        ws_die("batch", SMR_ENOMEM);
    for (uint32_t i = 0; i < 3; i++) {
        r.req_id = i + 1;
        r.op_len = i == 0 ? 0 : (uint32_t)(sizeof op - 1);
        if (smr_batch_add(&w->batch[1], &r))
            ws_die("batch", SMR_ENOMEM);
    }
    r.client_id = UINT64_MAX;
    r.req_id = UINT64_MAX;
    if (smr_batch_add(&w->batch[2], &r))
        ws_die("batch", SMR_ENOMEM);
}

static void ws_client(struct wire_samples *w)
{
    static uint8_t bytes[300];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 37);
    static const uint32_t lens[] = {0, 1, 150, 300};
    for (unsigned i = 0; i < 4; i++) {
        struct smr_request q = {ws_v(i * 3), ws_v(i * 3 + 10), bytes, lens[i]};
        ws_done(w, wire_encode_request(ws_next(w), &q), WIRE_REQUEST, "request",
                i);
    }
    for (unsigned i = 0; i <= WIRE_REPLY__MAX; i++) {
        struct wire_reply p = {ws_v(i),
                               ws_v(i + 4),
                               ws_v(i * 2 + 9),
                               (enum wire_reply_status)i,
                               i == 1 ? WIRE_LEADER_UNKNOWN : ws_v32(i),
                               bytes,
                               lens[i % 4],
                               i % 2 == 1,
                               {0}};
        memset(p.tag, 0x40 + (int)i, sizeof p.tag); /* sent when has_tag */
        ws_done(w, wire_encode_reply(ws_next(w), &p), WIRE_REPLY, "reply", i);
    }
    /* REPLIES of 0, 1 and 4 REPLY frames (the fourth with a 300-byte
     * result, so a bin 16). */
    static const unsigned counts[] = {0, 1, 4};
    for (unsigned i = 0; i < 3; i++) {
        struct smr_buf one, *f = ws_next(w);
        smr_buf_init(&one);
        int rc = wire_replies_start(f);
        for (unsigned k = 0; rc == SMR_OK && k < counts[i]; k++) {
            struct wire_reply p = {ws_v(k), ws_v(k + 1), ws_v(k + 2),
                                   WIRE_REPLY_OK, ws_v32(k), bytes,
                                   lens[k % 4], k % 2 == 0, {0}};
            memset(p.tag, 0x60 + (int)k, sizeof p.tag);
            rc = wire_encode_reply(&one, &p);
            if (rc == SMR_OK)
                rc = wire_replies_add(f, one.data, one.len);
        }
        smr_buf_free(&one);
        ws_done(w, rc, WIRE_REPLIES, "replies", i);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct wire_status_req q = {i ? UINT64_MAX : 0};
        ws_done(w, wire_encode_status_req(ws_next(w), &q), WIRE_STATUS_REQ,
                "status_req", i);
    }
    for (unsigned i = 0; i < 3; i++) {
        struct wire_status s = {
            ws_v(i * 5), ws_v32(i),
            i == 1,      i ? ws_v32(i * 4) : WIRE_LEADER_UNKNOWN,
            ws_v(i + 1), ws_v(i + 2),
            ws_v(i + 3), ws_v(i + 4),
            ws_v(i + 5), ws_v(i * 7),
            ws_v(i + 6), ws_v(i * 3),
            ws_v(i + 8), ws_v(i * 9)};
        ws_done(w, wire_encode_status(ws_next(w), &s), WIRE_STATUS, "status",
                i);
    }
}

/* One PAXOS frame of type `type` with `n` entries cycling the batches. */
static void ws_paxos_one(struct wire_samples *w, enum ord_paxos_msg_type type,
                         uint32_t n, unsigned variant)
{
    static struct ord_paxos_entry e[ORD_PAXOS_ENTRIES_MAX];
    for (uint32_t i = 0; i < n; i++) {
        const struct smr_buf *b = &w->batch[(i + variant) % 3];
        e[i] = (struct ord_paxos_entry){.slot = ws_v(variant + i),
                                        .ballot = ws_v(variant + 2 * i),
                                        .epoch = ws_v(variant),
                                        .leader_time_ms = ws_v(variant + i + 5),
                                        .batch = b->data,
                                        .batch_len = (uint32_t)b->len};
    }
    struct ord_paxos_msg m = {.type = type,
                              .from = ws_v32(variant),
                              .ballot = ws_v(variant + 3),
                              .slot = ws_v(variant + 1),
                              .slot_count = ws_v32(variant + 2),
                              .commit_upto = ws_v(variant + 4),
                              .more = variant % 2,
                              .n_entries = n,
                              .entries = e};
    int rc =
        wire_encode_paxos(ws_next(w), ws_v(variant + 6), ws_v(variant + 7), &m);
    ws_done(w, rc, WIRE_PAXOS, "paxos", variant);
}

static void ws_paxos(struct wire_samples *w)
{
    unsigned v = 0;
    for (int t = ORD_PAXOS_PREPARE; t <= ORD_PAXOS_MSG__MAX; t++) {
        bool has_entries = t == ORD_PAXOS_PROMISE || t == ORD_PAXOS_ACCEPT ||
                           t == ORD_PAXOS_CATCHUP;
        ws_paxos_one(w, (enum ord_paxos_msg_type)t, has_entries ? 3 : 0, v++);
    }
    ws_paxos_one(w, ORD_PAXOS_ACCEPT, 1, v++);
    ws_paxos_one(w, ORD_PAXOS_PROMISE, 16, v++);
    ws_paxos_one(w, ORD_PAXOS_CATCHUP, ORD_PAXOS_ENTRIES_MAX, v++);
    ws_paxos_one(w, ORD_PAXOS_ACCEPT, ORD_PAXOS_ENTRIES_MAX, v++);
}

static void ws_stream(struct wire_samples *w)
{
    for (unsigned i = 0; i < 4; i++) {
        const struct smr_buf *b = &w->batch[i % 3];
        struct smr_committed c = {ws_v(i * 3), ws_v(i + 1), ws_v(i * 2 + 5),
                                  b->data, (uint32_t)b->len};
        ws_done(w, wire_encode_committed(ws_next(w), &c), WIRE_COMMITTED,
                "committed", i);
    }
    for (unsigned i = 0; i < 3; i++) {
        struct wire_subscribe s = {ws_v(i * 4), ws_v(i * 3 + 1),
                                   ws_v32(i * 5 + 2)};
        ws_done(w, wire_encode_subscribe(ws_next(w), &s), WIRE_SUBSCRIBE,
                "subscribe", i);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct wire_checkpoint c = {.seq = ws_v(i * 6 + 2)};
        if (i)
            smr_hash(c.digest, "state", 5);
        ws_done(w, wire_encode_checkpoint(ws_next(w), &c), WIRE_CHECKPOINT,
                "checkpoint", i);
    }
    for (unsigned i = 0; i < 3; i++) {
        struct wire_snapshot_required s = {ws_v(i * 5)};
        ws_done(w, wire_encode_snapshot_required(ws_next(w), &s),
                WIRE_SNAPSHOT_REQUIRED, "snapshot_required", i);
    }
}

/* Fills `n` PBFT certificates with edge values. */
static void ws_certs(struct ord_pbft_cert *c, uint32_t n, unsigned variant)
{
    for (uint32_t i = 0; i < n; i++) {
        c[i].seq = ws_v(variant + i);
        c[i].view = ws_v(variant + 2 * i + 1);
        for (unsigned b = 0; b < SMR_DIGEST_BYTES; b++)
            c[i].digest[b] = (uint8_t)(variant * 31 + i * 7 + b);
    }
}

static void ws_pbft_entries(struct wire_samples *w, struct ord_pbft_entry *e,
                            uint32_t n, unsigned variant)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct smr_buf *b = &w->batch[(i + variant) % 3];
        e[i] = (struct ord_pbft_entry){ws_v(variant + i), ws_v(variant + i + 3),
                                       b->data, (uint32_t)b->len};
    }
}

/* A view change with `nc` checkpoints, `np` prepared, `nq` pre-prepared. */
static void ws_vc(struct wire_samples *w, struct ord_pbft_view_change *vc,
                  struct ord_pbft_cert *certs, struct ord_pbft_entry *bodies,
                  uint32_t nc, uint32_t np, uint32_t nq, unsigned variant)
{
    ws_certs(certs, nc + np + nq, variant);
    if (bodies)
        ws_pbft_entries(w, bodies, np, variant);
    *vc = (struct ord_pbft_view_change){.from = ws_v32(variant),
                                        .view = ws_v(variant + 1),
                                        .stable = ws_v(variant + 2),
                                        .n_ckpts = nc,
                                        .ckpts = certs,
                                        .n_prepared = np,
                                        .prepared = certs + nc,
                                        .n_preprepared = nq,
                                        .preprepared = certs + nc + np,
                                        .bodies = bodies};
    for (unsigned b = 0; b < ORD_PBFT_SIG_BYTES; b++)
        vc->sig[b] = (uint8_t)(variant + b * 3);
}

/* The common fields of a PBFT message, and `n_macs` non-zero tags. */
static struct ord_pbft_msg ws_pbft_msg(enum ord_pbft_msg_type type,
                                       uint32_t n_macs, unsigned variant)
{
    struct ord_pbft_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = variant == 0 ? ORD_PBFT_FROM_CLIENT : ws_v32(variant);
    m.view = ws_v(variant + 1);
    m.seq = ws_v(variant + 2);
    for (unsigned b = 0; b < SMR_DIGEST_BYTES; b++)
        m.digest[b] = (uint8_t)(variant ^ (b * 11));
    for (uint32_t i = 0; i < n_macs; i++)
        for (unsigned b = 0; b < ORD_PBFT_MAC_BYTES; b++)
            m.mac[i][b] = (uint8_t)(1 + i * 16 + b + variant);
    return m;
}

static void ws_pbft_done(struct wire_samples *w, const struct ord_pbft_msg *m,
                         unsigned variant)
{
    int rc =
        wire_encode_pbft(ws_next(w), ws_v(variant + 4), ws_v(variant + 5), m);
    ws_done(w, rc, WIRE_PBFT, "pbft", variant);
}

static void ws_pbft_normal(struct wire_samples *w, unsigned *v)
{
    static uint8_t op[200], auth[3 * SMR_NODES_MAX * ORD_PBFT_MAC_BYTES];
    static uint8_t proof[ORD_PBFT_PROOF_BYTES];
    for (size_t i = 0; i < sizeof proof; i++)
        proof[i] = (uint8_t)(i * 5 + 3);
    for (size_t i = 0; i < sizeof op; i++)
        op[i] = (uint8_t)(i * 13);
    for (size_t i = 0; i < sizeof auth; i++)
        auth[i] = (uint8_t)(i * 7 + 1);
    /* from a client, forwarded with a proof (a signed retransmission) */
    for (unsigned i = 0; i < 2; i++) {
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_REQUEST, 4 + 12 * i, *v);
        m.client_id = ws_v(*v + 6);
        m.req_id = ws_v(*v + 7);
        m.op = op;
        m.op_len = i ? sizeof op : 0;
        m.proof = i ? proof : NULL;
        ws_pbft_done(w, &m, (*v)++);
    }
    for (unsigned i = 0; i < 3; i++) { /* 3 requests, 1, the no-op batch */
        const struct smr_buf *b = &w->batch[(i + 1) % 3];
        uint32_t count = smr_batch_count(b->data, b->len);
        uint32_t n = i == 0 ? 4 : SMR_NODES_MAX;
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_PRE_PREPARE, n, *v);
        m.leader_time_ms = ws_v(*v + 3);
        m.batch = b->data;
        m.batch_len = (uint32_t)b->len;
        m.req_auth = auth;
        m.req_auth_len = count * n * ORD_PBFT_MAC_BYTES;
        if (i == 0) /* with one proof entry (the core checks the layout) */
            m.req_auth_len += ORD_PBFT_PROOF_ENTRY_BYTES;
        ws_pbft_done(w, &m, (*v)++);
    }
    for (int t = ORD_PBFT_PREPARE; t <= ORD_PBFT_CHECKPOINT; t++) {
        struct ord_pbft_msg m =
            ws_pbft_msg((enum ord_pbft_msg_type)t, (uint32_t)t * 3, *v);
        ws_pbft_done(w, &m, (*v)++);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_STATUS, 7, *v);
        m.active = i;
        m.stable = ws_v(*v + 8);
        m.commit_upto = ws_v(*v + 9);
        ws_pbft_done(w, &m, (*v)++);
    }
    static struct ord_pbft_entry e[ORD_PBFT_ENTRIES_MAX];
    static const uint32_t n_entries[] = {0, 3, ORD_PBFT_ENTRIES_MAX};
    for (unsigned i = 0; i < 3; i++) {
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_CATCHUP, 4, *v);
        ws_pbft_entries(w, e, n_entries[i], *v);
        m.n_entries = n_entries[i];
        m.entries = e;
        ws_pbft_done(w, &m, (*v)++);
    }
}

static void ws_pbft_views(struct wire_samples *w, unsigned *v)
{
    static struct ord_pbft_cert c[8][ORD_PBFT_CKPTS_MAX + 16];
    static struct ord_pbft_entry bodies[8];
    static struct ord_pbft_view_change vcs[4];
    /* VIEW-CHANGE: a minimal one, and one at ORD_PBFT_CKPTS_MAX with P
     * and Q. */
    for (unsigned i = 0; i < 2; i++) {
        struct ord_pbft_view_change vc;
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_VIEW_CHANGE, 0, *v);
        ws_vc(w, &vc, c[0], bodies, i ? ORD_PBFT_CKPTS_MAX : 1, i ? 3 : 0,
              i ? 5 : 0, *v);
        m.vc = &vc;
        ws_pbft_done(w, &m, (*v)++);
    }
    /* NEW-VIEW of one and of four view changes. */
    for (unsigned i = 0; i < 2; i++) {
        uint32_t n_vcs = i ? 4 : 1, n_chosen = i ? 4 : 0;
        for (uint32_t k = 0; k < n_vcs; k++)
            ws_vc(w, &vcs[k], c[k], NULL, 1 + k, k, 2 * k, *v + k);
        struct ord_pbft_new_view nv = {.from = ws_v32(*v),
                                       .view = ws_v(*v + 1),
                                       .n_vcs = n_vcs,
                                       .vcs = vcs,
                                       .n_chosen = n_chosen,
                                       .chosen = c[7],
                                       .bodies = bodies};
        ws_certs(&nv.ckpt, 1, *v + 9);
        ws_certs(c[7], n_chosen, *v + 3);
        ws_pbft_entries(w, bodies, n_chosen, *v);
        for (unsigned b = 0; b < ORD_PBFT_SIG_BYTES; b++)
            nv.sig[b] = (uint8_t)(255 - b);
        struct ord_pbft_msg m = ws_pbft_msg(ORD_PBFT_NEW_VIEW, 0, *v);
        m.nv = &nv;
        ws_pbft_done(w, &m, (*v)++);
    }
}

static void ws_pbft(struct wire_samples *w)
{
    unsigned v = 0;
    ws_pbft_normal(w, &v);
    ws_pbft_views(w, &v);
}

static void ws_state(struct wire_samples *w)
{
    for (unsigned i = 0; i < 3; i++) {
        struct wire_state_req q = {ws_v(i + 2), ws_v(i * 3), ws_v32(i) % 16,
                                   ws_v(i * 5 + 1), i * 1000u, {0}};
        memset(q.tag, 0x31 + (int)i, sizeof q.tag);
        ws_done(w, wire_encode_state_req(ws_next(w), &q), WIRE_STATE_REQ,
                "state_req", i);
    }
    for (unsigned i = 0; i < 3; i++) {
        const struct smr_buf *b = &w->batch[i % 3];
        struct wire_state_chunk c = {ws_v(i + 2), ws_v(i * 3), i,
                                     ws_v(i * 5 + 1), b->len + i * 7, i * 7,
                                     b->data, (uint32_t)b->len, {0}};
        memset(c.tag, 0xa1 + (int)i, sizeof c.tag);
        ws_done(w, wire_encode_state_chunk(ws_next(w), &c), WIRE_STATE_CHUNK,
                "state_chunk", i);
    }
}

/* Builds every sample; aborts on failure (test code). */
static void wire_samples_build(struct wire_samples *w)
{
    w->n = 0;
    ws_batches(w);
    ws_client(w);
    ws_paxos(w);
    ws_stream(w);
    ws_pbft(w);
    ws_state(w);
}

static void wire_samples_free(struct wire_samples *w)
{
    for (size_t i = 0; i < w->n; i++)
        smr_buf_free(&w->s[i].frame);
    for (int i = 0; i < 3; i++)
        smr_buf_free(&w->batch[i]);
    w->n = 0;
}

#endif
