/*
 * contract.h: the modules the glue knows by name, what each one promises
 * and requires, and the rules that refuse a composition that cannot work
 * (ARCHITECTURE.md, "The contracts").
 *
 * Every module is one row of a table in contract.c; adding a protocol,
 * executor or app is one line there. glue_config_check() validates names
 * against these tables; glue_contract_check() turns a valid config into a
 * struct glue_composition (the facts) and runs the rules over it.
 * glue_contract_compose() is exposed so tests can exercise rules that no
 * config can reach yet (a partial-order protocol).
 */
#ifndef STRATA_GLUE_CONTRACT_H
#define STRATA_GLUE_CONTRACT_H

#include "config.h"
#include "ord.h"

enum glue_module_kind {
    GLUE_MODULE_PROTOCOL = 0,
    GLUE_MODULE_EXECUTOR = 1,
    GLUE_MODULE_APP = 2,
};

/* What an executor engine requires of its input and of its app. */
struct glue_executor_info {
    const char *name;
    bool needs_conflict_keys; /* runs commands in parallel by key sets */
    bool needs_total_order;   /* cannot consume a partial order */
};

/* What an app declares (mirrors exe_app_ops.has_conflict_keys). */
struct glue_app_info {
    const char *name;
    bool has_conflict_keys;
};

/* What the configured storage provides: a write is durable (survives a
 * crash once acknowledged) when the engine persists and sync is on. */
struct glue_storage_info {
    const char *engine;
    bool persistent; /* the engine writes to disk (rocksdb, not memory) */
    bool sync;       /* storage.sync as configured */
};

/* Every fact the rules look at. */
struct glue_composition {
    uint32_t n_replicas;
    struct ord_contract ord;
    struct glue_executor_info executor;
    struct glue_app_info app;
    struct glue_storage_info storage;
    /* Executors run as separate processes fed by a replica's Committed
     * stream (some replica has a stream endpoint). An embedded executor
     * shares its replica's fate and trust: under Byzantine faults it is
     * part of that replica, and clients vote over the replicas' replies. */
    bool separate_executors;
    /* How many replicas' streams a separate executor needs to carry an
     * entry before it applies it (config stream_quorum, or the protocol's
     * default: 1 under crash faults, f+1 under Byzantine ones). */
    uint32_t stream_quorum;
    /* A stage orders a partial-order stream totally before the executor
     * (no config sets it yet: no partial-order protocol exists). */
    bool linearized;
};

/* SMR_OK when `name` is a known module of `kind`; otherwise SMR_ECONFIG and
 * a sentence naming the field and listing what is known, e.g.
 * "protocol: unknown protocol 'raft' (known: paxos, pbft)". `name` may be any
 * NUL-terminated string (it is quoted, shortened and sanitized). */
int glue_module_check(enum glue_module_kind kind, const char *name, char *err,
                      size_t err_len);

/* Storage engine names <-> enum. _name returns NULL for an unknown value.
 * _parse returns SMR_ECONFIG with "storage.engine: unknown engine 'x'
 * (known: rocksdb, memory)". */
const char *glue_storage_engine_name(enum glue_storage_engine e);
int glue_storage_engine_parse(const char *name, enum glue_storage_engine *out,
                              char *err, size_t err_len);

/* Builds the facts from a config that passed glue_config_check(). Asks the
 * protocol module for its contract (which also validates the derived
 * protocol config: SMR_ECONTRACT with its sentence when it refuses).
 * SMR_ECONFIG when a name is unknown. */
int glue_composition_build(const struct glue_config *c,
                           struct glue_composition *out, char *err,
                           size_t err_len);

/* The stream quorum a separate executor uses for config `c` (which passed
 * glue_config_check); SMR_ECONFIG as glue_composition_build. */
int glue_stream_quorum(const struct glue_config *c, uint32_t *out, char *err,
                       size_t err_len);

/* Runs every composition rule in order; the first that refuses writes its
 * sentence and the call returns SMR_ECONTRACT. SMR_OK otherwise. */
int glue_contract_compose(const struct glue_composition *k,
                          bool allow_unsafe_storage, char *err, size_t err_len);

/* Copies `s` into `buf` for quoting in a message: at most 40 characters,
 * bytes outside printable ASCII replaced by '?', "..." when cut. Returns
 * buf. Shared by config.c and contract.c. */
const char *glue_quote(const char *s, char *buf, size_t len);

#endif
