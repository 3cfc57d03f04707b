/*
 * pbft_core.c: the PBFT core (pbft.h) behind struct ord_core_ops
 * (ord_core.h), so the replica driver runs it as it runs Multi-Paxos. Each
 * member casts `core` back to struct ord_pbft and calls the function of the
 * same name; nothing here changes the protocol.
 */
#include "ord_core.h"
#include "pbft_internal.h"

static const char *const pbft_state_keys[] = {
    ORD_PBFT_STATE_VIEW,
    ORD_PBFT_STATE_COMMIT,
    ORD_PBFT_STATE_RESERVE,
    ORD_PBFT_STATE_NEW_VIEW,
    ORD_PBFT_STATE_SNAP,
    NULL,
};

static void pbft_core_destroy(void **core)
{
    if (!core)
        return;
    struct ord_pbft *p = *core;
    ord_pbft_destroy(&p);
    *core = NULL;
}

static int pbft_core_recover_state(void *core, const char *key,
                                   const uint8_t *data, size_t len)
{
    return ord_pbft_recover_state(core, key, data, len);
}

static smr_seq pbft_core_recover_log_from(const void *core)
{
    return ord_pbft_recover_log_from(core);
}

static int pbft_core_recover_log(void *core, smr_seq index, const uint8_t *data,
                                 size_t len)
{
    return ord_pbft_recover_log(core, index, data, len);
}

static smr_seq pbft_core_recovered_commit(const void *core)
{
    return ord_pbft_recovered_commit(core);
}

static int pbft_core_start(void *core, uint64_t now_ms,
                           const struct ord_output **outs, size_t *n_outs)
{
    return ord_pbft_start(core, now_ms, outs, n_outs);
}

static int pbft_core_step(void *core, uint64_t now_ms,
                          const struct ord_event *ev,
                          const struct ord_output **outs, size_t *n_outs)
{
    return ord_pbft_step(core, now_ms, ev, outs, n_outs);
}

static bool pbft_core_is_leader(const void *core)
{
    return ord_pbft_is_primary(core);
}

static smr_node_id pbft_core_leader_hint(const void *core)
{
    return ord_pbft_primary(core);
}

static smr_seq pbft_core_commit_upto(const void *core)
{
    return ord_pbft_commit_upto(core);
}

static uint64_t pbft_core_view(const void *core)
{
    return ord_pbft_view(core);
}

/* Every message the core refused: failed authentication, malformed or out
 * of range, contradictions, bad new views, unauthenticated requests. */
static uint64_t pbft_core_dropped(const void *core)
{
    struct ord_pbft_stats st;
    ord_pbft_get_stats(core, &st);
    return st.bad_mac + st.bad_sig + st.invalid + st.conflicts +
           st.bad_new_view + st.unauthenticated_requests;
}

static int pbft_core_record_decode(const void *core, const uint8_t *data,
                                   size_t len, smr_seq seq,
                                   struct smr_committed *out)
{
    const struct ord_pbft *p = core;
    struct ord_pbft_entry e;
    int rc = ord_pbft_record_committed(data, len, seq, &e);
    if (rc != SMR_OK)
        return rc;
    *out = (struct smr_committed){seq, p->cfg.epoch, e.leader_time_ms, e.batch,
                                  e.batch_len};
    return SMR_OK;
}

const struct ord_core_ops ord_pbft_core_ops = {
    .version = ORD_CORE_OPS_VERSION,
    .protocol = "pbft",
    .state_keys = pbft_state_keys,
    .destroy = pbft_core_destroy,
    .recover_state = pbft_core_recover_state,
    .recover_log_from = pbft_core_recover_log_from,
    .recover_log = pbft_core_recover_log,
    .recovered_commit = pbft_core_recovered_commit,
    .start = pbft_core_start,
    .step = pbft_core_step,
    .is_leader = pbft_core_is_leader,
    .leader_hint = pbft_core_leader_hint,
    .commit_upto = pbft_core_commit_upto,
    .view = pbft_core_view,
    .dropped_messages = pbft_core_dropped,
    .record_decode = pbft_core_record_decode,
};
