/*
 * par_graph.c: the parallel engine's dependency graph (par.h): key table,
 * edges, ranges and the ready ring. In the spirit of CBASE (Kotla and
 * Dahlin, DSN '04): a command waits only for earlier commands it conflicts
 * with, and the graph holds unfinished commands only.
 */
#include "par.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES_POOLED 64 /* keys up to this size are recycled */

int pe_graph_init(struct pe_graph *g, uint32_t inflight_max)
{
    memset(g, 0, sizeof *g);
    int rc = exe_hash_seed(g->seed);
    if (rc == SMR_OK)
        rc = exe_htab_init(&g->keys, 4 * (size_t)inflight_max);
    if (rc)
        return rc;
    g->preds = calloc(inflight_max, sizeof *g->preds);
    g->ready = calloc(inflight_max, sizeof *g->ready);
    if (!g->preds || !g->ready) {
        pe_graph_free(g);
        return SMR_ENOMEM;
    }
    g->preds_cap = g->ready_cap = inflight_max;
    return SMR_OK;
}

static void key_free(struct exe_htab_node *n)
{
    free(n);
}

void pe_graph_free(struct pe_graph *g)
{
    if (g->keys.buckets) {
        exe_htab_drain(&g->keys, key_free);
        exe_htab_free(&g->keys);
    }
    struct pe_key *lists[2] = {g->free_short, g->free_long};
    for (int i = 0; i < 2; i++)
        while (lists[i]) {
            struct pe_key *k = lists[i];
            lists[i] = k->next_free;
            free(k);
        }
    g->free_short = g->free_long = NULL;
    free(g->preds);
    free(g->ready);
    g->preds = NULL;
    g->ready = NULL;
}

/* ---- preparing a command (no lock) ------------------------------------ */

static uint64_t slot_hash(const struct pe_graph *g, uint8_t ns,
                          const uint8_t *bytes, uint32_t len)
{
    return exe_keyed_hash(g->seed, bytes, len) + ns * 0x9E3779B97F4A7C15ull;
}

static bool same_key(uint8_t ns, const uint8_t *a, uint32_t a_len,
                     const struct pe_slot *s)
{
    return s->ns == ns && s->len == a_len &&
           (a_len == 0 || memcmp(s->bytes, a, a_len) == 0);
}

/* Adds one point key unless the command already names it. */
static void add_slot(const struct pe_graph *g, struct pe_cmd *c, uint8_t ns,
                     const uint8_t *bytes, uint32_t len, bool write)
{
    for (uint32_t i = 0; i < c->n_slots; i++)
        if (same_key(ns, bytes, len, &c->slots[i]))
            return; /* writes come first, so a write is never lost */
    assert(c->n_slots < PE_SLOTS_MAX);
    struct pe_slot *s = &c->slots[c->n_slots++];
    memset(s, 0, sizeof *s);
    s->cmd = c;
    s->bytes = bytes;
    s->len = len;
    s->ns = ns;
    s->write = write;
    s->hash = slot_hash(g, ns, bytes, len);
}

void pe_cmd_prepare(const struct pe_graph *g, struct pe_cmd *c)
{
    const struct exe_keyset *ks = &c->keys;
    c->n_slots = 0;
    c->ranged = (ks->read_prefixes | ks->write_prefixes) != 0;
    smr_put_u64(c->session_key, c->req.client_id);
    add_slot(g, c, PE_NS_SESSION, c->session_key, 8, true);
    for (uint32_t i = 0; i < ks->n_writes; i++)
        if (!(ks->write_prefixes >> i & 1))
            add_slot(g, c, PE_NS_APP, ks->writes[i].key, ks->writes[i].len,
                     true);
    for (uint32_t i = 0; i < ks->n_reads; i++)
        if (!(ks->read_prefixes >> i & 1))
            add_slot(g, c, PE_NS_APP, ks->reads[i].key, ks->reads[i].len,
                     false);
}

/* ---- conflicts through ranges ----------------------------------------- */

static bool overlap(const struct exe_key *a, bool a_prefix,
                    const struct exe_key *b, bool b_prefix)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    if (!a_prefix && !b_prefix)
        return a->len == b->len && (n == 0 || memcmp(a->key, b->key, n) == 0);
    if (a_prefix && !b_prefix && a->len > b->len)
        return false; /* b is shorter than the prefix */
    if (b_prefix && !a_prefix && b->len > a->len)
        return false;
    return n == 0 || memcmp(a->key, b->key, n) == 0;
}

/* Does key i of `ks` (reads first, then writes) overlap `k`? */
static bool set_hits(const struct exe_keyset *ks, const struct exe_key *k,
                     bool k_prefix, bool k_write)
{
    for (uint32_t i = 0; i < ks->n_writes; i++)
        if (overlap(&ks->writes[i], ks->write_prefixes >> i & 1, k, k_prefix))
            return true;
    for (uint32_t i = 0; k_write && i < ks->n_reads; i++)
        if (overlap(&ks->reads[i], ks->read_prefixes >> i & 1, k, k_prefix))
            return true;
    return false;
}

/* The app key sets of two commands conflict (at least one side writes an
 * overlapping key). */
static bool app_conflict(const struct exe_keyset *p, const struct exe_keyset *c)
{
    for (uint32_t i = 0; i < c->n_writes; i++)
        if (set_hits(p, &c->writes[i], c->write_prefixes >> i & 1, true))
            return true;
    for (uint32_t i = 0; i < c->n_reads; i++)
        if (set_hits(p, &c->reads[i], c->read_prefixes >> i & 1, false))
            return true;
    return false;
}

/* ---- insertion -------------------------------------------------------- */

static struct pe_key *key_find(const struct pe_graph *g, const struct pe_slot *s)
{
    struct exe_htab_node *n = exe_htab_bucket(&g->keys, s->hash);
    for (; n; n = n->next) {
        struct pe_key *k = (struct pe_key *)n;
        if (n->hash == s->hash && k->ns == s->ns && k->len == s->len &&
            (s->len == 0 || memcmp(k->bytes, s->bytes, s->len) == 0))
            return k;
    }
    return NULL;
}

static void add_pred(struct pe_graph *g, uint32_t *n, struct pe_cmd *p)
{
    if (!p || p->stamp == g->stamp)
        return;
    assert(*n < g->preds_cap); /* each is a distinct unfinished command */
    p->stamp = g->stamp;
    g->preds[(*n)++] = p;
}

/* Phase one: every unfinished command `c` must wait for, once each. */
static uint32_t collect_preds(struct pe_graph *g, struct pe_cmd *c)
{
    uint32_t n = 0;
    g->stamp++;
    for (uint32_t i = 0; i < c->n_slots; i++) {
        struct pe_slot *s = &c->slots[i];
        s->key = key_find(g, s);
        if (!s->key)
            continue;
        if (s->write || smr_mutant != SMR_MUTANT_PARALLEL_READ_RACE)
            add_pred(g, &n, s->key->writer);
        for (struct pe_slot *r = s->key->readers; s->write && r; r = r->next)
            add_pred(g, &n, r->cmd);
    }
    if (c->ranged) {
        for (struct pe_cmd *p = g->live_head; p; p = p->live_next)
            if (app_conflict(&p->keys, &c->keys))
                add_pred(g, &n, p);
    } else {
        for (struct pe_cmd *p = g->range_head; p; p = p->range_next)
            if (app_conflict(&p->keys, &c->keys))
                add_pred(g, &n, p);
    }
    return n;
}

static int reserve_succ(struct pe_cmd *p)
{
    if (p->n_succ < p->cap_succ)
        return SMR_OK;
    uint32_t cap = p->cap_succ ? 2 * p->cap_succ : 8;
    struct pe_cmd **s = realloc(p->succ, cap * sizeof *s);
    if (!s)
        return SMR_ENOMEM;
    p->succ = s;
    p->cap_succ = cap;
    return SMR_OK;
}

/* Makes sure a key object waits for every slot that has no key yet:
 * pooled ones for short keys, one of its own for a long one. */
static int reserve_keys(struct pe_graph *g, const struct pe_cmd *c)
{
    uint32_t need_short = 0;
    for (uint32_t i = 0; i < c->n_slots; i++) {
        const struct pe_slot *s = &c->slots[i];
        if (s->key)
            continue;
        if (s->len <= KEY_BYTES_POOLED) {
            need_short++;
            continue;
        }
        struct pe_key *k = malloc(sizeof *k + s->len);
        if (!k)
            return SMR_ENOMEM;
        k->cap = s->len;
        k->next_free = g->free_long;
        g->free_long = k;
    }
    while (g->n_free_short < need_short) {
        struct pe_key *k = malloc(sizeof *k + KEY_BYTES_POOLED);
        if (!k)
            return SMR_ENOMEM;
        k->cap = KEY_BYTES_POOLED;
        k->next_free = g->free_short;
        g->free_short = k;
        g->n_free_short++;
    }
    return SMR_OK;
}

/* A key object with room for `len` bytes (reserve_keys made sure). */
static struct pe_key *take_key(struct pe_graph *g, uint32_t len)
{
    struct pe_key **pp = len <= KEY_BYTES_POOLED ? &g->free_short
                                                 : &g->free_long;
    while (*pp && (*pp)->cap < len)
        pp = &(*pp)->next_free;
    struct pe_key *k = *pp;
    assert(k);
    *pp = k->next_free;
    if (len <= KEY_BYTES_POOLED)
        g->n_free_short--;
    return k;
}

static struct pe_key *key_create(struct pe_graph *g, const struct pe_slot *s)
{
    struct pe_key *k = take_key(g, s->len);
    k->node.hash = s->hash;
    k->writer = NULL;
    k->readers = NULL;
    k->refs = 0;
    k->len = s->len;
    k->ns = s->ns;
    if (s->len)
        memcpy(k->bytes, s->bytes, s->len);
    exe_htab_insert(&g->keys, &k->node);
    return k;
}

/* ---- the ready heap --------------------------------------------------- */

static void heap_set(struct pe_graph *g, uint32_t i, struct pe_cmd *c)
{
    g->ready[i] = c;
}

static void sift_up(struct pe_graph *g, uint32_t i)
{
    struct pe_cmd *c = g->ready[i];
    while (i > 0 && c->order < g->ready[(i - 1) / 2]->order) {
        heap_set(g, i, g->ready[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(g, i, c);
}

static void sift_down(struct pe_graph *g, uint32_t i)
{
    struct pe_cmd *c = g->ready[i];
    for (;;) { /* bounded: i at least doubles */
        uint32_t k = 2 * i + 1;
        if (k >= g->ready_len)
            break;
        if (k + 1 < g->ready_len && g->ready[k + 1]->order < g->ready[k]->order)
            k++;
        if (c->order <= g->ready[k]->order)
            break;
        heap_set(g, i, g->ready[k]);
        i = k;
    }
    heap_set(g, i, c);
}

static void ready_push(struct pe_graph *g, struct pe_cmd *c)
{
    assert(g->ready_len < g->ready_cap);
    g->ready[g->ready_len++] = c;
    sift_up(g, g->ready_len - 1);
}

struct pe_cmd *pe_ready_pop(struct pe_graph *g, uint32_t index)
{
    if (g->ready_len == 0)
        return NULL;
    assert(index < g->ready_len);
    struct pe_cmd *c = g->ready[index];
    struct pe_cmd *last = g->ready[--g->ready_len];
    if (index < g->ready_len) {
        g->ready[index] = last;
        sift_up(g, index);
        sift_down(g, index);
    }
    return c;
}

/* Phase two: cannot fail. */
static void link_keys(struct pe_graph *g, struct pe_cmd *c)
{
    for (uint32_t i = 0; i < c->n_slots; i++) {
        struct pe_slot *s = &c->slots[i];
        struct pe_key *k = s->key ? s->key : key_create(g, s);
        s->key = k;
        k->refs++;
        if (s->write) {
            for (struct pe_slot *r = k->readers; r; r = r->next)
                r->linked = false; /* they now come before this writer */
            k->readers = NULL;
            k->writer = c;
            continue;
        }
        s->prev = NULL;
        s->next = k->readers;
        if (k->readers)
            k->readers->prev = s;
        k->readers = s;
        s->linked = true;
    }
}

static void link_lists(struct pe_graph *g, struct pe_cmd *c)
{
    c->live_prev = g->live_tail;
    c->live_next = NULL;
    if (g->live_tail)
        g->live_tail->live_next = c;
    else
        g->live_head = c;
    g->live_tail = c;
    if (!c->ranged)
        return;
    c->range_prev = NULL;
    c->range_next = g->range_head;
    if (g->range_head)
        g->range_head->range_prev = c;
    g->range_head = c;
    g->n_ranged++;
}

int pe_graph_insert(struct pe_graph *g, struct pe_cmd *c, uint32_t extra_pred)
{
    uint32_t n = collect_preds(g, c);
    for (uint32_t i = 0; i < n; i++)
        if (reserve_succ(g->preds[i]) != SMR_OK)
            return SMR_ENOMEM;
    if (reserve_keys(g, c) != SMR_OK)
        return SMR_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        struct pe_cmd *p = g->preds[i];
        p->succ[p->n_succ++] = c;
    }
    c->npred = n + extra_pred;
    c->order = ++g->arrivals;
    link_keys(g, c);
    link_lists(g, c);
    if (c->npred == 0)
        ready_push(g, c);
    return SMR_OK;
}

/* ---- completion ------------------------------------------------------- */

static void key_release(struct pe_graph *g, struct pe_key *k)
{
    exe_htab_remove(&g->keys, &k->node);
    if (k->cap > KEY_BYTES_POOLED) {
        free(k);
        return;
    }
    k->next_free = g->free_short;
    g->free_short = k;
    g->n_free_short++;
}

static void unlink_keys(struct pe_graph *g, struct pe_cmd *c)
{
    for (uint32_t i = 0; i < c->n_slots; i++) {
        struct pe_slot *s = &c->slots[i];
        struct pe_key *k = s->key;
        if (s->write && k->writer == c)
            k->writer = NULL;
        if (!s->write && s->linked) {
            if (s->prev)
                s->prev->next = s->next;
            else
                k->readers = s->next;
            if (s->next)
                s->next->prev = s->prev;
            s->linked = false;
        }
        if (--k->refs == 0) {
            assert(!k->writer && !k->readers);
            key_release(g, k);
        }
        s->key = NULL;
    }
}

static void unlink_lists(struct pe_graph *g, struct pe_cmd *c)
{
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else
        g->live_head = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    else
        g->live_tail = c->live_prev;
    if (!c->ranged)
        return;
    if (c->range_prev)
        c->range_prev->range_next = c->range_next;
    else
        g->range_head = c->range_next;
    if (c->range_next)
        c->range_next->range_prev = c->range_prev;
    g->n_ranged--;
}

void pe_graph_release(struct pe_graph *g, struct pe_cmd *c)
{
    assert(c->npred > 0);
    if (--c->npred == 0)
        ready_push(g, c);
}

uint32_t pe_graph_finish(struct pe_graph *g, struct pe_cmd *c)
{
    uint32_t before = g->ready_len;
    unlink_keys(g, c);
    unlink_lists(g, c);
    for (uint32_t i = 0; i < c->n_succ; i++)
        pe_graph_release(g, c->succ[i]);
    c->n_succ = 0;
    return g->ready_len - before;
}

