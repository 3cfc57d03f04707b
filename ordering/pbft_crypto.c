/*
 * pbft_crypto.c: authentication of the PBFT core (TOCS §4.2 MAC
 * authenticators; Ed25519 for the transferable view-change messages).
 *
 * Every authenticated message is reduced to a 32-byte digest of its
 * canonical fields (domain string, cluster id, epoch, type, sender, view,
 * sequence number, then the type's own fields, large payloads by their own
 * digests), so a message cannot be replayed into another cluster, epoch,
 * view, slot or sender. A MAC is SipHash-2-4 with a 128-bit output over
 * that digest (keyed with the first half of the 32-byte key); the signature
 * is Ed25519 over it.
 *
 * Pairwise keys: X25519 between the replicas' Ed25519 keys (converted with
 * crypto_sign_ed25519_*_to_curve25519), hashed with the cluster id and the
 * two ids. Only the two replicas of a pair can compute their key, so a
 * Byzantine replica cannot forge a tag between two others. Client keys are
 * derived from a secret root each replica holds alone, through the key of
 * the client's block of ids (ord_pbft_client_key).
 */
#include "pbft_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

/* -------------------------------------------------------- hashing helpers */

static void h_init(crypto_generichash_state *st, const char *domain)
{
    crypto_generichash_init(st, NULL, 0, PBFT_D);
    crypto_generichash_update(st, (const uint8_t *)domain, strlen(domain) + 1);
}

static void h_u64(crypto_generichash_state *st, uint64_t v)
{
    uint8_t b[8];
    smr_put_u64(b, v);
    crypto_generichash_update(st, b, sizeof b);
}

static void h_bytes(crypto_generichash_state *st, const void *data, size_t len)
{
    h_u64(st, len);
    if (len)
        crypto_generichash_update(st, data, len);
}

static void h_raw(crypto_generichash_state *st, const uint8_t *data, size_t len)
{
    crypto_generichash_update(st, data, len);
}

static void h_final(crypto_generichash_state *st, uint8_t out[PBFT_D])
{
    crypto_generichash_final(st, out, PBFT_D);
}

void ord_pbft_entry_digest(smr_epoch epoch, uint64_t leader_time_ms,
                           const uint8_t *batch, uint32_t batch_len,
                           uint8_t out[SMR_DIGEST_BYTES])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-entry");
    h_u64(&st, epoch);
    h_u64(&st, leader_time_ms);
    h_bytes(&st, batch, batch_len);
    h_final(&st, out);
}

void pbft_genesis(const struct ord_pbft_config *c, uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-genesis");
    h_u64(&st, c->cluster_id);
    h_u64(&st, c->epoch);
    h_final(&st, out);
}

void pbft_chain_next(uint8_t chain[PBFT_D], smr_seq seq,
                     const uint8_t entry_digest[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-chain");
    h_raw(&st, chain, PBFT_D);
    h_u64(&st, seq);
    h_raw(&st, entry_digest, PBFT_D);
    h_final(&st, chain);
}

/* ------------------------------------------------------------------ keys */

int pbft_keys_init(struct ord_pbft *p)
{
    const struct ord_pbft_config *c = &p->cfg;
    uint8_t pk[ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t x_sk[crypto_scalarmult_BYTES];
    int rc = SMR_OK;
    crypto_sign_ed25519_sk_to_pk(pk, c->secret_key);
    if (sodium_memcmp(pk, c->public_keys[c->self], sizeof pk) != 0)
        return SMR_ECONFIG;
    /* Without the client CA no proof checks, so no request is ever timed
     * and a faulty primary is never deposed. */
    if (sodium_is_zero(c->client_ca_key, sizeof c->client_ca_key))
        return SMR_ECONFIG;
    if (crypto_sign_ed25519_sk_to_curve25519(x_sk, c->secret_key) != 0)
        return SMR_ECONFIG;
    for (smr_node_id j = 0; j < c->n_replicas; j++) {
        if (j == c->self) {
            memset(p->pair_key[j], 0, ORD_PBFT_KEY_BYTES);
            continue;
        }
        uint8_t x_pk[crypto_scalarmult_BYTES];
        uint8_t shared[crypto_scalarmult_BYTES];
        if (crypto_sign_ed25519_pk_to_curve25519(x_pk, c->public_keys[j]) ||
            crypto_scalarmult(shared, x_sk, x_pk)) {
            rc = SMR_ECONFIG;
            break;
        }
        smr_node_id lo = j < c->self ? j : c->self;
        smr_node_id hi = j < c->self ? c->self : j;
        crypto_generichash_state st;
        h_init(&st, "strata-pbft-pair");
        h_u64(&st, c->cluster_id);
        h_u64(&st, lo);
        h_u64(&st, hi);
        h_raw(&st, shared, sizeof shared);
        crypto_generichash_final(&st, p->pair_key[j], ORD_PBFT_KEY_BYTES);
        sodium_memzero(shared, sizeof shared);
    }
    sodium_memzero(x_sk, sizeof x_sk);
    return rc;
}

/* A key derived from `key`: BLAKE2b keyed with it over a domain string and
 * a number. */
static void derive_key(const uint8_t key[ORD_PBFT_KEY_BYTES],
                       const char *domain, uint64_t v,
                       uint8_t out[ORD_PBFT_KEY_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, ORD_PBFT_KEY_BYTES, ORD_PBFT_KEY_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    h_u64(&st, v);
    crypto_generichash_final(&st, out, ORD_PBFT_KEY_BYTES);
}

void ord_pbft_client_block_key(const uint8_t root[ORD_PBFT_KEY_BYTES],
                               uint32_t block, uint8_t out[ORD_PBFT_KEY_BYTES])
{
    derive_key(root, "strata-pbft-client-block", block, out);
}

void ord_pbft_client_key_in_block(const uint8_t block_key[ORD_PBFT_KEY_BYTES],
                                  smr_client_id client_id,
                                  uint8_t out[ORD_PBFT_KEY_BYTES])
{
    derive_key(block_key, "strata-pbft-client", client_id, out);
}

void ord_pbft_client_key(const uint8_t root[ORD_PBFT_KEY_BYTES],
                         smr_client_id client_id,
                         uint8_t out[ORD_PBFT_KEY_BYTES])
{
    uint8_t block_key[ORD_PBFT_KEY_BYTES];
    ord_pbft_client_block_key(root, ORD_PBFT_CLIENT_BLOCK(client_id),
                              block_key);
    ord_pbft_client_key_in_block(block_key, client_id, out);
    sodium_memzero(block_key, sizeof block_key);
}

/* --------------------------------------------------- message authenticators */

static void tag_of(const uint8_t key[ORD_PBFT_KEY_BYTES],
                   const uint8_t digest[PBFT_D],
                   uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    static_assert(crypto_shorthash_siphashx24_BYTES == ORD_PBFT_MAC_BYTES &&
                      crypto_shorthash_siphashx24_KEYBYTES <=
                          ORD_PBFT_KEY_BYTES,
                  "a tag is one SipHash-2-4-128 output");
    crypto_shorthash_siphashx24(tag, digest, PBFT_D, key);
}

static void request_digest(uint64_t cluster_id, const struct smr_request *r,
                           uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-request");
    h_u64(&st, cluster_id);
    h_u64(&st, r->client_id);
    h_u64(&st, r->req_id);
    h_bytes(&st, r->op, r->op_len);
    h_final(&st, out);
}

/* What a request's tags cover: a domain, cluster id, client id, request
 * id and the op itself, or for an op over REQ_INLINE bytes its BLAKE2b
 * digest (another domain). SipHash straight over these bytes: a request
 * is tagged by its client and checked by every replica, and a BLAKE2b
 * pass first cost as much as the tags. */
#define REQ_INLINE 512
#define REQ_HEAD 40
struct req_input {
    uint8_t b[REQ_HEAD + REQ_INLINE];
    size_t len;
};

static void request_input(uint64_t cluster_id, const struct smr_request *r,
                          struct req_input *in)
{
    bool inline_op = r->op_len <= REQ_INLINE;
    memcpy(in->b, inline_op ? "strata-pbft-req1" : "strata-pbft-req2", 16);
    smr_put_u64(in->b + 16, cluster_id);
    smr_put_u64(in->b + 24, r->client_id);
    smr_put_u64(in->b + 32, r->req_id);
    if (inline_op) {
        if (r->op_len)
            memcpy(in->b + REQ_HEAD, r->op, r->op_len);
        in->len = REQ_HEAD + r->op_len;
    } else {
        crypto_generichash(in->b + REQ_HEAD, PBFT_D, r->op, r->op_len, NULL,
                           0);
        in->len = REQ_HEAD + PBFT_D;
    }
}

static void request_tag(const uint8_t key[ORD_PBFT_KEY_BYTES],
                        const struct req_input *in,
                        uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    crypto_shorthash_siphashx24(tag, in->b, in->len, key);
}

void ord_pbft_request_auth(const uint8_t (*keys)[ORD_PBFT_KEY_BYTES],
                           uint32_t n, uint64_t cluster_id,
                           const struct smr_request *r,
                           uint8_t (*out)[ORD_PBFT_MAC_BYTES])
{
    struct req_input in;
    request_input(cluster_id, r, &in);
    for (uint32_t i = 0; i < n; i++)
        request_tag(keys[i], &in, out[i]);
}

/* The key this replica shares with client `id`, from a direct-mapped cache
 * (deriving it costs two keyed hashes, as much as checking the tag). */
static const uint8_t *client_key(struct ord_pbft *p, smr_client_id id)
{
    struct pbft_client_key *k = &p->client_keys[(id * 0x9E3779B97F4A7C15ULL) >>
                                                (64 - PBFT_CLIENT_KEYS_BITS)];
    if (!k->used || k->client_id != id) {
        ord_pbft_client_key(p->cfg.client_key_root, id, k->key);
        k->client_id = id;
        k->used = true;
    }
    return k->key;
}

void ord_pbft_peer_tag(const struct ord_pbft *p, smr_node_id peer,
                       const uint8_t digest[SMR_DIGEST_BYTES],
                       uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    if (peer < p->n)
        tag_of(p->pair_key[peer], digest, tag);
    else
        memset(tag, 0, ORD_PBFT_MAC_BYTES);
}

bool ord_pbft_peer_tag_check(const struct ord_pbft *p, smr_node_id peer,
                             const uint8_t digest[SMR_DIGEST_BYTES],
                             const uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    uint8_t want[ORD_PBFT_MAC_BYTES];
    if (peer >= p->n || peer == p->cfg.self)
        return false;
    tag_of(p->pair_key[peer], digest, want);
    return sodium_memcmp(want, tag, sizeof want) == 0;
}

bool pbft_request_check(struct ord_pbft *p, const struct smr_request *r,
                        const uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    struct req_input in;
    uint8_t want[ORD_PBFT_MAC_BYTES];
    const uint8_t *key = client_key(p, r->client_id);
    request_input(p->cfg.cluster_id, r, &in);
    request_tag(key, &in, want);
    return sodium_memcmp(want, tag, sizeof want) == 0;
}

/* What a reply's tag covers (ord_pbft_reply_tag): like request_input, the
 * fields inline and the result inline up to REQ_INLINE bytes. */
#define REPLY_HEAD 72
struct reply_input {
    uint8_t b[REPLY_HEAD + REQ_INLINE];
    size_t len;
};

void ord_pbft_reply_tag(const uint8_t key[ORD_PBFT_KEY_BYTES],
                        uint64_t cluster_id, smr_epoch epoch,
                        const struct ord_pbft_reply *r,
                        uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    struct reply_input in;
    bool inline_result = r->result_len <= REQ_INLINE;
    memcpy(in.b, inline_result ? "strata-pbft-rep1" : "strata-pbft-rep2", 16);
    smr_put_u64(in.b + 16, cluster_id);
    smr_put_u64(in.b + 24, epoch);
    smr_put_u32(in.b + 32, r->from);
    smr_put_u32(in.b + 36, r->status);
    smr_put_u64(in.b + 40, r->client_id);
    smr_put_u64(in.b + 48, r->req_id);
    smr_put_u64(in.b + 56, r->seq);
    smr_put_u32(in.b + 64, r->leader_hint);
    smr_put_u32(in.b + 68, r->result_len);
    if (inline_result) {
        if (r->result_len)
            memcpy(in.b + REPLY_HEAD, r->result, r->result_len);
        in.len = REPLY_HEAD + r->result_len;
    } else {
        crypto_generichash(in.b + REPLY_HEAD, PBFT_D, r->result, r->result_len,
                           NULL, 0);
        in.len = REPLY_HEAD + PBFT_D;
    }
    crypto_shorthash_siphashx24(tag, in.b, in.len, key);
}

void ord_pbft_reply_seal(struct ord_pbft *p, const struct ord_pbft_reply *r,
                         uint8_t tag[ORD_PBFT_MAC_BYTES])
{
    assert(r->from == p->cfg.self);
    ord_pbft_reply_tag(client_key(p, r->client_id), p->cfg.cluster_id,
                       p->cfg.epoch, r, tag);
}

/* ------------------------------------------------------- signed requests */

static void cert_digest(uint32_t block,
                        const uint8_t pk[ORD_PBFT_PUBLIC_KEY_BYTES],
                        uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-client-cert");
    h_u64(&st, block);
    h_raw(&st, pk, ORD_PBFT_PUBLIC_KEY_BYTES);
    h_final(&st, out);
}

static void sig_digest(uint64_t cluster_id, const struct smr_request *r,
                       uint8_t out[PBFT_D])
{
    uint8_t d[PBFT_D];
    crypto_generichash_state st;
    request_digest(cluster_id, r, d);
    h_init(&st, "strata-pbft-request-sig");
    h_raw(&st, d, PBFT_D);
    h_final(&st, out);
}

void ord_pbft_client_cert(const uint8_t ca_sk[ORD_PBFT_SECRET_KEY_BYTES],
                          uint32_t block,
                          const uint8_t pk[ORD_PBFT_PUBLIC_KEY_BYTES],
                          uint8_t cert[ORD_PBFT_SIG_BYTES])
{
    uint8_t d[PBFT_D];
    cert_digest(block, pk, d);
    crypto_sign_detached(cert, NULL, d, PBFT_D, ca_sk);
}

void ord_pbft_request_sign(const uint8_t block_sk[ORD_PBFT_SECRET_KEY_BYTES],
                           const uint8_t cert[ORD_PBFT_SIG_BYTES],
                           uint64_t cluster_id, const struct smr_request *r,
                           uint8_t proof[ORD_PBFT_PROOF_BYTES])
{
    uint8_t d[PBFT_D];
    crypto_sign_ed25519_sk_to_pk(proof, block_sk);
    memcpy(proof + ORD_PBFT_PUBLIC_KEY_BYTES, cert, ORD_PBFT_SIG_BYTES);
    sig_digest(cluster_id, r, d);
    crypto_sign_detached(proof + ORD_PBFT_PUBLIC_KEY_BYTES + ORD_PBFT_SIG_BYTES,
                         NULL, d, PBFT_D, block_sk);
}

/* True when the proof's certificate is the CA's for its key and `block`
 * (a cache of certificates already checked: one Ed25519 verification per
 * block, not per request). The certificate's bytes are compared too: a
 * proof this replica passes on must check at every replica. */
static bool cert_check(struct ord_pbft *p, uint32_t block,
                       const uint8_t proof[ORD_PBFT_PROOF_BYTES])
{
    struct pbft_cert *c = &p->certs[(block * 0x9E3779B1u) >> 24];
    static_assert(PBFT_CERTS == 256, "the cache index is 8 bits");
    if (c->used && c->block == block &&
        memcmp(c->key_cert, proof, sizeof c->key_cert) == 0)
        return true;
    uint8_t d[PBFT_D];
    cert_digest(block, proof, d);
    if (crypto_sign_verify_detached(proof + ORD_PBFT_PUBLIC_KEY_BYTES, d,
                                    PBFT_D, p->cfg.client_ca_key) != 0)
        return false;
    c->used = true;
    c->block = block;
    memcpy(c->key_cert, proof, sizeof c->key_cert);
    return true;
}

bool pbft_request_proof_check(struct ord_pbft *p, const struct smr_request *r,
                              const uint8_t proof[ORD_PBFT_PROOF_BYTES])
{
    uint32_t block = ORD_PBFT_CLIENT_BLOCK(r->client_id);
    if (!cert_check(p, block, proof))
        return false;
    uint8_t d[PBFT_D];
    sig_digest(p->cfg.cluster_id, r, d);
    struct pbft_sig *seen = &p->sigs[smr_get_u32(d) % PBFT_SIGS];
    if (seen->used && memcmp(seen->digest, d, PBFT_D) == 0 &&
        memcmp(seen->proof, proof, ORD_PBFT_PROOF_BYTES) == 0)
        return true;
    if (crypto_sign_verify_detached(
            proof + ORD_PBFT_PUBLIC_KEY_BYTES + ORD_PBFT_SIG_BYTES, d, PBFT_D,
            proof) != 0)
        return false;
    seen->used = true;
    memcpy(seen->digest, d, PBFT_D);
    memcpy(seen->proof, proof, ORD_PBFT_PROOF_BYTES);
    p->stats.signed_requests++;
    return true;
}

/* ------------------------------------------------ a batch's authentication */

static size_t tags_len(const struct ord_pbft *p, uint32_t count)
{
    return (size_t)count * p->n * ORD_PBFT_MAC_BYTES;
}

/* The proof entries after the tags: a whole number of them, indexes rising
 * and inside the batch. */
static bool auth_layout_ok(const struct ord_pbft *p, uint32_t count,
                           const uint8_t *auth, uint32_t auth_len)
{
    size_t tags = tags_len(p, count);
    if (auth_len < tags || (auth_len && !auth) ||
        (auth_len - tags) % ORD_PBFT_PROOF_ENTRY_BYTES != 0)
        return false;
    uint64_t next = 0;
    for (size_t at = tags; at < auth_len; at += ORD_PBFT_PROOF_ENTRY_BYTES) {
        uint32_t k = smr_get_u32(auth + at);
        if (k < next || k >= count)
            return false;
        next = (uint64_t)k + 1;
    }
    return true;
}

const uint8_t *pbft_auth_proof(const struct ord_pbft *p, uint32_t count,
                               const uint8_t *auth, uint32_t auth_len,
                               uint32_t k)
{
    for (size_t at = tags_len(p, count); at + ORD_PBFT_PROOF_ENTRY_BYTES <=
                                         auth_len;
         at += ORD_PBFT_PROOF_ENTRY_BYTES) {
        uint32_t i = smr_get_u32(auth + at);
        if (i == k)
            return auth + at + 4;
        if (i > k)
            break;
    }
    return NULL;
}

enum pbft_auth pbft_batch_auth_check(struct ord_pbft *p, const uint8_t *batch,
                                     uint32_t batch_len, const uint8_t *auth,
                                     uint32_t auth_len, smr_client_id *who)
{
    struct smr_batch_iter it;
    struct smr_request r;
    uint32_t count = smr_batch_count(batch, batch_len);
    size_t per = (size_t)p->n * ORD_PBFT_MAC_BYTES;
    if (!auth_layout_ok(p, count, auth, auth_len) ||
        smr_batch_iter_init(&it, batch, batch_len) != SMR_OK)
        return PBFT_AUTH_MALFORMED;
    for (uint32_t k = 0; smr_batch_next(&it, &r) == SMR_OK; k++) {
        if (k >= count)
            return PBFT_AUTH_MALFORMED;
        /* Cheapest first: the tag, an identical pending request (checked
         * when it arrived), then the signature. */
        if (pbft_request_check(p, &r,
                               auth + k * per +
                                   (size_t)p->cfg.self * ORD_PBFT_MAC_BYTES) ||
            pbft_pending_has(p, &r))
            continue;
        const uint8_t *proof = pbft_auth_proof(p, count, auth, auth_len, k);
        if (proof && pbft_request_proof_check(p, &r, proof))
            continue;
        *who = r.client_id;
        return PBFT_AUTH_MISSING;
    }
    return PBFT_AUTH_OK;
}

/* The digest a message's MAC vector covers. */
static void msg_digest(const struct ord_pbft_config *c,
                       const struct ord_pbft_msg *m, uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-msg");
    h_u64(&st, c->cluster_id);
    h_u64(&st, c->epoch);
    h_u64(&st, m->type);
    h_u64(&st, m->from);
    h_u64(&st, m->view);
    h_u64(&st, m->seq);
    switch (m->type) {
    case ORD_PBFT_PRE_PREPARE:
        h_raw(&st, m->digest, PBFT_D);
        h_u64(&st, m->leader_time_ms);
        h_bytes(&st, m->req_auth, m->req_auth_len);
        break;
    case ORD_PBFT_PREPARE:
    case ORD_PBFT_COMMIT:
    case ORD_PBFT_CHECKPOINT:
        h_raw(&st, m->digest, PBFT_D);
        break;
    case ORD_PBFT_STATUS:
        h_u64(&st, m->active);
        h_u64(&st, m->stable);
        h_u64(&st, m->commit_upto);
        h_u64(&st, m->log_from);
        h_u64(&st, m->snap.seq);
        h_raw(&st, m->snap.chain, PBFT_D);
        h_raw(&st, m->snap.digest, PBFT_D);
        break;
    case ORD_PBFT_CATCHUP:
        h_u64(&st, m->n_entries);
        for (uint32_t i = 0; i < m->n_entries; i++) {
            const struct ord_pbft_entry *e = &m->entries[i];
            uint8_t d[PBFT_D];
            ord_pbft_entry_digest(c->epoch, e->leader_time_ms, e->batch,
                                  e->batch_len, d);
            h_u64(&st, e->seq);
            h_raw(&st, d, PBFT_D);
        }
        break;
    default:
        break;
    }
    h_final(&st, out);
}

void pbft_mac_fill(const struct ord_pbft *p, struct ord_pbft_msg *m)
{
    uint8_t d[PBFT_D];
    msg_digest(&p->cfg, m, d);
    for (smr_node_id j = 0; j < p->n; j++) {
        if (j == p->cfg.self)
            memset(m->mac[j], 0, ORD_PBFT_MAC_BYTES);
        else
            tag_of(p->pair_key[j], d, m->mac[j]);
    }
}

bool pbft_mac_check(const struct ord_pbft *p, const struct ord_pbft_msg *m)
{
    uint8_t d[PBFT_D], want[ORD_PBFT_MAC_BYTES];
    if (m->from >= p->n || m->from == p->cfg.self)
        return false;
    msg_digest(&p->cfg, m, d);
    tag_of(p->pair_key[m->from], d, want);
    return sodium_memcmp(want, m->mac[p->cfg.self], sizeof want) == 0;
}

void ord_pbft_seal(const struct ord_pbft *p, struct ord_pbft_msg *m)
{
    m->from = p->cfg.self;
    pbft_mac_fill(p, m);
}

/* ------------------------------------------------------------ signatures */

static void h_certs(crypto_generichash_state *st, const struct ord_pbft_cert *c,
                    uint32_t n, bool views)
{
    h_u64(st, n);
    for (uint32_t i = 0; i < n; i++) {
        h_u64(st, c[i].seq);
        if (views)
            h_u64(st, c[i].view);
        h_raw(st, c[i].digest, PBFT_D);
    }
}

void pbft_vc_digest(const struct ord_pbft_config *c,
                    const struct ord_pbft_view_change *vc, uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-view-change");
    h_u64(&st, c->cluster_id);
    h_u64(&st, c->epoch);
    h_u64(&st, vc->from);
    h_u64(&st, vc->view);
    h_u64(&st, vc->stable);
    h_certs(&st, vc->ckpts, vc->n_ckpts, false);
    h_certs(&st, vc->prepared, vc->n_prepared, true);
    h_certs(&st, vc->preprepared, vc->n_preprepared, true);
    h_final(&st, out);
}

void pbft_nv_digest(const struct ord_pbft_config *c,
                    const struct ord_pbft_new_view *nv, uint8_t out[PBFT_D])
{
    crypto_generichash_state st;
    h_init(&st, "strata-pbft-new-view");
    h_u64(&st, c->cluster_id);
    h_u64(&st, c->epoch);
    h_u64(&st, nv->from);
    h_u64(&st, nv->view);
    h_u64(&st, nv->n_vcs);
    for (uint32_t i = 0; i < nv->n_vcs; i++) {
        uint8_t d[PBFT_D];
        pbft_vc_digest(c, &nv->vcs[i], d);
        h_raw(&st, d, PBFT_D);
        h_raw(&st, nv->vcs[i].sig, ORD_PBFT_SIG_BYTES);
    }
    h_u64(&st, nv->ckpt.seq);
    h_raw(&st, nv->ckpt.digest, PBFT_D);
    h_certs(&st, nv->chosen, nv->n_chosen, false);
    h_final(&st, out);
}

bool pbft_sig_check(const struct ord_pbft *p, smr_node_id signer,
                    const uint8_t digest[PBFT_D],
                    const uint8_t sig[ORD_PBFT_SIG_BYTES])
{
    if (signer >= p->n)
        return false;
    return crypto_sign_verify_detached(sig, digest, PBFT_D,
                                       p->cfg.public_keys[signer]) == 0;
}

void ord_pbft_sign_view_change(const struct ord_pbft *p,
                               struct ord_pbft_view_change *vc)
{
    uint8_t d[PBFT_D];
    pbft_vc_digest(&p->cfg, vc, d);
    crypto_sign_detached(vc->sig, NULL, d, PBFT_D, p->cfg.secret_key);
}

void ord_pbft_sign_new_view(const struct ord_pbft *p,
                            struct ord_pbft_new_view *nv)
{
    uint8_t d[PBFT_D];
    pbft_nv_digest(&p->cfg, nv, d);
    crypto_sign_detached(nv->sig, NULL, d, PBFT_D, p->cfg.secret_key);
}
