/*
 * config.h: the cluster configuration (YAML, schema-checked with libcyaml)
 * and the composition check that refuses what cannot work.
 *
 * Example (configs/paxos-3.yaml):
 *
 *   cluster_id: 1
 *   protocol: paxos            # paxos | pbft
 *   keys: configs/keys/pbft-4  # pbft only: `strata keygen` writes it
 *   executor: sequential       # sequential | parallel
 *   workers: 2                 # parallel executor threads (1 to 64)
 *   app: kv                    # kv | bank | work
 *   replicas:
 *     - id: 0
 *       peer: tcp://127.0.0.1:7100     # replica-to-replica messages
 *       client: tcp://127.0.0.1:7200   # client requests, replies, status
 *       stream: tcp://127.0.0.1:7300   # optional: serve the Committed
 *                                      # stream to a separate executor
 *     - ...
 *   storage:
 *     engine: rocksdb          # rocksdb | memory
 *     path: /tmp/strata        # replica i keeps its data in <path>/replica-<i>
 *     sync: true               # fsync before a vote leaves the replica
 *   timeouts:
 *     election_ms: 300
 *     heartbeat_ms: 50
 *   batch:
 *     max_requests: 512
 *     max_bytes: 1048576
 *     window: 64
 *   checkpoint_interval: 10000 # executor snapshot every K sequence numbers
 *   log_retain: 10000          # pbft: log kept below the truncation point
 *   session_ttl_ms: 3600000    # client sessions expire by log time
 *   stream_quorum: 2           # separate executors: matching streams
 *                              # needed (default 1, or f+1 under pbft)
 *
 * Every field except cluster_id, replicas and storage.path has a default.
 */
#ifndef STRATA_GLUE_CONFIG_H
#define STRATA_GLUE_CONFIG_H

#include "smr.h"

#define GLUE_ENDPOINT_BYTES_MAX 256
#define GLUE_PATH_BYTES_MAX 1024

enum glue_storage_engine {
    GLUE_STORAGE_ROCKSDB = 0,
    GLUE_STORAGE_MEMORY = 1,
};

struct glue_replica_config {
    smr_node_id id;
    char peer[GLUE_ENDPOINT_BYTES_MAX];
    char client[GLUE_ENDPOINT_BYTES_MAX];
    /* Optional. Empty: the executor runs inside the replica's process.
     * Set: the replica serves its Committed stream here and a separate
     * `strata executor --replica <id>` process executes it. */
    char stream[GLUE_ENDPOINT_BYTES_MAX];
};

struct glue_keys; /* keys.h */

struct glue_config {
    uint64_t cluster_id;
    char protocol[32];
    /* PBFT key directory (keys.h); required by protocol pbft. */
    char keys_dir[GLUE_PATH_BYTES_MAX];
    /* Not from YAML: key material held in memory (the simulator, tests);
     * when set it is used instead of keys_dir. Borrowed. */
    const struct glue_keys *keys_mem;
    char executor[32];
    uint32_t workers; /* threads of the parallel executor */
    char app[32];
    uint32_t n_replicas;
    struct glue_replica_config replicas[SMR_NODES_MAX];
    enum glue_storage_engine storage_engine;
    char storage_path[GLUE_PATH_BYTES_MAX];
    bool storage_sync;
    uint64_t election_timeout_ms;
    uint64_t heartbeat_ms;
    uint32_t batch_max;
    uint32_t batch_bytes_max;
    uint32_t window;
    uint64_t checkpoint_interval;
    /* PBFT with every executor embedded: committed seqs kept below the
     * truncation point (the lowest of the snapshot, commit mark and stable
     * checkpoint), so a replica that far behind catches up from the log
     * rather than by state transfer. */
    uint64_t log_retain;
    uint64_t session_ttl_ms;
    /* Separate executors apply an entry once this many replicas' streams
     * carry it; 0: what the protocol needs (1 under crash faults, f+1
     * under Byzantine ones). glue_stream_quorum() resolves it. */
    uint32_t stream_quorum;
};

/* Whether replicas truncate their logs and transfer state: PBFT with every
 * executor embedded (snapshots live with embedded executors, so only then
 * can every replica serve state and install it). */
bool glue_config_state_transfer(const struct glue_config *c);

/* Fills every default (no replicas, empty path). */
void glue_config_defaults(struct glue_config *c);

/* Loads and validates a YAML file. On failure returns SMR_ECONFIG (or
 * SMR_EIO when the file cannot be read) and writes one sentence into `err`
 * naming the file and the field, e.g. (from configs/bad/)
 *   "configs/bad/bad-scheme.yaml: replicas[1].peer: endpoint
 *    'http://127.0.0.1:7101' must start with tcp:// or ipc://"
 *   "configs/bad/unknown-key-storage.yaml: storage.fsync: unknown key
 *    (allowed here: engine, path, sync) (line 17)"
 *   "configs/bad/nope.yaml: cannot open: No such file or directory". */
int glue_config_load(const char *path, struct glue_config *out, char *err,
                     size_t err_len);

/* Validates a config filled in code (glue_config_load calls it too):
 * replica ids 0..n-1 each exactly once, endpoints well-formed and distinct,
 * known protocol/executor/app/engine names, positive timeouts, election
 * timeout at least twice the heartbeat, bounds on batch and window,
 * workers 1 to 64. */
int glue_config_check(const struct glue_config *c, char *err, size_t err_len);

/* The composition check: builds each module's contract from the config and
 * refuses a composition that cannot work, with a sentence naming the clash,
 * e.g. (configs/bad/sync-false.yaml)
 *   "storage.sync is false but protocol paxos requires durable votes (a
 *    vote must be on disk before it leaves the replica): set sync: true, or
 *    allow unsafe storage for a benchmark".
 * Rules no config can reach yet (a partial-order protocol)
 * are exercised through glue_contract_compose() (contract.h). Returns
 * SMR_ECONTRACT. `allow_unsafe_storage` accepts sync: false and the memory
 * engine (benchmarks that measure the network path alone, tests). */
int glue_contract_check(const struct glue_config *c, bool allow_unsafe_storage,
                        char *err, size_t err_len);

/* Writes one sentence into `err` (may be NULL) and returns `rc`: how the
 * glue reports a refusal. */
int glue_say(int rc, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Looks up a replica by id; NULL when absent. */
const struct glue_replica_config *
glue_config_replica(const struct glue_config *c, smr_node_id id);

/* Additions (config.c, contract.c). */

/* A config file larger than this is refused before parsing. */
#define GLUE_CONFIG_BYTES_MAX (1u << 20)
/* Upper bound on every timeout, so timer arithmetic cannot overflow. */
#define GLUE_TIMEOUT_MS_MAX 3600000u
/* Bytes of storage_path kept free for the "/replica-<id>" suffix. */
#define GLUE_PATH_SUFFIX_BYTES 16

/* Like glue_config_load, from `len` bytes in memory (borrowed); `name`
 * stands for the file in messages. Used by glue_config_load and the fuzzer.
 * SMR_ECONFIG with a sentence, or SMR_ENOMEM. *out is untouched on error. */
int glue_config_load_data(const void *data, size_t len, const char *name,
                          struct glue_config *out, char *err, size_t err_len);

/* One line for `strata node` at start, e.g.
 *   "paxos (f=1 crash, n=3) → sequential executor → kv; storage rocksdb,
 *    fsync on"
 * An even replica count gets a note (n=4 tolerates no more crashes than
 * n=3). SMR_ECONFIG (and out = "") when the config does not pass
 * glue_config_check; SMR_ETOOBIG when the line was cut to fit out_len. */
int glue_contract_describe(const struct glue_config *c, char *out,
                           size_t out_len);

/* Fills a Multi-Paxos core config for replica `self` from the glue config
 * (the mapping glue_contract_check validates): defaults, then timeouts,
 * batch bounds and window; pending_max is raised to batch_max when below;
 * rng_seed differs per replica (derived from cluster_id and self) so that
 * election timeouts do not collide; a driver may reseed it. */
struct ord_paxos_config;
void glue_config_paxos(const struct glue_config *c, smr_node_id self,
                       struct ord_paxos_config *out);

#endif
