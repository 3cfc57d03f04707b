/*
 * wire.h: Strata's wire format (ARCHITECTURE.md "Wire format").
 *
 * Every frame is one msgpack array `[version, type, field...]` with
 * version = WIRE_VERSION. Integers are msgpack unsigned ints, byte strings
 * are msgpack `bin`, flags are msgpack bools. Schemas (field order):
 *
 *   REQUEST            client_id, req_id, op
 *   REPLY              client_id, req_id, seq, status, leader_hint, result,
 *                      tag (empty, or 16 bytes under PBFT)
 *   STATUS_REQ         nonce
 *   STATUS             nonce, node_id, is_leader, leader_hint, ballot,
 *                      committed_seq, executed_seq, frames_rejected, fsyncs,
 *                      writes_per_fsync_x100, peer_drops, client_drops,
 *                      paxos_dropped, log_first
 *   PAXOS              cluster_id, epoch, type, from, ballot, slot,
 *                      slot_count, commit_upto, more, entries
 *                      where entries = [[slot, ballot, epoch,
 *                                        leader_time_ms, batch], ...]
 *   COMMITTED          seq, epoch, leader_time_ms, batch
 *   SUBSCRIBE          consumer_id, from_seq, credit
 *   CHECKPOINT         seq, digest
 *   SNAPSHOT_REQUIRED  first_available_seq
 *   PBFT               cluster_id, epoch, type, from, view, seq, body, macs
 *                      (glue/wire_pbft.h: its encoder and decoder)
 *   STATE_REQ          cluster_id, epoch, from, seq, offset, tag
 *   STATE_CHUNK        cluster_id, epoch, from, seq, total, offset, bytes,
 *                      tag
 *                      (state transfer between replicas; tag: 16 bytes, a
 *                      MAC with the pair's key over the other fields)
 *   REPLIES            frames: an array of bins (array 32 as Strata
 *                      builds it), each one whole REPLY frame; at most
 *                      WIRE_REPLIES_BYTES_MAX in all (below: wire_replies_*)
 *
 * Encoders use msgpack-c's packer. Decoders never touch msgpack-c's
 * unpacker (it trusts declared sizes); they use the strict reader in
 * wire_reader.h, which checks every type, length and range against the
 * bytes that remain and the field's bound before reading, and they do not
 * allocate. Batches (smr.h) inside PAXOS and COMMITTED frames are checked
 * with smr_batch_validate().
 *
 * Ownership: encoders reset `out` and leave one frame in it; on failure
 * `out` is left empty. Decoders are zero copy: every decoded byte field
 * (op, result, batch) POINTS INTO the caller's frame and is valid only as
 * long as the frame is. (The 32-byte checkpoint digest and the reply tag are
 * the exceptions: they are copied into fixed arrays.) A failed decode leaves its outputs
 * unchanged, except the caller's PAXOS `entries` scratch array.
 *
 * Decoder return codes:
 *   SMR_OK          the frame is valid and fully consumed
 *   SMR_ETRUNCATED  the frame ends before a declared field or length
 *   SMR_EMALFORMED  a wrong msgpack type, a wrong array length, a value out
 *                   of range (paxos type, reply status, u32 field), an
 *                   invalid batch, or trailing bytes
 *   SMR_ETOOBIG     a declared length over its bound (or a frame over
 *                   SMR_FRAME_BYTES_MAX)
 *   SMR_EVERSION    version != WIRE_VERSION
 *   SMR_ETYPE       an unknown message type, or not the type this decoder
 *                   reads
 */
#ifndef STRATA_GLUE_WIRE_H
#define STRATA_GLUE_WIRE_H

#include "paxos.h"
#include "smr.h"
#include "wire_reader.h"

#define WIRE_VERSION 1
#define WIRE_RESULT_BYTES_MAX (1u << 20) /* one reply's result */
#define WIRE_LEADER_UNKNOWN UINT32_MAX   /* leader_hint when unknown */

enum wire_type {
    WIRE_REQUEST = 1,       /* client -> replica */
    WIRE_REPLY,             /* replica -> client */
    WIRE_STATUS_REQ,        /* anyone -> replica */
    WIRE_STATUS,            /* replica -> asker */
    WIRE_PAXOS,             /* replica <-> replica */
    WIRE_COMMITTED,         /* ordering -> executor */
    WIRE_SUBSCRIBE,         /* executor -> ordering */
    WIRE_CHECKPOINT,        /* executor -> ordering */
    WIRE_SNAPSHOT_REQUIRED, /* ordering -> executor */
    WIRE_PBFT,              /* replica <-> replica, client -> replica */
    WIRE_STATE_REQ,         /* replica -> replica: send me snapshot bytes */
    WIRE_STATE_CHUNK,       /* replica -> replica: snapshot bytes */
    WIRE_REPLIES,           /* replica -> client: several REPLY frames */
    WIRE_TYPE__MAX = WIRE_REPLIES,
};

enum wire_reply_status {
    WIRE_REPLY_OK = 0,
    WIRE_REPLY_NOT_LEADER = 1, /* retry at leader_hint */
    WIRE_REPLY_BUSY = 2,       /* retry later */
    WIRE_REPLY_ERROR = 3,      /* result holds a message */
    WIRE_REPLY_SIGN = 4,       /* PBFT: send this request signed */
    WIRE_REPLY__MAX = WIRE_REPLY_SIGN,
};

struct wire_reply {
    smr_client_id client_id;
    smr_req_id req_id;
    smr_seq seq; /* the slot that executed it, 0 if none */
    enum wire_reply_status status;
    smr_node_id leader_hint; /* WIRE_LEADER_UNKNOWN when unknown */
    const uint8_t *result;   /* borrowed; <= WIRE_RESULT_BYTES_MAX */
    uint32_t result_len;
    /* PBFT: the replica's MAC for the client (ord_pbft_reply_tag); an
     * empty bin on the wire when there is none (Paxos). */
    bool has_tag;
    uint8_t tag[SMR_TAG_BYTES];
};

struct wire_status_req {
    uint64_t nonce; /* echoed in STATUS */
};

struct wire_status {
    uint64_t nonce;
    smr_node_id node_id;
    bool is_leader;
    smr_node_id leader_hint; /* WIRE_LEADER_UNKNOWN when unknown */
    uint64_t ballot;
    smr_seq committed_seq;
    smr_seq executed_seq;
    uint64_t frames_rejected;
    uint64_t fsyncs;
    /* Storage writes (every write that takes an LSN: log entries, state
     * records, truncations) per fsync on average; fixed point, 250 means
     * 2.5. */
    uint64_t writes_per_fsync_x100;
    uint64_t peer_drops;    /* sends to peers dropped rather than block */
    uint64_t client_drops;  /* sends to clients dropped rather than block */
    uint64_t paxos_dropped; /* protocol messages the core ignored */
    uint64_t log_first;     /* the first log index stored (0: empty) */
};

struct wire_subscribe {
    uint64_t consumer_id;
    smr_seq from_seq; /* resume cursor: the first seq wanted */
    uint32_t credit;  /* entries the consumer can take */
};

struct wire_checkpoint {
    smr_seq seq;
    uint8_t digest[SMR_DIGEST_BYTES]; /* copied, not borrowed */
};

struct wire_snapshot_required {
    smr_seq first_available_seq;
};

#define WIRE_STATE_CHUNK_BYTES (1u << 20) /* bytes in one STATE_CHUNK */
/* A snapshot's largest size: snapshots are built in one smr_buf. */
#define WIRE_STATE_BYTES_MAX ((uint64_t)SMR_FRAME_BYTES_MAX)

struct wire_state_req {
    uint64_t cluster_id;
    smr_epoch epoch;
    smr_node_id from;
    smr_seq seq;     /* the snapshot wanted (its executed_seq) */
    uint64_t offset; /* the first byte wanted */
    uint8_t tag[SMR_TAG_BYTES]; /* copied */
};

struct wire_state_chunk {
    uint64_t cluster_id;
    smr_epoch epoch;
    smr_node_id from;
    smr_seq seq;
    uint64_t total;  /* the snapshot's size, <= WIRE_STATE_BYTES_MAX */
    uint64_t offset; /* of bytes[0]; offset + len <= total */
    const uint8_t *bytes; /* borrowed, <= WIRE_STATE_CHUNK_BYTES */
    uint32_t len;
    uint8_t tag[SMR_TAG_BYTES]; /* copied */
};

/* Reads the array header, version and type of a frame without decoding the
 * rest. SMR_OK with `*type` set to a valid enum wire_type, or a decoder
 * return code (above) for the header. `*type` is unchanged on failure. */
int wire_peek_type(const uint8_t *frame, size_t len, int *type);

/* "REQUEST", "PAXOS", ...; "UNKNOWN" for anything else. Static string. */
const char *wire_type_name(int type);

/* Encoders: reset `out` and write one frame. SMR_OK; SMR_ETOOBIG when a
 * byte field or entry count exceeds its bound or the frame would exceed
 * SMR_FRAME_BYTES_MAX; SMR_ENOMEM when the buffer cannot grow. `msg` is
 * borrowed. Encoders do not validate batch contents: decoders do. */
int wire_encode_request(struct smr_buf *out, const struct smr_request *msg);
int wire_encode_reply(struct smr_buf *out, const struct wire_reply *msg);
int wire_encode_status_req(struct smr_buf *out,
                           const struct wire_status_req *msg);
int wire_encode_status(struct smr_buf *out, const struct wire_status *msg);
int wire_encode_paxos(struct smr_buf *out, uint64_t cluster_id, smr_epoch epoch,
                      const struct ord_paxos_msg *msg);
int wire_encode_committed(struct smr_buf *out, const struct smr_committed *msg);
int wire_encode_subscribe(struct smr_buf *out,
                          const struct wire_subscribe *msg);
int wire_encode_checkpoint(struct smr_buf *out,
                           const struct wire_checkpoint *msg);
int wire_encode_snapshot_required(struct smr_buf *out,
                                  const struct wire_snapshot_required *msg);
int wire_encode_state_req(struct smr_buf *out, const struct wire_state_req *msg);
int wire_encode_state_chunk(struct smr_buf *out,
                            const struct wire_state_chunk *msg);

/* Decoders: parse one whole frame of `len` bytes (borrowed) into `out`.
 * Return codes above; byte fields point into `frame`. */
int wire_decode_request(const uint8_t *frame, size_t len,
                        struct smr_request *out);
int wire_decode_reply(const uint8_t *frame, size_t len, struct wire_reply *out);
int wire_decode_status_req(const uint8_t *frame, size_t len,
                           struct wire_status_req *out);
int wire_decode_status(const uint8_t *frame, size_t len,
                       struct wire_status *out);
/* PAXOS: the caller provides the `entries` scratch array; on success
 * out->entries points at it and each entry's batch points into `f` and has
 * passed smr_batch_validate(). */
int wire_decode_paxos(const uint8_t *f, size_t len, uint64_t *cluster_id,
                      smr_epoch *epoch, struct ord_paxos_msg *out,
                      struct ord_paxos_entry entries[ORD_PAXOS_ENTRIES_MAX]);
int wire_decode_committed(const uint8_t *frame, size_t len,
                          struct smr_committed *out);
int wire_decode_subscribe(const uint8_t *frame, size_t len,
                          struct wire_subscribe *out);
int wire_decode_checkpoint(const uint8_t *frame, size_t len,
                           struct wire_checkpoint *out);
int wire_decode_snapshot_required(const uint8_t *frame, size_t len,
                                  struct wire_snapshot_required *out);
int wire_decode_state_req(const uint8_t *frame, size_t len,
                          struct wire_state_req *out);
/* SMR_EMALFORMED also when offset + len > total, or an empty chunk short
 * of the end. */
int wire_decode_state_chunk(const uint8_t *frame, size_t len,
                            struct wire_state_chunk *out);

/* REPLIES: the REPLY frames a replica sends one client connection in one
 * input burst, as one frame (one send and one receive instead of one
 * per request; glue/node_loop.c). Built in place: wire_replies_start, then
 * wire_replies_add per REPLY frame (the frames array is an array 32 whose
 * count is patched as frames join); wire_replies_add on an empty buffer
 * starts the frame itself. It returns SMR_ETOOBIG when the frame would
 * pass WIRE_REPLIES_BYTES_MAX or WIRE_REPLIES_MAX frames (send what is
 * there, empty the buffer and add again), leaving `out` as it was. */
#define WIRE_REPLIES_BYTES_MAX (64u << 10)
#define WIRE_REPLIES_MAX 4096
int wire_replies_start(struct smr_buf *out);
int wire_replies_add(struct smr_buf *out, const uint8_t *frame, size_t len);
/* Frames in a REPLIES frame being built. */
uint32_t wire_replies_count(const struct smr_buf *b);

/* Reading one: wire_decode_replies checks the whole frame (at most
 * WIRE_REPLIES_BYTES_MAX, else SMR_ETOOBIG; header, an array of any width,
 * every element a bin inside it, nothing trailing; the frames inside are
 * not decoded) and sets up `it`; each wire_replies_next then yields one
 * inner frame (borrowed from `frame`) until it returns false. */
struct wire_replies {
    struct wire_reader r;
    uint32_t left;
};
int wire_decode_replies(const uint8_t *frame, size_t len,
                        struct wire_replies *it);
bool wire_replies_next(struct wire_replies *it, const uint8_t **frame,
                       size_t *len);

/* Frame accounting for status lines: one accepted count and one rejected
 * count per error code. Zero-initialize. */
struct wire_stats {
    uint64_t accepted;
    uint64_t rejected[SMR_ERR__COUNT];
};

/* Counts one decode result: SMR_OK as accepted, anything else under its
 * code (codes out of range are counted as SMR_EINVAL). */
void wire_stats_count(struct wire_stats *s, int rc);
/* The sum of all rejected counts. */
uint64_t wire_stats_rejected_total(const struct wire_stats *s);

#endif
