/*
 * test_ord_pbft_clients.c: faulty clients and signed retransmissions in the
 * PBFT core (docs/pbft.md "Faulty clients").
 *
 * A client's MAC vector can check at some replicas and not at others, and
 * no replica can tell a faulty client from a faulty primary that changed a
 * tag. The scenarios here check the rules that keep either from costing a
 * view change per request:
 *  - a backup holds a pre-prepare it cannot authenticate, and takes it as
 *    soon as the client's signed retransmission arrives (a primary that
 *    spoils tags costs a retransmission, not its view);
 *  - a backup that held one suspects the request's client block, and while
 *    primary orders that block's requests only signed (a client whose tags
 *    check only at the primary costs one view change, not one per request);
 *  - backups time only signed requests, and a signed one takes an unsigned
 *    one's place in a full pending table (a client that sends requests the
 *    primary will not order cannot depose it);
 *  - the layout of a pre-prepare's request authentication is checked.
 * Each rule has a mutant the scenario must catch.
 *
 * It reuses the deterministic harness of test_ord_pbft.c (included with
 * PBFT_HARNESS_ONLY): same network, stores, oracles and correct clients.
 */
#define PBFT_HARNESS_ONLY
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_ord_pbft.c"

/* The faulty client: an id of block 1 (the correct clients are in block 0,
 * so suspecting it costs them nothing). */
#define BAD_CLIENT (((smr_client_id)1 << 32) | 5)

static smr_req_id bad_req;

/* Client `id`'s request (req, op) to replica `to`, whose tag for replica i
 * is right exactly when bit i of `good` is set; with `sign`, with a proof
 * made with a key of its block that the harness CA certifies. */
static void send_request(smr_node_id to, smr_client_id id, smr_req_id req,
                         const uint8_t *op, uint32_t op_len, uint32_t good,
                         bool sign)
{
    uint8_t keys[NODES_MAX][ORD_PBFT_KEY_BYTES], proof[ORD_PBFT_PROOF_BYTES];
    for (smr_node_id i = 0; i < S.n; i++)
        ord_pbft_client_key(ROOT[i], id, keys[i]);
    struct smr_request r = {id, req, op, op_len};
    struct ord_pbft_msg m = {.type = ORD_PBFT_REQUEST,
                             .from = ORD_PBFT_FROM_CLIENT,
                             .client_id = id,
                             .req_id = req,
                             .op = op,
                             .op_len = op_len};
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])keys, S.n,
                          S.cfg.cluster_id, &r, m.mac);
    for (smr_node_id i = 0; i < S.n; i++)
        if (!(good & (1u << i)))
            m.mac[i][0] ^= 1;
    if (sign) {
        uint8_t pk[ORD_PBFT_PUBLIC_KEY_BYTES], sk[ORD_PBFT_SECRET_KEY_BYTES];
        uint8_t seed[32] = {0xb1}, cert[ORD_PBFT_SIG_BYTES];
        crypto_sign_seed_keypair(pk, sk, seed);
        ord_pbft_client_cert(CA_SK, ORD_PBFT_CLIENT_BLOCK(id), pk, cert);
        ord_pbft_request_sign(sk, cert, S.cfg.cluster_id, &r, proof);
        m.proof = proof;
    }
    if (!S.nodes[to].up)
        return;
    struct ord_event ev = {.type = ORD_EV_MESSAGE};
    ev.u.message.from = ORD_PBFT_FROM_CLIENT;
    ev.u.message.msg = &m;
    step(to, &ev);
    struct ord_event fl = {.type = ORD_EV_FLUSH};
    step(to, &fl);
}

/* A request of faulty client `id` (its next id, a 16-byte op) to replica
 * `to`, with right tags where `good` says. Never signed. */
static void bad_send_as(smr_client_id id, smr_node_id to, uint32_t good)
{
    uint8_t op[16];
    bad_req++;
    memset(op, (int)bad_req, sizeof op);
    send_request(to, id, bad_req, op, sizeof op, good, false);
}

static void bad_send(smr_node_id to, uint32_t good)
{
    bad_send_as(BAD_CLIENT, to, good);
}

/* The primary of the highest view a correct replica is active in. */
static smr_node_id current_primary(void)
{
    uint64_t view = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (S.nodes[i].up && correct(i) &&
            ord_pbft_view(S.nodes[i].core) > view)
            view = ord_pbft_view(S.nodes[i].core);
    return (smr_node_id)(view % S.n);
}

static uint64_t max_view(void)
{
    uint64_t view = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (correct(i) && ord_pbft_view(S.nodes[i].core) > view)
            view = ord_pbft_view(S.nodes[i].core);
    return view;
}

enum attack {
    ATTACK_NONE,
    ATTACK_PRIMARY_ONLY, /* tags right at the primary alone */
    ATTACK_NOT_PRIMARY,  /* tags right everywhere but at the primary; to all */
};

/* Runs `ms` of virtual time with correct clients, the faulty client
 * attacking every `every_ms`; then lets the correct clients finish their
 * S.requests (a client that keeps sending keeps timing the primary, so
 * S.requests may exceed what fits in `ms`: then each must have finished
 * `at_least` by then). Returns the harness's failure, or NULL. */
static const char *run_attack(enum attack a, uint64_t ms, uint64_t every_ms,
                              uint32_t at_least)
{
    for (smr_node_id i = 0; i < S.n; i++)
        if (!S.nodes[i].core)
            node_start(i); /* a scenario may have started them */
    uint32_t all = (1u << S.n) - 1;
    while (!S.failure && S.now_ms < ms) {
        uint64_t before = S.now_ms;
        run_one();
        if (S.now_ms == before || S.now_ms % every_ms != 0)
            continue;
        smr_node_id p = current_primary();
        if (a == ATTACK_PRIMARY_ONLY)
            bad_send(p, 1u << p);
        else if (a == ATTACK_NOT_PRIMARY)
            for (smr_node_id i = 0; i < S.n; i++)
                bad_send(i, all & ~(1u << p));
    }
    for (uint32_t c = 0; !S.failure && c < S.n_clients; c++)
        if (S.clients[c].done < at_least)
            S.failure = "a correct client made too little progress";
    if (at_least)
        return S.failure;
    while (!S.failure && S.now_ms < ms + 20000) {
        run_one();
        bool done = true;
        for (uint32_t c = 0; c < S.n_clients; c++)
            done &= S.clients[c].done >= S.requests;
        if (done)
            break;
    }
    for (uint32_t c = 0; !S.failure && c < S.n_clients; c++)
        if (S.clients[c].done < S.requests)
            S.failure = "a correct client did not finish";
    return S.failure;
}

static void setup(uint64_t seed, uint32_t requests)
{
    sim_init(4, seed);
    S.n_clients = CLIENTS_MAX;
    S.requests = requests;
    bad_req = 0;
}

static uint64_t stat_sum(size_t offset)
{
    uint64_t sum = 0;
    for (smr_node_id i = 0; i < S.n; i++)
        if (correct(i))
            sum += *(const uint64_t *)((const uint8_t *)&S.nodes[i].core->stats +
                                       offset);
    return sum;
}
#define STAT(field) stat_sum(offsetof(struct ord_pbft_stats, field))

/* A primary that spoils one client tag per pre-prepare for the odd backups:
 * they hold the pre-prepare, the client's signed retransmission releases
 * it, and the view never changes. */
START_TEST(test_spoiled_tags_cost_a_retransmission)
{
    setup(11, 20);
    S.nodes[0].byz = BYZ_BAD_TAGS;
    const char *f = run_attack(ATTACK_NONE, 3000, 1000, 0);
    ck_assert_msg(!f, "%s", f ? f : "");
    ck_assert_uint_eq(max_view(), 0);
    ck_assert_uint_gt(S.nodes[1].core->stats.held, 0);
    ck_assert_uint_gt(S.nodes[3].core->stats.held, 0);
    ck_assert_uint_gt(STAT(signed_requests), 0);
    sim_free();
}
END_TEST

/* A client whose tags check only at the primary, 100 times over 10 s: the
 * first attack costs a view change (its request blocks every later seq
 * until a view change drops it); then the new primary, which held it,
 * suspects the client's block and refuses its unsigned requests. */
static uint64_t primary_only_views(int mutant, uint64_t *refused)
{
    setup(12, ACKED_MAX - 1);
    ord_pbft_mutant = mutant;
    const char *f = run_attack(ATTACK_PRIMARY_ONLY, 10000, 100, 20);
    ord_pbft_mutant = ORD_PBFT_MUTANT_NONE;
    ck_assert_msg(!f, "%s", f ? f : "");
    uint64_t views = max_view();
    *refused = STAT(unsigned_refused);
    if (getenv("PBFT_DEBUG"))
        fprintf(stderr, "primary-only tags, mutant %d: %llu views, %llu "
                        "refused, client 0 did %u\n",
                mutant, (unsigned long long)views,
                (unsigned long long)*refused, S.clients[0].done);
    sim_free();
    return views;
}

START_TEST(test_client_with_primary_only_tags)
{
    uint64_t refused;
    uint64_t views = primary_only_views(ORD_PBFT_MUTANT_NONE, &refused);
    ck_assert_uint_ge(views, 1);
    ck_assert_uint_le(views, 2);
    ck_assert_uint_gt(refused, 50);
    /* Without suspicion every attack costs a view change. */
    views = primary_only_views(ORD_PBFT_MUTANT_NO_SUSPECT, &refused);
    ck_assert_msg(views >= 10, "mutant not caught: %llu views",
                  (unsigned long long)views);
}
END_TEST

/* A client whose tags check everywhere but at the primary, sent to every
 * replica: the backups keep its requests (unsigned, untimed), the primary
 * drops them, and nobody changes view. */
static uint64_t not_primary_views(int mutant)
{
    setup(13, ACKED_MAX - 1);
    S.cfg.pending_max = 64;
    ord_pbft_mutant = mutant;
    const char *f = run_attack(ATTACK_NOT_PRIMARY, 5000, 20, 100);
    ord_pbft_mutant = ORD_PBFT_MUTANT_NONE;
    ck_assert_msg(!f, "%s", f ? f : "");
    uint64_t views = max_view();
    if (getenv("PBFT_DEBUG"))
        fprintf(stderr, "bad primary tag, mutant %d: %llu views, client 0 "
                        "did %u\n",
                mutant, (unsigned long long)views, S.clients[0].done);
    /* 250 unsigned requests per backup, 64 kept at most. */
    for (smr_node_id i = 1; i < S.n; i++)
        ck_assert_uint_le(S.nodes[i].core->n_pending, 64);
    sim_free();
    return views;
}

START_TEST(test_client_with_bad_primary_tag)
{
    ck_assert_uint_eq(not_primary_views(ORD_PBFT_MUTANT_NONE), 0);
    ck_assert_msg(not_primary_views(ORD_PBFT_MUTANT_TIME_UNSIGNED) >= 2,
                  "mutant not caught");
}
END_TEST

/* With the backups' pending tables full of the faulty client's unsigned
 * requests, a silent primary is still deposed: a correct client's signed
 * retransmission takes an unsigned request's place and is timed. */
START_TEST(test_full_pending_table_still_times)
{
    setup(14, 10);
    S.cfg.pending_max = 16;
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    for (int k = 0; k < 40; k++)
        for (smr_node_id i = 1; i < S.n; i++)
            bad_send(i, 0xe); /* bad at the primary only */
    for (smr_node_id i = 1; i < S.n; i++)
        ck_assert_uint_eq(S.nodes[i].core->n_pending, 16);
    S.nodes[0].byz = BYZ_SILENT;
    const char *f = run_attack(ATTACK_NONE, 1, 1000, 0);
    ck_assert_msg(!f, "%s", f ? f : "");
    ck_assert_uint_ge(max_view(), 1);
    sim_free();
}
END_TEST

/* A pre-prepare whose request authentication is laid out wrong is refused
 * as invalid (not held). */
START_TEST(test_request_auth_layout)
{
    setup(15, 1);
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    uint8_t op[8] = {1};
    struct smr_request r = {0, 1, op, sizeof op};
    struct smr_buf batch;
    smr_buf_init(&batch);
    ck_assert_int_eq(smr_batch_begin(&batch), SMR_OK);
    ck_assert_int_eq(smr_batch_add(&batch, &r), SMR_OK);
    ck_assert_int_eq(smr_batch_add(&batch, &r), SMR_OK); /* 2 requests */
    uint8_t auth[2 * 4 * ORD_PBFT_MAC_BYTES + 3 * ORD_PBFT_PROOF_ENTRY_BYTES];
    memset(auth, 0, sizeof auth);
    const uint32_t tags = 2 * 4 * ORD_PBFT_MAC_BYTES;
    struct {
        uint32_t len;
        uint32_t index[2]; /* of the proof entries present */
    } cases[] = {
        {tags - ORD_PBFT_MAC_BYTES, {0, 0}},    /* one tag short */
        {tags + 7, {0, 0}},                     /* a partial proof entry */
        {tags + ORD_PBFT_PROOF_ENTRY_BYTES, {2, 0}}, /* index past the batch */
        {tags + 2 * ORD_PBFT_PROOF_ENTRY_BYTES, {1, 0}}, /* not rising */
        {tags + 2 * ORD_PBFT_PROOF_ENTRY_BYTES, {1, 1}}, /* twice */
    };
    struct ord_pbft *b = S.nodes[1].core;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (uint32_t e = 0; e < 2; e++)
            smr_put_u32(auth + tags + e * ORD_PBFT_PROOF_ENTRY_BYTES,
                        cases[k].index[e]);
        struct ord_pbft_msg m = {.type = ORD_PBFT_PRE_PREPARE,
                                 .view = 0,
                                 .seq = 1,
                                 .leader_time_ms = 1,
                                 .batch = batch.data,
                                 .batch_len = (uint32_t)batch.len,
                                 .req_auth = auth,
                                 .req_auth_len = cases[k].len};
        ord_pbft_entry_digest(S.cfg.epoch, 1, batch.data, (uint32_t)batch.len,
                              m.digest);
        ord_pbft_seal(S.nodes[0].core, &m);
        uint64_t invalid = b->stats.invalid, held = b->stats.held;
        struct ord_event ev = {.type = ORD_EV_MESSAGE};
        ev.u.message.from = 0;
        ev.u.message.msg = &m;
        step(1, &ev);
        ck_assert_msg(b->stats.invalid == invalid + 1, "case %zu not refused",
                      k);
        ck_assert_uint_eq(b->stats.held, held);
    }
    smr_buf_free(&batch);
    sim_free();
}
END_TEST

/* One request id, two ops: the pending entry keeps the op of the proof it
 * keeps (else the proof fails wherever the entry is forwarded, and the
 * backups time a request no replica can order). */
START_TEST(test_signed_op_replaces_unsigned)
{
    setup(16, 1);
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    bad_send(2, 0xf); /* req 1, op of 1s, right tags everywhere */
    struct ord_pbft *b = S.nodes[2].core;
    ck_assert_uint_eq(b->n_pending, 1);
    uint8_t other[16];
    memset(other, 0x77, sizeof other);
    send_request(2, BAD_CLIENT, 1, other, sizeof other, 0xf, true);
    ck_assert_uint_eq(b->n_pending, 1);
    ck_assert(b->pending[0].has_proof);
    ck_assert_uint_eq(b->pending[0].op.len, sizeof other);
    ck_assert_mem_eq(b->pending[0].op.data, other, sizeof other);
    sim_free();
}
END_TEST

/* A signed request no batch can hold is refused at a backup too: it would
 * be timed there, and every primary would refuse it in turn. */
START_TEST(test_oversized_request_not_timed)
{
    setup(17, 1);
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    static uint8_t big[96 * 1024];
    ck_assert_uint_lt(S.nodes[1].core->cfg.batch_bytes_max, sizeof big);
    send_request(1, BAD_CLIENT, 1, big, sizeof big, 0xf, true);
    ck_assert_uint_eq(S.nodes[1].core->n_pending, 0);
    ck_assert_uint_eq(S.nodes[1].core->stats.bad_mac, 0);
    sim_free();
}
END_TEST

/* True when replica `id` suspects client block `block` now. */
static bool suspects_block(smr_node_id id, uint32_t block)
{
    const struct ord_pbft *p = S.nodes[id].core;
    for (uint32_t i = 0; i < PBFT_SUSPECTS; i++)
        if (p->suspects[i].block == block && S.now_ms < p->suspects[i].until_ms)
            return true;
    return false;
}

/* Blocks that share a set of the suspect table do not evict each other:
 * four of them, all held by a backup, are all suspect there. */
START_TEST(test_suspects_share_a_set)
{
    setup(18, 1);
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    uint32_t blocks[PBFT_SUSPECT_WAYS], found = 0;
    uint32_t set = (1u * 0x9E3779B1u) >> 26;
    for (uint32_t b = 1; found < PBFT_SUSPECT_WAYS; b++)
        if (((b * 0x9E3779B1u) >> 26) == set)
            blocks[found++] = b;
    for (uint32_t k = 0; k < PBFT_SUSPECT_WAYS; k++) {
        bad_send_as(((smr_client_id)blocks[k] << 32) | 3, 0, 1u << 0);
        for (uint64_t until = S.now_ms + 50; S.now_ms < until;)
            run_one(); /* the pre-prepare reaches the backups */
    }
    for (uint32_t k = 0; k < PBFT_SUSPECT_WAYS; k++)
        ck_assert_msg(suspects_block(1, blocks[k]), "block %u evicted",
                      blocks[k]);
    sim_free();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ord_pbft_clients");
    TCase *tc = tcase_create("clients");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_request_auth_layout);
    tcase_add_test(tc, test_spoiled_tags_cost_a_retransmission);
    tcase_add_test(tc, test_client_with_primary_only_tags);
    tcase_add_test(tc, test_client_with_bad_primary_tag);
    tcase_add_test(tc, test_full_pending_table_still_times);
    tcase_add_test(tc, test_signed_op_replaces_unsigned);
    tcase_add_test(tc, test_oversized_request_not_timed);
    tcase_add_test(tc, test_suspects_share_a_set);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
