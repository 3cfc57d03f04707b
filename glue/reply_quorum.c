/*
 * reply_quorum.c: Byzantine-tolerant client requests and reply votes
 * (reply_quorum.h).
 */
#include "reply_quorum.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "wire_pbft.h"

void glue_reply_quorum_reset(struct glue_reply_quorum *q, uint32_t n,
                             uint32_t f)
{
    memset(q, 0, sizeof *q);
    q->n = n;
    q->f = f;
}

/* The vote is over the result alone, as in TOCS §4.1 (f+1 replies "with
 * the same t and r"; t, the request id, is matched by the caller). Not the
 * seq: correct replicas answer a request that was committed again (a
 * client's retry in a later batch) from their session table, with the
 * slot of the duplicate they executed, so their seqs may differ
 * (tests/sim/regressions.txt: PBFT seeds 32 and 206). */
/* The digest is SipHash-2-4-128 under a key drawn once per process, not a
 * BLAKE2b hash: to make two different results vote alike a faulty replica
 * would have to find a collision of a keyed PRF whose key and outputs it
 * never sees, and the client's vote costs a quarter as much (it digests up
 * to n replies per request). */
static uint8_t digest_key[crypto_shorthash_siphashx24_KEYBYTES];
static pthread_once_t digest_key_once = PTHREAD_ONCE_INIT;

static void digest_key_draw(void)
{
    randombytes_buf(digest_key, sizeof digest_key);
}

static void reply_digest(const struct wire_reply *rep,
                         uint8_t out[GLUE_REPLY_DIGEST_BYTES])
{
    static_assert(GLUE_REPLY_DIGEST_BYTES == crypto_shorthash_siphashx24_BYTES,
                  "a reply digest is one SipHash-2-4-128 output");
    pthread_once(&digest_key_once, digest_key_draw);
    crypto_shorthash_siphashx24(out, rep->result, rep->result_len, digest_key);
}

enum glue_vote glue_reply_quorum_add(struct glue_reply_quorum *q,
                                     smr_node_id from,
                                     const struct wire_reply *rep)
{
    if (from >= q->n || rep->status != WIRE_REPLY_OK)
        return GLUE_VOTE_PENDING;
    reply_digest(rep, q->digest[from]);
    q->replied |= 1u << from;
    uint32_t same = 0, best = 0, replied = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        if (!(q->replied & (1u << i)))
            continue;
        replied++;
        uint32_t count = 0;
        for (uint32_t j = 0; j < q->n; j++)
            if ((q->replied & (1u << j)) &&
                sodium_memcmp(q->digest[i], q->digest[j],
                              GLUE_REPLY_DIGEST_BYTES) == 0)
                count++;
        if (i == from)
            same = count;
        if (count > best)
            best = count;
    }
    if (same >= q->f + 1)
        return GLUE_VOTE_DONE;
    if (best + (q->n - replied) < q->f + 1)
        return GLUE_VOTE_FAILED;
    return GLUE_VOTE_PENDING;
}

int glue_pbft_client_keys(const struct glue_keys *k, uint32_t n,
                          smr_client_id id, uint8_t (*out)[ORD_PBFT_KEY_BYTES])
{
    if (ORD_PBFT_CLIENT_BLOCK(id) != k->client_block || n > SMR_NODES_MAX)
        return SMR_EINVAL;
    for (uint32_t i = 0; i < n; i++)
        ord_pbft_client_key_in_block(k->client_block_keys[i], id, out[i]);
    return SMR_OK;
}

bool glue_pbft_reply_check(const uint8_t key[ORD_PBFT_KEY_BYTES],
                           uint64_t cluster_id, smr_epoch epoch,
                           smr_node_id from, const struct wire_reply *rep)
{
    if (!rep->has_tag)
        return false;
    struct ord_pbft_reply r = {from,          rep->client_id, rep->req_id,
                               rep->seq,      rep->status,    rep->leader_hint,
                               rep->result,   rep->result_len};
    uint8_t want[ORD_PBFT_MAC_BYTES];
    ord_pbft_reply_tag(key, cluster_id, epoch, &r, want);
    return sodium_memcmp(want, rep->tag, sizeof want) == 0;
}

int glue_pbft_request_encode_keyed(struct smr_buf *out, uint64_t cluster_id,
                                   smr_epoch epoch,
                                   const uint8_t (*keys)[ORD_PBFT_KEY_BYTES],
                                   uint32_t n, const struct smr_request *r,
                                   const struct glue_keys *signer)
{
    uint8_t proof[ORD_PBFT_PROOF_BYTES];
    if (n > SMR_NODES_MAX || r->op_len > SMR_OP_BYTES_MAX)
        return SMR_EINVAL;
    struct ord_pbft_msg m;
    memset(&m, 0, sizeof m);
    ord_pbft_request_auth(keys, n, cluster_id, r, m.mac);
    m.type = ORD_PBFT_REQUEST;
    m.from = ORD_PBFT_FROM_CLIENT;
    m.client_id = r->client_id;
    m.req_id = r->req_id;
    m.op = r->op;
    m.op_len = r->op_len;
    if (signer) {
        if (ORD_PBFT_CLIENT_BLOCK(r->client_id) != signer->client_block)
            return SMR_EINVAL;
        ord_pbft_request_sign(signer->client_sign_key, signer->client_cert,
                              cluster_id, r, proof);
        m.proof = proof;
    }
    return wire_encode_pbft(out, cluster_id, epoch, &m);
}

int glue_pbft_request_encode(struct smr_buf *out, uint64_t cluster_id,
                             smr_epoch epoch, const struct glue_keys *k,
                             uint32_t n, const struct smr_request *r,
                             bool sign)
{
    uint8_t keys[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    int rc = glue_pbft_client_keys(k, n, r->client_id, keys);
    if (rc == SMR_OK)
        rc = glue_pbft_request_encode_keyed(
            out, cluster_id, epoch, (const uint8_t(*)[ORD_PBFT_KEY_BYTES])keys,
            n, r, sign ? k : NULL);
    sodium_memzero(keys, sizeof keys);
    return rc;
}
