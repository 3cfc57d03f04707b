/*
 * pbft_view.c: view changes of the PBFT core (TOCS §4.5).
 *
 * A replica leaves view v when a request it holds has waited T without
 * committing (or f+1 replicas are already leaving): it makes the new view
 * durable and multicasts a signed VIEW-CHANGE holding its low watermark h,
 * the checkpoints it holds (C), the newest prepared certificate per seq
 * (P) and the pre-prepared digests per seq (Q), with the batches of P.
 *
 * The new primary runs the decision procedure of TOCS §4.5.2 over the
 * view changes it has (at least 2f+1) and, once it decides every seq,
 * multicasts a signed NEW-VIEW holding those view changes, the chosen
 * checkpoint and the value of every seq above it up to the highest P
 * entry (a null batch where nothing may have committed). A backup checks
 * every signature and recomputes the choice: a primary cannot pick a value
 * the procedure would not. Signatures replace the paper's view-change
 * acks; the procedure itself needs no prepare certificates, so PREPARE and
 * COMMIT stay MAC-authenticated.
 *
 * Decision procedure (h = chosen checkpoint, S = the view changes):
 *   checkpoint: the highest (n, d) in the C of f+1 messages of S such that
 *     2f+1 messages have h_i <= n;
 *   seq s in (h, h+L]: the value d of a P entry (s, d, v) in S such that
 *     A1. 2f+1 messages with h_i < s have no P entry for s from a view
 *         above v, nor one from v with another digest, and
 *     A2. f+1 messages have (s, d, v') in Q with v' >= v
 *   (highest v first, then the smaller digest); else null if
 *     B.  2f+1 messages with h_i < s have no P entry for s;
 *   else the primary waits for more view changes.
 * Timeouts double for each view change that does not lead to a view that
 * commits something new (§4.5.1), up to T << view_backoff_max.
 */
#include "pbft_internal.h"

#include <string.h>

/* -------------------------------------------------------------- checks */

static bool certs_sorted(const struct ord_pbft_cert *c, uint32_t n, smr_seq lo,
                         smr_seq hi, uint64_t below_view, bool per_seq_views)
{
    for (uint32_t i = 0; i < n; i++) {
        if (c[i].seq <= lo || c[i].seq > hi || c[i].view >= below_view)
            return false;
        if (i == 0)
            continue;
        if (c[i].seq < c[i - 1].seq)
            return false;
        if (c[i].seq == c[i - 1].seq &&
            (!per_seq_views || c[i].view >= c[i - 1].view))
            return false;
    }
    return true;
}

/* Structure, bodies (when asked) and signature of a VIEW-CHANGE. */
static bool vc_valid(struct ord_pbft *p, const struct ord_pbft_view_change *vc,
                     bool need_bodies)
{
    uint64_t k = p->cfg.checkpoint_interval, l = p->cfg.window;
    if (vc->from >= p->n || vc->view == 0 || vc->n_ckpts == 0 ||
        vc->n_ckpts > ORD_PBFT_CKPTS_MAX || !vc->ckpts || vc->n_prepared > l ||
        (vc->n_prepared && !vc->prepared) ||
        vc->n_preprepared > l * ORD_PBFT_Q_MAX ||
        (vc->n_preprepared && !vc->preprepared) || vc->stable % k != 0)
        return false;
    for (uint32_t i = 0; i < vc->n_ckpts; i++)
        if (vc->ckpts[i].seq % k != 0 || vc->ckpts[i].seq < vc->stable ||
            (i > 0 && vc->ckpts[i].seq <= vc->ckpts[i - 1].seq))
            return false;
    if (!certs_sorted(vc->prepared, vc->n_prepared, vc->stable, vc->stable + l,
                      vc->view, false) ||
        !certs_sorted(vc->preprepared, vc->n_preprepared, vc->stable,
                      vc->stable + l, vc->view, true))
        return false;
    if (need_bodies) {
        if (vc->n_prepared && !vc->bodies)
            return false;
        for (uint32_t i = 0; i < vc->n_prepared; i++) {
            const struct ord_pbft_entry *b = &vc->bodies[i];
            uint8_t d[PBFT_D];
            if (b->seq != vc->prepared[i].seq ||
                b->batch_len > p->cfg.batch_bytes_max ||
                (b->batch_len && !b->batch) ||
                smr_batch_validate(b->batch, b->batch_len) != SMR_OK)
                return false;
            ord_pbft_entry_digest(p->cfg.epoch, b->leader_time_ms, b->batch,
                                  b->batch_len, d);
            if (memcmp(d, vc->prepared[i].digest, PBFT_D) != 0)
                return false;
        }
    }
    uint8_t d[PBFT_D];
    pbft_vc_digest(&p->cfg, vc, d);
    if (!pbft_sig_check(p, vc->from, d, vc->sig)) {
        p->stats.bad_sig++;
        return false;
    }
    return true;
}

/* ------------------------------------------------- decision procedure */

static const struct ord_pbft_cert *find_p(const struct ord_pbft_view_change *vc,
                                          smr_seq seq)
{
    uint32_t lo = 0, hi = vc->n_prepared;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (vc->prepared[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vc->n_prepared && vc->prepared[lo].seq == seq
               ? &vc->prepared[lo]
               : NULL;
}

static bool q_has(const struct ord_pbft_view_change *vc, smr_seq seq,
                  const uint8_t digest[PBFT_D], uint64_t min_view)
{
    for (uint32_t i = 0; i < vc->n_preprepared; i++) {
        const struct ord_pbft_cert *c = &vc->preprepared[i];
        if (c->seq == seq && c->view >= min_view &&
            memcmp(c->digest, digest, PBFT_D) == 0)
            return true;
        if (c->seq > seq)
            break;
    }
    return false;
}

static bool has_ckpt(const struct ord_pbft_view_change *vc,
                     const struct ord_pbft_cert *c)
{
    for (uint32_t i = 0; i < vc->n_ckpts; i++)
        if (vc->ckpts[i].seq == c->seq &&
            memcmp(vc->ckpts[i].digest, c->digest, PBFT_D) == 0)
            return true;
    return false;
}

struct decision {
    struct ord_pbft_cert ckpt;
    uint32_t n;                   /* seqs ckpt.seq+1 .. ckpt.seq+n */
    struct ord_pbft_cert *chosen; /* arena, window long */
    int32_t *src_vc, *src_i;      /* where the body is; -1: null */
};

static bool choose_ckpt(const struct ord_pbft *p,
                        const struct ord_pbft_view_change *const *vcs,
                        uint32_t n_vcs, struct ord_pbft_cert *out)
{
    bool found = false;
    for (uint32_t i = 0; i < n_vcs; i++)
        for (uint32_t k = 0; k < vcs[i]->n_ckpts; k++) {
            const struct ord_pbft_cert *c = &vcs[i]->ckpts[k];
            if (found && (c->seq < out->seq ||
                          (c->seq == out->seq &&
                           memcmp(c->digest, out->digest, PBFT_D) >= 0)))
                continue;
            uint32_t claims = 0, low = 0;
            for (uint32_t j = 0; j < n_vcs; j++) {
                claims += has_ckpt(vcs[j], c);
                low += vcs[j]->stable <= c->seq;
            }
            if (claims >= p->f + 1 && low >= p->quorum) {
                *out = *c;
                out->view = 0;
                found = true;
            }
        }
    return found;
}

/* A1 and A2 for the P entry `pe` at seq s. */
static bool value_ok(const struct ord_pbft *p,
                     const struct ord_pbft_view_change *const *vcs,
                     uint32_t n_vcs, smr_seq s, const struct ord_pbft_cert *pe)
{
    uint32_t a1 = 0, a2 = 0;
    for (uint32_t k = 0; k < n_vcs; k++) {
        if (vcs[k]->stable < s) {
            const struct ord_pbft_cert *o = find_p(vcs[k], s);
            if (!o || o->view < pe->view ||
                (o->view == pe->view &&
                 memcmp(o->digest, pe->digest, PBFT_D) == 0))
                a1++;
        }
        a2 += q_has(vcs[k], s, pe->digest, pe->view);
    }
    return a1 >= p->quorum && a2 >= p->f + 1;
}

/* Runs the procedure. False when some seq cannot be decided yet. */
static bool decide(struct ord_pbft *p,
                   const struct ord_pbft_view_change *const *vcs,
                   uint32_t n_vcs, struct decision *d)
{
    uint64_t l = p->cfg.window;
    if (!choose_ckpt(p, vcs, n_vcs, &d->ckpt))
        return false;
    smr_seq h = d->ckpt.seq, top = h;
    for (uint32_t i = 0; i < n_vcs; i++)
        for (uint32_t k = 0; k < vcs[i]->n_prepared; k++) {
            smr_seq s = vcs[i]->prepared[k].seq;
            if (s > top && s <= h + l)
                top = s;
        }
    d->n = (uint32_t)(top - h);
    d->chosen = pbft_alloc(p, (d->n ? d->n : 1) * sizeof *d->chosen);
    d->src_vc = pbft_alloc(p, (d->n ? d->n : 1) * sizeof *d->src_vc);
    d->src_i = pbft_alloc(p, (d->n ? d->n : 1) * sizeof *d->src_i);
    uint8_t null_digest[PBFT_D];
    ord_pbft_entry_digest(p->cfg.epoch, 0, NULL, 0, null_digest);
    for (smr_seq s = h + 1; s <= top; s++) {
        uint32_t at = (uint32_t)(s - h - 1);
        const struct ord_pbft_cert *best = NULL;
        for (uint32_t i = 0; i < n_vcs; i++) {
            const struct ord_pbft_cert *pe = find_p(vcs[i], s);
            if (!pe ||
                (best && (pe->view < best->view ||
                          (pe->view == best->view &&
                           memcmp(pe->digest, best->digest, PBFT_D) >= 0))))
                continue;
            if (!value_ok(p, vcs, n_vcs, s, pe))
                continue;
            best = pe;
            d->src_vc[at] = (int32_t)i;
            d->src_i[at] = (int32_t)(pe - vcs[i]->prepared);
        }
        d->chosen[at].seq = s;
        d->chosen[at].view = 0;
        if (best) {
            memcpy(d->chosen[at].digest, best->digest, PBFT_D);
            continue;
        }
        uint32_t b = 0;
        for (uint32_t k = 0; k < n_vcs; k++)
            b += vcs[k]->stable < s && !find_p(vcs[k], s);
        if (b < p->quorum)
            return false;
        memcpy(d->chosen[at].digest, null_digest, PBFT_D);
        d->src_vc[at] = d->src_i[at] = -1;
    }
    return true;
}

/* ------------------------------------------------------- own messages */

/* Builds, signs, stores and multicasts our VIEW-CHANGE for p->view. */
static void send_view_change(struct ord_pbft *p)
{
    uint64_t l = p->cfg.window;
    struct ord_pbft_cert *c = pbft_alloc(p, ORD_PBFT_CKPTS_MAX * sizeof *c);
    struct ord_pbft_cert *pc = pbft_alloc(p, l * sizeof *pc);
    struct ord_pbft_cert *qc = pbft_alloc(p, l * ORD_PBFT_Q_MAX * sizeof *qc);
    struct ord_pbft_entry *bodies = pbft_alloc(p, l * sizeof *bodies);
    uint32_t nc = 0, np = 0, nq = 0;
    if (!pbft_own_ckpt(p, p->stable, NULL) || p->stable > p->mark_durable) {
        c[nc].seq = p->stable;
        c[nc].view = 0;
        memcpy(c[nc].digest, p->stable_digest, PBFT_D);
        nc++;
    }
    /* C: the stable checkpoint and our own durable ones above it (claims
     * a restart cannot take back). */
    for (uint32_t i = 0; i < p->n_own && nc < ORD_PBFT_CKPTS_MAX; i++)
        if (p->own[i].seq >= p->stable && p->own[i].seq <= p->mark_durable) {
            c[nc].seq = p->own[i].seq;
            c[nc].view = 0;
            memcpy(c[nc].digest, p->own[i].digest, PBFT_D);
            nc++;
        }
    for (smr_seq seq = p->stable + 1; seq <= p->stable + l; seq++) {
        const struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (!s)
            continue;
        if (s->has_p) {
            pc[np].seq = seq;
            pc[np].view = s->p_view;
            memcpy(pc[np].digest, s->p_digest, PBFT_D);
            bodies[np].seq = seq;
            bodies[np].leader_time_ms = s->p_time_ms;
            bodies[np].batch = s->p_batch.data;
            bodies[np].batch_len = (uint32_t)s->p_batch.len;
            np++;
        }
        for (uint32_t i = 0; i < s->n_q; i++) {
            qc[nq].seq = seq;
            qc[nq].view = s->q[i].view;
            memcpy(qc[nq].digest, s->q[i].digest, PBFT_D);
            nq++;
        }
    }
    struct ord_pbft_view_change vc = {
        .from = p->cfg.self,
        .view = p->view,
        .stable = p->stable,
        .n_ckpts = nc,
        .ckpts = c,
        .n_prepared = np,
        .prepared = pc,
        .n_preprepared = nq,
        .preprepared = qc,
        .bodies = bodies,
    };
    ord_pbft_sign_view_change(p, &vc);
    struct pbft_peer *me = &p->peers[p->cfg.self];
    pbft_defer_free(p, me->vc);
    me->vc = pbft_vc_dup(&vc, true);
    if (!me->vc)
        abort();
    pbft_vc_digest(&p->cfg, me->vc, me->vc_digest);
    p->my_vc_stable = p->stable;
    p->my_vc_ckpt = p->mark_durable;
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_VIEW_CHANGE);
    m->vc = me->vc;
    pbft_send_signed(p, ORD_TO_ALL, p->view_lsn, m);
}

/* Frees the view changes of views below p->view (or up to it, `upto`). */
static void drop_vcs(struct ord_pbft *p, bool upto)
{
    for (smr_node_id j = 0; j < p->n; j++) {
        struct pbft_peer *q = &p->peers[j];
        if (q->vc &&
            (q->vc->view < p->view || (upto && q->vc->view == p->view))) {
            pbft_defer_free(p, q->vc);
            q->vc = NULL;
        }
    }
}

static void try_new_view(struct ord_pbft *p);

void pbft_start_view_change(struct ord_pbft *p, uint64_t view)
{
    if (view <= p->view)
        return;
    if (p->mode == PBFT_ACTIVE && pbft_primary_of(p, p->view) == p->cfg.self)
        pbft_requeue(p);
    if (!p->progressed && p->backoff < 64)
        p->backoff++;
    p->view = view;
    p->mode = PBFT_CHANGING;
    p->view_since_ms = p->now_ms;
    p->progressed = false;
    p->stats.view_changes++;
    pbft_defer_free(p, p->nv);
    p->nv = NULL;
    pbft_persist_view(p);
    drop_vcs(p, false);
    send_view_change(p);
    p->view_timer_armed = false;
    pbft_arm_view_timer(p);
    try_new_view(p);
}

void pbft_resume_view_change(struct ord_pbft *p)
{
    send_view_change(p);
    p->view_timer_armed = false;
    pbft_arm_view_timer(p);
}

void pbft_send_new_view_to(struct ord_pbft *p, smr_node_id to)
{
    if (!p->nv || to == p->cfg.self)
        return;
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_NEW_VIEW);
    m->view = p->nv->view;
    m->nv = p->nv;
    pbft_send_signed(p, to, 0, m);
}

/* The NEW-VIEW of the current view is kept durably (state
 * ORD_PBFT_STATE_NEW_VIEW), not only in memory: a replica that was down or
 * behind when the view changed, or stuck in an older view, can install the
 * view only from it (it is what proves the new primary's choice), and if
 * every replica that held it restarted, nobody could send it any more: the
 * lagging replica would stay in its old view for good. Written before the
 * records of the chosen values, so anything sent after them implies it. */
static smr_lsn persist_new_view(struct ord_pbft *p)
{
    if (pbft_nv_encode(p->nv, &p->scratch) != SMR_OK)
        abort(); /* bounded: a window of batches */
    uint8_t *rec = pbft_alloc(p, p->scratch.len);
    memcpy(rec, p->scratch.data, p->scratch.len);
    return pbft_persist_state(p, ORD_PBFT_STATE_NEW_VIEW, rec,
                              (uint32_t)p->scratch.len);
}

/* ------------------------------------------------------- entering a view */

static void enter_view(struct ord_pbft *p, uint64_t view)
{
    bool fresh = view != p->view || p->mode != PBFT_ACTIVE;
    if (p->mode == PBFT_ACTIVE && pbft_primary_of(p, p->view) == p->cfg.self &&
        view != p->view)
        pbft_requeue(p);
    if (fresh) {
        /* Where this replica stopped as the primary of an older view says
         * nothing about this one: a stale next_seq would leave seqs that no
         * pre-prepare of this view fills, and nothing after them could
         * commit (sim seed 188, separate executors). install_chosen raises
         * it past the NEW-VIEW's values; this view's reservation (rule 3)
         * past whatever this replica may have sent in it before a crash. */
        p->next_seq = p->stable + 1;
        if (p->reserve_view == view && p->reserve_upto >= p->next_seq)
            p->next_seq = p->reserve_upto + 1;
    }
    p->view = view;
    p->mode = PBFT_ACTIVE;
    p->view_since_ms = p->now_ms;
    p->progressed = false;
    pbft_persist_view(p);
    drop_vcs(p, true);
    pbft_defer_free(p, p->nv);
    p->nv = NULL;
    p->view_timer_armed = false;
}

/* Installs the chosen values of a NEW-VIEW as pre-prepares of the view.
 * Returns the highest LSN written. */
static smr_lsn install_chosen(struct ord_pbft *p,
                              const struct ord_pbft_new_view *nv)
{
    smr_lsn top = p->view_lsn;
    bool primary = pbft_primary_of(p, p->view) == p->cfg.self;
    for (uint32_t i = 0; i < nv->n_chosen; i++) {
        const struct ord_pbft_cert *c = &nv->chosen[i];
        const struct ord_pbft_entry *b = &nv->bodies[i];
        if (c->seq <= p->stable)
            continue;
        struct pbft_slot *s = pbft_slot_at(p, c->seq);
        if (!s)
            continue; /* beyond memory: catch-up brings it */
        if (s->committed && memcmp(s->c_digest, c->digest, PBFT_D) != 0) {
            p->stats.conflicts++;
            continue;
        }
        if (s->has_pp && s->pp_view >= p->view)
            continue;
        smr_lsn lsn =
            pbft_install_preprepare(p, s, p->view, c->digest, b->leader_time_ms,
                                    b->batch, b->batch_len, NULL, 0);
        if (lsn > top)
            top = lsn;
        if (!primary)
            pbft_accept_preprepare_as_backup(p, s);
    }
    smr_seq last = nv->ckpt.seq + nv->n_chosen;
    if (p->next_seq <= last)
        p->next_seq = last + 1;
    return top;
}

static void after_new_view(struct ord_pbft *p)
{
    pbft_forward_pending(p);
    pbft_arm_view_timer(p);
}

static void try_new_view(struct ord_pbft *p)
{
    if (p->mode != PBFT_CHANGING || pbft_primary_of(p, p->view) != p->cfg.self)
        return;
    const struct ord_pbft_view_change *set[SMR_NODES_MAX];
    uint32_t k = 0;
    for (smr_node_id j = 0; j < p->n; j++)
        if (p->peers[j].vc && p->peers[j].vc->view == p->view)
            set[k++] = p->peers[j].vc;
    if (k < p->quorum)
        return;
    struct decision d;
    if (!decide(p, set, k, &d))
        return; /* wait for more view changes */
    struct ord_pbft_view_change *vcs = pbft_alloc(p, k * sizeof *vcs);
    for (uint32_t i = 0; i < k; i++) {
        vcs[i] = *set[i];
        vcs[i].bodies = NULL;
    }
    struct ord_pbft_entry *bodies =
        pbft_alloc(p, (d.n ? d.n : 1) * sizeof *bodies);
    for (uint32_t i = 0; i < d.n; i++) {
        if (d.src_vc[i] < 0)
            bodies[i] = (struct ord_pbft_entry){d.chosen[i].seq, 0, NULL, 0};
        else
            bodies[i] = set[d.src_vc[i]]->bodies[d.src_i[i]];
    }
    struct ord_pbft_new_view nv = {
        .from = p->cfg.self,
        .view = p->view,
        .n_vcs = k,
        .vcs = vcs,
        .ckpt = d.ckpt,
        .n_chosen = d.n,
        .chosen = d.chosen,
        .bodies = bodies,
    };
    ord_pbft_sign_new_view(p, &nv);
    struct ord_pbft_new_view *own = pbft_nv_dup(&nv);
    if (!own)
        abort();
    enter_view(p, p->view); /* frees the view changes `set` points to */
    p->nv = own;
    smr_lsn nv_lsn = persist_new_view(p);
    if (own->ckpt.seq > p->stable)
        pbft_set_stable(p, own->ckpt.seq, own->ckpt.digest);
    smr_lsn after = install_chosen(p, own);
    if (nv_lsn > after)
        after = nv_lsn;
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_NEW_VIEW);
    m->nv = own;
    pbft_send_signed(p, ORD_TO_ALL, after, m);
    after_new_view(p);
}

/* ------------------------------------------------------- message handlers */

/* f+1 replicas are leaving for views above ours: join the highest view
 * that f+1 of them have reached (TOCS §4.5.1 liveness rule). */
static void maybe_join(struct ord_pbft *p)
{
    uint64_t views[SMR_NODES_MAX];
    uint32_t n = 0;
    for (smr_node_id j = 0; j < p->n; j++)
        if (j != p->cfg.self && p->peers[j].vc &&
            p->peers[j].vc->view > p->view)
            views[n++] = p->peers[j].vc->view;
    if (n < p->f + 1)
        return;
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = a + 1; b < n; b++)
            if (views[b] > views[a]) {
                uint64_t t = views[a];
                views[a] = views[b];
                views[b] = t;
            }
    pbft_start_view_change(p, views[p->f]);
}

void pbft_on_view_change(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    const struct ord_pbft_view_change *vc = m->vc;
    if (vc->from >= p->n) {
        p->stats.invalid++;
        return;
    }
    if (vc->from == p->cfg.self)
        return;
    if (vc->view < p->view || (vc->view == p->view && p->mode == PBFT_ACTIVE)) {
        /* Its author is behind: our NEW-VIEW brings it here. */
        if (m->from == vc->from)
            pbft_send_new_view_to(p, vc->from);
        return;
    }
    struct pbft_peer *q = &p->peers[vc->from];
    uint8_t d[PBFT_D];
    if (vc->view > p->peer_view[vc->from] && vc_valid(p, vc, false))
        p->peer_view[vc->from] = vc->view;
    pbft_vc_digest(&p->cfg, vc, d);
    if (q->vc &&
        (q->vc->view > vc->view ||
         (q->vc->view == vc->view && memcmp(q->vc_digest, d, PBFT_D) == 0)))
        return; /* older, or the one we hold */
    if (!vc_valid(p, vc, true)) {
        p->stats.invalid++;
        return;
    }
    struct ord_pbft_view_change *copy = pbft_vc_dup(vc, true);
    if (!copy)
        abort();
    pbft_defer_free(p, q->vc);
    q->vc = copy;
    memcpy(q->vc_digest, d, PBFT_D);
    maybe_join(p);
    try_new_view(p);
}

/* Checks a NEW-VIEW; false (counted) when it must be refused. */
static bool nv_valid(struct ord_pbft *p, const struct ord_pbft_new_view *nv)
{
    if (nv->from != pbft_primary_of(p, nv->view) || nv->n_vcs < p->quorum ||
        nv->n_vcs > p->n || !nv->vcs || nv->n_chosen > p->cfg.window ||
        (nv->n_chosen && (!nv->chosen || !nv->bodies)) ||
        nv->ckpt.seq % p->cfg.checkpoint_interval != 0) {
        p->stats.invalid++;
        return false;
    }
    uint8_t d[PBFT_D];
    pbft_nv_digest(&p->cfg, nv, d);
    if (!pbft_sig_check(p, nv->from, d, nv->sig)) {
        p->stats.bad_sig++;
        return false;
    }
    const struct ord_pbft_view_change *set[SMR_NODES_MAX];
    uint32_t authors = 0;
    for (uint32_t i = 0; i < nv->n_vcs; i++) {
        const struct ord_pbft_view_change *vc = &nv->vcs[i];
        if (vc->view != nv->view || vc->from >= p->n ||
            (authors & (1u << vc->from)) || !vc_valid(p, vc, false)) {
            p->stats.bad_new_view++;
            return false;
        }
        authors |= 1u << vc->from;
        set[i] = vc;
    }
    for (uint32_t i = 0; i < nv->n_chosen; i++) {
        const struct ord_pbft_entry *b = &nv->bodies[i];
        if (nv->chosen[i].seq != nv->ckpt.seq + 1 + i ||
            b->seq != nv->chosen[i].seq ||
            b->batch_len > p->cfg.batch_bytes_max ||
            (b->batch_len && !b->batch) ||
            smr_batch_validate(b->batch, b->batch_len) != SMR_OK) {
            p->stats.bad_new_view++;
            return false;
        }
        ord_pbft_entry_digest(p->cfg.epoch, b->leader_time_ms, b->batch,
                              b->batch_len, d);
        if (memcmp(d, nv->chosen[i].digest, PBFT_D) != 0) {
            p->stats.bad_new_view++;
            return false;
        }
    }
    if (ord_pbft_mutant == ORD_PBFT_MUTANT_TRUST_NEW_VIEW)
        return true; /* deliberate bug: the primary's choice is not checked */
    struct decision dec;
    bool same = decide(p, set, nv->n_vcs, &dec) &&
                dec.ckpt.seq == nv->ckpt.seq &&
                memcmp(dec.ckpt.digest, nv->ckpt.digest, PBFT_D) == 0 &&
                dec.n == nv->n_chosen;
    for (uint32_t i = 0; same && i < dec.n; i++)
        same = memcmp(dec.chosen[i].digest, nv->chosen[i].digest, PBFT_D) == 0;
    if (!same)
        p->stats.bad_new_view++;
    return same;
}

void pbft_on_new_view(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    const struct ord_pbft_new_view *nv = m->nv;
    if (nv->view < p->view || (nv->view == p->view && p->mode == PBFT_ACTIVE) ||
        nv->from == p->cfg.self)
        return;
    if (!nv_valid(p, nv))
        return;
    struct ord_pbft_new_view *own = pbft_nv_dup(nv);
    if (!own)
        abort();
    enter_view(p, nv->view);
    p->nv = own;
    persist_new_view(p);
    if (own->ckpt.seq > p->stable)
        pbft_set_stable(p, own->ckpt.seq, own->ckpt.digest);
    install_chosen(p, own);
    after_new_view(p);
}

/* ------------------------------------------------------------ timers */

void pbft_view_status_tick(struct ord_pbft *p)
{
    const struct pbft_peer *me = &p->peers[p->cfg.self];
    if (!me->vc || p->my_vc_stable != p->stable ||
        p->my_vc_ckpt != p->mark_durable) {
        send_view_change(p); /* catch-up moved h or C: say so */
    } else {
        struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_VIEW_CHANGE);
        m->vc = me->vc;
        pbft_send_signed(p, ORD_TO_ALL, p->view_lsn, m);
    }
    try_new_view(p);
}

/* The new-view timer of a CHANGING replica expired. With 2f+1 replicas
 * known to be at this view or beyond (their view changes, or their status)
 * the primary had its chance: next view, twice the wait. With fewer, keep
 * waiting (a lone replica must not race ahead). Counting a status as well
 * as view changes matters when a NEW-VIEW is lost for good (nobody who
 * held it still does after restarts): the replicas active in the view
 * cannot forward it, and only moving on ends the wait. */
void pbft_on_view_timer(struct ord_pbft *p)
{
    uint32_t in = 1;
    for (smr_node_id j = 0; j < p->n; j++)
        if (j != p->cfg.self &&
            ((p->peers[j].vc && p->peers[j].vc->view >= p->view) ||
             p->peer_view[j] >= p->view))
            in++;
    if (in >= p->quorum) {
        pbft_start_view_change(p, p->view + 1);
        return;
    }
    pbft_arm_view_timer(p);
}

/* ------------------------------------------------------------ recovery */

/* The record's bytes are untrusted: they must decode and pass every check a
 * received NEW-VIEW passes (signatures, the recomputed choice), else the
 * record is refused. */
int pbft_recover_new_view(struct ord_pbft *p, const uint8_t *data, size_t len)
{
    struct ord_pbft_new_view *nv = NULL;
    int rc = pbft_nv_decode(data, len, &nv);
    if (rc != SMR_OK)
        return rc;
    /* decide() allocates from the step arena; recovery runs before any
     * step, so reset it around the check. */
    ord_arena_reset(&p->arena);
    bool ok = nv->view > 0 && nv_valid(p, nv);
    ord_arena_reset(&p->arena);
    if (!ok) {
        free(nv);
        return SMR_ECORRUPT;
    }
    free(p->nv);
    p->nv = nv;
    if (nv->view > p->view_floor)
        p->view_floor = nv->view; /* it had installed that view */
    return SMR_OK;
}

/* After a restart in the recovered NEW-VIEW's view: values it chose whose
 * records a crash lost are installed again (the same values in the same
 * view, so nothing said before is contradicted). */
void pbft_resume_new_view(struct ord_pbft *p)
{
    if (!p->nv)
        return;
    if (p->nv->view != p->view || p->mode != PBFT_ACTIVE) {
        free(p->nv);
        p->nv = NULL;
        return;
    }
    install_chosen(p, p->nv);
}
