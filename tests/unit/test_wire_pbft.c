/*
 * test_wire_pbft.c: Check suite for the PBFT frame (glue/wire_pbft.c).
 *
 * Realistic messages first: four real ord_pbft cores talk only through the
 * wire (every SEND is encoded, queued as bytes, decoded and delivered), a
 * lagging replica catches up and the primary is cut off, so every message
 * type crosses the wire; each frame must re-encode to its own bytes, and
 * the receivers must accept what was decoded (no MAC, signature or
 * validation failure, and the cluster commits, catches up and changes
 * view). Then hand-built frames: maximal counts, bounds, malformed
 * request tags, MAC vectors and bodies, truncation at every offset, byte
 * flips through the round-trip oracle (tests/fuzz/wire_check.h), huge
 * declared counts, and no allocation while decoding.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/wire_check.h"
#include "../fuzz/wire_samples.h"
#include "wire_pbft.h"

/* ---- Allocation watch (as in test_wire.c) ------------------------------ */

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

static struct wire_pbft_store STORE, STORE2;

static int decode_watched(const uint8_t *f, size_t len, struct ord_pbft_msg *m)
{
    uint64_t cid;
    smr_epoch ep;
    alloc_calls = 0;
    alloc_watch = 1;
    int rc = wire_decode_pbft(f, len, &cid, &ep, m, &STORE);
    alloc_watch = 0;
    ck_assert_msg(alloc_calls == 0, "PBFT decoder allocated");
    return rc;
}

/* ---- Four cores over the wire ------------------------------------------ */

#define N 4
#define LOG_MAX 256
#define QUEUE_MAX 4096
#define CLUSTER 0xC1
#define EPOCH 3

struct frame {
    smr_node_id to;
    struct smr_buf bytes;
};

static struct {
    struct ord_pbft *core[N];
    struct smr_buf log[N][LOG_MAX]; /* in-memory log records by seq */
    uint64_t timer_at[N][3];
    uint64_t timer_gen[N][3];
    uint64_t now_ms;
    uint32_t cut; /* bit i: replica i neither sends nor receives */
    struct frame q[QUEUE_MAX];
    size_t q_head, q_len;
    unsigned seen[ORD_PBFT_MSG__MAX + 1]; /* delivered, by type */
    uint64_t commits[N];
    uint8_t pk[N][ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t sk[N][ORD_PBFT_SECRET_KEY_BYTES];
    uint8_t root[N][ORD_PBFT_KEY_BYTES];
    /* the client CA, and client 9's block (0) signing key certified by it */
    uint8_t ca_pk[ORD_PBFT_PUBLIC_KEY_BYTES], ca_sk[ORD_PBFT_SECRET_KEY_BYTES];
    uint8_t block_pk[ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t block_sk[ORD_PBFT_SECRET_KEY_BYTES];
    uint8_t cert[ORD_PBFT_SIG_BYTES];
} C;

static void q_push(smr_node_id to, const struct ord_pbft_msg *m)
{
    ck_assert_uint_lt(C.q_len, QUEUE_MAX);
    struct frame *fr = &C.q[(C.q_head + C.q_len++) % QUEUE_MAX];
    fr->to = to;
    smr_buf_init(&fr->bytes);
    ck_assert_int_eq(wire_encode_pbft(&fr->bytes, CLUSTER, EPOCH, m), SMR_OK);
}

static void step(smr_node_id id, const struct ord_event *ev);

static void serve_fetch(smr_node_id id, const struct ord_output *o)
{
    struct ord_pbft_entry es[ORD_PBFT_ENTRIES_MAX];
    uint32_t cnt = 0;
    for (smr_seq s = o->u.fetch.from_seq;
         s <= o->u.fetch.to_seq && s < LOG_MAX && cnt < ORD_PBFT_ENTRIES_MAX;
         s++) {
        const struct smr_buf *b = &C.log[id][s];
        if (ord_pbft_record_committed(b->data, b->len, s, &es[cnt]) != SMR_OK)
            break;
        cnt++;
    }
    if (!cnt)
        return;
    struct ord_pbft_msg m = {
        .type = ORD_PBFT_CATCHUP, .n_entries = cnt, .entries = es};
    ord_pbft_seal(C.core[id], &m);
    if (!(C.cut & (1u << id)))
        q_push(o->u.fetch.to, &m);
}

static void apply(smr_node_id id, const struct ord_output *o, size_t n)
{
    smr_lsn persisted = 0;
    for (size_t i = 0; i < n; i++) {
        switch (o[i].type) {
        case ORD_OUT_SEND:
            for (smr_node_id to = 0; to < N; to++)
                if (to != id && !(C.cut & (1u << id)) &&
                    (o[i].u.send.to == ORD_TO_ALL || o[i].u.send.to == to))
                    q_push(to, o[i].u.send.msg);
            break;
        case ORD_OUT_PERSIST:
            if (o[i].u.persist.is_log) {
                ck_assert_uint_lt(o[i].u.persist.index, LOG_MAX);
                struct smr_buf *b = &C.log[id][o[i].u.persist.index];
                smr_buf_reset(b);
                ck_assert_int_eq(
                    smr_buf_append(b, o[i].u.persist.data, o[i].u.persist.len),
                    SMR_OK);
            }
            persisted = o[i].u.persist.lsn;
            break;
        case ORD_OUT_TIMER:
            C.timer_at[id][o[i].u.timer.id] =
                C.now_ms + (o[i].u.timer.after_ms ? o[i].u.timer.after_ms : 1);
            C.timer_gen[id][o[i].u.timer.id] = o[i].u.timer.generation;
            break;
        case ORD_OUT_COMMIT:
            C.commits[id]++;
            break;
        case ORD_OUT_FETCH:
            serve_fetch(id, &o[i]);
            break;
        default:
            break;
        }
    }
    if (persisted) { /* a store that is durable at once */
        struct ord_event ev = {.type = ORD_EV_PERSISTED};
        ev.u.persisted.lsn = persisted;
        step(id, &ev);
    }
}

static void step(smr_node_id id, const struct ord_event *ev)
{
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_pbft_step(C.core[id], C.now_ms, ev, &o, &n), SMR_OK);
    apply(id, o, n);
}

static bool auth_failures(void)
{
    for (smr_node_id i = 0; i < N; i++) {
        struct ord_pbft_stats s;
        ord_pbft_get_stats(C.core[i], &s);
        if (s.bad_mac || s.bad_sig || s.invalid || s.bad_new_view)
            return true;
    }
    return false;
}

/* Decodes one queued frame, checks it is canonical, delivers it. */
static void deliver(struct frame *fr)
{
    struct ord_pbft_msg m;
    uint64_t cid;
    smr_epoch ep;
    struct smr_buf again;
    smr_buf_init(&again);
    ck_assert_int_eq(
        wire_check_frame(fr->bytes.data, fr->bytes.len, WIRE_FAMILY_ALL),
        WC_DECODED);
    ck_assert_int_eq(
        wire_decode_pbft(fr->bytes.data, fr->bytes.len, &cid, &ep, &m, &STORE),
        SMR_OK);
    ck_assert_uint_eq(cid, CLUSTER);
    ck_assert_uint_eq(ep, EPOCH);
    ck_assert_int_eq(wire_encode_pbft(&again, cid, ep, &m), SMR_OK);
    ck_assert(
        wc_bytes_eq(again.data, again.len, fr->bytes.data, fr->bytes.len));
    smr_buf_free(&again);
    if (!(C.cut & (1u << fr->to))) {
        C.seen[m.type]++;
        struct ord_event ev = {.type = ORD_EV_MESSAGE};
        ev.u.message.from = m.from;
        ev.u.message.msg = &m;
        step(fr->to, &ev);
        ck_assert_msg(!auth_failures(), "type %d refused after decoding",
                      m.type);
    }
}

static void drain(void)
{
    for (unsigned k = 0; C.q_len && k < 100000; k++) {
        struct frame fr = C.q[C.q_head];
        C.q_head = (C.q_head + 1) % QUEUE_MAX;
        C.q_len--;
        deliver(&fr);
        smr_buf_free(&fr.bytes);
    }
    ck_assert_uint_eq(C.q_len, 0);
}

/* Advances time by `ms`, firing timers and draining the network. */
static void run_ms(uint64_t ms)
{
    for (uint64_t end = C.now_ms + ms; C.now_ms < end;) {
        C.now_ms += 10;
        for (smr_node_id i = 0; i < N; i++)
            for (uint32_t t = 1; t <= 2; t++)
                if (C.timer_at[i][t] && C.timer_at[i][t] <= C.now_ms) {
                    C.timer_at[i][t] = 0;
                    struct ord_event ev = {.type = ORD_EV_TIMER};
                    ev.u.timer.id = t;
                    ev.u.timer.generation = C.timer_gen[i][t];
                    step(i, &ev);
                }
        drain();
    }
}

/* A client request, MACed for every replica, sent over the wire to `to`. */
/* Client 9's request `req` to replica `to`; `sign` as a retransmission. */
static void client_request_to(smr_node_id to, smr_req_id req, bool sign)
{
    uint8_t proof[ORD_PBFT_PROOF_BYTES];
    uint8_t op[24], keys[N][ORD_PBFT_KEY_BYTES];
    memset(op, (int)req, sizeof op);
    struct smr_request r = {9, req, op, sizeof op};
    struct ord_pbft_msg m = {.type = ORD_PBFT_REQUEST,
                             .from = ORD_PBFT_FROM_CLIENT,
                             .client_id = 9,
                             .req_id = req,
                             .op = op,
                             .op_len = sizeof op};
    for (smr_node_id i = 0; i < N; i++)
        ord_pbft_client_key(C.root[i], 9, keys[i]);
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])keys, N,
                          CLUSTER, &r, m.mac);
    if (sign) {
        ord_pbft_request_sign(C.block_sk, C.cert, CLUSTER, &r, proof);
        m.proof = proof;
    }
    q_push(to, &m);
    drain();
    struct ord_event fl = {.type = ORD_EV_FLUSH};
    step(to, &fl);
    drain();
}

static void client_request(smr_node_id to, smr_req_id req)
{
    client_request_to(to, req, false);
}

static void cluster_start(void)
{
    memset(&C, 0, sizeof C);
    ck_assert_int_ge(sodium_init(), 0);
    for (smr_node_id i = 0; i < N; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0x77};
        crypto_sign_seed_keypair(C.pk[i], C.sk[i], seed);
        memset(C.root[i], 0x20 + (int)i, ORD_PBFT_KEY_BYTES);
        seed[1] = 0xca;
        crypto_sign_seed_keypair(C.ca_pk, C.ca_sk, seed);
        seed[1] = 0xb0;
        crypto_sign_seed_keypair(C.block_pk, C.block_sk, seed);
        ord_pbft_client_cert(C.ca_sk, 0, C.block_pk, C.cert);
        for (smr_seq s = 0; s < LOG_MAX; s++)
            smr_buf_init(&C.log[i][s]);
    }
    for (smr_node_id i = 0; i < N; i++) {
        struct ord_pbft_config c;
        ord_pbft_config_defaults(&c);
        c.self = i;
        c.n_replicas = N;
        c.cluster_id = CLUSTER;
        c.epoch = EPOCH;
        c.checkpoint_interval = 4;
        c.window = 16;
        c.batch_max = 2;
        c.view_timeout_ms = 300;
        c.status_ms = 50;
        memcpy(c.secret_key, C.sk[i], sizeof c.secret_key);
        memcpy(c.public_keys, C.pk, sizeof C.pk);
        memcpy(c.client_key_root, C.root[i], ORD_PBFT_KEY_BYTES);
        memcpy(c.client_ca_key, C.ca_pk, ORD_PBFT_PUBLIC_KEY_BYTES);
        ck_assert_int_eq(ord_pbft_new(&c, &C.core[i]), SMR_OK);
    }
    for (smr_node_id i = 0; i < N; i++) {
        const struct ord_output *o;
        size_t n;
        ck_assert_int_eq(ord_pbft_start(C.core[i], C.now_ms, &o, &n), SMR_OK);
        apply(i, o, n);
    }
    drain();
}

static void cluster_free(void)
{
    for (smr_node_id i = 0; i < N; i++) {
        ord_pbft_destroy(&C.core[i]);
        for (smr_seq s = 0; s < LOG_MAX; s++)
            smr_buf_free(&C.log[i][s]);
    }
}

START_TEST(test_cores_over_wire)
{
    cluster_start();
    /* Replica 3 is cut off while 0, 1, 2 order 20 requests (a quorum). */
    C.cut = 1u << 3;
    for (smr_req_id r = 1; r <= 20; r++)
        client_request(0, r);
    run_ms(200);
    smr_seq done = ord_pbft_commit_upto(C.core[0]);
    ck_assert_uint_ge(done, 8);
    ck_assert_uint_eq(ord_pbft_commit_upto(C.core[3]), 0);
    /* It comes back and catches up through STATUS and CATCHUP. */
    C.cut = 0;
    run_ms(1000);
    ck_assert_uint_eq(ord_pbft_commit_upto(C.core[3]),
                      ord_pbft_commit_upto(C.core[0]));
    /* The primary goes silent; a request retransmitted (signed) to the
     * backups waits there: view change. */
    C.cut = 1u << 0;
    for (smr_node_id i = 1; i < N; i++)
        client_request_to(i, 100, true);
    run_ms(3000);
    for (smr_node_id i = 1; i < N; i++) {
        ck_assert_uint_ge(ord_pbft_view(C.core[i]), 1);
        ck_assert(ord_pbft_view_active(C.core[i]));
    }
    client_request(ord_pbft_primary(C.core[1]), 101);
    run_ms(500);
    ck_assert_uint_gt(ord_pbft_commit_upto(C.core[1]), done);
    for (int t = ORD_PBFT_REQUEST; t <= ORD_PBFT_MSG__MAX; t++)
        ck_assert_msg(C.seen[t] > 0, "no message of type %d crossed", t);
    ck_assert(!auth_failures());
    cluster_free();
}
END_TEST

/* A tampered frame that still decodes is refused by the core: the wire
 * restores what the MAC covers, nothing more. */
START_TEST(test_tampered_frame_refused)
{
    cluster_start();
    client_request(0, 1);
    /* Replay the primary's PRE-PREPARE with its digest changed. */
    struct ord_pbft_msg pp = {
        .type = ORD_PBFT_PRE_PREPARE, .view = 0, .seq = 1};
    ord_pbft_seal(C.core[0], &pp);
    struct smr_buf f;
    smr_buf_init(&f);
    ck_assert_int_eq(wire_encode_pbft(&f, CLUSTER, EPOCH, &pp), SMR_OK);
    struct ord_pbft_msg m;
    ck_assert_int_eq(decode_watched(f.data, f.len, &m), SMR_OK);
    m.digest[0] ^= 1;
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = m.from;
    ev.u.message.msg = &m;
    struct ord_pbft_stats before, after;
    ord_pbft_get_stats(C.core[1], &before);
    step(1, &ev);
    ord_pbft_get_stats(C.core[1], &after);
    ck_assert_uint_eq(after.bad_mac, before.bad_mac + 1);
    smr_buf_free(&f);
    drain();
    cluster_free();
}
END_TEST

/* ---- Hand-built frames ------------------------------------------------- */

START_TEST(test_samples_roundtrip)
{
    static struct wire_samples w;
    wire_samples_build(&w);
    unsigned pbft = 0, types = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (w.s[i].type != WIRE_PBFT)
            continue;
        const struct smr_buf *f = &w.s[i].frame;
        struct ord_pbft_msg m;
        int type = 0;
        ck_assert_int_eq(wire_peek_type(f->data, f->len, &type), SMR_OK);
        ck_assert_int_eq(type, WIRE_PBFT);
        ck_assert_int_eq(decode_watched(f->data, f->len, &m), SMR_OK);
        types |= 1u << m.type;
        ck_assert_int_eq(wire_check_frame(f->data, f->len, WIRE_FAMILY_ALL),
                         WC_DECODED);
        pbft++;
    }
    ck_assert_uint_ge(pbft, 15);
    for (int t = ORD_PBFT_REQUEST; t <= ORD_PBFT_MSG__MAX; t++)
        ck_assert_msg(types & (1u << t), "no sample of type %d", t);
    wire_samples_free(&w);
}
END_TEST

/* The largest view change and new view the bounds allow. */
START_TEST(test_maximal_view_messages)
{
    static struct ord_pbft_cert certs[WIRE_PBFT_VC_CERTS_MAX];
    static struct ord_pbft_entry bodies[ORD_PBFT_CAP];
    static struct ord_pbft_view_change vcs[SMR_NODES_MAX];
    for (uint32_t i = 0; i < WIRE_PBFT_VC_CERTS_MAX; i++) {
        certs[i].seq = UINT64_MAX - i;
        certs[i].view = i;
        memset(certs[i].digest, (int)i, SMR_DIGEST_BYTES);
    }
    for (uint32_t i = 0; i < ORD_PBFT_CAP; i++)
        bodies[i] = (struct ord_pbft_entry){i, UINT64_MAX, NULL, 0};
    struct ord_pbft_view_change vc = {
        .from = 15,
        .view = UINT64_MAX,
        .stable = 1,
        .n_ckpts = ORD_PBFT_CKPTS_MAX,
        .ckpts = certs,
        .n_prepared = ORD_PBFT_CAP,
        .prepared = certs + ORD_PBFT_CKPTS_MAX,
        .n_preprepared = ORD_PBFT_CAP * ORD_PBFT_Q_MAX,
        .preprepared = certs + ORD_PBFT_CKPTS_MAX + ORD_PBFT_CAP,
        .bodies = bodies};
    memset(vc.sig, 0xa5, sizeof vc.sig);
    struct ord_pbft_msg m = {
        .type = ORD_PBFT_VIEW_CHANGE, .from = 15, .vc = &vc};
    struct smr_buf f;
    smr_buf_init(&f);
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_OK);
    ck_assert_int_eq(wire_check_frame(f.data, f.len, WIRE_FAMILY_PBFT),
                     WC_DECODED);
    struct ord_pbft_msg d;
    ck_assert_int_eq(decode_watched(f.data, f.len, &d), SMR_OK);
    ck_assert(wc_vc_eq(&vc, d.vc, true));
    /* One over each bound: refused by the encoder. */
    vc.n_ckpts++;
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_ETOOBIG);
    ck_assert_uint_eq(f.len, 0);
    vc.n_ckpts--;
    vc.bodies = NULL;
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_EINVAL);
    vc.bodies = bodies;
    /* A NEW-VIEW of SMR_NODES_MAX full view changes and ORD_PBFT_CAP
     * choices. */
    for (uint32_t i = 0; i < SMR_NODES_MAX; i++) {
        vcs[i] = vc;
        vcs[i].from = i;
        vcs[i].bodies = NULL;
    }
    struct ord_pbft_new_view nv = {.from = 3,
                                   .view = 7,
                                   .n_vcs = SMR_NODES_MAX,
                                   .vcs = vcs,
                                   .ckpt = certs[0],
                                   .n_chosen = ORD_PBFT_CAP,
                                   .chosen = certs + 1,
                                   .bodies = bodies};
    memset(nv.sig, 0x5a, sizeof nv.sig);
    m = (struct ord_pbft_msg){.type = ORD_PBFT_NEW_VIEW, .from = 3, .nv = &nv};
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_OK);
    ck_assert_uint_le(f.len, SMR_FRAME_BYTES_MAX);
    ck_assert_int_eq(wire_check_frame(f.data, f.len, WIRE_FAMILY_PBFT),
                     WC_DECODED);
    ck_assert_int_eq(decode_watched(f.data, f.len, &d), SMR_OK);
    ck_assert(wc_nv_eq(&nv, d.nv));
    nv.n_chosen++;
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_ETOOBIG);
    nv.n_chosen--;
    nv.n_vcs++;
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 2, &m), SMR_ETOOBIG);
    smr_buf_free(&f);
}
END_TEST

/* Frames built by hand: `[1, 10, 0, 0, type, from 0, view 0, seq 0,`
 * then the body and the MAC bin. */
#define HEAD(type) 0x9a, 1, WIRE_PBFT, 0, 0, (type), 0, 0, 0
#define D32                                                                    \
    0xc4, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define Z8 0, 0, 0, 0, 0, 0, 0, 0
#define SIG64 0xc4, 64, Z8, Z8, Z8, Z8, Z8, Z8, Z8, Z8
#define EXPECT(want, ...)                                                      \
    do {                                                                       \
        const uint8_t f_[] = {__VA_ARGS__};                                    \
        struct ord_pbft_msg m_;                                                \
        int rc_ = decode_watched(f_, sizeof f_, &m_);                          \
        ck_assert_msg(rc_ == (want), "line %d: got %s want %s", __LINE__,      \
                      smr_strerror(rc_), smr_strerror(want));                  \
        ck_assert_int_ne(wire_check_frame(f_, sizeof f_, WIRE_FAMILY_ALL),     \
                         WC_BROKEN);                                           \
    } while (0)

START_TEST(test_hand_built)
{
    /* A PREPARE: the smallest valid frame, then each field wrong. */
    EXPECT(SMR_OK, HEAD(3), 0x91, D32, 0xc4, 0);
    EXPECT(SMR_OK, HEAD(3), 0x91, D32, 0xc4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
           11, 12, 13, 14, 15, 16);
    EXPECT(SMR_EMALFORMED, HEAD(3), 0x91, D32, 0xc4, 3, 1, 2, 3); /* tags */
    EXPECT(SMR_ETOOBIG, HEAD(3), 0x91, D32, 0xc5, 0x01, 0x10);    /* 17 tags */
    EXPECT(SMR_EMALFORMED, HEAD(3), 0x92, D32, 0, 0xc4, 0);       /* body */
    EXPECT(SMR_EMALFORMED, HEAD(3), 0x91, 0xc4, 1, 0, 0xc4, 0);   /* digest */
    EXPECT(SMR_ETOOBIG, HEAD(3), 0x91, 0xc4, 33, 0, 0xc4, 0);
    EXPECT(SMR_EMALFORMED, HEAD(0), 0x91, D32, 0xc4, 0); /* type 0 */
    EXPECT(SMR_EMALFORMED, HEAD(10), 0x91, D32, 0xc4, 0);
    EXPECT(SMR_EMALFORMED, HEAD(3), 0x91, D32, 0xc4, 0, 0); /* trailing */
    EXPECT(SMR_EMALFORMED, 0x9b, 1, WIRE_PBFT, 0, 0, 3, 0, 0, 0, 0x91, D32,
           0xc4, 0, 0); /* 11 fields */
    EXPECT(SMR_ETYPE, 0x9a, 1, WIRE_PAXOS, 0, 0, 3, 0, 0, 0, 0x91, D32, 0xc4,
           0);
    /* from is a u32: 2^32 is out of range. */
    EXPECT(SMR_EMALFORMED, 0x9a, 1, WIRE_PBFT, 0, 0, 3, 0xcf, 0, 0, 0, 1, 0, 0,
           0, 0, 0, 0, 0x91, D32, 0xc4, 0);
    /* STATUS: active must be a bool. */
    EXPECT(SMR_OK, HEAD(8), 0x97, 0xc3, 1, 2, 3, 4, D32, D32, 0xc4, 0);
    EXPECT(SMR_EMALFORMED, HEAD(8), 0x97, 1, 1, 2, 3, 4, D32, D32, 0xc4, 0);
    /* ... and the snapshot claim's digests are 32 bytes each. */
    EXPECT(SMR_EMALFORMED, HEAD(8), 0x97, 0xc3, 1, 2, 3, 4, 0xc4, 1, 0, D32,
           0xc4, 0);
    /* The older three-field STATUS is refused. */
    EXPECT(SMR_EMALFORMED, HEAD(8), 0x93, 0xc3, 1, 2, 0xc4, 0);
    /* PRE-PREPARE of the no-op batch, without request tags (tag counts:
     * test_request_tags). */
    EXPECT(SMR_OK, HEAD(2), 0x94, D32, 0, 0xc4, 0, 0xc4, 0, 0xc4, 0);
    /* CATCHUP with an invalid batch (one byte that is no batch). */
    EXPECT(SMR_EMALFORMED, HEAD(9), 0x91, 0x91, 0x93, 1, 1, 0xc4, 1, 0xff, 0xc4,
           0);
    /* VIEW-CHANGE: one prepared certificate but no body. */
    EXPECT(SMR_EMALFORMED, HEAD(6), 0x98, 0, 1, 0, 0x90, 0x91, 0x93, 1, 0, D32,
           0x90, SIG64, 0x90, 0xc4, 0);
    /* ... and with its body: valid. */
    EXPECT(SMR_OK, HEAD(6), 0x98, 0, 1, 0, 0x90, 0x91, 0x93, 1, 0, D32, 0x90,
           SIG64, 0x91, 0x93, 1, 0, 0xc4, 0, 0xc4, 0);
}
END_TEST

START_TEST(test_request_tags)
{
    static struct wire_samples w;
    wire_samples_build(&w);
    const struct smr_buf *one = &w.batch[2], *none = &w.batch[0];
    static uint8_t auth[3 * SMR_NODES_MAX * ORD_PBFT_MAC_BYTES];
    struct ord_pbft_msg m = {.type = ORD_PBFT_PRE_PREPARE,
                             .batch = one->data,
                             .batch_len = (uint32_t)one->len,
                             .req_auth = auth};
    struct smr_buf f;
    smr_buf_init(&f);
    static const struct {
        uint32_t len;
        int want;
    } cases[] = {
        {0, SMR_OK},
        {ORD_PBFT_MAC_BYTES, SMR_OK},
        {4 * ORD_PBFT_MAC_BYTES, SMR_OK},
        {SMR_NODES_MAX * ORD_PBFT_MAC_BYTES, SMR_OK},
        /* The layout against n is the core's to check (test_ord_pbft_clients);
         * the frame bounds a request's share: 16 tags and one proof. */
        {ORD_PBFT_MAC_BYTES + 8, SMR_OK},
        {SMR_NODES_MAX * ORD_PBFT_MAC_BYTES + ORD_PBFT_PROOF_ENTRY_BYTES,
         SMR_OK},
        {SMR_NODES_MAX * ORD_PBFT_MAC_BYTES + ORD_PBFT_PROOF_ENTRY_BYTES + 1,
         SMR_ETOOBIG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ord_pbft_msg d;
        m.req_auth_len = cases[i].len;
        ck_assert_int_eq(wire_encode_pbft(&f, 1, 1, &m), SMR_OK);
        ck_assert_int_eq(decode_watched(f.data, f.len, &d), cases[i].want);
    }
    m.batch = none->data;
    m.batch_len = (uint32_t)none->len;
    m.req_auth_len = ORD_PBFT_MAC_BYTES;
    ck_assert_int_eq(wire_encode_pbft(&f, 1, 1, &m), SMR_OK);
    ck_assert_int_eq(decode_watched(f.data, f.len, &(struct ord_pbft_msg){0}),
                     SMR_ETOOBIG);
    smr_buf_free(&f);
    wire_samples_free(&w);
}
END_TEST

START_TEST(test_truncation_and_flips)
{
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0x90,
                                     0x9f, 0xc2, 0xc3, 0xc4, 0xc5,
                                     0xc6, 0xcf, 0xdc, 0xdd, 0xff};
    static struct wire_samples w;
    wire_samples_build(&w);
    unsigned long decoded = 0, rejected = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (w.s[i].type != WIRE_PBFT)
            continue;
        const struct smr_buf *f = &w.s[i].frame;
        struct ord_pbft_msg m;
        for (size_t cut = 0; cut < f->len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, f->data, cut);
            ck_assert_int_eq(decode_watched(p, cut, &m), SMR_ETRUNCATED);
            free(p);
        }
        uint8_t *p = malloc(f->len);
        memcpy(p, f->data, f->len);
        for (size_t off = 0; off < f->len; off++) {
            for (size_t v = 0; v <= sizeof values; v++) {
                p[off] = v < sizeof values ? values[v] : f->data[off] ^ 0x01;
                decode_watched(p, f->len, &m);
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

START_TEST(test_huge_declared_counts)
{
    /* CATCHUP entries: array32 of 2^32-1, 65 (over the bound), 64 with one
     * present. */
    EXPECT(SMR_ETOOBIG, HEAD(9), 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff);
    EXPECT(SMR_ETOOBIG, HEAD(9), 0x91, 0xdc, 0, 65, 0x93);
    EXPECT(SMR_ETRUNCATED, HEAD(9), 0x91, 0xdc, 0, 64, 0x93);
    /* A batch of 4 GiB, an op of 4 GiB, a MAC vector of 4 GiB. */
    EXPECT(SMR_ETOOBIG, HEAD(9), 0x91, 0x91, 0x93, 1, 1, 0xc6, 0xff, 0xff, 0xff,
           0xff);
    EXPECT(SMR_ETOOBIG, HEAD(1), 0x94, 0, 0, 0xc6, 0xff, 0xff, 0xff, 0xff);
    EXPECT(SMR_ETOOBIG, HEAD(3), 0x91, D32, 0xc6, 0xff, 0xff, 0xff, 0xff);
    /* An op within its bound but longer than the frame. */
    EXPECT(SMR_ETRUNCATED, HEAD(1), 0x94, 0, 0, 0xc6, 0, 0x10, 0, 0, 'x');
    /* VIEW-CHANGE: 2^32-1 checkpoints, 17, and a Q of 2^16-1. */
    EXPECT(SMR_ETOOBIG, HEAD(6), 0x98, 0, 1, 0, 0xdd, 0xff, 0xff, 0xff, 0xff);
    EXPECT(SMR_ETOOBIG, HEAD(6), 0x98, 0, 1, 0, 0xdc, 0, 17, 0x93, 0x93);
    EXPECT(SMR_ETOOBIG, HEAD(6), 0x98, 0, 1, 0, 0x90, 0x90, 0xdc, 0xff, 0xff,
           0x93);
    EXPECT(SMR_ETRUNCATED, HEAD(6), 0x98, 0, 1, 0, 0x90, 0x90, 0xdc, 0x08, 0x00,
           0x93);
    /* NEW-VIEW: 17 view changes, 2^32-1 choices. */
    EXPECT(SMR_ETOOBIG, HEAD(7), 0x97, 0, 1, 0xdc, 0, 17, 0x97, 0x97);
    EXPECT(SMR_ETOOBIG, HEAD(7), 0x97, 0, 1, 0x90, 0x93, 0, 0, D32, 0xdd, 0xff,
           0xff, 0xff, 0xff);
    /* Top level: array32 of 2^32-1 elements. */
    EXPECT(SMR_ETRUNCATED, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01);
    /* A frame longer than any socket accepts. */
    uint8_t *big = calloc(SMR_FRAME_BYTES_MAX + 1, 1);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(
        decode_watched(big, SMR_FRAME_BYTES_MAX + 1, &(struct ord_pbft_msg){0}),
        SMR_ETOOBIG);
    free(big);
}
END_TEST

START_TEST(test_failed_decode_leaves_output)
{
    const uint8_t bad[] = {HEAD(3), 0x91, D32, 0xc4, 3, 1, 2, 3};
    struct ord_pbft_msg m;
    memset(&m, 0x5c, sizeof m);
    struct ord_pbft_msg before = m;
    uint64_t cid = 77;
    smr_epoch ep = 88;
    ck_assert_int_eq(wire_decode_pbft(bad, sizeof bad, &cid, &ep, &m, &STORE2),
                     SMR_EMALFORMED);
    ck_assert(memcmp(&m, &before, sizeof m) == 0);
    ck_assert_uint_eq(cid, 77);
    ck_assert_uint_eq(ep, 88);
}
END_TEST

START_TEST(test_alloc_watch_works)
{
    alloc_calls = 0;
    alloc_watch = 1;
    void *volatile p = malloc(16);
    alloc_watch = 0;
    free(p);
    ck_assert_uint_eq(alloc_calls, WATCH_ALLOCS ? 1 : 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wire_pbft");
    TCase *cores = tcase_create("cores");
    tcase_set_timeout(cores, 120);
    tcase_add_test(cores, test_cores_over_wire);
    tcase_add_test(cores, test_tampered_frame_refused);
    suite_add_tcase(s, cores);
    TCase *frames = tcase_create("frames");
    tcase_set_timeout(frames, 120);
    tcase_add_test(frames, test_samples_roundtrip);
    tcase_add_test(frames, test_maximal_view_messages);
    tcase_add_test(frames, test_hand_built);
    tcase_add_test(frames, test_request_tags);
    tcase_add_test(frames, test_truncation_and_flips);
    tcase_add_test(frames, test_huge_declared_counts);
    tcase_add_test(frames, test_failed_decode_leaves_output);
    tcase_add_test(frames, test_alloc_watch_works);
    suite_add_tcase(s, frames);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
