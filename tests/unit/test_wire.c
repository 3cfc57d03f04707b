/*
 * test_wire.c: Check suite for glue/wire (the msgpack frames) and
 * glue/zmq_util.
 *
 * Round trips with edge values for every message type; then hostile input:
 * every prefix of every sample frame, every byte flipped to a few values,
 * wrong-typed fields, unknown types and versions, declared lengths far over
 * the bytes present, malformed batches, trailing bytes. The sample frames
 * come from tests/fuzz/wire_samples.h and the round-trip oracle from
 * tests/fuzz/wire_check.h, both shared with the fuzz targets.
 *
 * Decoders must not allocate. Outside sanitizer builds this file interposes
 * malloc/calloc/realloc (forwarding to glibc's __libc_* entry points) and
 * counts calls made while `alloc_watch` is set; the hostile-input tests
 * assert the count stays zero.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/wire_check.h"
#include "../fuzz/wire_samples.h"
#include "wire.h"
#include "zmq_util.h"

/* ---- Allocation watch -------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define WATCH_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define WATCH_ALLOCS 0
#endif
#endif
#ifndef WATCH_ALLOCS
#define WATCH_ALLOCS 1
#endif

static volatile int alloc_watch;
static volatile unsigned long alloc_calls;

#if WATCH_ALLOCS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
    if (alloc_watch)
        alloc_calls++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (alloc_watch)
        alloc_calls++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    if (alloc_watch)
        alloc_calls++;
    return __libc_realloc(p, n);
}
#endif

/* ---- Helpers ----------------------------------------------------------- */

static struct ord_paxos_entry scratch[ORD_PAXOS_ENTRIES_MAX];

/* Decodes `f` with the decoder of `type`; returns its code. */
static int decode_as(int type, const uint8_t *f, size_t len)
{
    union {
        struct smr_request q;
        struct wire_reply p;
        struct wire_status_req sq;
        struct wire_status s;
        struct ord_paxos_msg x;
        struct smr_committed c;
        struct wire_subscribe sub;
        struct wire_checkpoint ck;
        struct wire_snapshot_required sr;
        struct ord_pbft_msg b;
        struct wire_state_req stq;
        struct wire_state_chunk stc;
        struct wire_replies rs;
    } u;
    static struct wire_pbft_store store;
    uint64_t cid;
    smr_epoch ep;
    switch (type) {
    case WIRE_REQUEST:
        return wire_decode_request(f, len, &u.q);
    case WIRE_REPLY:
        return wire_decode_reply(f, len, &u.p);
    case WIRE_STATUS_REQ:
        return wire_decode_status_req(f, len, &u.sq);
    case WIRE_STATUS:
        return wire_decode_status(f, len, &u.s);
    case WIRE_PAXOS:
        return wire_decode_paxos(f, len, &cid, &ep, &u.x, scratch);
    case WIRE_COMMITTED:
        return wire_decode_committed(f, len, &u.c);
    case WIRE_SUBSCRIBE:
        return wire_decode_subscribe(f, len, &u.sub);
    case WIRE_CHECKPOINT:
        return wire_decode_checkpoint(f, len, &u.ck);
    case WIRE_SNAPSHOT_REQUIRED:
        return wire_decode_snapshot_required(f, len, &u.sr);
    case WIRE_PBFT:
        return wire_decode_pbft(f, len, &cid, &ep, &u.b, &store);
    case WIRE_STATE_REQ:
        return wire_decode_state_req(f, len, &u.stq);
    case WIRE_STATE_CHUNK:
        return wire_decode_state_chunk(f, len, &u.stc);
    case WIRE_REPLIES:
        return wire_decode_replies(f, len, &u.rs);
    }
    ck_abort_msg("no decoder for type %d", type);
    return -1;
}

/* decode_as() with the allocation watch on: decoders must not allocate. */
static int decode_watched(int type, const uint8_t *f, size_t len)
{
    alloc_calls = 0;
    alloc_watch = 1;
    int rc = decode_as(type, f, len);
    alloc_watch = 0;
    ck_assert_msg(alloc_calls == 0, "%s decoder allocated",
                  wire_type_name(type));
    return rc;
}

/* Every decoder must return `want` for `f`. */
static void expect_all(const uint8_t *f, size_t len, int want)
{
    for (int t = WIRE_REQUEST; t <= WIRE_TYPE__MAX; t++) {
        int rc = decode_watched(t, f, len);
        ck_assert_msg(rc == want, "%s: got %s want %s", wire_type_name(t),
                      smr_strerror(rc), smr_strerror(want));
    }
}

static void expect_rc(int type, const uint8_t *f, size_t len, int want)
{
    int rc = decode_watched(type, f, len);
    ck_assert_msg(rc == want, "%s: got %s want %s", wire_type_name(type),
                  smr_strerror(rc), smr_strerror(want));
}

static bool inside(const uint8_t *p, size_t n, const struct smr_buf *b)
{
    return p >= b->data && p + n <= b->data + b->len;
}

/* ---- Round trips ------------------------------------------------------- */

START_TEST(test_request_roundtrip)
{
    struct smr_buf f;
    smr_buf_init(&f);
    uint8_t *big = calloc(SMR_OP_BYTES_MAX + 1, 1);
    ck_assert_ptr_nonnull(big);
    big[SMR_OP_BYTES_MAX - 1] = 0xab;
    const struct smr_request cases[] = {
        {0, 0, NULL, 0},
        {UINT64_MAX, UINT64_MAX, (const uint8_t *)"x", 1},
        {1, 2, big, SMR_OP_BYTES_MAX},
    };
    for (size_t i = 0; i < 3; i++) {
        struct smr_request d;
        ck_assert_int_eq(wire_encode_request(&f, &cases[i]), SMR_OK);
        ck_assert_int_eq(wire_decode_request(f.data, f.len, &d), SMR_OK);
        ck_assert_uint_eq(d.client_id, cases[i].client_id);
        ck_assert_uint_eq(d.req_id, cases[i].req_id);
        ck_assert_uint_eq(d.op_len, cases[i].op_len);
        ck_assert(inside(d.op, d.op_len, &f)); /* zero copy */
        ck_assert(d.op_len == 0 || !memcmp(d.op, cases[i].op, d.op_len));
    }
    struct smr_request too_big = {1, 2, big, SMR_OP_BYTES_MAX + 1};
    ck_assert_int_eq(wire_encode_request(&f, &too_big), SMR_ETOOBIG);
    ck_assert_uint_eq(f.len, 0);
    free(big);
    smr_buf_free(&f);
}
END_TEST

START_TEST(test_reply_roundtrip)
{
    struct smr_buf f;
    smr_buf_init(&f);
    uint8_t *big = calloc(WIRE_RESULT_BYTES_MAX + 1, 1);
    ck_assert_ptr_nonnull(big);
    for (int st = 0; st <= WIRE_REPLY__MAX; st++) {
        struct wire_reply r = {UINT64_MAX,
                               0,
                               UINT64_MAX,
                               (enum wire_reply_status)st,
                               WIRE_LEADER_UNKNOWN,
                               big,
                               st == 0 ? WIRE_RESULT_BYTES_MAX : 0,
                               st % 2 == 0,
                               {0}};
        memset(r.tag, 0x30 + st, sizeof r.tag);
        struct wire_reply d;
        ck_assert_int_eq(wire_encode_reply(&f, &r), SMR_OK);
        ck_assert_int_eq(wire_decode_reply(f.data, f.len, &d), SMR_OK);
        ck_assert_int_eq(d.has_tag, r.has_tag);
        if (r.has_tag)
            ck_assert_mem_eq(d.tag, r.tag, SMR_TAG_BYTES);
        ck_assert_uint_eq(d.client_id, UINT64_MAX);
        ck_assert_uint_eq(d.req_id, 0);
        ck_assert_uint_eq(d.seq, UINT64_MAX);
        ck_assert_int_eq(d.status, st);
        ck_assert_uint_eq(d.leader_hint, WIRE_LEADER_UNKNOWN);
        ck_assert_uint_eq(d.result_len, r.result_len);
        ck_assert(inside(d.result, d.result_len, &f));
    }
    struct wire_reply r = {.result = big,
                           .result_len = WIRE_RESULT_BYTES_MAX + 1};
    ck_assert_int_eq(wire_encode_reply(&f, &r), SMR_ETOOBIG);
    /* A tag is 0 or 16 bytes: 8 bytes is malformed. */
    static const uint8_t short_tag[] = {0x99, 1, WIRE_REPLY, 1, 2, 3, 0, 0,
                                        0xc4, 0, 0xc4, 8, 1, 2, 3, 4, 5, 6,
                                        7, 8};
    struct wire_reply d;
    ck_assert_int_eq(wire_decode_reply(short_tag, sizeof short_tag, &d),
                     SMR_EMALFORMED);
    static const uint8_t long_tag[] = {0x99, 1, WIRE_REPLY, 1, 2, 3, 0, 0,
                                       0xc4, 0, 0xc4, 17};
    ck_assert_int_eq(wire_decode_reply(long_tag, sizeof long_tag, &d),
                     SMR_ETOOBIG);
    free(big);
    smr_buf_free(&f);
}
END_TEST

START_TEST(test_status_roundtrip)
{
    struct smr_buf f;
    smr_buf_init(&f);
    struct wire_status_req q = {UINT64_MAX}, dq;
    ck_assert_int_eq(wire_encode_status_req(&f, &q), SMR_OK);
    ck_assert_int_eq(wire_decode_status_req(f.data, f.len, &dq), SMR_OK);
    ck_assert_uint_eq(dq.nonce, UINT64_MAX);

    struct wire_status s = {UINT64_MAX, UINT32_MAX, true, WIRE_LEADER_UNKNOWN,
                            0,          UINT64_MAX, 1,    2,
                            UINT64_MAX, 250,        3,    UINT64_MAX,
                            7,          9};
    struct wire_status d;
    ck_assert_int_eq(wire_encode_status(&f, &s), SMR_OK);
    ck_assert_int_eq(wire_decode_status(f.data, f.len, &d), SMR_OK);
    ck_assert_uint_eq(d.nonce, s.nonce);
    ck_assert_uint_eq(d.node_id, UINT32_MAX);
    ck_assert(d.is_leader);
    ck_assert_uint_eq(d.leader_hint, WIRE_LEADER_UNKNOWN);
    ck_assert_uint_eq(d.ballot, 0);
    ck_assert_uint_eq(d.committed_seq, UINT64_MAX);
    ck_assert_uint_eq(d.executed_seq, 1);
    ck_assert_uint_eq(d.frames_rejected, 2);
    ck_assert_uint_eq(d.fsyncs, UINT64_MAX);
    ck_assert_uint_eq(d.writes_per_fsync_x100, 250);
    ck_assert_uint_eq(d.peer_drops, 3);
    ck_assert_uint_eq(d.client_drops, UINT64_MAX);
    ck_assert_uint_eq(d.paxos_dropped, 7);
    ck_assert_uint_eq(d.log_first, 9);
    smr_buf_free(&f);
}
END_TEST

/* Builds a batch of `n` requests with `op_bytes`-byte ops. */
static void make_batch(struct smr_buf *b, uint32_t n, uint32_t op_bytes)
{
    static uint8_t op[256];
    ck_assert_uint_le(op_bytes, sizeof op);
    ck_assert_int_eq(smr_batch_begin(b), SMR_OK);
    for (uint32_t i = 0; i < n; i++) {
        struct smr_request r = {i, i + 1, op, op_bytes};
        ck_assert_int_eq(smr_batch_add(b, &r), SMR_OK);
    }
}

START_TEST(test_paxos_roundtrip)
{
    struct smr_buf f, batch;
    smr_buf_init(&f);
    smr_buf_init(&batch);
    make_batch(&batch, 5, 10);
    struct ord_paxos_entry e[ORD_PAXOS_ENTRIES_MAX + 1];
    for (int i = 0; i <= ORD_PAXOS_ENTRIES_MAX; i++)
        e[i] = (struct ord_paxos_entry){(uint64_t)i,
                                        UINT64_MAX,
                                        0,
                                        UINT64_MAX - (uint64_t)i,
                                        i % 2 ? batch.data : NULL,
                                        i % 2 ? (uint32_t)batch.len : 0};
    for (int t = ORD_PAXOS_PREPARE; t <= ORD_PAXOS_MSG__MAX; t++) {
        struct ord_paxos_msg m = {(enum ord_paxos_msg_type)t,
                                  UINT32_MAX,
                                  UINT64_MAX,
                                  0,
                                  UINT32_MAX,
                                  UINT64_MAX,
                                  t % 2,
                                  t == 3 ? ORD_PAXOS_ENTRIES_MAX : 0,
                                  e};
        struct ord_paxos_msg d;
        uint64_t cid;
        smr_epoch ep;
        ck_assert_int_eq(wire_encode_paxos(&f, UINT64_MAX, 0, &m), SMR_OK);
        ck_assert_int_eq(
            wire_decode_paxos(f.data, f.len, &cid, &ep, &d, scratch), SMR_OK);
        ck_assert_uint_eq(cid, UINT64_MAX);
        ck_assert_uint_eq(ep, 0);
        ck_assert_int_eq(d.type, t);
        ck_assert_uint_eq(d.from, UINT32_MAX);
        ck_assert_uint_eq(d.ballot, UINT64_MAX);
        ck_assert_uint_eq(d.slot, 0);
        ck_assert_uint_eq(d.slot_count, UINT32_MAX);
        ck_assert_uint_eq(d.commit_upto, UINT64_MAX);
        ck_assert_int_eq(d.more, t % 2);
        ck_assert_uint_eq(d.n_entries, m.n_entries);
        ck_assert_ptr_eq(d.entries, scratch);
        for (uint32_t i = 0; i < d.n_entries; i++) {
            ck_assert_uint_eq(d.entries[i].slot, i);
            ck_assert_uint_eq(d.entries[i].ballot, UINT64_MAX);
            ck_assert_uint_eq(d.entries[i].epoch, 0);
            ck_assert_uint_eq(d.entries[i].leader_time_ms, UINT64_MAX - i);
            ck_assert_uint_eq(d.entries[i].batch_len, e[i].batch_len);
            ck_assert(inside(d.entries[i].batch, d.entries[i].batch_len, &f));
        }
    }
    struct ord_paxos_msg over = {
        ORD_PAXOS_ACCEPT, 0, 0, 0, 0, 0, false, ORD_PAXOS_ENTRIES_MAX + 1, e};
    ck_assert_int_eq(wire_encode_paxos(&f, 1, 1, &over), SMR_ETOOBIG);
    smr_buf_free(&batch);
    smr_buf_free(&f);
}
END_TEST

START_TEST(test_stream_roundtrip)
{
    struct smr_buf f, batch;
    smr_buf_init(&f);
    smr_buf_init(&batch);
    make_batch(&batch, 3, 0);
    for (int i = 0; i < 2; i++) {
        struct smr_committed c = {UINT64_MAX, 0, UINT64_MAX,
                                  i ? batch.data : NULL,
                                  i ? (uint32_t)batch.len : 0};
        struct smr_committed d;
        ck_assert_int_eq(wire_encode_committed(&f, &c), SMR_OK);
        ck_assert_int_eq(wire_decode_committed(f.data, f.len, &d), SMR_OK);
        ck_assert_uint_eq(d.seq, UINT64_MAX);
        ck_assert_uint_eq(d.epoch, 0);
        ck_assert_uint_eq(d.leader_time_ms, UINT64_MAX);
        ck_assert_uint_eq(d.batch_len, c.batch_len);
        ck_assert(inside(d.batch, d.batch_len, &f));
    }
    struct wire_subscribe s = {UINT64_MAX, 0, UINT32_MAX}, ds;
    ck_assert_int_eq(wire_encode_subscribe(&f, &s), SMR_OK);
    ck_assert_int_eq(wire_decode_subscribe(f.data, f.len, &ds), SMR_OK);
    ck_assert_uint_eq(ds.consumer_id, UINT64_MAX);
    ck_assert_uint_eq(ds.from_seq, 0);
    ck_assert_uint_eq(ds.credit, UINT32_MAX);

    struct wire_checkpoint c = {.seq = UINT64_MAX}, dc;
    memset(c.digest, 0xee, sizeof c.digest);
    ck_assert_int_eq(wire_encode_checkpoint(&f, &c), SMR_OK);
    ck_assert_int_eq(wire_decode_checkpoint(f.data, f.len, &dc), SMR_OK);
    ck_assert_uint_eq(dc.seq, UINT64_MAX);
    ck_assert_mem_eq(dc.digest, c.digest, SMR_DIGEST_BYTES);

    struct wire_snapshot_required r = {UINT64_MAX}, dr;
    ck_assert_int_eq(wire_encode_snapshot_required(&f, &r), SMR_OK);
    ck_assert_int_eq(wire_decode_snapshot_required(f.data, f.len, &dr), 0);
    ck_assert_uint_eq(dr.first_available_seq, UINT64_MAX);
    smr_buf_free(&batch);
    smr_buf_free(&f);
}
END_TEST

/* State transfer frames: the chunk's bounds hold before anything is
 * copied (offset + len within total, total within WIRE_STATE_BYTES_MAX, no
 * empty chunk short of the end), and a sender id is a replica id. */
START_TEST(test_state_frames)
{
    struct smr_buf f;
    smr_buf_init(&f);
    uint8_t bytes[64];
    memset(bytes, 0x5a, sizeof bytes);
    struct wire_state_req q = {7, 3, 2, 4096, 1u << 20, {0}}, dq;
    memset(q.tag, 0x77, sizeof q.tag);
    ck_assert_int_eq(wire_encode_state_req(&f, &q), SMR_OK);
    ck_assert_int_eq(wire_decode_state_req(f.data, f.len, &dq), SMR_OK);
    ck_assert_uint_eq(dq.cluster_id, 7);
    ck_assert_uint_eq(dq.epoch, 3);
    ck_assert_uint_eq(dq.from, 2);
    ck_assert_uint_eq(dq.seq, 4096);
    ck_assert_uint_eq(dq.offset, 1u << 20);
    ck_assert_mem_eq(dq.tag, q.tag, SMR_TAG_BYTES);
    q.from = SMR_NODES_MAX;
    ck_assert_int_eq(wire_encode_state_req(&f, &q), SMR_OK);
    ck_assert_int_eq(wire_decode_state_req(f.data, f.len, &dq), SMR_EMALFORMED);

    struct wire_state_chunk c = {7, 3, 1, 4096, 100, 36, bytes, 64, {0}}, dc;
    memset(c.tag, 0x66, sizeof c.tag);
    ck_assert_int_eq(wire_encode_state_chunk(&f, &c), SMR_OK);
    ck_assert_int_eq(wire_decode_state_chunk(f.data, f.len, &dc), SMR_OK);
    ck_assert_uint_eq(dc.total, 100);
    ck_assert_uint_eq(dc.offset, 36);
    ck_assert_uint_eq(dc.len, 64);
    ck_assert(inside(dc.bytes, dc.len, &f));
    ck_assert_mem_eq(dc.tag, c.tag, SMR_TAG_BYTES);
    struct {
        uint64_t total, offset;
        uint32_t len;
    } bad[] = {
        {99, 36, 64},                       /* past the total */
        {100, 101, 0},                      /* offset past the total */
        {100, 50, 0},                       /* empty, short of the end */
        {WIRE_STATE_BYTES_MAX + 1, 0, 64},  /* too big a snapshot */
        {UINT64_MAX, UINT64_MAX - 10, 64},  /* offset + len overflows */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.total = bad[i].total;
        c.offset = bad[i].offset;
        c.len = bad[i].len;
        ck_assert_int_eq(wire_encode_state_chunk(&f, &c), SMR_OK);
        ck_assert_msg(wire_decode_state_chunk(f.data, f.len, &dc) ==
                          SMR_EMALFORMED,
                      "bad chunk %zu accepted", i);
    }
    c = (struct wire_state_chunk){7, 3, 1, 4096, 0, 0, NULL, 0, {0}};
    ck_assert_int_eq(wire_encode_state_chunk(&f, &c), SMR_OK);
    ck_assert_int_eq(wire_decode_state_chunk(f.data, f.len, &dc), SMR_OK);
    c.len = WIRE_STATE_CHUNK_BYTES + 1;
    c.bytes = bytes; /* never read: the length is refused first */
    ck_assert_int_eq(wire_encode_state_chunk(&f, &c), SMR_ETOOBIG);
    smr_buf_free(&f);
}
END_TEST

/* REPLIES: built in place up to its byte and count bounds, read back frame
 * by frame; a frame that does not fit leaves the bundle as it was. */
START_TEST(test_replies_bundle)
{
    struct smr_buf f, one;
    smr_buf_init(&f);
    smr_buf_init(&one);
    static uint8_t result[600];
    memset(result, 0x5a, sizeof result);
    ck_assert_int_eq(wire_replies_start(&f), SMR_OK);
    uint32_t added = 0;
    int rc = SMR_OK;
    while (rc == SMR_OK) {
        struct wire_reply p = {
            100 + added, added, 7, WIRE_REPLY_OK, 1, result,
            added % 3 == 0 ? 0 : added % 3 == 1 ? 40 : 600, true, {0}};
        ck_assert_int_eq(wire_encode_reply(&one, &p), SMR_OK);
        size_t was = f.len;
        rc = wire_replies_add(&f, one.data, one.len);
        if (rc == SMR_OK)
            added++;
        else
            ck_assert_uint_eq(f.len, was);
    }
    ck_assert_int_eq(rc, SMR_ETOOBIG);
    ck_assert_uint_le(f.len, WIRE_REPLIES_BYTES_MAX);
    ck_assert_uint_eq(wire_replies_count(&f), added);
    ck_assert_uint_gt(added, 100);

    struct wire_replies it;
    ck_assert_int_eq(wire_decode_replies(f.data, f.len, &it), SMR_OK);
    const uint8_t *rf;
    size_t rlen;
    uint32_t seen = 0;
    while (wire_replies_next(&it, &rf, &rlen)) {
        struct wire_reply d;
        ck_assert_int_eq(wire_decode_reply(rf, rlen, &d), SMR_OK);
        ck_assert_uint_eq(d.client_id, 100 + seen);
        ck_assert_uint_eq(d.req_id, seen);
        ck_assert_uint_eq(d.result_len,
                          seen % 3 == 0 ? 0 : seen % 3 == 1 ? 40 : 600);
        ck_assert(inside(rf, rlen, &f));
        seen++;
    }
    ck_assert_uint_eq(seen, added);
    int type = 0;
    ck_assert_int_eq(wire_peek_type(f.data, f.len, &type), SMR_OK);
    ck_assert_int_eq(type, WIRE_REPLIES);
    /* A REPLY is not a REPLIES, and the reverse. */
    ck_assert_int_eq(wire_decode_replies(one.data, one.len, &it), SMR_ETYPE);
    struct wire_reply d;
    ck_assert_int_eq(wire_decode_reply(f.data, f.len, &d), SMR_ETYPE);

    /* The count bound: WIRE_REPLIES_MAX tiny frames. */
    static const uint8_t tiny[1] = {0};
    ck_assert_int_eq(wire_replies_start(&f), SMR_OK);
    for (uint32_t i = 0; i < WIRE_REPLIES_MAX; i++)
        ck_assert_int_eq(wire_replies_add(&f, tiny, 1), SMR_OK);
    ck_assert_int_eq(wire_replies_add(&f, tiny, 1), SMR_ETOOBIG);
    ck_assert_int_eq(wire_decode_replies(f.data, f.len, &it), SMR_OK);

    /* Hostile: a count beyond its elements, an element that is not a bin,
     * a bin past the end, bytes after the last element. */
    static const uint8_t more[] = {0x93, 1, WIRE_REPLIES, 0xdd, 0, 0, 0, 2,
                                   0xc4, 1, 0};
    static const uint8_t not_bin[] = {0x93, 1, WIRE_REPLIES, 0x91, 0x01};
    static const uint8_t past[] = {0x93, 1, WIRE_REPLIES, 0x91, 0xc4, 9, 0};
    static const uint8_t trail[] = {0x93, 1, WIRE_REPLIES, 0x91, 0xc4, 1, 0,
                                    0};
    ck_assert_int_eq(wire_decode_replies(more, sizeof more, &it),
                     SMR_ETRUNCATED);
    ck_assert_int_eq(wire_decode_replies(not_bin, sizeof not_bin, &it),
                     SMR_EMALFORMED);
    ck_assert_int_eq(wire_decode_replies(past, sizeof past, &it),
                     SMR_ETRUNCATED);
    ck_assert_int_eq(wire_decode_replies(trail, sizeof trail, &it),
                     SMR_EMALFORMED);
    /* Any array width reads; past WIRE_REPLIES_BYTES_MAX nothing does (the
     * fuzz oracle re-encodes what decodes, within that bound). */
    static const uint8_t narrow[] = {0x93, 1, WIRE_REPLIES, 0xdc, 0, 1, 0xc4,
                                     1, 0};
    ck_assert_int_eq(wire_decode_replies(narrow, sizeof narrow, &it), SMR_OK);
    smr_buf_reset(&f);
    static const uint8_t head[] = {0x93, 1, WIRE_REPLIES, 0x92};
    static const uint8_t bin40k[] = {0xc5, 40000 >> 8, 40000 & 0xff};
    ck_assert_int_eq(smr_buf_append(&f, head, sizeof head), SMR_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(smr_buf_append(&f, bin40k, sizeof bin40k), SMR_OK);
        for (int k = 0; k < 40000; k++)
            ck_assert_int_eq(smr_buf_append(&f, tiny, 1), SMR_OK);
    }
    ck_assert_int_eq(wire_decode_replies(f.data, f.len, &it), SMR_ETOOBIG);
    /* A bundle a byte or two short of its bound takes nothing more: the
     * room left is smaller than any bin header (the check once wrapped
     * around there and let the bundle grow past the bound). */
    for (size_t short_by = 1; short_by <= 5; short_by++) {
        size_t big = WIRE_REPLIES_BYTES_MAX - 8 - 3 - short_by;
        uint8_t *filler = calloc(1, big);
        ck_assert_ptr_nonnull(filler);
        ck_assert_int_eq(wire_replies_start(&f), SMR_OK);
        ck_assert_int_eq(wire_replies_add(&f, filler, big), SMR_OK);
        ck_assert_uint_eq(f.len, WIRE_REPLIES_BYTES_MAX - short_by);
        ck_assert_int_eq(wire_replies_add(&f, tiny, 1),
                         short_by >= 3 ? SMR_OK : SMR_ETOOBIG);
        ck_assert_int_eq(wire_replies_add(&f, filler, 40), SMR_ETOOBIG);
        ck_assert_uint_le(f.len, WIRE_REPLIES_BYTES_MAX);
        ck_assert_int_eq(wire_decode_replies(f.data, f.len, &it), SMR_OK);
        free(filler);
    }
    /* A buffer never started holds no frames (and no pointer is formed);
     * adding to it starts one, unless the frame fits no bundle. */
    struct smr_buf empty;
    smr_buf_init(&empty);
    ck_assert_uint_eq(wire_replies_count(&empty), 0);
    uint8_t *huge = calloc(1, WIRE_REPLIES_BYTES_MAX);
    ck_assert_ptr_nonnull(huge);
    ck_assert_int_eq(wire_replies_add(&empty, huge, WIRE_REPLIES_BYTES_MAX),
                     SMR_ETOOBIG);
    ck_assert_uint_eq(empty.len, 0);
    free(huge);
    ck_assert_int_eq(wire_replies_add(&empty, tiny, 1), SMR_OK);
    ck_assert_uint_eq(wire_replies_count(&empty), 1);
    ck_assert_int_eq(wire_decode_replies(empty.data, empty.len, &it), SMR_OK);
    smr_buf_free(&empty);
    smr_buf_free(&f);
    smr_buf_free(&one);
}
END_TEST

START_TEST(test_samples_peek_and_check)
{
    struct wire_samples w;
    wire_samples_build(&w);
    for (size_t i = 0; i < w.n; i++) {
        const struct smr_buf *f = &w.s[i].frame;
        int type = 0;
        ck_assert_int_eq(wire_peek_type(f->data, f->len, &type), SMR_OK);
        ck_assert_int_eq(type, w.s[i].type);
        ck_assert_int_eq(wire_check_frame(f->data, f->len, WIRE_FAMILY_ALL),
                         WC_DECODED);
    }
    wire_samples_free(&w);
}
END_TEST

/* ---- Hostile input ----------------------------------------------------- */

START_TEST(test_truncated_every_offset)
{
    struct wire_samples w;
    wire_samples_build(&w);
    for (size_t i = 0; i < w.n; i++) {
        const struct smr_buf *f = &w.s[i].frame;
        /* A copy of exactly `cut` bytes lets ASan see any overread. */
        for (size_t cut = 0; cut < f->len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, f->data, cut);
            int rc = decode_watched(w.s[i].type, p, cut);
            ck_assert_msg(rc == SMR_ETRUNCATED, "%s cut at %zu: %s",
                          w.s[i].name, cut, smr_strerror(rc));
            ck_assert_int_eq(wire_check_frame(p, cut, WIRE_FAMILY_ALL),
                             WC_REJECTED);
            free(p);
        }
    }
    wire_samples_free(&w);
}
END_TEST

START_TEST(test_byte_flips)
{
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f,
                                     0xc0, 0xc1, 0xc2, 0xc4, 0xc6, 0xcf,
                                     0xd0, 0xdc, 0xdd, 0xff};
    struct wire_samples w;
    wire_samples_build(&w);
    unsigned long decoded = 0, rejected = 0;
    for (size_t i = 0; i < w.n; i++) {
        const struct smr_buf *f = &w.s[i].frame;
        uint8_t *p = malloc(f->len);
        memcpy(p, f->data, f->len);
        for (size_t off = 0; off < f->len; off++) {
            for (size_t v = 0; v <= sizeof values; v++) {
                p[off] = v < sizeof values ? values[v] : f->data[off] ^ 0x01;
                decode_watched(w.s[i].type, p, f->len);
                int rc = wire_check_frame(p, f->len, WIRE_FAMILY_ALL);
                ck_assert_msg(rc != WC_BROKEN, "%s byte %zu = 0x%02x",
                              w.s[i].name, off, p[off]);
                rc == WC_DECODED ? decoded++ : rejected++;
            }
            p[off] = f->data[off];
        }
        free(p);
    }
    ck_assert_uint_gt(decoded, 0);
    ck_assert_uint_gt(rejected, 0);
    wire_samples_free(&w);
}
END_TEST

START_TEST(test_trailing_byte)
{
    struct wire_samples w;
    wire_samples_build(&w);
    for (size_t i = 0; i < w.n; i++) {
        struct smr_buf *f = &w.s[i].frame;
        ck_assert_int_eq(smr_buf_append(f, "\0", 1), SMR_OK);
        expect_rc(w.s[i].type, f->data, f->len, SMR_EMALFORMED);
    }
    wire_samples_free(&w);
}
END_TEST

#define FRAME(...)                                                             \
    (const uint8_t[])                                                          \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define FLEN(...) sizeof((const uint8_t[]){__VA_ARGS__})
#define EXPECT(type, want, ...)                                                \
    expect_rc(type, FRAME(__VA_ARGS__), FLEN(__VA_ARGS__), want)

START_TEST(test_wrong_types)
{
    /* REQUEST = [1, 1, client_id, req_id, op]; a valid one first. */
    EXPECT(WIRE_REQUEST, SMR_OK, 0x95, 1, 1, 5, 6, 0xc4, 1, 'x');
    /* Wider-than-needed unsigned encodings are accepted. */
    EXPECT(WIRE_REQUEST, SMR_OK, 0x95, 0xcc, 1, 0xcd, 0, 1, 0xcf, 0, 0, 0, 0, 0,
           0, 0, 5, 0xce, 0, 0, 0, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_OK, 0xdc, 0, 5, 1, 1, 5, 6, 0xc6, 0, 0, 0, 0);
    /* Negative fixint, signed ints, nil, bool, float, str as ints. */
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xff, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xd0, 5, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xd3, 0, 0, 0, 0, 0, 0, 0,
           5, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xc0, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xc3, 6, 0xc4, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 0xca, 0, 0, 0, 0, 6, 0xc4,
           0);
    /* str, fixarray and ext in place of the op bin. */
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 5, 6, 0xa1, 'x');
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 5, 6, 0x90);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x95, 1, 1, 5, 6, 0xd4, 0, 0);
    /* Wrong field counts, and not an array at all. */
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x94, 1, 1, 5, 6);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x96, 1, 1, 5, 6, 0xc4, 0, 0);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x91, 1);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x90);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x82, 1, 1, 1, 1);
    EXPECT(WIRE_REQUEST, SMR_EMALFORMED, 0x01);
    /* REPLY status out of its enum; u32 leader_hint of 2^32. */
    EXPECT(WIRE_REPLY, SMR_OK, 0x99, 1, 2, 0, 0, 0, 3, 0xce, 0xff, 0xff, 0xff,
           0xff, 0xc4, 0, 0xc4, 0);
    EXPECT(WIRE_REPLY, SMR_EMALFORMED, 0x99, 1, 2, 0, 0, 0, 5, 0, 0xc4, 0, 0xc4,
           0);
    EXPECT(WIRE_REPLY, SMR_EMALFORMED, 0x99, 1, 2, 0, 0, 0, 0, 0xcf, 0, 0, 0, 1,
           0, 0, 0, 0, 0xc4, 0, 0xc4, 0);
    /* STATUS is_leader must be a bool, not an int. */
    EXPECT(WIRE_STATUS, SMR_OK, 0xdc, 0, 16, 1, 4, 0, 0, 0xc2, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0);
    EXPECT(WIRE_STATUS, SMR_EMALFORMED, 0xdc, 0, 16, 1, 4, 0, 0, 1, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0);
    /* STATUS without log_first (15 fields, the older schema) is refused. */
    EXPECT(WIRE_STATUS, SMR_EMALFORMED, 0x9f, 1, 4, 0, 0, 0xc2, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0);
    /* STATUS without the three drop counters (12 fields) is refused. */
    EXPECT(WIRE_STATUS, SMR_EMALFORMED, 0x9c, 1, 4, 0, 0, 0xc2, 0, 0, 0, 0, 0,
           0, 0);
    /* CHECKPOINT digest must be exactly 32 bytes. */
    uint8_t ck[40] = {0x94, 1, 8, 0, 0xc4, 31};
    expect_rc(WIRE_CHECKPOINT, ck, 6 + 31, SMR_EMALFORMED);
    ck[5] = 33;
    expect_rc(WIRE_CHECKPOINT, ck, 6 + 33, SMR_ETOOBIG);
    ck[5] = 32;
    expect_rc(WIRE_CHECKPOINT, ck, 6 + 32, SMR_OK);
}
END_TEST

/* PAXOS = [1, 5, cluster, epoch, type, from, ballot, slot, slot_count,
 * commit_upto, more, entries]. */
#define PAXOS_HEAD(ptype) 0x9c, 1, 5, 7, 1, ptype, 0, 0, 0, 0, 0, 0xc2

START_TEST(test_paxos_ranges)
{
    EXPECT(WIRE_PAXOS, SMR_OK, PAXOS_HEAD(1), 0x90);
    EXPECT(WIRE_PAXOS, SMR_OK, PAXOS_HEAD(ORD_PAXOS_MSG__MAX), 0x90);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(0), 0x90);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(ORD_PAXOS_MSG__MAX + 1),
           0x90);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(99), 0x90);
    /* An entry with 4 or 6 fields; an entry that is not an array. */
    EXPECT(WIRE_PAXOS, SMR_OK, PAXOS_HEAD(3), 0x91, 0x95, 1, 1, 1, 1, 0xc4, 0);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(3), 0x91, 0x94, 1, 1, 1, 1);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(3), 0x91, 0x96, 1, 1, 1, 1,
           0xc4, 0, 0);
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(3), 0x91, 0xc4, 0);
    /* 65 entries declared: over the bound, whatever follows. */
    EXPECT(WIRE_PAXOS, SMR_ETOOBIG, PAXOS_HEAD(3), 0xdc, 0, 65, 0x95);
    /* The entries field must be an array. */
    EXPECT(WIRE_PAXOS, SMR_EMALFORMED, PAXOS_HEAD(3), 0xc4, 0);
}
END_TEST

START_TEST(test_malformed_batch)
{
    /* A batch: u32 count 1, then client 8B, req 8B, op_len 4B, op. */
    uint8_t good[4 + 20 + 1] = {1, 0, 0, 0};
    good[20] = 1; /* op_len = 1 */
    uint8_t frame[128];
    const uint8_t head[] = {PAXOS_HEAD(3), 0x91, 0x95, 1, 1, 1, 1, 0xc4};
    struct {
        uint8_t batch[32];
        uint8_t len;
        int want;
    } cases[] = {
        {{0}, 25, SMR_OK},
        {{1, 0, 0}, 3, SMR_EMALFORMED},     /* header cut short */
        {{2, 0, 0, 0}, 25, SMR_EMALFORMED}, /* count 2, one entry */
        {{1, 0, 0, 0}, 26, SMR_EMALFORMED}, /* trailing byte */
        {{0, 0, 0, 0}, 4, SMR_OK},          /* zero requests */
        {{0, 0, 0, 0}, 5, SMR_EMALFORMED},  /* zero and a byte */
    };
    memcpy(cases[0].batch, good, sizeof good);
    memcpy(cases[3].batch, good, sizeof good);
    cases[2].batch[20] = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(frame, head, sizeof head);
        frame[sizeof head] = cases[i].len;
        memcpy(frame + sizeof head + 1, cases[i].batch, cases[i].len);
        size_t n = sizeof head + 1 + cases[i].len;
        expect_rc(WIRE_PAXOS, frame, n, cases[i].want);
        /* The same batch in a COMMITTED frame [1, 6, seq, epoch, t, b]. */
        const uint8_t chead[] = {0x96, 1, 6, 1, 1, 1, 0xc4, cases[i].len};
        memcpy(frame, chead, sizeof chead);
        memcpy(frame + sizeof chead, cases[i].batch, cases[i].len);
        expect_rc(WIRE_COMMITTED, frame, sizeof chead + cases[i].len,
                  cases[i].want);
    }
}
END_TEST

START_TEST(test_unknown_type_and_version)
{
    int type = -1;
    /* t10: the first type past the last known one (WIRE_PBFT is 10). */
    const uint8_t t0[] = {0x93, 1, 0, 0},
                  t10[] = {0x93, 1, WIRE_TYPE__MAX + 1, 0},
                  tmax[] = {0x93, 1,    0xcf, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0};
    expect_all(t0, sizeof t0, SMR_ETYPE);
    expect_all(t10, sizeof t10, SMR_ETYPE);
    expect_all(tmax, sizeof tmax, SMR_ETYPE);
    ck_assert_int_eq(wire_peek_type(t10, sizeof t10, &type), SMR_ETYPE);
    ck_assert_int_eq(type, -1); /* unchanged on failure */
    /* Known type, wrong decoder: a SNAPSHOT_REQUIRED frame. */
    const uint8_t snap[] = {0x93, 1, WIRE_SNAPSHOT_REQUIRED, 5};
    for (int t = WIRE_REQUEST; t < WIRE_SNAPSHOT_REQUIRED; t++)
        expect_rc(t, snap, sizeof snap, SMR_ETYPE);
    expect_rc(WIRE_SNAPSHOT_REQUIRED, snap, sizeof snap, SMR_OK);
    ck_assert_int_eq(wire_peek_type(snap, sizeof snap, &type), SMR_OK);
    ck_assert_int_eq(type, WIRE_SNAPSHOT_REQUIRED);
    /* Versions 0, 2 and 2^64-1; a version that is not a uint. */
    const uint8_t v0[] = {0x93, 0, 9, 5}, v2[] = {0x93, 2, 9, 5},
                  vmax[] = {0x93, 0xcf, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 9,    5},
                  vbool[] = {0x93, 0xc3, 9, 5};
    expect_all(v0, sizeof v0, SMR_EVERSION);
    expect_all(v2, sizeof v2, SMR_EVERSION);
    expect_all(vmax, sizeof vmax, SMR_EVERSION);
    expect_all(vbool, sizeof vbool, SMR_EMALFORMED);
    ck_assert_int_eq(wire_peek_type(v2, sizeof v2, &type), SMR_EVERSION);
    ck_assert_str_eq(wire_type_name(WIRE_PAXOS), "PAXOS");
    ck_assert_str_eq(wire_type_name(WIRE_SNAPSHOT_REQUIRED),
                     "SNAPSHOT_REQUIRED");
    ck_assert_str_eq(wire_type_name(0), "UNKNOWN");
    ck_assert_str_eq(wire_type_name(WIRE_TYPE__MAX + 1), "UNKNOWN");
}
END_TEST

START_TEST(test_huge_declared_lengths)
{
    /* Top-level array32 of 2^32-1 elements in 6 bytes. */
    expect_all(FRAME(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), 6, SMR_ETRUNCATED);
    expect_all(FRAME(0xdc, 0xff, 0xff, 0x01, 0x01), 5, SMR_ETRUNCATED);
    /* A bin32 of 4 GiB in a 10-byte REQUEST / COMMITTED / REPLY. */
    EXPECT(WIRE_REQUEST, SMR_ETOOBIG, 0x95, 1, 1, 0, 0, 0xc6, 0xff, 0xff, 0xff,
           0xff);
    EXPECT(WIRE_COMMITTED, SMR_ETOOBIG, 0x96, 1, 6, 0, 0, 0, 0xc6, 0xff, 0xff,
           0xff, 0xff);
    EXPECT(WIRE_REPLY, SMR_ETOOBIG, 0x99, 1, 2, 0, 0, 0, 0, 0, 0xc6, 0x7f, 0xff,
           0xff, 0xff);
    /* A bin within its bound but longer than the frame. */
    EXPECT(WIRE_REQUEST, SMR_ETRUNCATED, 0x95, 1, 1, 0, 0, 0xc6, 0x00, 0x10,
           0x00, 0x00, 'x');
    EXPECT(WIRE_REQUEST, SMR_ETRUNCATED, 0x95, 1, 1, 0, 0, 0xc5, 0xff, 0xff);
    /* PAXOS entries: array32 of 2^32-1, and 64 declared with 1 present. */
    EXPECT(WIRE_PAXOS, SMR_ETOOBIG, PAXOS_HEAD(3), 0xdd, 0xff, 0xff, 0xff,
           0xff);
    EXPECT(WIRE_PAXOS, SMR_ETRUNCATED, PAXOS_HEAD(3), 0xdc, 0, 64, 0x95);
    EXPECT(WIRE_PAXOS, SMR_ETRUNCATED, PAXOS_HEAD(3), 0x91, 0x95, 1, 1, 1, 1,
           0xc6, 0x00, 0x7f, 0xff, 0xff);
    /* A frame longer than any socket accepts. */
    uint8_t *big = calloc(SMR_FRAME_BYTES_MAX + 1, 1);
    ck_assert_ptr_nonnull(big);
    expect_all(big, SMR_FRAME_BYTES_MAX + 1, SMR_ETOOBIG);
    free(big);
}
END_TEST

START_TEST(test_failed_decode_leaves_output)
{
    struct smr_request before, q;
    memset(&before, 0x5a, sizeof before);
    q = before;
    const uint8_t cut[] = {0x95, 1, 1, 5, 6, 0xc4, 3, 'a'};
    ck_assert_int_eq(wire_decode_request(cut, sizeof cut, &q), SMR_ETRUNCATED);
    ck_assert_mem_eq(&q, &before, sizeof q);
    struct ord_paxos_msg pm, pm_before;
    memset(&pm_before, 0x5a, sizeof pm_before);
    pm = pm_before;
    uint64_t cid = 77;
    smr_epoch ep = 88;
    const uint8_t bad[] = {PAXOS_HEAD(0), 0x90};
    ck_assert_int_eq(
        wire_decode_paxos(bad, sizeof bad, &cid, &ep, &pm, scratch),
        SMR_EMALFORMED);
    ck_assert_mem_eq(&pm, &pm_before, sizeof pm);
    ck_assert_uint_eq(cid, 77);
    ck_assert_uint_eq(ep, 88);
}
END_TEST

START_TEST(test_stats)
{
    struct wire_stats s = {0};
    const uint8_t ok[] = {0x93, 1, 3, 0};
    wire_stats_count(&s, wire_decode_status_req(ok, sizeof ok,
                                                &(struct wire_status_req){0}));
    wire_stats_count(
        &s, wire_decode_status_req(ok, 2, &(struct wire_status_req){0}));
    wire_stats_count(&s, wire_peek_type(FRAME(0x93, 2, 3, 0), 4, &(int){0}));
    wire_stats_count(&s, SMR_ETRUNCATED);
    wire_stats_count(&s, SMR_OK);
    wire_stats_count(&s, -5); /* out of range: counted as EINVAL */
    ck_assert_uint_eq(s.accepted, 2);
    ck_assert_uint_eq(s.rejected[SMR_ETRUNCATED], 2);
    ck_assert_uint_eq(s.rejected[SMR_EVERSION], 1);
    ck_assert_uint_eq(s.rejected[SMR_EINVAL], 1);
    ck_assert_uint_eq(s.rejected[SMR_OK], 0);
    ck_assert_uint_eq(wire_stats_rejected_total(&s), 4);
}
END_TEST

START_TEST(test_alloc_watch_works)
{
    /* The no-allocation checks above mean something only if the watch
     * sees allocations. */
    alloc_calls = 0;
    alloc_watch = 1;
    void *volatile p = malloc(16);
    alloc_watch = 0;
    free(p);
    ck_assert_uint_eq(alloc_calls, WATCH_ALLOCS ? 1 : 0);
}
END_TEST

START_TEST(test_zsock_harden_null)
{
    /* Real sockets are exercised by the transport tests; a NULL socket must
     * fail cleanly rather than crash. */
    ck_assert_int_eq(glue_zsock_harden(NULL), SMR_EIO);
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *rt = tcase_create("roundtrip");
    tcase_add_test(rt, test_request_roundtrip);
    tcase_add_test(rt, test_reply_roundtrip);
    tcase_add_test(rt, test_status_roundtrip);
    tcase_add_test(rt, test_paxos_roundtrip);
    tcase_add_test(rt, test_stream_roundtrip);
    tcase_add_test(rt, test_state_frames);
    tcase_add_test(rt, test_replies_bundle);
    tcase_add_test(rt, test_samples_peek_and_check);
    suite_add_tcase(s, rt);
    TCase *bad = tcase_create("hostile");
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, test_truncated_every_offset);
    tcase_add_test(bad, test_byte_flips);
    tcase_add_test(bad, test_trailing_byte);
    tcase_add_test(bad, test_wrong_types);
    tcase_add_test(bad, test_paxos_ranges);
    tcase_add_test(bad, test_malformed_batch);
    tcase_add_test(bad, test_unknown_type_and_version);
    tcase_add_test(bad, test_huge_declared_lengths);
    tcase_add_test(bad, test_failed_decode_leaves_output);
    suite_add_tcase(s, bad);
    TCase *misc = tcase_create("misc");
    tcase_add_test(misc, test_stats);
    tcase_add_test(misc, test_alloc_watch_works);
    tcase_add_test(misc, test_zsock_harden_null);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
