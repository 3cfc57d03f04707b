/*
 * wire_pbft.h: the PBFT frame (WIRE_PBFT), carrying one struct ord_pbft_msg
 * (ordering/pbft.h) between replicas and from clients.
 *
 * One frame layout for every PBFT message type, so wire_peek_type() can
 * route it without knowing the type (docs/pbft.md "Frames"):
 *
 *   [version, WIRE_PBFT, cluster_id, epoch, type, from, view, seq, body, macs]
 *
 * `body` is an array whose schema depends on `type`; `macs` is a bin of
 * k * ORD_PBFT_MAC_BYTES, the message's MAC vector (the client's for a
 * REQUEST) up to its last non-zero tag: tags k.. are zero (k = 0 for the
 * signed VIEW-CHANGE and NEW-VIEW). Everything a MAC or signature covers
 * (pbft_crypto.c) travels byte for byte, so the receiving core can check
 * it; fields a type does not use decode as zero.
 *
 * Decoding allocates nothing. The caller provides one struct wire_pbft_store
 * (large: allocate it once); on success the decoded message points into the
 * store (entries, certificates, view changes, the new view) and into the
 * frame (op, batches, request tags), so it is valid as long as both are,
 * and until the store is used for the next decode. Every batch has passed
 * smr_batch_validate(). A failed decode leaves *cluster_id, *epoch and *out
 * unchanged and the store's contents unspecified.
 *
 * Bounds (pbft.h): the MAC vector at most SMR_NODES_MAX tags; CATCHUP at
 * most ORD_PBFT_ENTRIES_MAX entries; a view change at most
 * ORD_PBFT_CKPTS_MAX checkpoints, ORD_PBFT_CAP prepared certificates and
 * ORD_PBFT_CAP * ORD_PBFT_Q_MAX pre-prepared ones; a NEW-VIEW at most
 * SMR_NODES_MAX view changes and ORD_PBFT_CAP choices; a batch at most
 * SMR_BATCH_BYTES_MAX, an op SMR_OP_BYTES_MAX, the frame
 * SMR_FRAME_BYTES_MAX. The core checks the tighter, configured bounds
 * (n, window) itself.
 *
 * Return codes are wire.h's. In particular: a count over its bound is
 * SMR_ETOOBIG, a count over the bytes that remain SMR_ETRUNCATED; a wrong
 * digest, signature or tag length, a MAC vector not a whole number of
 * tags, request tags that are not a whole number of tags per request of the
 * batch (at most SMR_NODES_MAX each), or a VIEW-CHANGE / NEW-VIEW whose
 * bodies are not one per prepared certificate / choice is SMR_EMALFORMED.
 */
#ifndef STRATA_GLUE_WIRE_PBFT_H
#define STRATA_GLUE_WIRE_PBFT_H

#include "pbft.h"
#include "wire.h"

/* Certificates one view change can hold: C, P and Q at their bounds. */
#define WIRE_PBFT_VC_CERTS_MAX                                                 \
    (ORD_PBFT_CKPTS_MAX + ORD_PBFT_CAP + ORD_PBFT_CAP * ORD_PBFT_Q_MAX)

/* Storage for the variable-length parts of any frame the decoder accepts
 * (about 2.4 MB). Contents are the decoder's; the caller only owns it. */
struct wire_pbft_store {
    struct ord_pbft_entry entries[ORD_PBFT_CAP]; /* CATCHUP, VC/NV bodies */
    struct ord_pbft_cert certs[SMR_NODES_MAX * WIRE_PBFT_VC_CERTS_MAX +
                               ORD_PBFT_CAP];       /* C, P, Q; NV choices */
    struct ord_pbft_view_change vcs[SMR_NODES_MAX]; /* the VC, or NV's */
    struct ord_pbft_new_view nv;
};

/* Resets `out` and writes one PBFT frame for `m` (borrowed), binding
 * `cluster_id` and `epoch`. SMR_OK; SMR_ETOOBIG when a byte field, a count
 * or the frame exceeds its bound (above); SMR_EINVAL for a VIEW-CHANGE
 * with prepared certificates but no bodies; SMR_ENOMEM. `out` is left
 * empty on failure. For a VIEW-CHANGE the bodies are sent; for the view
 * changes inside a NEW-VIEW they are not. */
int wire_encode_pbft(struct smr_buf *out, uint64_t cluster_id, smr_epoch epoch,
                     const struct ord_pbft_msg *m);

/* Decodes one whole PBFT frame `f` of `len` bytes (borrowed) into
 * *cluster_id, *epoch and *out, using `store` for every array (above). */
int wire_decode_pbft(const uint8_t *f, size_t len, uint64_t *cluster_id,
                     smr_epoch *epoch, struct ord_pbft_msg *out,
                     struct wire_pbft_store *store);

#endif
