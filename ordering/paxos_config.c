/*
 * paxos_config.c: defaults, validation and the contract of the Multi-Paxos
 * core (paxos.h).
 */
#include "paxos.h"

#include "ord_config.h"

void ord_paxos_config_defaults(struct ord_paxos_config *c)
{
    c->self = 0;
    c->n_replicas = 3;
    c->epoch = 1;
    c->election_timeout_ms = 300;
    c->heartbeat_ms = 50;
    c->batch_max = 512;
    c->batch_bytes_max = 1u << 20;
    c->window = 64;
    c->pending_max = 16384;
    c->rng_seed = 1;
}

int ord_paxos_config_check(const struct ord_paxos_config *c, char *err,
                           size_t err_len)
{
    if (c->n_replicas < 1 || c->n_replicas > SMR_NODES_MAX)
        ORD_REFUSE("replicas: Multi-Paxos needs 1 to %d replicas, got %u",
                   SMR_NODES_MAX, c->n_replicas);
    if (c->self >= c->n_replicas)
        ORD_REFUSE("id: replica id %u is not below the replica count %u",
                   c->self, c->n_replicas);
    if (c->heartbeat_ms == 0)
        ORD_REFUSE("heartbeat_ms: must be positive");
    if (c->election_timeout_ms < 2 * c->heartbeat_ms)
        ORD_REFUSE("election_timeout_ms: %llu must be at least twice "
                   "heartbeat_ms (%llu)",
                   (unsigned long long)c->election_timeout_ms,
                   (unsigned long long)c->heartbeat_ms);
    if (c->batch_max == 0 || c->batch_max > 65536)
        ORD_REFUSE("batch_max: must be 1 to 65536, got %u", c->batch_max);
    if (c->batch_bytes_max < 1024 || c->batch_bytes_max > SMR_BATCH_BYTES_MAX)
        ORD_REFUSE("batch_bytes_max: must be 1024 to %u, got %u",
                   SMR_BATCH_BYTES_MAX, c->batch_bytes_max);
    if (c->window == 0 || c->window > ORD_PAXOS_WINDOW_MAX / 4)
        ORD_REFUSE("window: must be 1 to %d, got %u", ORD_PAXOS_WINDOW_MAX / 4,
                   c->window);
    if (c->pending_max < c->batch_max)
        ORD_REFUSE("pending_max: %u is below batch_max %u", c->pending_max,
                   c->batch_max);
    return SMR_OK;
}

void ord_paxos_contract(const struct ord_paxos_config *c,
                        struct ord_contract *out)
{
    out->protocol = "paxos";
    out->faults_tolerated = (c->n_replicas - 1) / 2;
    out->replicas_required = 2 * out->faults_tolerated + 1;
    out->byzantine = false;
    out->needs_durable_storage = true;
    out->total_order = true;
    out->entry_bytes_max = c->batch_bytes_max;
}
