/*
 * cmd_sim.c: `strata sim`: the deterministic simulator over a range of
 * seeds, with the deliberately broken variants it must catch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "exe.h"
#include "sim.h"

#include "pbft.h"

static const struct {
    const char *name;
    int mutant;
    bool pbft; /* ord_pbft_mutant rather than smr_mutant */
    const char *what;
} mutants[] = {
    {"commit-without-quorum", SMR_MUTANT_COMMIT_WITHOUT_QUORUM, false,
     "the leader counts a vote it does not have"},
    {"forget-promise", SMR_MUTANT_FORGET_PROMISE, false,
     "an acceptor forgets its promise on restart"},
    {"vote-before-durable", SMR_MUTANT_VOTE_BEFORE_DURABLE, false,
     "an acceptor sends its vote before the vote is durable"},
    {"skip-session-dedupe", SMR_MUTANT_SKIP_SESSION_DEDUPE, false,
     "the executor applies a retried request again"},
    {"stream-no-resume", SMR_MUTANT_STREAM_NO_RESUME, false,
     "the stream ignores a stuck executor's cursor (separate executors)"},
    {"parallel-read-race", SMR_MUTANT_PARALLEL_READ_RACE, false,
     "the parallel engine runs a read before the earlier write to its key"},
    {"stream-trust-any", SMR_MUTANT_STREAM_TRUST_ANY, false,
     "a separate executor applies entries its streams disagree on"},
    {"pbft-weak-prepare", ORD_PBFT_MUTANT_WEAK_PREPARE, true,
     "PBFT: prepared with 2f-1 prepares"},
    {"pbft-weak-commit", ORD_PBFT_MUTANT_WEAK_COMMIT, true,
     "PBFT: committed with 2f commits"},
    {"pbft-vote-early", ORD_PBFT_MUTANT_VOTE_EARLY, true,
     "PBFT: COMMIT sent before its record is durable"},
    {"pbft-trust-new-view", ORD_PBFT_MUTANT_TRUST_NEW_VIEW, true,
     "PBFT: a NEW-VIEW's choice taken without checking"},
    {"pbft-trust-one-snapshot", ORD_PBFT_MUTANT_TRUST_ONE_SNAPSHOT, true,
     "PBFT: a snapshot fetched on one replica's claim"},
};
#define N_MUTANTS (sizeof mutants / sizeof mutants[0])

static void help(void)
{
    printf("usage: strata sim [--protocol paxos|pbft] [--seeds A-B | --seed S]\n"
           "                  [--ops N] [--replicas R] [--clients C] [--keys K]\n"
           "                  [--executors mixed|embedded|separate] [--calm]\n"
           "                  [--byzantine K] [--behaviours LIST]\n"
           "                  [--mutant NAME] [--trace] [--history FILE]\n"
           "\nRuns, for each seed, a whole cluster in one thread: the real\n"
           "protocol core, the real replica driver, the real executor and an\n"
           "in-memory disk, on a virtual clock and a seeded network that drops,\n"
           "duplicates, delays and reorders, with partitions, crashes that lose\n"
           "unsynced writes, fsync errors, slow disks and timer skew. Each seed\n"
           "draws its own fault rates. Checked after every step: agreement and\n"
           "equal state digests at equal sequence numbers; at the end: the\n"
           "client history is linearizable, the final reads see every\n"
           "acknowledged write, and the cluster made progress after the faults\n"
           "stopped. Under pbft, Byzantine replicas' frames are tampered\n"
           "with (docs/simulation.md); the correct replicas must agree, and a\n"
           "client vote that can no longer reach f+1 matching replies fails\n"
           "the seed. Prints a line per failing seed and 'N seeds, M failed';\n"
           "exits 0 only when none failed.\n"
           "\n  --seeds A-B     seeds A to B inclusive (default 1-100)\n"
           "  --seed S        one seed; with --trace, its event trace\n"
           "  --ops N         client operations per seed (default 300)\n"
           "  --replicas R    replicas (default 3)\n"
           "  --clients C     concurrent clients (default 4)\n"
           "  --keys K        distinct keys (default 3)\n"
           "  --executors E   where executors run: 'embedded' in the replica,\n"
           "                  'separate' (over the simulated network: credit,\n"
           "                  redelivery, resume from the cursor, their own\n"
           "                  crashes), or 'mixed' (default: drawn per seed)\n"
           "  --calm          no faults\n"
           "  --settle MS     after the clients finish, MS more of virtual\n"
           "                  time; then every correct replica that is up\n"
           "                  must have caught up with the others\n"
           "  --protocol P    paxos (default) or pbft: n = 3f+1 replicas (4 by\n"
           "                  default, or 7), keys derived from the seed,\n"
           "                  clients that send MACed requests and accept\n"
           "                  f+1 matching replies, separate executors that\n"
           "                  apply an entry once f+1 replicas' streams\n"
           "                  carry it, and up to f Byzantine replicas per\n"
           "                  seed\n"
           "  --byzantine K   pbft: exactly K Byzantine replicas (0..f;\n"
           "                  default: drawn per seed)\n"
           "  --behaviours L  pbft: each Byzantine replica does exactly these\n"
           "                  (comma-separated; default: a drawn subset):\n"
           "                  silent equivocate collude bad-reply replay\n"
           "                  mutate bad-mac twin conflict bad-vc\n"
           "  --history FILE  append each seed's client history (JSON Lines)\n"
           "  --fail-fast     stop at the first failing seed\n"
           "  --mutant NAME   run a deliberately broken variant:\n");
    for (size_t i = 0; i < N_MUTANTS; i++)
        printf("      %-22s %s\n", mutants[i].name, mutants[i].what);
}

static bool parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    char *end;
    *a = strtoull(s, &end, 10);
    if (end == s)
        return false;
    if (*end == '\0') {
        *b = *a;
        return true;
    }
    if (*end != '-')
        return false;
    const char *rest = end + 1;
    *b = strtoull(rest, &end, 10);
    return end != rest && *end == '\0' && *b >= *a;
}

static const char *const executors_names[] = {
    [SIM_EXEC_MIXED] = "mixed",
    [SIM_EXEC_EMBEDDED] = "embedded",
    [SIM_EXEC_SEPARATE] = "separate",
};

static bool parse_executors(const char *s, enum sim_executors *out)
{
    for (int i = SIM_EXEC_MIXED; i <= SIM_EXEC_SEPARATE; i++)
        if (!strcmp(s, executors_names[i])) {
            *out = (enum sim_executors)i;
            return true;
        }
    return false;
}

/* Sets the mutant's switch (smr_mutant or ord_pbft_mutant); false for an
 * unknown name. */
static bool find_mutant(const char *name)
{
    for (size_t i = 0; i < N_MUTANTS; i++)
        if (!strcmp(name, mutants[i].name)) {
            if (mutants[i].pbft)
                ord_pbft_mutant = mutants[i].mutant;
            else
                smr_mutant = mutants[i].mutant;
            return true;
        }
    fprintf(stderr, "strata sim: --mutant: unknown mutant '%s' (known:", name);
    for (size_t i = 0; i < N_MUTANTS; i++)
        fprintf(stderr, " %s", mutants[i].name);
    fprintf(stderr, ")\n");
    return false;
}

/* --behaviours a,b,...: a mask of sim_byz_names. */
static bool parse_behaviours(const char *s, uint32_t *out)
{
    *out = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        uint32_t k = 0;
        while (k < SIM_BYZ_BEHAVIOURS && strcmp(t, sim_byz_names[k]))
            k++;
        if (k == SIM_BYZ_BEHAVIOURS) {
            fprintf(stderr, "strata sim: --behaviours: unknown behaviour "
                            "'%s' (known:", t);
            for (k = 0; k < SIM_BYZ_BEHAVIOURS; k++)
                fprintf(stderr, " %s", sim_byz_names[k]);
            fprintf(stderr, ")\n");
            return false;
        }
        *out |= 1u << k;
    }
    return *out != 0;
}

static double secs_now(void)
{
    return (double)glue_mono_us() / 1e6;
}

int cmd_sim(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option opts[] = {
        {"protocol", required_argument, 0, 'p'},
        {"seeds", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'S'},
        {"ops", required_argument, 0, 'o'},
        {"replicas", required_argument, 0, 'r'},
        {"clients", required_argument, 0, 'c'},
        {"keys", required_argument, 0, 'k'},
        {"calm", no_argument, 0, 'q'},
        {"executors", required_argument, 0, 'x'},
        {"trace", no_argument, 0, 't'},
        {"history", required_argument, 0, 'H'},
        {"mutant", required_argument, 0, 'm'},
        {"fail-fast", no_argument, 0, 'f'},
        {"byzantine", required_argument, 0, 'b'},
        {"behaviours", required_argument, 0, 'B'},
        {"settle", required_argument, 0, 'T'},
        {0, 0, 0, 0},
    };
    struct sim_options o;
    sim_options_defaults(&o);
    uint64_t from = 1, to = 100, v;
    bool ok = true, trace = false, fail_fast = false, replicas_set = false;
    const char *history = NULL, *mutant = NULL, *behaviours = NULL;
    int c;
    while (ok && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            ok = !strcmp(optarg, "paxos") || !strcmp(optarg, "pbft");
            o.protocol = strcmp(optarg, "pbft") ? SIM_PAXOS : SIM_PBFT;
            if (!ok)
                fprintf(stderr, "strata sim: --protocol: unknown protocol "
                                "'%s' (known: paxos, pbft)\n", optarg);
            break;
        case 'b': ok = cli_parse_u64("--byzantine", optarg, 0, 2, &v); o.byzantine = (int)v; break;
        case 'B': ok = parse_behaviours(optarg, &o.behaviours); behaviours = optarg; break;
        case 's':
        case 'S':
            ok = parse_range(optarg, &from, &to) && (c == 's' || from == to);
            if (!ok)
                fprintf(stderr, "strata sim: %s: expected %s, got '%s'\n",
                        c == 's' ? "--seeds" : "--seed",
                        c == 's' ? "A-B" : "a number", optarg);
            break;
        case 'o': ok = cli_parse_u64("--ops", optarg, 1, 10000000, &v); o.ops = (uint32_t)v; break;
        case 'r': ok = cli_parse_u64("--replicas", optarg, 1, 7, &v); o.replicas = (uint32_t)v; replicas_set = true; break;
        case 'c': ok = cli_parse_u64("--clients", optarg, 1, 16, &v); o.clients = (uint32_t)v; break;
        case 'k': ok = cli_parse_u64("--keys", optarg, 1, 16, &v); o.keys = (uint32_t)v; break;
        case 'q': o.faults = false; break;
        case 'T': ok = cli_parse_u64("--settle", optarg, 1, 3600000, &o.settle_ms); break;
        case 'x':
            ok = parse_executors(optarg, &o.executors);
            if (!ok)
                fprintf(stderr, "strata sim: --executors: expected mixed, "
                                "embedded or separate, got '%s'\n", optarg);
            break;
        case 't': trace = true; break;
        case 'H': history = optarg; break;
        case 'f': fail_fast = true; break;
        case 'm':
            ok = find_mutant(optarg);
            mutant = optarg;
            break;
        default: ok = false; break;
        }
    }
    if (!ok)
        return 2;
    if (o.protocol == SIM_PBFT && !replicas_set)
        o.replicas = 4;
    if (o.protocol == SIM_PBFT &&
        ((o.replicas != 4 && o.replicas != 7) ||
         o.byzantine > (int)(o.replicas - 1) / 3)) {
        fprintf(stderr, "strata sim: --protocol pbft runs 4 or 7 replicas "
                        "and at most f = (n-1)/3 Byzantine replicas\n");
        return 2;
    }
    if (o.protocol != SIM_PBFT && (o.byzantine >= 0 || behaviours)) {
        fprintf(stderr, "strata sim: --byzantine and --behaviours need "
                        "--protocol pbft\n");
        return 2;
    }
    if (trace)
        o.trace = stdout;
    if (history && !(o.history = fopen(history, "a"))) {
        fprintf(stderr, "strata sim: --history: cannot open %s\n", history);
        return 2;
    }
    /* Apps reach state only through the keys each command declares (a
     * violation names the key and aborts: the run fails loudly). */
    exe_access_checking(true);
    uint64_t failed = 0, unknown = 0, n = 0, byz_seeds = 0;
    struct sim_result sum = {0}; /* fault totals, to show what ran */
    double t0 = secs_now();
    for (uint64_t seed = from; seed <= to && !(fail_fast && failed); seed++) {
        n++;
        struct sim_result r;
        if (sim_run_seed(seed, &o, &r) != SMR_OK) {
            fprintf(stderr, "strata sim: invalid options\n");
            return 2;
        }
        unknown += r.lin_unknown;
        sum.crashes += r.crashes;
        sum.executor_crashes += r.executor_crashes;
        sum.partitions += r.partitions;
        sum.fsync_errors += r.fsync_errors;
        sum.torn_tails += r.torn_tails;
        sum.corrupt_refusals += r.corrupt_refusals;
        sum.byzantine += r.byzantine;
        sum.byz_tampered += r.byz_tampered;
        sum.bad_client_requests += r.bad_client_requests;
        sum.held += r.held;
        sum.signed_requests += r.signed_requests;
        sum.stream_lies += r.stream_lies;
        sum.truncations += r.truncations;
        sum.states_installed += r.states_installed;
        byz_seeds += r.byzantine > 0;
        if (!r.failed)
            continue;
        failed++;
        char pbft[160] = "", forced[32] = "";
        if (o.byzantine >= 0)
            snprintf(forced, sizeof forced, " --byzantine %d", o.byzantine);
        if (o.protocol == SIM_PBFT)
            snprintf(pbft, sizeof pbft, " --protocol pbft%s%s%s", forced,
                     behaviours ? " --behaviours " : "",
                     behaviours ? behaviours : "");
        printf("seed %llu failed: %s%s%s (replay: strata sim --seed %llu%s "
               "--replicas %u --clients %u --keys %u --ops %u --executors %s"
               "%s%s%s --trace)\n",
               (unsigned long long)seed, r.invariant,
               r.byz_desc[0] ? "; Byzantine: " : "", r.byz_desc,
               (unsigned long long)seed, pbft, o.replicas, o.clients, o.keys,
               o.ops, r.separate_executors ? "separate" : "embedded",
               o.faults ? "" : " --calm", mutant ? " --mutant " : "",
               mutant ? mutant : "");
        fflush(stdout);
    }
    double secs = secs_now() - t0;
    if (o.history)
        fclose(o.history);
    fprintf(stderr, "strata sim: %.1f s, %.0f seeds/min%s\n", secs,
            secs > 0 ? (double)n * 60.0 / secs : 0.0,
            unknown ? " (some histories too large to decide)" : "");
    fprintf(stderr,
            "strata sim: faults: %llu replica crashes, %llu executor "
            "crashes, %llu partitions, %llu fsync errors, %llu torn tails "
            "dropped, %llu corrupt stores refused\n",
            (unsigned long long)sum.crashes,
            (unsigned long long)sum.executor_crashes,
            (unsigned long long)sum.partitions,
            (unsigned long long)sum.fsync_errors,
            (unsigned long long)sum.torn_tails,
            (unsigned long long)sum.corrupt_refusals);
    if (o.protocol == SIM_PBFT)
        fprintf(stderr,
                "strata sim: Byzantine: %llu seeds with %llu Byzantine "
                "replicas in all, %llu frames tampered with, dropped or "
                "replayed; %llu requests from faulty clients; correct "
                "replicas held %llu pre-prepares and checked %llu client "
                "signatures; %llu stream entries forged for separate "
                "executors\n",
                (unsigned long long)byz_seeds,
                (unsigned long long)sum.byzantine,
                (unsigned long long)sum.byz_tampered,
                (unsigned long long)sum.bad_client_requests,
                (unsigned long long)sum.held,
                (unsigned long long)sum.signed_requests,
                (unsigned long long)sum.stream_lies);
    if (o.protocol == SIM_PBFT)
        fprintf(stderr,
                "strata sim: state: %llu log truncations, %llu snapshots "
                "installed by state transfer\n",
                (unsigned long long)sum.truncations,
                (unsigned long long)sum.states_installed);
    printf("%llu seeds, %llu failed\n", (unsigned long long)n,
           (unsigned long long)failed);
    return failed ? 1 : 0;
}
