/*
 * pbft.h: PBFT as a pure core (Castro & Liskov, "Practical Byzantine Fault
 * Tolerance and Proactive Recovery", TOCS 20(4), 2002: §4 the algorithm with
 * MAC authenticators, §4.5 view changes without signed prepares).
 *
 * n = 3f+1 replicas; the primary of view v is v mod n. The primary assigns a
 * sequence number to a batch of client requests (PRE-PREPARE); backups
 * agree on it (PREPARE); a replica that holds the pre-prepare and 2f
 * matching prepares from distinct backups has the batch *prepared* and says
 * so (COMMIT); with 2f+1 matching commits it is *committed-local* and joins
 * the gap-free Committed stream, exactly as the Paxos core's.
 *
 * Authentication (TOCS §4.2, §4.5; docs/pbft.md "Authentication"):
 *  - normal-case messages carry a MAC vector, one 16-byte SipHash-2-4-128
 *    tag per receiver, over a digest of the message's canonical fields (which
 *    bind cluster id, epoch, type, sender, view and sequence number);
 *    pairwise keys come from X25519 between the replicas' Ed25519 keys, so
 *    no third replica knows them;
 *  - client requests carry the client's MAC vector (one tag per replica,
 *    keyed by ord_pbft_client_key()); backups check the tags of every request
 *    in a pre-prepare, so a faulty primary cannot invent requests;
 *  - a client signs its retransmissions (Ed25519, with a certificate of its
 *    block's signing key from the cluster's client CA: a "proof"), and the
 *    primary carries the proof in its pre-prepare, so every replica can
 *    check such a request. A backup holds (does not refuse) a pre-prepare
 *    with a request it cannot authenticate, until the request arrives with
 *    a valid tag or proof; it then suspects the request's client block,
 *    and while it is primary proposes that block's requests only signed.
 *    Backups time a request (the view-change deadline) only once they hold
 *    it signed, so a client cannot depose a correct primary with requests
 *    the primary will not order (docs/pbft.md "Faulty clients");
 *  - VIEW-CHANGE and NEW-VIEW are Ed25519-signed, because a new primary
 *    forwards the view changes it used inside its NEW-VIEW and every backup
 *    must check them. This replaces the paper's view-change acks (which make
 *    MAC-authenticated view changes transferable); the choice of requests
 *    for the new view is the paper's §4.5 decision procedure over the P and
 *    Q sets, which needs no prepare certificates, so prepares stay MACed.
 *
 * Checkpoints (§4.3) are digests of the committed log itself: a chain hash
 * over every committed entry, taken every checkpoint_interval sequence
 * numbers. They need nothing from the executor, so a slow executor cannot
 * hold back the window or trigger a view change. A lagging replica catches
 * up committed entries
 * either chained from one peer up to a checkpoint known correct, or from
 * f+1 replicas that send matching values (no single replica can forge one);
 * one further behind than memory first learns a stable checkpoint from
 * 2f+1 matching claims, however far ahead, and catches up window by
 * window.
 *
 * Log truncation and state transfer (pbft_state.c, with config.state_transfer
 * set by a driver that holds the executor's snapshots): the driver reports
 * each durable executor snapshot as ORD_EV_CHECKPOINT (seq, BLAKE2b of the
 * snapshot's bytes); the core pairs it with its chain digest at that seq
 * (the snapshot claim) and advertises it in STATUS with the first log seq it
 * still holds. The log is truncated (ORD_OUT_TRUNCATE) log_retain seqs below
 * the lowest of the durable snapshot, commit mark and stable checkpoint. A
 * replica that a peer's truncation cuts off asks its driver for a snapshot
 * that f+1 replicas claim alike (ORD_OUT_FETCH_STATE: no single replica can
 * forge a claim), at or below its stable checkpoint; the driver fetches and
 * checks the bytes, installs them durably and reports ORD_EV_STATE_INSTALLED,
 * and the core jumps its commit point there with the claimed chain digest.
 *
 * Durable state, written through PERSIST outputs before the message that
 * depends on it leaves (send.after_lsn):
 *   state "pbft/view"    the view and whether it is active (a NEW-VIEW was
 *                        installed) or being changed to (VIEW-CHANGE sent)
 *   state "pbft/commit"  the commit mark (a checkpoint all of whose records
 *                        are durable, with the chain digest there: recovery
 *                        replays up to it) and the stable checkpoint
 *   state "pbft/reserve" the primary's reservation: a view and the highest
 *                        seq it may pre-prepare in that view; a
 *                        PRE-PREPARE waits for it, not for its own record
 *   state "pbft/new-view" the NEW-VIEW of the current view (signed, with
 *                        its bodies), so it can be sent to a replica in an
 *                        older view after every replica restarted
 *   state "pbft/snap"    the snapshot claim (seq, chain digest, snapshot
 *                        digest) and the first log seq held
 *   log   seq            the slot: accepted pre-prepare, prepared
 *                        certificate (P), pre-prepared set (Q), and a value
 *                        learned committed by catch-up (ord_pbft_record_*)
 *
 * docs/pbft.md describes the protocol as built and what is not built yet.
 */
#ifndef STRATA_PBFT_H
#define STRATA_PBFT_H

#include "ord.h"

#define ORD_PBFT_MAC_BYTES 16
#define ORD_PBFT_SIG_BYTES 64 /* Ed25519 */
#define ORD_PBFT_PUBLIC_KEY_BYTES 32
#define ORD_PBFT_SECRET_KEY_BYTES 64
#define ORD_PBFT_KEY_BYTES 32   /* client key roots, derived keys */
/* A signed request's proof: the block's signing public key, the client
 * CA's certificate of it, the request's signature. */
#define ORD_PBFT_PROOF_BYTES                                                   \
    (ORD_PBFT_PUBLIC_KEY_BYTES + 2 * ORD_PBFT_SIG_BYTES)
/* One proof in a pre-prepare's req_auth: u32 index in the batch, proof. */
#define ORD_PBFT_PROOF_ENTRY_BYTES (4 + ORD_PBFT_PROOF_BYTES)
#define ORD_PBFT_SUSPECT_MS 30000 /* how long a client block stays suspect */
#define ORD_PBFT_ENTRIES_MAX 64 /* entries in one CATCHUP */
#define ORD_PBFT_CAP 1024       /* sequence numbers held in memory */
#define ORD_PBFT_Q_MAX 2        /* pre-prepared digests kept per seq */
#define ORD_PBFT_CKPTS_MAX 16   /* checkpoints in one VIEW-CHANGE */
#define ORD_PBFT_FROM_CLIENT                                                   \
    (UINT32_MAX - 1) /* REQUEST straight from a client */
#define ORD_PBFT_STATE_VIEW "pbft/view"
#define ORD_PBFT_STATE_COMMIT "pbft/commit"
#define ORD_PBFT_STATE_RESERVE "pbft/reserve"
#define ORD_PBFT_STATE_NEW_VIEW "pbft/new-view"
#define ORD_PBFT_STATE_SNAP "pbft/snap"

enum ord_pbft_timer {
    ORD_PBFT_TIMER_VIEW = 1,   /* request / new-view deadline */
    ORD_PBFT_TIMER_STATUS = 2, /* periodic status and retransmission */
};

enum ord_pbft_msg_type {
    ORD_PBFT_REQUEST = 1, /* client_id, req_id, op, proof (retransmissions);
                           * mac = client's vector */
    ORD_PBFT_PRE_PREPARE, /* view, seq, digest, leader_time_ms, batch,
                           * req_auth (n client tags per request, then the
                           * proofs of signed requests) */
    ORD_PBFT_PREPARE,     /* view, seq, digest */
    ORD_PBFT_COMMIT,      /* view, seq, digest */
    ORD_PBFT_CHECKPOINT,  /* seq, digest (chain digest of the log to seq) */
    ORD_PBFT_VIEW_CHANGE, /* vc (signed by vc->from) */
    ORD_PBFT_NEW_VIEW,    /* nv (signed by the new primary) */
    ORD_PBFT_STATUS,      /* view, active, stable, commit_upto; seq = first
                           * seq it wants by catch-up (0: commit_upto + 1);
                           * log_from, snap: what it can serve */
    ORD_PBFT_CATCHUP,     /* entries: committed values */
    ORD_PBFT_MSG__MAX = ORD_PBFT_CATCHUP,
};

/* One sequence number's value: a batch and the primary's timestamp. The
 * entry digest is BLAKE2b("strata-pbft-entry", epoch, time, batch). */
struct ord_pbft_entry {
    smr_seq seq;
    uint64_t leader_time_ms;
    const uint8_t *batch; /* borrowed, canonical batch bytes (smr.h) */
    uint32_t batch_len;
};

/* (seq, view, digest): a P entry (prepared), a Q entry (pre-prepared), a
 * checkpoint (view 0) or a NEW-VIEW choice (view 0). */
struct ord_pbft_cert {
    smr_seq seq;
    uint64_t view;
    uint8_t digest[SMR_DIGEST_BYTES];
};

/* VIEW-CHANGE to `view` (TOCS §4.5.1). The signature covers every field
 * but `bodies`: the batches of the P entries, each bound by its digest,
 * carried so the new primary has what it re-proposes. All arrays sorted by
 * seq (Q: by seq, then view descending); pointers borrowed. */
struct ord_pbft_view_change {
    smr_node_id from;
    uint64_t view;
    smr_seq stable; /* h: its low watermark */
    uint32_t n_ckpts;
    const struct ord_pbft_cert *ckpts; /* C: checkpoints >= h it holds */
    uint32_t n_prepared;
    const struct ord_pbft_cert *prepared; /* P: per seq in (h, h+L] */
    uint32_t n_preprepared;
    const struct ord_pbft_cert *preprepared; /* Q */
    uint8_t sig[ORD_PBFT_SIG_BYTES];
    const struct ord_pbft_entry *bodies; /* n_prepared long; NULL in NEW-VIEW */
};

/* NEW-VIEW for `view` (TOCS §4.5.2): the view changes it was built from,
 * the checkpoint and the value chosen for every seq in (ckpt.seq, last],
 * and their bodies (not signed: bound by the digests). A backup recomputes
 * the choice from `vcs` and refuses a NEW-VIEW whose choice differs. */
struct ord_pbft_new_view {
    smr_node_id from;
    uint64_t view;
    uint32_t n_vcs;
    const struct ord_pbft_view_change *vcs; /* without bodies */
    struct ord_pbft_cert ckpt;
    uint32_t n_chosen;
    const struct ord_pbft_cert *chosen; /* seq ckpt.seq+1.. contiguous */
    uint8_t sig[ORD_PBFT_SIG_BYTES];
    const struct ord_pbft_entry *bodies; /* n_chosen long */
};

/* A snapshot claim: "my executor's durable snapshot at seq hashes to
 * digest, and my chain digest there is chain". Correct replicas claim alike
 * (execution is deterministic), so f+1 matching claims vouch for it. */
struct ord_pbft_snap {
    smr_seq seq; /* 0: none */
    uint8_t chain[SMR_DIGEST_BYTES];
    uint8_t digest[SMR_DIGEST_BYTES];
};

/* One protocol message; fields unused by a type are zero. `mac` holds one
 * tag per replica id (ORD_PBFT_REQUEST: the client's tags); VIEW-CHANGE and
 * NEW-VIEW carry signatures instead. */
struct ord_pbft_msg {
    enum ord_pbft_msg_type type;
    smr_node_id from; /* transport sender (ORD_PBFT_FROM_CLIENT: a client) */
    uint64_t view;
    smr_seq seq;
    uint8_t digest[SMR_DIGEST_BYTES];
    smr_client_id client_id;
    smr_req_id req_id;
    const uint8_t *op;
    uint32_t op_len;
    uint64_t leader_time_ms;
    const uint8_t *batch;
    uint32_t batch_len;
    /* count(batch) * n * ORD_PBFT_MAC_BYTES tags, then zero or more proof
     * entries (ORD_PBFT_PROOF_ENTRY_BYTES, indexes rising) */
    const uint8_t *req_auth;
    uint32_t req_auth_len;
    const uint8_t *proof; /* REQUEST: NULL or ORD_PBFT_PROOF_BYTES */
    bool active;
    smr_seq stable;
    smr_seq commit_upto;
    smr_seq log_from;          /* STATUS: the first log seq it holds */
    struct ord_pbft_snap snap; /* STATUS: its snapshot claim */
    uint32_t n_entries;
    const struct ord_pbft_entry *entries;
    const struct ord_pbft_view_change *vc;
    const struct ord_pbft_new_view *nv;
    uint8_t mac[SMR_NODES_MAX][ORD_PBFT_MAC_BYTES];
};

struct ord_pbft_config {
    smr_node_id self;
    uint32_t n_replicas; /* 3f+1: 1, 4, 7, 10, 13 or 16 */
    uint64_t cluster_id;
    smr_epoch epoch;
    uint32_t checkpoint_interval; /* K */
    uint32_t window;              /* L: a multiple of K, at least 2K */
    uint32_t batch_max;           /* requests per batch */
    uint32_t batch_bytes_max;
    uint32_t pending_max;       /* requests waiting, per replica */
    uint64_t view_timeout_ms;   /* T: doubles per failed view */
    uint32_t view_backoff_max;  /* at most T << this */
    uint64_t status_ms;         /* status and retransmission period */
    uint64_t clock_skew_max_ms; /* how far ahead a leader time may be */
    /* The driver reports executor snapshots (ORD_EV_CHECKPOINT) and can
     * fetch and install one (ORD_OUT_FETCH_STATE): the log is then
     * truncated, and a replica cut off by a peer's truncation fetches
     * state. False: the log is kept whole. */
    bool state_transfer;
    uint64_t log_retain; /* seqs kept below the truncation point */
    uint8_t secret_key[ORD_PBFT_SECRET_KEY_BYTES]; /* own Ed25519 key */
    uint8_t public_keys[SMR_NODES_MAX][ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t client_key_root[ORD_PBFT_KEY_BYTES]; /* own secret for clients */
    uint8_t client_ca_key[ORD_PBFT_PUBLIC_KEY_BYTES]; /* certifies blocks */
};

/* Defaults: n 4, K 16, L 64, batch 256 requests / 64 KiB, pending 4096,
 * T 1000 ms (up to T << 6), status 100 ms, skew 10 s. Keys are zero: the
 * driver fills them in. */
void ord_pbft_config_defaults(struct ord_pbft_config *c);
/* SMR_ECONFIG with a sentence naming the field in `err`. */
int ord_pbft_config_check(const struct ord_pbft_config *c, char *err,
                          size_t err_len);
void ord_pbft_contract(const struct ord_pbft_config *c,
                       struct ord_contract *out);

struct ord_pbft;

/* Creation and recovery, as for the Paxos core:
 *   1. ord_pbft_recover_state() for each state key found;
 *   2. ord_pbft_recover_log() for every log index from
 *      ord_pbft_recover_log_from() to the last index present;
 *   3. ord_pbft_start() (its outputs are returned like a step's).
 * Recovered bytes are untrusted: SMR_ECORRUPT when they do not decode.
 * ord_pbft_new: SMR_ECONFIG for a bad config, keys that do not form a
 * key pair with public_keys[self], or a zero client_ca_key; SMR_ENOMEM. */
int ord_pbft_new(const struct ord_pbft_config *c, struct ord_pbft **out);
void ord_pbft_destroy(struct ord_pbft **p);
int ord_pbft_recover_state(struct ord_pbft *p, const char *key,
                           const uint8_t *data, size_t len);
smr_seq ord_pbft_recover_log_from(const struct ord_pbft *p);
int ord_pbft_recover_log(struct ord_pbft *p, smr_seq seq, const uint8_t *data,
                         size_t len);
/* Every seq up to this is committed: the driver replays them to the
 * executor from storage (ord_pbft_record_committed). */
smr_seq ord_pbft_recovered_commit(const struct ord_pbft *p);
int ord_pbft_start(struct ord_pbft *p, uint64_t now_ms,
                   const struct ord_output **outs, size_t *n_outs);

/* One step. Returns SMR_OK; outputs are valid until the next call.
 * Messages arrive as ORD_EV_MESSAGE with a struct ord_pbft_msg; client
 * requests too (type ORD_PBFT_REQUEST, from ORD_PBFT_FROM_CLIENT), since
 * they must carry the client's MACs: ORD_EV_REQUEST, which has none, is
 * refused (ORD_OUT_REJECT, reason ORD_REJECT_BUSY) and counted. Messages
 * that fail authentication or validation are dropped and counted. */
int ord_pbft_step(struct ord_pbft *p, uint64_t now_ms,
                  const struct ord_event *ev, const struct ord_output **outs,
                  size_t *n_outs);

/* Observers (status lines, tests). */
struct ord_pbft_stats {
    uint64_t bad_mac;      /* MAC or client tag failed */
    uint64_t bad_sig;      /* a signature failed */
    uint64_t invalid;      /* malformed or out-of-range message */
    uint64_t conflicts;    /* a replica contradicted itself */
    uint64_t bad_new_view; /* NEW-VIEW whose choice did not check */
    uint64_t view_changes; /* VIEW-CHANGEs this replica started */
    uint64_t diverged;     /* own checkpoint differs from a quorum's */
    uint64_t unauthenticated_requests; /* ORD_EV_REQUEST refused */
    uint64_t signed_requests;  /* requests whose proof checked */
    uint64_t held;             /* pre-prepares held for a request */
    uint64_t unsigned_refused; /* primary: suspect block, no proof */
    uint64_t state_fetches;    /* FETCH_STATE outputs */
    uint64_t states_installed; /* snapshots installed by state transfer */
    uint64_t truncations;      /* TRUNCATE outputs */
};
bool ord_pbft_is_primary(const struct ord_pbft *p);
smr_node_id ord_pbft_primary(const struct ord_pbft *p); /* of its view */
uint64_t ord_pbft_view(const struct ord_pbft *p);
bool ord_pbft_view_active(const struct ord_pbft *p);
smr_seq ord_pbft_commit_upto(const struct ord_pbft *p);
smr_seq ord_pbft_stable(const struct ord_pbft *p);
void ord_pbft_get_stats(const struct ord_pbft *p, struct ord_pbft_stats *out);

/* Authentication helpers for drivers, clients and tests. */
/* Fills m->mac for every replica with this core's keys (m->from is set to
 * the core's id). For a CATCHUP the driver builds from storage (FETCH). */
void ord_pbft_seal(const struct ord_pbft *p, struct ord_pbft_msg *m);
/* A tag over a 32-byte digest for replica `peer` with the key this core
 * shares with it (the driver's state-transfer frames), and its check for a
 * tag `peer` made for us. False for a peer out of range or ourselves. */
void ord_pbft_peer_tag(const struct ord_pbft *p, smr_node_id peer,
                       const uint8_t digest[SMR_DIGEST_BYTES],
                       uint8_t tag[ORD_PBFT_MAC_BYTES]);
bool ord_pbft_peer_tag_check(const struct ord_pbft *p, smr_node_id peer,
                             const uint8_t digest[SMR_DIGEST_BYTES],
                             const uint8_t tag[ORD_PBFT_MAC_BYTES]);
/* Signs a VIEW-CHANGE / NEW-VIEW as this core (vc->from / nv->from must be
 * its id). */
void ord_pbft_sign_view_change(const struct ord_pbft *p,
                               struct ord_pbft_view_change *vc);
void ord_pbft_sign_new_view(const struct ord_pbft *p,
                            struct ord_pbft_new_view *nv);
/* Client keys. Client ids come in blocks of 2^32 (the id's high 32 bits
 * name its block); whoever is enrolled for a block holds, for each replica,
 * that block's key (BLAKE2b keyed with the replica's client key root over
 * the block number) and derives from it the key of every id in the block
 * (BLAKE2b keyed with the block key over the id). A client can thus mint
 * ids of its own block but cannot authenticate as an id of another block:
 * a session is bound to the credential that made it. */
#define ORD_PBFT_CLIENT_BLOCK(client_id) ((uint32_t)((client_id) >> 32))
void ord_pbft_client_block_key(const uint8_t root[ORD_PBFT_KEY_BYTES],
                               uint32_t block, uint8_t out[ORD_PBFT_KEY_BYTES]);
void ord_pbft_client_key_in_block(const uint8_t block_key[ORD_PBFT_KEY_BYTES],
                                  smr_client_id client_id,
                                  uint8_t out[ORD_PBFT_KEY_BYTES]);
/* The key client `client_id` shares with the replica whose client key root
 * is `root` (the two steps above). */
void ord_pbft_client_key(const uint8_t root[ORD_PBFT_KEY_BYTES],
                         smr_client_id client_id,
                         uint8_t out[ORD_PBFT_KEY_BYTES]);
/* A client's MAC vector for request r: out[i] with keys[i] (its key with
 * replica i), i < n. */
void ord_pbft_request_auth(const uint8_t (*keys)[ORD_PBFT_KEY_BYTES],
                           uint32_t n, uint64_t cluster_id,
                           const struct smr_request *r,
                           uint8_t (*out)[ORD_PBFT_MAC_BYTES]);
/* Reply authenticators (TOCS §4.1: a reply carries a MAC for its client).
 * A reply's tag is SipHash-2-4-128 with the key the client shares with the
 * replying replica over a domain, the cluster id, the epoch, that
 * replica's id, and
 * every field of the reply: client id, request id, seq, status, leader
 * hint and the result (or, for a result over 512 bytes, its BLAKE2b
 * digest). The client checks it with its key for the socket's replica, so
 * a reply cannot be forged, or moved to another replica's vote, by anyone
 * without that key. */
struct ord_pbft_reply {
    smr_node_id from;
    smr_client_id client_id;
    smr_req_id req_id;
    smr_seq seq;
    uint32_t status;
    uint32_t leader_hint;
    const uint8_t *result;
    uint32_t result_len;
};
void ord_pbft_reply_tag(const uint8_t key[ORD_PBFT_KEY_BYTES],
                        uint64_t cluster_id, smr_epoch epoch,
                        const struct ord_pbft_reply *r,
                        uint8_t tag[ORD_PBFT_MAC_BYTES]);
/* The tag of this core's reply r to client r->client_id (r->from must be
 * this core's id), with the client's key from the core's cache. */
void ord_pbft_reply_seal(struct ord_pbft *p, const struct ord_pbft_reply *r,
                         uint8_t tag[ORD_PBFT_MAC_BYTES]);
/* Signed requests. The cluster's client CA certifies each block's signing
 * key: `cert` is the CA's signature over (block, pk). */
void ord_pbft_client_cert(const uint8_t ca_sk[ORD_PBFT_SECRET_KEY_BYTES],
                          uint32_t block,
                          const uint8_t pk[ORD_PBFT_PUBLIC_KEY_BYTES],
                          uint8_t cert[ORD_PBFT_SIG_BYTES]);
/* A proof for request r (whose client id is in the block `block_sk`
 * signs for): pk, cert, and the signature over the request's digest. */
void ord_pbft_request_sign(const uint8_t block_sk[ORD_PBFT_SECRET_KEY_BYTES],
                           const uint8_t cert[ORD_PBFT_SIG_BYTES],
                           uint64_t cluster_id, const struct smr_request *r,
                           uint8_t proof[ORD_PBFT_PROOF_BYTES]);
/* Digest of one entry value (what PREPARE and COMMIT agree on). */
void ord_pbft_entry_digest(smr_epoch epoch, uint64_t leader_time_ms,
                           const uint8_t *batch, uint32_t batch_len,
                           uint8_t out[SMR_DIGEST_BYTES]);

/* A deep copy of a message in one malloc block (free() releases it), or
 * NULL when memory runs out. For queues in drivers and tests. */
struct ord_pbft_msg *ord_pbft_msg_dup(const struct ord_pbft_msg *m);

/* The committed value a log record holds, for replay and FETCH: the value
 * learned by catch-up, else the prepared certificate's. SMR_ENOTFOUND when
 * the record holds neither; SMR_ECORRUPT on bad bytes. `out` points into
 * `data`. Only records at or below a commit mark hold committed values. */
int ord_pbft_record_committed(const uint8_t *data, size_t len, smr_seq seq,
                              struct ord_pbft_entry *out);

/* Deliberately broken variants for the harness's self-test: each breaks
 * one rule on purpose. ORD_PBFT_MUTANT_NONE outside tests. */
enum ord_pbft_mutant {
    ORD_PBFT_MUTANT_NONE = 0,
    ORD_PBFT_MUTANT_WEAK_PREPARE,   /* prepared with 2f-1 prepares */
    ORD_PBFT_MUTANT_WEAK_COMMIT,    /* committed with 2f commits */
    ORD_PBFT_MUTANT_VOTE_EARLY,     /* COMMIT before its record is durable */
    ORD_PBFT_MUTANT_TRUST_NEW_VIEW, /* NEW-VIEW choice taken without checking */
    ORD_PBFT_MUTANT_NO_SUSPECT,     /* suspect blocks' unsigned requests taken */
    ORD_PBFT_MUTANT_TIME_UNSIGNED,  /* backups time unsigned requests too */
    ORD_PBFT_MUTANT_TRUST_ONE_SNAPSHOT, /* state fetched on one replica's claim */
};
extern int ord_pbft_mutant;

#endif
