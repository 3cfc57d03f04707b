/*
 * pbft_config.c: defaults, validation and the contract of the PBFT core
 * (pbft.h).
 */
#include "pbft.h"

#include "ord_config.h"
#include <string.h>

void ord_pbft_config_defaults(struct ord_pbft_config *c)
{
    memset(c, 0, sizeof *c);
    c->self = 0;
    c->n_replicas = 4;
    c->cluster_id = 1;
    c->epoch = 1;
    c->checkpoint_interval = 16;
    c->window = 64;
    c->batch_max = 256;
    c->batch_bytes_max = 64u << 10;
    c->pending_max = 4096;
    c->view_timeout_ms = 1000;
    c->view_backoff_max = 6;
    c->status_ms = 100;
    c->clock_skew_max_ms = 10000;
}

int ord_pbft_config_check(const struct ord_pbft_config *c, char *err,
                          size_t err_len)
{
    if (c->n_replicas < 1 || c->n_replicas > SMR_NODES_MAX ||
        (c->n_replicas - 1) % 3 != 0)
        ORD_REFUSE("replicas: PBFT needs n = 3f+1 replicas (1, 4, 7, 10, 13 or "
                   "16), got %u",
                   c->n_replicas);
    if (c->self >= c->n_replicas)
        ORD_REFUSE("id: replica id %u is not below the replica count %u",
                   c->self, c->n_replicas);
    uint32_t k = c->checkpoint_interval;
    if (k == 0 || k > ORD_PBFT_CAP / 16)
        ORD_REFUSE("checkpoint_interval: must be 1 to %d, got %u",
                   ORD_PBFT_CAP / 16, k);
    if (c->window < 2 * k || c->window % k != 0 || c->window > ORD_PBFT_CAP / 4)
        ORD_REFUSE("window: must be a multiple of checkpoint_interval (%u), at "
                   "least twice it and at most %d, got %u",
                   k, ORD_PBFT_CAP / 4, c->window);
    if (c->batch_max == 0 || c->batch_max > 65536)
        ORD_REFUSE("batch_max: must be 1 to 65536, got %u", c->batch_max);
    if (c->batch_bytes_max < 1024 || c->batch_bytes_max > SMR_BATCH_BYTES_MAX)
        ORD_REFUSE("batch_bytes_max: must be 1024 to %u, got %u",
                   SMR_BATCH_BYTES_MAX, c->batch_bytes_max);
    /* A NEW-VIEW carries every chosen batch of the window in one frame. */
    if ((uint64_t)c->window * c->batch_bytes_max > SMR_FRAME_BYTES_MAX / 2)
        ORD_REFUSE("window x batch_bytes_max: %llu bytes would not fit a "
                   "NEW-VIEW frame (at most %u)",
                   (unsigned long long)c->window * c->batch_bytes_max,
                   SMR_FRAME_BYTES_MAX / 2);
    if (c->pending_max < c->batch_max)
        ORD_REFUSE("pending_max: %u is below batch_max %u", c->pending_max,
                   c->batch_max);
    if (c->status_ms == 0)
        ORD_REFUSE("status_ms: must be positive");
    if (c->view_timeout_ms < 2 * c->status_ms)
        ORD_REFUSE("view_timeout_ms: %llu must be at least twice status_ms "
                   "(%llu)",
                   (unsigned long long)c->view_timeout_ms,
                   (unsigned long long)c->status_ms);
    if (c->view_backoff_max > 16)
        ORD_REFUSE("view_backoff_max: must be at most 16, got %u",
                   c->view_backoff_max);
    return SMR_OK;
}

void ord_pbft_contract(const struct ord_pbft_config *c,
                       struct ord_contract *out)
{
    out->protocol = "pbft";
    out->faults_tolerated = (c->n_replicas - 1) / 3;
    out->replicas_required = 3 * out->faults_tolerated + 1;
    out->byzantine = true;
    out->needs_durable_storage = true;
    out->total_order = true;
    out->entry_bytes_max = c->batch_bytes_max;
}
