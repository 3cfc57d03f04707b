/*
 * wire_samples.h: a fixed set of valid frames of every wire type, with edge
 * values (0, UINT64_MAX, every msgpack integer width, empty and non-empty
 * bins, no-op batches, ORD_PAXOS_ENTRIES_MAX entries).
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

#define WIRE_SAMPLES_MAX 64

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
                               lens[i]};
        ws_done(w, wire_encode_reply(ws_next(w), &p), WIRE_REPLY, "reply", i);
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
            ws_v(i + 8)};
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

/* Builds every sample; aborts on failure (test code). */
static void wire_samples_build(struct wire_samples *w)
{
    w->n = 0;
    ws_batches(w);
    ws_client(w);
    ws_paxos(w);
    ws_stream(w);
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
