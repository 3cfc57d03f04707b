/*
 * load.h: a closed-loop load generator: N clients in one thread, each with
 * one request outstanding, recording per-request latency. Used by
 * `strata bench` and `strata demo`.
 */
#ifndef STRATA_CLI_LOAD_H
#define STRATA_CLI_LOAD_H

#include <stdint.h>

#include "config.h"

struct load;

struct load_stats {
    uint64_t ops;
    uint64_t errors;
    double p50_ms, p99_ms, p999_ms;
};

/* `clients` closed-loop sessions multiplexed over `conns` connections
 * (each one DEALER socket per replica); `keys` distinct keys; every request
 * is a put of `value_bytes` bytes, except that `get_permille` of them are
 * gets. */
int load_new(const struct glue_config *cfg, uint32_t clients, uint32_t conns,
             uint32_t keys, uint32_t value_bytes, uint32_t get_permille,
             struct load **out);
void load_destroy(struct load **l);
/* Drives the clients for `ms` milliseconds. */
void load_run(struct load *l, uint64_t ms);
/* Statistics since the last reset (latencies of completed requests). */
void load_stats(struct load *l, struct load_stats *out);
void load_reset(struct load *l);
uint64_t load_now_us(void);

#endif
