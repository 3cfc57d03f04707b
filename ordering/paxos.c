/*
 * paxos.c: the Multi-Paxos core (see paxos.h for the protocol summary).
 *
 * Structure: step() dispatches one event to a handler; handlers change the
 * state and push outputs into a step-scoped arena. Memory referenced by an
 * output (messages, records, batch bytes of slots) stays valid until the
 * next call: freed slots are reclaimed at the start of the next step.
 *
 * Safety rests on four rules, each asserted or checked where it applies:
 *  1. An acceptor sends PROMISE / ACCEPTED only after the promise / accepted
 *     record it announces is durable (send.after_lsn).
 *  2. An acceptor never accepts a ballot below its promise, and raises its
 *     durable promise before acknowledging a higher ballot.
 *  3. A new leader proposes, for every slot above its commit point, the
 *     highest-ballot value reported by a quorum (chosen values win outright),
 *     or a no-op where none reported one.
 *  4. A leader counts its own vote only once its own record is durable.
 */
#include "paxos_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_next(struct ord_paxos *p)
{
    return smr_rng_next(&p->rng);
}

static smr_node_id ballot_node(uint64_t ballot)
{
    return (smr_node_id)(ballot & 0xff);
}

static struct ord_output *out_push(struct ord_paxos *p,
                                   enum ord_output_type type)
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

static struct ord_paxos_msg *msg_new(struct ord_paxos *p,
                                     enum ord_paxos_msg_type type,
                                     uint32_t n_entries)
{
    struct ord_paxos_msg *m = ord_arena_alloc(&p->arena, sizeof *m);
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = p->cfg.self;
    if (n_entries) {
        struct ord_paxos_entry *e =
            ord_arena_alloc(&p->arena, n_entries * sizeof *e);
        memset(e, 0, n_entries * sizeof *e);
        m->entries = e;
    }
    return m;
}

static void send_msg(struct ord_paxos *p, smr_node_id to, smr_lsn after_lsn,
                     const struct ord_paxos_msg *m)
{
    assert(to != p->cfg.self);
    struct ord_output *o = out_push(p, ORD_OUT_SEND);
    o->u.send.to = to;
    o->u.send.after_lsn = after_lsn;
    o->u.send.msg = m;
}

static void set_timer(struct ord_paxos *p, uint32_t id, uint64_t gen,
                      uint64_t after_ms)
{
    struct ord_output *o = out_push(p, ORD_OUT_TIMER);
    o->u.timer.id = id;
    o->u.timer.generation = gen;
    o->u.timer.after_ms = after_ms;
}

static void arm_election(struct ord_paxos *p)
{
    uint64_t t = p->cfg.election_timeout_ms;
    set_timer(p, ORD_PAXOS_TIMER_ELECTION, ++p->election_gen,
              t + rng_next(p) % t);
}

static smr_lsn persist_u64(struct ord_paxos *p, const char *key,
                           uint64_t value)
{
    uint8_t *rec = ord_arena_alloc(&p->arena, PAXOS_U64_RECORD_BYTES);
    paxos_u64_record_encode(rec, value);
    struct ord_output *o = out_push(p, ORD_OUT_PERSIST);
    o->u.persist.lsn = ++p->next_lsn;
    o->u.persist.is_log = false;
    o->u.persist.key = key;
    o->u.persist.data = rec;
    o->u.persist.len = PAXOS_U64_RECORD_BYTES;
    return p->next_lsn;
}

static void slot_entry(const struct paxos_slot *s, struct ord_paxos_entry *e)
{
    e->slot = s->slot;
    e->ballot = s->ballot;
    e->epoch = s->epoch;
    e->leader_time_ms = s->leader_time_ms;
    e->batch = s->value.data;
    e->batch_len = (uint32_t)s->value.len;
}

static void persist_slot(struct ord_paxos *p, struct paxos_slot *s)
{
    struct ord_paxos_entry e;
    struct smr_buf rec;
    slot_entry(s, &e);
    smr_buf_init(&rec);
    if (ord_paxos_record_encode(&rec, &e) != SMR_OK)
        abort(); /* bounded by the batch limits checked on entry */
    uint8_t *copy = ord_arena_alloc(&p->arena, rec.len);
    memcpy(copy, rec.data, rec.len);
    struct ord_output *o = out_push(p, ORD_OUT_PERSIST);
    o->u.persist.lsn = ++p->next_lsn;
    o->u.persist.is_log = true;
    o->u.persist.index = s->slot;
    o->u.persist.data = copy;
    o->u.persist.len = (uint32_t)rec.len;
    s->lsn = p->next_lsn;
    smr_buf_free(&rec);
}

/* The slot record for `slot`, or NULL when it lies outside the window. */
static struct paxos_slot *slot_at(struct ord_paxos *p, smr_seq slot)
{
    if (slot < p->base || slot >= p->base + PAXOS_CAP)
        return NULL;
    struct paxos_slot *s = &p->slots[slot % PAXOS_CAP];
    if (s->slot != slot) {
        PAXOS_INVARIANT(s->slot == 0);
        s->slot = slot;
        s->ballot = 0;
        s->chosen = false;
        s->lsn = 0;
        s->votes = 0;
        s->best_for = 0;
        smr_buf_reset(&s->value);
    }
    return s;
}

static const struct paxos_slot *slot_peek(const struct ord_paxos *p,
                                          smr_seq slot)
{
    if (slot < p->base || slot >= p->base + PAXOS_CAP)
        return NULL;
    const struct paxos_slot *s = &p->slots[slot % PAXOS_CAP];
    return s->slot == slot ? s : NULL;
}

static void slot_set_value(struct paxos_slot *s, uint64_t ballot,
                           const struct ord_paxos_entry *e)
{
    s->ballot = ballot;
    s->epoch = e->epoch;
    s->leader_time_ms = e->leader_time_ms;
    if (smr_buf_set(&s->value, e->batch, e->batch_len) != SMR_OK)
        abort();
}

/* Slots an acceptor will hold: inside the window and not too far ahead of
 * its own commit point (so a lagging replica catches up instead). */
static bool slot_acceptable(const struct ord_paxos *p, smr_seq slot)
{
    return slot >= p->base && slot < p->base + PAXOS_CAP &&
           slot <= p->chosen_upto + PAXOS_CAP / 2;
}

/* ----------------------------------------------------------- delivery */

static void note_time(struct ord_paxos *p, uint64_t t)
{
    if (t > p->last_time_ms)
        p->last_time_ms = t;
}

static void deliver(struct ord_paxos *p)
{
    for (;;) {
        const struct paxos_slot *s = slot_peek(p, p->chosen_upto + 1);
        if (!s || !s->chosen)
            break;
        p->chosen_upto++;
        note_time(p, s->leader_time_ms);
        struct ord_output *o = out_push(p, ORD_OUT_COMMIT);
        o->u.commit.seq = s->slot;
        o->u.commit.epoch = s->epoch;
        o->u.commit.leader_time_ms = s->leader_time_ms;
        o->u.commit.batch = s->value.data;
        o->u.commit.batch_len = (uint32_t)s->value.len;
    }
    if (p->chosen_upto > p->leader_commit)
        p->leader_commit = p->chosen_upto;
}

static void advance_durable(struct ord_paxos *p)
{
    for (;;) {
        const struct paxos_slot *s = slot_peek(p, p->durable_chosen_upto + 1);
        if (!s || !s->chosen || s->lsn > p->durable_lsn ||
            s->slot > p->chosen_upto)
            break;
        p->durable_chosen_upto++;
    }
}

/* Writes the commit mark when it moved (timers, or after a large advance). */
static void write_commit_mark(struct ord_paxos *p, bool force)
{
    advance_durable(p);
    if (p->durable_chosen_upto <= p->commit_mark)
        return;
    if (!force && p->durable_chosen_upto < p->commit_mark + 1024)
        return;
    p->commit_mark = p->durable_chosen_upto;
    p->commit_mark_lsn = persist_u64(p, ORD_PAXOS_STATE_COMMIT, p->commit_mark);
}

/* Frees chosen, delivered slots far enough behind the commit point and
 * covered by a durable commit mark. Recovery holds the window from the
 * recovered mark on, and every slot in the log was accepted inside the
 * window of its day, [base, base + PAXOS_CAP): freeing a slot before a mark
 * covering it is durable would let the log run past what recovery can hold
 * (SMR_ECORRUPT at restart, for ever). Runs at the start of a step: the
 * previous step's outputs may still point at these buffers until then. */
static void gc_slots(struct ord_paxos *p)
{
    while (p->base + PAXOS_KEEP_CHOSEN <= p->chosen_upto &&
           p->base <= p->mark_durable) {
        struct paxos_slot *s = &p->slots[p->base % PAXOS_CAP];
        if (s->slot == p->base) {
            /* Release the bytes: only the live window may hold memory, or
             * all PAXOS_CAP positions would keep their largest batch. */
            s->slot = 0;
            smr_buf_free(&s->value);
            smr_buf_free(&s->best_value);
        }
        p->base++;
    }
}

/* ----------------------------------------------------------- roles */

static void reject(struct ord_paxos *p, smr_client_id client, smr_req_id req,
                   enum ord_reject_reason why)
{
    struct ord_output *o = out_push(p, ORD_OUT_REJECT);
    o->u.reject.client_id = client;
    o->u.reject.req_id = req;
    o->u.reject.reason = why;
    o->u.reject.leader_hint = p->leader;
}

static void reject_batch(struct ord_paxos *p, const struct smr_buf *b)
{
    struct smr_batch_iter it;
    struct smr_request r;
    if (smr_batch_iter_init(&it, b->data, b->len) != SMR_OK)
        return;
    while (smr_batch_next(&it, &r) == SMR_OK)
        reject(p, r.client_id, r.req_id, ORD_REJECT_NOT_LEADER);
}

/* Drops every request waiting for a slot, telling its client. */
static void reject_pending(struct ord_paxos *p)
{
    if (p->open_count)
        reject_batch(p, &p->open_batch);
    p->open_count = 0;
    smr_buf_reset(&p->open_batch);
    while (p->ready_len) {
        reject_batch(p, &p->ready[p->ready_head]);
        smr_buf_free(&p->ready[p->ready_head]);
        p->ready_head = (p->ready_head + 1) % p->ready_cap;
        p->ready_len--;
    }
    p->pending_requests = 0;
}

static void become_follower(struct ord_paxos *p, smr_node_id leader,
                            uint64_t now_ms)
{
    bool was_leading = p->role != PAXOS_FOLLOWER;
    p->role = PAXOS_FOLLOWER;
    p->leader = leader;
    p->last_heard_ms = now_ms;
    reject_pending(p);
    if (was_leading)
        arm_election(p);
}

/* Raises the promise (in memory and durably). Returns the write's LSN. */
static smr_lsn raise_promise(struct ord_paxos *p, uint64_t ballot)
{
    PAXOS_INVARIANT(ballot > p->promised);
    p->promised = ballot;
    p->promise_lsn = persist_u64(p, ORD_PAXOS_STATE_PROMISE, ballot);
    return p->promise_lsn;
}

static void start_election(struct ord_paxos *p, uint64_t now_ms)
{
    (void)now_ms;
    reject_pending(p);
    p->role = PAXOS_CANDIDATE;
    p->leader = ORD_TO_ALL;
    uint64_t seen = p->promised > p->max_seen_ballot ? p->promised
                                                     : p->max_seen_ballot;
    uint64_t round = (seen >> 8) + 1;
    p->ballot = (round << 8) | p->cfg.self;
    raise_promise(p, p->ballot);
    memset(p->p1, 0, sizeof p->p1);
    p->p1_done = 0;
    for (smr_node_id i = 0; i < p->cfg.n_replicas; i++) {
        p->p1[i].next = p->chosen_upto + 1;
        if (i == p->cfg.self)
            continue;
        struct ord_paxos_msg *m = msg_new(p, ORD_PAXOS_PREPARE, 0);
        m->ballot = p->ballot;
        m->slot = p->chosen_upto + 1;
        send_msg(p, i, 0, m);
    }
    arm_election(p);
}

static void become_leader(struct ord_paxos *p, uint64_t now_ms);

/* -------------------------------------------------------- leader: phase 2 */

static uint32_t popcount32(uint32_t v)
{
    return (uint32_t)__builtin_popcount(v);
}

/* Marks a leader's slot chosen once a quorum, its own durable vote
 * included, has accepted it at the current ballot. */
static void check_chosen(struct ord_paxos *p, struct paxos_slot *s)
{
    if (s->chosen || s->ballot != p->ballot)
        return;
    uint32_t votes = popcount32(s->votes);
    if (s->lsn <= p->durable_lsn)
        votes++;
    if (smr_mutant == SMR_MUTANT_COMMIT_WITHOUT_QUORUM)
        votes++; /* deliberate bug: a vote we do not have */
    if (votes >= p->majority)
        s->chosen = true;
}

/* Sends ACCEPT for slots [from, to], in messages of bounded size. */
static void send_accepts(struct ord_paxos *p, smr_seq from, smr_seq to)
{
    while (from <= to) {
        uint32_t n = 0;
        size_t bytes = 0;
        while (from + n <= to && n < ORD_PAXOS_ENTRIES_MAX &&
               bytes < SMR_FRAME_BYTES_MAX / 2) {
            bytes += slot_peek(p, from + n)->value.len + 64;
            n++;
        }
        struct ord_paxos_msg *m = msg_new(p, ORD_PAXOS_ACCEPT, n);
        m->ballot = p->ballot;
        m->commit_upto = p->chosen_upto;
        m->n_entries = n;
        for (uint32_t i = 0; i < n; i++)
            slot_entry(slot_peek(p, from + i),
                       (struct ord_paxos_entry *)&m->entries[i]);
        for (smr_node_id i = 0; i < p->cfg.n_replicas; i++)
            if (i != p->cfg.self)
                send_msg(p, i, 0, m);
        from += n;
    }
}

/* Stores a new proposal at next_slot and writes the leader's own copy. */
static struct paxos_slot *propose_value(struct ord_paxos *p,
                                        const struct smr_buf *batch,
                                        uint64_t now_ms)
{
    struct paxos_slot *s = slot_at(p, p->next_slot);
    PAXOS_INVARIANT(s && s->ballot == 0);
    note_time(p, now_ms);
    struct ord_paxos_entry e = {
        .slot = p->next_slot,
        .epoch = p->cfg.epoch,
        .leader_time_ms = p->last_time_ms,
        .batch = batch->data,
        .batch_len = (uint32_t)batch->len,
    };
    slot_set_value(s, p->ballot, &e);
    s->votes = 0;
    persist_slot(p, s);
    p->next_slot++;
    if (s->slot > p->max_slot)
        p->max_slot = s->slot;
    return s;
}

static bool window_open(const struct ord_paxos *p)
{
    return p->next_slot <= p->chosen_upto + p->cfg.window &&
           p->next_slot < p->base + PAXOS_CAP;
}

static void close_open_batch(struct ord_paxos *p)
{
    if (p->open_count == 0)
        return;
    p->ready = ord_ring_room(p->ready, &p->ready_head, p->ready_len,
                             &p->ready_cap, sizeof *p->ready);
    uint32_t tail = (p->ready_head + p->ready_len) % p->ready_cap;
    p->ready[tail] = p->open_batch; /* moves ownership of the bytes */
    p->ready_len++;
    smr_buf_init(&p->open_batch);
    p->open_count = 0;
}

/* Proposes ready batches while the window has room. `flush` also closes
 * the batch being filled. */
static void propose_pending(struct ord_paxos *p, uint64_t now_ms, bool flush)
{
    if (p->role != PAXOS_LEADER)
        return;
    if (flush && p->ready_len == 0 && window_open(p))
        close_open_batch(p);
    smr_seq first = p->next_slot;
    while (p->ready_len && window_open(p)) {
        struct smr_buf *b = &p->ready[p->ready_head];
        p->pending_requests -= smr_batch_count(b->data, b->len);
        propose_value(p, b, now_ms);
        smr_buf_free(b);
        p->ready_head = (p->ready_head + 1) % p->ready_cap;
        p->ready_len--;
        if (flush && p->ready_len == 0 && window_open(p))
            close_open_batch(p);
    }
    if (p->next_slot > first) {
        send_accepts(p, first, p->next_slot - 1);
        for (smr_seq s = first; s < p->next_slot; s++)
            check_chosen(p, slot_at(p, s)); /* n = 1: own vote suffices */
        deliver(p);
    }
}

static void on_request(struct ord_paxos *p, uint64_t now_ms,
                       const struct smr_request *r)
{
    if (p->role != PAXOS_LEADER) {
        reject(p, r->client_id, r->req_id, ORD_REJECT_NOT_LEADER);
        return;
    }
    if (p->pending_requests >= p->cfg.pending_max ||
        r->op_len > SMR_OP_BYTES_MAX) {
        reject(p, r->client_id, r->req_id, ORD_REJECT_BUSY);
        return;
    }
    if (p->open_count > 0 &&
        (p->open_count >= p->cfg.batch_max ||
         p->open_batch.len + smr_batch_entry_bytes(r) > p->cfg.batch_bytes_max))
        close_open_batch(p);
    if (p->open_count == 0 && smr_batch_begin(&p->open_batch) != SMR_OK)
        abort();
    if (smr_batch_add(&p->open_batch, r) != SMR_OK) {
        reject(p, r->client_id, r->req_id, ORD_REJECT_BUSY);
        return;
    }
    p->open_count++;
    p->pending_requests++;
    if (p->open_count >= p->cfg.batch_max)
        propose_pending(p, now_ms, false);
}

/* ------------------------------------------------------ acceptor: phase 1 */

static bool leader_alive(const struct ord_paxos *p, uint64_t now_ms)
{
    if (p->role == PAXOS_LEADER)
        return true;
    return p->role == PAXOS_FOLLOWER && p->leader != ORD_TO_ALL &&
           now_ms - p->last_heard_ms < p->cfg.election_timeout_ms;
}

static void send_nack(struct ord_paxos *p, smr_node_id to)
{
    struct ord_paxos_msg *m = msg_new(p, ORD_PAXOS_NACK, 0);
    m->ballot = p->promised;
    send_msg(p, to, 0, m);
}

/* One page of accepted entries from `from_slot`, after the promise is
 * durable. Slots below the window are chosen and freed: the page starts at
 * the window, and the candidate sees the gap in `slot`. */
static void send_promise_page(struct ord_paxos *p, smr_node_id to,
                              smr_seq from_slot)
{
    smr_seq first = from_slot > p->base ? from_slot : p->base;
    uint32_t n = 0;
    size_t bytes = 0;
    smr_seq s = first;
    struct ord_paxos_msg *m =
        msg_new(p, ORD_PAXOS_PROMISE, ORD_PAXOS_ENTRIES_MAX);
    struct ord_paxos_entry *e = (struct ord_paxos_entry *)m->entries;
    for (; s <= p->max_slot; s++) {
        const struct paxos_slot *sl = slot_peek(p, s);
        if (!sl || sl->ballot == 0)
            continue;
        if (n == ORD_PAXOS_ENTRIES_MAX || bytes > SMR_FRAME_BYTES_MAX / 2)
            break;
        slot_entry(sl, &e[n]);
        if (sl->chosen)
            e[n].ballot = PAXOS_BALLOT_CHOSEN;
        bytes += sl->value.len + 64;
        n++;
    }
    m->ballot = p->promised;
    m->slot = first;
    m->commit_upto = p->chosen_upto;
    m->n_entries = n;
    m->more = s <= p->max_slot;
    send_msg(p, to, p->promise_lsn, m);
}

static void on_prepare(struct ord_paxos *p, uint64_t now_ms,
                       const struct ord_paxos_msg *m)
{
    if (m->ballot < p->promised) {
        send_nack(p, m->from);
        return;
    }
    if (m->ballot > p->promised) {
        /* Leader stickiness: while a live leader is heard, a replica that
         * merely lost touch with it cannot depose it. */
        if (leader_alive(p, now_ms))
            return;
        raise_promise(p, m->ballot);
        become_follower(p, ORD_TO_ALL, now_ms);
    }
    send_promise_page(p, m->from, m->slot);
}

/* ----------------------------------------------------- candidate: phase 1 */

static void ask_catchup(struct ord_paxos *p, uint64_t now_ms, smr_node_id to,
                        smr_seq from, smr_seq to_slot)
{
    if (from > to_slot || to == p->cfg.self)
        return;
    if (from == p->catchup_from &&
        now_ms - p->catchup_sent_ms < p->cfg.heartbeat_ms)
        return; /* one request per progress step or per heartbeat */
    uint64_t count = to_slot - from + 1;
    if (count > ORD_PAXOS_ENTRIES_MAX)
        count = ORD_PAXOS_ENTRIES_MAX;
    struct ord_paxos_msg *m = msg_new(p, ORD_PAXOS_CATCHUP_REQ, 0);
    m->slot = from;
    m->slot_count = (uint32_t)count;
    send_msg(p, to, 0, m);
    p->catchup_from = from;
    p->catchup_sent_ms = now_ms;
}

static void merge_promised(struct ord_paxos *p, const struct ord_paxos_entry *e)
{
    struct paxos_slot *s = slot_at(p, e->slot);
    PAXOS_INVARIANT(s);
    note_time(p, e->leader_time_ms);
    if (e->slot > p->p1_top)
        p->p1_top = e->slot;
    if (s->best_for == p->ballot && s->best_ballot >= e->ballot)
        return;
    s->best_for = p->ballot;
    s->best_ballot = e->ballot;
    s->best_epoch = e->epoch;
    s->best_time_ms = e->leader_time_ms;
    if (smr_buf_set(&s->best_value, e->batch, e->batch_len) != SMR_OK)
        abort();
}

static bool p1_quorum(const struct ord_paxos *p)
{
    uint32_t n = popcount32(p->p1_done);
    if (p->promise_lsn <= p->durable_lsn)
        n++;
    return n >= p->majority;
}

static void on_promise(struct ord_paxos *p, uint64_t now_ms,
                       const struct ord_paxos_msg *m)
{
    smr_node_id q = m->from;
    if (p->role != PAXOS_CANDIDATE || m->ballot != p->ballot ||
        (p->p1_done & (1u << q)) || m->slot < p->p1[q].next)
        return;
    /* The promiser freed chosen slots we lack, or is far ahead: catch up
     * from it first; a later election will include it. */
    if (m->slot > p->p1[q].next ||
        m->commit_upto > p->chosen_upto + PAXOS_CAP / 4) {
        ask_catchup(p, now_ms, q, p->chosen_upto + 1, m->commit_upto);
        return;
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct ord_paxos_entry *e = &m->entries[i];
        if (e->slot < m->slot || (i > 0 && e->slot <= m->entries[i - 1].slot)) {
            p->dropped++;
            return;
        }
        if (e->slot < p->base)
            continue;
        if (e->slot >= p->base + PAXOS_CAP) {
            ask_catchup(p, now_ms, q, p->chosen_upto + 1, m->commit_upto);
            return;
        }
    }
    for (uint32_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].slot >= p->base)
            merge_promised(p, &m->entries[i]);
    if (m->more && m->n_entries > 0) {
        p->p1[q].next = m->entries[m->n_entries - 1].slot + 1;
        struct ord_paxos_msg *r = msg_new(p, ORD_PAXOS_PREPARE, 0);
        r->ballot = p->ballot;
        r->slot = p->p1[q].next;
        send_msg(p, q, 0, r);
        return;
    }
    p->p1_done |= 1u << q;
    if (p1_quorum(p))
        become_leader(p, now_ms);
}

/* Chooses the value to re-propose for a slot above the commit point: the
 * highest ballot among our own accepted value and what promises reported
 * (a chosen value outranks all), else a no-op. */
static void adopt_value(struct ord_paxos *p, struct paxos_slot *s)
{
    bool best = s->best_for == p->ballot;
    if (s->chosen || (s->ballot && (!best || s->ballot >= s->best_ballot))) {
        s->ballot = p->ballot; /* same bytes, new ballot */
        return;
    }
    if (best) {
        struct ord_paxos_entry e = {
            .epoch = s->best_epoch,
            .leader_time_ms = s->best_time_ms,
            .batch = s->best_value.data,
            .batch_len = (uint32_t)s->best_value.len,
        };
        slot_set_value(s, p->ballot, &e);
        return;
    }
    struct ord_paxos_entry noop = {
        .epoch = p->cfg.epoch,
        .leader_time_ms = p->last_time_ms,
    };
    slot_set_value(s, p->ballot, &noop);
}

/* COMMIT to every peer: the leader's heartbeat and its commit point. */
static void send_heartbeat(struct ord_paxos *p)
{
    struct ord_paxos_msg *m = msg_new(p, ORD_PAXOS_COMMIT, 0);
    m->ballot = p->ballot;
    m->commit_upto = p->chosen_upto;
    send_msg(p, ORD_TO_ALL, 0, m);
}

static void become_leader(struct ord_paxos *p, uint64_t now_ms)
{
    p->role = PAXOS_LEADER;
    p->leader = p->cfg.self;
    smr_seq top = p->max_slot > p->p1_top ? p->max_slot : p->p1_top;
    for (smr_seq slot = p->chosen_upto + 1; slot <= top; slot++) {
        struct paxos_slot *s = slot_at(p, slot);
        PAXOS_INVARIANT(s);
        bool was_chosen = s->chosen;
        adopt_value(p, s);
        s->votes = 0;
        persist_slot(p, s);
        s->chosen = was_chosen;
    }
    p->max_slot = top;
    p->next_slot = top + 1;
    for (smr_node_id i = 0; i < p->cfg.n_replicas; i++)
        p->last_ack_ms[i] = now_ms;
    if (top > p->chosen_upto)
        send_accepts(p, p->chosen_upto + 1, top);
    send_heartbeat(p);
    set_timer(p, ORD_PAXOS_TIMER_HEARTBEAT, ++p->heartbeat_gen,
              p->cfg.heartbeat_ms);
    for (smr_seq slot = p->chosen_upto + 1; slot <= top; slot++)
        check_chosen(p, slot_at(p, slot));
    deliver(p);
}

/* ------------------------------------------------------ acceptor: phase 2 */

/* Marks chosen what the leader of `ballot` says is committed and we hold at
 * that ballot; asks for the rest. Only that leader's own commit point counts:
 * a slot we hold at its ballot carries the value it chose there, but a commit
 * point heard from anyone else (leader_commit) may cover a value chosen at a
 * higher ballot in our slot instead. */
static void learn_commit(struct ord_paxos *p, uint64_t now_ms,
                         uint64_t ballot, smr_seq commit_upto, smr_node_id q)
{
    if (commit_upto > p->leader_commit)
        p->leader_commit = commit_upto;
    smr_seq end = commit_upto;
    if (end >= p->base + PAXOS_CAP)
        end = p->base + PAXOS_CAP - 1;
    for (smr_seq slot = p->chosen_upto + 1; slot <= end; slot++) {
        struct paxos_slot *s = &p->slots[slot % PAXOS_CAP];
        if (s->slot == slot && !s->chosen && s->ballot == ballot)
            s->chosen = true;
    }
    deliver(p);
    if (p->chosen_upto < p->leader_commit)
        ask_catchup(p, now_ms, q, p->chosen_upto + 1, p->leader_commit);
}

/* Accepts a leader's ballot for messages that carry one (ACCEPT, COMMIT).
 * Returns false when the ballot is stale (a NACK was sent). */
static bool follow_ballot(struct ord_paxos *p, uint64_t now_ms,
                          const struct ord_paxos_msg *m, smr_lsn *after)
{
    if (m->ballot < p->promised) {
        send_nack(p, m->from);
        return false;
    }
    if (m->ballot > p->promised)
        raise_promise(p, m->ballot);
    /* Any ack of this ballot waits for the promise write, including one made
     * by an earlier message at the same ballot that is not durable yet. */
    *after = p->promise_lsn;
    if (p->role != PAXOS_FOLLOWER || p->leader != m->from)
        become_follower(p, m->from, now_ms);
    p->last_heard_ms = now_ms;
    return true;
}

static void on_accept(struct ord_paxos *p, uint64_t now_ms,
                      const struct ord_paxos_msg *m)
{
    for (uint32_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].slot != m->entries[0].slot + i ||
            m->entries[0].slot == 0) {
            p->dropped++;
            return;
        }
    smr_lsn after = 0;
    if (!follow_ballot(p, now_ms, m, &after))
        return;
    uint32_t n = 0;
    for (; n < m->n_entries; n++) {
        const struct ord_paxos_entry *e = &m->entries[n];
        if (e->slot <= p->chosen_upto) {
            /* Chosen here already: the value is the same. The ack still
             * waits for our record of it (slots below base are durable). */
            const struct paxos_slot *c = slot_peek(p, e->slot);
            if (c && c->lsn > after)
                after = c->lsn;
            continue;
        }
        if (!slot_acceptable(p, e->slot))
            break;
        struct paxos_slot *s = slot_at(p, e->slot);
        if (!s->chosen && s->ballot != m->ballot) {
            slot_set_value(s, m->ballot, e);
            persist_slot(p, s);
        }
        if (s->lsn > after)
            after = s->lsn;
        if (e->slot > p->max_slot)
            p->max_slot = e->slot;
    }
    if (n > 0) {
        struct ord_paxos_msg *r = msg_new(p, ORD_PAXOS_ACCEPTED, 0);
        r->ballot = m->ballot;
        r->slot = m->entries[0].slot;
        r->slot_count = n;
        r->commit_upto = p->chosen_upto;
        if (smr_mutant == SMR_MUTANT_VOTE_BEFORE_DURABLE)
            after = 0; /* deliberate bug: the vote may be lost in a crash */
        send_msg(p, m->from, after, r);
    }
    learn_commit(p, now_ms, m->ballot, m->commit_upto, m->from);
}

static void on_commit(struct ord_paxos *p, uint64_t now_ms,
                      const struct ord_paxos_msg *m)
{
    smr_lsn after = 0;
    if (!follow_ballot(p, now_ms, m, &after))
        return;
    learn_commit(p, now_ms, m->ballot, m->commit_upto, m->from);
    struct ord_paxos_msg *r = msg_new(p, ORD_PAXOS_ACCEPTED, 0);
    r->ballot = m->ballot;
    r->commit_upto = p->chosen_upto;
    send_msg(p, m->from, after, r);
}

/* -------------------------------------------------------- leader: votes */

static void on_accepted(struct ord_paxos *p, uint64_t now_ms,
                        const struct ord_paxos_msg *m)
{
    if (p->role != PAXOS_LEADER || m->ballot != p->ballot)
        return;
    p->last_ack_ms[m->from] = now_ms;
    for (uint64_t i = 0; i < m->slot_count; i++) {
        struct paxos_slot *s = (struct paxos_slot *)slot_peek(p, m->slot + i);
        if (!s || s->ballot != p->ballot)
            continue;
        s->votes |= 1u << m->from;
        check_chosen(p, s);
    }
    deliver(p);
    propose_pending(p, now_ms, false);
}

static void on_nack(struct ord_paxos *p, uint64_t now_ms,
                    const struct ord_paxos_msg *m)
{
    if (m->ballot > p->max_seen_ballot)
        p->max_seen_ballot = m->ballot;
    if (p->role != PAXOS_FOLLOWER && m->ballot > p->ballot)
        become_follower(p, ORD_TO_ALL, now_ms);
}

/* -------------------------------------------------------- catch-up */

static void on_catchup_req(struct ord_paxos *p, const struct ord_paxos_msg *m)
{
    if (m->slot == 0 || m->slot > p->chosen_upto || m->slot_count == 0)
        return;
    uint64_t count = m->slot_count;
    if (count > ORD_PAXOS_ENTRIES_MAX)
        count = ORD_PAXOS_ENTRIES_MAX;
    smr_seq last = m->slot + count - 1;
    if (last > p->chosen_upto)
        last = p->chosen_upto;
    if (m->slot < p->base) {
        struct ord_output *o = out_push(p, ORD_OUT_FETCH);
        o->u.fetch.to = m->from;
        o->u.fetch.from_seq = m->slot;
        o->u.fetch.to_seq = last < p->base ? last : p->base - 1;
        return;
    }
    uint32_t n = (uint32_t)(last - m->slot + 1);
    struct ord_paxos_msg *r = msg_new(p, ORD_PAXOS_CATCHUP, n);
    struct ord_paxos_entry *e = (struct ord_paxos_entry *)r->entries;
    size_t bytes = 0;
    uint32_t i = 0;
    for (; i < n && bytes < SMR_FRAME_BYTES_MAX / 2; i++) {
        slot_entry(slot_peek(p, m->slot + i), &e[i]);
        e[i].ballot = PAXOS_BALLOT_CHOSEN;
        bytes += e[i].batch_len + 64;
    }
    r->n_entries = i;
    r->commit_upto = p->chosen_upto;
    send_msg(p, m->from, 0, r);
}

static bool same_value(const struct paxos_slot *s,
                       const struct ord_paxos_entry *e)
{
    return s->epoch == e->epoch && s->leader_time_ms == e->leader_time_ms &&
           s->value.len == e->batch_len &&
           (e->batch_len == 0 ||
            memcmp(s->value.data, e->batch, e->batch_len) == 0);
}

static void on_catchup(struct ord_paxos *p, uint64_t now_ms,
                       const struct ord_paxos_msg *m)
{
    /* A leader hearing that a slot it has not chosen yet holds a value other
     * than its own proposal there (or that a slot it has not proposed into
     * is chosen) learns that a higher ballot chose it: its own ballot can
     * never be chosen there, and it must neither announce that slot committed
     * at its ballot (followers holding its proposal would take the proposal
     * as chosen) nor propose into it. It steps down before learning. */
    if (p->role == PAXOS_LEADER) {
        for (uint32_t i = 0; i < m->n_entries; i++) {
            const struct ord_paxos_entry *e = &m->entries[i];
            if (e->slot <= p->chosen_upto || !slot_acceptable(p, e->slot))
                continue;
            const struct paxos_slot *s = slot_peek(p, e->slot);
            if (e->slot >= p->next_slot || !s || !same_value(s, e)) {
                become_follower(p, ORD_TO_ALL, now_ms);
                break;
            }
        }
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct ord_paxos_entry *e = &m->entries[i];
        if (e->slot <= p->chosen_upto)
            continue;
        if (!slot_acceptable(p, e->slot))
            break;
        struct paxos_slot *s = slot_at(p, e->slot);
        if (s->chosen)
            continue;
        slot_set_value(s, PAXOS_BALLOT_CHOSEN, e);
        s->chosen = true;
        persist_slot(p, s);
        if (e->slot > p->max_slot)
            p->max_slot = e->slot;
    }
    if (m->commit_upto > p->leader_commit)
        p->leader_commit = m->commit_upto;
    deliver(p);
    if (p->chosen_upto < p->leader_commit)
        ask_catchup(p, now_ms, m->from, p->chosen_upto + 1, p->leader_commit);
}

/* -------------------------------------------------------- timers, disk */

static void on_election_timer(struct ord_paxos *p, uint64_t now_ms)
{
    write_commit_mark(p, true);
    if (p->role == PAXOS_LEADER)
        return;
    if (p->role == PAXOS_FOLLOWER &&
        now_ms - p->last_heard_ms < p->cfg.election_timeout_ms) {
        arm_election(p);
        return;
    }
    start_election(p, now_ms);
}

static void on_heartbeat_timer(struct ord_paxos *p, uint64_t now_ms)
{
    if (p->role != PAXOS_LEADER)
        return;
    uint32_t live = 1;
    for (smr_node_id i = 0; i < p->cfg.n_replicas; i++)
        if (i != p->cfg.self &&
            now_ms - p->last_ack_ms[i] < p->cfg.election_timeout_ms)
            live++;
    if (live < p->majority) { /* check quorum: a cut-off leader steps down */
        become_follower(p, ORD_TO_ALL, now_ms);
        return;
    }
    send_heartbeat(p);
    /* Accepts or their acks may have been lost: re-send the oldest slots
     * still open (acceptors re-ack without rewriting). */
    if (p->next_slot > p->chosen_upto + 1) {
        smr_seq last = p->next_slot - 1;
        if (last > p->chosen_upto + ORD_PAXOS_ENTRIES_MAX)
            last = p->chosen_upto + ORD_PAXOS_ENTRIES_MAX;
        send_accepts(p, p->chosen_upto + 1, last);
    }
    write_commit_mark(p, true);
    set_timer(p, ORD_PAXOS_TIMER_HEARTBEAT, ++p->heartbeat_gen,
              p->cfg.heartbeat_ms);
}

static void on_persisted(struct ord_paxos *p, uint64_t now_ms, smr_lsn lsn)
{
    if (lsn <= p->durable_lsn)
        return;
    assert(lsn <= p->next_lsn);
    p->durable_lsn = lsn;
    if (p->commit_mark_lsn && p->commit_mark_lsn <= lsn)
        p->mark_durable = p->commit_mark;
    if (p->role == PAXOS_LEADER) {
        for (smr_seq s = p->chosen_upto + 1; s < p->next_slot; s++) {
            struct paxos_slot *sl = (struct paxos_slot *)slot_peek(p, s);
            if (sl)
                check_chosen(p, sl);
        }
        deliver(p);
        propose_pending(p, now_ms, false);
    } else if (p->role == PAXOS_CANDIDATE && p1_quorum(p)) {
        become_leader(p, now_ms);
    }
    advance_durable(p);
    write_commit_mark(p, false);
}

/* ------------------------------------------------------------ dispatch */

static bool msg_valid(const struct ord_paxos *p, const struct ord_event *ev)
{
    const struct ord_paxos_msg *m = ev->u.message.msg;
    if (!m || ev->u.message.from != m->from || m->from >= p->cfg.n_replicas ||
        m->from == p->cfg.self || m->type < ORD_PAXOS_PREPARE ||
        m->type > ORD_PAXOS_MSG__MAX || m->n_entries > ORD_PAXOS_ENTRIES_MAX)
        return false;
    if (m->n_entries && !m->entries)
        return false;
    switch (m->type) {
    case ORD_PAXOS_PREPARE:
    case ORD_PAXOS_ACCEPT:
    case ORD_PAXOS_COMMIT:
        return ballot_node(m->ballot) == m->from && m->ballot != 0;
    default:
        return true;
    }
}

static void on_message(struct ord_paxos *p, uint64_t now_ms,
                       const struct ord_event *ev)
{
    if (!msg_valid(p, ev)) {
        p->dropped++;
        return;
    }
    const struct ord_paxos_msg *m = ev->u.message.msg;
    switch (m->type) {
    case ORD_PAXOS_PREPARE: on_prepare(p, now_ms, m); break;
    case ORD_PAXOS_PROMISE: on_promise(p, now_ms, m); break;
    case ORD_PAXOS_ACCEPT: on_accept(p, now_ms, m); break;
    case ORD_PAXOS_ACCEPTED: on_accepted(p, now_ms, m); break;
    case ORD_PAXOS_NACK: on_nack(p, now_ms, m); break;
    case ORD_PAXOS_COMMIT: on_commit(p, now_ms, m); break;
    case ORD_PAXOS_CATCHUP_REQ: on_catchup_req(p, m); break;
    case ORD_PAXOS_CATCHUP: on_catchup(p, now_ms, m); break;
    }
}

static void step_begin(struct ord_paxos *p)
{
    p->n_outs = 0;
    ord_arena_reset(&p->arena);
    gc_slots(p);
}

int ord_paxos_step(struct ord_paxos *p, uint64_t now_ms,
                   const struct ord_event *ev, const struct ord_output **outs,
                   size_t *n_outs)
{
    assert(p && p->started && ev && outs && n_outs);
    step_begin(p);
    switch (ev->type) {
    case ORD_EV_MESSAGE: on_message(p, now_ms, ev); break;
    case ORD_EV_REQUEST: on_request(p, now_ms, &ev->u.request); break;
    case ORD_EV_FLUSH: propose_pending(p, now_ms, true); break;
    case ORD_EV_TIMER:
        if (ev->u.timer.id == ORD_PAXOS_TIMER_ELECTION &&
            ev->u.timer.generation == p->election_gen)
            on_election_timer(p, now_ms);
        else if (ev->u.timer.id == ORD_PAXOS_TIMER_HEARTBEAT &&
                 ev->u.timer.generation == p->heartbeat_gen)
            on_heartbeat_timer(p, now_ms);
        break;
    case ORD_EV_PERSISTED: on_persisted(p, now_ms, ev->u.persisted.lsn); break;
    case ORD_EV_CHECKPOINT: /* truncation comes with snapshots */
    case ORD_EV_STATE_INSTALLED: break;
    }
    *outs = p->outs;
    *n_outs = p->n_outs;
    return SMR_OK;
}

/* ------------------------------------------------------ life cycle */

int ord_paxos_new(const struct ord_paxos_config *c, struct ord_paxos **out)
{
    if (ord_paxos_config_check(c, NULL, 0) != SMR_OK)
        return SMR_ECONFIG;
    struct ord_paxos *p = calloc(1, sizeof *p);
    if (!p)
        return SMR_ENOMEM;
    p->slots = calloc(PAXOS_CAP, sizeof *p->slots);
    if (!p->slots) {
        free(p);
        return SMR_ENOMEM;
    }
    p->cfg = *c;
    p->majority = c->n_replicas / 2 + 1;
    p->rng = c->rng_seed ? c->rng_seed : 0x9E3779B97F4A7C15ULL;
    p->base = 1;
    p->leader = ORD_TO_ALL;
    smr_buf_init(&p->open_batch);
    *out = p;
    return SMR_OK;
}

void ord_paxos_destroy(struct ord_paxos **pp)
{
    if (!pp || !*pp)
        return;
    struct ord_paxos *p = *pp;
    for (size_t i = 0; i < PAXOS_CAP; i++) {
        smr_buf_free(&p->slots[i].value);
        smr_buf_free(&p->slots[i].best_value);
    }
    for (uint32_t i = 0; i < p->ready_len; i++)
        smr_buf_free(&p->ready[(p->ready_head + i) % p->ready_cap]);
    free(p->ready);
    smr_buf_free(&p->open_batch);
    free(p->slots);
    free(p->outs);
    ord_arena_free(&p->arena);
    free(p);
    *pp = NULL;
}

int ord_paxos_recover_state(struct ord_paxos *p, const char *key,
                            const uint8_t *data, size_t len)
{
    assert(!p->started);
    uint64_t v;
    if (paxos_u64_record_decode(data, len, &v) != SMR_OK)
        return SMR_ECORRUPT;
    if (strcmp(key, ORD_PAXOS_STATE_PROMISE) == 0) {
        if (smr_mutant == SMR_MUTANT_FORGET_PROMISE)
            return SMR_OK; /* deliberate bug: the promise is forgotten */
        if (v > p->promised)
            p->promised = v;
    } else if (strcmp(key, ORD_PAXOS_STATE_COMMIT) == 0) {
        p->chosen_upto = v;
        p->base = v + 1;
        p->durable_chosen_upto = v;
        p->commit_mark = v;
        p->mark_durable = v;
        p->recovered_commit = v;
        p->leader_commit = v;
        p->max_slot = v;
    } else {
        return SMR_EINVAL;
    }
    return SMR_OK;
}

smr_seq ord_paxos_recover_log_from(const struct ord_paxos *p)
{
    return p->chosen_upto + 1;
}

int ord_paxos_recover_log(struct ord_paxos *p, smr_seq slot,
                          const uint8_t *data, size_t len)
{
    assert(!p->started);
    struct ord_paxos_entry e;
    if (ord_paxos_record_decode(data, len, slot, &e) != SMR_OK)
        return SMR_ECORRUPT;
    if (slot <= p->chosen_upto)
        return SMR_OK;
    struct paxos_slot *s = slot_at(p, slot);
    if (!s)
        return SMR_ECORRUPT; /* more accepted slots than a window holds */
    slot_set_value(s, e.ballot, &e);
    s->chosen = e.ballot == PAXOS_BALLOT_CHOSEN;
    s->lsn = 0;
    if (!s->chosen && e.ballot > p->promised &&
        smr_mutant != SMR_MUTANT_FORGET_PROMISE)
        p->promised = e.ballot;
    if (slot > p->max_slot)
        p->max_slot = slot;
    note_time(p, e.leader_time_ms);
    return SMR_OK;
}

smr_seq ord_paxos_recovered_commit(const struct ord_paxos *p)
{
    return p->recovered_commit;
}

int ord_paxos_start(struct ord_paxos *p, uint64_t now_ms,
                    const struct ord_output **outs, size_t *n_outs)
{
    assert(!p->started);
    p->started = true;
    step_begin(p);
    p->last_heard_ms = now_ms;
    deliver(p);
    advance_durable(p);
    if (p->cfg.n_replicas == 1)
        start_election(p, now_ms);
    else
        arm_election(p);
    *outs = p->outs;
    *n_outs = p->n_outs;
    return SMR_OK;
}

bool ord_paxos_is_leader(const struct ord_paxos *p)
{
    return p->role == PAXOS_LEADER;
}

smr_node_id ord_paxos_leader_hint(const struct ord_paxos *p)
{
    return p->leader;
}

smr_seq ord_paxos_commit_upto(const struct ord_paxos *p)
{
    return p->chosen_upto;
}

uint64_t ord_paxos_ballot(const struct ord_paxos *p)
{
    return p->role == PAXOS_FOLLOWER ? p->promised : p->ballot;
}

uint64_t ord_paxos_dropped_messages(const struct ord_paxos *p)
{
    return p->dropped;
}
