/*
 * pbft.c: the PBFT core's three phases (TOCS §4.2): pre-prepare, prepare,
 * commit, the Committed stream, the step and its outputs, durability and
 * recovery. Requests and batches are in pbft_request.c, checkpoints,
 * catch-up and status in pbft_sync.c, view changes in pbft_view.c.
 *
 * Structure as in paxos.c: step() dispatches one event to a handler;
 * handlers change the state and push outputs into a step-scoped arena.
 * Memory an output points to stays valid until the next call: slots and
 * stored view changes are freed at the start of the next step.
 *
 * Safety rests on these rules, each enforced where it applies:
 *  1. At most one pre-prepare is accepted per (view, seq); PREPARE leaves
 *     only after that pre-prepare's record is durable, COMMIT only after
 *     the prepared certificate's record is, VIEW-CHANGE only after the
 *     view record is (send.after_lsn). A restart never makes a replica
 *     contradict what it said.
 *  2. prepared = the pre-prepare + 2f matching PREPAREs from distinct
 *     backups of that view; committed-local = prepared + 2f+1 matching
 *     COMMITs of that view. A replica counts its own COMMIT only once the
 *     record behind it is durable, so 2f+1 commits always include f+1
 *     correct replicas that will report the certificate after any crash.
 *  3. A primary proposes at most one batch per seq in its view, and after a
 *     restart resumes above every seq it may have pre-prepared in that
 *     view: above its durable reservation for the view (a PRE-PREPARE
 *     leaves only once a reservation covering its seq is durable, not its
 *     own record, which saves the primary one fsync per batch on the
 *     critical path) and above every pre-prepare record it holds.
 *  4. A value learned outside the three phases needs f+1 matching claims
 *     from distinct replicas, or a chain of values that ends at the digest
 *     of a checkpoint known correct (catch-up). A checkpoint is stable with
 *     2f+1 matching claims, and a replica claims one only once the commit
 *     mark behind it is durable.
 */
#include "pbft_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

int ord_pbft_mutant = ORD_PBFT_MUTANT_NONE;

/* ---------------------------------------------------------------- arena */

void *pbft_alloc(struct ord_pbft *p, size_t bytes)
{
    return ord_arena_alloc(&p->arena, bytes);
}

void pbft_defer_free(struct ord_pbft *p, void *ptr)
{
    if (!ptr)
        return;
    if (p->n_grave == p->grave_cap) {
        size_t cap = p->grave_cap ? p->grave_cap * 2 : 16;
        void **g = realloc(p->grave, cap * sizeof *g);
        if (!g)
            abort();
        p->grave = g;
        p->grave_cap = cap;
    }
    p->grave[p->n_grave++] = ptr;
}

static void free_deferred(struct ord_pbft *p)
{
    for (size_t i = 0; i < p->n_grave; i++)
        free(p->grave[i]);
    p->n_grave = 0;
}

/* -------------------------------------------------------------- outputs */

struct ord_output *pbft_out_push(struct ord_pbft *p, enum ord_output_type type)
{
    if (p->n_outs == p->outs_cap) {
        size_t cap = p->outs_cap ? p->outs_cap * 2 : 256;
        struct ord_output *o = realloc(p->outs, cap * sizeof *o);
        if (!o)
            abort();
        p->outs = o;
        p->outs_cap = cap;
    }
    struct ord_output *o = &p->outs[p->n_outs++];
    memset(o, 0, sizeof *o);
    o->type = type;
    return o;
}

struct ord_pbft_msg *pbft_msg_new(struct ord_pbft *p,
                                  enum ord_pbft_msg_type type)
{
    struct ord_pbft_msg *m = pbft_alloc(p, sizeof *m);
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = p->cfg.self;
    m->view = p->view;
    return m;
}

void pbft_send_signed(struct ord_pbft *p, smr_node_id to, smr_lsn after_lsn,
                      const struct ord_pbft_msg *m)
{
    assert(to != p->cfg.self);
    if (p->n == 1)
        return;
    struct ord_output *o = pbft_out_push(p, ORD_OUT_SEND);
    o->u.send.to = to;
    o->u.send.after_lsn = after_lsn;
    o->u.send.msg = m;
}

void pbft_send(struct ord_pbft *p, smr_node_id to, smr_lsn after_lsn,
               struct ord_pbft_msg *m)
{
    m->from = p->cfg.self;
    pbft_mac_fill(p, m);
    pbft_send_signed(p, to, after_lsn, m);
}

void pbft_set_timer(struct ord_pbft *p, uint32_t id, uint64_t gen,
                    uint64_t after_ms)
{
    struct ord_output *o = pbft_out_push(p, ORD_OUT_TIMER);
    o->u.timer.id = id;
    o->u.timer.generation = gen;
    o->u.timer.after_ms = after_ms;
}

static smr_lsn persist(struct ord_pbft *p, bool is_log, uint64_t index,
                       const char *key, const uint8_t *data, uint32_t len)
{
    struct ord_output *o = pbft_out_push(p, ORD_OUT_PERSIST);
    o->u.persist.lsn = ++p->next_lsn;
    o->u.persist.is_log = is_log;
    o->u.persist.index = index;
    o->u.persist.key = key;
    o->u.persist.data = data;
    o->u.persist.len = len;
    return p->next_lsn;
}

smr_lsn pbft_persist_state(struct ord_pbft *p, const char *key,
                           const uint8_t *data, uint32_t len)
{
    return persist(p, false, 0, key, data, len);
}

smr_lsn pbft_persist_view(struct ord_pbft *p)
{
    uint8_t *rec = pbft_alloc(p, PBFT_VIEW_RECORD_BYTES);
    pbft_view_record_encode(rec, p->view, p->mode == PBFT_ACTIVE);
    p->view_lsn =
        persist(p, false, 0, ORD_PBFT_STATE_VIEW, rec, PBFT_VIEW_RECORD_BYTES);
    return p->view_lsn;
}

smr_lsn pbft_persist_slot(struct ord_pbft *p, struct pbft_slot *s)
{
    if (pbft_slot_encode(s, &p->scratch) != SMR_OK)
        abort(); /* bounded by the batch limits checked on entry */
    uint8_t *copy = pbft_alloc(p, p->scratch.len);
    memcpy(copy, p->scratch.data, p->scratch.len);
    s->lsn = persist(p, true, s->seq, NULL, copy, (uint32_t)p->scratch.len);
    return s->lsn;
}

/* ---------------------------------------------------------------- slots */

void pbft_slot_free(struct pbft_slot *s)
{
    smr_buf_free(&s->pp_batch);
    smr_buf_free(&s->pp_auth);
    smr_buf_free(&s->p_batch);
    smr_buf_free(&s->c_batch);
    memset(s, 0, sizeof *s);
}

struct pbft_slot *pbft_slot_at(struct ord_pbft *p, smr_seq seq)
{
    if (seq < p->base || seq >= p->base + PBFT_CAP)
        return NULL;
    struct pbft_slot *s = &p->slots[seq % PBFT_CAP];
    if (s->seq != seq) {
        PBFT_INVARIANT(s->seq == 0); /* freed as the window moved */
        s->seq = seq;
    }
    if (seq > p->max_seq)
        p->max_seq = seq;
    return s;
}

struct pbft_slot *pbft_slot_peek(const struct ord_pbft *p, smr_seq seq)
{
    if (seq < p->base || seq >= p->base + PBFT_CAP)
        return NULL;
    struct pbft_slot *s = &p->slots[seq % PBFT_CAP];
    return s->seq == seq ? s : NULL;
}

smr_node_id pbft_primary_of(const struct ord_pbft *p, uint64_t view)
{
    return (smr_node_id)(view % p->n);
}

/* The protocol window (h, h+L], where this replica takes part in the
 * three phases (memory permitting). */
bool pbft_in_window(const struct ord_pbft *p, smr_seq seq)
{
    return seq > p->stable && seq <= p->stable + p->cfg.window &&
           seq >= p->base && seq < p->base + PBFT_CAP;
}

void pbft_committed_entry(const struct pbft_slot *s, struct ord_pbft_entry *e)
{
    e->seq = s->seq;
    if (s->cu_value) {
        e->leader_time_ms = s->c_time_ms;
        e->batch = s->c_batch.data;
        e->batch_len = (uint32_t)s->c_batch.len;
    } else {
        e->leader_time_ms = s->p_time_ms;
        e->batch = s->p_batch.data;
        e->batch_len = (uint32_t)s->p_batch.len;
    }
}

void pbft_set_buf(struct smr_buf *b, const uint8_t *data, size_t len)
{
    if (smr_buf_set(b, data, len) != SMR_OK)
        abort(); /* bounded by the batch limits checked on entry */
}

/* Frees committed slots behind the commit point once a durable commit
 * mark and a stable checkpoint cover them (recovery holds the window from
 * the mark on; see paxos.c gc_slots for why the mark must be durable).
 * Runs at the start of a step: outputs may point into these slots. */
static void gc_slots(struct ord_pbft *p)
{
    while (p->base + PBFT_KEEP_COMMITTED <= p->commit_upto &&
           p->base <= p->mark_durable && p->base <= p->stable_durable) {
        struct pbft_slot *s = &p->slots[p->base % PBFT_CAP];
        if (s->seq == p->base)
            pbft_slot_free(s);
        p->base++;
    }
}

/* ------------------------------------------------------- three phases */

static void q_add(struct pbft_slot *s, uint64_t view,
                  const uint8_t digest[PBFT_D])
{
    uint32_t i = 0;
    for (; i < s->n_q; i++)
        if (memcmp(s->q[i].digest, digest, PBFT_D) == 0)
            break;
    if (i == s->n_q) {
        if (s->n_q < ORD_PBFT_Q_MAX) {
            s->n_q++;
        } else {
            /* Drop the oldest view: while any value may be committed at
             * this seq, a correct replica pre-prepares only that value in
             * later views, so the newest entries are the ones that count. */
            i = s->n_q - 1;
            if (s->q[i].view >= view)
                return;
        }
        s->q[i].view = 0;
        memcpy(s->q[i].digest, digest, PBFT_D);
    }
    if (view > s->q[i].view)
        s->q[i].view = view;
    for (uint32_t a = 0; a < s->n_q; a++) /* newest view first */
        for (uint32_t b = a + 1; b < s->n_q; b++)
            if (s->q[b].view > s->q[a].view) {
                struct pbft_q t = s->q[a];
                s->q[a] = s->q[b];
                s->q[b] = t;
            }
}

static void votes_for_view(struct pbft_slot *s, uint64_t view)
{
    if (s->vote_view >= view)
        return;
    s->vote_view = view;
    s->prep_mask = 0;
    s->commit_mask = 0;
    s->prepared = false;
}

smr_lsn pbft_install_preprepare(struct ord_pbft *p, struct pbft_slot *s,
                                uint64_t view, const uint8_t digest[PBFT_D],
                                uint64_t time_ms, const uint8_t *batch,
                                uint32_t batch_len, const uint8_t *auth,
                                uint32_t auth_len)
{
    PBFT_INVARIANT(!s->has_pp || s->pp_view < view);
    votes_for_view(s, view);
    s->has_pp = true;
    s->pp_view = view;
    memcpy(s->pp_digest, digest, PBFT_D);
    s->pp_time_ms = time_ms;
    pbft_set_buf(&s->pp_batch, batch, batch_len);
    pbft_set_buf(&s->pp_auth, auth, auth_len);
    q_add(s, view, digest);
    if (time_ms > p->last_time_ms)
        p->last_time_ms = time_ms;
    return pbft_persist_slot(p, s);
}

uint32_t pbft_count_votes(const struct ord_pbft *p, uint32_t mask,
                          const uint8_t (*d)[PBFT_D],
                          const uint8_t want[PBFT_D], smr_node_id skip)
{
    uint32_t n = 0;
    for (smr_node_id j = 0; j < p->n; j++)
        if (j != skip && (mask & (1u << j)) && memcmp(d[j], want, PBFT_D) == 0)
            n++;
    return n;
}

static void commit_slot(struct ord_pbft *p, struct pbft_slot *s)
{
    s->c_view = p->view;
    s->committed = true;
    s->cu_value = false;
    memcpy(s->c_digest, s->p_digest, PBFT_D);
}

static void check_committed(struct ord_pbft *p, struct pbft_slot *s)
{
    if (s->committed || !s->prepared || s->vote_view != p->view)
        return;
    /* Our own COMMIT counts once the certificate behind it is durable. */
    smr_node_id skip = s->p_lsn <= p->durable_lsn ? ORD_TO_ALL : p->cfg.self;
    uint32_t need = p->quorum;
    if (ord_pbft_mutant == ORD_PBFT_MUTANT_WEAK_COMMIT && need > 1)
        need--; /* deliberate bug: 2f commits */
    if (pbft_count_votes(p, s->commit_mask, s->commit_d, s->p_digest, skip) <
        need)
        return;
    commit_slot(p, s);
    pbft_deliver(p);
}

void pbft_check_prepared(struct ord_pbft *p, struct pbft_slot *s)
{
    if (!s->has_pp || s->prepared || s->pp_view != p->view ||
        s->vote_view != p->view)
        return;
    uint32_t need = 2 * p->f;
    if (ord_pbft_mutant == ORD_PBFT_MUTANT_WEAK_PREPARE && need > 0)
        need--; /* deliberate bug: 2f-1 prepares */
    if (pbft_count_votes(p, s->prep_mask, s->prep_d, s->pp_digest,
                         pbft_primary_of(p, p->view)) < need)
        return;
    s->prepared = true;
    s->has_p = true;
    s->p_view = p->view;
    memcpy(s->p_digest, s->pp_digest, PBFT_D);
    s->p_time_ms = s->pp_time_ms;
    pbft_set_buf(&s->p_batch, s->pp_batch.data, s->pp_batch.len);
    smr_lsn lsn = pbft_persist_slot(p, s);
    s->p_lsn = lsn;
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_COMMIT);
    m->seq = s->seq;
    memcpy(m->digest, s->p_digest, PBFT_D);
    if (ord_pbft_mutant == ORD_PBFT_MUTANT_VOTE_EARLY) {
        lsn = 0; /* deliberate bug: the vote may outlive its record */
        s->p_lsn = 0;
    }
    pbft_send(p, ORD_TO_ALL, lsn, m);
    s->commit_mask |= 1u << p->cfg.self;
    memcpy(s->commit_d[p->cfg.self], s->p_digest, PBFT_D);
    check_committed(p, s);
}

/* Sends our PREPARE for the slot's pre-prepare (after its record). */
void pbft_send_prepare(struct ord_pbft *p, struct pbft_slot *s, smr_node_id to)
{
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_PREPARE);
    m->seq = s->seq;
    memcpy(m->digest, s->pp_digest, PBFT_D);
    pbft_send(p, to, s->lsn, m);
}

void pbft_accept_preprepare_as_backup(struct ord_pbft *p, struct pbft_slot *s)
{
    pbft_send_prepare(p, s, ORD_TO_ALL);
    s->prep_mask |= 1u << p->cfg.self;
    memcpy(s->prep_d[p->cfg.self], s->pp_digest, PBFT_D);
    pbft_check_prepared(p, s);
}

static void on_preprepare(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    if (p->mode != PBFT_ACTIVE || m->view != p->view)
        return;
    if (m->from != pbft_primary_of(p, m->view) || !pbft_in_window(p, m->seq) ||
        m->batch_len > p->cfg.batch_bytes_max ||
        smr_batch_validate(m->batch, m->batch_len) != SMR_OK) {
        p->stats.invalid++;
        return;
    }
    uint8_t d[PBFT_D];
    ord_pbft_entry_digest(p->cfg.epoch, m->leader_time_ms, m->batch,
                          m->batch_len, d);
    if (memcmp(d, m->digest, PBFT_D) != 0 ||
        m->leader_time_ms > p->now_ms + p->cfg.clock_skew_max_ms) {
        p->stats.invalid++;
        return;
    }
    struct pbft_slot *s = pbft_slot_at(p, m->seq);
    if (s->has_pp && s->pp_view == m->view) {
        if (memcmp(s->pp_digest, d, PBFT_D) != 0)
            p->stats.conflicts++; /* the primary equivocates */
        else
            pbft_send_prepare(p, s, m->from); /* a retransmission */
        return;
    }
    if (s->committed && memcmp(s->c_digest, d, PBFT_D) != 0) {
        p->stats.conflicts++;
        return;
    }
    smr_client_id who = 0;
    switch (pbft_batch_auth_check(p, m->batch, m->batch_len, m->req_auth,
                                  m->req_auth_len, &who)) {
    case PBFT_AUTH_MALFORMED:
        p->stats.invalid++;
        return;
    case PBFT_AUTH_MISSING:
        /* A request whose tag for us does not check and that came neither
         * signed nor to us directly: the client or the primary is faulty.
         * Held, not refused: the client's retransmission comes signed. */
        pbft_hold_preprepare(p, m, who);
        return;
    case PBFT_AUTH_OK:
        break;
    }
    /* The client tags are not kept: only the primary resends its
     * pre-prepares, and a new view's carry none. A quarter less to write
     * per request with n = 4. */
    pbft_install_preprepare(p, s, m->view, d, m->leader_time_ms, m->batch,
                            m->batch_len, NULL, 0);
    pbft_accept_preprepare_as_backup(p, s);
}

void pbft_retry_held(struct ord_pbft *p)
{
    for (uint32_t i = 0; i < PBFT_HELD; i++) {
        struct ord_pbft_msg *m = p->held[i].m;
        if (!m)
            continue;
        smr_client_id who;
        bool stale = p->mode != PBFT_ACTIVE || m->view != p->view ||
                     !pbft_in_window(p, m->seq);
        if (!stale &&
            pbft_batch_auth_check(p, m->batch, m->batch_len, m->req_auth,
                                  m->req_auth_len, &who) != PBFT_AUTH_OK)
            continue;
        p->held[i].m = NULL;
        if (!stale)
            on_preprepare(p, m);
        free(m);
    }
}

/* Records a PREPARE or COMMIT vote of `from` for the current view. */
bool pbft_record_vote(struct ord_pbft *p, uint32_t *mask, uint8_t (*d)[PBFT_D],
                      smr_node_id from, const uint8_t digest[PBFT_D],
                      const uint8_t *prefer)
{
    uint32_t bit = 1u << from;
    if (*mask & bit) {
        if (memcmp(d[from], digest, PBFT_D) == 0)
            return false;
        p->stats.conflicts++; /* two votes in one view: a faulty replica */
        /* Its vote for the value we hold counts as much as any (it could
         * have sent us only that one); keeping whichever came first would
         * let one conflicting message mask it for good. */
        if (!prefer || memcmp(digest, prefer, PBFT_D) != 0)
            return false;
    }
    *mask |= bit;
    memcpy(d[from], digest, PBFT_D);
    return true;
}

static void on_prepare(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    if (m->view != p->view || !pbft_in_window(p, m->seq))
        return;
    if (m->from == pbft_primary_of(p, m->view)) {
        p->stats.invalid++; /* the primary's pre-prepare is its vote */
        return;
    }
    struct pbft_slot *s = pbft_slot_at(p, m->seq);
    votes_for_view(s, m->view);
    const uint8_t *prefer =
        s->has_pp && s->pp_view == m->view ? s->pp_digest : NULL;
    if (pbft_record_vote(p, &s->prep_mask, s->prep_d, m->from, m->digest,
                         prefer))
        pbft_check_prepared(p, s);
}

static void on_commit(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    if (m->view != p->view || !pbft_in_window(p, m->seq))
        return;
    struct pbft_slot *s = pbft_slot_at(p, m->seq);
    votes_for_view(s, m->view);
    const uint8_t *prefer = s->prepared ? s->p_digest : NULL;
    if (pbft_record_vote(p, &s->commit_mask, s->commit_d, m->from, m->digest,
                         prefer))
        check_committed(p, s);
}

void pbft_deliver(struct ord_pbft *p)
{
    for (;;) {
        struct pbft_slot *s = pbft_slot_peek(p, p->commit_upto + 1);
        if (!s || !s->committed)
            break;
        struct ord_pbft_entry e;
        pbft_committed_entry(s, &e);
        p->commit_upto++;
        pbft_chain_next(p->chain, s->seq, s->c_digest);
        if (e.leader_time_ms > p->last_time_ms)
            p->last_time_ms = e.leader_time_ms;
        struct ord_output *o = pbft_out_push(p, ORD_OUT_COMMIT);
        o->u.commit.seq = s->seq;
        o->u.commit.epoch = p->cfg.epoch;
        o->u.commit.leader_time_ms = e.leader_time_ms;
        o->u.commit.batch = e.batch;
        o->u.commit.batch_len = e.batch_len;
        pbft_forget_requests(p, e.batch, e.batch_len);
        if (p->mode == PBFT_ACTIVE && s->has_pp && s->pp_view == p->view) {
            p->progressed = true; /* the view works: timeouts back to T */
            p->backoff = 0;
        }
        if (p->commit_upto % p->cfg.checkpoint_interval == 0)
            pbft_take_checkpoint(p);
    }
    pbft_write_mark(p);
}

/* ------------------------------------------------------------ disk */

static void on_persisted(struct ord_pbft *p, smr_lsn lsn)
{
    if (lsn <= p->durable_lsn)
        return;
    assert(lsn <= p->next_lsn);
    p->durable_lsn = lsn;
    if (p->mark_lsn && p->mark_lsn <= lsn)
        p->stable_durable = p->stable_written;
    if (p->snap_lsn && p->snap_lsn <= lsn)
        p->snap_durable = p->snap.seq;
    if (p->mark_lsn && p->mark_lsn <= lsn && p->mark > p->mark_durable) {
        smr_seq prev = p->mark_durable;
        p->mark_durable = p->mark;
        for (uint32_t i = 0; i < p->n_own; i++)
            if (p->own[i].seq > prev && p->own[i].seq <= p->mark_durable)
                pbft_check_stable(p, p->own[i].seq);
    }
    /* Our own COMMITs whose certificates just became durable count now. */
    smr_seq end = p->stable + p->cfg.window;
    for (smr_seq seq = p->commit_upto + 1; seq <= end; seq++) {
        struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (s && s->prepared && !s->committed)
            check_committed(p, s);
    }
    pbft_deliver(p);
    pbft_maybe_truncate(p);
}

/* ------------------------------------------------------------ dispatch */

static bool msg_valid(const struct ord_pbft *p, const struct ord_event *ev)
{
    const struct ord_pbft_msg *m = ev->u.message.msg;
    if (!m || m->type < ORD_PBFT_REQUEST || m->type > ORD_PBFT_MSG__MAX ||
        m->from != ev->u.message.from)
        return false;
    if (m->type == ORD_PBFT_REQUEST)
        return m->from == ORD_PBFT_FROM_CLIENT ||
               (m->from < p->n && m->from != p->cfg.self);
    if (m->from >= p->n || m->from == p->cfg.self)
        return false;
    switch (m->type) {
    case ORD_PBFT_PRE_PREPARE:
        return (m->batch || !m->batch_len) && (m->req_auth || !m->req_auth_len);
    case ORD_PBFT_CATCHUP:
        return m->n_entries <= ORD_PBFT_ENTRIES_MAX &&
               (m->entries || !m->n_entries);
    case ORD_PBFT_VIEW_CHANGE:
        return m->vc != NULL;
    case ORD_PBFT_NEW_VIEW:
        return m->nv != NULL;
    default:
        return true;
    }
}

static void on_message(struct ord_pbft *p, const struct ord_event *ev)
{
    if (!msg_valid(p, ev)) {
        p->stats.invalid++;
        return;
    }
    const struct ord_pbft_msg *m = ev->u.message.msg;
    bool macced = m->type != ORD_PBFT_REQUEST &&
                  m->type != ORD_PBFT_VIEW_CHANGE &&
                  m->type != ORD_PBFT_NEW_VIEW;
    if (macced && !pbft_mac_check(p, m)) {
        p->stats.bad_mac++;
        return;
    }
    switch (m->type) {
    case ORD_PBFT_REQUEST:
        pbft_on_request(p, m);
        break;
    case ORD_PBFT_PRE_PREPARE:
        on_preprepare(p, m);
        break;
    case ORD_PBFT_PREPARE:
        on_prepare(p, m);
        break;
    case ORD_PBFT_COMMIT:
        on_commit(p, m);
        break;
    case ORD_PBFT_CHECKPOINT:
        pbft_on_checkpoint(p, m);
        break;
    case ORD_PBFT_VIEW_CHANGE:
        pbft_on_view_change(p, m);
        break;
    case ORD_PBFT_NEW_VIEW:
        pbft_on_new_view(p, m);
        break;
    case ORD_PBFT_STATUS:
        pbft_on_status(p, m);
        break;
    case ORD_PBFT_CATCHUP:
        pbft_on_catchup(p, m);
        break;
    }
}

static void step_begin(struct ord_pbft *p, uint64_t now_ms)
{
    p->n_outs = 0;
    ord_arena_reset(&p->arena);
    free_deferred(p);
    gc_slots(p);
    if (now_ms > p->now_ms)
        p->now_ms = now_ms;
}

int ord_pbft_step(struct ord_pbft *p, uint64_t now_ms,
                  const struct ord_event *ev, const struct ord_output **outs,
                  size_t *n_outs)
{
    assert(p && p->started && ev && outs && n_outs);
    step_begin(p, now_ms);
    switch (ev->type) {
    case ORD_EV_MESSAGE:
        on_message(p, ev);
        break;
    case ORD_EV_REQUEST:
        p->stats.unauthenticated_requests++;
        pbft_reject(p, ev->u.request.client_id, ev->u.request.req_id,
                    ORD_REJECT_BUSY);
        break;
    case ORD_EV_FLUSH:
        pbft_propose(p, true);
        break;
    case ORD_EV_TIMER:
        if (ev->u.timer.id == ORD_PBFT_TIMER_VIEW &&
            ev->u.timer.generation == p->view_gen)
            pbft_on_view_deadline(p);
        else if (ev->u.timer.id == ORD_PBFT_TIMER_STATUS &&
                 ev->u.timer.generation == p->status_gen)
            pbft_on_status_timer(p);
        break;
    case ORD_EV_PERSISTED:
        on_persisted(p, ev->u.persisted.lsn);
        break;
    case ORD_EV_CHECKPOINT:
        pbft_on_exec_checkpoint(p, ev->u.checkpoint.seq,
                                ev->u.checkpoint.digest);
        break;
    case ORD_EV_STATE_INSTALLED:
        pbft_on_state_installed(p, ev->u.installed.seq);
        break;
    }
    *outs = p->outs;
    *n_outs = p->n_outs;
    return SMR_OK;
}

/* ------------------------------------------------------ life cycle */

int ord_pbft_new(const struct ord_pbft_config *c, struct ord_pbft **out)
{
    if (ord_pbft_config_check(c, NULL, 0) != SMR_OK || sodium_init() < 0)
        return SMR_ECONFIG;
    struct ord_pbft *p = calloc(1, sizeof *p);
    if (!p)
        return SMR_ENOMEM;
    p->slots = calloc(PBFT_CAP, sizeof *p->slots);
    p->sigs = calloc(PBFT_SIGS, sizeof *p->sigs);
    if (!p->slots || !p->sigs) {
        free(p->slots);
        free(p->sigs);
        free(p);
        return SMR_ENOMEM;
    }
    p->cfg = *c;
    p->n = c->n_replicas;
    p->f = (c->n_replicas - 1) / 3;
    p->quorum = 2 * p->f + 1;
    if (pbft_keys_init(p) != SMR_OK) {
        free(p->sigs);
        free(p->slots);
        free(p);
        return SMR_ECONFIG;
    }
    pbft_genesis(c, p->genesis);
    memcpy(p->chain, p->genesis, PBFT_D);
    memcpy(p->stable_digest, p->genesis, PBFT_D);
    memcpy(p->mark_digest, p->genesis, PBFT_D);
    pbft_own_push(p, 0, p->genesis);
    p->base = 1;
    p->next_seq = 1;
    p->log_from = 1;
    p->mode = PBFT_ACTIVE;
    p->cu_src = ORD_TO_ALL;
    smr_buf_init(&p->open_batch);
    smr_buf_init(&p->open_auth);
    smr_buf_init(&p->open_proofs);
    smr_buf_init(&p->scratch);
    *out = p;
    return SMR_OK;
}

void ord_pbft_destroy(struct ord_pbft **pp)
{
    if (!pp || !*pp)
        return;
    struct ord_pbft *p = *pp;
    for (size_t i = 0; i < PBFT_CAP; i++)
        pbft_slot_free(&p->slots[i]);
    for (uint32_t i = 0; i < p->ready_len; i++) {
        smr_buf_free(&p->ready[(p->ready_head + i) % p->ready_cap].batch);
        smr_buf_free(&p->ready[(p->ready_head + i) % p->ready_cap].auth);
    }
    for (uint32_t i = 0; i < p->n_pending; i++)
        smr_buf_free(&p->pending[i].op);
    for (smr_node_id j = 0; j < SMR_NODES_MAX; j++)
        free(p->peers[j].vc);
    free(p->nv);
    free_deferred(p);
    free(p->grave);
    free(p->pending);
    free(p->ready);
    smr_buf_free(&p->open_batch);
    smr_buf_free(&p->open_auth);
    smr_buf_free(&p->open_proofs);
    smr_buf_free(&p->scratch);
    pbft_free_held(p);
    free(p->sigs);
    free(p->slots);
    free(p->outs);
    ord_arena_free(&p->arena);
    sodium_memzero(&p->cfg, sizeof p->cfg);
    sodium_memzero(p->pair_key, sizeof p->pair_key);
    sodium_memzero(p->client_keys, sizeof p->client_keys);
    free(p);
    *pp = NULL;
}

int ord_pbft_recover_state(struct ord_pbft *p, const char *key,
                           const uint8_t *data, size_t len)
{
    assert(!p->started);
    if (strcmp(key, ORD_PBFT_STATE_VIEW) == 0) {
        uint64_t view;
        bool active;
        if (pbft_view_record_decode(data, len, &view, &active) != SMR_OK)
            return SMR_ECORRUPT;
        p->view = view;
        p->mode = active ? PBFT_ACTIVE : PBFT_CHANGING;
        return SMR_OK;
    }
    if (strcmp(key, ORD_PBFT_STATE_COMMIT) == 0) {
        smr_seq seq, stable;
        uint8_t d[PBFT_D], sd[PBFT_D];
        if (pbft_mark_record_decode(data, len, &seq, d, &stable, sd) !=
                SMR_OK ||
            seq % p->cfg.checkpoint_interval != 0 ||
            stable % p->cfg.checkpoint_interval != 0)
            return SMR_ECORRUPT;
        p->commit_upto = p->mark = p->mark_durable = seq;
        p->durable_commit = p->recovered_commit = seq;
        memcpy(p->chain, d, PBFT_D);
        memcpy(p->mark_digest, d, PBFT_D);
        p->stable = p->stable_written = p->stable_durable = stable;
        memcpy(p->stable_digest, sd, PBFT_D);
        p->n_own = 0;
        if (stable < seq)
            pbft_own_push(p, stable, sd);
        pbft_own_push(p, seq, d);
        p->base = (stable < seq ? stable : seq) + 1;
        p->next_seq = (stable > seq ? stable : seq) + 1;
        return SMR_OK;
    }
    if (strcmp(key, ORD_PBFT_STATE_NEW_VIEW) == 0)
        return pbft_recover_new_view(p, data, len);
    if (strcmp(key, ORD_PBFT_STATE_SNAP) == 0)
        return pbft_snap_record_decode(data, len, &p->snap, &p->log_from);
    if (strcmp(key, ORD_PBFT_STATE_RESERVE) == 0)
        return pbft_reserve_record_decode(data, len, &p->reserve_view,
                                          &p->reserve_upto);
    return SMR_EINVAL;
}

smr_seq ord_pbft_recover_log_from(const struct ord_pbft *p)
{
    return p->base;
}

int ord_pbft_recover_log(struct ord_pbft *p, smr_seq seq, const uint8_t *data,
                         size_t len)
{
    assert(!p->started);
    struct pbft_slot *s = pbft_slot_at(p, seq);
    if (!s)
        return seq < p->base ? SMR_OK : SMR_ECORRUPT; /* past the window */
    if (pbft_slot_decode(data, len, s) != SMR_OK ||
        (seq <= p->commit_upto && !s->cu_value && !s->has_p)) {
        pbft_slot_free(s);
        return SMR_ECORRUPT;
    }
    if (seq <= p->commit_upto && !s->committed) {
        /* Covered by the commit mark: the value is the prepared one. */
        s->committed = true;
        memcpy(s->c_digest, s->p_digest, PBFT_D);
    }
    s->lsn = 0;
    s->p_lsn = 0;
    if (s->has_pp && s->pp_view > p->view_floor)
        p->view_floor = s->pp_view;
    return SMR_OK;
}

smr_seq ord_pbft_recovered_commit(const struct ord_pbft *p)
{
    return p->recovered_commit;
}

int ord_pbft_start(struct ord_pbft *p, uint64_t now_ms,
                   const struct ord_output **outs, size_t *n_outs)
{
    assert(!p->started);
    p->started = true;
    step_begin(p, now_ms);
    p->view_since_ms = now_ms;
    if (p->view_floor > p->view ||
        (p->view_floor == p->view && p->mode == PBFT_CHANGING &&
         p->view_floor > 0)) {
        /* A pre-prepare of a view whose "active" record was lost (writes
         * that were not synced survive or not independently): the replica
         * had installed that view, so it is active there. */
        p->view = p->view_floor;
        p->mode = PBFT_ACTIVE;
        pbft_persist_view(p);
    }
    if (p->reserve_upto && p->reserve_view == p->view &&
        p->next_seq <= p->reserve_upto)
        p->next_seq = p->reserve_upto + 1; /* rule 3: its reservation */
    for (smr_seq seq = p->base; seq <= p->max_seq; seq++) {
        struct pbft_slot *s = pbft_slot_peek(p, seq);
        if (!s || !s->has_pp)
            continue;
        if (s->pp_time_ms > p->last_time_ms)
            p->last_time_ms = s->pp_time_ms;
        if (s->pp_view != p->view)
            continue;
        if (seq >= p->next_seq)
            p->next_seq = seq + 1; /* rule 3: its records */
        /* What the records show we said in this view: our PREPARE (a
         * backup's pre-prepare record), our COMMIT (a certificate of this
         * view). Peers that lost them get them again from resend_votes. */
        s->vote_view = p->view;
        if (pbft_primary_of(p, p->view) != p->cfg.self) {
            s->prep_mask |= 1u << p->cfg.self;
            memcpy(s->prep_d[p->cfg.self], s->pp_digest, PBFT_D);
        }
        if (s->has_p && s->p_view == p->view) {
            s->prepared = true;
            s->commit_mask |= 1u << p->cfg.self;
            memcpy(s->commit_d[p->cfg.self], s->p_digest, PBFT_D);
        }
    }
    pbft_resume_new_view(p);
    pbft_deliver(p);
    p->snap_durable = p->snap.seq;
    pbft_maybe_truncate(p); /* again: a truncation may not have been synced */
    if (p->mode == PBFT_CHANGING)
        pbft_resume_view_change(p);
    pbft_set_timer(p, ORD_PBFT_TIMER_STATUS, ++p->status_gen, p->cfg.status_ms);
    *outs = p->outs;
    *n_outs = p->n_outs;
    return SMR_OK;
}

/* ------------------------------------------------------------ observers */

bool ord_pbft_is_primary(const struct ord_pbft *p)
{
    return p->mode == PBFT_ACTIVE && pbft_primary_of(p, p->view) == p->cfg.self;
}

smr_node_id ord_pbft_primary(const struct ord_pbft *p)
{
    return pbft_primary_of(p, p->view);
}

uint64_t ord_pbft_view(const struct ord_pbft *p)
{
    return p->view;
}

bool ord_pbft_view_active(const struct ord_pbft *p)
{
    return p->mode == PBFT_ACTIVE;
}

smr_seq ord_pbft_commit_upto(const struct ord_pbft *p)
{
    return p->commit_upto;
}

smr_seq ord_pbft_stable(const struct ord_pbft *p)
{
    return p->stable;
}

void ord_pbft_get_stats(const struct ord_pbft *p, struct ord_pbft_stats *out)
{
    *out = p->stats;
}
