/*
 * main.c: the `strata` command: dispatches to one subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("strata %s\n", glue_version());
        return 0;
    }
    fprintf(stderr, "usage: strata <command> [options]\n");
    return 2;
}
