/*
 * main.c: the `strata` command: dispatches to one subcommand, each of which
 * answers --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct cli_cmd commands[] = {
    {"demo", "run 3 replicas in this process under a client load", cmd_demo},
    {"node", "run one replica (all its services)", cmd_node},
    {"executor", "run an executor in its own process", cmd_executor},
    {"status", "show each replica's role and progress", cmd_status},
    {"put", "store a value: put KEY VALUE", cmd_put},
    {"get", "print a value: get KEY", cmd_get},
    {"del", "delete a key: del KEY", cmd_del},
    {"cas", "compare and swap: cas KEY EXPECTED NEW", cmd_cas},
    {"bench", "closed-loop load: ops/s and latency percentiles", cmd_bench},
    {"bench-exec", "executor alone: sequential vs parallel engine speedup",
     cmd_bench_exec},
    {"sim", "deterministic simulation of a whole cluster over many seeds",
     cmd_sim},
    {"lincheck", "check a client history for linearizability", cmd_lincheck},
    {"keygen", "write PBFT replica keys and a client credential", cmd_keygen},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: strata <command> [options]   (strata <command> --help)\n"
               "\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int cli_load_config(const char *path, struct glue_config *cfg)
{
    char err[512];
    if (!path) {
        fprintf(stderr, "strata: --config FILE is required (see --help)\n");
        return CLI_EXIT_USAGE;
    }
    if (glue_config_load(path, cfg, err, sizeof err) != SMR_OK) {
        fprintf(stderr, "strata: %s\n", err);
        return CLI_EXIT_REFUSED;
    }
    return 0;
}

bool cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "strata: %s: expected a whole number from %llu to "
                        "%llu, got '%s'\n",
                opt, (unsigned long long)min, (unsigned long long)max,
                s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("strata %s\n", glue_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
