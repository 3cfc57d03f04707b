/*
 * sim_byz.c: PBFT in the simulator (sim.h, `strata sim --protocol pbft`):
 * keys derived from the seed, clients' authenticated requests, and up to f
 * Byzantine replicas.
 *
 * A Byzantine replica runs the real replica driver and core; what makes it
 * Byzantine is the io layer, which tampers with the frames it sends before
 * they reach the simulated network (the approach of the core's own harness,
 * tests/unit/test_ord_pbft.c): each frame is decoded (wire_decode_pbft),
 * changed, re-sealed with the replica's own core where the change needs
 * valid MACs (ord_pbft_seal), and re-encoded. Behaviours, drawn per
 * replica as a non-empty subset:
 *
 *   silent      sends nothing, to peers or clients
 *   equivocate  as primary, a different PRE-PREPARE (leader time + 1,
 *               re-sealed) to every odd-numbered backup
 *   collude     equivocates as primary too, and votes (PREPARE, COMMIT)
 *               for whatever a Byzantine primary sent each receiver
 *   bad-reply   client replies with altered result bytes or seq; with
 *               bad-reply, mutate or conflict, half the entries its
 *               Committed stream sends a separate executor are forged
 *               (batch, leader time or seq) or a false SNAPSHOT_REQUIRED
 *   replay      its own older frames, sent again later to any peer
 *   mutate      view or sequence number moved by one, re-sealed
 *   bad-mac     one slot of the MAC vector flipped, not re-sealed
 *   twin        a second copy of the replica (same id and keys, its own
 *               store) runs beside it: clients reach both, each peer one
 *               of them, and both send as that replica (Twins)
 *   conflict    half its PREPAREs, COMMITs and CHECKPOINTs name another
 *               digest, re-sealed; half its STATUS messages claim a
 *               forged snapshot (its own with the log clock changed, so it
 *               restores cleanly to another state) and a log truncated up
 *               to its commit point (so peers behind it fetch state); it
 *               serves that forgery when asked for its seq, and flips a
 *               byte in half of the other chunks it serves
 *   bad-vc      its VIEW-CHANGEs claim nothing prepared or pre-prepared
 *               (P and Q empty), re-signed: it hides what it voted for
 *   bad-tags    as primary, the first request's client tag for each
 *               odd-numbered backup flipped, re-sealed: those backups hold
 *               the pre-prepare until the client's signed retransmission
 *               (only with --behaviours: drawing it would change every
 *               seed's draws)
 *
 * The first Byzantine replica is, in half the seeds, replica 0: the
 * primary of view 0, where an equivocating primary matters most.
 *
 * In 40% of the seeds with a Byzantine replica a faulty client runs too
 * ("client{bad-tags}"): enrolled for a block of its own, it sends unsigned
 * requests (a put of key "bad", which no correct client reads) whose tags
 * check at a random set of replicas, mostly at the primary alone, to the
 * primary or to all, and never retransmits (docs/pbft.md "Faulty
 * clients"). Its draws come from a stream of their own.
 *
 * Byzantine replicas keep misbehaving after the other faults stop. Their
 * executed state is excluded from the agreement and digest checks.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "exe.h"
#include "node_internal.h"
#include "sim_internal.h"
#include "wire_pbft.h"

const char *const sim_byz_names[SIM_BYZ_BEHAVIOURS] = {
    "silent", "equivocate", "collude", "bad-reply",
    "replay", "mutate",     "bad-mac", "twin",
    "conflict", "bad-vc",     "bad-tags",
};

enum {
    BYZ_SILENT = 1 << 0,
    BYZ_EQUIVOCATE = 1 << 1,
    BYZ_COLLUDE = 1 << 2,
    BYZ_BAD_REPLY = 1 << 3,
    BYZ_REPLAY = 1 << 4,
    BYZ_MUTATE = 1 << 5,
    BYZ_BAD_MAC = 1 << 6,
    BYZ_TWIN = 1 << 7,
    BYZ_CONFLICT = 1 << 8,
    BYZ_BAD_VC = 1 << 9,
    BYZ_BAD_TAGS = 1 << 10,
    BYZ_ALL = (1 << 10) - 1, /* those drawn at random */
    BYZ_DECODE = BYZ_EQUIVOCATE | BYZ_COLLUDE | BYZ_MUTATE | BYZ_BAD_MAC |
                 BYZ_CONFLICT | BYZ_BAD_VC | BYZ_BAD_TAGS,
};

#define REPLAY_MAX 32             /* old frames kept per replica */
#define REPLAY_FRAME_BYTES 65536  /* larger ones are not kept */
#define EQ_SLOTS 64               /* (view, seq) equivocation records */

/* What a Byzantine primary sent each receiver for one (view, seq), so that
 * colluders vote for it. */
struct eq_rec {
    uint64_t view;
    smr_seq seq;
    uint32_t mask; /* receivers recorded */
    uint8_t d[NODES_MAX][SMR_DIGEST_BYTES];
};

struct sim_byz {
    uint64_t rng; /* its own stream: tampering shifts no fault draw */
    struct ord_pbft_msg m;
    struct wire_pbft_store store;
    struct smr_buf out;
    struct smr_buf replay[NODES_MAX][REPLAY_MAX];
    uint32_t n_replay[NODES_MAX];
    struct eq_rec eq[EQ_SLOTS];
    struct smr_buf auth; /* bad-tags: the pre-prepare's tags, changed */
    bool bad_client;  /* a faulty client runs (its own stream) */
    uint64_t bad_rng;
    smr_req_id bad_req;
    smr_client_id bad_id;
    uint8_t bad_keys[NODES_MAX][ORD_PBFT_KEY_BYTES]; /* its key per replica */
    struct forgery {
        smr_seq seq; /* 0: none */
        uint8_t digest[SMR_DIGEST_BYTES];
        struct smr_buf bytes;
    } forged[NODES_MAX]; /* conflict: a snapshot it claims and serves */
};

static uint64_t brnd(struct sim_byz *b)
{
    return smr_rng_next(&b->rng);
}

static bool bchance(struct sim_byz *b, unsigned permille)
{
    return brnd(b) % 1000 < permille;
}

/* ------------------------------------------------------------ setup */

static uint32_t draw_mask(struct sim_byz *b, uint32_t allowed, bool twin_ok)
{
    if (!twin_ok)
        allowed &= ~(uint32_t)BYZ_TWIN;
    if (!allowed)
        return BYZ_BAD_MAC; /* only a twin was allowed, and it is taken */
    uint32_t mask = 0;
    while (!mask)
        mask = (uint32_t)brnd(b) & allowed;
    if ((mask & BYZ_SILENT) && mask != BYZ_SILENT && bchance(b, 700))
        mask &= ~(uint32_t)BYZ_SILENT; /* mostly active liars */
    return mask;
}

static void describe(struct sim *s)
{
    char *d = s->res->byz_desc;
    size_t cap = sizeof s->res->byz_desc, len = 0;
    for (uint32_t i = 0; i < s->opt.replicas && len < cap; i++) {
        if (!s->nodes[i].byz)
            continue;
        len += (size_t)snprintf(d + len, cap - len, "%sr%u", len ? " " : "",
                                i);
        const char *sep = "{";
        for (uint32_t k = 0; k < SIM_BYZ_BEHAVIOURS && len < cap; k++)
            if (s->nodes[i].byz & (1u << k)) {
                len += (size_t)snprintf(d + len, cap - len, "%s%s", sep,
                                        sim_byz_names[k]);
                sep = ",";
            }
        if (len < cap)
            len += (size_t)snprintf(d + len, cap - len, "}");
    }
    if (s->byz && s->byz->bad_client && len < cap)
        snprintf(d + len, cap - len, "%sclient{bad-tags}", len ? " " : "");
}

/* The second copy of replica `id`: its own store, the same clock rate and
 * engine; peers in twin_split reach it instead of the original. */
static void add_twin(struct sim *s, uint32_t id)
{
    struct snode *tw = &s->nodes[s->opt.replicas];
    s->twin_of = id;
    s->twin_split = (uint32_t)brnd(s->byz) & ((1u << s->opt.replicas) - 1) &
                    ~(1u << id);
    tw->twin = true;
    tw->byz = s->nodes[id].byz;
    tw->rate_permille = s->nodes[id].rate_permille;
    tw->sched_seed = s->nodes[id].sched_seed;
    s->n_nodes = s->opt.replicas + 1;
}

int sim_byz_setup(struct sim *s, uint64_t seed)
{
    uint32_t n = s->opt.replicas;
    s->keys = calloc(1, sizeof *s->keys);
    if (!s->keys)
        return SMR_ENOMEM;
    glue_keys_derive(seed, n, 1, s->keys);
    snprintf(s->cfg.protocol, sizeof s->cfg.protocol, "pbft");
    s->cfg.keys_mem = s->keys;
    struct ord_pbft_config pc;
    glue_config_pbft(&s->cfg, 0, NULL, &pc);
    s->epoch = pc.epoch;
    s->f = (n - 1) / 3;
    /* splitmix64 of the seed: a stream unrelated to the topology's (plain
     * xorshift streams from seed ^ constant share their low bits, which
     * tied the Byzantine count to the bit rot draw). */
    uint64_t rng = seed + 0xB7E151628AED2A6BULL;
    rng = (rng ^ (rng >> 30)) * 0xBF58476D1CE4E5B9ULL;
    rng = (rng ^ (rng >> 27)) * 0x94D049BB133111EBULL;
    rng ^= rng >> 31;
    if (!rng)
        rng = 1;
    uint32_t count = s->opt.byzantine >= 0
                         ? (uint32_t)s->opt.byzantine
                         : (uint32_t)(smr_rng_next(&rng) % (s->f + 1));
    s->res->byzantine = count;
    if (count + 1 > s->f)
        s->rot_pending = false; /* a refused store is one more fault */
    if (!count)
        return SMR_OK;
    s->byz = calloc(1, sizeof *s->byz);
    if (!s->byz)
        return SMR_ENOMEM;
    struct sim_byz *b = s->byz;
    b->rng = rng;
    smr_buf_init(&b->out);
    smr_buf_init(&b->auth);
    uint32_t allowed = s->opt.behaviours ? s->opt.behaviours : BYZ_ALL;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t id = k == 0 && bchance(b, 500) ? 0 : (uint32_t)(brnd(b) % n);
        while (s->nodes[id].byz)
            id = (uint32_t)(brnd(b) % n);
        s->nodes[id].byz = s->opt.behaviours
                               ? s->opt.behaviours /* exactly these */
                               : draw_mask(b, allowed, s->twin_of == UINT32_MAX);
        if (s->twin_of != UINT32_MAX)
            s->nodes[id].byz &= ~(uint32_t)BYZ_TWIN; /* one twin at most */
        if (!s->nodes[id].byz)
            s->nodes[id].byz = BYZ_BAD_MAC;
        if (s->nodes[id].byz & BYZ_TWIN)
            add_twin(s, id);
    }
    b->bad_rng = b->rng ^ 0xC11E47BADULL; /* b->rng's draws stay as they were */
    b->bad_client = smr_rng_next(&b->bad_rng) % 1000 < 400;
    b->bad_id = ((smr_client_id)(s->keys->client_block + 1) << 32) | 9;
    for (uint32_t i = 0; b->bad_client && i < n; i++)
        ord_pbft_client_key(s->keys->client_roots[i], b->bad_id,
                            b->bad_keys[i]);
    describe(s);
    return SMR_OK;
}

void sim_byz_free(struct sim *s)
{
    free(s->keys);
    s->keys = NULL;
    struct sim_byz *b = s->byz;
    if (!b)
        return;
    for (uint32_t i = 0; i < NODES_MAX; i++)
        for (uint32_t k = 0; k < REPLAY_MAX; k++)
            smr_buf_free(&b->replay[i][k]);
    smr_buf_free(&b->out);
    smr_buf_free(&b->auth);
    for (uint32_t i = 0; i < NODES_MAX; i++)
        smr_buf_free(&b->forged[i].bytes);
    free(b);
    s->byz = NULL;
}

void sim_pbft_request(struct sim *s, struct sclient *c,
                      const struct smr_request *r)
{
    if (glue_pbft_request_encode(&c->frame, s->cfg.cluster_id, s->epoch,
                                 s->keys, s->opt.replicas, r,
                                 false) != SMR_OK)
        abort(); /* the simulator's own request: a bug here */
    smr_buf_reset(&c->signed_frame);
    smr_buf_reset(&c->pbft_op);
    if (smr_buf_append(&c->pbft_op, r->op, r->op_len) != SMR_OK)
        abort();
    c->pbft_id = r->client_id;
}

const struct smr_buf *sim_pbft_signed(struct sim *s, struct sclient *c)
{
    struct smr_request r = {c->pbft_id, c->req, c->pbft_op.data,
                            (uint32_t)c->pbft_op.len};
    if (c->signed_frame.len == 0 &&
        glue_pbft_request_encode(&c->signed_frame, s->cfg.cluster_id, s->epoch,
                                 s->keys, s->opt.replicas, &r,
                                 true) != SMR_OK)
        abort(); /* the simulator's own request: a bug here */
    return &c->signed_frame;
}

/* ------------------------------------------------------------ peers */

static void remember(struct sim_byz *b, uint32_t id, const uint8_t *frame,
                     size_t len)
{
    if (len > REPLAY_FRAME_BYTES)
        return;
    uint32_t at = b->n_replay[id] < REPLAY_MAX
                      ? b->n_replay[id]++
                      : (uint32_t)(brnd(b) % REPLAY_MAX);
    struct smr_buf *keep = &b->replay[id][at];
    smr_buf_reset(keep);
    if (smr_buf_append(keep, frame, len) != SMR_OK)
        abort();
}

static struct eq_rec *eq_slot(struct sim_byz *b, uint64_t view, smr_seq seq)
{
    return &b->eq[(view * 31 + seq) % EQ_SLOTS];
}

/* Equivocation as primary: odd receivers get another leader time. */
static bool equivocate(struct sim *s, uint32_t to, struct ord_pbft_msg *m)
{
    bool changed = false;
    if (to % 2 == 1) {
        m->leader_time_ms += 1;
        ord_pbft_entry_digest(s->epoch, m->leader_time_ms, m->batch,
                              m->batch_len, m->digest);
        changed = true;
    }
    struct eq_rec *e = eq_slot(s->byz, m->view, m->seq);
    if (e->view != m->view || e->seq != m->seq) {
        e->view = m->view;
        e->seq = m->seq;
        e->mask = 0;
    }
    memcpy(e->d[to], m->digest, SMR_DIGEST_BYTES);
    e->mask |= 1u << to;
    return changed;
}

/* Collusion: a vote for what the Byzantine primary sent `to`. */
static bool collude(struct sim *s, uint32_t to, struct ord_pbft_msg *m)
{
    struct eq_rec *e = eq_slot(s->byz, m->view, m->seq);
    if (e->view != m->view || e->seq != m->seq || !(e->mask & (1u << to)) ||
        !memcmp(m->digest, e->d[to], SMR_DIGEST_BYTES))
        return false;
    memcpy(m->digest, e->d[to], SMR_DIGEST_BYTES);
    return true;
}

/* Changes m by nd's behaviours; true when it changed. */
/* conflict: the replica's own snapshot at `seq` with its log clock (the
 * u64 after magic, version and executed_seq) moved: it restores without an
 * error, to a state no correct replica had. NULL when the replica's stored
 * snapshot is another one. */
static const struct forgery *forge_snapshot(struct snode *nd, smr_seq seq)
{
    struct forgery *f = &nd->sim->byz->forged[nd->id];
    if (seq && f->seq == seq)
        return f;
    if (!seq || sto_state_get(nd->n->sto, GLUE_STATE_SNAPSHOT, &f->bytes) !=
                    SMR_OK ||
        f->bytes.len < 24 ||
        exe_snapshot_seq(f->bytes.data, f->bytes.len) != seq)
        return NULL;
    f->bytes.data[16 + 5] ^= 0x01; /* the log clock, 2^40 ms on */
    crypto_generichash(f->digest, SMR_DIGEST_BYTES, f->bytes.data,
                       f->bytes.len, NULL, 0);
    f->seq = seq;
    return f;
}

static bool tamper(struct snode *nd, uint32_t to, struct ord_pbft_msg *m)
{
    struct sim *s = nd->sim;
    struct sim_byz *b = s->byz;
    bool macced = m->type != ORD_PBFT_REQUEST &&
                  m->type != ORD_PBFT_VIEW_CHANGE &&
                  m->type != ORD_PBFT_NEW_VIEW;
    bool reseal = false, changed = false;
    if ((nd->byz & (BYZ_EQUIVOCATE | BYZ_COLLUDE)) &&
        m->type == ORD_PBFT_PRE_PREPARE && to < NODES_MAX)
        reseal |= equivocate(s, to, m);
    if ((nd->byz & BYZ_COLLUDE) &&
        (m->type == ORD_PBFT_PREPARE || m->type == ORD_PBFT_COMMIT))
        reseal |= collude(s, to, m);
    if ((nd->byz & BYZ_BAD_TAGS) && m->type == ORD_PBFT_PRE_PREPARE &&
        to % 2 == 1 && m->req_auth_len >= (to + 1) * ORD_PBFT_MAC_BYTES) {
        smr_buf_reset(&b->auth);
        if (smr_buf_append(&b->auth, m->req_auth, m->req_auth_len) != SMR_OK)
            abort();
        b->auth.data[to * ORD_PBFT_MAC_BYTES] ^= 1; /* request 0, slot `to` */
        m->req_auth = b->auth.data;
        reseal = true;
    }
    if ((nd->byz & BYZ_CONFLICT) &&
        (m->type == ORD_PBFT_PREPARE || m->type == ORD_PBFT_COMMIT ||
         m->type == ORD_PBFT_CHECKPOINT) &&
        bchance(b, 500)) {
        m->digest[brnd(b) % SMR_DIGEST_BYTES] ^= 1;
        reseal = true;
    }
    if ((nd->byz & BYZ_CONFLICT) && m->type == ORD_PBFT_STATUS &&
        bchance(b, 500)) {
        const struct forgery *f = forge_snapshot(nd, m->snap.seq);
        if (f)
            memcpy(m->snap.digest, f->digest, SMR_DIGEST_BYTES);
        m->log_from = m->commit_upto + 1;
        reseal = true;
    }
    if ((nd->byz & BYZ_MUTATE) && macced && bchance(b, 200)) {
        if (bchance(b, 500))
            m->view = bchance(b, 500) || m->view == 0 ? m->view + 1
                                                      : m->view - 1;
        else
            m->seq = bchance(b, 500) || m->seq == 0 ? m->seq + 1 : m->seq - 1;
        reseal = true;
    }
    if (reseal)
        ord_pbft_seal(nd->n->core, m);
    if ((nd->byz & BYZ_BAD_VC) && m->type == ORD_PBFT_VIEW_CHANGE &&
        m->vc->from == nd->id && (m->vc->n_prepared || m->vc->n_preprepared)) {
        /* The decoded view change lives in the store: ours to change. */
        struct ord_pbft_view_change *vc = &b->store.vcs[0];
        if (m->vc == vc) {
            vc->n_prepared = vc->n_preprepared = 0;
            vc->bodies = NULL;
            ord_pbft_sign_view_change(nd->n->core, vc);
            changed = true;
        }
    }
    if ((nd->byz & BYZ_BAD_MAC) && macced && bchance(b, 200)) {
        uint32_t slot = bchance(b, 500) ? to : (uint32_t)(brnd(b) % s->opt.replicas);
        m->mac[slot][brnd(b) % ORD_PBFT_MAC_BYTES] ^= 0x10;
        changed = true;
    }
    return reseal || changed;
}

void sim_byz_peer_send(struct snode *nd, uint32_t to, const uint8_t *frame,
                       size_t len)
{
    struct sim *s = nd->sim;
    struct sim_byz *b = s->byz;
    if (nd->byz & BYZ_SILENT) {
        s->res->byz_tampered++;
        return;
    }
    if (nd->byz & BYZ_REPLAY)
        remember(b, nd->id, frame, len);
    uint64_t cluster;
    smr_epoch epoch;
    int type;
    struct wire_state_chunk c;
    const struct forgery *f = &b->forged[nd->id];
    if ((nd->byz & BYZ_CONFLICT) && wire_peek_type(frame, len, &type) == SMR_OK &&
        type == WIRE_STATE_CHUNK &&
        wire_decode_state_chunk(frame, len, &c) == SMR_OK && c.len > 0 &&
        ((f->seq == c.seq && f->bytes.len == c.total) || bchance(b, 500))) {
        smr_buf_reset(&b->auth);
        if (f->seq == c.seq && f->bytes.len == c.total) {
            c.bytes = f->bytes.data + c.offset; /* the forgery it claimed */
        } else {
            if (smr_buf_append(&b->auth, c.bytes, c.len) != SMR_OK)
                abort();
            b->auth.data[brnd(b) % c.len] ^= 0x01; /* nobody vouched */
            c.bytes = b->auth.data;
        }
        if (glue_state_encode_chunk(nd->n, to, &c, &b->out) != SMR_OK)
            return;
        s->res->byz_tampered++;
        frame = b->out.data;
        len = b->out.len;
    }
    if ((nd->byz & BYZ_DECODE) &&
        wire_decode_pbft(frame, len, &cluster, &epoch, &b->m, &b->store) ==
            SMR_OK &&
        tamper(nd, to, &b->m)) {
        if (wire_encode_pbft(&b->out, cluster, epoch, &b->m) != SMR_OK)
            return; /* grew past a bound: the frame is lost */
        s->res->byz_tampered++;
        frame = b->out.data;
        len = b->out.len;
    }
    sim_net_send(s, TO_PEER, nd->id, to, nd->depart_at, frame, len);
}

/* ------------------------------------------------------------ clients */

void sim_byz_client_send(struct snode *nd, uint32_t client,
                         const uint8_t *frame, size_t len)
{
    struct sim *s = nd->sim;
    struct sim_byz *b = s->byz;
    if (nd->byz & BYZ_SILENT) {
        s->res->byz_tampered++;
        return;
    }
    struct wire_reply rep;
    uint8_t result[256]; /* the simulator's results are short */
    if ((nd->byz & BYZ_BAD_REPLY) && bchance(b, 500) &&
        wire_decode_reply(frame, len, &rep) == SMR_OK &&
        rep.status == WIRE_REPLY_OK && rep.result_len <= sizeof result) {
        memcpy(result, rep.result, rep.result_len);
        rep.result = result;
        if (rep.result_len > 0 && bchance(b, 700))
            result[brnd(b) % rep.result_len] ^= 0x01; /* a forged result */
        else
            rep.seq += 1 + brnd(b) % 3; /* a forged slot */
        /* Mostly a lie it signs for (it holds its own key with the
         * client), sometimes one it does not (the old tag stays). */
        if (bchance(b, 800))
            nd->n->core_glue->reply_tag(nd->n->core, nd->id, &rep);
        if (wire_encode_reply(&b->out, &rep) != SMR_OK)
            return;
        s->res->byz_tampered++;
        frame = b->out.data;
        len = b->out.len;
    }
    sim_net_send(s, TO_CLIENT, nd->id, client, nd->depart_at, frame, len);
}

/* ------------------------------------------------------------ streams */

/* What a lying stream sends executor `exec` instead of a committed entry:
 * another batch, leader time or seq, or a false SNAPSHOT_REQUIRED; each
 * executor hears its own lie, so no two lies need to agree. */
static bool forge_entry(struct sim_byz *b, struct smr_committed *c,
                        uint8_t *batch, size_t cap)
{
    unsigned what = (unsigned)(brnd(b) % 100);
    if (what < 4) {
        struct wire_snapshot_required sr = {c->seq + 1};
        return wire_encode_snapshot_required(&b->out, &sr) == SMR_OK;
    }
    if (what < 40 && c->batch_len > 0 && c->batch_len <= cap) {
        memcpy(batch, c->batch, c->batch_len);
        batch[brnd(b) % c->batch_len] ^= (uint8_t)(1 + brnd(b) % 255);
        c->batch = batch;
    } else if (what < 70) {
        c->leader_time_ms += 1 + brnd(b) % 1000;
    } else {
        c->seq += 1 + brnd(b) % 3;
    }
    return wire_encode_committed(&b->out, c) == SMR_OK;
}

void sim_byz_stream_send(struct snode *nd, uint32_t exec, uint8_t tag,
                         const uint8_t *frame, size_t len)
{
    struct sim *s = nd->sim;
    struct sim_byz *b = s->byz;
    struct smr_committed c;
    uint8_t batch[4096]; /* the simulator's batches are small */
    if (nd->byz & BYZ_SILENT) {
        s->res->byz_tampered++;
        return;
    }
    if ((nd->byz & (BYZ_BAD_REPLY | BYZ_MUTATE | BYZ_CONFLICT)) &&
        bchance(b, 500) && wire_decode_committed(frame, len, &c) == SMR_OK &&
        forge_entry(b, &c, batch, sizeof batch)) {
        s->res->byz_tampered++;
        s->res->stream_lies++;
        frame = b->out.data;
        len = b->out.len;
    }
    sim_net_send_tagged(s, TO_EXECUTOR, tag, nd->id, exec, nd->depart_at,
                        frame, len);
}

/* ------------------------------------------------------------ replays */

/* The faulty client, about every 70 ms: one request whose tags check only
 * at some replicas (often the primary alone), never signed, never resent. */
static void bad_client_tick(struct sim *s)
{
    struct sim_byz *b = s->byz;
    if (smr_rng_next(&b->bad_rng) % 1000 >= 150)
        return;
    uint32_t n = s->opt.replicas;
    smr_client_id id = b->bad_id;
    struct smr_buf op;
    smr_buf_init(&op);
    if (exe_kv_encode(&op, EXE_KV_PUT, "bad", 3, NULL, 0, "x", 1) != SMR_OK)
        abort();
    struct smr_request r = {id, ++b->bad_req, op.data, (uint32_t)op.len};
    struct ord_pbft_msg m;
    memset(&m, 0, sizeof m);
    m.type = ORD_PBFT_REQUEST;
    m.from = ORD_PBFT_FROM_CLIENT;
    m.client_id = id;
    m.req_id = r.req_id;
    m.op = r.op;
    m.op_len = r.op_len;
    ord_pbft_request_auth((const uint8_t(*)[ORD_PBFT_KEY_BYTES])b->bad_keys, n,
                          s->cfg.cluster_id, &r, m.mac);
    uint32_t primary = s->clients[0].target % n; /* a guess, as a client's */
    uint32_t good = smr_rng_next(&b->bad_rng) % 1000 < 600
                        ? 1u << primary
                        : (uint32_t)smr_rng_next(&b->bad_rng);
    for (uint32_t i = 0; i < n; i++)
        if (!(good & (1u << i)))
            m.mac[i][0] ^= 1;
    bool to_all = smr_rng_next(&b->bad_rng) % 1000 < 400;
    if (wire_encode_pbft(&b->out, s->cfg.cluster_id, s->epoch, &m) != SMR_OK)
        abort();
    smr_buf_free(&op);
    s->res->bad_client_requests++;
    for (uint32_t i = 0; i < n; i++) /* from a route no reply reaches */
        if (to_all || i == primary)
            sim_net_send(s, TO_REPLICA, s->opt.clients, i, s->now,
                         b->out.data, b->out.len);
}

void sim_byz_count(struct sim *s, struct snode *nd)
{
    if (!s->pbft || !nd->n || nd->byz)
        return;
    struct ord_pbft_stats st;
    ord_pbft_get_stats(nd->n->core, &st);
    s->res->held += st.held;
    s->res->signed_requests += st.signed_requests;
    s->res->truncations += st.truncations;
}

void sim_byz_tick(struct sim *s)
{
    struct sim_byz *b = s->byz;
    if (b->bad_client)
        bad_client_tick(s);
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        struct snode *nd = &s->nodes[i];
        uint32_t id = nd->id;
        if (!nd->up || !(nd->byz & BYZ_REPLAY) || (nd->byz & BYZ_SILENT) ||
            !b->n_replay[id] || !bchance(b, 30))
            continue;
        struct smr_buf *old = &b->replay[id][brnd(b) % b->n_replay[id]];
        uint32_t to = (uint32_t)(brnd(b) % s->opt.replicas);
        if (to == id)
            continue;
        s->res->byz_tampered++;
        sim_net_send(s, TO_PEER, id, to, s->now, old->data, old->len);
    }
}
