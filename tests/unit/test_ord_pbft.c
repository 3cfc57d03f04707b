/*
 * test_ord_pbft.c: the PBFT core in a deterministic harness.
 *
 * One thread drives n = 4 or 7 cores on a virtual clock: a seeded network
 * that drops, duplicates, delays (hence reorders) and partitions messages;
 * per replica an in-memory store (storage/sto_mem.c) whose syncs complete
 * after a delay and whose crash keeps a random subset of unsynced writes;
 * clients that send MAC-authenticated requests to the primary and multicast
 * their retries. Up to f replicas are Byzantine: each runs a real core
 * whose outgoing messages the harness corrupts according to the behaviours
 * drawn for the seed (silence, an equivocating primary, conflicting votes,
 * forged and corrupted MACs, replayed old messages, view and seq numbers
 * moved by one, a primary that stalls or ignores a client, fabricated
 * view changes, new views and catch-up values).
 *
 * After every event the harness checks, among the correct replicas:
 *  - agreement: no two commit different values (epoch, leader time,
 *    batch) at one seq, and each Committed stream is gap-free;
 *  - durability: after a restart, every PREPARE / COMMIT / VIEW-CHANGE a
 *    replica sent is covered by what it recovered (the pre-prepare, the
 *    prepared certificate, the view);
 *  - the driver's half of the durability rule: a send with after_lsn is
 *    held until that LSN is durable.
 * At the end, after the faults stop (Byzantine replicas keep misbehaving),
 * every request must be committed and every correct replica must reach the
 * highest commit point: liveness after view changes.
 *
 * PBFT_SEED=N replays seed N; PBFT_SEEDS sets how many seeds run;
 * PBFT_STATS=1 prints coverage counts; PBFT_DEBUG=1 prints state on a
 * failure. The self-tests show the harness can fail: deliberately broken
 * cores (ord_pbft_mutant) and f+1 colluding replicas must be caught.
 */
#include <check.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbft.h"
#include "pbft_internal.h" /* the durability oracle inspects recovered slots */
#include "sto.h"

#define NODES_MAX 7
#define CLIENTS_MAX 4
#define ACKED_MAX 4096 /* request ids a client may reach */
#define SEQ_MAX 8192
#define REPLAY_MAX 64

/* ------------------------------------------------------------ rng */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    return smr_rng_next(&rng_state);
}
static bool chance(unsigned permille)
{
    return rnd() % 1000 < permille;
}

/* ------------------------------------------------------------ keys */

static uint8_t PK[NODES_MAX][ORD_PBFT_PUBLIC_KEY_BYTES];
static uint8_t SK[NODES_MAX][ORD_PBFT_SECRET_KEY_BYTES];
static uint8_t ROOT[NODES_MAX][ORD_PBFT_KEY_BYTES];
static uint8_t CKEY[CLIENTS_MAX][NODES_MAX][ORD_PBFT_KEY_BYTES];
/* The client CA, and the signing key of block 0 (the clients' ids) with
 * its certificate: clients sign their retransmissions. */
static uint8_t CA_PK[ORD_PBFT_PUBLIC_KEY_BYTES], CA_SK[ORD_PBFT_SECRET_KEY_BYTES];
static uint8_t BLOCK_PK[ORD_PBFT_PUBLIC_KEY_BYTES];
static uint8_t BLOCK_SK[ORD_PBFT_SECRET_KEY_BYTES];
static uint8_t CERT[ORD_PBFT_SIG_BYTES];

static void keys_init(void)
{
    static bool done;
    if (done)
        return;
    ck_assert_int_ge(sodium_init(), 0);
    for (int i = 0; i < NODES_MAX; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0x5e, 0xed};
        crypto_sign_seed_keypair(PK[i], SK[i], seed);
        memset(ROOT[i], 0x40 + i, sizeof ROOT[i]);
    }
    for (int c = 0; c < CLIENTS_MAX; c++)
        for (int i = 0; i < NODES_MAX; i++)
            ord_pbft_client_key(ROOT[i], (smr_client_id)c, CKEY[c][i]);
    uint8_t seed[32] = {0xca};
    crypto_sign_seed_keypair(CA_PK, CA_SK, seed);
    seed[0] = 0xb0;
    crypto_sign_seed_keypair(BLOCK_PK, BLOCK_SK, seed);
    ord_pbft_client_cert(CA_SK, 0, BLOCK_PK, CERT);
    done = true;
}

/* ------------------------------------------------------------ state */

/* Byzantine behaviours (a bitmask per replica; 0 = correct). */
enum {
    BYZ_SILENT = 1 << 0,     /* sends nothing */
    BYZ_EQUIVOCATE = 1 << 1, /* different pre-prepares to different backups */
    BYZ_CONFLICT = 1 << 2,   /* PREPARE / COMMIT with other digests */
    BYZ_FORGE = 1 << 3,      /* messages as another replica; bad MAC slots */
    BYZ_REPLAY = 1 << 4,     /* old messages, its own and others' */
    BYZ_MUTATE = 1 << 5,     /* view / seq moved by one, resealed */
    BYZ_STALL = 1 << 6,      /* as primary: drops most pre-prepares */
    BYZ_SELECT = 1 << 7,     /* as primary: ignores client 0 */
    BYZ_BAD_VC = 1 << 8,     /* view changes with fabricated P / Q */
    BYZ_BAD_NV = 1 << 9,     /* new views with a fabricated value */
    BYZ_LIE = 1 << 10,       /* fabricated catch-up values and checkpoints */
    BYZ_COLLUDE = 1 << 11,   /* votes for whatever each backup was sent */
    BYZ__ALL = (1 << 12) - 1,
    /* Not drawn at random (test_ord_pbft_clients.c): */
    BYZ_BAD_TAGS = 1 << 12, /* as primary: a client tag wrong for odd ids */
};

struct timer {
    uint64_t at_ms; /* 0: unset */
    uint64_t gen;
};

struct net_msg {
    uint64_t at_ms;
    uint64_t order;
    smr_node_id from, to;
    struct ord_pbft_msg *m; /* ord_pbft_msg_dup */
};

struct held {
    smr_lsn after;
    smr_node_id to;
    struct ord_pbft_msg *m;
};

struct node {
    struct ord_pbft *core;
    bool up;
    unsigned byz;
    struct sto *sto;
    uint64_t sync_at_ms;
    struct timer timers[3];
    struct held *held;
    size_t n_held, held_cap;
    smr_seq committed; /* last seq on this incarnation's stream */
    /* Durability oracle: the highest view (+1, 0 = none) of each vote that
     * left this replica, per seq, and of its view changes. */
    uint64_t sent_prep[SEQ_MAX + 1];
    uint64_t sent_pp[SEQ_MAX + 1]; /* view + 1 of its PRE-PREPARE */
    uint64_t sent_commit[SEQ_MAX + 1];
    uint64_t sent_vc;
    struct ord_pbft_msg *replay[REPLAY_MAX];
    uint32_t n_replay;
};

struct client {
    smr_req_id req; /* outstanding, 0 = none */
    uint64_t sent_ms;
    uint32_t tries;
    uint32_t done;
};

struct sim {
    uint32_t n, f;
    uint64_t now_ms;
    uint64_t order;
    struct node nodes[NODES_MAX];
    struct net_msg **heap;
    size_t n_heap, heap_cap;
    struct client clients[CLIENTS_MAX];
    uint32_t n_clients, requests;
    uint8_t log[SEQ_MAX + 1][SMR_DIGEST_BYTES];
    bool log_set[SEQ_MAX + 1];
    smr_seq max_committed;
    uint8_t acked[CLIENTS_MAX][ACKED_MAX]; /* S.requests stays below */
    unsigned drop, dup, crash, partition;
    uint64_t delay_max_ms, sync_max_ms;
    bool cut[NODES_MAX][NODES_MAX];
    bool faults_on;
    bool scenario;
    /* Equivocation record for colluders: the digest the Byzantine primary
     * sent each replica for (view, seq). */
    struct {
        uint64_t view;
        smr_seq seq;
        uint8_t d[NODES_MAX][SMR_DIGEST_BYTES];
        uint32_t mask;
    } eq[64];
    const char *failure;
    char failure_buf[256];
    struct ord_pbft_config cfg; /* template */
    /* Scheduled faults: crash the view-0 primary at this time (0: never),
     * restart crashed replicas at restart_at. */
    uint64_t crash_primary_at;
    uint64_t restart_at[NODES_MAX];
    /* Evidence that a behaviour acted (what the harness did). */
    uint64_t replayed, mutated, forged, fake_vc, fake_nv, fake_cu;
};

static struct sim S;

/* Quorum oracles (TOCS §4.2 invariants), from the messages that left
 * correct replicas: per (view, seq), who sent which PREPARE (a primary's
 * PRE-PREPARE counts as its own) and COMMIT. */
#define VOTES_CAP (1u << 13)
struct vote_rec {
    unsigned run;
    uint64_t view;
    smr_seq seq;
    uint32_t prep, commit;
    uint64_t pd[NODES_MAX], cd[NODES_MAX];
};
static struct vote_rec VOTES[VOTES_CAP];
static unsigned RUN;
/* The self-tests switch the quorum oracles off to show what the others
 * (agreement, durability) catch on their own. */
static bool quorum_oracles = true;
static size_t votes_used;

static struct vote_rec *votes_for(uint64_t view, smr_seq seq)
{
    uint64_t k = (view * 0x9E3779B97F4A7C15ULL) ^ (seq * 0xC2B2AE3D27D4EB4FULL);
    for (size_t j = 0; j < 64; j++) {
        struct vote_rec *r = &VOTES[(k + j) % VOTES_CAP];
        if (r->run != RUN) {
            if (votes_used >= VOTES_CAP / 2)
                return NULL; /* full: stop checking new pairs */
            memset(r, 0, sizeof *r);
            r->run = RUN;
            r->view = view;
            r->seq = seq;
            votes_used++;
            return r;
        }
        if (r->view == view && r->seq == seq)
            return r;
    }
    return NULL;
}

static uint64_t d64(const uint8_t d[SMR_DIGEST_BYTES])
{
    return smr_get_u64(d);
}

static struct {
    uint64_t seeds, view_changes, crashes, byz_msgs, bad_mac, bad_sig, invalid,
        conflicts, bad_nv, catchups, fetches, max_view, max_seq, stable_moves;
} STATS;

static void sim_fail(const char *fmt, unsigned long long a, unsigned b)
{
    if (S.failure)
        return;
    snprintf(S.failure_buf, sizeof S.failure_buf, fmt, a, b);
    S.failure = S.failure_buf;
}

static bool correct(smr_node_id id)
{
    return S.nodes[id].byz == 0;
}

/* ------------------------------------------------------------ network */

static bool heap_less(const struct net_msg *a, const struct net_msg *b)
{
    return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->order < b->order);
}

static void heap_push(struct net_msg *m)
{
    if (S.n_heap == S.heap_cap) {
        S.heap_cap = S.heap_cap ? S.heap_cap * 2 : 1024;
        S.heap = realloc(S.heap, S.heap_cap * sizeof *S.heap);
    }
    size_t i = S.n_heap++;
    while (i > 0 && heap_less(m, S.heap[(i - 1) / 2])) {
        S.heap[i] = S.heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    S.heap[i] = m;
}

static struct net_msg *heap_pop(void)
{
    struct net_msg *top = S.heap[0];
    struct net_msg *last = S.heap[--S.n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= S.n_heap)
            break;
        if (c + 1 < S.n_heap && heap_less(S.heap[c + 1], S.heap[c]))
            c++;
        if (!heap_less(S.heap[c], last))
            break;
        S.heap[i] = S.heap[c];
        i = c;
    }
    if (S.n_heap)
        S.heap[i] = last;
    return top;
}

/* Puts a copy of m (owned by the caller: `own` passes ownership) on the
 * wire from `from` to `to`, with loss, duplication and delay. */
static void wire(smr_node_id from, smr_node_id to, struct ord_pbft_msg *m)
{
    if (S.faults_on && (chance(S.drop) || S.cut[from][to])) {
        free(m);
        return;
    }
    int copies = S.faults_on && chance(S.dup) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        struct net_msg *n = calloc(1, sizeof *n);
        n->m = i == 0 ? m : ord_pbft_msg_dup(m);
        n->from = from;
        n->to = to;
        n->at_ms = S.now_ms + 1 + rnd() % (S.faults_on ? S.delay_max_ms : 3);
        n->order = S.order++;
        heap_push(n);
    }
}

static uint32_t n_byz(void)
{
    uint32_t b = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        b += !correct(i);
    return b;
}

static uint32_t count_bits(uint32_t mask, const uint64_t *d, uint64_t want,
                           smr_node_id skip)
{
    uint32_t n = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (i != skip && (mask & (1u << i)) && d[i] == want)
            n++;
    return n;
}

/* A PREPARE or COMMIT leaving a correct replica. A COMMIT says "prepared":
 * no other correct replica prepared another value in that view and seq,
 * and 2f correct-or-not backups sent matching PREPAREs, of which at least
 * 2f - b are correct. */
static void note_vote(smr_node_id id, const struct ord_pbft_msg *m)
{
    if (!quorum_oracles)
        return;
    struct vote_rec *r = votes_for(m->view, m->seq);
    if (!r)
        return;
    uint64_t d = d64(m->digest);
    uint32_t bit = 1u << id;
    if (m->type != ORD_PBFT_COMMIT) {
        if ((r->prep & bit) && r->pd[id] != d)
            sim_fail("a correct replica sent two pre-prepares or prepares "
                     "at seq %llu (node %u)",
                     m->seq, id);
        r->prep |= bit;
        r->pd[id] = d;
        return;
    }
    for (smr_node_id j = 0; j < S.n; j++)
        if ((r->commit & (1u << j)) && r->cd[j] != d)
            sim_fail("two values prepared in one view at seq %llu (node %u)",
                     m->seq, id);
    r->commit |= bit;
    r->cd[id] = d;
    smr_node_id primary = (smr_node_id)(m->view % S.n);
    uint32_t need = 2 * S.f > n_byz() ? 2 * S.f - n_byz() : 0;
    if (count_bits(r->prep, r->pd, d, primary) < need)
        sim_fail("COMMIT without 2f matching prepares at seq %llu (node %u)",
                 m->seq, id);
}

static void note_sent(smr_node_id id, const struct ord_pbft_msg *m)
{
    struct node *nd = &S.nodes[id];
    if (!correct(id))
        return;
    if (m->type == ORD_PBFT_PREPARE || m->type == ORD_PBFT_COMMIT ||
        m->type == ORD_PBFT_PRE_PREPARE)
        note_vote(id, m);
    switch (m->type) {
    case ORD_PBFT_PRE_PREPARE:
        if (m->seq <= SEQ_MAX && nd->sent_pp[m->seq] < m->view + 1)
            nd->sent_pp[m->seq] = m->view + 1;
        break;
    case ORD_PBFT_PREPARE:
        if (m->seq <= SEQ_MAX && nd->sent_prep[m->seq] < m->view + 1)
            nd->sent_prep[m->seq] = m->view + 1;
        break;
    case ORD_PBFT_COMMIT:
        if (m->seq <= SEQ_MAX && nd->sent_commit[m->seq] < m->view + 1)
            nd->sent_commit[m->seq] = m->view + 1;
        break;
    case ORD_PBFT_VIEW_CHANGE:
        if (m->vc->from == id && nd->sent_vc < m->vc->view)
            nd->sent_vc = m->vc->view;
        break;
    case ORD_PBFT_NEW_VIEW:
        if (m->nv->from == id && nd->sent_vc < m->nv->view)
            nd->sent_vc = m->nv->view;
        break;
    default:
        break;
    }
}

static void byz_send(smr_node_id id, smr_node_id to,
                     const struct ord_pbft_msg *m);

/* A message leaves replica `id` for `to` (its durability wait is over). */
static void leave(smr_node_id id, smr_node_id to, const struct ord_pbft_msg *m)
{
    note_sent(id, m);
    if (!correct(id)) {
        byz_send(id, to, m);
        return;
    }
    wire(id, to, ord_pbft_msg_dup(m));
}

/* ------------------------------------------------------------ oracle */

static void value_hash(uint8_t h[SMR_DIGEST_BYTES],
                       const struct smr_committed *c)
{
    ord_pbft_entry_digest(c->epoch, c->leader_time_ms, c->batch, c->batch_len,
                          h);
}

static void check_commit(smr_node_id id, const struct smr_committed *c)
{
    struct node *nd = &S.nodes[id];
    if (!correct(id))
        return;
    if (c->seq != nd->committed + 1) {
        sim_fail("gap in the committed stream at seq %llu on node %u", c->seq,
                 id);
        return;
    }
    nd->committed = c->seq;
    if (c->seq > SEQ_MAX)
        return;
    if (smr_batch_validate(c->batch, c->batch_len) != SMR_OK)
        sim_fail("invalid batch at seq %llu on node %u", c->seq, id);
    uint8_t h[SMR_DIGEST_BYTES];
    value_hash(h, c);
    if (S.log_set[c->seq]) {
        if (memcmp(S.log[c->seq], h, sizeof h) != 0)
            sim_fail("agreement violated at seq %llu (node %u differs)", c->seq,
                     id);
        return;
    }
    memcpy(S.log[c->seq], h, sizeof h);
    S.log_set[c->seq] = true;
    if (c->seq > S.max_committed)
        S.max_committed = c->seq;
    struct smr_batch_iter it;
    struct smr_request q;
    smr_batch_iter_init(&it, c->batch, c->batch_len);
    while (smr_batch_next(&it, &q) == SMR_OK)
        if (q.client_id < CLIENTS_MAX && q.req_id < ACKED_MAX)
            S.acked[q.client_id][q.req_id] = 1;
}

/* A value committed through the three phases had 2f+1 matching COMMITs
 * of one view, at least 2f+1 - b of them from correct replicas. */
static void check_quorum(smr_node_id id, smr_seq seq)
{
    if (!correct(id) || S.n == 1 || !quorum_oracles)
        return;
    const struct pbft_slot *sl = pbft_slot_peek(S.nodes[id].core, seq);
    if (!sl || sl->cu_value || !sl->committed)
        return;
    struct vote_rec *r = votes_for(sl->c_view, seq);
    if (!r)
        return;
    uint32_t need = 2 * S.f + 1 - n_byz();
    if (count_bits(r->commit, r->cd, d64(sl->c_digest), ORD_TO_ALL) < need &&
        getenv("PBFT_DEBUG"))
        fprintf(stderr,
                "t=%llu node %u seq %llu view %llu: slot commit mask %x "
                "(byz %u) oracle commit %x prep %x, p_lsn %llu durable %llu\n",
                (unsigned long long)S.now_ms, id, (unsigned long long)seq,
                (unsigned long long)sl->c_view, sl->commit_mask, n_byz(),
                r->commit, r->prep, (unsigned long long)sl->p_lsn,
                (unsigned long long)S.nodes[id].core->durable_lsn);
    if (count_bits(r->commit, r->cd, d64(sl->c_digest), ORD_TO_ALL) < need)
        sim_fail("committed without 2f+1 matching commits at seq %llu "
                 "(node %u)",
                 seq, id);
}

/* ------------------------------------------------------------ driving */

static void step(smr_node_id id, const struct ord_event *ev);

static void hold(struct node *nd, smr_lsn after, smr_node_id to,
                 const struct ord_pbft_msg *m)
{
    if (nd->n_held == nd->held_cap) {
        nd->held_cap = nd->held_cap ? nd->held_cap * 2 : 64;
        nd->held = realloc(nd->held, nd->held_cap * sizeof *nd->held);
    }
    nd->held[nd->n_held++] = (struct held){after, to, ord_pbft_msg_dup(m)};
}

static void serve_fetch(smr_node_id id, const struct ord_output *o);

static void apply_outputs(smr_node_id id, const struct ord_output *o, size_t n)
{
    struct node *nd = &S.nodes[id];
    for (size_t i = 0; i < n; i++) {
        switch (o[i].type) {
        case ORD_OUT_SEND: {
            const struct ord_pbft_msg *m = o[i].u.send.msg;
            for (smr_node_id to = 0; to < S.n; to++) {
                if (to == id ||
                    (o[i].u.send.to != ORD_TO_ALL && o[i].u.send.to != to))
                    continue;
                if (o[i].u.send.after_lsn > nd->sto->durable_lsn)
                    hold(nd, o[i].u.send.after_lsn, to, m);
                else
                    leave(id, to, m);
            }
            break;
        }
        case ORD_OUT_PERSIST: {
            smr_lsn lsn = 0;
            int rc =
                o[i].u.persist.is_log
                    ? sto_log_put(nd->sto, o[i].u.persist.index,
                                  o[i].u.persist.data, o[i].u.persist.len, &lsn)
                    : sto_state_put(nd->sto, o[i].u.persist.key,
                                    o[i].u.persist.data, o[i].u.persist.len,
                                    &lsn);
            ck_assert_int_eq(rc, SMR_OK);
            ck_assert_uint_eq(lsn, o[i].u.persist.lsn);
            if (!nd->sync_at_ms)
                nd->sync_at_ms = S.now_ms + 1 + rnd() % S.sync_max_ms;
            break;
        }
        case ORD_OUT_TIMER:
            ck_assert_uint_le(o[i].u.timer.id, 2);
            nd->timers[o[i].u.timer.id].at_ms =
                S.now_ms + (o[i].u.timer.after_ms ? o[i].u.timer.after_ms : 1);
            nd->timers[o[i].u.timer.id].gen = o[i].u.timer.generation;
            break;
        case ORD_OUT_COMMIT:
            check_commit(id, &o[i].u.commit);
            check_quorum(id, o[i].u.commit.seq);
            break;
        case ORD_OUT_REJECT:
            break;
        case ORD_OUT_FETCH:
            serve_fetch(id, &o[i]);
            break;
        case ORD_OUT_TRUNCATE: /* state_transfer is off in this harness: */
        case ORD_OUT_FETCH_STATE: /* the simulator tests them */
            ck_abort_msg("truncation or state transfer without state_transfer");
            break;
        }
    }
}

/* The driver's half of catch-up: committed entries read from storage. */
static void serve_fetch(smr_node_id id, const struct ord_output *o)
{
    struct node *nd = &S.nodes[id];
    STATS.fetches++;
    struct ord_pbft_entry es[ORD_PBFT_ENTRIES_MAX];
    struct smr_buf bufs[ORD_PBFT_ENTRIES_MAX];
    uint32_t cnt = 0;
    for (smr_seq s = o->u.fetch.from_seq;
         s <= o->u.fetch.to_seq && cnt < ORD_PBFT_ENTRIES_MAX; s++) {
        smr_buf_init(&bufs[cnt]);
        if (sto_log_get(nd->sto, s, &bufs[cnt]) != SMR_OK ||
            ord_pbft_record_committed(bufs[cnt].data, bufs[cnt].len, s,
                                      &es[cnt]) != SMR_OK) {
            smr_buf_free(&bufs[cnt]);
            break;
        }
        cnt++;
    }
    if (cnt) {
        /* As glue/core_pbft.c pbft_serve_fetch: one sealed CATCHUP of at
         * most 64 entries per FETCH, whatever range the core asked for. */
        struct ord_pbft_msg m = {.type = ORD_PBFT_CATCHUP,
                                 .view = ord_pbft_view(nd->core),
                                 .commit_upto = ord_pbft_commit_upto(nd->core),
                                 .n_entries = cnt,
                                 .entries = es};
        ord_pbft_seal(nd->core, &m);
        leave(id, o->u.fetch.to, &m);
    }
    for (uint32_t i = 0; i < cnt; i++)
        smr_buf_free(&bufs[i]);
}

static void step(smr_node_id id, const struct ord_event *ev)
{
    const struct ord_output *o;
    size_t n;
    uint64_t v0 = ord_pbft_view(S.nodes[id].core);
    bool a0 = ord_pbft_view_active(S.nodes[id].core);
    ck_assert_int_eq(ord_pbft_step(S.nodes[id].core, S.now_ms, ev, &o, &n),
                     SMR_OK);
    if (getenv("PBFT_TRACE") && (v0 != ord_pbft_view(S.nodes[id].core) ||
                                 a0 != ord_pbft_view_active(S.nodes[id].core)))
        fprintf(stderr, "t=%llu node %u: view %llu %s (commit %llu)\n",
                (unsigned long long)S.now_ms, id,
                (unsigned long long)ord_pbft_view(S.nodes[id].core),
                ord_pbft_view_active(S.nodes[id].core) ? "active" : "changing",
                (unsigned long long)ord_pbft_commit_upto(S.nodes[id].core));
    if (n > 100000)
        sim_fail("%llu outputs in one step on node %u", n, id);
    apply_outputs(id, o, n);
}

static void make_config(smr_node_id id, struct ord_pbft_config *c)
{
    *c = S.cfg;
    c->self = id;
    c->n_replicas = S.n;
    memcpy(c->secret_key, SK[id], sizeof c->secret_key);
    for (uint32_t j = 0; j < S.n; j++)
        memcpy(c->public_keys[j], PK[j], sizeof c->public_keys[j]);
    memcpy(c->client_key_root, ROOT[id], sizeof c->client_key_root);
    memcpy(c->client_ca_key, CA_PK, sizeof c->client_ca_key);
}

/* Durability oracle: what the replica said before it crashed is covered by
 * what it recovered. */
static void check_recovered(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    const struct ord_pbft *p = nd->core;
    if (!correct(id))
        return;
    if (p->view < nd->sent_vc)
        sim_fail("view change to %llu forgotten after restart on node %u",
                 nd->sent_vc, id);
    for (smr_seq s = p->commit_upto + 1; s <= SEQ_MAX && s < p->base + PBFT_CAP;
         s++) {
        const struct pbft_slot *sl = &p->slots[s % PBFT_CAP];
        bool here = sl->seq == s;
        if (nd->sent_commit[s] &&
            !(here && ((sl->has_p && sl->p_view + 1 >= nd->sent_commit[s]) ||
                       sl->cu_value)))
            sim_fail("prepared certificate behind a COMMIT lost at seq %llu "
                     "on node %u",
                     s, id);
        if (nd->sent_prep[s] &&
            !(here && ((sl->has_pp && sl->pp_view + 1 >= nd->sent_prep[s]) ||
                       sl->cu_value)))
            sim_fail("pre-prepare behind a PREPARE lost at seq %llu on node %u",
                     s, id);
        /* A PRE-PREPARE leaves once the primary's reservation covers it
         * (rule 3), its own record need not survive: the reservation must,
         * unless the replica has left that view. */
        if (nd->sent_pp[s] &&
            !(here && ((sl->has_pp && sl->pp_view + 1 >= nd->sent_pp[s]) ||
                       sl->cu_value)) &&
            p->view + 1 == nd->sent_pp[s] &&
            !(p->reserve_view + 1 == nd->sent_pp[s] && p->reserve_upto >= s))
            sim_fail("reservation behind a PRE-PREPARE lost at seq %llu on "
                     "node %u",
                     s, id);
        if (p->view + 1 < nd->sent_prep[s] || p->view + 1 < nd->sent_commit[s] ||
            p->view + 1 < nd->sent_pp[s])
            sim_fail("view of a vote forgotten at seq %llu on node %u", s, id);
    }
}

/* A record that survived a crash without a sync says what the replica
 * would have sent: it may count that vote now, so the quorum oracles do. */
static void own_votes(smr_node_id id)
{
    const struct ord_pbft *p = S.nodes[id].core;
    if (!correct(id))
        return;
    for (smr_seq s = p->base; s <= p->max_seq; s++) {
        const struct pbft_slot *sl = pbft_slot_peek(p, s);
        if (!sl)
            continue;
        struct ord_pbft_msg m = {.seq = s};
        if (sl->has_pp && sl->pp_view == p->view) {
            m.type = ORD_PBFT_PREPARE;
            m.view = sl->pp_view;
            memcpy(m.digest, sl->pp_digest, sizeof m.digest);
            note_vote(id, &m);
        }
        if (sl->has_p && sl->p_view == p->view) {
            m.type = ORD_PBFT_COMMIT;
            m.view = sl->p_view;
            memcpy(m.digest, sl->p_digest, sizeof m.digest);
            note_vote(id, &m);
        }
    }
}

static void node_start(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    struct ord_pbft_config c;
    make_config(id, &c);
    ck_assert_int_eq(ord_pbft_new(&c, &nd->core), SMR_OK);
    if (!nd->sto)
        ck_assert_int_eq(sto_mem_open(&nd->sto), SMR_OK);
    struct smr_buf b;
    smr_buf_init(&b);
    const char *keys[] = {ORD_PBFT_STATE_VIEW, ORD_PBFT_STATE_COMMIT,
                          ORD_PBFT_STATE_NEW_VIEW, ORD_PBFT_STATE_RESERVE};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (sto_state_get(nd->sto, keys[k], &b) == SMR_OK)
            ck_assert_int_eq(
                ord_pbft_recover_state(nd->core, keys[k], b.data, b.len),
                SMR_OK);
    uint64_t first, last;
    ck_assert_int_eq(sto_log_bounds(nd->sto, &first, &last), SMR_OK);
    for (smr_seq s = ord_pbft_recover_log_from(nd->core); last && s <= last;
         s++) {
        if (sto_log_get(nd->sto, s, &b) != SMR_OK)
            continue;
        ck_assert_int_eq(ord_pbft_recover_log(nd->core, s, b.data, b.len),
                         SMR_OK);
    }
    /* Replay what the commit mark covers, as the driver would. */
    nd->committed = 0;
    smr_seq upto = ord_pbft_recovered_commit(nd->core);
    for (smr_seq s = 1; s <= upto; s++) {
        struct ord_pbft_entry e;
        ck_assert_int_eq(sto_log_get(nd->sto, s, &b), SMR_OK);
        ck_assert_int_eq(ord_pbft_record_committed(b.data, b.len, s, &e),
                         SMR_OK);
        struct smr_committed cm = {s, S.cfg.epoch, e.leader_time_ms, e.batch,
                                   e.batch_len};
        check_commit(id, &cm);
    }
    smr_buf_free(&b);
    nd->up = true;
    nd->sync_at_ms = 0;
    memset(nd->timers, 0, sizeof nd->timers);
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_pbft_start(nd->core, S.now_ms, &o, &n), SMR_OK);
    check_recovered(id);
    own_votes(id);
    apply_outputs(id, o, n);
}

static void node_crash(smr_node_id id, unsigned keep)
{
    struct node *nd = &S.nodes[id];
    STATS.crashes++;
    sto_mem_crash(nd->sto, &rng_state, keep);
    for (size_t i = 0; i < nd->n_held; i++)
        free(nd->held[i].m);
    nd->n_held = 0;
    nd->sync_at_ms = 0;
    ord_pbft_destroy(&nd->core);
    nd->up = false;
    if (rng_state == 0)
        rng_state = 1;
}

static void node_sync(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    nd->sync_at_ms = 0;
    ck_assert_int_eq(sto_sync(nd->sto), SMR_OK);
    smr_lsn durable = nd->sto->durable_lsn;
    size_t keep = 0;
    for (size_t i = 0; i < nd->n_held; i++) {
        if (nd->held[i].after <= durable) {
            leave(id, nd->held[i].to, nd->held[i].m);
            free(nd->held[i].m);
        } else {
            nd->held[keep++] = nd->held[i];
        }
    }
    nd->n_held = keep;
    struct ord_event ev = {.type = ORD_EV_PERSISTED};
    ev.u.persisted.lsn = durable;
    step(id, &ev);
}

/* ------------------------------------------------------------ clients */

static void client_send(uint32_t c)
{
    struct client *cl = &S.clients[c];
    uint8_t op[24];
    memset(op, (int)(c * 31 + cl->req), sizeof op);
    struct smr_request r = {c, cl->req, op, sizeof op};
    struct ord_pbft_msg m = {.type = ORD_PBFT_REQUEST,
                             .from = ORD_PBFT_FROM_CLIENT,
                             .client_id = c,
                             .req_id = cl->req,
                             .op = op,
                             .op_len = sizeof op};
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])CKEY[c], S.n,
                          S.cfg.cluster_id, &r, m.mac);
    uint8_t proof[ORD_PBFT_PROOF_BYTES];
    if (cl->tries > 0) { /* a retransmission: signed (TOCS §4.1) */
        ord_pbft_request_sign(BLOCK_SK, CERT, S.cfg.cluster_id, &r, proof);
        m.proof = proof;
    }
    cl->sent_ms = S.now_ms;
    /* First to the primary of the highest view a replica is in; retries to
     * every replica (TOCS §4.1). */
    uint64_t view = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (S.nodes[i].up && correct(i) &&
            ord_pbft_view(S.nodes[i].core) > view)
            view = ord_pbft_view(S.nodes[i].core);
    for (smr_node_id i = 0; i < S.n; i++) {
        if (cl->tries == 0 && i != view % S.n)
            continue;
        if (S.faults_on && chance(S.drop))
            continue;
        if (!S.nodes[i].up)
            continue;
        struct ord_event ev = {.type = ORD_EV_MESSAGE};
        ev.u.message.from = ORD_PBFT_FROM_CLIENT;
        ev.u.message.msg = &m;
        step(i, &ev);
        struct ord_event fl = {.type = ORD_EV_FLUSH};
        step(i, &fl);
    }
    cl->tries++;
}

static void clients_tick(void)
{
    for (uint32_t c = 0; c < S.n_clients; c++) {
        struct client *cl = &S.clients[c];
        if (cl->req && S.acked[c][cl->req]) {
            cl->done++;
            cl->req = 0;
        }
        if (!cl->req && cl->done < S.requests) {
            cl->req = cl->done + 1;
            cl->tries = 0;
            client_send(c);
        } else if (cl->req && S.now_ms - cl->sent_ms > 400) {
            client_send(c);
        }
    }
}

/* ------------------------------------------------------------ byzantine */

static void reseal(smr_node_id id, struct ord_pbft_msg *m)
{
    ord_pbft_seal(S.nodes[id].core, m);
}

static void fake_batch(struct smr_buf *b, uint64_t salt)
{
    smr_buf_init(b);
    smr_batch_begin(b);
    uint8_t op[8];
    memset(op, (int)salt, sizeof op);
    struct smr_request r = {CLIENTS_MAX + 7, salt, op, sizeof op};
    smr_batch_add(b, &r);
}

static void *eq_slot(uint64_t view, smr_seq seq)
{
    return &S.eq[(view * 31 + seq) % 64];
}

/* A VIEW-CHANGE claiming prepared values nobody prepared, at views just
 * below the new one, and pre-prepares to match. */
static void send_bad_vc(smr_node_id id, smr_node_id to,
                        const struct ord_pbft_msg *m)
{
    const struct ord_pbft_view_change *vc = m->vc;
    enum { N = 4 };
    struct ord_pbft_cert pc[N], qc[N];
    struct ord_pbft_entry bodies[N];
    struct smr_buf fb[N];
    uint32_t n = 0;
    for (uint32_t i = 0;
         i < N && vc->stable + 1 + i <= vc->stable + S.cfg.window; i++, n++) {
        fake_batch(&fb[i], vc->view * 16 + i);
        pc[i].seq = qc[i].seq = vc->stable + 1 + i;
        pc[i].view = qc[i].view = vc->view - 1;
        bodies[i] = (struct ord_pbft_entry){pc[i].seq, 7, fb[i].data,
                                            (uint32_t)fb[i].len};
        ord_pbft_entry_digest(S.cfg.epoch, 7, fb[i].data, (uint32_t)fb[i].len,
                              pc[i].digest);
        memcpy(qc[i].digest, pc[i].digest, SMR_DIGEST_BYTES);
    }
    struct ord_pbft_view_change bad = *vc;
    bad.n_prepared = n;
    bad.prepared = pc;
    bad.n_preprepared = n;
    bad.preprepared = qc;
    bad.bodies = bodies;
    ord_pbft_sign_view_change(S.nodes[id].core, &bad);
    S.fake_vc++;
    struct ord_pbft_msg out = *m;
    out.vc = &bad;
    wire(id, to, ord_pbft_msg_dup(&out));
    for (uint32_t i = 0; i < n; i++)
        smr_buf_free(&fb[i]);
}

/* A NEW-VIEW whose first chosen value is replaced by a fabricated one. */
static void send_bad_nv(smr_node_id id, smr_node_id to,
                        const struct ord_pbft_msg *m)
{
    const struct ord_pbft_new_view *nv = m->nv;
    if (nv->n_chosen == 0 || nv->from != id) {
        wire(id, to, ord_pbft_msg_dup(m));
        return;
    }
    struct ord_pbft_new_view bad = *nv;
    struct ord_pbft_cert *ch = malloc(nv->n_chosen * sizeof *ch);
    struct ord_pbft_entry *bo = malloc(nv->n_chosen * sizeof *bo);
    memcpy(ch, nv->chosen, nv->n_chosen * sizeof *ch);
    memcpy(bo, nv->bodies, nv->n_chosen * sizeof *bo);
    struct smr_buf fb;
    fake_batch(&fb, nv->view);
    bo[0].batch = fb.data;
    bo[0].batch_len = (uint32_t)fb.len;
    bo[0].leader_time_ms = 5;
    ord_pbft_entry_digest(S.cfg.epoch, 5, fb.data, (uint32_t)fb.len,
                          ch[0].digest);
    bad.chosen = ch;
    bad.bodies = bo;
    ord_pbft_sign_new_view(S.nodes[id].core, &bad);
    S.fake_nv++;
    struct ord_pbft_msg out = *m;
    out.nv = &bad;
    wire(id, to, ord_pbft_msg_dup(&out));
    smr_buf_free(&fb);
    free(ch);
    free(bo);
}

static void remember(smr_node_id id, const struct ord_pbft_msg *m)
{
    struct node *nd = &S.nodes[id];
    uint32_t at = nd->n_replay < REPLAY_MAX ? nd->n_replay++
                                            : (uint32_t)(rnd() % REPLAY_MAX);
    free(nd->replay[at]);
    nd->replay[at] = ord_pbft_msg_dup(m);
}

/* The harness corrupts what a Byzantine replica sends. */
static void byz_send(smr_node_id id, smr_node_id to,
                     const struct ord_pbft_msg *m)
{
    struct node *nd = &S.nodes[id];
    unsigned b = nd->byz;
    STATS.byz_msgs++;
    if (b & BYZ_SILENT)
        return;
    if (b & BYZ_REPLAY)
        remember(id, m);
    if ((b & BYZ_STALL) && m->type == ORD_PBFT_PRE_PREPARE && chance(800))
        return;
    if ((b & BYZ_BAD_VC) && m->type == ORD_PBFT_VIEW_CHANGE &&
        m->vc->from == id && m->vc->view > 0) {
        send_bad_vc(id, to, m);
        return;
    }
    if ((b & BYZ_BAD_NV) && m->type == ORD_PBFT_NEW_VIEW) {
        send_bad_nv(id, to, m);
        return;
    }
    struct ord_pbft_msg *c = ord_pbft_msg_dup(m);
    if ((b & BYZ_BAD_TAGS) && c->type == ORD_PBFT_PRE_PREPARE &&
        c->req_auth_len >= (to + 1) * ORD_PBFT_MAC_BYTES && to % 2 == 1) {
        ((uint8_t *)c->req_auth)[to * ORD_PBFT_MAC_BYTES] ^= 1; /* 1st req */
        reseal(id, c);
    }
    bool macced = c->type != ORD_PBFT_REQUEST &&
                  c->type != ORD_PBFT_VIEW_CHANGE &&
                  c->type != ORD_PBFT_NEW_VIEW;
    if ((b & (BYZ_EQUIVOCATE | BYZ_COLLUDE)) &&
        c->type == ORD_PBFT_PRE_PREPARE) {
        if (to % 2 == 1) {
            c->leader_time_ms += 1;
            ord_pbft_entry_digest(S.cfg.epoch, c->leader_time_ms, c->batch,
                                  c->batch_len, c->digest);
            reseal(id, c);
        }
        typeof(S.eq[0]) *e = eq_slot(c->view, c->seq);
        if (e->view != c->view || e->seq != c->seq) {
            e->view = c->view;
            e->seq = c->seq;
            e->mask = 0;
        }
        memcpy(e->d[to], c->digest, SMR_DIGEST_BYTES);
        e->mask |= 1u << to;
    }
    if ((b & BYZ_COLLUDE) &&
        (c->type == ORD_PBFT_PREPARE || c->type == ORD_PBFT_COMMIT)) {
        typeof(S.eq[0]) *e = eq_slot(c->view, c->seq);
        if (e->view == c->view && e->seq == c->seq && (e->mask & (1u << to))) {
            memcpy(c->digest, e->d[to], SMR_DIGEST_BYTES);
            reseal(id, c);
        }
    }
    if ((b & BYZ_CONFLICT) &&
        (c->type == ORD_PBFT_PREPARE || c->type == ORD_PBFT_COMMIT ||
         c->type == ORD_PBFT_CHECKPOINT) &&
        chance(500)) {
        c->digest[rnd() % SMR_DIGEST_BYTES] ^= 1;
        reseal(id, c);
    }
    if ((b & BYZ_LIE) && c->type == ORD_PBFT_CATCHUP) {
        /* Every liar claims the same fabricated values (colluding). */
        struct ord_pbft_entry *es = (struct ord_pbft_entry *)c->entries;
        for (uint32_t i = 0; i < c->n_entries; i++) {
            es[i].leader_time_ms = 424242 + es[i].seq;
        }
        reseal(id, c);
    }
    if ((b & BYZ_MUTATE) && macced && chance(200)) {
        S.mutated++;
        if (chance(500))
            c->view = chance(500) ? c->view + 1 : c->view - 1;
        else
            c->seq = chance(500) ? c->seq + 1 : c->seq - 1;
        reseal(id, c);
    }
    if ((b & BYZ_FORGE) && c->type == ORD_PBFT_VIEW_CHANGE && chance(300)) {
        /* A view change whose signature does not check. */
        struct ord_pbft_view_change *vc = (struct ord_pbft_view_change *)c->vc;
        vc->sig[rnd() % ORD_PBFT_SIG_BYTES] ^= 0x01;
        S.forged++;
    }
    if ((b & BYZ_FORGE) && macced && chance(150)) {
        S.forged++;
        if (chance(500)) {
            smr_node_id v = (smr_node_id)(rnd() % S.n);
            if (v != to)
                c->from = v; /* posing as v, with our own MACs */
        } else {
            c->mac[to][rnd() % ORD_PBFT_MAC_BYTES] ^= 0x10;
        }
    }
    if (c->from == to) {
        free(c);
        return;
    }
    wire(c->from, to, c);
}

/* Byzantine actions not tied to a message of their own. */
static void byz_tick(void)
{
    for (smr_node_id id = 0; id < S.n; id++) {
        struct node *nd = &S.nodes[id];
        if (correct(id) || !nd->up || (nd->byz & BYZ_SILENT))
            continue;
        if ((nd->byz & BYZ_REPLAY) && nd->n_replay && chance(30)) {
            struct ord_pbft_msg *m =
                ord_pbft_msg_dup(nd->replay[rnd() % nd->n_replay]);
            smr_node_id to = (smr_node_id)(rnd() % S.n);
            smr_node_id as = m->from < S.n ? m->from : id;
            if (to != as && m->from != ORD_PBFT_FROM_CLIENT) {
                S.replayed++;
                wire(as, to, m);
            } else {
                free(m);
            }
        }
        if ((nd->byz & BYZ_LIE) && chance(20)) {
            /* Fabricated committed values just above a replica's commit
             * point, and a checkpoint nobody reached. */
            smr_node_id to = (smr_node_id)(rnd() % S.n);
            if (to == id || !S.nodes[to].up)
                continue;
            smr_seq from = ord_pbft_commit_upto(S.nodes[to].core) + 1;
            struct smr_buf fb;
            fake_batch(&fb, from);
            struct ord_pbft_entry e = {from, 99, fb.data, (uint32_t)fb.len};
            struct ord_pbft_msg m = {
                .type = ORD_PBFT_CATCHUP, .n_entries = 1, .entries = &e};
            reseal(id, &m);
            S.fake_cu++;
            wire(id, to, ord_pbft_msg_dup(&m));
            struct ord_pbft_msg k = {
                .type = ORD_PBFT_CHECKPOINT,
                .seq = (from / S.cfg.checkpoint_interval + 1) *
                       S.cfg.checkpoint_interval};
            memset(k.digest, 0x77, sizeof k.digest);
            reseal(id, &k);
            wire(id, to, ord_pbft_msg_dup(&k));
            smr_buf_free(&fb);
        }
    }
}

/* Inputs a Byzantine replica's own core never sees. */
static bool byz_filter_in(smr_node_id id, const struct ord_pbft_msg *m)
{
    struct node *nd = &S.nodes[id];
    if ((nd->byz & BYZ_REPLAY))
        remember(id, m);
    return (nd->byz & BYZ_SELECT) && m->type == ORD_PBFT_REQUEST &&
           m->client_id == 0;
}

/* ------------------------------------------------------------ the loop */

static void random_fault(void)
{
    if (chance(S.crash)) {
        smr_node_id id = (smr_node_id)(rnd() % S.n);
        if (S.nodes[id].up)
            node_crash(id, 500);
        else
            node_start(id);
    }
    if (chance(S.partition)) {
        smr_node_id a = (smr_node_id)(rnd() % S.n);
        smr_node_id b = (smr_node_id)(rnd() % S.n);
        bool cut = !S.cut[a][b];
        S.cut[a][b] = cut;
        if (chance(500))
            S.cut[b][a] = cut;
    }
}

static void deliver(struct net_msg *nm)
{
    struct node *nd = &S.nodes[nm->to];
    if (getenv("PBFT_TRACE_MSG"))
        fprintf(stderr,
                "t=%llu %u->%u type %d view %llu seq %llu commit %llu up=%d\n",
                (unsigned long long)S.now_ms, nm->from, nm->to, nm->m->type,
                (unsigned long long)nm->m->view, (unsigned long long)nm->m->seq,
                (unsigned long long)nm->m->commit_upto, nd->up);
    if (nd->up && !(nd->byz && byz_filter_in(nm->to, nm->m))) {
        struct ord_event ev = {.type = ORD_EV_MESSAGE};
        ev.u.message.from = nm->from;
        ev.u.message.msg = nm->m;
        step(nm->to, &ev);
        struct ord_event fl = {.type = ORD_EV_FLUSH};
        step(nm->to, &fl);
    }
    free(nm->m);
    free(nm);
}

/* Runs one event (the earliest due), or advances the clock by 1 ms. */
static void run_one(void)
{
    if (S.n_heap && S.heap[0]->at_ms <= S.now_ms) {
        deliver(heap_pop());
        return;
    }
    for (smr_node_id id = 0; id < S.n; id++) {
        struct node *nd = &S.nodes[id];
        if (!nd->up)
            continue;
        if (nd->sync_at_ms && nd->sync_at_ms <= S.now_ms) {
            node_sync(id);
            return;
        }
        for (uint32_t t = 1; t <= 2; t++)
            if (nd->timers[t].at_ms && nd->timers[t].at_ms <= S.now_ms) {
                nd->timers[t].at_ms = 0;
                struct ord_event ev = {.type = ORD_EV_TIMER};
                ev.u.timer.id = t;
                ev.u.timer.generation = nd->timers[t].gen;
                step(id, &ev);
                return;
            }
    }
    S.now_ms++;
    for (smr_node_id i = 0; i < S.n; i++)
        if (S.restart_at[i] && S.restart_at[i] <= S.now_ms) {
            S.restart_at[i] = 0;
            if (!S.nodes[i].up)
                node_start(i);
        }
    if (S.crash_primary_at && S.now_ms == S.crash_primary_at && S.nodes[0].up &&
        correct(0)) {
        node_crash(0, 500);
        S.restart_at[0] = S.now_ms + 1500;
    }
    clients_tick();
    byz_tick();
    if (S.faults_on)
        random_fault();
}

static void sim_free(void)
{
    while (S.n_heap) {
        struct net_msg *m = heap_pop();
        free(m->m);
        free(m);
    }
    free(S.heap);
    for (uint32_t i = 0; i < NODES_MAX; i++) {
        struct node *nd = &S.nodes[i];
        if (nd->core)
            ord_pbft_destroy(&nd->core);
        for (size_t k = 0; k < nd->n_held; k++)
            free(nd->held[k].m);
        free(nd->held);
        for (uint32_t k = 0; k < nd->n_replay; k++)
            free(nd->replay[k]);
        sto_close(&nd->sto);
    }
}

static void sim_init(uint32_t n, uint64_t seed)
{
    keys_init();
    memset(&S, 0, sizeof S);
    RUN++;
    votes_used = 0;
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    S.n = n;
    S.f = (n - 1) / 3;
    ord_pbft_config_defaults(&S.cfg);
    S.cfg.cluster_id = 0xC1;
    S.cfg.checkpoint_interval = 4;
    S.cfg.window = 16;
    S.cfg.batch_max = 4;
    S.cfg.view_timeout_ms = 300;
    S.cfg.status_ms = 50;
    S.cfg.view_backoff_max = 4;
    S.cfg.clock_skew_max_ms = 2000;
    S.sync_max_ms = 3;
    S.delay_max_ms = 3;
}

static void debug_dump(void)
{
    if (!getenv("PBFT_DEBUG"))
        return;
    for (smr_node_id i = 0; i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!p) {
            fprintf(stderr, "node %u down\n", i);
            continue;
        }
        fprintf(stderr,
                "node %u byz=%x up=%d view=%llu %s commit=%llu stable=%llu "
                "base=%llu next=%llu pending=%u queued=%u backoff=%u "
                "held=%zu invalid=%llu bad_mac=%llu bad_sig=%llu bad_nv=%llu\n",
                i, S.nodes[i].byz, S.nodes[i].up, (unsigned long long)p->view,
                p->mode == PBFT_ACTIVE ? "active" : "changing",
                (unsigned long long)p->commit_upto,
                (unsigned long long)p->stable, (unsigned long long)p->base,
                (unsigned long long)p->next_seq, p->n_pending, p->queued,
                p->backoff, S.nodes[i].n_held,
                (unsigned long long)p->stats.invalid,
                (unsigned long long)p->stats.bad_mac,
                (unsigned long long)p->stats.bad_sig,
                (unsigned long long)p->stats.bad_new_view);
        for (smr_seq q = p->stable + 1;
             q <= p->max_seq && q < p->commit_upto + 8; q++) {
            const struct pbft_slot *sl = pbft_slot_peek(p, q);
            if (!sl)
                continue;
            fprintf(stderr,
                    "  seq %llu: pp=%d@%llu p=%d@%llu vote_view=%llu prep=%x "
                    "commit=%x prepared=%d committed=%d lsn=%llu p_lsn=%llu "
                    "durable=%llu cu=%x\n",
                    (unsigned long long)q, sl->has_pp,
                    (unsigned long long)sl->pp_view, sl->has_p,
                    (unsigned long long)sl->p_view,
                    (unsigned long long)sl->vote_view, sl->prep_mask,
                    sl->commit_mask, sl->prepared, sl->committed,
                    (unsigned long long)sl->lsn, (unsigned long long)sl->p_lsn,
                    (unsigned long long)p->durable_lsn, sl->cu_mask);
        }
    }
    for (smr_node_id i = 0; i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!p || p->mode != PBFT_CHANGING || p->view % S.n != i)
            continue;
        /* The view changes a waiting new primary holds. */
        for (smr_node_id j = 0; j < S.n; j++) {
            const struct ord_pbft_view_change *vc = p->peers[j].vc;
            if (!vc)
                continue;
            fprintf(stderr,
                    "  primary %u holds vc from %u view %llu h=%llu C:", i,
                    vc->from, (unsigned long long)vc->view,
                    (unsigned long long)vc->stable);
            for (uint32_t c = 0; c < vc->n_ckpts; c++)
                fprintf(stderr, " %llu", (unsigned long long)vc->ckpts[c].seq);
            fprintf(stderr, " P:");
            for (uint32_t c = 0; c < vc->n_prepared; c++)
                fprintf(stderr, " %llu@%llu",
                        (unsigned long long)vc->prepared[c].seq,
                        (unsigned long long)vc->prepared[c].view);
            fprintf(stderr, " Q: %u entries\n", vc->n_preprepared);
        }
    }
    for (uint32_t c = 0; c < S.n_clients; c++)
        fprintf(stderr, "client %u req=%llu done=%u tries=%u\n", c,
                (unsigned long long)S.clients[c].req, S.clients[c].done,
                S.clients[c].tries);
}

static void collect_stats(void)
{
    STATS.seeds++;
    for (smr_node_id i = 0; i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!p || !correct(i))
            continue;
        STATS.view_changes += p->stats.view_changes;
        STATS.bad_mac += p->stats.bad_mac;
        STATS.bad_sig += p->stats.bad_sig;
        STATS.invalid += p->stats.invalid;
        STATS.conflicts += p->stats.conflicts;
        STATS.bad_nv += p->stats.bad_new_view;
        if (p->view > STATS.max_view)
            STATS.max_view = p->view;
        if (p->stable > 0)
            STATS.stable_moves++;
    }
    if (S.max_committed > STATS.max_seq)
        STATS.max_seq = S.max_committed;
}

static void print_stats(const char *what)
{
    if (getenv("PBFT_STATS"))
        fprintf(stderr,
                "%s: %llu seeds, %llu view changes (max view %llu), %llu "
                "crashes, %llu Byzantine sends, dropped at correct "
                "replicas: %llu bad MACs, %llu bad signatures, %llu invalid, "
                "%llu conflicting votes, %llu bad new views; %llu fetches, "
                "%llu replicas with a stable checkpoint, max seq %llu\n",
                what, (unsigned long long)STATS.seeds,
                (unsigned long long)STATS.view_changes,
                (unsigned long long)STATS.max_view,
                (unsigned long long)STATS.crashes,
                (unsigned long long)STATS.byz_msgs,
                (unsigned long long)STATS.bad_mac,
                (unsigned long long)STATS.bad_sig,
                (unsigned long long)STATS.invalid,
                (unsigned long long)STATS.conflicts,
                (unsigned long long)STATS.bad_nv,
                (unsigned long long)STATS.fetches,
                (unsigned long long)STATS.stable_moves,
                (unsigned long long)STATS.max_seq);
    memset(&STATS, 0, sizeof STATS);
}

/* Runs the cluster: faults until fault_end, then a healed network (the
 * Byzantine replicas go on) until every request is committed everywhere
 * or the deadline passes. */
static const char *run(uint64_t fault_end, uint64_t settle_ms)
{
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    uint64_t deadline = fault_end + settle_ms;
    while (!S.failure && S.now_ms < deadline) {
        if (S.faults_on && S.now_ms >= fault_end) {
            S.faults_on = false;
            memset(S.cut, 0, sizeof S.cut);
            for (smr_node_id i = 0; i < S.n; i++)
                if (!S.nodes[i].up)
                    node_start(i);
        }
        run_one();
        if (S.faults_on || S.now_ms < fault_end)
            continue;
        bool done = true;
        for (uint32_t c = 0; c < S.n_clients; c++)
            done &= S.clients[c].done >= S.requests;
        for (smr_node_id i = 0; done && i < S.n; i++)
            done = !correct(i) ||
                   ord_pbft_commit_upto(S.nodes[i].core) >= S.max_committed;
        if (done)
            break;
    }
    unsigned all = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        all |= S.nodes[i].byz;
    for (smr_node_id i = 0; !S.failure && i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!correct(i) || !p)
            continue;
        if (p->stats.diverged)
            sim_fail("a checkpoint digest diverged (%llu) on node %u",
                     p->stats.diverged, i);
        if (p->stats.bad_new_view && !(all & BYZ_BAD_NV))
            sim_fail("a correct NEW-VIEW was refused (%llu) on node %u",
                     p->stats.bad_new_view, i);
        if (p->stats.bad_sig && !(all & BYZ_FORGE))
            sim_fail("a correct signature was refused (%llu) on node %u",
                     p->stats.bad_sig, i);
        if (p->stats.bad_mac && !(all & (BYZ_FORGE | BYZ_REPLAY)))
            sim_fail("a correct MAC was refused (%llu) on node %u",
                     p->stats.bad_mac, i);
    }
    if (!S.failure) {
        for (uint32_t c = 0; c < S.n_clients; c++)
            if (S.clients[c].done < S.requests)
                S.failure = "no progress after the faults stopped";
        for (smr_node_id i = 0; !S.failure && i < S.n; i++)
            if (correct(i) &&
                ord_pbft_commit_upto(S.nodes[i].core) < S.max_committed)
                S.failure = "a correct replica lags after the faults stopped";
    }
    if (S.failure)
        debug_dump();
    collect_stats();
    return S.failure;
}

/* What a seeded run looks like. */
struct profile {
    uint32_t n;          /* 0: 7 for every fourth seed, else 4 */
    int byz;             /* Byzantine replicas; -1: 0..f at random; -2: f+1 */
    unsigned behaviours; /* drawn from (each gets a random non-empty subset) */
    bool exact;          /* each gets all of `behaviours` */
    bool primaries;      /* the Byzantine are nodes 0, 1, ... (the primaries
                          * of views 0, 1, ...) rather than drawn */
    smr_node_id first;   /* with `primaries`: the first Byzantine id */
    bool crash_primary;  /* crash node 0 (if correct) once, early */
    bool no_crashes;     /* no random crashes */
};

static const char *run_profile(uint64_t seed, const struct profile *pr)
{
    uint32_t n = pr->n ? pr->n : (seed % 4 == 3 ? 7 : 4);
    sim_init(n, seed);
    S.n_clients = CLIENTS_MAX;
    S.requests = 10 + (uint32_t)(rnd() % 10);
    S.drop = (unsigned)(rnd() % 80);
    S.dup = (unsigned)(rnd() % 40);
    S.crash = pr->no_crashes ? 0 : (unsigned)(rnd() % 4);
    S.partition = (unsigned)(rnd() % 4);
    S.delay_max_ms = 1 + rnd() % 15;
    S.sync_max_ms = 1 + (chance(300) ? rnd() % 30 : rnd() % 3);
    S.faults_on = true;
    if (pr->crash_primary)
        S.crash_primary_at = 400 + rnd() % 800;
    if (chance(300)) {
        S.cfg.checkpoint_interval = 8;
        S.cfg.window = chance(500) ? 16 : 32;
    }
    uint32_t b = pr->byz == -2   ? S.f + 1
                 : pr->byz == -1 ? (uint32_t)(rnd() % (S.f + 1))
                                 : (uint32_t)pr->byz;
    for (uint32_t k = 0; k < b; k++) {
        smr_node_id id;
        if (pr->primaries) {
            id = (smr_node_id)((pr->first + k) % n);
        } else {
            do
                id = (smr_node_id)(rnd() % n);
            while (S.nodes[id].byz);
        }
        unsigned mask = pr->exact ? pr->behaviours : 0;
        while (!mask)
            mask = (unsigned)rnd() & pr->behaviours;
        if (!pr->exact && (mask & BYZ_SILENT) && chance(700))
            mask &= ~(unsigned)BYZ_SILENT; /* mostly active liars */
        S.nodes[id].byz = mask ? mask : BYZ_CONFLICT;
    }
    return run(2500 + rnd() % 1500, 30000);
}

static uint64_t first_seed(void)
{
    const char *env = getenv("PBFT_SEED");
    return env ? strtoull(env, NULL, 10) : 1;
}

/* PBFT_SEEDS seeds from PBFT_SEED (1 by default); PBFT_SEED alone replays
 * one seed. */
static uint32_t seed_count(uint32_t dflt)
{
    const char *env = getenv("PBFT_SEEDS");
    if (env)
        return (uint32_t)strtoul(env, NULL, 10);
    return getenv("PBFT_SEED") ? 1 : dflt;
}

/* test_ord_pbft_catchup.c includes this file for its harness alone. */
#ifndef PBFT_HARNESS_ONLY

/* ------------------------------------------------------------ tests */

START_TEST(test_calm_four)
{
    sim_init(4, 42);
    S.n_clients = CLIENTS_MAX;
    S.requests = 30;
    const char *f = run(0, 20000);
    ck_assert_msg(!f, "calm run: %s", f ? f : "");
    ck_assert_uint_ge(S.max_committed, 10);
    for (smr_node_id i = 0; i < 4; i++) {
        ck_assert_uint_gt(ord_pbft_stable(S.nodes[i].core), 0);
        ck_assert_uint_eq(ord_pbft_view(S.nodes[i].core), 0);
        ck_assert_uint_eq(S.nodes[i].core->stats.view_changes, 0);
    }
    sim_free();
}
END_TEST

START_TEST(test_calm_seven)
{
    sim_init(7, 43);
    S.n_clients = CLIENTS_MAX;
    S.requests = 20;
    const char *f = run(0, 20000);
    ck_assert_msg(!f, "calm run, n=7: %s", f ? f : "");
    sim_free();
}
END_TEST

START_TEST(test_single_replica)
{
    sim_init(1, 7);
    S.n_clients = 2;
    S.requests = 20;
    const char *f = run(0, 10000);
    ck_assert_msg(!f, "n=1: %s", f ? f : "");
    sim_free();
}
END_TEST

/* Every behaviour at once, drawn per seed: up to f Byzantine replicas with
 * random subsets of the behaviours, loss, duplication, reordering,
 * partitions, crash-restarts. PBFT_SEEDS seeds (400 by default). */
START_TEST(test_faulty_seeds)
{
    uint64_t from = first_seed();
    uint32_t count = seed_count(500);
    uint32_t failed = 0;
    struct profile pr = {.byz = -1, .behaviours = BYZ__ALL & ~BYZ_COLLUDE};
    for (uint64_t seed = from; seed < from + count; seed++) {
        const char *f = run_profile(seed, &pr);
        if (f) {
            failed++;
            fprintf(stderr,
                    "seed %llu (n=%u) failed: %s; replay: "
                    "PBFT_SEED=%llu test_ord_pbft\n",
                    (unsigned long long)seed, S.n, f, (unsigned long long)seed);
        }
        sim_free();
    }
    fprintf(stderr, "%u pbft seeds, %u failed\n", count, failed);
    print_stats("faulty");
    ck_assert_uint_eq(failed, 0);
}
END_TEST

/* One behaviour at a time on f replicas: safety always, liveness after the
 * faults stop, and evidence that the behaviour acted. */
struct behaviour_case {
    const char *name;
    unsigned behaviours;
    bool primaries; /* the Byzantine lead views 0 (and 1 for n = 7) */
    smr_node_id first;
    bool crash_primary;
};

static uint64_t sum_stat(size_t offset)
{
    uint64_t sum = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (correct(i) && S.nodes[i].core)
            sum += *(const uint64_t *)((const char *)&S.nodes[i].core->stats +
                                       offset);
    return sum;
}

#define STAT(field) sum_stat(offsetof(struct ord_pbft_stats, field))

static bool evidence(unsigned b)
{
    switch (b) {
    case BYZ_SILENT:
    case BYZ_EQUIVOCATE:
    case BYZ_STALL:
    case BYZ_SELECT:
        return STAT(view_changes) > 0;
    case BYZ_CONFLICT:
        return STAT(conflicts) > 0;
    case BYZ_FORGE:
        return STAT(bad_mac) > 0 && S.forged > 0;
    case BYZ_REPLAY:
        return S.replayed > 0;
    case BYZ_MUTATE:
        return S.mutated > 0;
    case BYZ_BAD_VC:
        return S.fake_vc > 0;
    case BYZ_BAD_NV:
        return S.fake_nv > 0 && STAT(bad_new_view) > 0;
    case BYZ_LIE:
        return S.fake_cu > 0;
    default:
        return false;
    }
}

START_TEST(test_each_behaviour)
{
    static const struct behaviour_case cases[] = {
        {"silent primary", BYZ_SILENT, true, 0, false},
        {"equivocating primary", BYZ_EQUIVOCATE, true, 0, false},
        {"stalling primary", BYZ_STALL, true, 0, false},
        {"primary ignoring a client", BYZ_SELECT, true, 0, false},
        {"conflicting prepares and commits", BYZ_CONFLICT, false, 0, false},
        {"forged MACs and signatures", BYZ_FORGE, false, 0, false},
        {"replayed old messages", BYZ_REPLAY, false, 0, false},
        {"view and seq moved by one", BYZ_MUTATE, false, 0, false},
        {"fabricated view changes", BYZ_BAD_VC, false, 0, true},
        {"fabricated new view", BYZ_BAD_NV, true, 1, true},
        {"fabricated catch-up and checkpoints", BYZ_LIE, false, 0, false},
    };
    uint32_t per = 8;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t acted = 0;
        for (uint64_t seed = first_seed(); seed < first_seed() + per; seed++) {
            struct profile pr = {.n = seed % 2 ? 7 : 4,
                                 .byz = -3,
                                 .behaviours = cases[c].behaviours,
                                 .exact = true,
                                 .primaries = cases[c].primaries,
                                 .first = cases[c].first,
                                 .crash_primary = cases[c].crash_primary};
            pr.byz = (int)((pr.n - 1) / 3);
            const char *f = run_profile(seed * 7919 + c, &pr);
            ck_assert_msg(!f, "%s, seed %llu: %s", cases[c].name,
                          (unsigned long long)(seed * 7919 + c), f ? f : "");
            acted += evidence(cases[c].behaviours);
            sim_free();
        }
        fprintf(stderr, "%s: tolerated in %u seeds, acted in %u\n",
                cases[c].name, per, acted);
        ck_assert_msg(acted > 0, "%s never acted", cases[c].name);
    }
    print_stats("behaviours");
}
END_TEST

/* Runs seeds with a deliberately broken core (mutant) or f+1 Byzantine
 * replicas until the harness catches one (a safety oracle fails); returns
 * the seed, or 0. A harness that cannot catch these proves nothing. */
static uint64_t catch_broken(int mutant, const struct profile *pr,
                             uint32_t max_seeds, const char *want,
                             const char **why)
{
    static char reason[256];
    for (uint64_t seed = first_seed(); seed < first_seed() + max_seeds;
         seed++) {
        ord_pbft_mutant = mutant;
        const char *f = run_profile(seed, pr);
        ord_pbft_mutant = ORD_PBFT_MUTANT_NONE;
        bool caught = f && !strstr(f, "progress") && !strstr(f, "lags") &&
                      (!want || strstr(f, want));
        if (caught)
            snprintf(reason, sizeof reason, "%s", f);
        sim_free();
        if (!caught)
            continue;
        *why = reason;
        if (mutant != ORD_PBFT_MUTANT_NONE) {
            /* The same seed with the correct core passes: the mutant, not
             * the harness, broke the rule. */
            f = run_profile(seed, pr);
            ck_assert_msg(!f, "seed %llu fails without the mutant too: %s",
                          (unsigned long long)seed, f ? f : "");
            sim_free();
        }
        return seed;
    }
    return 0;
}

START_TEST(test_mutants_caught)
{
    static const struct {
        int mutant;
        const char *name;
        struct profile pr;
    } cases[] = {
        {ORD_PBFT_MUTANT_WEAK_PREPARE,
         "prepared with 2f-1 prepares",
         {.byz = -1, .behaviours = BYZ_EQUIVOCATE | BYZ_CONFLICT}},
        {ORD_PBFT_MUTANT_WEAK_COMMIT,
         "committed with 2f commits",
         {.byz = -1, .behaviours = BYZ_CONFLICT | BYZ_COLLUDE}},
        {ORD_PBFT_MUTANT_VOTE_EARLY,
         "COMMIT before its record is durable",
         {.byz = 0}},
        {ORD_PBFT_MUTANT_TRUST_NEW_VIEW,
         "NEW-VIEW taken without checking",
         {.n = 4,
          .byz = 1,
          .behaviours = BYZ_BAD_NV,
          .exact = true,
          .primaries = true,
          .first = 1,
          .crash_primary = true}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *why = NULL;
        uint64_t seed =
            catch_broken(cases[c].mutant, &cases[c].pr, 400, NULL, &why);
        fprintf(stderr, "mutant \"%s\": caught by seed %llu (%s)\n",
                cases[c].name, (unsigned long long)seed, why ? why : "-");
        ck_assert_msg(seed != 0, "mutant \"%s\" was never caught",
                      cases[c].name);
    }
    /* Without the quorum oracles, the durability oracle alone catches a
     * vote sent before its record is durable (a crash loses the record). */
    quorum_oracles = false;
    struct profile crashy = {.byz = 0};
    const char *why = NULL;
    uint64_t seed =
        catch_broken(ORD_PBFT_MUTANT_VOTE_EARLY, &crashy, 400, "lost", &why);
    quorum_oracles = true;
    fprintf(stderr,
            "mutant \"COMMIT before its record is durable\", "
            "durability oracle only: caught by seed %llu (%s)\n",
            (unsigned long long)seed, why ? why : "-");
    ck_assert_msg(seed != 0, "the durability oracle never caught it");
}
END_TEST

/* f+1 Byzantine replicas are beyond what PBFT tolerates: an equivocating
 * primary with a backup that votes for whatever each replica was sent
 * makes two correct replicas commit different values. */
START_TEST(test_f_plus_one_break_safety)
{
    struct profile pr = {.n = 4,
                         .byz = -2,
                         .behaviours = BYZ_COLLUDE,
                         .exact = true,
                         .primaries = true};
    const char *why = NULL;
    /* The quorum oracles would stop the run at the first invariant broken
     * (two values prepared in one view); without them the run goes on to
     * the end-to-end failure. */
    quorum_oracles = false;
    uint64_t seed = catch_broken(ORD_PBFT_MUTANT_NONE, &pr, 400,
                                 "agreement violated", &why);
    quorum_oracles = true;
    fprintf(stderr, "f+1 colluders: caught by seed %llu (%s)\n",
            (unsigned long long)seed, why ? why : "-");
    ck_assert_msg(seed != 0, "f+1 colluding replicas never broke agreement");
    /* The same replicas, one fewer: tolerated. */
    pr.byz = 1;
    for (uint64_t s = 1; s <= 20; s++) {
        const char *f = run_profile(s, &pr);
        ck_assert_msg(!f, "f colluders, seed %llu: %s", (unsigned long long)s,
                      f ? f : "");
        sim_free();
    }
}
END_TEST

/* ------------------------------------------------------ unit checks */

START_TEST(test_records)
{
    struct pbft_slot sl, back;
    memset(&sl, 0, sizeof sl);
    memset(&back, 0, sizeof back);
    struct smr_buf b, rec;
    smr_buf_init(&b);
    smr_buf_init(&rec);
    smr_batch_begin(&b);
    struct smr_request r = {1, 2, (const uint8_t *)"abc", 3};
    smr_batch_add(&b, &r);
    sl.seq = 9;
    sl.has_pp = sl.has_p = true;
    sl.pp_view = sl.p_view = 3;
    sl.pp_time_ms = sl.p_time_ms = 1234;
    ord_pbft_entry_digest(1, 1234, b.data, (uint32_t)b.len, sl.pp_digest);
    memcpy(sl.p_digest, sl.pp_digest, SMR_DIGEST_BYTES);
    smr_buf_set(&sl.pp_batch, b.data, b.len);
    smr_buf_set(&sl.p_batch, b.data, b.len);
    smr_buf_set(&sl.pp_auth, (const uint8_t *)"0123456789abcdef", 16);
    sl.n_q = 1;
    sl.q[0].view = 3;
    memcpy(sl.q[0].digest, sl.pp_digest, SMR_DIGEST_BYTES);
    ck_assert_int_eq(pbft_slot_encode(&sl, &rec), SMR_OK);
    ck_assert_int_eq(pbft_slot_decode(rec.data, rec.len, &back), SMR_OK);
    ck_assert(back.has_pp && back.has_p && back.pp_view == 3);
    ck_assert_mem_eq(back.p_digest, sl.p_digest, SMR_DIGEST_BYTES);
    ck_assert_uint_eq(back.p_batch.len, b.len);
    struct ord_pbft_entry e;
    ck_assert_int_eq(ord_pbft_record_committed(rec.data, rec.len, 9, &e),
                     SMR_OK);
    ck_assert_uint_eq(e.leader_time_ms, 1234);
    ck_assert_mem_eq(e.batch, b.data, b.len);
    /* Every truncation and every flipped byte is refused, never trusted. */
    for (size_t i = 0; i < rec.len; i++) {
        ck_assert_int_eq(ord_pbft_record_committed(rec.data, i, 9, &e),
                         SMR_ECORRUPT);
        rec.data[i] ^= 0x40;
        ck_assert_int_eq(ord_pbft_record_committed(rec.data, rec.len, 9, &e),
                         SMR_ECORRUPT);
        rec.data[i] ^= 0x40;
    }
    uint8_t mark[PBFT_MARK_RECORD_BYTES], d[SMR_DIGEST_BYTES];
    smr_seq seq, st;
    uint8_t sd[SMR_DIGEST_BYTES];
    pbft_mark_record_encode(mark, 16, sl.pp_digest, 8, sl.pp_digest);
    ck_assert_int_eq(
        pbft_mark_record_decode(mark, sizeof mark, &seq, d, &st, sd), SMR_OK);
    ck_assert_uint_eq(seq, 16);
    ck_assert_uint_eq(st, 8);
    mark[3] ^= 1;
    ck_assert_int_eq(
        pbft_mark_record_decode(mark, sizeof mark, &seq, d, &st, sd),
        SMR_ECORRUPT);
    for (struct pbft_slot *x = &sl; x; x = x == &sl ? &back : NULL) {
        smr_buf_free(&x->pp_batch);
        smr_buf_free(&x->p_batch);
        smr_buf_free(&x->pp_auth);
        smr_buf_free(&x->c_batch);
    }
    smr_buf_free(&b);
    smr_buf_free(&rec);
}
END_TEST

START_TEST(test_config_refused)
{
    keys_init();
    struct ord_pbft_config c;
    char err[200];
    ord_pbft_config_defaults(&c);
    c.n_replicas = 5;
    ck_assert_int_eq(ord_pbft_config_check(&c, err, sizeof err), SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "3f+1"));
    ord_pbft_config_defaults(&c);
    c.window = c.checkpoint_interval + 1;
    ck_assert_int_eq(ord_pbft_config_check(&c, err, sizeof err), SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "window"));
    /* Keys that are not a pair are refused at creation. */
    sim_init(4, 1);
    struct ord_pbft_config k;
    make_config(0, &k);
    memcpy(k.secret_key, SK[1], sizeof k.secret_key);
    struct ord_pbft *core = NULL;
    ck_assert_int_eq(ord_pbft_new(&k, &core), SMR_ECONFIG);
    struct ord_contract ct;
    ord_pbft_contract(&S.cfg, &ct);
    ck_assert(ct.byzantine && ct.faults_tolerated == 1 &&
              ct.replicas_required == 4);
}
END_TEST

/* What authentication refuses, and that it is counted. */
START_TEST(test_authentication)
{
    sim_init(4, 3);
    S.scenario = true;
    for (smr_node_id i = 0; i < 4; i++)
        node_start(i);
    struct ord_pbft *b1 = S.nodes[1].core;
    /* A status from replica 2, sealed by replica 2: accepted. */
    struct ord_pbft_msg m = {.type = ORD_PBFT_STATUS, .active = true};
    ord_pbft_seal(S.nodes[2].core, &m);
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = 2;
    ev.u.message.msg = &m;
    step(1, &ev);
    ck_assert_uint_eq(b1->stats.bad_mac, 0);
    /* One bit of its tag for replica 1 flipped: dropped, counted. */
    m.mac[1][0] ^= 1;
    step(1, &ev);
    ck_assert_uint_eq(b1->stats.bad_mac, 1);
    m.mac[1][0] ^= 1;
    /* Replica 3 claiming to be 2 with its own keys: dropped. */
    ord_pbft_seal(S.nodes[3].core, &m);
    m.from = 2;
    step(1, &ev);
    ck_assert_uint_eq(b1->stats.bad_mac, 2);
    /* The same message sealed for another cluster: dropped. */
    struct ord_pbft_config other;
    make_config(2, &other);
    other.cluster_id = 0xC2;
    struct ord_pbft *alien;
    ck_assert_int_eq(ord_pbft_new(&other, &alien), SMR_OK);
    ord_pbft_seal(alien, &m);
    step(1, &ev);
    ck_assert_uint_eq(b1->stats.bad_mac, 3);
    ord_pbft_destroy(&alien);
    /* A request without the client's MACs (ORD_EV_REQUEST) is refused. */
    uint8_t op[4] = {1, 2, 3, 4};
    struct ord_event rq = {.type = ORD_EV_REQUEST};
    rq.u.request = (struct smr_request){0, 1, op, sizeof op};
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_pbft_step(S.nodes[0].core, 0, &rq, &o, &n), SMR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(o[0].type, ORD_OUT_REJECT);
    ck_assert_uint_eq(S.nodes[0].core->stats.unauthenticated_requests, 1);
    /* A request whose tag for the primary is wrong is dropped. */
    struct smr_request r = {0, 1, op, sizeof op};
    struct ord_pbft_msg q = {.type = ORD_PBFT_REQUEST,
                             .from = ORD_PBFT_FROM_CLIENT,
                             .client_id = 0,
                             .req_id = 1,
                             .op = op,
                             .op_len = sizeof op};
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])CKEY[1], 4,
                          S.cfg.cluster_id, &r, q.mac); /* client 1's keys */
    struct ord_event qe = {.type = ORD_EV_MESSAGE};
    qe.u.message.from = ORD_PBFT_FROM_CLIENT;
    qe.u.message.msg = &q;
    step(0, &qe);
    ck_assert_uint_eq(S.nodes[0].core->stats.bad_mac, 1);
    ck_assert_uint_eq(S.nodes[0].core->queued, 0);
    /* With the right keys it is queued. */
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])CKEY[0], 4,
                          S.cfg.cluster_id, &r, q.mac);
    step(0, &qe);
    ck_assert_uint_eq(S.nodes[0].core->queued, 1);
    sim_free();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ord_pbft");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_records);
    tcase_add_test(tc, test_config_refused);
    tcase_add_test(tc, test_authentication);
    tcase_add_test(tc, test_calm_four);
    tcase_add_test(tc, test_calm_seven);
    tcase_add_test(tc, test_single_replica);
    tcase_add_test(tc, test_each_behaviour);
    tcase_add_test(tc, test_mutants_caught);
    tcase_add_test(tc, test_f_plus_one_break_safety);
    tcase_add_test(tc, test_faulty_seeds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif /* PBFT_HARNESS_ONLY */
