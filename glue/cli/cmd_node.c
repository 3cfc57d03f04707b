/*
 * cmd_node.c: `strata node --config F --id N`: one replica in this process.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "node.h"

static struct glue_node *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        glue_node_stop(running);
}

static void help(void)
{
    printf("usage: strata node --config FILE --id N [--allow-unsafe-storage]\n"
           "\nRuns replica N of the cluster in FILE: its ordering core, its\n"
           "storage and its executor, until SIGINT or SIGTERM.\n"
           "\n  --allow-unsafe-storage  accept storage.sync: false or memory\n"
           "                          storage (benchmarks; votes may be lost)\n"
           "\nExit status: 0 after a requested stop; 1 when the config is\n"
           "refused (unreadable, failing a check or the composition check,\n"
           "or without replica N) or the replica cannot start; 2 on a usage\n"
           "error (no --config or --id, a malformed option); 3 when storage\n"
           "failed while running (an fsync error stops the replica rather\n"
           "than being retried).\n");
}

int cmd_node(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"id", required_argument, 0, 'i'},
        {"allow-unsafe-storage", no_argument, 0, 'u'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *id_s = NULL;
    struct glue_node_options opt = {0};
    int c;
    while ((c = getopt_long(argc, argv, "c:i:u", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'i': id_s = optarg; break;
        case 'u': opt.allow_unsafe_storage = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    uint64_t id;
    if (!config || !id_s) {
        fprintf(stderr, "strata node: %s is required (see --help)\n",
                config ? "--id N" : "--config FILE");
        return CLI_EXIT_USAGE;
    }
    if (!cli_parse_u64("--id", id_s, 0, SMR_NODES_MAX - 1, &id))
        return CLI_EXIT_USAGE;
    struct glue_config cfg;
    int ex = cli_load_config(config, &cfg);
    if (ex)
        return ex;
    if (!glue_config_replica(&cfg, (smr_node_id)id)) {
        fprintf(stderr, "strata node: --id: replica %llu is not in %s (it "
                        "has %u replicas)\n",
                (unsigned long long)id, config, cfg.n_replicas);
        return CLI_EXIT_REFUSED;
    }
    char line[256], err[512];
    glue_contract_describe(&cfg, line, sizeof line);
    fprintf(stderr, "replica %llu: %s\n", (unsigned long long)id, line);
    struct glue_node *n;
    int rc = glue_node_new(&cfg, (smr_node_id)id, &opt, &n, err, sizeof err);
    if (rc != SMR_OK) {
        fprintf(stderr, "strata node: %s\n", err);
        return CLI_EXIT_REFUSED;
    }
    running = n;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = glue_node_run(n);
    running = NULL;
    glue_node_destroy(&n);
    return rc == SMR_OK ? 0 : 3;
}
