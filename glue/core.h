/*
 * core.h: the glue's half of an ordering core's ops table (the pure half is
 * ordering/ord_core.h). What the replica driver needs of a protocol beyond
 * its core: creating the core from the glue config, and the protocol's peer
 * message on the wire (wire.h, wire_pbft.h), including catch-up served
 * from storage. The driver holds `core_ops` (this table's `ord`) and the
 * opaque `core`, and never names a protocol.
 *
 * Versioned and append-only (GLUE_CORE_VERSION); every member must be set
 * unless its comment says NULL is allowed.
 * One row per protocol, found by name with glue_core_find().
 */
#ifndef STRATA_GLUE_CORE_H
#define STRATA_GLUE_CORE_H

#include "config.h"
#include "ord_core.h"
#include "sto.h"
#include "wire.h"

#define GLUE_CORE_VERSION 3

struct glue_core_ops {
    int version; /* GLUE_CORE_VERSION */
    const char *protocol;
    const struct ord_core_ops *ord;

    /* Creates replica `self`'s core from the config. `rng_mix` is XORed
     * into the core's seed (it differs between runs of one replica).
     * On SMR_OK *core is the caller's (free with ord->destroy) and *epoch
     * is the epoch every peer message carries; otherwise a sentence in
     * `err` (a key file that cannot be read, say). */
    int (*create)(const struct glue_config *c, smr_node_id self,
                  uint64_t rng_mix, void **core, smr_epoch *epoch, char *err,
                  size_t err_len);

    /* Encodes the protocol message `msg` (a SEND output's, borrowed) into
     * `out` as one frame; `out` is left empty on failure. */
    int (*msg_encode)(struct smr_buf *out, uint64_t cluster_id, smr_epoch epoch,
                      const void *msg);

    /* Decodes a peer frame (untrusted bytes) into `scratch`, which holds
     * msg_scratch_bytes, and sets *msg to the message there and *from to
     * its claimed sender. The message points into `f` and `scratch`; it is
     * valid while both are. The wire.h decoder return codes. */
    size_t msg_scratch_bytes;
    int (*msg_decode)(const uint8_t *f, size_t len, void *scratch,
                      uint64_t *cluster_id, smr_epoch *epoch, smr_node_id *from,
                      const void **msg);

    /* ORD_OUT_FETCH: reads committed entries from..to (inclusive) from
     * `sto` into the caller's `bufs` (fetch_entries_max of them) and
     * encodes the protocol's catch-up message from `self` into `out`.
     * SMR_ENOTFOUND when there is nothing to send. */
    uint32_t fetch_entries_max;
    int (*serve_fetch)(const void *core, smr_node_id self, struct sto *sto,
                       smr_seq from, smr_seq to, struct smr_buf *bufs,
                       uint64_t cluster_id, smr_epoch epoch,
                       struct smr_buf *out);

    /* Protocols whose clients authenticate their requests (PBFT): decodes
     * a client frame (untrusted) into `scratch` like msg_decode, sets *req
     * to the request it carries and *msg / *from to what the driver steps
     * the core with (ORD_EV_MESSAGE). SMR_ETYPE for a frame that is not a
     * request. NULL: requests arrive as WIRE_REQUEST (ORD_EV_REQUEST) and
     * only the leader takes them. */
    int (*request_decode)(const uint8_t *f, size_t len, void *scratch,
                          uint64_t *cluster_id, smr_epoch *epoch,
                          struct smr_request *req, smr_node_id *from,
                          const void **msg);

    /* Protocols that transfer state (pbft.h): a tag for `peer` over a
     * digest of a state-transfer frame, with the key this replica shares
     * with it, and the check of a tag `peer` made. NULL otherwise. */
    void (*peer_tag)(const void *core, smr_node_id peer,
                     const uint8_t digest[SMR_DIGEST_BYTES],
                     uint8_t tag[SMR_TAG_BYTES]);
    bool (*peer_tag_check)(const void *core, smr_node_id peer,
                           const uint8_t digest[SMR_DIGEST_BYTES],
                           const uint8_t tag[SMR_TAG_BYTES]);
    /* Protocols whose replies carry a MAC for their client (pbft.h
     * ord_pbft_reply_tag): sets rep->tag and rep->has_tag for the reply
     * replica `self` sends. NULL otherwise. */
    void (*reply_tag)(void *core, smr_node_id self, struct wire_reply *rep);
};

/* Multi-Paxos (glue/core_paxos.c). */
extern const struct glue_core_ops glue_paxos_core;
/* PBFT (glue/core_pbft.c). */
extern const struct glue_core_ops glue_pbft_core;

/* The row for `protocol`, or NULL when no core by that name can run in the
 * replica driver. */
const struct glue_core_ops *glue_core_find(const char *protocol);

#endif
