/*
 * smr.h: the few types every Strata layer shares.
 *
 * This is the bottom of the dependency graph: ordering/, execution/ and
 * storage/ include only this (plus their own headers), never each other.
 * It holds the error codes (one X-macro, one string table), scalar ids,
 * a bounded growable byte buffer, and the canonical batch encoding.
 *
 * A batch is a canonical byte string rather than a structure so that it can
 * be logged, compared, digested and shipped without re-encoding, and so that
 * layers without a msgpack dependency can read it. It travels inside msgpack
 * frames as a `bin` field. Layout (all integers little-endian):
 *
 *     u32 count, then count times { u64 client_id, u64 req_id, u32 op_len,
 *     op_len bytes of op }
 *
 * An empty byte string (length 0) is the no-op batch that fills a gap after
 * a leader change. Batch bytes can come from the network or a disk, so the
 * iterator validates every length against the bytes that remain.
 */
#ifndef STRATA_SMR_H
#define STRATA_SMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes. Functions return one of these (0 on success) and pass results
 * through out-parameters. */
#define SMR_ERRORS(X)                                                    \
    X(SMR_OK, "ok")                                                      \
    X(SMR_EINVAL, "invalid argument")                                    \
    X(SMR_ENOMEM, "out of memory")                                       \
    X(SMR_EIO, "i/o error")                                              \
    X(SMR_EFSYNC, "fsync failed: the replica must stop")                 \
    X(SMR_ENOTFOUND, "not found")                                        \
    X(SMR_EMALFORMED, "malformed frame")                                 \
    X(SMR_ETRUNCATED, "truncated frame")                                 \
    X(SMR_ETOOBIG, "value exceeds its bound")                            \
    X(SMR_ETYPE, "unknown message type")                                 \
    X(SMR_EVERSION, "unsupported wire version")                          \
    X(SMR_EFULL, "queue full")                                           \
    X(SMR_ECONFIG, "invalid configuration")                              \
    X(SMR_ECONTRACT, "composition violates a contract")                  \
    X(SMR_ECOMPACTED, "entries truncated: snapshot required")            \
    X(SMR_ECORRUPT, "stored data is corrupt")                            \
    X(SMR_ETIMEOUT, "timed out")                                         \
    X(SMR_ESTOPPED, "stopped")                                           \
    X(SMR_ENOTLEADER, "not the leader")                                  \
    X(SMR_EUNAVAILABLE, "no replica reachable")                          \
    X(SMR_EDISAGREE, "replicas disagree: no f+1 matching replies")      \
    X(SMR_EREFUSED, "the replicas refused the request")                  \
    X(SMR_EFORBIDDEN, "the sender may not send this frame")

enum smr_err {
#define SMR_ERR_ENUM(name, text) name,
    SMR_ERRORS(SMR_ERR_ENUM)
#undef SMR_ERR_ENUM
    SMR_ERR__COUNT
};

/* Returns a static, human-readable sentence for an error code. */
const char *smr_strerror(int err);

/* Scalar ids. Sequence numbers start at 1; 0 means "none". */
typedef uint64_t smr_seq;
typedef uint64_t smr_epoch;
typedef uint64_t smr_lsn;
typedef uint32_t smr_node_id;
typedef uint64_t smr_client_id;
typedef uint64_t smr_req_id;

#define SMR_DIGEST_BYTES 32
#define SMR_TAG_BYTES 16 /* a MAC tag (PBFT: SipHash-2-4-128) */
#define SMR_NODES_MAX 16
/* Hard bounds that every decoder enforces. */
#define SMR_OP_BYTES_MAX (1u << 20)        /* one client command */
#define SMR_BATCH_BYTES_MAX (8u << 20)     /* one batch */
#define SMR_FRAME_BYTES_MAX (16u << 20)    /* one frame on any socket */

/* A growable byte buffer with a hard cap. `data` is owned by the buffer. */
struct smr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

void smr_buf_init(struct smr_buf *b);
void smr_buf_free(struct smr_buf *b);
void smr_buf_reset(struct smr_buf *b); /* len = 0, keeps capacity */
/* Ensures room for `extra` more bytes. SMR_ETOOBIG past SMR_FRAME_BYTES_MAX. */
int smr_buf_reserve(struct smr_buf *b, size_t extra);
int smr_buf_append(struct smr_buf *b, const void *data, size_t len);
int smr_buf_set(struct smr_buf *b, const void *data, size_t len);

/* Little-endian helpers; `p` must have room. */
void smr_put_u32(uint8_t *p, uint32_t v);
void smr_put_u64(uint8_t *p, uint64_t v);
uint32_t smr_get_u32(const uint8_t *p);
uint64_t smr_get_u64(const uint8_t *p);

/* One client command. `op` is borrowed. */
struct smr_request {
    smr_client_id client_id;
    smr_req_id req_id;
    const uint8_t *op;
    uint32_t op_len;
};

/* One entry of the Committed stream (ARCHITECTURE.md "Ordering → downstream
 * stream"). `batch` is borrowed; it is valid until the producer's next call. */
struct smr_committed {
    smr_seq seq;
    smr_epoch epoch;
    uint64_t leader_time_ms; /* the only clock a state machine may read */
    const uint8_t *batch;
    uint32_t batch_len;
};

/* Batch building: start with smr_batch_begin(), append requests, then
 * smr_batch_count() tells how many. The buffer holds the canonical bytes. */
int smr_batch_begin(struct smr_buf *b);
int smr_batch_add(struct smr_buf *b, const struct smr_request *r);
uint32_t smr_batch_count(const uint8_t *bytes, size_t len);
/* Bytes that `r` adds to a batch. */
size_t smr_batch_entry_bytes(const struct smr_request *r);

/* Validating iterator over batch bytes (which may be hostile). */
struct smr_batch_iter {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t left;
};

/* SMR_OK, or SMR_EMALFORMED when the header does not fit. An empty byte
 * string is a valid no-op batch with zero entries. */
int smr_batch_iter_init(struct smr_batch_iter *it, const uint8_t *bytes,
                        size_t len);
/* SMR_OK with `out` filled (pointing into the batch), SMR_ENOTFOUND at the
 * end, SMR_EMALFORMED when a length overruns or bytes trail the last entry. */
int smr_batch_next(struct smr_batch_iter *it, struct smr_request *out);
/* Checks a whole batch without keeping anything. */
int smr_batch_validate(const uint8_t *bytes, size_t len);

/* Deliberately broken variants, for the simulator's self-test (`strata sim
 * --mutant NAME`): a simulator that cannot catch a known bug proves
 * nothing. Each names one safety rule the code keeps; the code that keeps
 * it checks smr_mutant and breaks the rule on purpose. Always
 * SMR_MUTANT_NONE outside `strata sim`. */
enum smr_mutant {
    SMR_MUTANT_NONE = 0,
    SMR_MUTANT_COMMIT_WITHOUT_QUORUM, /* leader counts one vote it lacks */
    SMR_MUTANT_FORGET_PROMISE,        /* acceptor loses its promise on restart */
    SMR_MUTANT_VOTE_BEFORE_DURABLE,   /* ACCEPTED leaves before its write syncs */
    SMR_MUTANT_SKIP_SESSION_DEDUPE,   /* executor re-applies a retried request */
    SMR_MUTANT_STREAM_NO_RESUME,      /* stream ignores a stuck consumer's cursor */
    SMR_MUTANT_PARALLEL_READ_RACE,    /* parallel engine: a read skips the writer */
    SMR_MUTANT_STREAM_TRUST_ANY,      /* executor: any streams agree, lies too */
};
extern int smr_mutant;

/* xorshift64*: the one seeded generator of cores, simulator and tools.
 * `state` must not be 0. */
uint64_t smr_rng_next(uint64_t *state);

/* BLAKE2b-256 of a byte string (used for digests and checksums). */
void smr_hash(uint8_t out[SMR_DIGEST_BYTES], const void *data, size_t len);
/* 32-bit checksum for torn-write and corruption detection of stored records:
 * CRC-32C (Castagnoli, as RocksDB and ext4 use), with the SSE 4.2
 * instruction when the CPU has it. Not a defence against an adversary. */
uint32_t smr_checksum32(const void *data, size_t len);
/* The same without the instruction (tests compare the two). */
uint32_t smr_checksum32_portable(const void *data, size_t len);

#endif
