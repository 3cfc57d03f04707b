/*
 * cmd_kv.c: `strata put|get|del|cas|status`: one request through the client
 * library, exit code and stderr saying how it went.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

#define EXIT_FAILED 1      /* not found, cas mismatch, refused command */
#define EXIT_USAGE CLI_EXIT_USAGE
#define EXIT_UNAVAILABLE 3 /* no replica answered in time */

#define KV_TIMEOUT_MS_DEFAULT 10000
#define STATUS_TIMEOUT_MS_DEFAULT 500

struct kv_args {
    const char *config;
    uint64_t timeout_ms;
    bool timeout_given; /* --timeout-ms was on the command line */
    int n_pos;
    const char *pos[3];
};

static int parse(int argc, char **argv, int want, struct kv_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"timeout-ms", required_argument, 0, 't'},
        {0, 0, 0, 0},
    };
    memset(a, 0, sizeof *a);
    a->timeout_ms = KV_TIMEOUT_MS_DEFAULT;
    int c;
    while ((c = getopt_long(argc, argv, "c:t:", opts, NULL)) != -1) {
        if (c == 'c')
            a->config = optarg;
        else if (c == 't') {
            if (!cli_parse_u64("--timeout-ms", optarg, 1, 3600000,
                               &a->timeout_ms))
                return EXIT_USAGE;
            a->timeout_given = true;
        } else
            return EXIT_USAGE;
    }
    a->n_pos = argc - optind;
    if (a->n_pos != want) {
        fprintf(stderr, "strata %s: expected %d argument%s, got %d (see "
                        "--help)\n",
                argv[0], want, want == 1 ? "" : "s", a->n_pos);
        return EXIT_USAGE;
    }
    for (int i = 0; i < want; i++)
        a->pos[i] = argv[optind + i];
    return 0;
}

static void help(const char *cmd, const char *args, const char *what)
{
    printf("usage: strata %s --config FILE [--timeout-ms MS] %s\n\n%s\n"
           "\nExit status: 0 success; 1 not found / cas mismatch / refused\n"
           "command, or a config that cannot be read or fails its checks;\n"
           "2 usage (no --config, a malformed option, wrong arguments);\n"
           "3 no replica answered within the timeout (default %d ms; the\n"
           "command may or may not have been applied).\n",
           cmd, args, what, KV_TIMEOUT_MS_DEFAULT);
}

static int finish(const char *cmd, int rc, const struct glue_client *c)
{
    switch (rc) {
    case SMR_EREFUSED:
        fprintf(stderr, "strata %s: refused: %s\n", cmd, glue_client_error(c));
        return EXIT_FAILED;
    case SMR_OK: return 0;
    case SMR_ENOTFOUND: fprintf(stderr, "not found\n"); return EXIT_FAILED;
    case SMR_ECONTRACT:
        fprintf(stderr, "cas: the current value does not match\n");
        return EXIT_FAILED;
    case SMR_ETIMEOUT:
        fprintf(stderr, "strata %s: no replica answered in time\n", cmd);
        return EXIT_UNAVAILABLE;
    default:
        fprintf(stderr, "strata %s: %s\n", cmd, smr_strerror(rc));
        return EXIT_FAILED;
    }
}

/* Runs `fn` with a connected client. */
/* Loads the config into `cfg` and connects a client to it. */
static int with_client(struct kv_args *a, struct glue_config *cfg,
                       struct glue_client **c)
{
    int ex = cli_load_config(a->config, cfg);
    if (ex)
        return ex;
    char err[512];
    if (glue_client_open(cfg, NULL, 1, c, err, sizeof err) != SMR_OK) {
        fprintf(stderr, "strata: cannot create a client: %s\n", err);
        return EXIT_FAILED;
    }
    return 0;
}

int cmd_put(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help("put", "KEY VALUE", "Stores VALUE under KEY.");
        return 0;
    }
    struct kv_args a;
    struct glue_config cfg;
    struct glue_client *c;
    int ex = parse(argc, argv, 2, &a);
    if (ex || (ex = with_client(&a, &cfg, &c)))
        return ex;
    int rc = glue_kv_put(c, a.pos[0], a.pos[1], (uint32_t)strlen(a.pos[1]),
                         a.timeout_ms);
    ex = finish("put", rc, c);
    glue_client_destroy(&c);
    return ex;
}

int cmd_get(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help("get", "KEY",
             "Prints the value of KEY alone (read through the log). An\n"
             "absent key exits 1 with 'not found' on stderr.");
        return 0;
    }
    struct kv_args a;
    struct glue_config cfg;
    struct glue_client *c;
    int ex = parse(argc, argv, 1, &a);
    if (ex || (ex = with_client(&a, &cfg, &c)))
        return ex;
    struct smr_buf v;
    smr_buf_init(&v);
    int rc = glue_kv_get(c, a.pos[0], &v, a.timeout_ms);
    if (rc == SMR_OK) {
        fwrite(v.data, 1, v.len, stdout);
        fputc('\n', stdout);
    }
    smr_buf_free(&v);
    ex = finish("get", rc, c);
    glue_client_destroy(&c);
    return ex;
}

int cmd_del(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help("del", "KEY", "Deletes KEY (succeeds when it is absent too).");
        return 0;
    }
    struct kv_args a;
    struct glue_config cfg;
    struct glue_client *c;
    int ex = parse(argc, argv, 1, &a);
    if (ex || (ex = with_client(&a, &cfg, &c)))
        return ex;
    int rc = glue_kv_del(c, a.pos[0], a.timeout_ms);
    if (rc == SMR_ENOTFOUND)
        rc = SMR_OK;
    ex = finish("del", rc, c);
    glue_client_destroy(&c);
    return ex;
}

int cmd_cas(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help("cas", "KEY EXPECTED NEW",
             "Sets KEY to NEW only if its value is EXPECTED; exits 1 when it\n"
             "is not (or KEY is absent).");
        return 0;
    }
    struct kv_args a;
    struct glue_config cfg;
    struct glue_client *c;
    int ex = parse(argc, argv, 3, &a);
    if (ex || (ex = with_client(&a, &cfg, &c)))
        return ex;
    int rc = glue_kv_cas(c, a.pos[0], a.pos[1], (uint32_t)strlen(a.pos[1]),
                         a.pos[2], (uint32_t)strlen(a.pos[2]), a.timeout_ms);
    if (rc == SMR_ENOTFOUND)
        rc = SMR_ECONTRACT;
    ex = finish("cas", rc, c);
    glue_client_destroy(&c);
    return ex;
}

int cmd_status(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: strata status --config FILE [--timeout-ms MS] "
               "[--verbose]\n\n"
               "One line per replica: id, role (leader or follower), committed\n"
               "seq, executed seq; or 'unreachable'. --verbose adds the fsyncs,\n"
               "the storage writes each fsync covered on average, the frames\n"
               "dropped as malformed, the sends to peers and to clients the\n"
               "replica dropped rather than block (peers and clients retry),\n"
               "the protocol messages its ordering core ignored as invalid,\n"
               "and the first log index it still stores (log_first: under\n"
               "PBFT the log is truncated below it). --timeout-ms is per\n"
               "replica (default %d ms).\n"
               "\nExit status: 0 when a leader answered; 1 a config that cannot\n"
               "be read or fails its checks; 2 usage (no --config, a malformed\n"
               "option); 3 no leader answered.\n",
               STATUS_TIMEOUT_MS_DEFAULT);
        return 0;
    }
    bool verbose = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            verbose = true;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof *argv);
            argc--;
            break;
        }
    struct kv_args a;
    struct glue_config cfg;
    struct glue_client *c;
    int ex = parse(argc, argv, 0, &a);
    if (ex)
        return ex;
    if (!a.timeout_given)
        a.timeout_ms = STATUS_TIMEOUT_MS_DEFAULT;
    if ((ex = with_client(&a, &cfg, &c)))
        return ex;
    bool leader = false;
    for (smr_node_id i = 0; i < cfg.n_replicas; i++) {
        struct wire_status st;
        if (glue_client_status(c, i, a.timeout_ms, &st) != SMR_OK) {
            printf("replica %u  unreachable\n", i);
            continue;
        }
        leader |= st.is_leader;
        printf("replica %u  %-8s  committed %llu  executed %llu", i,
               st.is_leader ? "leader" : "follower",
               (unsigned long long)st.committed_seq,
               (unsigned long long)st.executed_seq);
        if (verbose)
            printf("  fsyncs %llu  writes/fsync %.2f  frames_dropped %llu  "
                   "peer_drops %llu  client_drops %llu  paxos_dropped %llu  "
                   "log_first %llu",
                   (unsigned long long)st.fsyncs,
                   (double)st.writes_per_fsync_x100 / 100.0,
                   (unsigned long long)st.frames_rejected,
                   (unsigned long long)st.peer_drops,
                   (unsigned long long)st.client_drops,
                   (unsigned long long)st.paxos_dropped,
                   (unsigned long long)st.log_first);
        printf("\n");
    }
    glue_client_destroy(&c);
    return leader ? 0 : EXIT_UNAVAILABLE;
}
