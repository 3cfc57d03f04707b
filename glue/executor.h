/*
 * executor.h: a separate executor process following one replica's
 * Committed stream (stream.c describes the protocol).
 *
 * It restores its last snapshot (kept in its own store, <storage.path>/
 * executor-<replica>), subscribes from its cursor with a bounded credit,
 * applies each entry in order through the same engine an embedded executor
 * uses, and sends every reply back to the replica, which routes it to the
 * client. Every checkpoint_interval entries it snapshots durably and sends
 * CHECKPOINT{seq, digest}.
 */
#ifndef STRATA_GLUE_EXECUTOR_H
#define STRATA_GLUE_EXECUTOR_H

#include "config.h"

struct glue_executor;

/* Creates the executor for `replica`, whose config entry must name a
 * stream endpoint (SMR_ECONFIG otherwise). Runs the same checks as
 * glue_node_new first:
 * glue_config_check (SMR_ECONFIG) and glue_contract_check (SMR_ECONTRACT;
 * `allow_unsafe_storage` accepts sync: false or memory storage). Creates
 * <storage.path>/executor-<replica> and its parents (SMR_EIO when it
 * cannot); each refusal above writes a sentence into `err`. `cfg` is
 * copied; on success *out is the caller's: glue_executor_destroy(). */
int glue_executor_new(const struct glue_config *cfg, smr_node_id replica,
                      bool allow_unsafe_storage, struct glue_executor **out,
                      char *err, size_t err_len);
/* Runs until glue_executor_stop(); SMR_OK after a requested stop. */
int glue_executor_run(struct glue_executor *x);
void glue_executor_stop(struct glue_executor *x);
void glue_executor_destroy(struct glue_executor **x);
smr_seq glue_executor_executed(const struct glue_executor *x);

#endif
