/*
 * cmd_keygen.c: `strata keygen`: writes a PBFT key directory (keys.h), or
 * enrols one more client block from an existing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"

static void keygen_help(void)
{
    printf("usage: strata keygen --dir DIR --replicas N [--block B]\n"
           "       strata keygen --dir DIR --replicas N --enroll B --out FILE\n"
           "\n"
           "Writes the key directory a PBFT config names in `keys:`: for\n"
           "each replica i an Ed25519 key pair (replica-<i>.pub, and\n"
           "replica-<i>.key with its client key root, mode 0600), the\n"
           "client CA that certifies clients' signing keys (clients.pub,\n"
           "and clients.key, mode 0600), and a client credential for\n"
           "client-id block B (client.cred, default block 1). Existing\n"
           "files are never overwritten.\n"
           "\n"
           "--enroll B writes a credential for block B to FILE from the\n"
           "replicas' secrets and clients.key in DIR: give each client\n"
           "principal its own block, so no client can use another's ids.\n");
}

int cmd_keygen(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        keygen_help();
        return 0;
    }
    const char *dir = NULL, *out = NULL;
    uint64_t n = 0, block = 1, enroll = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (strcmp(argv[i], "--dir") == 0 && ok)
            dir = v;
        else if (strcmp(argv[i], "--out") == 0 && ok)
            out = v;
        else if (strcmp(argv[i], "--replicas") == 0 && ok)
            ok = cli_parse_u64("--replicas", v, 1, SMR_NODES_MAX, &n);
        else if (strcmp(argv[i], "--block") == 0 && ok)
            ok = cli_parse_u64("--block", v, 1, UINT32_MAX, &block);
        else if (strcmp(argv[i], "--enroll") == 0 && ok)
            ok = cli_parse_u64("--enroll", v, 1, UINT32_MAX, &enroll);
        else {
            fprintf(stderr,
                    "strata keygen: unknown or incomplete option '%s' "
                    "(see --help)\n",
                    argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (!ok)
            return CLI_EXIT_USAGE;
        i++;
    }
    if (!dir || n == 0 || (enroll && !out)) {
        fprintf(stderr, "strata keygen: --dir and --replicas are required "
                        "(and --out with --enroll; see --help)\n");
        return CLI_EXIT_USAGE;
    }
    char err[512];
    int rc = enroll ? glue_keys_enroll(dir, (uint32_t)n, (uint32_t)enroll, out,
                                       err, sizeof err)
                    : glue_keys_generate(dir, (uint32_t)n, (uint32_t)block, err,
                                         sizeof err);
    if (rc != SMR_OK) {
        fprintf(stderr, "strata keygen: %s\n", err);
        return CLI_EXIT_REFUSED;
    }
    if (enroll)
        printf("wrote %s: credential for client block %llu\n", out,
               (unsigned long long)enroll);
    else
        printf("wrote %s: keys of %llu replicas and client.cred (block "
               "%llu)\n",
               dir, (unsigned long long)n, (unsigned long long)block);
    return 0;
}
