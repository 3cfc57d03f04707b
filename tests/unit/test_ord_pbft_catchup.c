/*
 * test_ord_pbft_catchup.c: a replica that lags by more than the seqs held
 * in memory (ORD_PBFT_CAP), and that is stuck in an old view whose
 * successor's NEW-VIEW every replica lost to a full restart, must catch up
 * and join the others' view (the liveness bug seen with real processes:
 * replica 0 active in view 0 at commit point 7760 for good while the
 * others went on in view 1 at 16,000).
 *
 * It reuses the deterministic harness of test_ord_pbft.c (included with
 * PBFT_HARNESS_ONLY, so the network, stores, FETCH service and oracles are
 * the same code): the FETCH service answers one sealed CATCHUP of at most
 * 64 entries read from storage, as glue/core_pbft.c does.
 *
 * Scenario, per seed: 4 or 7 replicas, batches of one request; the primary
 * of view 0 (replica 0) crashes early, the others change to view 1 and
 * commit more than ORD_PBFT_CAP seqs beyond it; then every replica
 * crashes (unsynced writes kept at random) and restarts at once; clients
 * keep sending. Replica 0 must reach the highest commit point and be
 * active in the others' view within bounded virtual time, with every
 * safety oracle of the harness checked after each event.
 *
 * PBFT_SEED / PBFT_SEEDS as in test_ord_pbft.c (10 seeds by default).
 */
#define PBFT_HARNESS_ONLY
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_ord_pbft.c"

/* Runs events until `until` (virtual ms) or a failure. */
static void run_until(uint64_t until)
{
    while (!S.failure && S.now_ms < until)
        run_one();
}

static smr_seq top_commit(void)
{
    smr_seq top = 0;
    for (smr_node_id i = 1; i < S.n; i++)
        if (S.nodes[i].up && ord_pbft_commit_upto(S.nodes[i].core) > top)
            top = ord_pbft_commit_upto(S.nodes[i].core);
    return top;
}

/* True once replica 0 holds the highest commit point and is active in the
 * view the others are active in. */
static bool joined(void)
{
    const struct ord_pbft *z = S.nodes[0].core;
    for (smr_node_id i = 1; i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!ord_pbft_view_active(p) || ord_pbft_view(p) != ord_pbft_view(z))
            return false;
    }
    return ord_pbft_view_active(z) && ord_pbft_commit_upto(z) >= top_commit();
}

/* How long replica 0 may take to join after the restart (virtual ms). */
#define JOIN_MS 10000

static uint64_t restarted_ms;    /* when every replica restarted */
static uint64_t joined_after_ms; /* ... and how long replica 0 took */

static const char *run_lagging(uint64_t seed, bool lossy, smr_seq *gap)
{
    sim_init(seed % 3 == 2 ? 7 : 4, seed);
    S.cfg.batch_max = 1; /* one request per seq: many seqs quickly */
    S.n_clients = CLIENTS_MAX;
    S.requests = 500;
    if (lossy) {
        S.faults_on = true; /* loss, duplication, delay; no crashes */
        S.drop = (unsigned)(rnd() % 50);
        S.dup = (unsigned)(rnd() % 30);
        S.delay_max_ms = 1 + rnd() % 8;
    }
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    run_until(200 + rnd() % 200);
    node_crash(0, 500); /* the primary of view 0 */
    /* The others change view and run well past the seqs held in memory. */
    smr_seq at_crash = 0;
    uint64_t deadline = S.now_ms + 120000;
    while (!S.failure && S.now_ms < deadline &&
           top_commit() < ORD_PBFT_CAP + 400 + 16 * S.n)
        run_one();
    if (S.failure)
        return S.failure;
    if (top_commit() < ORD_PBFT_CAP + 400)
        return "the others did not get far enough ahead";
    /* Every replica down, then up again: the NEW-VIEW of view 1 held in
     * memory is gone. */
    for (smr_node_id i = 1; i < S.n; i++)
        node_crash(i, 500);
    S.faults_on = false;
    run_until(S.now_ms + 5);
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    restarted_ms = S.now_ms;
    at_crash = ord_pbft_commit_upto(S.nodes[0].core);
    *gap = top_commit() - at_crash;
    if (*gap <= ORD_PBFT_CAP)
        return "replica 0 does not lag by more than ORD_PBFT_CAP";
    /* Load goes on; replica 0 must join within bounded virtual time. */
    S.requests = 510;
    deadline = S.now_ms + JOIN_MS;
    while (!S.failure && S.now_ms < deadline && !joined())
        run_one();
    if (S.failure)
        return S.failure;
    if (!joined()) {
        debug_dump();
        return "replica 0 did not catch up and join the others' view";
    }
    joined_after_ms = S.now_ms - restarted_ms;
    /* And it takes part from then on: a few more requests commit
     * everywhere. */
    S.requests = 511;
    deadline = S.now_ms + 30000;
    bool done = false;
    while (!S.failure && S.now_ms < deadline && !done) {
        run_one();
        done = true;
        for (uint32_t c = 0; c < S.n_clients; c++)
            done &= S.clients[c].done >= S.requests;
        for (smr_node_id i = 0; done && i < S.n; i++)
            done = ord_pbft_commit_upto(S.nodes[i].core) >= S.max_committed;
    }
    if (!S.failure && !done)
        return "no progress everywhere after replica 0 joined";
    return S.failure;
}

START_TEST(test_lagging_beyond_memory)
{
    uint64_t from = first_seed();
    uint32_t count = seed_count(10);
    uint32_t failed = 0;
    for (uint64_t seed = from; seed < from + count; seed++) {
        smr_seq gap = 0;
        const char *f = run_lagging(seed, seed % 2 == 0, &gap);
        if (f) {
            failed++;
            fprintf(stderr,
                    "seed %llu (n=%u, gap %llu) failed at t=%llu: %s; "
                    "replay: PBFT_SEED=%llu test_ord_pbft_catchup\n",
                    (unsigned long long)seed, S.n, (unsigned long long)gap,
                    (unsigned long long)S.now_ms, f, (unsigned long long)seed);
        } else if (getenv("PBFT_TRACE")) {
            fprintf(stderr,
                    "seed %llu (n=%u): gap %llu, joined %llu ms "
                    "after the restart\n",
                    (unsigned long long)seed, S.n, (unsigned long long)gap,
                    (unsigned long long)joined_after_ms);
        }
        sim_free();
    }
    fprintf(stderr, "%u lagging-replica seeds, %u failed\n", count, failed);
    ck_assert_uint_eq(failed, 0);
}
END_TEST

/* The NEW-VIEW record a run leaves behind: it decodes to the NEW-VIEW the
 * replica holds, every truncation and flipped byte is refused, and a
 * record whose signature does not check is refused by recovery. */
START_TEST(test_new_view_record)
{
    smr_seq gap = 0;
    const char *f = run_lagging(1, false, &gap);
    ck_assert_msg(!f, "%s", f ? f : "");
    struct smr_buf rec;
    smr_buf_init(&rec);
    ck_assert_int_eq(
        sto_state_get(S.nodes[1].sto, ORD_PBFT_STATE_NEW_VIEW, &rec), SMR_OK);
    struct ord_pbft_new_view *nv = NULL;
    ck_assert_int_eq(pbft_nv_decode(rec.data, rec.len, &nv), SMR_OK);
    const struct ord_pbft_new_view *held = S.nodes[1].core->nv;
    ck_assert_ptr_nonnull(held);
    ck_assert_uint_eq(nv->view, held->view);
    ck_assert_uint_eq(nv->n_vcs, held->n_vcs);
    ck_assert_uint_eq(nv->n_chosen, held->n_chosen);
    ck_assert_mem_eq(nv->sig, held->sig, ORD_PBFT_SIG_BYTES);
    free(nv);
    for (size_t i = 0; i < rec.len; i++) {
        nv = NULL;
        ck_assert_int_eq(pbft_nv_decode(rec.data, i, &nv), SMR_ECORRUPT);
        rec.data[i] ^= 0x20;
        ck_assert_int_eq(pbft_nv_decode(rec.data, rec.len, &nv), SMR_ECORRUPT);
        rec.data[i] ^= 0x20;
    }
    /* Well formed, but another replica's signature: recovery refuses it. */
    ck_assert_int_eq(pbft_nv_decode(rec.data, rec.len, &nv), SMR_OK);
    nv->sig[0] ^= 1;
    struct smr_buf bad;
    smr_buf_init(&bad);
    ck_assert_int_eq(pbft_nv_encode(nv, &bad), SMR_OK);
    free(nv);
    struct ord_pbft_config c;
    make_config(2, &c);
    struct ord_pbft *core = NULL;
    ck_assert_int_eq(ord_pbft_new(&c, &core), SMR_OK);
    ck_assert_int_eq(ord_pbft_recover_state(core, ORD_PBFT_STATE_NEW_VIEW,
                                            bad.data, bad.len),
                     SMR_ECORRUPT);
    ck_assert_int_eq(ord_pbft_recover_state(core, ORD_PBFT_STATE_NEW_VIEW,
                                            rec.data, rec.len),
                     SMR_OK);
    ord_pbft_destroy(&core);
    smr_buf_free(&bad);
    smr_buf_free(&rec);
    sim_free();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ord_pbft_catchup");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_new_view_record);
    tcase_add_test(tc, test_lagging_beyond_memory);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
