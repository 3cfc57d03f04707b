/*
 * config.h: the cluster configuration (YAML, schema-checked with libcyaml)
 * and the composition check that refuses what cannot work.
 *
 * Example (configs/paxos-3.yaml):
 *
 *   cluster_id: 1
 *   protocol: paxos            # paxos (pbft later)
 *   executor: sequential       # sequential (parallel later)
 *   app: kv
 *   replicas:
 *     - id: 0
 *       peer: tcp://127.0.0.1:7100     # replica-to-replica messages
 *       client: tcp://127.0.0.1:7200   # client requests, replies, status
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
 *   session_ttl_ms: 3600000    # client sessions expire by log time
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
};

struct glue_config {
    uint64_t cluster_id;
    char protocol[32];
    char executor[32];
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
    uint64_t session_ttl_ms;
};

/* Fills every default (no replicas, empty path). */
void glue_config_defaults(struct glue_config *c);

/* Loads and validates a YAML file. On failure returns SMR_ECONFIG (or
 * SMR_EIO when the file cannot be read) and writes one sentence into `err`
 * naming the file and the field, e.g.
 *   "configs/x.yaml: replicas[1].peer: endpoint must start with tcp:// or
 *    ipc://". */
int glue_config_load(const char *path, struct glue_config *out, char *err,
                     size_t err_len);

/* Validates a config filled in code (glue_config_load calls it too):
 * replica ids 0..n-1 each exactly once, endpoints well-formed and distinct,
 * known protocol/executor/app/engine names, positive timeouts, election
 * timeout at least twice the heartbeat, bounds on batch and window. */
int glue_config_check(const struct glue_config *c, char *err, size_t err_len);

/* The composition check: builds each module's contract from the config and
 * refuses a composition that cannot work, with a sentence naming the clash
 * (e.g. "protocol paxos tolerates f=1 crash faults and needs 3 replicas, but
 * the config has 2", "storage.sync is false but protocol paxos requires
 * durable votes", "executor parallel needs conflict keys but app kv declares
 * none"). Returns SMR_ECONTRACT. `allow_unsafe_storage` accepts sync: false
 * (benchmarks that measure the network path alone). */
int glue_contract_check(const struct glue_config *c, bool allow_unsafe_storage,
                        char *err, size_t err_len);

/* Looks up a replica by id; NULL when absent. */
const struct glue_replica_config *glue_config_replica(const struct glue_config *c,
                                                      smr_node_id id);

#endif
