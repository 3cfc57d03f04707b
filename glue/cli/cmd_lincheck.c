/*
 * cmd_lincheck.c: `strata lincheck FILE`: reads a client history (JSON
 * Lines), checks it for linearizability against the key-value model with
 * glue/lincheck.c (Wing and Gong's search with Lowe's memoization, one key
 * at a time), and says so through the exit status; a violation is printed
 * as its key and a shrunk set of operations that has no linearization.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lincheck.h"

#define EXIT_VIOLATION 1
#define EXIT_MALFORMED 2 /* also usage, unreadable file */
#define EXIT_UNKNOWN 3

static void help(void)
{
    printf(
        "usage: strata lincheck [--max-states N] FILE   (FILE - is stdin)\n"
        "\n"
        "Checks a client history for linearizability against the key-value\n"
        "model (get, put, del, cas), each key on its own: Wing & Gong's\n"
        "search in Lowe's just-in-time form, with memoization. Every key\n"
        "starts absent.\n"
        "\n"
        "FILE holds JSON Lines, one event per line, in real-time order:\n"
        "  {\"client\":3,\"type\":\"invoke\",\"op\":\"cas\",\"key\":\"a\","
        "\"expect\":\"1\",\"value\":\"2\"}\n"
        "  {\"client\":3,\"type\":\"ok\",\"op\":\"cas\",\"key\":\"a\"}\n"
        "  {\"client\":1,\"type\":\"ok\",\"op\":\"get\",\"key\":\"a\","
        "\"value\":null}\n"
        "type is invoke, then ok, fail or info from the same client; each\n"
        "client has at most one operation outstanding. An invoke carries\n"
        "op and key, plus value (put), or expect and value (cas). A\n"
        "completion may repeat op, key, expect and value (they must match);\n"
        "a get's ok carries the value read (null: absent); a del's ok may\n"
        "carry \"found\": true|false. Blank lines are skipped.\n"
        "\n"
        "Meaning of outcomes:\n"
        "  ok    the operation took effect between its invoke and its ok;\n"
        "        a cas swapped (the value was expect).\n"
        "  fail  put, get, del: it did not take effect (ignored). cas: it\n"
        "        did not swap because the value was not expect (or absent),\n"
        "        which must also be linearizable.\n"
        "  info  unknown (e.g. a timeout): it may take effect at any point\n"
        "        after its invoke, or never (a get's info is ignored). An\n"
        "        invoke never completed by the end of the file counts as\n"
        "        info. After an info the client may invoke again.\n"
        "\n"
        "Limits: lines up to %u bytes, %u events; keys and values are\n"
        "strings without \\u0000. The search of one key stops after N\n"
        "memoized states (--max-states, default %llu) or %llu MiB of them.\n"
        "\n"
        "Exit status: 0 linearizable; 1 not linearizable: prints the key\n"
        "with the fewest operations among the failing ones, the line from\n"
        "which its history cannot be linearized, and evidence: a minimal\n"
        "set of its operations up to there that has no linearization, with\n"
        "their client, arguments, outcome and lines (every value they read\n"
        "keeps a writer that may be its source); 2 malformed input\n"
        "(\"line N: ...\"), unreadable file or usage; 3 unknown: the search\n"
        "budget was exhausted for some key and no key failed (rare; raise\n"
        "--max-states), or memory ran out.\n",
        LIN_LINE_BYTES_MAX, LIN_EVENTS_MAX,
        (unsigned long long)LIN_STATES_PER_KEY_DEFAULT,
        (unsigned long long)(LIN_MEMO_BYTES_MAX >> 20));
}

static int parse_args(int argc, char **argv, struct lin_limits *lim,
                      const char **path)
{
    static const struct option opts[] = {
        {"max-states", required_argument, 0, 's'},
        {0, 0, 0, 0},
    };
    lin_limits_default(lim);
    int c;
    while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
        if (c != 's' ||
            !cli_parse_u64("--max-states", optarg, 1, (1ull << 31) - 1,
                           &lim->states_per_key_max))
            return EXIT_MALFORMED;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "strata lincheck: expected one FILE (see --help)\n");
        return EXIT_MALFORMED;
    }
    *path = argv[optind];
    return 0;
}

static int load(const char *path, struct lin_history *h)
{
    char err[512];
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "strata lincheck: cannot open %s: %s\n", path,
                strerror(errno));
        return EXIT_MALFORMED;
    }
    int rc = lin_history_read(h, f, err, sizeof err);
    if (f != stdin)
        fclose(f);
    if (rc != SMR_OK) {
        fprintf(stderr, "strata lincheck: %s: %s\n", path, err);
        return EXIT_MALFORMED;
    }
    return 0;
}

static void print_violation(const struct lin_report *r)
{
    char line[512];
    printf("not linearizable: key %s, from line %llu on",
           lin_quote(r->key, line, sizeof line),
           (unsigned long long)r->violation_line);
    if (r->keys_violating > 1)
        printf(" (%llu keys fail; this one has the fewest operations)",
               (unsigned long long)r->keys_violating);
    printf("\nevidence: %zu of the key's %llu operations have no "
           "linearization%s:\n",
           r->n_report_ops, (unsigned long long)r->key_ops,
           r->minimal ? "" : " (not minimal: the shrink ran out of budget)");
    for (size_t i = 0; i < r->n_report_ops; i++)
        printf("  %s\n", lin_op_format(&r->ops[i], line, sizeof line));
}

static int verdict(const struct lin_report *r)
{
    char key[128];
    switch (r->verdict) {
    case LIN_LINEARIZABLE:
        printf("linearizable: %llu operations on %llu key%s (%llu states)\n",
               (unsigned long long)r->n_ops, (unsigned long long)r->n_keys,
               r->n_keys == 1 ? "" : "s", (unsigned long long)r->states);
        return 0;
    case LIN_VIOLATION:
        print_violation(r);
        return EXIT_VIOLATION;
    case LIN_UNKNOWN:
        printf("unknown (search budget exhausted): %llu key%s, first %s; no "
               "key failed (raise --max-states)\n",
               (unsigned long long)r->keys_unknown,
               r->keys_unknown == 1 ? "" : "s",
               lin_quote(r->key, key, sizeof key));
        return EXIT_UNKNOWN;
    }
    return EXIT_UNKNOWN;
}

int cmd_lincheck(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    struct lin_limits lim;
    const char *path;
    int ex = parse_args(argc, argv, &lim, &path);
    if (ex)
        return ex;
    struct lin_history *h;
    if (lin_history_new(&h) != SMR_OK) {
        fprintf(stderr, "strata lincheck: out of memory\n");
        return EXIT_MALFORMED;
    }
    struct lin_report r;
    if (!(ex = load(path, h))) {
        if (lin_check(h, &lim, &r) != SMR_OK) {
            fprintf(stderr, "strata lincheck: out of memory\n");
            ex = EXIT_UNKNOWN;
        } else {
            ex = verdict(&r);
            lin_report_free(&r);
        }
    }
    lin_history_destroy(&h);
    return ex;
}
