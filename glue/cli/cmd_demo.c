/*
 * cmd_demo.c: `strata demo`: three Multi-Paxos replicas, or four PBFT ones
 * (--protocol pbft, keys drawn in memory), in this process (a thread
 * each, ipc:// sockets, RocksDB with fsync in a temporary directory), a
 * client load, one line a second; midway the leader is stopped (a clean
 * in-process stop; tests/integration kill -9 real processes), later it is
 * restarted from its disk and catches up; the summary checks that every
 * replica executed the same log to the same state digest.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "exe.h"
#include "keys.h"
#include "load.h"
#include "node.h"

#define DEMO_REPLICAS_MAX 4

struct demo_replica {
    struct glue_node *node;
    pthread_t thread;
    bool up;
    struct glue_node_info last; /* kept while it is down */
};

static struct demo_replica reps[DEMO_REPLICAS_MAX];
static uint32_t n_reps = 3;
static struct glue_config cfg;
static struct glue_keys keys; /* PBFT: drawn for this run */

static void *run_node(void *arg)
{
    glue_node_run(arg);
    return NULL;
}

static bool start_replica(smr_node_id id)
{
    char err[512];
    struct glue_node_options opt = {.quiet = true};
    if (glue_node_new(&cfg, id, &opt, &reps[id].node, err, sizeof err) !=
        SMR_OK) {
        fprintf(stderr, "strata demo: replica %u: %s\n", id, err);
        return false;
    }
    reps[id].up = true;
    pthread_create(&reps[id].thread, NULL, run_node, reps[id].node);
    return true;
}

static void stop_replica(smr_node_id id)
{
    if (!reps[id].up)
        return;
    glue_node_stop(reps[id].node);
    pthread_join(reps[id].thread, NULL);
    glue_node_info(reps[id].node, &reps[id].last);
    glue_node_destroy(&reps[id].node);
    reps[id].up = false;
}

static void make_config(const char *dir, const char *protocol,
                        const char *executor, uint64_t workers)
{
    glue_config_defaults(&cfg);
    snprintf(cfg.protocol, sizeof cfg.protocol, "%s", protocol);
    if (strcmp(protocol, "pbft") == 0) {
        uint64_t seed;
        randombytes_buf(&seed, sizeof seed);
        n_reps = 4;
        glue_keys_derive(seed, n_reps, 1, &keys);
        cfg.keys_mem = &keys;
    }
    snprintf(cfg.executor, sizeof cfg.executor, "%s", executor);
    cfg.workers = (uint32_t)workers;
    cfg.cluster_id = 7;
    cfg.n_replicas = n_reps;
    for (smr_node_id i = 0; i < n_reps; i++) {
        cfg.replicas[i].id = i;
        snprintf(cfg.replicas[i].peer, sizeof cfg.replicas[i].peer,
                 "ipc://%s/peer-%u", dir, i);
        snprintf(cfg.replicas[i].client, sizeof cfg.replicas[i].client,
                 "ipc://%s/client-%u", dir, i);
    }
    cfg.storage_engine = GLUE_STORAGE_ROCKSDB;
    snprintf(cfg.storage_path, sizeof cfg.storage_path, "%s/data", dir);
    cfg.storage_sync = true;
}

static int leader_of(struct glue_node_info *info)
{
    int leader = -1;
    for (smr_node_id i = 0; i < n_reps; i++) {
        if (reps[i].up)
            glue_node_info(reps[i].node, &info[i]);
        else
            info[i] = reps[i].last;
        if (reps[i].up && info[i].is_leader)
            leader = (int)i;
    }
    return leader;
}

static void print_line(uint64_t t, const struct load_stats *st)
{
    struct glue_node_info info[DEMO_REPLICAS_MAX];
    int leader = leader_of(info);
    printf("t=%2llus  %6llu ops/s  p50 %6.2f ms  p99 %6.2f ms  leader %s",
           (unsigned long long)t, (unsigned long long)st->ops, st->p50_ms,
           st->p99_ms, leader < 0 ? "none" : (char[]){(char)('0' + leader), 0});
    for (smr_node_id i = 0; i < n_reps; i++) {
        if (reps[i].up)
            printf("  r%u %llu/%llu", i,
                   (unsigned long long)info[i].committed_seq,
                   (unsigned long long)info[i].executed_seq);
        else
            printf("  r%u down", i);
    }
    printf("\n");
    fflush(stdout);
}

static void help(void)
{
    printf("usage: strata demo [--duration S] [--clients N]\n"
           "                   [--protocol paxos|pbft]\n"
           "                   [--executor sequential|parallel] [--workers W]\n"
           "\nRuns a 3-replica Multi-Paxos key-value store in this process\n"
           "(--protocol pbft: 4 PBFT replicas, f=1 Byzantine, with keys drawn\n"
           "for the run)\n"
           "(RocksDB with fsync, in a temporary directory) under a client\n"
           "load. Prints one line a second: ops/s, p50/p99 latency, the\n"
           "leader, and each replica's committed/executed sequence numbers.\n"
           "Midway it stops the leader (a clean in-process stop; kill -9 of\n"
           "real processes is in tests/integration); later it restarts it\n"
           "from its disk.\n"
           "--executor picks each replica's engine (default sequential);\n"
           "the parallel engine runs W worker threads (default 2).\n"
           "Defaults: 12 s, 8 clients. Exits 0 when every replica ends at the\n"
           "same executed seq with the same state digest, 1 when they do not\n"
           "or a replica cannot start, 2 on a usage error.\n");
}

static int summary(uint64_t total_ops, uint64_t stalled_s)
{
    for (smr_node_id i = 0; i < n_reps; i++)
        stop_replica(i);
    bool same = true;
    for (smr_node_id i = 0; i < n_reps; i++) {
        struct glue_node_info *a = &reps[i].last, *b = &reps[0].last;
        same &= a->executed_seq == b->executed_seq &&
                !memcmp(a->digest, b->digest, sizeof a->digest);
        printf("replica %u: executed %llu, digest %02x%02x%02x%02x…, %llu "
               "fsyncs (%.1f writes each)\n",
               i, (unsigned long long)a->executed_seq, a->digest[0],
               a->digest[1], a->digest[2], a->digest[3],
               (unsigned long long)a->fsyncs,
               a->fsyncs ? (double)a->synced_writes / (double)a->fsyncs : 0.0);
    }
    printf("summary: %llu requests acknowledged; seconds without progress "
           "during failover: %llu; replicas %s\n",
           (unsigned long long)total_ops, (unsigned long long)stalled_s,
           same ? "agree (same executed seq and digest)" : "DISAGREE");
    return same ? 0 : 1;
}

int cmd_demo(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option opts[] = {
        {"duration", required_argument, 0, 'd'},
        {"clients", required_argument, 0, 'n'},
        {"executor", required_argument, 0, 'e'},
        {"workers", required_argument, 0, 'w'},
        {"protocol", required_argument, 0, 'p'},
        {0, 0, 0, 0},
    };
    uint64_t dur = 12, clients = 8, workers = 2;
    const char *executor = "sequential", *protocol = "paxos";
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        bool ok = c == 'd'   ? cli_parse_u64("--duration", optarg, 4, 3600, &dur)
                  : c == 'n' ? cli_parse_u64("--clients", optarg, 1, 256,
                                             &clients)
                  : c == 'w' ? cli_parse_u64("--workers", optarg, 1,
                                             EXE_PAR_WORKERS_MAX, &workers)
                  : c == 'e' ? (executor = optarg, true)
                  : c == 'p' ? (protocol = optarg, true)
                             : false;
        if (!ok)
            return 2;
    }
    if (strcmp(executor, "sequential") != 0 &&
        strcmp(executor, "parallel") != 0) {
        fprintf(stderr, "strata demo: --executor: expected sequential or "
                        "parallel, got '%s'\n",
                executor);
        return 2;
    }
    if (strcmp(protocol, "paxos") != 0 && strcmp(protocol, "pbft") != 0) {
        fprintf(stderr, "strata demo: --protocol: expected paxos or pbft, "
                        "got '%s'\n",
                protocol);
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    char dir[] = "/tmp/strata-demo-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("strata demo: mkdtemp");
        return 1;
    }
    make_config(dir, protocol, executor, workers);
    printf("strata demo: %u replicas (%s, RocksDB with fsync in %s, "
           "%s executor), %llu clients, %llu s\n",
           n_reps, n_reps == 4 ? "PBFT, f=1 Byzantine" : "Multi-Paxos", dir,
           executor, (unsigned long long)clients, (unsigned long long)dur);
    for (smr_node_id i = 0; i < n_reps; i++)
        if (!start_replica(i))
            return 1;
    struct load *l;
    if (load_new(&cfg, (uint32_t)clients, 1, 1000, 128, 200, &l) != SMR_OK)
        return 1;
    uint64_t total = 0, stalled_s = 0; /* seconds with no request done */
    int stopped = -1;
    for (uint64_t t = 1; t <= dur; t++) {
        load_run(l, 1000);
        struct load_stats st;
        load_stats(l, &st);
        load_reset(l);
        total += st.ops;
        stalled_s += st.ops == 0 && t > 1;
        print_line(t, &st);
        struct glue_node_info info[DEMO_REPLICAS_MAX];
        int leader = leader_of(info);
        if (t == dur / 2 && leader >= 0) {
            printf("-- stopping the leader, replica %d (in-process; kill -9 "
                   "of real processes is in tests/integration)\n",
                   leader);
            stop_replica((smr_node_id)leader);
            stopped = leader;
        }
        if (t == dur * 3 / 4 && stopped >= 0) {
            printf("-- restarting replica %d from its disk\n", stopped);
            if (!start_replica((smr_node_id)stopped))
                return 1;
        }
    }
    load_destroy(&l);
    sleep(1); /* let the restarted replica finish catching up */
    int rc = summary(total, stalled_s);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "strata demo: could not remove %s\n", dir);
    return rc;
}
