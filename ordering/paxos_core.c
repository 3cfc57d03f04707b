/*
 * paxos_core.c: the Multi-Paxos core (paxos.h) behind struct ord_core_ops
 * (ord_core.h). Each member casts `core` back to struct ord_paxos and calls
 * the function of the same name; nothing here changes the protocol.
 */
#include "ord_core.h"
#include "paxos.h"

static const char *const paxos_state_keys[] = {
    ORD_PAXOS_STATE_PROMISE,
    ORD_PAXOS_STATE_COMMIT,
    NULL,
};

static void paxos_destroy(void **core)
{
    if (!core)
        return;
    struct ord_paxos *p = *core;
    ord_paxos_destroy(&p);
    *core = NULL;
}

static int paxos_recover_state(void *core, const char *key, const uint8_t *data,
                               size_t len)
{
    return ord_paxos_recover_state(core, key, data, len);
}

static smr_seq paxos_recover_log_from(const void *core)
{
    return ord_paxos_recover_log_from(core);
}

static int paxos_recover_log(void *core, smr_seq index, const uint8_t *data,
                             size_t len)
{
    return ord_paxos_recover_log(core, index, data, len);
}

static smr_seq paxos_recovered_commit(const void *core)
{
    return ord_paxos_recovered_commit(core);
}

static int paxos_start(void *core, uint64_t now_ms,
                       const struct ord_output **outs, size_t *n_outs)
{
    return ord_paxos_start(core, now_ms, outs, n_outs);
}

static int paxos_step(void *core, uint64_t now_ms, const struct ord_event *ev,
                      const struct ord_output **outs, size_t *n_outs)
{
    return ord_paxos_step(core, now_ms, ev, outs, n_outs);
}

static bool paxos_is_leader(const void *core)
{
    return ord_paxos_is_leader(core);
}

static smr_node_id paxos_leader_hint(const void *core)
{
    return ord_paxos_leader_hint(core);
}

static smr_seq paxos_commit_upto(const void *core)
{
    return ord_paxos_commit_upto(core);
}

static uint64_t paxos_view(const void *core)
{
    return ord_paxos_ballot(core);
}

static uint64_t paxos_dropped(const void *core)
{
    return ord_paxos_dropped_messages(core);
}

static int paxos_record_decode(const void *core, const uint8_t *data,
                               size_t len, smr_seq seq,
                               struct smr_committed *out)
{
    (void)core; /* the record holds the whole entry */
    struct ord_paxos_entry e;
    int rc = ord_paxos_record_decode(data, len, seq, &e);
    if (rc != SMR_OK)
        return rc;
    *out = (struct smr_committed){seq, e.epoch, e.leader_time_ms, e.batch,
                                  e.batch_len};
    return SMR_OK;
}

const struct ord_core_ops ord_paxos_core_ops = {
    .version = ORD_CORE_OPS_VERSION,
    .protocol = "paxos",
    .state_keys = paxos_state_keys,
    .destroy = paxos_destroy,
    .recover_state = paxos_recover_state,
    .recover_log_from = paxos_recover_log_from,
    .recover_log = paxos_recover_log,
    .recovered_commit = paxos_recovered_commit,
    .start = paxos_start,
    .step = paxos_step,
    .is_leader = paxos_is_leader,
    .leader_hint = paxos_leader_hint,
    .commit_upto = paxos_commit_upto,
    .view = paxos_view,
    .dropped_messages = paxos_dropped,
    .record_decode = paxos_record_decode,
};
