/*
 * reply_quorum.h: what a client needs when the ordering protocol tolerates
 * Byzantine replicas (docs/pbft.md "Clients"): requests that carry the
 * client's MAC vector, and a vote over the replicas' replies that accepts a
 * result only when f+1 distinct replicas return the same one (at least one
 * of them is correct), and reports a failure, instead of guessing, once no
 * result can reach f+1 any more. Free of I/O: the client library
 * (client.c) and the simulator's clients (sim_client.c) share it.
 */
#ifndef STRATA_GLUE_REPLY_QUORUM_H
#define STRATA_GLUE_REPLY_QUORUM_H

#include "keys.h"
#include "wire.h"

#define GLUE_REPLY_DIGEST_BYTES 16

/* The replies to one request so far: the newest OK reply of each replica,
 * by digest of its result. The seq of an accepted reply is the completing
 * replica's and is not voted on: correct replicas may report different
 * seqs for a request committed more than once (reply_quorum.c). */
struct glue_reply_quorum {
    uint32_t n, f;
    uint32_t replied; /* bit i: replica i sent an OK reply */
    uint8_t digest[SMR_NODES_MAX][GLUE_REPLY_DIGEST_BYTES];
};

enum glue_vote {
    GLUE_VOTE_PENDING = 0, /* wait for more replies */
    GLUE_VOTE_DONE,        /* this reply makes f+1 matching: accept it */
    GLUE_VOTE_FAILED,      /* no result can reach f+1 any more */
};

/* Starts the vote of a new request for n replicas tolerating f faults. */
void glue_reply_quorum_reset(struct glue_reply_quorum *q, uint32_t n,
                             uint32_t f);

/* Counts `rep` (already matched to the request) from replica `from` (the
 * authenticated link it came over). Replies other than OK and replicas out
 * of range are ignored (PENDING). */
enum glue_vote glue_reply_quorum_add(struct glue_reply_quorum *q,
                                     smr_node_id from,
                                     const struct wire_reply *rep);

/* Whether `rep`, which came over replica `from`'s link, carries that
 * replica's tag for it (ord_pbft_reply_tag), `key` being the key the
 * client shares with `from`. A client ignores every reply without one: it
 * can be neither forged nor counted for another replica by anyone who does
 * not hold that key. */
bool glue_pbft_reply_check(const uint8_t key[ORD_PBFT_KEY_BYTES],
                           uint64_t cluster_id, smr_epoch epoch,
                           smr_node_id from, const struct wire_reply *rep);

/* Encodes `r` as the PBFT client request frame, with the client's MAC
 * vector for the n replicas from the block keys of its credential (`k`;
 * r->client_id must lie in k->client_block) and, with `sign` (a
 * retransmission), the proof made with the credential's signing key.
 * SMR_EINVAL when the id is not in the block; the wire encoder's errors
 * otherwise. */
int glue_pbft_request_encode(struct smr_buf *out, uint64_t cluster_id,
                             smr_epoch epoch, const struct glue_keys *k,
                             uint32_t n, const struct smr_request *r,
                             bool sign);

/* The same in two steps, for a client that sends many requests under one
 * id: the keys client `id` shares with each of the n replicas (SMR_EINVAL
 * when `id` is not in the credential's block), then the frame. */
int glue_pbft_client_keys(const struct glue_keys *k, uint32_t n,
                          smr_client_id id, uint8_t (*out)[ORD_PBFT_KEY_BYTES]);
int glue_pbft_request_encode_keyed(struct smr_buf *out, uint64_t cluster_id,
                                   smr_epoch epoch,
                                   const uint8_t (*keys)[ORD_PBFT_KEY_BYTES],
                                   uint32_t n, const struct smr_request *r,
                                   const struct glue_keys *signer);

#endif
