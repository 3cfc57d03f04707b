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

int cmd_executor(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: strata executor --config FILE --replica N\n"
               "\nRuns an executor in its own process, following the Committed\n"
               "stream that replica N serves on replicas[N].stream. Replies go\n"
               "back through the replica to its clients. Snapshots are kept in\n"
               "<storage.path>/executor-N; a restarted executor resumes from\n"
               "its snapshot and the replica's log. Exits 0 on SIGINT/SIGTERM.\n");
        return 0;
    }
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"replica", required_argument, 0, 'r'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *rep = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'r')
            rep = optarg;
        else
            return 2;
    }
    struct glue_config cfg;
    uint64_t id;
    if (!cli_load_config(config, &cfg) ||
        !cli_parse_u64("--replica", rep, 0, SMR_NODES_MAX - 1, &id))
        return 2;
    char err[512];
    struct glue_executor *x;
    if (glue_executor_new(&cfg, (smr_node_id)id, &x, err, sizeof err) !=
        SMR_OK) {
        fprintf(stderr, "strata executor: %s\n", err);
        return 1;
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
