/*
 * stream.c: a replica's Committed stream served to separate executor
 * processes (ARCHITECTURE.md, "Ordering → downstream stream").
 *
 * Protocol, over one ROUTER socket (the executor's DEALER connects):
 *   executor → replica  SUBSCRIBE{consumer, from_seq, credit}: "I hold
 *                       everything below from_seq; send [from_seq,
 *                       from_seq + credit)". Sent at start, when half the
 *                       grant is consumed (a top-up: the stream goes on),
 *                       and after a gap or a silence: a cursor that has not
 *                       moved since the last SUBSCRIBE restarts the stream
 *                       there (ZeroMQ may drop frames on reconnect); one
 *                       whose cursor went back is an old one, dropped.
 *   replica → executor  COMMITTED{seq, epoch, leader time, batch}, in order,
 *                       never past the credit: a slow executor slows the
 *                       stream instead of being buffered for without bound.
 *                       SNAPSHOT_REQUIRED when from_seq was truncated away.
 *   executor → replica  REPLY frames, routed to the clients this replica
 *                       serves; CHECKPOINT{seq, digest} after a snapshot.
 *                       Over authenticated links (`who`: the executor's
 *                       replica as curve.h proved it) taken only from the
 *                       replica's own executor, since a client counts a
 *                       reply as this replica's vote; from any other they
 *                       are dropped and counted.
 * Delivery is at-least-once by sequence number: each SUBSCRIBE restarts the
 * stream at the consumer's cursor, and the consumer drops what it has.
 * Entries are read from storage, where every chosen slot's record lives.
 *
 * Like the rest of the driver this file does no I/O: frames come in through
 * glue_stream_on_frame() and leave through io->stream_send, which the event
 * loop (node_loop.c) backs with a ZeroMQ ROUTER socket and the simulator
 * with its virtual network, so that redelivery and resume-from-cursor run
 * under its faults too.
 */
#include <string.h>

#include "node_internal.h"

#define PUMP_MAX 256 /* entries per consumer per loop iteration */
#define CREDIT_MAX 4096u /* entries one SUBSCRIBE may ask for */

/* The consumer a SUBSCRIBE comes from. Over authenticated links (`who` is
 * the executor's replica) one slot per executor, found by who it is: a new
 * connection replaces that executor's slot and never evicts another's, so
 * a faulty replica opening connection after connection cannot push the
 * correct executors out. Otherwise (crash faults) one slot per route, the
 * least recently heard evicted when all are taken. */
/* Whether `who` (the authenticated executor's replica, or -1 over links
 * that are not authenticated) counts as this replica's own executor. */
static bool is_own(const struct glue_node *n, int who)
{
    return who < 0 || who == (int)n->id;
}

static struct glue_consumer *consumer_for(struct glue_node *n,
                                          const uint8_t *id, size_t id_len,
                                          int who)
{
    struct glue_consumer *free_slot = NULL, *oldest = &n->consumers[0];
    for (int i = 0; i < GLUE_CONSUMERS_MAX; i++) {
        struct glue_consumer *c = &n->consumers[i];
        bool same_route = c->id_len == id_len &&
                          memcmp(c->id, id, id_len) == 0;
        if (c->id_len && who >= 0 && c->who == who) {
            if (same_route)
                return c;
            free_slot = c; /* that executor's new connection */
            break;
        }
        if (c->id_len && who < 0 && same_route)
            return c;
        if (!c->id_len && !free_slot)
            free_slot = c;
        if (c->last_seen_ms < oldest->last_seen_ms)
            oldest = c;
    }
    struct glue_consumer *c = free_slot ? free_slot : oldest;
    memset(c, 0, sizeof *c);
    c->id_len = (uint8_t)id_len;
    memcpy(c->id, id, id_len);
    c->who = who;
    return c;
}

static void on_subscribe(struct glue_node *n, const uint8_t *id, size_t id_len,
                         int who, const struct wire_subscribe *s)
{
    if (id_len == 0 || id_len > GLUE_ROUTE_ID_BYTES || s->from_seq == 0)
        return;
    struct glue_consumer *c = consumer_for(n, id, id_len, who);
    /* A consumer's cursor never goes back on one connection (a restarted
     * executor comes on a new one, which gets a fresh slot): a lower one is
     * an older SUBSCRIBE overtaken or repeated by the network, and would
     * rewind the stream below what the consumer believes it was granted. */
    if (s->from_seq <= c->executed)
        return;
    /* A cursor that moved is a credit top-up: keep streaming from where we
     * are. A cursor that did not move means the consumer is stuck (a frame
     * was lost, or it restarted): resume from its cursor. */
    bool resume = s->from_seq <= c->executed + 1 &&
                  smr_mutant != SMR_MUTANT_STREAM_NO_RESUME;
    uint32_t credit = s->credit < CREDIT_MAX ? s->credit : CREDIT_MAX;
    if (c->next_seq == 0 || resume || s->from_seq > c->next_seq)
        c->next_seq = s->from_seq;
    c->limit = s->from_seq + credit - 1;
    c->executed = s->from_seq - 1;
    c->last_seen_ms = n->io->mono_ms(n->io_arg);
}

/* Our executor's replies of one burst: each goes on to its client, as
 * if it had come alone (a malformed one is counted and dropped). */
static void forward_replies(struct glue_node *n, const uint8_t *f, size_t len)
{
    struct wire_replies it;
    int rc = wire_decode_replies(f, len, &it);
    if (rc != SMR_OK) {
        wire_stats_count(&n->stats, rc);
        return;
    }
    const uint8_t *rf;
    size_t rlen;
    while (wire_replies_next(&it, &rf, &rlen)) {
        struct wire_reply r;
        rc = wire_decode_reply(rf, rlen, &r);
        if (rc == SMR_OK)
            glue_node_reply_client(n, &r);
        wire_stats_count(&n->stats, rc);
    }
}

void glue_stream_on_frame(struct glue_node *n, const uint8_t *id,
                          size_t id_len, int who, const uint8_t *f,
                          size_t len)
{
    int type = -1;
    int rc = wire_peek_type(f, len, &type);
    bool vote = type == WIRE_REPLY || type == WIRE_REPLIES ||
                type == WIRE_CHECKPOINT;
    if (rc == SMR_OK && vote && !is_own(n, who)) {
        rc = SMR_EFORBIDDEN;
    } else if (rc == SMR_OK && type == WIRE_SUBSCRIBE) {
        struct wire_subscribe s;
        rc = wire_decode_subscribe(f, len, &s);
        if (rc == SMR_OK)
            on_subscribe(n, id, id_len, who, &s);
    } else if (rc == SMR_OK && type == WIRE_REPLY) {
        struct wire_reply r;
        rc = wire_decode_reply(f, len, &r);
        if (rc == SMR_OK)
            glue_node_reply_client(n, &r);
    } else if (rc == SMR_OK && type == WIRE_REPLIES) {
        forward_replies(n, f, len);
        return; /* counted there, one per reply */
    } else if (rc == SMR_OK && type == WIRE_CHECKPOINT) {
        struct wire_checkpoint cp;
        rc = wire_decode_checkpoint(f, len, &cp);
        if (rc == SMR_OK && cp.seq > n->stream_checkpoint)
            n->stream_checkpoint = cp.seq;
    } else if (rc == SMR_OK) {
        rc = SMR_ETYPE;
    }
    wire_stats_count(&n->stats, rc);
}

static bool send_to(struct glue_node *n, const struct glue_consumer *c,
                    const struct smr_buf *frame)
{
    return n->io->stream_send(n->io_arg, c->id, c->id_len, frame->data,
                              frame->len);
}

/* Sends one entry; false when it cannot be read or the socket is full. */
static bool send_entry(struct glue_node *n, struct glue_consumer *c)
{
    uint64_t first = 0, last = 0;
    int rc = sto_log_get(n->sto, c->next_seq, &n->stream_rec);
    if (rc == SMR_ECOMPACTED ||
        (rc == SMR_ENOTFOUND && sto_log_bounds(n->sto, &first, &last) ==
                                    SMR_OK && first > c->next_seq)) {
        struct wire_snapshot_required sr = {first};
        if (wire_encode_snapshot_required(&n->scratch, &sr) == SMR_OK)
            send_to(n, c, &n->scratch);
        c->limit = 0; /* wait for a new subscription */
        return false;
    }
    struct smr_committed entry;
    if (rc != SMR_OK ||
        ord_core_record_decode(n->core_ops, n->core, n->stream_rec.data,
                               n->stream_rec.len, c->next_seq,
                               &entry) != SMR_OK)
        return false;
    if (wire_encode_committed(&n->scratch, &entry) != SMR_OK ||
        !send_to(n, c, &n->scratch))
        return false;
    c->next_seq++;
    return true;
}

void glue_stream_pump(struct glue_node *n)
{
    if (!n->stream_on)
        return;
    smr_seq committed = ord_core_commit_upto(n->core_ops, n->core);
    for (int i = 0; i < GLUE_CONSUMERS_MAX; i++) {
        struct glue_consumer *c = &n->consumers[i];
        for (int k = 0; c->id_len && k < PUMP_MAX && c->next_seq <= c->limit &&
                        c->next_seq <= committed;
             k++)
            if (!send_entry(n, c))
                break;
    }
}

/* Its own executor's progress (other replicas' executors read this
 * stream too under Byzantine faults). */
smr_seq glue_stream_executed(const struct glue_node *n)
{
    smr_seq best = 0;
    for (int i = 0; i < GLUE_CONSUMERS_MAX; i++) {
        const struct glue_consumer *c = &n->consumers[i];
        if (c->id_len && is_own(n, c->who) && c->executed > best)
            best = c->executed;
    }
    return best;
}
