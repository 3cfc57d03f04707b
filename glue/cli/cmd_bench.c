/*
 * cmd_bench.c: `strata bench`: closed-loop load against a running cluster.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "load.h"

static void help(void)
{
    printf("usage: strata bench --config FILE [--clients N] [--conns C]\n"
           "                    [--duration S] [--value-bytes B] [--keys K] [--get-permille P]\n"
           "                    [--warmup S] [--csv FILE]\n"
           "\nRuns N closed-loop clients (one request outstanding each, each its\n"
           "own session) multiplexed over C connections (default 1) for S\n"
           "seconds after a warm-up, then prints ops/s and p50/p99/p99.9\n"
           "latency. Defaults: 1 client, 10 s, 128-byte values, 10000 keys,\n"
           "puts only, 1 s warm-up. --csv appends one row (with a header when\n"
           "the file is new).\n");
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
        {0, 0, 0, 0},
    };
    const char *config = NULL, *csv = NULL;
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
        default: return 2;
        }
    }
    struct glue_config cfg;
    if (!ok || !cli_load_config(config, &cfg))
        return 2;
    struct load *l;
    if (load_new(&cfg, (uint32_t)clients, (uint32_t)conns, (uint32_t)keys, (uint32_t)vbytes,
                 (uint32_t)gets, &l) != SMR_OK) {
        fprintf(stderr, "strata bench: cannot create the clients\n");
        return 1;
    }
    load_run(l, warm * 1000);
    load_reset(l);
    uint64_t t0 = load_now_us();
    load_run(l, dur * 1000);
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
    if (csv)
        write_csv(csv, clients, dur, vbytes, ops_s, &st);
    load_destroy(&l);
    return st.ops > 0 ? 0 : 1;
}
