/*
 * pbft_sync.c: what keeps PBFT replicas together besides the three phases
 * (TOCS §4.3 checkpoints, §5.2-§5.3 retransmission and state transfer):
 *  - checkpoints: every K seqs the chain digest of the committed log,
 *    announced once the commit mark covering it is durable; stable with
 *    2f+1 matching (ours included); they move the low watermark;
 *  - the commit mark (state "pbft/commit"): the newest checkpoint all of
 *    whose records are durable, with the stable checkpoint;
 *  - catch-up: below a checkpoint known correct (stable, or claimed by f+1)
 *    and inside memory, values from one source, chained and checked against
 *    its digest; otherwise values that f+1 replicas report alike. A replica
 *    further behind than memory first makes its peers' newest checkpoint
 *    stable (2f+1 matching claims, kept per peer beyond the claims table),
 *    which moves its memory window along as it catches up;
 *  - status: every status_ms a replica reports its view, low watermark and
 *    commit point; a peer answers with what the reporter lacks (NEW-VIEW,
 *    committed values, checkpoints, its own votes of the current view).
 */
#include "pbft_internal.h"

#include <string.h>

/* ------------------------------------------------------ checkpoints */

void pbft_own_push(struct ord_pbft *p, smr_seq seq,
                   const uint8_t digest[PBFT_D])
{
    if (p->n_own && p->own[p->n_own - 1].seq >= seq)
        return;
    if (p->n_own == PBFT_OWN_CKPTS) {
        memmove(p->own, p->own + 1, (PBFT_OWN_CKPTS - 1) * sizeof p->own[0]);
        p->n_own--;
    }
    p->own[p->n_own].seq = seq;
    memcpy(p->own[p->n_own].digest, digest, PBFT_D);
    p->n_own++;
}

bool pbft_own_ckpt(const struct ord_pbft *p, smr_seq seq,
                   uint8_t digest[PBFT_D])
{
    for (uint32_t i = 0; i < p->n_own; i++)
        if (p->own[i].seq == seq) {
            if (digest)
                memcpy(digest, p->own[i].digest, PBFT_D);
            return true;
        }
    return false;
}

static struct pbft_claims *claims_for(struct ord_pbft *p, smr_seq seq,
                                      bool create)
{
    for (uint32_t i = 0; i < PBFT_CLAIMS; i++)
        if (p->claims[i].seq == seq)
            return &p->claims[i];
    if (!create || seq <= p->stable ||
        seq > p->stable + (uint64_t)PBFT_CLAIMS * p->cfg.checkpoint_interval)
        return NULL;
    for (uint32_t i = 0; i < PBFT_CLAIMS; i++)
        if (p->claims[i].seq <= p->stable) {
            memset(&p->claims[i], 0, sizeof p->claims[i]);
            p->claims[i].seq = seq;
            return &p->claims[i];
        }
    return NULL;
}

void pbft_set_stable(struct ord_pbft *p, smr_seq seq,
                     const uint8_t digest[PBFT_D])
{
    if (seq <= p->stable)
        return;
    uint8_t own[PBFT_D];
    if (pbft_own_ckpt(p, seq, own) && memcmp(own, digest, PBFT_D) != 0) {
        p->stats.diverged++; /* our log differs from a quorum's */
        return;
    }
    p->stable = seq;
    memcpy(p->stable_digest, digest, PBFT_D);
    for (uint32_t i = 0; i < PBFT_CLAIMS; i++)
        if (p->claims[i].seq <= seq)
            memset(&p->claims[i], 0, sizeof p->claims[i]);
    if (seq > p->catchup_target)
        p->catchup_target = seq;
    pbft_write_mark(p);
    pbft_propose(p, false);
}

/* Stable once 2f+1 replicas (ourselves included) report one digest. */
void pbft_check_stable(struct ord_pbft *p, smr_seq seq)
{
    struct pbft_claims *c = claims_for(p, seq, false);
    uint8_t own[PBFT_D];
    bool have_own = seq <= p->mark_durable && pbft_own_ckpt(p, seq, own);
    for (smr_node_id j = 0; j <= p->n; j++) {
        const uint8_t *d;
        if (j == p->n)
            d = have_own ? own : NULL;
        else
            d = c && (c->mask & (1u << j)) ? c->d[j] : NULL;
        if (!d)
            continue;
        uint32_t n = c ? pbft_count_votes(p, c->mask, c->d, d, p->cfg.self) : 0;
        if (have_own && memcmp(own, d, PBFT_D) == 0)
            n++;
        if (n >= p->quorum) {
            pbft_set_stable(p, seq, d);
            return;
        }
    }
}

static void send_checkpoint(struct ord_pbft *p, smr_node_id to,
                            smr_lsn after_lsn, const struct pbft_ckpt *k)
{
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_CHECKPOINT);
    m->view = 0;
    m->seq = k->seq;
    memcpy(m->digest, k->digest, PBFT_D);
    pbft_send(p, to, after_lsn, m);
}

/* A checkpoint is announced (and counted as our own claim) only once the
 * commit mark covering it is durable: a CHECKPOINT says "I hold the log to
 * here", and a replica must never take that back by crashing, or the
 * stable checkpoints other replicas based on its claim lose their quorum
 * (pbft_write_mark sends it, on_persisted counts it). */
void pbft_take_checkpoint(struct ord_pbft *p)
{
    pbft_own_push(p, p->commit_upto, p->chain);
    if (p->commit_upto == p->stable &&
        memcmp(p->stable_digest, p->chain, PBFT_D) != 0)
        p->stats.diverged++;
}

/* A claim beyond the claims table's reach (more than PBFT_CLAIMS
 * checkpoints above the stable one): a replica that lags that far learns
 * its peers' newest checkpoints here, and one that 2f+1 replicas claim
 * alike becomes stable as any other (TOCS §4.3: a stable checkpoint needs
 * 2f+1 matching claims, wherever it lies). Moving the low watermark there
 * is what frees the memory window below it, so catch-up can go on window
 * by window however far behind the replica is. Each peer has a row of its
 * newest claims: a faulty one can only fill its own. */
static void far_claim(struct ord_pbft *p, smr_node_id from, smr_seq seq,
                      const uint8_t digest[PBFT_D])
{
    struct pbft_ckpt *row = p->far[from];
    uint32_t at = PBFT_FAR_CLAIMS;
    for (uint32_t i = 0; i < PBFT_FAR_CLAIMS; i++) {
        if (row[i].seq == seq) {
            if (memcmp(row[i].digest, digest, PBFT_D) != 0)
                p->stats.conflicts++; /* keeps the first */
            return;
        }
        if (at == PBFT_FAR_CLAIMS || row[i].seq < row[at].seq)
            at = i; /* the lowest (or an unused one) is replaced */
    }
    if (row[at].seq > p->stable && row[at].seq > seq)
        return; /* older than every claim kept */
    row[at].seq = seq;
    memcpy(row[at].digest, digest, PBFT_D);
    uint32_t n = 0;
    for (smr_node_id j = 0; j < p->n; j++)
        for (uint32_t i = 0; j != p->cfg.self && i < PBFT_FAR_CLAIMS; i++)
            if (p->far[j][i].seq == seq &&
                memcmp(p->far[j][i].digest, digest, PBFT_D) == 0)
                n++;
    uint8_t own[PBFT_D];
    if (seq <= p->mark_durable && pbft_own_ckpt(p, seq, own) &&
        memcmp(own, digest, PBFT_D) == 0)
        n++;
    if (n >= p->quorum)
        pbft_set_stable(p, seq, digest);
}

void pbft_on_checkpoint(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    if (m->seq == 0 || m->seq % p->cfg.checkpoint_interval != 0) {
        p->stats.invalid++;
        return;
    }
    if (m->seq >
        p->stable + (uint64_t)PBFT_CLAIMS * p->cfg.checkpoint_interval) {
        far_claim(p, m->from, m->seq, m->digest);
        return;
    }
    struct pbft_claims *c = claims_for(p, m->seq, true);
    if (!c)
        return;
    uint32_t bit = 1u << m->from;
    if (c->mask & bit) {
        if (memcmp(c->d[m->from], m->digest, PBFT_D) != 0)
            p->stats.conflicts++;
        return;
    }
    c->mask |= bit;
    memcpy(c->d[m->from], m->digest, PBFT_D);
    pbft_check_stable(p, m->seq);
}

/* --------------------------------------------------- committed stream */

static void advance_durable(struct ord_pbft *p)
{
    for (;;) {
        const struct pbft_slot *s = pbft_slot_peek(p, p->durable_commit + 1);
        if (!s || !s->committed || s->lsn > p->durable_lsn ||
            s->seq > p->commit_upto)
            break;
        p->durable_commit++;
    }
}

/* The commit mark: the newest own checkpoint whose entries are all durable
 * (so recovery finds every record it replays), written together with the
 * stable checkpoint (so recovery restores the low watermark, and with it
 * the P and Q information above it, rather than claim its own commit point
 * as stable). */
void pbft_write_mark(struct ord_pbft *p)
{
    advance_durable(p);
    smr_seq mark = p->mark;
    const uint8_t *digest = p->mark_digest;
    for (uint32_t i = p->n_own; i-- > 0;) {
        const struct pbft_ckpt *k = &p->own[i];
        if (k->seq <= p->mark)
            break;
        if (k->seq <= p->durable_commit) {
            mark = k->seq;
            digest = k->digest;
            break;
        }
    }
    if (mark == p->mark && p->stable == p->stable_written)
        return;
    uint8_t *rec = pbft_alloc(p, PBFT_MARK_RECORD_BYTES);
    pbft_mark_record_encode(rec, mark, digest, p->stable, p->stable_digest);
    smr_seq prev = p->mark;
    p->mark = mark;
    memcpy(p->mark_digest, digest, PBFT_D);
    p->stable_written = p->stable;
    p->mark_lsn = pbft_persist_state(p, ORD_PBFT_STATE_COMMIT, rec,
                                     PBFT_MARK_RECORD_BYTES);
    for (uint32_t j = 0; j < p->n_own; j++)
        if (p->own[j].seq > prev && p->own[j].seq <= p->mark &&
            p->own[j].seq > p->stable)
            send_checkpoint(p, ORD_TO_ALL, p->mark_lsn, &p->own[j]);
}

/* ------------------------------------------------------------ catch-up */

static void commit_learned(struct ord_pbft *p, struct pbft_slot *s,
                           const uint8_t d[PBFT_D],
                           const struct ord_pbft_entry *e)
{
    s->committed = true;
    s->cu_value = true;
    s->cu_tentative = false;
    memcpy(s->c_digest, d, PBFT_D);
    if (e) {
        s->c_time_ms = e->leader_time_ms;
        pbft_set_buf(&s->c_batch, e->batch, e->batch_len);
    }
    pbft_persist_slot(p, s);
}

static void send_status(struct ord_pbft *p, smr_node_id to)
{
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_STATUS);
    m->active = p->mode == PBFT_ACTIVE;
    m->stable = p->stable;
    m->commit_upto = p->commit_upto;
    m->log_from = p->log_from;
    m->snap = p->snap;
    if (p->cu_src != ORD_TO_ALL && p->cu_upto > p->commit_upto)
        m->seq = p->cu_upto + 1; /* the source continues from there */
    pbft_send(p, to, 0, m);
}

/* Drops the tentative values (a source that lied, stalled, or a commit
 * point that moved). */
void pbft_chain_reset(struct ord_pbft *p)
{
    for (smr_seq seq = p->commit_upto + 1; seq <= p->cu_upto; seq++) {
        struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (s && s->cu_tentative) {
            s->cu_tentative = false;
            smr_buf_reset(&s->c_batch);
        }
    }
    p->cu_src = ORD_TO_ALL;
    p->cu_upto = p->commit_upto;
    memcpy(p->cu_chain, p->chain, PBFT_D);
}

static bool entry_ok(const struct ord_pbft_entry *e)
{
    return e->batch_len <= SMR_BATCH_BYTES_MAX && (e->batch || !e->batch_len) &&
           smr_batch_validate(e->batch, e->batch_len) == SMR_OK;
}

/* The checkpoint a chained catch-up aims at: the stable one when we are
 * below it, else the lowest above our commit point that f+1 replicas
 * claim with one digest (so at least one correct replica holds the log to
 * there). False when none is within the memory window. */
static bool chain_target(const struct ord_pbft *p, smr_seq *seq,
                         uint8_t digest[PBFT_D])
{
    if (p->stable > p->commit_upto) {
        memcpy(digest, p->stable_digest, PBFT_D);
        *seq = p->stable;
        return p->stable < p->base + PBFT_CAP;
    }
    *seq = 0;
    for (uint32_t i = 0; i < PBFT_CLAIMS; i++) {
        const struct pbft_claims *c = &p->claims[i];
        if (c->seq <= p->commit_upto || c->seq >= p->base + PBFT_CAP ||
            (*seq && c->seq >= *seq))
            continue;
        for (smr_node_id j = 0; j < p->n; j++)
            if ((c->mask & (1u << j)) &&
                pbft_count_votes(p, c->mask, c->d, c->d[j], ORD_TO_ALL) >=
                    p->f + 1) {
                *seq = c->seq;
                memcpy(digest, c->d[j], PBFT_D);
                break;
            }
    }
    return *seq != 0;
}

/* Below a checkpoint known correct one source suffices: its values are
 * chained from our commit point and committed only if the chain reaches
 * the checkpoint's digest (TOCS §5.3 state transfer, applied to the log). */
static void chain_catchup(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    if (p->cu_src != ORD_TO_ALL &&
        (p->cu_upto < p->commit_upto || p->cu_target <= p->commit_upto))
        pbft_chain_reset(p);
    if (p->cu_src == ORD_TO_ALL) {
        if ((p->cu_bad & (1u << m->from)) ||
            !chain_target(p, &p->cu_target, p->cu_target_digest))
            return;
        p->cu_src = m->from;
        p->cu_upto = p->commit_upto;
        memcpy(p->cu_chain, p->chain, PBFT_D);
    }
    if (m->from != p->cu_src)
        return;
    smr_seq before = p->cu_upto;
    for (uint32_t i = 0; i < m->n_entries && p->cu_upto < p->cu_target; i++) {
        const struct ord_pbft_entry *e = &m->entries[i];
        if (e->seq != p->cu_upto + 1)
            continue;
        if (!entry_ok(e)) {
            p->stats.invalid++;
            return;
        }
        struct pbft_slot *s = pbft_slot_at(p, e->seq);
        uint8_t d[PBFT_D];
        if (s->committed) {
            memcpy(d, s->c_digest, PBFT_D);
        } else {
            ord_pbft_entry_digest(p->cfg.epoch, e->leader_time_ms, e->batch,
                                  e->batch_len, d);
            s->cu_tentative = true;
            memcpy(s->c_digest, d, PBFT_D);
            s->c_time_ms = e->leader_time_ms;
            pbft_set_buf(&s->c_batch, e->batch, e->batch_len);
        }
        pbft_chain_next(p->cu_chain, e->seq, d);
        p->cu_upto++;
    }
    if (p->cu_upto == before)
        return;
    p->cu_since_ms = p->now_ms;
    if (p->cu_upto < p->cu_target) {
        send_status(p, m->from); /* the next part, at once */
        return;
    }
    if (memcmp(p->cu_chain, p->cu_target_digest, PBFT_D) != 0) {
        p->stats.conflicts++; /* the source sent values nobody committed */
        p->cu_bad |= 1u << p->cu_src;
        pbft_chain_reset(p);
        return;
    }
    for (smr_seq seq = p->commit_upto + 1; seq <= p->cu_target; seq++) {
        struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (!s->committed)
            commit_learned(p, s, s->c_digest, NULL);
    }
    p->cu_src = ORD_TO_ALL;
    p->cu_bad = 0;
    pbft_deliver(p);
}

/* A committed value counts once f+1 distinct replicas report it. */
void pbft_on_catchup(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    smr_seq t;
    uint8_t d[PBFT_D];
    if (p->cu_src != ORD_TO_ALL || chain_target(p, &t, d)) {
        chain_catchup(p, m);
        return;
    }
    smr_seq before = p->commit_upto;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct ord_pbft_entry *e = &m->entries[i];
        if (!entry_ok(e)) {
            p->stats.invalid++;
            return;
        }
        if (e->seq <= p->commit_upto)
            continue;
        struct pbft_slot *s = pbft_slot_at(p, e->seq);
        if (!s || s->committed)
            continue;
        uint8_t d[PBFT_D];
        ord_pbft_entry_digest(p->cfg.epoch, e->leader_time_ms, e->batch,
                              e->batch_len, d);
        if (!pbft_record_vote(p, &s->cu_mask, s->cu_d, m->from, d, NULL))
            continue;
        if (pbft_count_votes(p, s->cu_mask, s->cu_d, d, ORD_TO_ALL) >= p->f + 1)
            commit_learned(p, s, d, e);
    }
    pbft_deliver(p);
    /* Ask for the next part at once, from everyone: f+1 of them must send
     * it, and a replica far behind would otherwise move one part per
     * status period, slower than a loaded cluster commits. */
    if (p->commit_upto > before && p->commit_upto < p->catchup_target)
        send_status(p, ORD_TO_ALL);
}

/* Sends `to` committed entries from `from` on: from memory, or through the
 * driver (FETCH) for those already freed. */
static void serve_catchup(struct ord_pbft *p, smr_node_id to, smr_seq from)
{
    smr_seq last = p->commit_upto;
    if (from == 0 || from > last)
        return;
    if (last - from >= 4 * ORD_PBFT_ENTRIES_MAX)
        last = from + 4 * ORD_PBFT_ENTRIES_MAX - 1;
    if (from < p->base) {
        if (from < p->log_from)
            return; /* truncated: its STATUS says so, and it fetches state */
        struct ord_output *o = pbft_out_push(p, ORD_OUT_FETCH);
        o->u.fetch.to = to;
        o->u.fetch.from_seq = from;
        o->u.fetch.to_seq = last < p->base ? last : p->base - 1;
        from = p->base;
    }
    while (from <= last) {
        uint32_t n = 0;
        size_t bytes = 0;
        struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_CATCHUP);
        struct ord_pbft_entry *e =
            pbft_alloc(p, ORD_PBFT_ENTRIES_MAX * sizeof *e);
        while (from + n <= last && n < ORD_PBFT_ENTRIES_MAX &&
               bytes < SMR_FRAME_BYTES_MAX / 2) {
            const struct pbft_slot *s = pbft_slot_peek(p, from + n);
            PBFT_INVARIANT(s && s->committed);
            pbft_committed_entry(s, &e[n]);
            bytes += e[n].batch_len + 64;
            n++;
        }
        m->entries = e;
        m->n_entries = n;
        m->commit_upto = p->commit_upto;
        pbft_send(p, to, 0, m);
        from += n;
    }
}

/* -------------------------------------------------- status, retransmission */

/* Our own messages of view `view` for the seqs a stuck peer in that view
 * may lack. Only what we said already is said again (each after the record
 * behind it), so this holds after we moved on to a later view too: a
 * retransmission is not a new vote, and a peer still in the older view may
 * need it to complete a quorum. */
static void resend_votes(struct ord_pbft *p, smr_node_id to, smr_seq from,
                         uint64_t view)
{
    bool primary = pbft_primary_of(p, view) == p->cfg.self;
    if (from < p->stable)
        from = p->stable;
    for (smr_seq seq = from + 1; seq <= p->stable + p->cfg.window; seq++) {
        struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (!s || !s->has_pp)
            continue;
        /* Pre-prepares of a NEW-VIEW carry no client tags: the peer gets
         * those from the NEW-VIEW itself. */
        uint32_t count = smr_batch_count(s->pp_batch.data, s->pp_batch.len);
        if (s->pp_view == view && primary &&
            s->pp_auth.len >= (size_t)count * p->n * ORD_PBFT_MAC_BYTES) {
            struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_PRE_PREPARE);
            m->view = view;
            m->seq = seq;
            memcpy(m->digest, s->pp_digest, PBFT_D);
            m->leader_time_ms = s->pp_time_ms;
            m->batch = s->pp_batch.data;
            m->batch_len = (uint32_t)s->pp_batch.len;
            m->req_auth = s->pp_auth.data;
            m->req_auth_len = (uint32_t)s->pp_auth.len;
            pbft_send(p, to, s->lsn, m);
        } else if (s->pp_view == view && !primary) {
            struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_PREPARE);
            m->view = view;
            m->seq = seq;
            memcpy(m->digest, s->pp_digest, PBFT_D);
            pbft_send(p, to, s->lsn, m);
        }
        if (s->has_p && s->p_view == view) {
            struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_COMMIT);
            m->view = view;
            m->seq = seq;
            memcpy(m->digest, s->p_digest, PBFT_D);
            pbft_send(p, to, s->lsn, m);
        }
    }
}

static void note_peer_commit(struct ord_pbft *p, smr_node_id j, smr_seq c)
{
    p->peer_commit[j] = c;
    /* The (f+1)-th highest commit point among the others: at least one
     * correct replica has committed that far. */
    smr_seq top[SMR_NODES_MAX];
    uint32_t n = 0;
    for (smr_node_id i = 0; i < p->n; i++)
        if (i != p->cfg.self)
            top[n++] = p->peer_commit[i];
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = a + 1; b < n; b++)
            if (top[b] > top[a]) {
                smr_seq t = top[a];
                top[a] = top[b];
                top[b] = t;
            }
    if (p->f < n && top[p->f] > p->catchup_target)
        p->catchup_target = top[p->f];
}

void pbft_on_status(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    smr_node_id j = m->from;
    struct pbft_peer *q = &p->peers[j];
    note_peer_commit(p, j, m->commit_upto);
    if (m->view > p->peer_view[j])
        p->peer_view[j] = m->view;
    bool stuck = m->commit_upto == q->last_commit;
    q->last_commit = m->commit_upto;
    q->log_from = m->log_from;
    q->snap = m->snap;
    pbft_maybe_fetch_state(p);
    smr_seq asked = m->seq > m->commit_upto ? m->seq : m->commit_upto;
    if (p->now_ms - q->served_ms < p->cfg.status_ms / 2 &&
        asked == q->served_commit && m->view == q->served_view)
        return; /* answered lately: a peer cannot make us flood */
    q->served_ms = p->now_ms;
    q->served_commit = asked;
    q->served_view = m->view;
    if (p->mode == PBFT_ACTIVE && p->view > 0 &&
        (m->view < p->view || (m->view == p->view && !m->active)))
        pbft_send_new_view_to(p, j);
    smr_seq want = m->seq > m->commit_upto ? m->seq : m->commit_upto + 1;
    if (want <= p->commit_upto)
        serve_catchup(p, j, want);
    for (uint32_t i = 0; i < p->n_own; i++)
        if (p->own[i].seq > m->stable && p->own[i].seq > 0 &&
            p->own[i].seq <= p->mark_durable)
            send_checkpoint(p, j, 0, &p->own[i]);
    if (m->active && m->view <= p->view && stuck)
        resend_votes(p, j, m->commit_upto, m->view);
}

void pbft_on_status_timer(struct ord_pbft *p)
{
    if (p->cu_src != ORD_TO_ALL &&
        p->now_ms - p->cu_since_ms > 4 * p->cfg.status_ms) {
        p->cu_bad |= 1u << p->cu_src; /* stalled: try another source */
        pbft_chain_reset(p);
    }
    if ((p->cu_bad | 1u << p->cfg.self) == (1u << p->n) - 1)
        p->cu_bad = 0; /* every source failed once: try them again */
    send_status(p, ORD_TO_ALL);
    pbft_maybe_fetch_state(p);
    if (p->mode == PBFT_CHANGING)
        pbft_view_status_tick(p);
    pbft_write_mark(p);
    pbft_set_timer(p, ORD_PBFT_TIMER_STATUS, ++p->status_gen, p->cfg.status_ms);
}
