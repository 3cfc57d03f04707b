/*
 * pbft_state.c: log truncation and state transfer (TOCS §5.3, with whole
 * executor snapshots in place of the paper's partition tree).
 *
 * Only with config.state_transfer, which a driver sets when it holds its
 * executor's snapshots and can fetch and install one (pbft.h):
 *  - claims: the driver reports each durable executor snapshot
 *    (ORD_EV_CHECKPOINT: seq, BLAKE2b of its bytes); paired with our own
 *    chain digest at that seq it is our snapshot claim, written to state
 *    "pbft/snap" and announced in every STATUS. Execution is
 *    deterministic, so correct replicas claim alike;
 *  - truncation: once the claim, the commit mark and the stable checkpoint
 *    are durable, the log below the lowest of them, less log_retain seqs,
 *    is not needed by recovery (the core replays from the mark, the
 *    executor from its snapshot), and what peers may still catch up from
 *    is the log_retain seqs kept;
 *  - transfer: a replica that a peer's truncation cuts off (the peer's
 *    first log seq lies above our commit point + 1) asks its driver for
 *    the newest snapshot that f+1 replicas claim alike (so a correct one is
 *    among them) at or below our stable checkpoint. The driver fetches the
 *    bytes from those replicas, checks them against the claimed digest,
 *    installs them durably and reports ORD_EV_STATE_INSTALLED; we jump our
 *    commit point there with the claimed chain digest, and catch up the
 *    rest from the log.
 */
#include "pbft_internal.h"

#include <string.h>

/* Status periods a fetch may take before the core asks again (perhaps
 * for a newer snapshot). The driver retries sources within one ask. */
#define STATE_RETRY_PERIODS 40

static void write_snap(struct ord_pbft *p)
{
    uint8_t *rec = pbft_alloc(p, PBFT_SNAP_RECORD_BYTES);
    pbft_snap_record_encode(rec, &p->snap, p->log_from);
    p->snap_lsn = pbft_persist_state(p, ORD_PBFT_STATE_SNAP, rec,
                                     PBFT_SNAP_RECORD_BYTES);
}

/* A snapshot seq we hold no chain digest for (not a checkpoint seq, or
 * one older than the own checkpoints kept) makes no claim: the next one
 * will. */
void pbft_on_exec_checkpoint(struct ord_pbft *p, smr_seq seq,
                             const uint8_t digest[PBFT_D])
{
    uint8_t chain[PBFT_D];
    if (!p->cfg.state_transfer || seq <= p->snap.seq ||
        seq > p->commit_upto || !pbft_own_ckpt(p, seq, chain))
        return;
    p->snap.seq = seq;
    memcpy(p->snap.chain, chain, PBFT_D);
    memcpy(p->snap.digest, digest, PBFT_D);
    write_snap(p);
}

void pbft_maybe_truncate(struct ord_pbft *p)
{
    if (!p->cfg.state_transfer)
        return;
    smr_seq top = p->snap_durable;
    if (p->stable_durable < top)
        top = p->stable_durable;
    if (p->mark_durable < top)
        top = p->mark_durable;
    if (top < p->cfg.log_retain)
        return;
    smr_seq below = top - p->cfg.log_retain + 1;
    if (below <= p->log_from)
        return;
    p->log_from = below;
    struct ord_output *o = pbft_out_push(p, ORD_OUT_TRUNCATE);
    o->u.truncate.below = below;
    p->stats.truncations++;
}

static bool snap_eq(const struct ord_pbft_snap *a,
                    const struct ord_pbft_snap *b)
{
    return a->seq == b->seq && memcmp(a->chain, b->chain, PBFT_D) == 0 &&
           memcmp(a->digest, b->digest, PBFT_D) == 0;
}

/* The newest claim above our commit point and at or below our stable
 * checkpoint that f+1 peers make alike; its holders in *mask. */
static const struct ord_pbft_snap *vouched_snap(const struct ord_pbft *p,
                                                uint32_t *mask)
{
    const struct ord_pbft_snap *best = NULL;
    for (smr_node_id j = 0; j < p->n; j++) {
        const struct ord_pbft_snap *c = &p->peers[j].snap;
        if (j == p->cfg.self || c->seq <= p->commit_upto ||
            c->seq > p->stable || (best && c->seq <= best->seq))
            continue;
        if (c->seq == p->stable &&
            memcmp(c->chain, p->stable_digest, PBFT_D) != 0)
            continue; /* contradicts 2f+1 checkpoint claims */
        uint32_t holders = 0, count = 0;
        for (smr_node_id k = 0; k < p->n; k++)
            if (k != p->cfg.self && snap_eq(&p->peers[k].snap, c)) {
                holders |= 1u << k;
                count++;
            }
        uint32_t need = ord_pbft_mutant == ORD_PBFT_MUTANT_TRUST_ONE_SNAPSHOT
                            ? 1
                            : p->f + 1;
        if (count >= need) {
            best = c;
            *mask = holders;
        }
    }
    return best;
}

void pbft_maybe_fetch_state(struct ord_pbft *p)
{
    if (!p->cfg.state_transfer)
        return;
    if (p->st_seq > p->commit_upto &&
        p->now_ms - p->st_since_ms <
            STATE_RETRY_PERIODS * (p->cfg.status_ms ? p->cfg.status_ms : 1))
        return; /* the driver is at it */
    bool cut_off = false;
    for (smr_node_id j = 0; j < p->n; j++)
        if (j != p->cfg.self && p->peers[j].log_from > p->commit_upto + 1)
            cut_off = true;
    uint32_t mask = 0;
    const struct ord_pbft_snap *c = cut_off ? vouched_snap(p, &mask) : NULL;
    if (!c)
        return; /* an earlier ask stays valid: its install is still taken */
    p->st_seq = c->seq;
    memcpy(p->st_chain, c->chain, PBFT_D);
    memcpy(p->st_digest, c->digest, PBFT_D);
    p->st_since_ms = p->now_ms;
    struct ord_output *o = pbft_out_push(p, ORD_OUT_FETCH_STATE);
    o->u.fetch_state.seq = c->seq;
    memcpy(o->u.fetch_state.digest, c->digest, PBFT_D);
    o->u.fetch_state.sources = mask;
    p->stats.state_fetches++;
}

/* The driver installed the snapshot at st_seq (its bytes matched the
 * claimed digest) and made it durable. Everything up to there is
 * committed, with the claimed chain digest; the slots below go, and the
 * commit mark moves there (recovery then restores the snapshot and
 * replays nothing below it). */
void pbft_on_state_installed(struct ord_pbft *p, smr_seq seq)
{
    if (!p->st_seq || seq != p->st_seq || seq <= p->commit_upto ||
        seq > p->stable)
        return;
    for (size_t i = 0; i < PBFT_CAP; i++)
        if (p->slots[i].seq && p->slots[i].seq <= seq)
            pbft_slot_free(&p->slots[i]);
    p->base = seq + 1;
    if (p->max_seq < seq)
        p->max_seq = seq;
    if (p->next_seq <= seq)
        p->next_seq = seq + 1;
    p->commit_upto = p->durable_commit = seq;
    memcpy(p->chain, p->st_chain, PBFT_D);
    pbft_own_push(p, seq, p->st_chain);
    pbft_chain_reset(p);

    p->mark = seq;
    memcpy(p->mark_digest, p->st_chain, PBFT_D);
    p->stable_written = p->stable;
    uint8_t *rec = pbft_alloc(p, PBFT_MARK_RECORD_BYTES);
    pbft_mark_record_encode(rec, seq, p->st_chain, p->stable,
                            p->stable_digest);
    p->mark_lsn = pbft_persist_state(p, ORD_PBFT_STATE_COMMIT, rec,
                                     PBFT_MARK_RECORD_BYTES);
    p->snap.seq = seq;
    memcpy(p->snap.chain, p->st_chain, PBFT_D);
    memcpy(p->snap.digest, p->st_digest, PBFT_D);
    p->log_from = seq + 1; /* we hold nothing below: it was never ours */
    write_snap(p);

    /* Requests waiting here may have been committed in what was skipped:
     * left pending, their deadline would start a view change that only
     * this replica wants. Those that were not come again (clients
     * retransmit to every replica). */
    pbft_drop_pending(p);
    p->st_seq = 0;
    p->stats.states_installed++;
    pbft_deliver(p);
}
