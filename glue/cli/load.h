/*
 * load.h: a closed-loop load generator: N clients in one thread, each with
 * one request outstanding, recording per-request latency. Used by
 * `strata bench` and `strata demo`.
 *
 * History mode (load_new_opts with `history` set, `strata bench
 * --history`): every session issues a random mix of get, put, cas and del
 * over the key space, every value it writes unique ("s<session>-<n>"), and
 * each event goes to the history file in the JSON Lines format of `strata
 * lincheck` (glue/lincheck.h), client = session index: the invoke just
 * before the request is sent, its completion when the reply arrives, so
 * the file is in real-time order. A request with no reply within
 * `timeout_ms` is abandoned (glue_client_abandon) and recorded as info; the
 * session moves on to a new request.
 */
#ifndef STRATA_CLI_LOAD_H
#define STRATA_CLI_LOAD_H

#include <stdint.h>

#include "config.h"

struct load;

struct load_stats {
    uint64_t ops;
    uint64_t errors;
    uint64_t timeouts; /* history mode: requests abandoned (info) */
    double p50_ms, p99_ms, p999_ms;
};

struct load_opts {
    uint32_t clients;      /* sessions */
    uint32_t conns;        /* connections they are multiplexed over */
    uint32_t keys;         /* distinct keys */
    uint32_t value_bytes;  /* plain mode: bytes per put */
    uint32_t get_permille; /* plain mode: share of gets */
    const char *history;   /* NULL: plain mode; else the history file */
    uint64_t timeout_ms;   /* history mode: per request (0: 5000) */
    const char *key_prefix; /* NULL: "key-" */
};

/* `clients` closed-loop sessions multiplexed over `conns` connections
 * (each one DEALER socket per replica); `keys` distinct keys; every request
 * is a put of `value_bytes` bytes, except that `get_permille` of them are
 * gets. */
int load_new(const struct glue_config *cfg, uint32_t clients, uint32_t conns,
             uint32_t keys, uint32_t value_bytes, uint32_t get_permille,
             struct load **out);
/* The same with every option, history mode included. SMR_EIO when the
 * history file cannot be created (it is truncated when it exists). */
int load_new_opts(const struct glue_config *cfg, const struct load_opts *o,
                  struct load **out);
/* Flushes and closes the history (if any; a no-op after the first
 * call): SMR_EIO when a write failed. Sessions still outstanding stay
 * invokes without completion (lincheck counts them as info). */
int load_close_history(struct load *l);
/* Closes the history as above, then frees everything. */
void load_destroy(struct load **l);
/* Drives the clients for `ms` milliseconds, or until load_request_stop(). */
void load_run(struct load *l, uint64_t ms);
/* History mode: submits nothing new and drives the clients until every
 * outstanding request completed or was abandoned (at most the timeout). */
void load_drain(struct load *l);
/* Async-signal-safe: makes load_run return early (e.g. on SIGTERM). */
void load_request_stop(void);
/* Statistics since the last reset (latencies of completed requests). */
void load_stats(struct load *l, struct load_stats *out);
void load_reset(struct load *l);
uint64_t load_now_us(void);

#endif
