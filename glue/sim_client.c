/*
 * sim_client.c: the simulator's clients (sim.h) and the history they
 * record.
 *
 * Each client runs one operation at a time: a get, put, delete or
 * compare-and-swap over a few keys, with unique values, retried with the
 * same request id until a reply or GIVE_UP_MS (then its outcome is unknown:
 * an "info" entry). Under PBFT a client authenticates its requests, signs
 * its retransmissions, sends a session's first request and every timeout's
 * retry to all replicas, and accepts a result only when f+1 replicas return
 * it (glue/reply_quorum.c), as the client library does. Every invocation
 * and completion is written to the seed's history for the linearizability
 * check (lincheck.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exe.h"
#include "reply_quorum.h"
#include "sim_internal.h"
#include "wire.h"

/* ------------------------------------------------------------ history */

static void hist(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void hist(struct sim *s, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && smr_buf_append(&s->history, line, (size_t)n) != SMR_OK)
        abort();
}

static const char *op_name(enum exe_kv_opcode op)
{
    return op == EXE_KV_GET   ? "get"
           : op == EXE_KV_PUT ? "put"
           : op == EXE_KV_DEL ? "del"
                              : "cas";
}

static void hist_invoke(struct sim *s, struct sclient *c)
{
    hist(s, "{\"client\":%u,\"type\":\"invoke\",\"op\":\"%s\",\"key\":\"%s\"",
         c->idx, op_name(c->op), c->key);
    if (c->op == EXE_KV_PUT || c->op == EXE_KV_CAS)
        hist(s, ",\"value\":\"%s\"", c->value);
    if (c->op == EXE_KV_CAS)
        hist(s, ",\"expect\":\"%s\"", c->expect);
    hist(s, "}\n");
}

static void hist_done(struct sim *s, struct sclient *c, const char *type,
                      const char *get_value)
{
    hist(s, "{\"client\":%u,\"type\":\"%s\",\"op\":\"%s\",\"key\":\"%s\"",
         c->idx, type, op_name(c->op), c->key);
    if (c->op == EXE_KV_GET && strcmp(type, "ok") == 0) {
        if (get_value)
            hist(s, ",\"value\":\"%s\"", get_value);
        else
            hist(s, ",\"value\":null");
    }
    hist(s, "}\n");
}

/* ------------------------------------------------------------ clients */

/* Sends the request; PBFT retransmissions (to_all after a timeout) carry
 * the client's signature. */
static void client_send(struct sim *s, struct sclient *c, bool retry)
{
    const struct smr_buf *f =
        retry && s->pbft && c->to_all ? sim_pbft_signed(s, c) : &c->frame;
    for (uint32_t i = 0; i < s->opt.replicas; i++)
        if (i == c->target || c->to_all)
            sim_net_send(s, TO_REPLICA, c->idx, i, s->now, f->data, f->len);
    c->to_all = false;
    c->next_at = s->now + RETRY_MS;
}

static void pick_op(struct sim *s, struct sclient *c, bool final)
{
    uint32_t k = final ? s->final_key++ : (uint32_t)(sim_rnd(s) % s->opt.keys);
    snprintf(c->key, sizeof c->key, "k%u", k);
    unsigned r = (unsigned)(sim_rnd(s) % 100);
    c->op = final || r < 30 ? EXE_KV_GET
            : r < 70        ? EXE_KV_PUT
            : r < 80        ? EXE_KV_DEL
                            : EXE_KV_CAS;
    snprintf(c->value, sizeof c->value, "c%u.%u", c->idx, c->issued);
    const char *seen = c->last_seen[k % CLIENTS_MAX];
    memcpy(c->expect, seen[0] ? seen : "none", seen[0] ? sizeof c->expect : 5);
}

static void client_start(struct sim *s, struct sclient *c, bool final)
{
    pick_op(s, c, final);
    struct smr_buf op;
    smr_buf_init(&op);
    uint32_t klen = (uint32_t)strlen(c->key);
    uint32_t vlen = (uint32_t)strlen(c->value);
    uint32_t elen = (uint32_t)strlen(c->expect);
    bool has_value = c->op == EXE_KV_PUT || c->op == EXE_KV_CAS;
    if (exe_kv_encode(&op, c->op, c->key, klen,
                      c->op == EXE_KV_CAS ? c->expect : NULL,
                      c->op == EXE_KV_CAS ? elen : 0,
                      has_value ? c->value : NULL, has_value ? vlen : 0) !=
        SMR_OK)
        abort();
    struct smr_request r = {c->idx + 1, ++c->req, op.data, (uint32_t)op.len};
    if (s->pbft) {
        /* Ids of the credential's block (pbft.h); the first request of
         * the session goes to every replica, so each learns its route. */
        r.client_id |= (smr_client_id)s->keys->client_block << 32;
        sim_pbft_request(s, c, &r);
        glue_reply_quorum_reset(&c->votes, s->opt.replicas, s->f);
        c->to_all = c->to_all || c->issued == 0;
    } else if (wire_encode_request(&c->frame, &r) != SMR_OK) {
        abort();
    }
    smr_buf_free(&op);
    c->issued++;
    c->answered = false;
    c->phase = C_WAITING;
    c->give_up_at = s->now + GIVE_UP_MS;
    hist_invoke(s, c);
    client_send(s, c, false);
}

static void client_finish(struct sim *s, struct sclient *c, const char *type,
                          const char *value)
{
    hist_done(s, c, type, value);
    if (!strcmp(type, "ok"))
        s->res->ops_ok++;
    else if (!strcmp(type, "fail"))
        s->res->ops_failed++;
    else
        s->res->ops_unknown++;
    c->phase = C_IDLE;
    c->next_at = s->now + sim_rnd(s) % 5;
}

/* PBFT: replica `from`'s reply joins the vote; true when f+1 matching
 * replies make it the answer. Other replies are ignored, as the client
 * library does (a faulty primary answering BUSY must not hold off the
 * retry at every replica), but for SIGN: the first one gets the request
 * signed from that replica at once. */
static bool client_vote(struct sim *s, struct sclient *c, uint32_t from,
                        const struct wire_reply *rep)
{
    uint8_t keys[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    if (glue_pbft_client_keys(s->keys, s->opt.replicas, rep->client_id, keys) !=
            SMR_OK ||
        !glue_pbft_reply_check(keys[from], s->cfg.cluster_id, s->epoch, from,
                               rep)) {
        if (!s->nodes[from].byz)
            sim_fail(s, "replica %u's reply to client %u has a bad tag", from,
                     c->idx);
        return false; /* a Byzantine replica's corrupted reply */
    }
    if (rep->status == WIRE_REPLY_SIGN && c->signed_frame.len == 0 &&
        from < s->opt.replicas) {
        const struct smr_buf *f = sim_pbft_signed(s, c);
        sim_net_send(s, TO_REPLICA, c->idx, from, s->now, f->data, f->len);
    }
    if (rep->status != WIRE_REPLY_OK)
        return false;
    if (s->opt.trace) {
        uint8_t h[SMR_DIGEST_BYTES];
        smr_hash(h, rep->result, rep->result_len);
        sim_trace(s, "client %u req %llu: reply from %u seq %llu result %02x%02x",
                  c->idx, (unsigned long long)c->req, from,
                  (unsigned long long)rep->seq, h[0], h[1]);
    }
    switch (glue_reply_quorum_add(&c->votes, from, rep)) {
    case GLUE_VOTE_DONE:
        if (rep->leader_hint < s->opt.replicas)
            c->target = rep->leader_hint;
        return true;
    case GLUE_VOTE_FAILED:
        sim_fail(s, "client %u: no result can reach f+1 = %u matching "
                    "replies any more, with only %u Byzantine replicas "
                    "(correct replicas answered differently)",
                 c->idx, s->f + 1, s->res->byzantine);
        return false;
    default:
        return false;
    }
}

void sim_client_reply(struct sim *s, struct sclient *c, uint32_t from,
                         const uint8_t *f, size_t len)
{
    struct wire_reply rep;
    if (wire_decode_reply(f, len, &rep) != SMR_OK) {
        if (s->pbft && s->nodes[from].byz)
            return; /* a Byzantine replica's garbage */
        return sim_fail(s, "a replica sent client %u an undecodable reply",
                        c->idx);
    }
    smr_client_id id = c->idx + 1;
    if (s->pbft)
        id |= (smr_client_id)s->keys->client_block << 32;
    if (c->phase != C_WAITING || rep.req_id != c->req || rep.client_id != id)
        return; /* stale */
    if (s->pbft && !client_vote(s, c, from, &rep))
        return;
    c->answered = true;
    if (rep.status == WIRE_REPLY_NOT_LEADER) {
        c->target = rep.leader_hint < s->opt.replicas
                        ? rep.leader_hint
                        : (c->target + 1) % s->opt.replicas;
        c->next_at = s->now + (rep.leader_hint < s->opt.replicas ? 1 : 20);
        return;
    }
    if (rep.status != WIRE_REPLY_OK) {
        c->next_at = s->now + 5;
        return;
    }
    if (rep.result_len < 1)
        return sim_fail(s, "empty reply to client %u", c->idx);
    char value[64] = "";
    uint32_t vlen = rep.result_len - 1;
    if (vlen >= sizeof value)
        return sim_fail(s, "oversized value in a reply to client %u", c->idx);
    memcpy(value, rep.result + 1, vlen);
    uint8_t st = rep.result[0];
    uint32_t k = (uint32_t)atoi(c->key + 1) % CLIENTS_MAX;
    if (st == EXE_KV_BAD_COMMAND)
        return sim_fail(s, "the app refused client %u's command", c->idx);
    if (c->op == EXE_KV_GET) {
        if (st == EXE_KV_OK)
            memcpy(c->last_seen[k], value, sizeof c->last_seen[k]);
        client_finish(s, c, "ok", st == EXE_KV_OK ? value : NULL);
    } else if (c->op == EXE_KV_CAS) {
        client_finish(s, c, st == EXE_KV_OK ? "ok" : "fail", NULL);
    } else {
        if (c->op == EXE_KV_PUT)
            memcpy(c->last_seen[k], c->value, sizeof c->value);
        client_finish(s, c, "ok", NULL);
    }
}

void sim_client_tick(struct sim *s, struct sclient *c)
{
    if (c->phase == C_WAITING && s->now >= c->give_up_at) {
        client_finish(s, c, "info", NULL); /* outcome unknown */
        return;
    }
    if (c->phase == C_WAITING && s->now >= c->next_at) {
        if (!c->answered) /* a timeout: try the next replica */
            c->target = (c->target + 1) % s->opt.replicas;
        /* PBFT, after a timeout: to every replica (TOCS §4.1), so that a
         * faulty primary cannot hide the request from the backups. */
        c->to_all = s->pbft && !c->answered;
        c->answered = false;
        client_send(s, c, true); /* same request id: the session table
                                  * dedupes */
        return;
    }
    if (c->phase != C_IDLE || s->now < c->next_at)
        return;
    if (s->final_reads) {
        if (c->idx == 0 && s->final_key < s->opt.keys)
            client_start(s, c, true);
        else if (c->idx != 0 || s->final_key >= s->opt.keys)
            c->phase = C_DONE;
        return;
    }
    if (s->ops_issued < s->opt.ops) {
        s->ops_issued++;
        client_start(s, c, false);
    } else {
        c->next_at = s->now + FAULT_TICK_MS; /* nothing to do: look later */
    }
}

