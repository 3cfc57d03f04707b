/*
 * cli.h: shared pieces of the `strata` command's subcommands.
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

int cmd_demo(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_executor(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_cas(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_exec(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_lincheck(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/* True when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* Exit codes every subcommand that takes --config shares. */
#define CLI_EXIT_REFUSED 1 /* the config cannot be read or fails a check */
#define CLI_EXIT_USAGE 2   /* a missing or malformed option or argument */

/* Loads and checks a config (glue_config_load). Returns 0; or prints a
 * sentence and returns CLI_EXIT_USAGE when `path` is NULL (no --config
 * given), CLI_EXIT_REFUSED when the file cannot be read or is refused. */
int cli_load_config(const char *path, struct glue_config *cfg);
/* Parses a positive integer option value; prints an error naming the
 * option and returns false when it is not one. */
bool cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                   uint64_t *out);

#endif
