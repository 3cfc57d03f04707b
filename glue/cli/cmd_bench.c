/*
 * cmd_bench.c: `strata bench`: closed-loop load against a running cluster.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "load.h"

static void help(void)
{
    printf("usage: strata bench --config FILE [--clients N] [--conns C]\n"
           "                    [--duration S] [--value-bytes B] [--keys K] [--get-permille P]\n"
           "                    [--warmup S] [--csv FILE]\n"
           "                    [--history FILE [--timeout-ms MS] [--key-prefix P]]\n"
           "\nRuns N closed-loop clients (one request outstanding each, each its\n"
           "own session) multiplexed over C connections (default 1) for S\n"
           "seconds after a warm-up, then prints ops/s and p50/p99/p99.9\n"
           "latency. Defaults: 1 client, 10 s, 128-byte values, 10000 keys,\n"
           "puts only, 1 s warm-up. --csv appends one row (with a header when\n"
           "the file is new).\n"
           "\n--history FILE records a history for `strata lincheck`: each\n"
           "session issues a random mix of get, put, cas and del (about\n"
           "35/30/20/15%%) over keys P0..P<K-1> (--key-prefix, default\n"
           "\"key-\"), every written value unique (\"s<session>-<n>\";\n"
           "--value-bytes and --get-permille do not apply), and writes each\n"
           "invoke when it is sent and each completion when it arrives to\n"
           "FILE (JSON Lines, client = session index; one file per bench\n"
           "process). A request with no reply within --timeout-ms (default\n"
           "5000) is abandoned and recorded as info, and the session moves\n"
           "on. At the end no new request starts, those outstanding get\n"
           "their reply or time out, and FILE is flushed. SIGINT or SIGTERM\n"
           "ends the run early the same way. Exit status 1 also when FILE\n"
           "could not be written.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    load_request_stop();
}

static void write_csv(const char *path, uint64_t clients, uint64_t dur,
                      uint64_t vbytes, double ops_s,
                      const struct load_stats *st)
{
    FILE *f = fopen(path, "a+");
    if (!f) {
        fprintf(stderr, "strata bench: --csv: cannot open %s\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0)
        fprintf(f, "clients,duration_s,value_bytes,ops,ops_per_s,p50_ms,"
                   "p99_ms,p999_ms,errors\n");
    fprintf(f, "%llu,%llu,%llu,%llu,%.0f,%.3f,%.3f,%.3f,%llu\n",
            (unsigned long long)clients, (unsigned long long)dur,
            (unsigned long long)vbytes, (unsigned long long)st->ops, ops_s,
            st->p50_ms, st->p99_ms, st->p999_ms,
            (unsigned long long)st->errors);
    fclose(f);
}

int cmd_bench(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"clients", required_argument, 0, 'n'},
        {"conns", required_argument, 0, 'C'},
        {"duration", required_argument, 0, 'd'},
        {"value-bytes", required_argument, 0, 'v'},
        {"keys", required_argument, 0, 'k'},
        {"get-permille", required_argument, 0, 'g'},
        {"warmup", required_argument, 0, 'w'},
        {"csv", required_argument, 0, 'o'},
        {"history", required_argument, 0, 'H'},
        {"timeout-ms", required_argument, 0, 't'},
        {"key-prefix", required_argument, 0, 'p'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *csv = NULL, *history = NULL,
               *key_prefix = NULL;
    uint64_t timeout_ms = 5000;
    uint64_t conns = 1;
    uint64_t clients = 1, dur = 10, vbytes = 128, keys = 10000, gets = 0,
             warm = 1;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': csv = optarg; break;
        case 'n': ok = cli_parse_u64("--clients", optarg, 1, 4096, &clients); break;
        case 'C': ok = cli_parse_u64("--conns", optarg, 1, 4096, &conns); break;
        case 'd': ok = cli_parse_u64("--duration", optarg, 1, 86400, &dur); break;
        case 'v': ok = cli_parse_u64("--value-bytes", optarg, 0, 262144, &vbytes); break;
        case 'k': ok = cli_parse_u64("--keys", optarg, 1, 100000000, &keys); break;
        case 'g': ok = cli_parse_u64("--get-permille", optarg, 0, 1000, &gets); break;
        case 'w': ok = cli_parse_u64("--warmup", optarg, 0, 3600, &warm); break;
        case 'H': history = optarg; break;
        case 'p': key_prefix = optarg; break;
        case 't': ok = cli_parse_u64("--timeout-ms", optarg, 1, 3600000, &timeout_ms); break;
        default: return 2;
        }
    }
    struct glue_config cfg;
    int ex = ok ? cli_load_config(config, &cfg) : CLI_EXIT_USAGE;
    if (ex)
        return ex;
    if (key_prefix && strlen(key_prefix) > 512) {
        fprintf(stderr, "strata bench: --key-prefix is longer than 512 bytes\n");
        return 2;
    }
    struct load_opts lo = {
        .clients = (uint32_t)clients,
        .conns = (uint32_t)conns,
        .keys = (uint32_t)keys,
        .value_bytes = (uint32_t)vbytes,
        .get_permille = (uint32_t)gets,
        .history = history,
        .timeout_ms = timeout_ms,
        .key_prefix = key_prefix,
    };
    struct load *l;
    int rc = load_new_opts(&cfg, &lo, &l);
    if (rc != SMR_OK) {
        if (rc == SMR_EIO && history)
            fprintf(stderr, "strata bench: cannot create %s or the clients\n",
                    history);
        else
            fprintf(stderr, "strata bench: cannot create the clients\n");
        return 1;
    }
    if (history) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    load_run(l, warm * 1000);
    load_reset(l);
    uint64_t t0 = load_now_us();
    load_run(l, dur * 1000);
    load_drain(l);
    double secs = (double)(load_now_us() - t0) / 1e6;
    struct load_stats st;
    load_stats(l, &st);
    double ops_s = (double)st.ops / secs;
    printf("bench: %llu clients, %llu s, %llu-byte values: %.0f ops/s  "
           "p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  (ops %llu, errors %llu)\n",
           (unsigned long long)clients, (unsigned long long)dur,
           (unsigned long long)vbytes, ops_s, st.p50_ms, st.p99_ms,
           st.p999_ms, (unsigned long long)st.ops,
           (unsigned long long)st.errors);
    if (history)
        printf("bench: history %s: %llu requests timed out (info)\n", history,
               (unsigned long long)st.timeouts);
    if (csv)
        write_csv(csv, clients, dur, vbytes, ops_s, &st);
    bool hist_ok = load_close_history(l) == SMR_OK;
    if (!hist_ok)
        fprintf(stderr, "strata bench: writing %s failed\n", history);
    load_destroy(&l);
    return st.ops > 0 && hist_ok ? 0 : 1;
}
