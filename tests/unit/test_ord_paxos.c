/*
 * test_ord_paxos.c: the Multi-Paxos core in a small deterministic harness.
 *
 * One thread drives N cores on a virtual clock: a seeded network that drops,
 * duplicates and delays (hence reorders) messages, a virtual disk per
 * replica whose syncs complete after a delay and that loses a random subset
 * of unsynced writes on a crash, and clients that retry with the same
 * request id. After every event the harness checks agreement (no two
 * replicas commit different batches at one sequence number) and that each
 * replica's Committed stream is gap-free; at the end, after the faults stop,
 * every request must have committed (liveness) and every replica must hold
 * the same log. Each test prints its seed; a failing seed is replayed by
 * setting PAXOS_SEED.
 *
 * The harness also enforces the driver's half of the durability rule: a
 * send with after_lsn is held until that LSN is durable.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paxos.h"
#include "paxos_internal.h" /* debug dumps only */

#define NODES_MAX 5
#define CLIENTS_MAX 8
#define SEQ_MAX 20000
#define KEYS_MAX 4

/* ------------------------------------------------------------ rng */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static bool chance(unsigned permille)
{
    return rnd() % 1000 < permille;
}

/* ------------------------------------------------------ message copies */

struct net_msg {
    struct net_msg *next;
    uint64_t at_ms;
    uint64_t order; /* ties broken by a counter */
    smr_node_id from, to;
    struct ord_paxos_msg msg;
    struct ord_paxos_entry *entries;
    uint8_t *bytes;
};

static struct net_msg *msg_copy(const struct ord_paxos_msg *m)
{
    struct net_msg *c = calloc(1, sizeof *c);
    size_t total = 0;
    for (uint32_t i = 0; i < m->n_entries; i++)
        total += m->entries[i].batch_len;
    c->msg = *m;
    c->entries = calloc(m->n_entries ? m->n_entries : 1, sizeof *c->entries);
    c->bytes = malloc(total ? total : 1);
    size_t off = 0;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        c->entries[i] = m->entries[i];
        memcpy(c->bytes + off, m->entries[i].batch, m->entries[i].batch_len);
        c->entries[i].batch = c->bytes + off;
        off += m->entries[i].batch_len;
    }
    c->msg.entries = c->entries;
    return c;
}

static void msg_free(struct net_msg *c)
{
    free(c->entries);
    free(c->bytes);
    free(c);
}

/* ------------------------------------------------------------ disk */

struct record {
    bool is_log;
    uint64_t index;
    char key[32];
    uint8_t *data;
    uint32_t len;
};

struct disk {
    /* durable image */
    struct record *log; /* indexed by slot, len 0 = absent */
    size_t log_cap;
    struct record promise, commit;
    /* pending writes in LSN order */
    struct record *pending;
    size_t n_pending, pending_cap;
    smr_lsn pending_first_lsn; /* LSN of pending[0] */
    uint64_t sync_at_ms;       /* 0: no sync scheduled */
};

static void rec_set(struct record *dst, const struct record *src)
{
    free(dst->data);
    *dst = *src;
    dst->data = malloc(src->len ? src->len : 1);
    memcpy(dst->data, src->data, src->len);
}

static void disk_apply(struct disk *d, const struct record *r)
{
    if (r->is_log) {
        if (r->index >= d->log_cap) {
            size_t cap = d->log_cap ? d->log_cap : 1024;
            while (cap <= r->index)
                cap *= 2;
            d->log = realloc(d->log, cap * sizeof *d->log);
            memset(d->log + d->log_cap, 0,
                   (cap - d->log_cap) * sizeof *d->log);
            d->log_cap = cap;
        }
        rec_set(&d->log[r->index], r);
    } else if (strcmp(r->key, ORD_PAXOS_STATE_PROMISE) == 0) {
        rec_set(&d->promise, r);
    } else {
        rec_set(&d->commit, r);
    }
}

static void disk_clear_pending(struct disk *d)
{
    for (size_t i = 0; i < d->n_pending; i++)
        free(d->pending[i].data);
    d->n_pending = 0;
}

/* ------------------------------------------------------------ cluster */

struct timer {
    uint64_t at_ms; /* 0: unset */
    uint64_t gen;
};

struct held_send {
    smr_lsn after;
    struct net_msg *m; /* to set per destination at release */
    smr_node_id to;
};

struct node {
    struct ord_paxos *core;
    bool up;
    struct disk disk;
    struct timer timers[3];
    smr_lsn durable_lsn;
    struct held_send *held;
    size_t n_held, held_cap;
    smr_seq committed; /* last seq on this incarnation's stream */
};

struct client {
    smr_req_id req;     /* outstanding request id, 0 = none */
    uint64_t sent_ms;
    smr_node_id target;
    uint32_t done;
};

struct committed_rec {
    uint8_t hash[SMR_DIGEST_BYTES];
    bool set;
};

struct sim {
    uint32_t n;
    uint64_t now_ms;
    uint64_t order;
    struct node nodes[NODES_MAX];
    struct net_msg *net; /* unordered list */
    struct client clients[CLIENTS_MAX];
    uint32_t n_clients;
    uint32_t requests_per_client;
    struct committed_rec log[SEQ_MAX + 1];
    smr_seq max_committed;
    /* request (client, req) → committed? */
    uint8_t acked[CLIENTS_MAX][4096];
    /* fault rates (permille) */
    unsigned drop, dup, crash, partition;
    uint64_t sync_max_ms;
    uint64_t delay_max_ms;
    bool partitioned[NODES_MAX][NODES_MAX];
    bool faults_on;
    const char *failure;
    char failure_buf[256];
};

static struct sim S;

static void sim_fail(const char *fmt, smr_seq seq, smr_node_id node)
{
    if (S.failure)
        return;
    snprintf(S.failure_buf, sizeof S.failure_buf, fmt, (unsigned long long)seq,
             node);
    S.failure = S.failure_buf;
}

static void net_send(smr_node_id from, smr_node_id to,
                     const struct ord_paxos_msg *m)
{
    if (!S.nodes[to].up && !S.faults_on)
        return;
    if (S.faults_on && (chance(S.drop) || S.partitioned[from][to]))
        return;
    int copies = S.faults_on && chance(S.dup) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        struct net_msg *c = msg_copy(m);
        c->from = from;
        c->to = to;
        c->at_ms = S.now_ms + 1 + rnd() % (S.faults_on ? S.delay_max_ms : 2);
        c->order = S.order++;
        c->next = S.net;
        S.net = c;
    }
}

static void check_commit(smr_node_id id, const struct smr_committed *c)
{
    struct node *nd = &S.nodes[id];
    if (c->seq != nd->committed + 1) {
        sim_fail("gap in committed stream at seq %llu on node %u", c->seq, id);
        return;
    }
    nd->committed = c->seq;
    if (c->seq > SEQ_MAX)
        return;
    if (smr_batch_validate(c->batch, c->batch_len) != SMR_OK)
        sim_fail("invalid batch at seq %llu on node %u", c->seq, id);
    uint8_t h[SMR_DIGEST_BYTES];
    smr_hash(h, c->batch, c->batch_len);
    struct committed_rec *r = &S.log[c->seq];
    if (r->set && memcmp(r->hash, h, sizeof h) != 0) {
        sim_fail("agreement violated at seq %llu (node %u differs)", c->seq, id);
        return;
    }
    if (!r->set) {
        memcpy(r->hash, h, sizeof h);
        r->set = true;
        if (c->seq > S.max_committed)
            S.max_committed = c->seq;
        struct smr_batch_iter it;
        struct smr_request q;
        smr_batch_iter_init(&it, c->batch, c->batch_len);
        while (smr_batch_next(&it, &q) == SMR_OK)
            if (q.client_id < CLIENTS_MAX && q.req_id < 4096)
                S.acked[q.client_id][q.req_id] = 1;
    }
}

static void apply_outputs(smr_node_id id, const struct ord_output *o,
                          size_t n)
{
    struct node *nd = &S.nodes[id];
    for (size_t i = 0; i < n; i++) {
        switch (o[i].type) {
        case ORD_OUT_SEND: {
            const struct ord_paxos_msg *m = o[i].u.send.msg;
            for (smr_node_id to = 0; to < S.n; to++) {
                if (to == id ||
                    (o[i].u.send.to != ORD_TO_ALL && o[i].u.send.to != to))
                    continue;
                if (o[i].u.send.after_lsn > nd->durable_lsn) {
                    if (nd->n_held == nd->held_cap) {
                        nd->held_cap = nd->held_cap ? nd->held_cap * 2 : 64;
                        nd->held = realloc(nd->held,
                                           nd->held_cap * sizeof *nd->held);
                    }
                    nd->held[nd->n_held++] = (struct held_send){
                        o[i].u.send.after_lsn, msg_copy(m), to};
                } else {
                    net_send(id, to, m);
                }
            }
            break;
        }
        case ORD_OUT_PERSIST: {
            struct disk *d = &nd->disk;
            if (d->n_pending == d->pending_cap) {
                d->pending_cap = d->pending_cap ? d->pending_cap * 2 : 64;
                d->pending =
                    realloc(d->pending, d->pending_cap * sizeof *d->pending);
            }
            if (d->n_pending == 0)
                d->pending_first_lsn = o[i].u.persist.lsn;
            struct record *r = &d->pending[d->n_pending++];
            memset(r, 0, sizeof *r);
            r->is_log = o[i].u.persist.is_log;
            r->index = o[i].u.persist.index;
            if (!r->is_log)
                snprintf(r->key, sizeof r->key, "%s", o[i].u.persist.key);
            r->len = o[i].u.persist.len;
            r->data = malloc(r->len ? r->len : 1);
            memcpy(r->data, o[i].u.persist.data, r->len);
            if (!d->sync_at_ms)
                d->sync_at_ms = S.now_ms + 1 + rnd() % S.sync_max_ms;
            break;
        }
        case ORD_OUT_TIMER:
            nd->timers[o[i].u.timer.id].at_ms =
                S.now_ms + o[i].u.timer.after_ms;
            nd->timers[o[i].u.timer.id].gen = o[i].u.timer.generation;
            break;
        case ORD_OUT_COMMIT:
            check_commit(id, &o[i].u.commit);
            break;
        case ORD_OUT_REJECT:
            break;
        case ORD_OUT_FETCH: {
            /* Serve committed entries from the durable+pending disk. */
            uint32_t cnt = 0;
            struct ord_paxos_entry es[ORD_PAXOS_ENTRIES_MAX];
            for (smr_seq s = o[i].u.fetch.from_seq;
                 s <= o[i].u.fetch.to_seq && cnt < ORD_PAXOS_ENTRIES_MAX;
                 s++) {
                const struct record *r = NULL;
                for (size_t k = nd->disk.n_pending; k-- > 0;)
                    if (nd->disk.pending[k].is_log &&
                        nd->disk.pending[k].index == s) {
                        r = &nd->disk.pending[k];
                        break;
                    }
                if (!r && s < nd->disk.log_cap && nd->disk.log[s].len)
                    r = &nd->disk.log[s];
                if (!r || ord_paxos_record_decode(r->data, r->len, s,
                                                  &es[cnt]) != SMR_OK)
                    break;
                es[cnt].ballot = UINT64_MAX;
                cnt++;
            }
            struct ord_paxos_msg m = {
                .type = ORD_PAXOS_CATCHUP,
                .from = id,
                .commit_upto = ord_paxos_commit_upto(nd->core),
                .n_entries = cnt,
                .entries = es,
            };
            if (cnt)
                net_send(id, o[i].u.fetch.to, &m);
            break;
        }
        }
    }
}

static void step(smr_node_id id, const struct ord_event *ev)
{
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_paxos_step(S.nodes[id].core, S.now_ms, ev, &o, &n),
                     SMR_OK);
    apply_outputs(id, o, n);
}

static void node_start(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    struct ord_paxos_config c;
    ord_paxos_config_defaults(&c);
    c.self = id;
    c.n_replicas = S.n;
    c.rng_seed = rnd() | 1;
    c.window = 8;
    c.batch_max = 4;
    ck_assert_int_eq(ord_paxos_new(&c, &nd->core), SMR_OK);
    struct disk *d = &nd->disk;
    if (d->promise.len)
        ck_assert_int_eq(ord_paxos_recover_state(nd->core,
                                                 ORD_PAXOS_STATE_PROMISE,
                                                 d->promise.data,
                                                 d->promise.len),
                         SMR_OK);
    if (d->commit.len)
        ck_assert_int_eq(ord_paxos_recover_state(nd->core,
                                                 ORD_PAXOS_STATE_COMMIT,
                                                 d->commit.data, d->commit.len),
                         SMR_OK);
    smr_seq from = ord_paxos_recover_log_from(nd->core);
    for (smr_seq s = from; s < d->log_cap; s++)
        if (d->log[s].len)
            ck_assert_int_eq(ord_paxos_recover_log(nd->core, s, d->log[s].data,
                                                   d->log[s].len),
                             SMR_OK);
    /* Replay what the commit mark covers, as the driver would. */
    nd->committed = 0;
    smr_seq upto = ord_paxos_recovered_commit(nd->core);
    for (smr_seq s = 1; s <= upto; s++) {
        struct ord_paxos_entry e;
        ck_assert_msg(s < d->log_cap && d->log[s].len,
                      "commit mark %llu beyond durable log at %llu",
                      (unsigned long long)upto, (unsigned long long)s);
        ck_assert_int_eq(ord_paxos_record_decode(d->log[s].data, d->log[s].len,
                                                 s, &e),
                         SMR_OK);
        struct smr_committed c = {s, e.epoch, e.leader_time_ms, e.batch,
                                  e.batch_len};
        check_commit(id, &c);
    }
    nd->up = true;
    nd->durable_lsn = 0;
    memset(nd->timers, 0, sizeof nd->timers);
    const struct ord_output *o;
    size_t n;
    ck_assert_int_eq(ord_paxos_start(nd->core, S.now_ms, &o, &n), SMR_OK);
    apply_outputs(id, o, n);
}

static void node_crash(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    struct disk *d = &nd->disk;
    /* Unsynced writes: each survives or not (a torn tail is dropped). */
    for (size_t i = 0; i < d->n_pending; i++)
        if (chance(500))
            disk_apply(d, &d->pending[i]);
    disk_clear_pending(d);
    d->sync_at_ms = 0;
    for (size_t i = 0; i < nd->n_held; i++)
        msg_free(nd->held[i].m);
    nd->n_held = 0;
    ord_paxos_destroy(&nd->core);
    nd->up = false;
}

static void node_sync(smr_node_id id)
{
    struct node *nd = &S.nodes[id];
    struct disk *d = &nd->disk;
    smr_lsn last = d->pending_first_lsn + d->n_pending - 1;
    for (size_t i = 0; i < d->n_pending; i++)
        disk_apply(d, &d->pending[i]);
    disk_clear_pending(d);
    d->sync_at_ms = 0;
    nd->durable_lsn = last;
    /* Release held sends. */
    size_t keep = 0;
    for (size_t i = 0; i < nd->n_held; i++) {
        if (nd->held[i].after <= last) {
            net_send(id, nd->held[i].to, &nd->held[i].m->msg);
            msg_free(nd->held[i].m);
        } else {
            nd->held[keep++] = nd->held[i];
        }
    }
    nd->n_held = keep;
    struct ord_event ev = {.type = ORD_EV_PERSISTED};
    ev.u.persisted.lsn = last;
    step(id, &ev);
}

static void client_send(uint32_t c)
{
    struct client *cl = &S.clients[c];
    uint8_t op[16];
    memset(op, (int)(c * 31 + cl->req), sizeof op);
    struct ord_event ev = {.type = ORD_EV_REQUEST};
    ev.u.request = (struct smr_request){c, cl->req, op, sizeof op};
    cl->sent_ms = S.now_ms;
    /* Pick the believed leader, else a random replica. */
    smr_node_id target = rnd() % S.n;
    for (smr_node_id i = 0; i < S.n; i++)
        if (S.nodes[i].up && ord_paxos_is_leader(S.nodes[i].core))
            target = i;
    cl->target = target;
    if (!S.nodes[target].up)
        return;
    step(target, &ev);
    struct ord_event flush = {.type = ORD_EV_FLUSH};
    step(target, &flush);
}

static void clients_tick(void)
{
    for (uint32_t c = 0; c < S.n_clients; c++) {
        struct client *cl = &S.clients[c];
        if (cl->req && S.acked[c][cl->req]) {
            cl->done++;
            cl->req = 0;
        }
        if (!cl->req && cl->done < S.requests_per_client) {
            cl->req = cl->done + 1;
            client_send(c);
        } else if (cl->req && S.now_ms - cl->sent_ms > 200) {
            client_send(c); /* retry with the same request id */
        }
    }
}

static void random_fault(void)
{
    if (chance(S.crash)) {
        smr_node_id id = rnd() % S.n;
        if (S.nodes[id].up)
            node_crash(id);
        else
            node_start(id);
    }
    if (chance(S.partition)) {
        smr_node_id a = rnd() % S.n, b = rnd() % S.n;
        bool cut = !S.partitioned[a][b];
        S.partitioned[a][b] = cut; /* one-way; symmetric half the time */
        if (chance(500))
            S.partitioned[b][a] = cut;
    }
}

/* Runs one event (the earliest), or advances the clock by 1 ms. */
static void run_one(void)
{
    struct net_msg **best = NULL;
    for (struct net_msg **pm = &S.net; *pm; pm = &(*pm)->next)
        if ((*pm)->at_ms <= S.now_ms &&
            (!best || (*pm)->order < (*best)->order))
            best = pm;
    if (best) {
        struct net_msg *m = *best;
        *best = m->next;
        if (S.nodes[m->to].up) {
            struct ord_event ev = {.type = ORD_EV_MESSAGE};
            ev.u.message.from = m->from;
            ev.u.message.msg = &m->msg;
            step(m->to, &ev);
            struct ord_event flush = {.type = ORD_EV_FLUSH};
            step(m->to, &flush);
        }
        msg_free(m);
        return;
    }
    for (smr_node_id id = 0; id < S.n; id++) {
        struct node *nd = &S.nodes[id];
        if (!nd->up)
            continue;
        if (nd->disk.sync_at_ms && nd->disk.sync_at_ms <= S.now_ms) {
            node_sync(id);
            return;
        }
        for (uint32_t t = 1; t <= 2; t++)
            if (nd->timers[t].at_ms && nd->timers[t].at_ms <= S.now_ms) {
                nd->timers[t].at_ms = 0;
                struct ord_event ev = {.type = ORD_EV_TIMER};
                ev.u.timer.id = t;
                ev.u.timer.generation = nd->timers[t].gen;
                step(id, &ev);
                return;
            }
    }
    S.now_ms++;
    clients_tick();
    if (S.faults_on)
        random_fault();
}

static void sim_free(void)
{
    while (S.net) {
        struct net_msg *m = S.net;
        S.net = m->next;
        msg_free(m);
    }
    for (uint32_t i = 0; i < S.n; i++) {
        struct node *nd = &S.nodes[i];
        if (nd->up)
            node_crash(i);
        free(nd->held);
        for (size_t k = 0; k < nd->disk.log_cap; k++)
            free(nd->disk.log[k].data);
        free(nd->disk.log);
        free(nd->disk.promise.data);
        free(nd->disk.commit.data);
        free(nd->disk.pending);
    }
}

/* Runs one seed; returns NULL or the broken invariant. */
static const char *run_seed(uint64_t seed, uint32_t n, bool faults,
                            uint32_t requests)
{
    memset(&S, 0, sizeof S);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    S.n = n;
    S.n_clients = 4;
    S.requests_per_client = requests;
    /* Each seed draws its own fault rates: calm and stormy runs. */
    S.drop = rnd() % 100;
    S.dup = rnd() % 50;
    S.crash = rnd() % 12;
    S.sync_max_ms = 1 + (chance(300) ? rnd() % 40 : rnd() % 3);
    S.partition = rnd() % 6;
    S.delay_max_ms = 1 + rnd() % 20;
    S.faults_on = faults;
    for (smr_node_id i = 0; i < n; i++)
        node_start(i);
    uint64_t fault_end = 4000;
    uint64_t deadline = fault_end + 20000;
    while (!S.failure && S.now_ms < deadline) {
        if (S.faults_on && S.now_ms >= fault_end) {
            S.faults_on = false;
            memset(S.partitioned, 0, sizeof S.partitioned);
            for (smr_node_id i = 0; i < n; i++)
                if (!S.nodes[i].up)
                    node_start(i);
        }
        run_one();
        bool all_done = true;
        for (uint32_t c = 0; c < S.n_clients; c++)
            all_done &= S.clients[c].done >= requests;
        if (all_done && !S.faults_on && S.now_ms > fault_end)
            break;
    }
    if (!S.failure) {
        for (uint32_t c = 0; c < S.n_clients; c++)
            if (S.clients[c].done < requests)
                S.failure = "no progress after the faults stopped";
        if (S.failure && getenv("PAXOS_DEBUG"))
            for (smr_node_id i = 0; i < n; i++)
                fprintf(stderr, "node %u up=%d leader=%d hint=%u commit=%llu "
                                "ballot=%llx held=%zu\n",
                        i, S.nodes[i].up, ord_paxos_is_leader(S.nodes[i].core),
                        ord_paxos_leader_hint(S.nodes[i].core),
                        (unsigned long long)ord_paxos_commit_upto(S.nodes[i].core),
                        (unsigned long long)ord_paxos_ballot(S.nodes[i].core),
                        S.nodes[i].n_held);
        if (S.failure && getenv("PAXOS_DEBUG"))
            for (smr_node_id i = 0; i < n; i++) {
                struct ord_paxos *p = S.nodes[i].core;
                fprintf(stderr, "node %u role=%d next=%llu max=%llu lc=%llu "
                        "promised=%llx pend=%u ready=%u open=%u base=%llu\n", i,
                        p->role, (unsigned long long)p->next_slot,
                        (unsigned long long)p->max_slot,
                        (unsigned long long)p->leader_commit,
                        (unsigned long long)p->promised, p->pending_requests,
                        p->ready_len, p->open_count, (unsigned long long)p->base);
                for (smr_seq q = p->chosen_upto + 1; q <= p->max_slot; q++) {
                    const struct paxos_slot *sl = &p->slots[q % PAXOS_CAP];
                    fprintf(stderr, "  slot %llu: s=%llu b=%llx ch=%d votes=%x "
                            "lsn=%llu dur=%llu\n", (unsigned long long)q,
                            (unsigned long long)sl->slot,
                            (unsigned long long)sl->ballot, sl->chosen,
                            sl->votes, (unsigned long long)sl->lsn,
                            (unsigned long long)p->durable_lsn);
                }
            }
        if (S.failure && getenv("PAXOS_DEBUG"))
            for (uint32_t c = 0; c < S.n_clients; c++)
                fprintf(stderr, "client %u req=%llu done=%u target=%u\n", c,
                        (unsigned long long)S.clients[c].req, S.clients[c].done,
                        S.clients[c].target);
    }
    sim_free();
    return S.failure;
}

static uint64_t first_seed(void)
{
    const char *env = getenv("PAXOS_SEED");
    return env ? strtoull(env, NULL, 10) : 1;
}

START_TEST(test_calm_three)
{
    const char *f = run_seed(42, 3, false, 50);
    ck_assert_msg(!f, "seed 42: %s", f ? f : "");
}
END_TEST

START_TEST(test_single_replica)
{
    const char *f = run_seed(7, 1, false, 50);
    ck_assert_msg(!f, "seed 7: %s", f ? f : "");
}
END_TEST

START_TEST(test_faulty_seeds)
{
    uint64_t from = first_seed();
    uint32_t count = getenv("PAXOS_SEED") ? 1 : 1000;
    if (getenv("PAXOS_SEEDS"))
        count = (uint32_t)strtoul(getenv("PAXOS_SEEDS"), NULL, 10);
    uint32_t failed = 0;
    for (uint64_t seed = from; seed < from + count; seed++) {
        uint32_t n = seed % 3 == 0 ? 5 : 3;
        const char *f = run_seed(seed, n, true, 30);
        if (f) {
            failed++;
            fprintf(stderr, "seed %llu (n=%u) failed: %s; replay: "
                            "PAXOS_SEED=%llu test_ord_paxos\n",
                    (unsigned long long)seed, n, f, (unsigned long long)seed);
        }
    }
    fprintf(stderr, "%u seeds, %u failed\n", count, failed);
    ck_assert_uint_eq(failed, 0);
}
END_TEST

static void record_roundtrip(void)
{
    struct smr_buf b, rec;
    smr_buf_init(&b);
    smr_buf_init(&rec);
    smr_batch_begin(&b);
    struct smr_request r = {1, 2, (const uint8_t *)"abc", 3};
    smr_batch_add(&b, &r);
    struct ord_paxos_entry e = {5, 77, 1, 1234, b.data, (uint32_t)b.len}, d;
    ck_assert_int_eq(ord_paxos_record_encode(&rec, &e), SMR_OK);
    ck_assert_int_eq(ord_paxos_record_decode(rec.data, rec.len, 5, &d), SMR_OK);
    ck_assert_uint_eq(d.ballot, 77);
    ck_assert_uint_eq(d.leader_time_ms, 1234);
    ck_assert_mem_eq(d.batch, b.data, b.len);
    /* Every truncation and every flipped byte is refused, never trusted. */
    for (size_t i = 0; i < rec.len; i++) {
        ck_assert_int_eq(ord_paxos_record_decode(rec.data, i, 5, &d),
                         SMR_ECORRUPT);
        rec.data[i] ^= 0x40;
        ck_assert_int_eq(ord_paxos_record_decode(rec.data, rec.len, 5, &d),
                         SMR_ECORRUPT);
        rec.data[i] ^= 0x40;
    }
    smr_buf_free(&b);
    smr_buf_free(&rec);
}

START_TEST(test_records)
{
    record_roundtrip();
}
END_TEST

START_TEST(test_config_refused)
{
    struct ord_paxos_config c;
    char err[200];
    ord_paxos_config_defaults(&c);
    c.self = 3;
    ck_assert_int_eq(ord_paxos_config_check(&c, err, sizeof err), SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "id"));
    ord_paxos_config_defaults(&c);
    c.election_timeout_ms = c.heartbeat_ms;
    ck_assert_int_eq(ord_paxos_config_check(&c, err, sizeof err), SMR_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "election_timeout_ms"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ord_paxos");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_records);
    tcase_add_test(tc, test_config_refused);
    tcase_add_test(tc, test_calm_three);
    tcase_add_test(tc, test_single_replica);
    tcase_add_test(tc, test_faulty_seeds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
