/*
 * cmd_executor.c: `strata executor --config F --replica N`: a separate
 * executor process following replica N's Committed stream.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "executor.h"

static struct glue_executor *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        glue_executor_stop(running);
}

static void help(void)
{
    printf("usage: strata executor --config FILE --replica N "
           "[--allow-unsafe-storage]\n"
           "\nRuns an executor in its own process, following the Committed\n"
           "stream that replica N serves on replicas[N].stream. Replies go\n"
           "back through the replica to its clients. Snapshots are kept in\n"
           "<storage.path>/executor-N; a restarted executor resumes from\n"
           "its snapshot and the replica's log. With a stream quorum q\n"
           "above 1 (protocol pbft: f+1 by default) it reads every\n"
           "replica's stream, over CURVE links keyed from the key\n"
           "directory (it reads replica-N.key), and applies an entry only\n"
           "once q streams carry it.\n"
           "\n  --allow-unsafe-storage  accept storage.sync: false or memory\n"
           "                          storage (benchmarks; as strata node)\n"
           "\nExit status: 0 after SIGINT/SIGTERM; 1 when the config is\n"
           "refused (unreadable, failing a check or the composition check,\n"
           "or replica N has no stream endpoint) or the executor cannot\n"
           "start; 2 on a usage error (no --config or --replica, a malformed\n"
           "option); 3 when it stopped on an error while running (storage,\n"
           "or the replica truncated past its cursor).\n");
}

int cmd_executor(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"replica", required_argument, 0, 'r'},
        {"allow-unsafe-storage", no_argument, 0, 'u'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *rep = NULL;
    bool allow_unsafe_storage = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'r': rep = optarg; break;
        case 'u': allow_unsafe_storage = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    uint64_t id;
    if (!config || !rep) {
        fprintf(stderr, "strata executor: %s is required (see --help)\n",
                config ? "--replica N" : "--config FILE");
        return CLI_EXIT_USAGE;
    }
    if (!cli_parse_u64("--replica", rep, 0, SMR_NODES_MAX - 1, &id))
        return CLI_EXIT_USAGE;
    struct glue_config cfg;
    int ex = cli_load_config(config, &cfg);
    if (ex)
        return ex;
    char err[512] = "";
    struct glue_executor *x;
    struct glue_executor_options opt = {
        .allow_unsafe_storage = allow_unsafe_storage,
    };
    if (glue_executor_new(&cfg, (smr_node_id)id, &opt, &x, err, sizeof err) !=
        SMR_OK) {
        fprintf(stderr, "strata executor: %s\n", err);
        return CLI_EXIT_REFUSED;
    }
    running = x;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = glue_executor_run(x);
    running = NULL;
    glue_executor_destroy(&x);
    return rc == SMR_OK ? 0 : 3;
}
