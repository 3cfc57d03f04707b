/*
 * test_ord_pbft_views.c: where a primary's proposals start in a new view.
 *
 * A replica that was the primary of an older view and pre-prepared seqs
 * that reached nobody must, as the primary of a later view, propose right
 * after the values its NEW-VIEW installs. Keeping the next seq of the older
 * view leaves seqs that no pre-prepare of the new view fills; nothing after
 * them can commit, and the new view is lost too. Found by `strata sim
 * --protocol pbft --executors separate --seed 188`, where every correct
 * replica had such a stale next seq and the cluster changed views forever.
 *
 * Scenario, per seed (the harness of test_ord_pbft.c, included with
 * PBFT_HARNESS_ONLY, with every safety oracle checked after each event):
 * 4 replicas, batches of one request. Replica 0 crashes and replica 1,
 * whose messages reach nobody, becomes the primary of view 1 in its own
 * eyes and pre-prepares a window of seqs into the void. The others change
 * to view 2. Replica 1's links heal; the primary of each view then crashes
 * as soon as it is active, until view 5, replica 1's again. In view 5 the
 * cluster must commit the clients' requests without another view change.
 *
 * PBFT_SEED / PBFT_SEEDS as in test_ord_pbft.c (8 seeds by default).
 */
#define PBFT_HARNESS_ONLY
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_ord_pbft.c"

static void run_until(uint64_t until)
{
    while (!S.failure && S.now_ms < until)
        run_one();
}

/* The view every up replica is active in, or UINT64_MAX when they differ
 * or one is changing views. */
static uint64_t common_view(void)
{
    uint64_t view = UINT64_MAX;
    for (smr_node_id i = 0; i < S.n; i++) {
        const struct ord_pbft *p = S.nodes[i].core;
        if (!S.nodes[i].up)
            continue;
        if (!ord_pbft_view_active(p) ||
            (view != UINT64_MAX && ord_pbft_view(p) != view))
            return UINT64_MAX;
        view = ord_pbft_view(p);
    }
    return view;
}

static smr_seq commit_of(smr_node_id id)
{
    return ord_pbft_commit_upto(S.nodes[id].core);
}

static const char *run_stale_primary(uint64_t seed, smr_seq *stale,
                                     smr_seq *last)
{
    sim_init(4, seed);
    S.cfg.batch_max = 1;
    S.cfg.window = 64; /* replica 1 runs this far ahead into the void */
    S.n_clients = 4;
    S.requests = 100000; /* below ACKED_MAX: the clients never finish */
    S.faults_on = true;  /* for S.cut; every fault rate stays 0 */
    for (smr_node_id i = 0; i < S.n; i++)
        node_start(i);
    run_until(300);
    /* Replica 1's messages reach nobody; replica 0 is down. */
    for (smr_node_id j = 0; j < S.n; j++)
        S.cut[1][j] = true;
    node_crash(0, 1000);
    S.restart_at[0] = S.now_ms + 200;
    uint64_t deadline = S.now_ms + 30000;
    const struct ord_pbft *one = S.nodes[1].core;
    while (!S.failure && S.now_ms < deadline &&
           !(ord_pbft_view(S.nodes[2].core) >= 2 &&
             ord_pbft_view_active(S.nodes[2].core) &&
             one->next_seq > commit_of(2) + S.cfg.window / 2))
        run_one();
    if (S.failure)
        return S.failure;
    if (one->next_seq <= commit_of(2) + 1)
        return "replica 1 did not pre-prepare into the void as the primary "
               "of view 1";
    *stale = one->next_seq;
    memset(S.cut, 0, sizeof S.cut);
    /* Crash each primary as soon as it is active, up to view 5, so that
     * views 2 to 4 commit less than replica 1 ran ahead. */
    deadline = S.now_ms + 60000;
    bool crashed[5] = {false};
    while (!S.failure && S.now_ms < deadline && common_view() != 5) {
        run_one();
        for (uint64_t v = 2; v < 5; v++) {
            smr_node_id primary = (smr_node_id)(v % S.n);
            const struct ord_pbft *p = S.nodes[primary].core;
            if (!crashed[v] && S.nodes[primary].up && ord_pbft_view(p) == v &&
                ord_pbft_view_active(p)) {
                crashed[v] = true;
                node_crash(primary, 1000);
                S.restart_at[primary] = S.now_ms + 1500;
            }
        }
    }
    if (S.failure)
        return S.failure;
    if (common_view() != 5)
        return "the replicas did not reach view 5 together";
    *last = commit_of(1);
    /* Replica 1 is the primary again: requests must commit in view 5. */
    smr_seq from = commit_of(2);
    run_until(S.now_ms + 3000);
    if (S.failure)
        return S.failure;
    if (ord_pbft_view(S.nodes[2].core) != 5) {
        debug_dump();
        return "view 5 was lost: its primary left seqs unfilled";
    }
    if (commit_of(2) < from + 20)
        return "too little committed in view 5";
    return NULL;
}

START_TEST(test_new_primary_starts_after_new_view)
{
    uint64_t from = first_seed();
    uint32_t count = seed_count(8);
    uint32_t shown = 0;
    for (uint64_t seed = from; seed < from + count; seed++) {
        smr_seq stale = 0, last = 0;
        const char *f = run_stale_primary(seed, &stale, &last);
        if (shown++ == 0)
            fprintf(stderr,
                    "stale primary, seed %llu: next seq %llu from view 1, "
                    "commit point %llu when view 5 began\n",
                    (unsigned long long)seed, (unsigned long long)stale,
                    (unsigned long long)last);
        sim_free();
        ck_assert_msg(!f, "seed %llu: %s", (unsigned long long)seed, f);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ord_pbft_views");
    TCase *tc = tcase_create("views");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_new_primary_starts_after_new_view);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
