/*
 * test_config.c: Check suite for glue/config.c (loading and validation) and
 * glue/contract.c (the composition check).
 *
 * The example configs in configs/ must load and pass both checks. Every
 * file in configs/bad/ and every inline document below must be refused with
 * SMR_ECONFIG (or SMR_ECONTRACT, SMR_EIO), a sentence that starts with the
 * file name and names the field path, and the caller's struct untouched.
 * Garbage inputs (1 MiB of random bytes, of random printable text, an
 * oversized file) must be refused cleanly; the random generator is seeded
 * and the seed printed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "contract.h"
#include "exe.h"
#include "paxos.h"

#ifndef STRATA_SOURCE_DIR
#error "tests/CMakeLists.txt defines STRATA_SOURCE_DIR for test_config"
#endif

#define ERR_BYTES 512

static const char *src(const char *rel)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", STRATA_SOURCE_DIR, rel);
    return path;
}

/* A struct filled with a pattern, to prove failures leave it untouched. */
static void poison(struct glue_config *c)
{
    memset(c, 0xa5, sizeof(*c));
}

static bool poisoned(const struct glue_config *c)
{
    const unsigned char *p = (const unsigned char *)c;
    for (size_t i = 0; i < sizeof(*c); i++)
        if (p[i] != 0xa5)
            return false;
    return true;
}

static void assert_contains(const char *err, const char *needle)
{
    ck_assert_msg(strstr(err, needle) != NULL, "expected \"%s\" in \"%s\"",
                  needle, err);
}

/* Loads inline YAML; asserts refusal with `rc` and `needle` in the sentence,
 * which starts with the name "inline.yaml: ". */
static void refuse_inline(const char *yaml, int rc, const char *needle)
{
    struct glue_config c;
    char err[ERR_BYTES] = "";
    poison(&c);
    int got = glue_config_load_data(yaml, strlen(yaml), "inline.yaml", &c, err,
                                    sizeof(err));
    ck_assert_msg(got == rc, "rc %d, expected %d (%s) for:\n%s", got, rc, err,
                  yaml);
    ck_assert_msg(strncmp(err, "inline.yaml: ", 13) == 0, "no name: %s", err);
    assert_contains(err, needle);
    ck_assert(poisoned(&c));
}

static void load_inline(const char *yaml, struct glue_config *c)
{
    char err[ERR_BYTES] = "";
    int rc = glue_config_load_data(yaml, strlen(yaml), "inline.yaml", c, err,
                                   sizeof(err));
    ck_assert_msg(rc == SMR_OK, "refused: %s\n%s", err, yaml);
}

#define REPLICAS_3                                                             \
    "replicas:\n"                                                              \
    "  - {id: 0, peer: tcp://127.0.0.1:7100, client: tcp://127.0.0.1:7200}\n"  \
    "  - {id: 1, peer: tcp://127.0.0.1:7101, client: tcp://127.0.0.1:7201}\n"  \
    "  - {id: 2, peer: tcp://127.0.0.1:7102, client: tcp://127.0.0.1:7202}\n"
#define STORAGE "storage: {engine: rocksdb, path: /tmp/strata-test}\n"
#define GOOD "cluster_id: 7\n" REPLICAS_3 STORAGE

/* ------------------------------------------------------- example configs */

static const char *const examples[] = {
    "configs/paxos-3.yaml",
    "configs/paxos-3-ipc.yaml",
    "configs/paxos-1.yaml",
};

START_TEST(test_examples_load_and_compose)
{
    struct glue_config c;
    char err[ERR_BYTES] = "";
    const char *path = src(examples[_i]);
    ck_assert_msg(glue_config_load(path, &c, err, sizeof(err)) == SMR_OK, "%s",
                  err);
    ck_assert_int_eq(glue_config_check(&c, err, sizeof(err)), SMR_OK);
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_uint_eq(c.cluster_id, 1);
    ck_assert_str_eq(c.protocol, "paxos");
    ck_assert_str_eq(c.executor, "sequential");
    ck_assert_str_eq(c.app, "kv");
    ck_assert_int_eq(c.storage_engine, GLUE_STORAGE_ROCKSDB);
    ck_assert(c.storage_sync);
    /* defaults */
    ck_assert_uint_eq(c.election_timeout_ms, 300);
    ck_assert_uint_eq(c.heartbeat_ms, 50);
    ck_assert_uint_eq(c.batch_max, 512);
    ck_assert_uint_eq(c.batch_bytes_max, 1u << 20);
    ck_assert_uint_eq(c.window, 64);
    ck_assert_uint_eq(c.checkpoint_interval, 10000);
    ck_assert_uint_eq(c.session_ttl_ms, 3600000);
    for (smr_node_id id = 0; id < c.n_replicas; id++)
        ck_assert_ptr_nonnull(glue_config_replica(&c, id));
    ck_assert_ptr_null(glue_config_replica(&c, c.n_replicas));
}
END_TEST

START_TEST(test_paxos_3_fields)
{
    struct glue_config c;
    char err[ERR_BYTES] = "", line[256];
    ck_assert_int_eq(
        glue_config_load(src("configs/paxos-3.yaml"), &c, err, sizeof(err)),
        SMR_OK);
    ck_assert_uint_eq(c.n_replicas, 3);
    const struct glue_replica_config *r = glue_config_replica(&c, 2);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->peer, "tcp://127.0.0.1:7102");
    ck_assert_str_eq(r->client, "tcp://127.0.0.1:7202");
    ck_assert_str_eq(c.storage_path, "/tmp/strata-paxos-3");
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "paxos (f=1 crash, n=3) → sequential executor → "
                           "kv; storage rocksdb, fsync on");

    ck_assert_int_eq(
        glue_config_load(src("configs/paxos-3-ipc.yaml"), &c, err, sizeof(err)),
        SMR_OK);
    ck_assert_str_eq(glue_config_replica(&c, 1)->client,
                     "ipc:///tmp/strata-ipc/client-1");

    ck_assert_int_eq(
        glue_config_load(src("configs/paxos-1.yaml"), &c, err, sizeof(err)),
        SMR_OK);
    ck_assert_uint_eq(c.n_replicas, 1);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "paxos (f=0 crash, n=1) → sequential executor → "
                           "kv; storage rocksdb, fsync on");
}
END_TEST

/* ------------------------------------------------------------ bad files */

struct bad_case {
    const char *file;
    const char *needle; /* the field path, at least */
};

static const struct bad_case bad_files[] = {
    {"configs/bad/missing-cluster-id.yaml", ": cluster_id: required"},
    {"configs/bad/duplicate-id.yaml", ": replicas[2].id: 1 is already"},
    {"configs/bad/id-gap.yaml", ": replicas[2].id: 3 is out of range"},
    {"configs/bad/bad-scheme.yaml", ": replicas[1].peer: endpoint"},
    {"configs/bad/duplicate-endpoint.yaml",
     ": replicas[2].client: endpoint 'tcp://127.0.0.1:7100' is also "
     "replicas[0].peer"},
    {"configs/bad/unknown-protocol.yaml",
     ": protocol: unknown protocol 'raft' (known: paxos, pbft)"},
    {"configs/bad/unknown-key-top.yaml", ": replica_count: unknown key"},
    {"configs/bad/unknown-key-replica.yaml", ": replicas[1].port: unknown key"},
    {"configs/bad/unknown-key-storage.yaml", ": storage.fsync: unknown key"},
    {"configs/bad/wrong-type.yaml",
     ": timeouts.election_ms: expected a whole number, got 'fast'"},
    {"configs/bad/election-short.yaml",
     ": timeouts.election_ms: 80 must be at least twice"},
    {"configs/bad/window-zero.yaml", ": batch.window: must be 1 to 1024"},
    {"configs/bad/pbft-checkpoint-interval.yaml",
     ": checkpoint_interval: under pbft with embedded executors it must be a "
     "multiple of 16"},
    {"configs/bad/empty.yaml", ": holds no configuration"},
};

START_TEST(test_bad_file_refused)
{
    const struct bad_case *b = &bad_files[_i];
    const char *path = src(b->file);
    struct glue_config c;
    char err[ERR_BYTES] = "";
    poison(&c);
    int rc = glue_config_load(path, &c, err, sizeof(err));
    ck_assert_msg(rc == SMR_ECONFIG, "%s: rc %d (%s)", b->file, rc, err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
                  "sentence does not start with the path: %s", err);
    assert_contains(err, b->needle);
    ck_assert(poisoned(&c));
}
END_TEST

START_TEST(test_unknown_key_lines)
{
    char err[ERR_BYTES] = "";
    struct glue_config c;
    ck_assert_int_eq(glue_config_load(src("configs/bad/unknown-key-replica."
                                          "yaml"),
                                      &c, err, sizeof(err)),
                     SMR_ECONFIG);
    assert_contains(err, "(allowed here: id, peer, client, stream) (line 11)");
}
END_TEST

START_TEST(test_unknown_key_anywhere)
{
    refuse_inline(GOOD "timeouts: {election_ms: 300, election: 5}\n",
                  SMR_ECONFIG,
                  ": timeouts.election: unknown key (allowed "
                  "here: election_ms, heartbeat_ms)");
    refuse_inline(GOOD "batch: {max_requests: 1, size: 5}\n", SMR_ECONFIG,
                  ": batch.size: unknown key");
    refuse_inline(
        "cluster_id: 7\n"
        "replicas:\n"
        "  - {id: 0, peer: tcp://h:1, client: tcp://h:2, x: 1}\n" STORAGE,
        SMR_ECONFIG, ": replicas[0].x: unknown key");
    refuse_inline(GOOD "Protocol: paxos\n", SMR_ECONFIG,
                  ": Protocol: unknown key");
}
END_TEST

START_TEST(test_wrong_types)
{
    refuse_inline("cluster_id: abc\n" REPLICAS_3 STORAGE, SMR_ECONFIG,
                  ": cluster_id: expected a whole number, got 'abc'");
    refuse_inline("cluster_id:\n" REPLICAS_3 STORAGE, SMR_ECONFIG,
                  ": cluster_id: has no value");
    /* libcyaml 1.3 alone would load these as 2^64-5, 1, 5 and 8 */
    refuse_inline(GOOD "timeouts: {election_ms: -5}\n", SMR_ECONFIG,
                  ": timeouts.election_ms: expected a whole number");
    refuse_inline(GOOD "timeouts: {election_ms: 1.5}\n", SMR_ECONFIG,
                  ": timeouts.election_ms: expected a whole number");
    refuse_inline(GOOD "timeouts: {heartbeat_ms: 5abc}\n", SMR_ECONFIG,
                  ": timeouts.heartbeat_ms: expected a whole number");
    refuse_inline(GOOD "checkpoint_interval: 010\n", SMR_ECONFIG,
                  ": checkpoint_interval: expected a whole number");
    refuse_inline(GOOD "batch: {window: 4294967296}\n", SMR_ECONFIG,
                  ": batch.window: 4294967296 is too large");
    refuse_inline(GOOD "session_ttl_ms: 18446744073709551616\n", SMR_ECONFIG,
                  ": session_ttl_ms: 18446744073709551616 is too large");
    refuse_inline(GOOD "stream_quorum: two\n", SMR_ECONFIG,
                  ": stream_quorum: expected a whole number, got 'two'");
    refuse_inline(GOOD "stream_quorum: 4\n", SMR_ECONFIG,
                  ": stream_quorum: 4 is more streams than the 3 replicas");
    struct glue_config q;
    load_inline(GOOD "stream_quorum: 2\n", &q);
    ck_assert_uint_eq(q.stream_quorum, 2);
    refuse_inline(GOOD "batch: {max_requests: [1]}\n", SMR_ECONFIG,
                  ": batch.max_requests: expected a single value, found a "
                  "list");
    refuse_inline("cluster_id: 7\nreplicas: 3\n" STORAGE, SMR_ECONFIG,
                  ": replicas: expected a list, found a single value");
    refuse_inline("cluster_id: 7\nreplicas: [tcp://h:1]\n" STORAGE, SMR_ECONFIG,
                  ": replicas[0]: expected a mapping");
    refuse_inline(GOOD "timeouts: 300\n", SMR_ECONFIG,
                  ": timeouts: expected a mapping, found a single value");
    /* libcyaml 1.3 alone would load "maybe" and "n" as true */
    refuse_inline("cluster_id: 7\n" REPLICAS_3
                  "storage: {engine: rocksdb, path: /x, sync: maybe}\n",
                  SMR_ECONFIG,
                  ": storage.sync: expected true or false, got "
                  "'maybe'");
    refuse_inline("cluster_id: 7\n" REPLICAS_3
                  "storage: {engine: rocksdb, path: /x, sync: n}\n",
                  SMR_ECONFIG, ": storage.sync: expected true or false");
    refuse_inline("cluster_id: 7\n" REPLICAS_3
                  "storage: {engine: lmdb, path: /x}\n",
                  SMR_ECONFIG,
                  ": storage.engine: unknown engine 'lmdb' (known: rocksdb, "
                  "memory)");
}
END_TEST

START_TEST(test_yaml_shapes)
{
    refuse_inline("- 1\n- 2\n", SMR_ECONFIG,
                  ": expected a mapping, found a list");
    refuse_inline("just words\n", SMR_ECONFIG,
                  ": expected a mapping, found a single value");
    refuse_inline("cluster_id: 1\ncluster_id: 2\n" REPLICAS_3 STORAGE,
                  SMR_ECONFIG, ": cluster_id: appears twice (line 2)");
    refuse_inline(
        "cluster_id: 7\n"
        "replicas:\n"
        "  - {id: 0, peer: tcp://h:1, client: tcp://h:2, id: 1}\n" STORAGE,
        SMR_ECONFIG, ": replicas[0].id: appears twice");
    refuse_inline("cluster_id: 7\n"
                  "replicas:\n"
                  "  - {id: 0, peer: tcp://h:1}\n" STORAGE,
                  SMR_ECONFIG, ": replicas[0].client: required, but missing");
    refuse_inline("cluster_id: 7\n" STORAGE, SMR_ECONFIG,
                  ": replicas: required, but missing");
    refuse_inline("cluster_id: 7\nreplicas: []\n" STORAGE, SMR_ECONFIG,
                  ": replicas: the config lists no replicas");
    refuse_inline("cluster_id: &a 7\n" REPLICAS_3 "storage: {path: *a}\n",
                  SMR_ECONFIG, ": storage.path: YAML aliases");
    refuse_inline("cluster_id: \"7\n", SMR_ECONFIG, ": YAML syntax error: ");
    refuse_inline("cluster_id: 7\n  replicas: [\n", SMR_ECONFIG,
                  ": YAML syntax error: ");
    refuse_inline("{{{", SMR_ECONFIG,
                  ": cannot load a key: a key must be a "
                  "plain word");
    refuse_inline("", SMR_ECONFIG, ": holds no configuration");
    refuse_inline("# nothing but a comment\n\n", SMR_ECONFIG,
                  ": holds no configuration");

    char yaml[4096] = "cluster_id: 7\nreplicas:\n";
    for (int i = 0; i < SMR_NODES_MAX + 1; i++) {
        size_t used = strlen(yaml);
        snprintf(yaml + used, sizeof(yaml) - used,
                 "  - {id: %d, peer: tcp://h:%d, client: tcp://h:%d}\n", i,
                 7100 + i, 7200 + i);
    }
    refuse_inline(yaml, SMR_ECONFIG, ": replicas: more than 16 entries");
}
END_TEST

START_TEST(test_nul_byte_refused)
{
    static const char doc[] = "cluster_id: 7\n\0garbage";
    struct glue_config c;
    char err[ERR_BYTES] = "";
    ck_assert_int_eq(glue_config_load_data(doc, sizeof(doc), "nul.yaml", &c,
                                           err, sizeof(err)),
                     SMR_ECONFIG);
    ck_assert_str_eq(err, "nul.yaml: is not a YAML text file (NUL byte at "
                          "offset 14)");
}
END_TEST

/* replicas[i].stream: optional, checked like every endpoint, distinct. */
START_TEST(test_stream_endpoint)
{
    struct glue_config c;
    load_inline(GOOD, &c);
    ck_assert_str_eq(c.replicas[1].stream, "");
    load_inline("cluster_id: 7\nreplicas:\n"
                "  - {id: 0, peer: tcp://h:1, client: tcp://h:2, "
                "stream: ipc:///tmp/s0}\n" STORAGE,
                &c);
    ck_assert_str_eq(c.replicas[0].stream, "ipc:///tmp/s0");
    refuse_inline("cluster_id: 7\nreplicas:\n"
                  "  - {id: 0, peer: tcp://h:1, client: tcp://h:2, "
                  "stream: tcp://h:1}\n" STORAGE,
                  SMR_ECONFIG, "replicas[0].stream: endpoint 'tcp://h:1' is "
                               "also replicas[0].peer");
    refuse_inline("cluster_id: 7\nreplicas:\n"
                  "  - {id: 0, peer: tcp://h:1, client: tcp://h:2, "
                  "stream: udp://h:3}\n" STORAGE,
                  SMR_ECONFIG, "replicas[0].stream");
}
END_TEST

START_TEST(test_endpoints)
{
    static const struct {
        const char *peer0;
        const char *needle;
    } cases[] = {
        {"tcp://127.0.0.1", "has no port"},
        {"tcp://:7100", "has no host"},
        {"tcp://*:7100", "names every interface"},
        {"tcp://127.0.0.1:0", "a port is a number from 1 to 65535"},
        {"tcp://127.0.0.1:65536", "a port is a number from 1 to 65535"},
        {"tcp://127.0.0.1:http", "a port is a number from 1 to 65535"},
        {"'tcp://[::1:7100'", "unbalanced [ ]"},
        {"ipc://", "has no path"},
        {"'tcp://h :7100'", "contains a space or control character"},
        {"''", "endpoint is empty"},
        {"udp://h:7100", "must start with tcp:// or ipc://"},
    };
    char yaml[1024];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(yaml, sizeof(yaml),
                 "cluster_id: 7\nreplicas:\n"
                 "  - {id: 0, peer: %s, client: tcp://h:2}\n" STORAGE,
                 cases[i].peer0);
        char needle[128];
        snprintf(needle, sizeof(needle), ": replicas[0].peer: ");
        refuse_inline(yaml, SMR_ECONFIG, needle);
        refuse_inline(yaml, SMR_ECONFIG, cases[i].needle);
    }
    char long_ipc[200] = "ipc:///tmp/";
    memset(long_ipc + strlen(long_ipc), 'x', 120);
    snprintf(yaml, sizeof(yaml),
             "cluster_id: 7\nreplicas:\n"
             "  - {id: 0, peer: tcp://h:1, client: %s}\n" STORAGE,
             long_ipc);
    refuse_inline(yaml, SMR_ECONFIG,
                  ": replicas[0].client: ipc path is 125 "
                  "bytes; a Unix socket path holds at most 107");

    char big[400] = "tcp://";
    memset(big + 6, 'h', 300);
    strcat(big, ":1");
    snprintf(yaml, sizeof(yaml),
             "cluster_id: 7\nreplicas:\n"
             "  - {id: 0, peer: %s, client: tcp://h:2}\n" STORAGE,
             big);
    refuse_inline(yaml, SMR_ECONFIG,
                  ": replicas[0].peer: 308 bytes; the "
                  "limit is 255");

    /* the same endpoint for one replica's two roles */
    refuse_inline("cluster_id: 7\nreplicas:\n"
                  "  - {id: 0, peer: tcp://h:1, client: tcp://h:1}\n" STORAGE,
                  SMR_ECONFIG,
                  ": replicas[0].client: endpoint 'tcp://h:1' "
                  "is also replicas[0].peer");
    struct glue_config c;
    load_inline(
        "cluster_id: 7\nreplicas:\n"
        "  - {id: 0, peer: 'tcp://[::1]:7100', client: tcp://h:2}\n" STORAGE,
        &c);
}
END_TEST

START_TEST(test_storage_and_limits)
{
    refuse_inline("cluster_id: 7\n" REPLICAS_3, SMR_ECONFIG,
                  ": storage.path: required when storage.engine is rocksdb");
    refuse_inline("cluster_id: 7\n" REPLICAS_3 "storage: {path: ''}\n",
                  SMR_ECONFIG, ": storage.path: required");
    refuse_inline(GOOD "protocol: ''\n", SMR_ECONFIG,
                  ": protocol: has no value (known: paxos, pbft)");
    refuse_inline(GOOD "executor: speculative\n", SMR_ECONFIG,
                  ": executor: unknown executor 'speculative' (known: "
                  "sequential, parallel)");
    refuse_inline(GOOD "app: redis\n", SMR_ECONFIG,
                  ": app: unknown app 'redis' (known: kv, bank, work)");
    refuse_inline(GOOD "executor: parallel\nworkers: 0\n", SMR_ECONFIG,
                  ": workers: must be 1 to 64, got 0");
    refuse_inline(GOOD "workers: 65\n", SMR_ECONFIG,
                  ": workers: must be 1 to 64, got 65");
    refuse_inline(GOOD "workers: two\n", SMR_ECONFIG, ": workers: ");
    refuse_inline(GOOD "protocol: "
                       "a-protocol-name-far-longer-than-thirty-one-bytes\n",
                  SMR_ECONFIG, ": protocol: unknown protocol 'a-protocol-");
    refuse_inline(GOOD "timeouts: {heartbeat_ms: 0}\n", SMR_ECONFIG,
                  ": timeouts.heartbeat_ms: must be positive");
    refuse_inline(GOOD "timeouts: {election_ms: 0}\n", SMR_ECONFIG,
                  ": timeouts.election_ms: must be positive");
    refuse_inline(GOOD "timeouts: {election_ms: 3600001, heartbeat_ms: 50}\n",
                  SMR_ECONFIG, ": timeouts.election_ms: 3600001 is above");
    refuse_inline(GOOD "batch: {max_requests: 0}\n", SMR_ECONFIG,
                  ": batch.max_requests: must be 1 to 65536, got 0");
    refuse_inline(GOOD "batch: {max_requests: 65537}\n", SMR_ECONFIG,
                  ": batch.max_requests: must be 1 to 65536, got 65537");
    refuse_inline(GOOD "batch: {max_bytes: 1023}\n", SMR_ECONFIG,
                  ": batch.max_bytes: must be 1024 to 8388608, got 1023");
    refuse_inline(GOOD "batch: {max_bytes: 8388609}\n", SMR_ECONFIG,
                  ": batch.max_bytes: must be 1024 to 8388608");
    refuse_inline(GOOD "batch: {window: 1025}\n", SMR_ECONFIG,
                  ": batch.window: must be 1 to 1024, got 1025");
    refuse_inline(GOOD "checkpoint_interval: 0\n", SMR_ECONFIG,
                  ": checkpoint_interval: must be at least 1");

    /* every optional field set, at the edges of its range */
    struct glue_config c;
    load_inline("cluster_id: 18446744073709551615\n"
                "protocol: paxos\nexecutor: sequential\napp: kv\n" REPLICAS_3
                "storage: {engine: memory, sync: off}\n"
                "timeouts: {election_ms: 100, heartbeat_ms: 50}\n"
                "batch: {max_requests: 65536, max_bytes: 8388608, "
                "window: 1024}\n"
                "checkpoint_interval: 1\nsession_ttl_ms: 0\n",
                &c);
    ck_assert_uint_eq(c.cluster_id, UINT64_MAX);
    ck_assert_int_eq(c.storage_engine, GLUE_STORAGE_MEMORY);
    ck_assert(!c.storage_sync);
    ck_assert_str_eq(c.storage_path, "");
    ck_assert_uint_eq(c.election_timeout_ms, 100);
    ck_assert_uint_eq(c.batch_max, 65536);
    ck_assert_uint_eq(c.batch_bytes_max, SMR_BATCH_BYTES_MAX);
    ck_assert_uint_eq(c.window, 1024);
    ck_assert_uint_eq(c.checkpoint_interval, 1);
    ck_assert_uint_eq(c.session_ttl_ms, 0);
    /* the Paxos core accepts what the glue accepts */
    char err[ERR_BYTES];
    ck_assert_msg(glue_contract_check(&c, true, err, sizeof(err)) == SMR_OK,
                  "%s", err);
}
END_TEST

/* ------------------------------------------------------ files on disk */

static char *temp_file(const void *data, size_t len)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(dir) + 32);
    ck_assert_ptr_nonnull(path);
    sprintf(path, "%s/test_config.XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        ck_assert_int_gt(n, 0);
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return path;
}

START_TEST(test_nonexistent_file)
{
    struct glue_config c;
    char err[ERR_BYTES] = "";
    const char *path = src("configs/no-such-file.yaml");
    poison(&c);
    ck_assert_int_eq(glue_config_load(path, &c, err, sizeof(err)), SMR_EIO);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    assert_contains(err, ": cannot open: No such file or directory");
    ck_assert(poisoned(&c));

    ck_assert_int_eq(glue_config_load(src("configs"), &c, err, sizeof(err)),
                     SMR_EIO);
    assert_contains(err, "configs: cannot read: Is a directory");
    ck_assert(poisoned(&c));
}
END_TEST

static uint64_t xorshift64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(test_garbage_files)
{
    static const char yamlish[] = "{}[]:-,&*!|>'\"#% \nab0id";
    const size_t len = 1u << 20;
    uint64_t seed = 0x5eed0000u + (uint64_t)_i, s = seed;
    unsigned char *data = malloc(len + 1);
    ck_assert_ptr_nonnull(data);
    printf("test_garbage_files: seed %#llx\n", (unsigned long long)seed);
    for (size_t i = 0; i < len; i++) {
        uint64_t r = xorshift64(&s);
        /* _i 0: any byte; 1: printable text and newlines; 2: YAML punctuation
         * and short words (more parser paths) */
        if (_i == 0)
            data[i] = (unsigned char)r;
        else if (_i == 1)
            data[i] = r % 16 == 0 ? '\n' : (unsigned char)(' ' + r % 95);
        else
            data[i] = (unsigned char)yamlish[r % (sizeof(yamlish) - 1)];
    }
    char *path = temp_file(data, len);
    struct glue_config c;
    char err[ERR_BYTES] = "";
    poison(&c);
    int rc = glue_config_load(path, &c, err, sizeof(err));
    ck_assert_msg(rc == SMR_ECONFIG, "rc %d: %s", rc, err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    ck_assert_uint_lt(strlen(err), sizeof(err));
    ck_assert(poisoned(&c));
    printf("  %s\n", err + strlen(path));
    unlink(path);
    free(path);
    free(data);
}
END_TEST

START_TEST(test_oversized_file)
{
    const size_t len = GLUE_CONFIG_BYTES_MAX + 1;
    char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    memset(data, '#', len); /* one long comment: valid YAML, but too big */
    char *path = temp_file(data, len);
    struct glue_config c;
    char err[ERR_BYTES] = "";
    ck_assert_int_eq(glue_config_load(path, &c, err, sizeof(err)), SMR_ECONFIG);
    assert_contains(err, ": is 1048577 bytes; a config may be at most "
                         "1048576");
    unlink(path);
    free(path);
    free(data);
}
END_TEST

/* ----------------------------------------------------------- contracts */

START_TEST(test_unsafe_storage)
{
    static const char *const files[] = {
        "configs/bad/memory-storage.yaml",
        "configs/bad/sync-false.yaml",
    };
    static const char *const needles[] = {
        "storage.engine is memory but protocol paxos requires durable votes",
        "storage.sync is false but protocol paxos requires durable votes",
    };
    for (int i = 0; i < 2; i++) {
        struct glue_config c;
        char err[ERR_BYTES] = "";
        ck_assert_msg(glue_config_load(src(files[i]), &c, err, sizeof(err)) ==
                          SMR_OK,
                      "%s", err);
        ck_assert_int_eq(glue_contract_check(&c, false, err, sizeof(err)),
                         SMR_ECONTRACT);
        assert_contains(err, needles[i]);
        ck_assert_msg(glue_contract_check(&c, true, err, sizeof(err)) == SMR_OK,
                      "%s", err);
    }
}
END_TEST

/* The PBFT fields and compositions a config can reach. */
START_TEST(test_pbft_compositions)
{
    struct glue_config c;
    char err[ERR_BYTES] = "", line[256];
    ck_assert_msg(glue_config_load(src("configs/pbft-4.yaml"), &c, err,
                                   sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_str_eq(c.keys_dir, "/tmp/strata-pbft-4-keys");
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "pbft (f=1 Byzantine, n=4) → sequential executor "
                           "→ kv; storage rocksdb, fsync on");
    /* The example with separate executors. */
    ck_assert_msg(glue_config_load(src("configs/pbft-4-executors.yaml"), &c,
                                   err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "pbft (f=1 Byzantine, n=4) → sequential executor "
                           "(separate: 2 of 4 streams must agree) → kv; "
                           "storage rocksdb, fsync on");

    static const char *const refused[][2] = {
        {"cluster_id: 7\nprotocol: pbft\n" REPLICAS_3 STORAGE,
         "inline.yaml: keys: required when protocol is pbft"},
        {"cluster_id: 7\nkeys: /tmp/k\n" REPLICAS_3 STORAGE,
         "inline.yaml: keys: protocol paxos uses no keys; remove the field"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(glue_config_load_data(refused[i][0],
                                               strlen(refused[i][0]),
                                               "inline.yaml", &c, err,
                                               sizeof(err)),
                         SMR_ECONFIG);
        assert_contains(err, refused[i][1]);
    }

    /* n = 3 is not 3f+1: the core's own check refuses it. */
    load_inline("cluster_id: 7\nprotocol: pbft\nkeys: /tmp/k\n" REPLICAS_3
                    STORAGE,
                &c);
    ck_assert_int_eq(glue_contract_check(&c, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    assert_contains(err, "protocol pbft refuses the config: ");

    /* A window that is not a multiple of the checkpoint interval. */
    load_inline("cluster_id: 7\nprotocol: pbft\nkeys: /tmp/k\n" REPLICAS_3
                "  - {id: 3, peer: tcp://h:7103, client: tcp://h:7203}\n"
                "batch: {window: 40}\n" STORAGE,
                &c);
    ck_assert_int_eq(glue_contract_check(&c, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    assert_contains(err, "protocol pbft refuses the config: window: ");

    /* Separate executors: by default they wait for f+1 = 2 streams ... */
    load_inline("cluster_id: 7\nprotocol: pbft\nkeys: /tmp/k\n" REPLICAS_3
                "  - {id: 3, peer: tcp://h:7103, client: tcp://h:7203, "
                "stream: tcp://h:7303}\n" STORAGE,
                &c);
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    uint32_t quorum = 0;
    ck_assert_int_eq(glue_stream_quorum(&c, &quorum, err, sizeof(err)),
                     SMR_OK);
    ck_assert_uint_eq(quorum, 2);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "pbft (f=1 Byzantine, n=4) → sequential executor "
                           "(separate: 2 of 4 streams must agree) → kv; "
                           "storage rocksdb, fsync on");
    /* ... and one that would trust one replica's stream is refused. */
    c.stream_quorum = 1;
    ck_assert_int_eq(glue_contract_check(&c, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    assert_contains(err, "stream_quorum is 1, but protocol pbft tolerates "
                         "f=1 Byzantine faults, so a separate executor may "
                         "apply an entry only once f+1=2 replicas' streams "
                         "carry it");
}
END_TEST

START_TEST(test_even_replica_counts)
{
    /* Decision: n=2 (f=0) and n=4 (f=1) are valid Paxos clusters, safe but
     * no more tolerant than n-1; accepted, and the start-up line says so. */
    struct glue_config c;
    char err[ERR_BYTES] = "", line[256];
    load_inline(
        "cluster_id: 7\nreplicas:\n"
        "  - {id: 1, peer: tcp://h:7101, client: tcp://h:7201}\n"
        "  - {id: 0, peer: tcp://h:7100, client: tcp://h:7200}\n" STORAGE,
        &c);
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "paxos (f=0 crash, n=2; 1 would tolerate as many) "
                           "→ sequential executor → kv; storage rocksdb, "
                           "fsync on");
    ck_assert_str_eq(glue_config_replica(&c, 0)->peer, "tcp://h:7100");

    load_inline("cluster_id: 7\n" REPLICAS_3
                "  - {id: 3, peer: tcp://h:7103, client: tcp://h:7203}\n"
                "storage: {engine: memory}\n",
                &c);
    ck_assert_int_eq(glue_contract_check(&c, true, err, sizeof(err)), SMR_OK);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "paxos (f=1 crash, n=4; 3 would tolerate as many) "
                           "→ sequential executor → kv; storage memory "
                           "(volatile)");
    ck_assert_int_eq(glue_contract_describe(&c, line, 10), SMR_ETOOBIG);
    ck_assert_uint_eq(strlen(line), 9);
}
END_TEST

/* The parallel executor and every built-in app load, compose and create
 * their engine; the glue's app table agrees with each app's ops table. */
START_TEST(test_parallel_executor_and_apps)
{
    static const char *const apps[] = {"kv", "bank", "work"};
    char err[ERR_BYTES] = "", line[256];
    struct glue_config c;
    load_inline(GOOD "executor: parallel\nworkers: 4\napp: bank\n", &c);
    ck_assert_str_eq(c.executor, "parallel");
    ck_assert_uint_eq(c.workers, 4);
    ck_assert_str_eq(c.app, "bank");
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_int_eq(glue_contract_describe(&c, line, sizeof(line)), SMR_OK);
    ck_assert_str_eq(line, "paxos (f=1 crash, n=3) → parallel executor "
                           "(4 workers) → bank; storage rocksdb, fsync on");
    load_inline(GOOD, &c);
    ck_assert_uint_eq(c.workers, 2);
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
        struct glue_composition k;
        struct exe_app *app;
        struct exe_engine *e;
        snprintf(c.app, sizeof(c.app), "%s", apps[i]);
        snprintf(c.executor, sizeof(c.executor), "parallel");
        ck_assert_int_eq(glue_composition_build(&c, &k, err, sizeof(err)),
                         SMR_OK);
        ck_assert_int_eq(exe_app_new(apps[i], &app), SMR_OK);
        ck_assert_int_eq(k.app.has_conflict_keys, app->ops->has_conflict_keys);
        ck_assert_int_eq(exe_engine_new(c.executor, c.workers, app, 0, NULL,
                                        NULL, &e),
                         SMR_OK);
        exe_engine_destroy(&e);
        exe_app_destroy(&app);
    }
    for (size_t i = 0; exe_app_names[i]; i++)
        ck_assert_int_eq(glue_module_check(GLUE_MODULE_APP, exe_app_names[i],
                                           err, sizeof(err)),
                         SMR_OK);
}
END_TEST

static struct glue_composition sound(void)
{
    struct glue_composition k;
    memset(&k, 0, sizeof(k));
    k.n_replicas = 3;
    k.ord = (struct ord_contract){.protocol = "paxos",
                                  .faults_tolerated = 1,
                                  .replicas_required = 3,
                                  .needs_durable_storage = true,
                                  .total_order = true};
    k.executor = (struct glue_executor_info){"sequential", false, true};
    k.app = (struct glue_app_info){"kv", true};
    k.storage = (struct glue_storage_info){"rocksdb", true, true};
    return k;
}

START_TEST(test_composition_rules)
{
    char err[ERR_BYTES] = "";
    struct glue_composition k = sound();
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);

    /* a protocol whose f is set apart from n: PBFT needs 3f+1 */
    k = sound();
    k.ord = (struct ord_contract){.protocol = "pbft",
                                  .faults_tolerated = 1,
                                  .replicas_required = 4,
                                  .byzantine = true,
                                  .needs_durable_storage = true,
                                  .total_order = true};
    k.stream_quorum = 2;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    ck_assert_str_eq(err, "protocol pbft tolerates f=1 Byzantine faults and "
                          "needs 4 replicas, but the config has 3");
    k.n_replicas = 4;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);
    /* embedded, an executor is part of its replica: clients vote */
    k.stream_quorum = 1;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);
    /* separate, it must not trust one replica's stream */
    k.separate_executors = true;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    ck_assert_str_eq(err, "stream_quorum is 1, but protocol pbft tolerates "
                          "f=1 Byzantine faults, so a separate executor may "
                          "apply an entry only once f+1=2 replicas' streams "
                          "carry it: set stream_quorum to at least 2, or "
                          "leave it out");
    k.stream_quorum = 2;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);
    k.stream_quorum = 4; /* one replica down would stop every executor */
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    ck_assert_str_eq(err, "stream_quorum is 4, but with f=1 replicas down "
                          "only 3 streams remain and the executors would "
                          "stop: set it to at most 3");

    k = sound();
    k.executor = (struct glue_executor_info){"parallel", true, true};
    k.app = (struct glue_app_info){"counter", false};
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    ck_assert_str_eq(err, "executor parallel needs conflict keys but app "
                          "counter declares none");
    k.app.has_conflict_keys = true;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);

    k = sound();
    k.ord.total_order = false;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    ck_assert_str_eq(err, "executor sequential needs a totally ordered "
                          "stream but protocol paxos provides only a partial "
                          "order: linearize it first, or use executor "
                          "parallel, which honours the dependencies");
    k.linearized = true; /* a linearizing stage makes it a total order */
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);
    k.linearized = false;
    k.executor = (struct glue_executor_info){"parallel", true, false};
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);

    k = sound();
    k.storage.sync = false;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_ECONTRACT);
    assert_contains(err, "storage.sync is false but protocol paxos");
    ck_assert_int_eq(glue_contract_compose(&k, true, err, sizeof(err)), SMR_OK);
    k.ord.needs_durable_storage = false;
    ck_assert_int_eq(glue_contract_compose(&k, false, err, sizeof(err)),
                     SMR_OK);
    /* err may be NULL */
    k = sound();
    k.n_replicas = 1;
    ck_assert_int_eq(glue_contract_compose(&k, false, NULL, 0), SMR_ECONTRACT);
}
END_TEST

/* ---------------------------------------------------- configs in code */

static void code_config(struct glue_config *c, uint32_t n)
{
    glue_config_defaults(c);
    c->cluster_id = 9;
    c->n_replicas = n;
    for (uint32_t i = 0; i < n; i++) {
        c->replicas[i].id = n - 1 - i;
        snprintf(c->replicas[i].peer, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://10.0.0.%u:7100", i + 1);
        snprintf(c->replicas[i].client, GLUE_ENDPOINT_BYTES_MAX,
                 "tcp://10.0.0.%u:7200", i + 1);
    }
    snprintf(c->storage_path, sizeof(c->storage_path), "/var/lib/strata");
}

static void refuse_code(const struct glue_config *c, const char *needle)
{
    char err[ERR_BYTES] = "";
    ck_assert_int_eq(glue_config_check(c, err, sizeof(err)), SMR_ECONFIG);
    assert_contains(err, needle);
    ck_assert_int_eq(glue_contract_check(c, true, err, sizeof(err)),
                     SMR_ECONFIG);
    assert_contains(err, needle);
    ck_assert_int_eq(glue_contract_describe(c, err, sizeof(err)), SMR_ECONFIG);
    ck_assert_str_eq(err, "");
}

START_TEST(test_check_in_code)
{
    struct glue_config c;
    char err[ERR_BYTES] = "";
    code_config(&c, SMR_NODES_MAX);
    ck_assert_msg(glue_contract_check(&c, false, err, sizeof(err)) == SMR_OK,
                  "%s", err);
    ck_assert_ptr_eq(glue_config_replica(&c, 0),
                     &c.replicas[SMR_NODES_MAX - 1]);

    code_config(&c, 0);
    refuse_code(&c, "replicas: the config lists no replicas");
    code_config(&c, 3);
    c.n_replicas = SMR_NODES_MAX + 1;
    refuse_code(&c, "replicas: 17 replicas listed; at most 16");
    ck_assert_ptr_null(glue_config_replica(&c, 99));

    code_config(&c, 3);
    memset(c.replicas[1].client, 'x', GLUE_ENDPOINT_BYTES_MAX);
    refuse_code(&c, "replicas[1].client: endpoint does not fit in 255 bytes");
    code_config(&c, 3);
    memset(c.protocol, 'p', sizeof(c.protocol));
    refuse_code(&c, "protocol: name does not fit in 31 bytes");
    code_config(&c, 3);
    c.storage_engine = (enum glue_storage_engine)7;
    refuse_code(&c, "storage.engine: unknown engine '7' (known: rocksdb, "
                    "memory)");
    code_config(&c, 3);
    memset(c.storage_path, 'd', GLUE_PATH_BYTES_MAX);
    refuse_code(&c, "storage.path: does not fit in 1023 bytes");
    code_config(&c, 3);
    memset(c.storage_path, 'd', GLUE_PATH_BYTES_MAX - 2);
    refuse_code(&c, "storage.path: 1022 bytes leave no room for /replica-<id>");
    code_config(&c, 3);
    c.storage_engine = GLUE_STORAGE_MEMORY;
    c.storage_path[0] = '\0';
    ck_assert_int_eq(glue_config_check(&c, err, sizeof(err)), SMR_OK);
    code_config(&c, 3);
    c.heartbeat_ms = GLUE_TIMEOUT_MS_MAX + 1;
    refuse_code(&c, "timeouts.heartbeat_ms: 3600001 is above the limit");
    code_config(&c, 3);
    c.heartbeat_ms = 200;
    refuse_code(&c, "timeouts.election_ms: 300 must be at least twice "
                    "timeouts.heartbeat_ms (200)");
    code_config(&c, 3);
    c.replicas[2].id = 5;
    refuse_code(&c, "replicas[2].id: 5 is out of range");

    /* err may be NULL */
    ck_assert_int_eq(glue_config_check(&c, NULL, 0), SMR_ECONFIG);
    ck_assert_int_eq(glue_config_load_data("x: 1", 4, NULL, &c, NULL, 0),
                     SMR_ECONFIG);
}
END_TEST

START_TEST(test_paxos_mapping)
{
    struct glue_config c;
    struct ord_paxos_config p0, p1;
    char err[ERR_BYTES] = "";
    code_config(&c, 5);
    c.election_timeout_ms = 1000;
    c.heartbeat_ms = 100;
    c.batch_max = 65536;
    c.batch_bytes_max = 4096;
    c.window = 8;
    glue_config_paxos(&c, 0, &p0);
    glue_config_paxos(&c, 1, &p1);
    ck_assert_uint_eq(p1.self, 1);
    ck_assert_uint_eq(p0.n_replicas, 5);
    ck_assert_uint_eq(p0.election_timeout_ms, 1000);
    ck_assert_uint_eq(p0.heartbeat_ms, 100);
    ck_assert_uint_eq(p0.batch_max, 65536);
    ck_assert_uint_eq(p0.batch_bytes_max, 4096);
    ck_assert_uint_eq(p0.window, 8);
    ck_assert_uint_ge(p0.pending_max, p0.batch_max);
    ck_assert_uint_ne(p0.rng_seed, 0);
    ck_assert_uint_ne(p0.rng_seed, p1.rng_seed);
    ck_assert_msg(ord_paxos_config_check(&p1, err, sizeof(err)) == SMR_OK, "%s",
                  err);
    ck_assert_int_eq(glue_contract_check(&c, false, err, sizeof(err)), SMR_OK);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("load");
    tcase_add_loop_test(t, test_examples_load_and_compose, 0,
                        sizeof(examples) / sizeof(examples[0]));
    tcase_add_test(t, test_paxos_3_fields);
    tcase_add_loop_test(t, test_bad_file_refused, 0,
                        sizeof(bad_files) / sizeof(bad_files[0]));
    tcase_add_test(t, test_unknown_key_lines);
    tcase_add_test(t, test_unknown_key_anywhere);
    tcase_add_test(t, test_wrong_types);
    tcase_add_test(t, test_yaml_shapes);
    tcase_add_test(t, test_nul_byte_refused);
    tcase_add_test(t, test_endpoints);
    tcase_add_test(t, test_stream_endpoint);
    tcase_add_test(t, test_storage_and_limits);
    tcase_add_test(t, test_nonexistent_file);
    tcase_add_loop_test(t, test_garbage_files, 0, 3);
    tcase_add_test(t, test_oversized_file);
    suite_add_tcase(s, t);

    TCase *k = tcase_create("contract");
    tcase_add_test(k, test_unsafe_storage);
    tcase_add_test(k, test_even_replica_counts);
    tcase_add_test(k, test_pbft_compositions);
    tcase_add_test(k, test_composition_rules);
    tcase_add_test(k, test_parallel_executor_and_apps);
    tcase_add_test(k, test_check_in_code);
    tcase_add_test(k, test_paxos_mapping);
    suite_add_tcase(s, k);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
