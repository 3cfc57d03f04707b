/*
 * pbft_request.c: client requests in the PBFT core (TOCS §4.1, §4.2,
 * §4.5.1): checking a request's client MAC, the primary's batches and its
 * window of sequence numbers, the requests a backup waits for (forwarded to
 * the primary), and the per-request deadline that starts a view change.
 *
 * A backup's deadline counts from when a request arrived signed or the view
 * began, whichever is later, and ends when the request is *committed*, so a
 * slow executor cannot depose a correct primary, and a primary that serves
 * other clients but never this one is deposed all the same. Only signed
 * requests (a client's retransmissions) are timed: a correct primary can
 * check those, so a faulty client cannot depose it with requests whose tags
 * check at a backup but not at the primary (docs/pbft.md "Faulty clients").
 */
#include "pbft_internal.h"

#include <assert.h>
#include <string.h>

/* ------------------------------------------------- requests: bookkeeping */

static uint32_t req_hash(smr_client_id c, smr_req_id r)
{
    uint64_t h = c * 0x9E3779B97F4A7C15ULL ^
                 (r + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    return (uint32_t)((h ^ (h >> 29)) % PBFT_DEDUPE);
}

/* Requests committed lately (a lossy table): backups do not wait for them
 * again, so a late duplicate cannot trigger a view change. */
static bool recent_has(const struct ord_pbft *p, smr_client_id c, smr_req_id r)
{
    const struct pbft_req_key *k = &p->recent[req_hash(c, r)];
    return k->used && k->client_id == c && k->req_id == r;
}

/* Requests a primary holds or has proposed in its view and not yet seen
 * committed (a lossy table): it does not propose them twice. */
static bool inflight_has(const struct ord_pbft *p, smr_client_id c,
                         smr_req_id r)
{
    const struct pbft_req_key *k = &p->inflight[req_hash(c, r)];
    return k->used && k->client_id == c && k->req_id == r && k->view == p->view;
}

static void key_set(struct pbft_req_key *k, smr_client_id c, smr_req_id r,
                    uint64_t view)
{
    k->used = true;
    k->client_id = c;
    k->req_id = r;
    k->view = view;
}

static int pending_find(const struct ord_pbft *p, smr_client_id c, smr_req_id r)
{
    for (uint32_t i = 0; i < p->n_pending; i++)
        if (p->pending[i].client_id == c && p->pending[i].req_id == r)
            return (int)i;
    return -1;
}

static void pending_remove(struct ord_pbft *p, uint32_t i)
{
    smr_buf_free(&p->pending[i].op);
    p->pending[i] = p->pending[--p->n_pending];
    memset(&p->pending[p->n_pending], 0, sizeof p->pending[0]);
}

bool pbft_pending_has(const struct ord_pbft *p, const struct smr_request *r)
{
    int i = p->n_pending ? pending_find(p, r->client_id, r->req_id) : -1;
    return i >= 0 && p->pending[i].op.len == r->op_len &&
           (r->op_len == 0 ||
            memcmp(p->pending[i].op.data, r->op, r->op_len) == 0);
}

static void pending_sign(struct ord_pbft *p, struct pbft_pending *e,
                         const uint8_t *proof)
{
    if (!proof || e->has_proof)
        return;
    e->has_proof = true;
    memcpy(e->proof, proof, ORD_PBFT_PROOF_BYTES);
    e->since_ms = p->now_ms;
}

/* Adds a request (with its client tags and proof, if any; both checked) to
 * the pending table, or adds the proof to the one there. A signed request
 * finding the table full takes an unsigned one's place: unsigned requests
 * the primary will not order (a faulty client's) cannot keep out those
 * that time the primary. Returns false when the table is full. */
static bool pending_add(struct ord_pbft *p, const struct smr_request *r,
                        const uint8_t *tags, const uint8_t *proof)
{
    int at = pending_find(p, r->client_id, r->req_id);
    if (at >= 0) {
        struct pbft_pending *e = &p->pending[at];
        if (proof && !e->has_proof && !pbft_pending_has(p, r)) {
            /* One id, two ops (a faulty client): the signed one wins, so
             * the proof kept is the proof of the op kept. */
            pbft_set_buf(&e->op, r->op, r->op_len);
            memcpy(e->auth, tags, (size_t)p->n * ORD_PBFT_MAC_BYTES);
        }
        pending_sign(p, e, proof);
        return true;
    }
    for (uint32_t i = p->n_pending; proof && i-- > 0 &&
                                    p->n_pending >= p->cfg.pending_max;)
        if (!p->pending[i].has_proof)
            pending_remove(p, i);
    if (p->n_pending >= p->cfg.pending_max)
        return false;
    if (p->n_pending == p->pending_cap) {
        uint32_t cap = p->pending_cap ? p->pending_cap * 2 : 64;
        struct pbft_pending *q = realloc(p->pending, cap * sizeof *q);
        if (!q)
            abort();
        memset(q + p->pending_cap, 0, (cap - p->pending_cap) * sizeof *q);
        p->pending = q;
        p->pending_cap = cap;
    }
    struct pbft_pending *e = &p->pending[p->n_pending++];
    e->client_id = r->client_id;
    e->req_id = r->req_id;
    e->since_ms = p->now_ms;
    smr_buf_init(&e->op);
    pbft_set_buf(&e->op, r->op, r->op_len);
    memcpy(e->auth, tags, (size_t)p->n * ORD_PBFT_MAC_BYTES);
    e->has_proof = false;
    pending_sign(p, e, proof);
    return true;
}

/* ------------------------------------------------------ suspect clients */

/* The set of PBFT_SUSPECT_WAYS entries a block may occupy (a lossy,
 * set-associative table: blocks that share a set cannot evict each other's
 * suspicion unless more than PBFT_SUSPECT_WAYS of them are suspect). */
static struct pbft_suspect *suspect_set(struct ord_pbft *p, uint32_t block)
{
    static_assert(PBFT_SUSPECTS / PBFT_SUSPECT_WAYS == 64,
                  "the set index is 6 bits");
    return &p->suspects[((block * 0x9E3779B1u) >> 26) * PBFT_SUSPECT_WAYS];
}

static bool suspected(struct ord_pbft *p, smr_client_id c)
{
    uint32_t block = ORD_PBFT_CLIENT_BLOCK(c);
    const struct pbft_suspect *set = suspect_set(p, block);
    for (uint32_t w = 0; w < PBFT_SUSPECT_WAYS; w++)
        if (set[w].block == block && p->now_ms < set[w].until_ms)
            return true;
    return false;
}

/* Suspects c's block from now: its own entry, else the set's entry that
 * expires first (an expired one first of all). */
static void suspect(struct ord_pbft *p, smr_client_id c)
{
    uint32_t block = ORD_PBFT_CLIENT_BLOCK(c);
    struct pbft_suspect *set = suspect_set(p, block), *e = &set[0];
    for (uint32_t w = 0; w < PBFT_SUSPECT_WAYS; w++) {
        if (set[w].block == block && set[w].until_ms) {
            e = &set[w];
            break;
        }
        if (set[w].until_ms < e->until_ms)
            e = &set[w];
    }
    e->block = block;
    e->until_ms = p->now_ms + ORD_PBFT_SUSPECT_MS;
}

/* ------------------------------------------------- held pre-prepares */

/* True when held pre-prepare `a` is a better one to give up than `b`: an
 * older view, or in the same view a higher seq (the lowest seqs hold back
 * delivery of all the others). */
static bool held_worse(const struct ord_pbft_msg *a,
                       const struct ord_pbft_msg *b)
{
    return a->view < b->view || (a->view == b->view && a->seq > b->seq);
}

void pbft_hold_preprepare(struct ord_pbft *p, const struct ord_pbft_msg *m,
                          smr_client_id who)
{
    suspect(p, who);
    struct pbft_held *slot = NULL;
    for (uint32_t i = 0; i < PBFT_HELD; i++) {
        const struct ord_pbft_msg *h = p->held[i].m;
        if (h && h->view == m->view && h->seq == m->seq &&
            memcmp(h->digest, m->digest, PBFT_D) == 0)
            return; /* held already */
        if (slot && !slot->m)
            continue; /* a free entry is taken first */
        if (!h || !slot || held_worse(h, slot->m))
            slot = &p->held[i];
    }
    if (slot->m && !held_worse(slot->m, m))
        return; /* full of ones worth more */
    struct ord_pbft_msg *copy = ord_pbft_msg_dup(m);
    if (!copy)
        return; /* it is only held: the view change covers it */
    free(slot->m);
    slot->m = copy;
    p->stats.held++;
}

void pbft_free_held(struct ord_pbft *p)
{
    for (uint32_t i = 0; i < PBFT_HELD; i++) {
        free(p->held[i].m);
        p->held[i].m = NULL;
    }
}

/* A committed batch: its requests are no longer waited for. */
void pbft_forget_requests(struct ord_pbft *p, const uint8_t *batch,
                          uint32_t len)
{
    struct smr_batch_iter it;
    struct smr_request r;
    if (smr_batch_iter_init(&it, batch, len) != SMR_OK)
        return;
    while (smr_batch_next(&it, &r) == SMR_OK) {
        uint32_t h = req_hash(r.client_id, r.req_id);
        key_set(&p->recent[h], r.client_id, r.req_id, 0);
        if (p->inflight[h].used && p->inflight[h].client_id == r.client_id &&
            p->inflight[h].req_id == r.req_id)
            p->inflight[h].used = false;
        if (p->n_pending) {
            int i = pending_find(p, r.client_id, r.req_id);
            if (i >= 0)
                pending_remove(p, (uint32_t)i);
        }
    }
}

void pbft_drop_pending(struct ord_pbft *p)
{
    while (p->n_pending)
        pending_remove(p, p->n_pending - 1);
}

void pbft_reject(struct ord_pbft *p, smr_client_id c, smr_req_id r,
                 enum ord_reject_reason why)
{
    struct ord_output *o = pbft_out_push(p, ORD_OUT_REJECT);
    o->u.reject.client_id = c;
    o->u.reject.req_id = r;
    o->u.reject.reason = why;
    o->u.reject.leader_hint =
        p->mode == PBFT_ACTIVE ? pbft_primary_of(p, p->view) : ORD_TO_ALL;
}

/* Sends a request on to `to`, keeping the client's tags and proof. */
static void forward_request(struct ord_pbft *p, smr_node_id to,
                            const struct smr_request *r, const uint8_t *tags,
                            const uint8_t *proof)
{
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_REQUEST);
    uint8_t *op = pbft_alloc(p, r->op_len);
    if (r->op_len)
        memcpy(op, r->op, r->op_len);
    m->client_id = r->client_id;
    m->req_id = r->req_id;
    m->op = op;
    m->op_len = r->op_len;
    memcpy(m->mac, tags, (size_t)p->n * ORD_PBFT_MAC_BYTES);
    if (proof) {
        uint8_t *copy = pbft_alloc(p, ORD_PBFT_PROOF_BYTES);
        memcpy(copy, proof, ORD_PBFT_PROOF_BYTES);
        m->proof = copy;
    }
    pbft_send_signed(p, to, 0, m);
}

/* ------------------------------------------------------- primary: batches */

static void close_open_batch(struct ord_pbft *p)
{
    if (p->open_count == 0)
        return;
    p->ready = ord_ring_room(p->ready, &p->ready_head, p->ready_len,
                             &p->ready_cap, sizeof *p->ready);
    uint32_t tail = (p->ready_head + p->ready_len) % p->ready_cap;
    if (p->open_proofs.len &&
        smr_buf_append(&p->open_auth, p->open_proofs.data,
                       p->open_proofs.len) != SMR_OK)
        abort(); /* bounded by the batch */
    smr_buf_reset(&p->open_proofs);
    p->ready[tail].batch = p->open_batch; /* moves ownership */
    p->ready[tail].auth = p->open_auth;
    p->ready_len++;
    smr_buf_init(&p->open_batch);
    smr_buf_init(&p->open_auth);
    p->open_count = 0;
}

static bool window_open(const struct ord_pbft *p)
{
    return p->next_seq <= p->stable + p->cfg.window &&
           p->next_seq < p->base + PBFT_CAP;
}

/* The LSN a PRE-PREPARE at `seq` waits for: the reservation covering it in
 * this view, written a window ahead when `seq` is past it (rule 3). Its
 * own record is written too, for view changes and recovery, but nothing
 * waits for it. */
static smr_lsn reserve(struct ord_pbft *p, smr_seq seq)
{
    if (p->reserve_view == p->view && seq <= p->reserve_upto)
        return p->reserve_lsn;
    uint8_t *rec = pbft_alloc(p, PBFT_RESERVE_RECORD_BYTES);
    p->reserve_view = p->view;
    p->reserve_upto = seq + p->cfg.window - 1;
    pbft_reserve_record_encode(rec, p->reserve_view, p->reserve_upto);
    p->reserve_lsn = pbft_persist_state(p, ORD_PBFT_STATE_RESERVE, rec,
                                        PBFT_RESERVE_RECORD_BYTES);
    return p->reserve_lsn;
}

static void propose_one(struct ord_pbft *p, const struct pbft_ready *b)
{
    smr_seq seq = p->next_seq++;
    struct pbft_slot *s = pbft_slot_at(p, seq);
    PBFT_INVARIANT(s != NULL); /* window_open */
    uint64_t t = p->now_ms > p->last_time_ms ? p->now_ms : p->last_time_ms;
    p->last_time_ms = t;
    uint8_t d[PBFT_D];
    ord_pbft_entry_digest(p->cfg.epoch, t, b->batch.data,
                          (uint32_t)b->batch.len, d);
    smr_lsn lsn = reserve(p, seq);
    pbft_install_preprepare(p, s, p->view, d, t, b->batch.data,
                            (uint32_t)b->batch.len, b->auth.data,
                            (uint32_t)b->auth.len);
    struct ord_pbft_msg *m = pbft_msg_new(p, ORD_PBFT_PRE_PREPARE);
    m->seq = seq;
    memcpy(m->digest, d, PBFT_D);
    m->leader_time_ms = t;
    m->batch = s->pp_batch.data;
    m->batch_len = (uint32_t)s->pp_batch.len;
    m->req_auth = s->pp_auth.data;
    m->req_auth_len = (uint32_t)s->pp_auth.len;
    pbft_send(p, ORD_TO_ALL, lsn, m);
    pbft_check_prepared(p, s); /* n = 1 */
}

void pbft_propose(struct ord_pbft *p, bool flush)
{
    if (p->mode != PBFT_ACTIVE || pbft_primary_of(p, p->view) != p->cfg.self)
        return;
    if (p->next_seq <= p->stable)
        p->next_seq = p->stable + 1;
    /* Never a second batch at a seq this view already pre-prepared, nor
     * over a committed one (rule 3; cannot happen while the view change
     * is correct, kept as a guard). */
    for (;;) {
        const struct pbft_slot *s = pbft_slot_peek(p, p->next_seq);
        if (!s || !((s->has_pp && s->pp_view == p->view) || s->committed))
            break;
        p->next_seq++;
    }
    if (flush && p->ready_len == 0 && window_open(p))
        close_open_batch(p);
    while (p->ready_len && window_open(p)) {
        struct pbft_ready *b = &p->ready[p->ready_head];
        p->queued -= smr_batch_count(b->batch.data, b->batch.len);
        propose_one(p, b);
        smr_buf_free(&b->batch);
        smr_buf_free(&b->auth);
        p->ready_head = (p->ready_head + 1) % p->ready_cap;
        p->ready_len--;
        if (flush && p->ready_len == 0 && window_open(p))
            close_open_batch(p);
    }
}

/* The primary queues a request for the next batch (tags and proof
 * checked). A suspect block's requests only with a proof. */
static void primary_take(struct ord_pbft *p, const struct smr_request *r,
                         const uint8_t *tags, const uint8_t *proof)
{
    if (inflight_has(p, r->client_id, r->req_id))
        return;
    if (!proof && suspected(p, r->client_id) &&
        ord_pbft_mutant != ORD_PBFT_MUTANT_NO_SUSPECT) {
        p->stats.unsigned_refused++; /* a correct client sends it signed */
        pbft_reject(p, r->client_id, r->req_id, ORD_REJECT_SIGN);
        return;
    }
    size_t entry = smr_batch_entry_bytes(r);
    if (p->queued >= p->cfg.pending_max || entry + 4 > p->cfg.batch_bytes_max) {
        pbft_reject(p, r->client_id, r->req_id, ORD_REJECT_BUSY);
        return;
    }
    if (p->open_count > 0 &&
        (p->open_count >= p->cfg.batch_max ||
         p->open_batch.len + entry > p->cfg.batch_bytes_max))
        close_open_batch(p);
    if (p->open_count == 0) {
        if (smr_batch_begin(&p->open_batch) != SMR_OK)
            abort();
        smr_buf_reset(&p->open_auth);
        smr_buf_reset(&p->open_proofs);
    }
    uint8_t index[4];
    smr_put_u32(index, p->open_count);
    if (smr_batch_add(&p->open_batch, r) != SMR_OK ||
        smr_buf_append(&p->open_auth, tags,
                       (size_t)p->n * ORD_PBFT_MAC_BYTES) != SMR_OK ||
        (proof && (smr_buf_append(&p->open_proofs, index, 4) != SMR_OK ||
                   smr_buf_append(&p->open_proofs, proof,
                                  ORD_PBFT_PROOF_BYTES) != SMR_OK)))
        abort(); /* bounded above */
    p->open_count++;
    p->queued++;
    key_set(&p->inflight[req_hash(r->client_id, r->req_id)], r->client_id,
            r->req_id, p->view);
    if (p->open_count >= p->cfg.batch_max)
        pbft_propose(p, false);
}

/* A primary that loses its view keeps what it queued as pending requests,
 * to forward to the next primary. */
void pbft_requeue(struct ord_pbft *p)
{
    close_open_batch(p);
    while (p->ready_len) {
        struct pbft_ready *b = &p->ready[p->ready_head];
        struct smr_batch_iter it;
        struct smr_request r;
        size_t per = (size_t)p->n * ORD_PBFT_MAC_BYTES;
        uint32_t count = smr_batch_count(b->batch.data, b->batch.len);
        if (smr_batch_iter_init(&it, b->batch.data, b->batch.len) == SMR_OK)
            for (uint32_t k = 0; smr_batch_next(&it, &r) == SMR_OK; k++)
                if (!pending_add(p, &r, b->auth.data + k * per,
                                 pbft_auth_proof(p, count, b->auth.data,
                                                 (uint32_t)b->auth.len, k)))
                    pbft_reject(p, r.client_id, r.req_id, ORD_REJECT_BUSY);
        smr_buf_free(&b->batch);
        smr_buf_free(&b->auth);
        p->ready_head = (p->ready_head + 1) % p->ready_cap;
        p->ready_len--;
    }
    p->queued = 0;
}

/* After a new view: the primary takes the pending requests, a backup
 * forwards them to it. Their deadlines count from the view's start. */
void pbft_forward_pending(struct ord_pbft *p)
{
    smr_node_id primary = pbft_primary_of(p, p->view);
    if (primary == p->cfg.self) {
        while (p->n_pending) {
            struct pbft_pending *e = &p->pending[p->n_pending - 1];
            struct smr_request r = {e->client_id, e->req_id, e->op.data,
                                    (uint32_t)e->op.len};
            primary_take(p, &r, &e->auth[0][0],
                         e->has_proof ? e->proof : NULL);
            pending_remove(p, p->n_pending - 1);
        }
        pbft_propose(p, true);
        return;
    }
    for (uint32_t i = 0; i < p->n_pending; i++) {
        struct pbft_pending *e = &p->pending[i];
        struct smr_request r = {e->client_id, e->req_id, e->op.data,
                                (uint32_t)e->op.len};
        forward_request(p, primary, &r, &e->auth[0][0],
                        e->has_proof ? e->proof : NULL);
    }
}

void pbft_on_request(struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    struct smr_request r = {m->client_id, m->req_id, m->op, m->op_len};
    if (m->op_len > SMR_OP_BYTES_MAX || (m->op_len && !m->op)) {
        p->stats.invalid++;
        return;
    }
    /* The tag first: a client's request always carries a right one, and a
     * frame without it costs one MAC, not a signature check. A proof this
     * replica passes on must check too: one that does not is a faulty
     * client's (or a forwarder's), and the request goes with it. */
    if (!pbft_request_check(p, &r, m->mac[p->cfg.self]) ||
        (m->proof && !pbft_request_proof_check(p, &r, m->proof))) {
        p->stats.bad_mac++;
        return;
    }
    /* One no batch can hold is refused everywhere, so no backup times a
     * request the primary cannot order. */
    if (smr_batch_entry_bytes(&r) + 4 > p->cfg.batch_bytes_max) {
        pbft_reject(p, r.client_id, r.req_id, ORD_REJECT_BUSY);
        return;
    }
    bool primary = pbft_primary_of(p, p->view) == p->cfg.self;
    if (primary && p->mode == PBFT_ACTIVE) {
        primary_take(p, &r, &m->mac[0][0], m->proof);
        return;
    }
    if (recent_has(p, r.client_id, r.req_id))
        return; /* committed already: the executor answers a retry */
    if (!pending_add(p, &r, &m->mac[0][0], m->proof)) {
        pbft_reject(p, r.client_id, r.req_id, ORD_REJECT_BUSY);
        return;
    }
    if (p->mode == PBFT_ACTIVE && m->from == ORD_PBFT_FROM_CLIENT)
        forward_request(p, pbft_primary_of(p, p->view), &r, &m->mac[0][0],
                        m->proof);
    pbft_retry_held(p);
    pbft_arm_view_timer(p);
}

/* ------------------------------------------------------ view timer */

uint64_t pbft_view_timeout(const struct ord_pbft *p)
{
    uint32_t shift = p->backoff < p->cfg.view_backoff_max
                         ? p->backoff
                         : p->cfg.view_backoff_max;
    return p->cfg.view_timeout_ms << shift;
}

/* When the oldest signed request waiting here must be committed by: T
 * after it arrived signed or after the view began, whichever is later;
 * UINT64_MAX when none waits. */
static uint64_t request_deadline(const struct ord_pbft *p)
{
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < p->n_pending; i++)
        if ((p->pending[i].has_proof ||
             ord_pbft_mutant == ORD_PBFT_MUTANT_TIME_UNSIGNED) &&
            p->pending[i].since_ms < oldest)
            oldest = p->pending[i].since_ms;
    if (oldest == UINT64_MAX)
        return UINT64_MAX;
    if (oldest < p->view_since_ms)
        oldest = p->view_since_ms;
    return oldest + pbft_view_timeout(p);
}

void pbft_arm_view_timer(struct ord_pbft *p)
{
    if (p->view_timer_armed)
        return;
    uint64_t after = pbft_view_timeout(p);
    if (p->mode == PBFT_ACTIVE) {
        uint64_t at = request_deadline(p);
        if (at == UINT64_MAX)
            return;
        after = at > p->now_ms ? at - p->now_ms : 1;
    }
    p->view_timer_armed = true;
    pbft_set_timer(p, ORD_PBFT_TIMER_VIEW, ++p->view_gen, after);
}

void pbft_on_view_deadline(struct ord_pbft *p)
{
    p->view_timer_armed = false;
    if (p->mode == PBFT_CHANGING) {
        pbft_on_view_timer(p);
        return;
    }
    uint64_t at = request_deadline(p);
    if (at == UINT64_MAX)
        return;
    if (p->now_ms >= at) {
        /* A request waited T without committing: the primary is faulty or
         * slow (TOCS §4.5.1). "Committed", not "executed": a slow executor
         * cannot depose a correct primary. */
        pbft_start_view_change(p, p->view + 1);
        return;
    }
    pbft_arm_view_timer(p);
}
