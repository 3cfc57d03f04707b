/*
 * cmd_bench_exec.c: `strata bench-exec`: the executor alone. A seeded,
 * pre-generated ordered stream of work-app commands (no network, no
 * consensus) goes straight into the sequential engine and into the
 * parallel one, alternately, in this process; each engine's run is timed
 * from the first execute() to the barrier after the last, and the medians
 * of the runs give both throughputs and the speedup. The same is done with
 * free commands (0 us) to show what the graph itself costs per command.
 * Both engines must end with the same digest, or the run fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "exe.h"

#define RUNS_MAX 99

struct bench_opts {
    uint64_t workers, conflict_pct, cost_us, commands, batch, runs, clients;
    uint64_t inflight, seed;
};

struct stream {
    struct smr_buf *entries;
    uint32_t n_entries;
};

static void help(void)
{
    printf(
        "usage: strata bench-exec [--workers N] [--conflict PCT] [--cost-us C]\n"
        "                         [--commands M] [--batch B] [--runs R]\n"
        "                         [--clients K] [--inflight W] [--seed S]\n"
        "\nFeeds one pre-generated ordered stream of M work-app commands\n"
        "(entries of B commands) straight to an executor in this process:\n"
        "the sequential engine, then the parallel engine with N worker\n"
        "threads, alternately R times. PCT%% of the commands write one shared\n"
        "hot key, the others each a key of their own; each command burns C\n"
        "microseconds of CPU. Client sessions rotate over K clients. Prints\n"
        "each engine's median throughput, `speedup X.XX` (sequential time\n"
        "over parallel time), and the graph overhead per command measured the\n"
        "same way with 0 us commands. Both engines must reach the same state\n"
        "digest. The first line shows the load average: on a machine busy\n"
        "with other work the parallel figures mean little.\n"
        "\nDefaults: --workers 2 --conflict 0 --cost-us 100 --commands 10000\n"
        "--batch 64 --runs 5 --clients 1000 --inflight 1024 --seed 1.\n"
        "\nExit status: 0 on success; 1 when an engine fails or the digests\n"
        "differ; 2 on a usage error.\n");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stream_free(struct stream *s)
{
    for (uint32_t i = 0; i < s->n_entries; i++)
        smr_buf_free(&s->entries[i]);
    free(s->entries);
    s->entries = NULL;
    s->n_entries = 0;
}

static int stream_make(const struct bench_opts *o, uint64_t cost_us,
                       struct stream *s)
{
    uint64_t rng = o->seed ? o->seed : 1;
    uint32_t n = (uint32_t)((o->commands + o->batch - 1) / o->batch);
    struct smr_buf op;
    char key[32];
    int rc = SMR_OK;
    s->entries = calloc(n, sizeof *s->entries);
    if (!s->entries)
        return SMR_ENOMEM;
    s->n_entries = n;
    smr_buf_init(&op);
    for (uint64_t i = 0; rc == SMR_OK && i < o->commands; i++) {
        struct smr_buf *b = &s->entries[i / o->batch];
        if (i % o->batch == 0)
            rc = smr_batch_begin(b);
        if (smr_rng_next(&rng) % 100 < o->conflict_pct)
            snprintf(key, sizeof key, "hot");
        else
            snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
        if (rc == SMR_OK)
            rc = exe_work_encode(&op, EXE_WORK_WRITE, key,
                                 (uint32_t)strlen(key), (uint32_t)cost_us);
        struct smr_request r = {i % o->clients + 1, i / o->clients + 1, op.data,
                                (uint32_t)op.len};
        if (rc == SMR_OK)
            rc = smr_batch_add(b, &r);
    }
    smr_buf_free(&op);
    if (rc)
        stream_free(s);
    return rc;
}

static void count_reply(void *arg, smr_client_id client, smr_req_id req,
                        smr_seq seq, const uint8_t *reply, uint32_t len,
                        bool from_session)
{
    (void)client;
    (void)req;
    (void)seq;
    (void)reply;
    (void)len;
    (void)from_session;
    (*(uint64_t *)arg)++;
}

/* One timed run through a fresh app and engine; its digest in `digest`. */
static int run_once(const struct bench_opts *o, const struct stream *s,
                    bool parallel, uint64_t *ns, uint8_t digest[SMR_DIGEST_BYTES])
{
    struct exe_app *app = NULL;
    struct exe_engine *e = NULL;
    uint64_t replies = 0;
    int rc = exe_app_new("work", &app);
    if (rc == SMR_OK && parallel) {
        struct exe_par_options po = {.workers = (uint32_t)o->workers,
                                     .inflight_max = (uint32_t)o->inflight};
        rc = exe_par_engine_new_opts(app, &po, 0, count_reply, &replies, &e);
    } else if (rc == SMR_OK) {
        rc = exe_seq_engine_new(app, 0, count_reply, &replies, &e);
    }
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; rc == SMR_OK && i < s->n_entries; i++) {
        struct smr_committed c = {i + 1, 1, i, s->entries[i].data,
                                  (uint32_t)s->entries[i].len};
        rc = exe_execute(e, &c);
    }
    if (rc == SMR_OK)
        rc = exe_barrier(e);
    *ns = now_ns() - t0;
    if (rc == SMR_OK && replies != o->commands)
        rc = SMR_EINVAL;
    if (rc == SMR_OK)
        exe_digest(e, digest);
    exe_engine_destroy(&e);
    exe_app_destroy(&app);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, uint64_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Medians of o->runs alternating runs of each engine, in nanoseconds. */
static int measure(const struct bench_opts *o, uint64_t cost_us,
                   uint64_t *seq_ns, uint64_t *par_ns)
{
    struct stream s;
    uint64_t ts[RUNS_MAX], tp[RUNS_MAX];
    uint8_t ds[SMR_DIGEST_BYTES], dp[SMR_DIGEST_BYTES];
    int rc = stream_make(o, cost_us, &s);
    for (uint64_t r = 0; rc == SMR_OK && r < o->runs; r++) {
        rc = run_once(o, &s, false, &ts[r], ds);
        if (rc == SMR_OK)
            rc = run_once(o, &s, true, &tp[r], dp);
        if (rc == SMR_OK && memcmp(ds, dp, sizeof ds) != 0) {
            fprintf(stderr, "strata bench-exec: the engines reached different "
                            "digests\n");
            rc = SMR_ECORRUPT;
        }
    }
    if (rc == SMR_OK) {
        *seq_ns = median(ts, o->runs);
        *par_ns = median(tp, o->runs);
    } else if (rc != SMR_ECORRUPT) {
        fprintf(stderr, "strata bench-exec: %s\n", smr_strerror(rc));
    }
    if (s.entries)
        stream_free(&s);
    return rc;
}

static bool parse(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        {"workers", required_argument, 0, 'w'},
        {"conflict", required_argument, 0, 'p'},
        {"cost-us", required_argument, 0, 'c'},
        {"commands", required_argument, 0, 'm'},
        {"batch", required_argument, 0, 'b'},
        {"runs", required_argument, 0, 'r'},
        {"clients", required_argument, 0, 'k'},
        {"inflight", required_argument, 0, 'i'},
        {"seed", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    *o = (struct bench_opts){2, 0, 100, 10000, 64, 5, 1000, 1024, 1};
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': ok = cli_parse_u64("--workers", optarg, 1, EXE_PAR_WORKERS_MAX, &o->workers); break;
        case 'p': ok = cli_parse_u64("--conflict", optarg, 0, 100, &o->conflict_pct); break;
        case 'c': ok = cli_parse_u64("--cost-us", optarg, 0, 100000, &o->cost_us); break;
        case 'm': ok = cli_parse_u64("--commands", optarg, 1, 10000000, &o->commands); break;
        case 'b': ok = cli_parse_u64("--batch", optarg, 1, 4096, &o->batch); break;
        case 'r': ok = cli_parse_u64("--runs", optarg, 1, RUNS_MAX, &o->runs); break;
        case 'k': ok = cli_parse_u64("--clients", optarg, 1, 1000000, &o->clients); break;
        case 'i': ok = cli_parse_u64("--inflight", optarg, 1, EXE_PAR_INFLIGHT_MAX, &o->inflight); break;
        case 's': ok = cli_parse_u64("--seed", optarg, 1, UINT64_MAX, &o->seed); break;
        default: ok = false; break;
        }
    }
    if (ok && optind < argc) {
        fprintf(stderr, "strata bench-exec: unexpected argument '%s'\n",
                argv[optind]);
        ok = false;
    }
    return ok;
}

/* The 1-minute load average, so that a reader can tell a busy machine's
 * figures from a quiet one's; -1 when unknown. */
static double load_average(void)
{
    double load = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1.0;
        fclose(f);
    }
    return load;
}

static double per_s(uint64_t commands, uint64_t ns)
{
    return ns ? (double)commands * 1e9 / (double)ns : 0.0;
}

int cmd_bench_exec(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    struct bench_opts o;
    if (!parse(argc, argv, &o))
        return CLI_EXIT_USAGE;
    printf("bench-exec: %llu commands in entries of %llu, %llu%% on one hot "
           "key, %llu us each, %llu workers, medians of %llu runs (load "
           "average %.2f)\n",
           (unsigned long long)o.commands, (unsigned long long)o.batch,
           (unsigned long long)o.conflict_pct, (unsigned long long)o.cost_us,
           (unsigned long long)o.workers, (unsigned long long)o.runs,
           load_average());
    fflush(stdout);
    uint64_t seq_ns, par_ns, seq0_ns, par0_ns;
    if (measure(&o, o.cost_us, &seq_ns, &par_ns) != SMR_OK)
        return 1;
    printf("sequential: %.0f commands/s\n", per_s(o.commands, seq_ns));
    printf("parallel:   %.0f commands/s (%llu workers)\n",
           per_s(o.commands, par_ns), (unsigned long long)o.workers);
    printf("speedup %.2f\n", (double)seq_ns / (double)par_ns);
    fflush(stdout);
    if (o.cost_us == 0) {
        seq0_ns = seq_ns;
        par0_ns = par_ns;
    } else if (measure(&o, 0, &seq0_ns, &par0_ns) != SMR_OK) {
        return 1;
    }
    double seq_us = (double)seq0_ns / 1e3 / (double)o.commands;
    double par_us = (double)par0_ns / 1e3 / (double)o.commands;
    printf("graph overhead at 0 us: %.2f us/command (sequential %.2f us, "
           "parallel %.2f us per command)\n",
           par_us - seq_us, seq_us, par_us);
    return 0;
}
