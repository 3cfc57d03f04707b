/*
 * test_glue_node.c: three replica drivers in one process (a thread each,
 * ipc:// sockets in a temporary directory, in-memory storage), exercised
 * through the client library: reads and writes, the KV reply codes, leader
 * failover, a restarted replica catching up, and hostile frames on every
 * socket being dropped and counted without harm (and reported by STATUS).
 * Runs under ASan in the sanitizer build, which covers the glue code end to
 * end. A second case checks what glue_executor_new refuses and creates.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "executor.h"
#include "node.h"
#include "sto.h"

#define N 3

static struct glue_config cfg;
static struct glue_node *nodes[N];
static struct sto *stores[N];
static pthread_t threads[N];
static char dir[64];

static void *run(void *arg)
{
    glue_node_run(arg);
    return NULL;
}

static void start(smr_node_id i)
{
    char err[256];
    struct glue_node_options opt = {.allow_unsafe_storage = true,
                                     .quiet = true,
                                     .store = stores[i]};
    ck_assert_msg(glue_node_new(&cfg, i, &opt, &nodes[i], err, sizeof err) ==
                      SMR_OK,
                  "%s", err);
    pthread_create(&threads[i], NULL, run, nodes[i]);
}

static void stop(smr_node_id i)
{
    glue_node_stop(nodes[i]);
    pthread_join(threads[i], NULL);
    glue_node_destroy(&nodes[i]);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/strata-glue-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    glue_config_defaults(&cfg);
    cfg.cluster_id = 9;
    cfg.n_replicas = N;
    cfg.storage_engine = GLUE_STORAGE_MEMORY;
    cfg.storage_sync = false;
    for (smr_node_id i = 0; i < N; i++) {
        cfg.replicas[i].id = i;
        snprintf(cfg.replicas[i].peer, GLUE_ENDPOINT_BYTES_MAX,
                 "ipc://%s/p%u", dir, i);
        snprintf(cfg.replicas[i].client, GLUE_ENDPOINT_BYTES_MAX,
                 "ipc://%s/c%u", dir, i);
        ck_assert_int_eq(sto_mem_open(&stores[i]), SMR_OK);
    }
    for (smr_node_id i = 0; i < N; i++)
        start(i);
}

static void teardown(void)
{
    for (smr_node_id i = 0; i < N; i++) {
        if (nodes[i])
            stop(i);
        sto_close(&stores[i]);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int leader(void)
{
    for (smr_node_id i = 0; i < N; i++) {
        struct glue_node_info info;
        if (!nodes[i])
            continue;
        glue_node_info(nodes[i], &info);
        if (info.is_leader)
            return (int)i;
    }
    return -1;
}

START_TEST(test_kv_through_the_cluster)
{
    struct glue_client *c;
    struct smr_buf v;
    smr_buf_init(&v);
    ck_assert_int_eq(glue_client_new(&cfg, NULL, &c), SMR_OK);
    ck_assert_int_eq(glue_kv_put(c, "a", "1", 1, 10000), SMR_OK);
    ck_assert_int_eq(glue_kv_get(c, "a", &v, 10000), SMR_OK);
    ck_assert_mem_eq(v.data, "1", 1);
    ck_assert_int_eq(glue_kv_get(c, "nope", &v, 10000), SMR_ENOTFOUND);
    ck_assert_int_eq(glue_kv_cas(c, "a", "2", 1, "3", 1, 10000),
                     SMR_ECONTRACT);
    ck_assert_int_eq(glue_kv_cas(c, "a", "1", 1, "3", 1, 10000), SMR_OK);
    ck_assert_int_eq(glue_kv_get(c, "a", &v, 10000), SMR_OK);
    ck_assert_mem_eq(v.data, "3", 1);
    ck_assert_int_eq(glue_kv_del(c, "a", 10000), SMR_OK);
    ck_assert_int_eq(glue_kv_get(c, "a", &v, 10000), SMR_ENOTFOUND);
    /* The codes client.h documents for absent keys. */
    ck_assert_int_eq(glue_kv_del(c, "a", 10000), SMR_ENOTFOUND);
    ck_assert_int_eq(glue_kv_cas(c, "a", "", 0, "x", 1, 10000),
                     SMR_ECONTRACT);
    smr_buf_free(&v);
    glue_client_destroy(&c);
}
END_TEST

START_TEST(test_failover_and_catch_up)
{
    struct glue_client *c;
    struct smr_buf v;
    smr_buf_init(&v);
    ck_assert_int_eq(glue_client_new(&cfg, NULL, &c), SMR_OK);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(glue_kv_put(c, "k", &i, sizeof i, 10000), SMR_OK);
    int old = leader();
    ck_assert_int_ge(old, 0);
    stop((smr_node_id)old); /* its store survives: a restart from disk */
    for (int i = 50; i < 100; i++)
        ck_assert_int_eq(glue_kv_put(c, "k", &i, sizeof i, 10000), SMR_OK);
    ck_assert_int_ne(leader(), old);
    start((smr_node_id)old);
    ck_assert_int_eq(glue_kv_put(c, "done", "y", 1, 10000), SMR_OK);
    struct glue_node_info a, b;
    for (int tries = 0; tries < 500; tries++) {
        glue_node_info(nodes[old], &a);
        glue_node_info(nodes[leader() < 0 ? 0 : leader()], &b);
        if (a.executed_seq == b.executed_seq && a.executed_seq > 0)
            break;
        usleep(10000);
    }
    ck_assert_uint_eq(a.executed_seq, b.executed_seq);
    ck_assert_int_eq(glue_kv_get(c, "k", &v, 10000), SMR_OK);
    int last;
    memcpy(&last, v.data, sizeof last);
    ck_assert_int_eq(last, 99);
    smr_buf_free(&v);
    glue_client_destroy(&c);
}
END_TEST

/* Garbage on the client and peer sockets is dropped and counted; the
 * cluster keeps serving. */
START_TEST(test_hostile_frames)
{
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int lead = -1;
    for (int tries = 0; tries < 300 && lead < 0; tries++, usleep(10000))
        lead = leader();
    ck_assert_int_ge(lead, 0);
    ck_assert_int_eq(zmq_connect(dealer, cfg.replicas[lead].client), 0);
    ck_assert_int_eq(zmq_connect(push, cfg.replicas[lead].peer), 0);
    static const uint8_t frames[][10] = {
        {0x93, 0x01, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}, /* huge count */
        {0x95, 0x02, 0x05, 0xc6, 0xff, 0xff, 0xff, 0xff}, /* huge bin */
        {0x92, 0x07, 0x01},                               /* bad version */
        {0x92, 0x01, 0x63},                               /* unknown type */
        {0xc1},                                           /* never used */
    };
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
            zmq_send(dealer, frames[i], sizeof frames[i], 0);
            zmq_send(push, frames[i], sizeof frames[i], 0);
        }
    zmq_send(dealer, "", 0, 0); /* empty frame */
    struct glue_client *c;
    ck_assert_int_eq(glue_client_new(&cfg, NULL, &c), SMR_OK);
    ck_assert_int_eq(glue_kv_put(c, "still", "up", 2, 10000), SMR_OK);
    struct glue_node_info info;
    for (int tries = 0; tries < 300; tries++, usleep(10000)) {
        glue_node_info(nodes[lead], &info);
        if (info.frames_rejected >= 200)
            break;
    }
    ck_assert_uint_ge(info.frames_rejected, 200);
    /* STATUS carries the counters, the drop counters included. */
    struct wire_status st;
    ck_assert_int_eq(glue_client_status(c, (smr_node_id)lead, 2000, &st),
                     SMR_OK);
    ck_assert_uint_eq(st.node_id, (unsigned)lead);
    ck_assert_uint_ge(st.frames_rejected, 200);
    ck_assert_uint_ge(st.fsyncs, 1);
    ck_assert_uint_ge(st.writes_per_fsync_x100, 100);
    ck_assert_uint_lt(st.peer_drops, 1000);
    ck_assert_uint_lt(st.client_drops, 1000);
    ck_assert_uint_lt(st.paxos_dropped, 1000);
    glue_client_destroy(&c);
    zmq_close(dealer);
    zmq_close(push);
    zmq_ctx_term(ctx);
}
END_TEST

/* The separate executor runs the config and composition checks, and
 * creates its storage directory with its missing parents. */
START_TEST(test_executor_new_checks)
{
    char tmp[] = "/tmp/strata-exec-XXXXXX", err[512];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    struct glue_config c;
    glue_config_defaults(&c);
    c.cluster_id = 3;
    c.n_replicas = 1;
    snprintf(c.replicas[0].peer, GLUE_ENDPOINT_BYTES_MAX, "ipc://%s/p", tmp);
    snprintf(c.replicas[0].client, GLUE_ENDPOINT_BYTES_MAX, "ipc://%s/c", tmp);
    c.storage_engine = GLUE_STORAGE_ROCKSDB;
    snprintf(c.storage_path, sizeof c.storage_path, "%s/a/b", tmp);
    c.storage_sync = true;
    struct glue_executor *x = NULL;
    const struct glue_executor_options safe = {0};
    const struct glue_executor_options unsafe = {.allow_unsafe_storage = true};
    /* No stream endpoint: the executor is embedded in the replica. */
    ck_assert_int_eq(glue_executor_new(&c, 0, &safe, &x, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_ptr_null(x);
    snprintf(c.replicas[0].stream, GLUE_ENDPOINT_BYTES_MAX, "ipc://%s/s",
             tmp);
    /* glue_config_check: a window of 0 is refused. */
    c.window = 0;
    ck_assert_int_eq(glue_executor_new(&c, 0, &safe, &x, err, sizeof err),
                     SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "window"));
    c.window = 64;
    /* glue_contract_check: sync off needs --allow-unsafe-storage. */
    c.storage_sync = false;
    ck_assert_int_eq(glue_executor_new(&c, 0, &safe, &x, err, sizeof err),
                     SMR_ECONTRACT);
    ck_assert_ptr_nonnull(strstr(err, "storage.sync"));
    ck_assert_ptr_null(x);
    ck_assert_int_eq(glue_executor_new(&c, 0, &unsafe, &x, err, sizeof err),
                     SMR_OK);
    glue_executor_destroy(&x);
    /* Durable storage: <path>/executor-0 made like mkdir -p. */
    c.storage_sync = true;
    ck_assert_msg(glue_executor_new(&c, 0, &safe, &x, err, sizeof err) ==
                      SMR_OK,
                  "%s", err);
    glue_executor_destroy(&x);
    ck_assert_ptr_null(x);
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/executor-0", tmp);
    ck_assert_int_eq(access(path, F_OK), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("glue_node");
    TCase *tc = tcase_create("cluster");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kv_through_the_cluster);
    tcase_add_test(tc, test_failover_and_catch_up);
    tcase_add_test(tc, test_hostile_frames);
    suite_add_tcase(s, tc);
    TCase *xc = tcase_create("executor");
    tcase_add_test(xc, test_executor_new_checks);
    suite_add_tcase(s, xc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
