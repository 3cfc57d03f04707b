/*
 * pbft_internal.h: the PBFT core's private state and the helpers its files
 * share (pbft.c normal case, pbft_view.c view changes, pbft_crypto.c
 * authentication, pbft_record.c durable records). Not for use outside
 * ordering/.
 */
#ifndef STRATA_PBFT_INTERNAL_H
#define STRATA_PBFT_INTERNAL_H

#include "ord_arena.h"
#include "pbft.h"

#include <stdlib.h>

/* An invariant whose failure means the core would go on to break safety:
 * checked in every build. A replica that finds one stops. Never used on
 * conditions a Byzantine peer can bring about. */
#define PBFT_INVARIANT(cond)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

#define PBFT_CAP ORD_PBFT_CAP
#define PBFT_CLAIMS 16    /* checkpoint seqs above stable with claims */
#define PBFT_OWN_CKPTS 16 /* own checkpoint digests kept */
#define PBFT_KEEP_COMMITTED                                                    \
    128                    /* committed slots kept behind the commit point */
#define PBFT_DEDUPE 4096   /* primary: recently proposed requests */
#define PBFT_FAR_CLAIMS 16 /* per peer: its newest claims beyond `claims` */
#define PBFT_D SMR_DIGEST_BYTES

struct pbft_q {
    uint64_t view;
    uint8_t digest[PBFT_D];
};

/* One sequence number in the window. */
struct pbft_slot {
    smr_seq seq; /* 0: unused */
    /* The newest pre-prepare accepted here (its view is pp_view). */
    bool has_pp;
    uint64_t pp_view;
    uint8_t pp_digest[PBFT_D];
    uint64_t pp_time_ms;
    struct smr_buf pp_batch;
    struct smr_buf pp_auth; /* the client tags (normal-case pre-prepares) */
    /* P: the newest prepared certificate. */
    bool has_p;
    uint64_t p_view;
    uint8_t p_digest[PBFT_D];
    uint64_t p_time_ms;
    struct smr_buf p_batch;
    /* Q: pre-prepared (digest, newest view), newest views kept. */
    uint32_t n_q;
    struct pbft_q q[ORD_PBFT_Q_MAX];
    /* Votes heard for vote_view (a view's votes may precede its
     * pre-prepare). */
    uint64_t vote_view;
    uint32_t prep_mask, commit_mask;
    uint8_t prep_d[SMR_NODES_MAX][PBFT_D];
    uint8_t commit_d[SMR_NODES_MAX][PBFT_D];
    bool prepared; /* prepared in vote_view == pp_view */
    /* Committed: the value is the P body, or (cu_value) one learned from
     * f+1 matching catch-up claims. */
    bool committed;
    bool cu_value;
    bool cu_tentative; /* c_* holds an unverified catch-up value */
    uint64_t c_view;   /* the view it committed in (three phases) */
    uint8_t c_digest[PBFT_D];
    uint64_t c_time_ms;
    struct smr_buf c_batch;
    uint32_t cu_mask;
    uint8_t cu_d[SMR_NODES_MAX][PBFT_D];
    smr_lsn lsn;   /* the slot record's LSN; 0: durable (recovered) */
    smr_lsn p_lsn; /* the record holding P for this view */
};

/* A client's key with this replica, cached (pbft_crypto.c client_key). */
#define PBFT_CLIENT_KEYS_BITS 13 /* 8192 clients, 384 KiB */
#define PBFT_CLIENT_KEYS (1u << PBFT_CLIENT_KEYS_BITS)
struct pbft_client_key {
    bool used;
    smr_client_id client_id;
    uint8_t key[ORD_PBFT_KEY_BYTES];
};

/* One entry of a lossy request table (direct-mapped by hash). */
struct pbft_req_key {
    bool used;
    smr_client_id client_id;
    smr_req_id req_id;
    uint64_t view;
};

struct pbft_claims {
    smr_seq seq; /* 0: unused */
    uint32_t mask;
    uint8_t d[SMR_NODES_MAX][PBFT_D];
};

struct pbft_ckpt {
    smr_seq seq;
    uint8_t digest[PBFT_D];
};

/* A request waiting to be ordered (kept by backups and by a primary that
 * lost its view), with the client's tags and, once it came signed, its
 * proof, so it can be forwarded. Only a signed one is timed (since_ms: when
 * its proof arrived). */
struct pbft_pending {
    smr_client_id client_id;
    smr_req_id req_id;
    uint64_t since_ms;
    struct smr_buf op;
    uint8_t auth[SMR_NODES_MAX][ORD_PBFT_MAC_BYTES];
    bool has_proof;
    uint8_t proof[ORD_PBFT_PROOF_BYTES];
};

/* A pre-prepare held by a backup until it can authenticate every request
 * in it (pbft_request.c). */
#define PBFT_HELD 16
struct pbft_held {
    struct ord_pbft_msg *m; /* NULL: unused; else one malloc block */
};

/* A client block's certified signing key, checked once (pbft_crypto.c). */
#define PBFT_CERTS 256
struct pbft_cert {
    bool used;
    uint32_t block;
    uint8_t key_cert[ORD_PBFT_PUBLIC_KEY_BYTES + ORD_PBFT_SIG_BYTES];
};

/* A request signature already checked: its digest and the whole proof
 * (a client's retransmissions repeat the same signature, and a forwarded
 * copy arrives too). Direct-mapped by digest. */
#define PBFT_SIGS 1024
struct pbft_sig {
    bool used;
    uint8_t digest[SMR_DIGEST_BYTES];
    uint8_t proof[ORD_PBFT_PROOF_BYTES];
};

/* A client block this replica suspects (a request of it came in a
 * pre-prepare it could not authenticate): while primary, it orders that
 * block's requests only signed. Set-associative (64 sets of 4), lossy. */
#define PBFT_SUSPECTS 256
#define PBFT_SUSPECT_WAYS 4
struct pbft_suspect {
    uint32_t block;
    uint64_t until_ms;
};

/* A closed batch waiting for a sequence number (primary). */
struct pbft_ready {
    struct smr_buf batch;
    struct smr_buf auth;
};

struct pbft_peer {
    uint64_t served_ms;    /* last STATUS answered */
    smr_seq served_commit; /* ... and the commit point it reported */
    uint64_t served_view;
    smr_seq last_commit;             /* commit point in its previous STATUS */
    smr_seq log_from;                /* first log seq it holds (STATUS) */
    struct ord_pbft_snap snap;       /* its newest snapshot claim (STATUS) */
    struct ord_pbft_view_change *vc; /* newest valid VIEW-CHANGE (owned) */
    uint8_t vc_digest[PBFT_D];       /* of vc, verified */
};

enum pbft_mode {
    PBFT_ACTIVE = 0, /* in `view`, NEW-VIEW installed (or view 0) */
    PBFT_CHANGING,   /* VIEW-CHANGE for `view` sent, waiting for NEW-VIEW */
};

struct ord_pbft {
    struct ord_pbft_config cfg;
    uint32_t n, f, quorum; /* quorum = 2f+1 */
    uint8_t pair_key[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    struct pbft_client_key client_keys[PBFT_CLIENT_KEYS];
    struct pbft_cert certs[PBFT_CERTS];
    struct pbft_sig *sigs; /* PBFT_SIGS */
    struct pbft_suspect suspects[PBFT_SUSPECTS];
    struct pbft_held held[PBFT_HELD];
    uint8_t genesis[PBFT_D];

    /* View. */
    uint64_t view;
    enum pbft_mode mode;
    uint64_t view_since_ms; /* entered the view or started changing */
    uint32_t backoff;       /* failed views in a row */
    bool progressed;        /* committed something new in this view */
    bool view_timer_armed;
    smr_seq my_vc_stable;         /* h and newest C entry of our VIEW-CHANGE */
    smr_seq my_vc_ckpt;           /* (peers[self].vc holds it) */
    uint64_t view_floor;          /* recovery: highest view in the log */
    struct ord_pbft_new_view *nv; /* owned; NEW-VIEW of `view` */
    uint64_t view_gen, status_gen;
    smr_lsn view_lsn; /* the last view record */
    /* The primary's reservation (rule 3): in reserve_view it pre-prepares
     * no seq above reserve_upto before raising it; written ahead in steps
     * of a window, so a PRE-PREPARE waits for no fsync of its own. */
    uint64_t reserve_view;
    smr_seq reserve_upto; /* 0: none */
    smr_lsn reserve_lsn;

    /* The window of slots [base, base + PBFT_CAP). */
    struct pbft_slot *slots;
    smr_seq base;
    smr_seq max_seq; /* highest seq a slot was made for */
    smr_seq commit_upto;
    smr_seq stable; /* h, the low watermark */
    uint8_t stable_digest[PBFT_D];
    uint8_t chain[PBFT_D]; /* chain digest at commit_upto */
    uint64_t last_time_ms; /* highest leader time committed or proposed */
    struct pbft_ckpt own[PBFT_OWN_CKPTS]; /* own checkpoints, oldest first */
    uint32_t n_own;
    struct pbft_claims claims[PBFT_CLAIMS];
    /* Checkpoint claims too far above the stable one for `claims` (a
     * replica that lags by more than PBFT_CLAIMS checkpoints): per peer its
     * newest ones, so a faulty peer can only fill its own row. 2f+1
     * matching make a checkpoint stable all the same. */
    struct pbft_ckpt far[SMR_NODES_MAX][PBFT_FAR_CLAIMS];
    smr_seq catchup_target; /* highest commit point f+1 peers reported */
    /* Catch-up below the stable checkpoint: values from one source, chained
     * from commit_upto and checked against stable_digest. */
    smr_node_id cu_src;       /* ORD_TO_ALL: none yet */
    smr_seq cu_upto;          /* tentative values fill (commit_upto, cu_upto] */
    uint8_t cu_chain[PBFT_D]; /* chain digest at cu_upto */
    smr_seq cu_target;        /* the checkpoint it must reach */
    uint8_t cu_target_digest[PBFT_D];
    uint64_t cu_since_ms;   /* last progress from cu_src */
    uint32_t cu_bad;        /* sources whose chain did not check */
    smr_seq durable_commit; /* committed with every record durable */
    smr_seq mark;           /* last commit mark written */
    uint8_t mark_digest[PBFT_D];
    smr_seq stable_written; /* the stable seq in that record */
    smr_seq stable_durable; /* ... once durable */
    smr_lsn mark_lsn;
    smr_seq mark_durable;
    smr_seq recovered_commit;

    /* Truncation and state transfer (pbft_state.c). */
    struct ord_pbft_snap snap; /* own newest snapshot claim */
    smr_lsn snap_lsn;          /* its record */
    smr_seq snap_durable;      /* the claim's seq once its record is durable */
    smr_seq log_from;          /* first log seq storage holds (1: all) */
    smr_seq st_seq;            /* the snapshot being fetched (0: none) */
    uint8_t st_chain[PBFT_D];  /* ... the chain digest at st_seq */
    uint8_t st_digest[PBFT_D]; /* ... and the snapshot's digest */
    uint64_t st_since_ms;      /* when it was asked for */

    /* Primary. */
    smr_seq next_seq;
    struct smr_buf open_batch, open_auth, open_proofs;
    uint32_t open_count;
    struct pbft_ready *ready;
    uint32_t ready_head, ready_len, ready_cap;
    uint32_t queued;                           /* requests in open + ready */
    struct pbft_req_key inflight[PBFT_DEDUPE]; /* queued or proposed */
    struct pbft_req_key recent[PBFT_DEDUPE];   /* committed lately */

    /* Requests waiting elsewhere (backups). */
    struct pbft_pending *pending;
    uint32_t n_pending, pending_cap;

    struct pbft_peer peers[SMR_NODES_MAX];
    smr_seq peer_commit[SMR_NODES_MAX]; /* from STATUS */
    uint64_t peer_view[SMR_NODES_MAX];  /* from STATUS and VIEW-CHANGE */

    /* Durability. */
    smr_lsn next_lsn;
    smr_lsn durable_lsn;

    /* Outputs of the current step. */
    uint64_t now_ms;
    struct ord_output *outs;
    size_t n_outs, outs_cap;
    struct ord_arena arena; /* step-scoped: outputs point into it */
    void **grave; /* freed at the next step (outputs use them) */
    size_t n_grave, grave_cap;
    struct smr_buf scratch;

    struct ord_pbft_stats stats;
    bool started;
};

/* pbft_state.c: truncation and state transfer. */
void pbft_on_exec_checkpoint(struct ord_pbft *p, smr_seq seq,
                             const uint8_t digest[PBFT_D]);
void pbft_on_state_installed(struct ord_pbft *p, smr_seq seq);
/* Forgets every request waiting here (pbft_request.c). */
void pbft_drop_pending(struct ord_pbft *p);
/* After a durable write: truncates the log if it may. */
void pbft_maybe_truncate(struct ord_pbft *p);
/* After a peer's STATUS: fetches state if a truncation cut us off. */
void pbft_maybe_fetch_state(struct ord_pbft *p);
int pbft_snap_record_decode(const uint8_t *data, size_t len,
                            struct ord_pbft_snap *snap, smr_seq *log_from);
void pbft_snap_record_encode(uint8_t *out, const struct ord_pbft_snap *snap,
                             smr_seq log_from);
#define PBFT_SNAP_RECORD_BYTES (8 + 2 * PBFT_D + 8 + 4)

/* pbft.c: outputs and slots. The time of the step is p->now_ms. */
void *pbft_alloc(struct ord_pbft *p, size_t bytes);
/* Frees `ptr` at the start of the next step. */
void pbft_defer_free(struct ord_pbft *p, void *ptr);
struct ord_pbft_msg *pbft_msg_new(struct ord_pbft *p,
                                  enum ord_pbft_msg_type type);
/* Seals (MACs) a message of the core and sends it; to may be ORD_TO_ALL. */
void pbft_send(struct ord_pbft *p, smr_node_id to, smr_lsn after_lsn,
               struct ord_pbft_msg *m);
/* Sends a message as is (signed ones; requests with the client's tags). */
void pbft_send_signed(struct ord_pbft *p, smr_node_id to, smr_lsn after_lsn,
                      const struct ord_pbft_msg *m);
void pbft_set_timer(struct ord_pbft *p, uint32_t id, uint64_t gen,
                    uint64_t after_ms);
/* `data` must live until the next step (pbft_alloc). */
smr_lsn pbft_persist_state(struct ord_pbft *p, const char *key,
                           const uint8_t *data, uint32_t len);
smr_lsn pbft_persist_view(struct ord_pbft *p);
smr_lsn pbft_persist_slot(struct ord_pbft *p, struct pbft_slot *s);
struct pbft_slot *pbft_slot_at(struct ord_pbft *p, smr_seq seq);
void pbft_slot_free(struct pbft_slot *s);
struct pbft_slot *pbft_slot_peek(const struct ord_pbft *p, smr_seq seq);
smr_node_id pbft_primary_of(const struct ord_pbft *p, uint64_t view);
/* Records a pre-prepare (pp fields, Q), writes the slot and returns its
 * LSN. The caller has checked that it may. */
smr_lsn pbft_install_preprepare(struct ord_pbft *p, struct pbft_slot *s,
                                uint64_t view, const uint8_t digest[PBFT_D],
                                uint64_t time_ms, const uint8_t *batch,
                                uint32_t batch_len, const uint8_t *auth,
                                uint32_t auth_len);
/* A backup's PREPARE for an installed pre-prepare, and its own vote. */
void pbft_accept_preprepare_as_backup(struct ord_pbft *p, struct pbft_slot *s);
void pbft_check_prepared(struct ord_pbft *p, struct pbft_slot *s);
void pbft_deliver(struct ord_pbft *p);
void pbft_set_stable(struct ord_pbft *p, smr_seq seq,
                     const uint8_t digest[PBFT_D]);
void pbft_propose(struct ord_pbft *p, bool flush);
struct ord_output *pbft_out_push(struct ord_pbft *p, enum ord_output_type type);
void pbft_set_buf(struct smr_buf *b, const uint8_t *data, size_t len);
bool pbft_in_window(const struct ord_pbft *p, smr_seq seq);
/* The committed value of a slot (borrowed from the slot). */
void pbft_committed_entry(const struct pbft_slot *s, struct ord_pbft_entry *e);
/* Votes in `mask` whose digest is `want`, `skip` not counted. */
uint32_t pbft_count_votes(const struct ord_pbft *p, uint32_t mask,
                          const uint8_t (*d)[PBFT_D],
                          const uint8_t want[PBFT_D], smr_node_id skip);
/* Records `from`'s vote. A second, different vote of one replica is
 * counted as a conflict and replaces the first only when it is for
 * `prefer` (may be NULL). True when the vote was recorded. */
bool pbft_record_vote(struct ord_pbft *p, uint32_t *mask, uint8_t (*d)[PBFT_D],
                      smr_node_id from, const uint8_t digest[PBFT_D],
                      const uint8_t *prefer);
void pbft_send_prepare(struct ord_pbft *p, struct pbft_slot *s, smr_node_id to);

/* pbft_request.c: requests, batches, the request deadline. */
void pbft_on_request(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_reject(struct ord_pbft *p, smr_client_id c, smr_req_id r,
                 enum ord_reject_reason why);
/* A committed batch: its requests are no longer waited for. */
void pbft_forget_requests(struct ord_pbft *p, const uint8_t *batch,
                          uint32_t len);
void pbft_forward_pending(struct ord_pbft *p);
/* Moves the primary's queued requests into the pending table. */
void pbft_requeue(struct ord_pbft *p);
void pbft_arm_view_timer(struct ord_pbft *p);
void pbft_on_view_deadline(struct ord_pbft *p);
/* True when an identical request (client, id, op) is pending here. */
bool pbft_pending_has(const struct ord_pbft *p, const struct smr_request *r);
/* A backup holds a pre-prepare it cannot authenticate yet (`who`: the
 * first such request's client, whose block it now suspects). */
void pbft_hold_preprepare(struct ord_pbft *p, const struct ord_pbft_msg *m,
                          smr_client_id who);
/* Offers held pre-prepares again (after an authenticated request arrived);
 * drops those of other views. */
void pbft_retry_held(struct ord_pbft *p);
void pbft_free_held(struct ord_pbft *p);
uint64_t pbft_view_timeout(const struct ord_pbft *p);

/* pbft_sync.c: checkpoints, the commit mark, catch-up, status. */
void pbft_own_push(struct ord_pbft *p, smr_seq seq,
                   const uint8_t digest[PBFT_D]);
bool pbft_own_ckpt(const struct ord_pbft *p, smr_seq seq,
                   uint8_t digest[PBFT_D]);
void pbft_take_checkpoint(struct ord_pbft *p);
void pbft_check_stable(struct ord_pbft *p, smr_seq seq);
void pbft_write_mark(struct ord_pbft *p);
void pbft_on_checkpoint(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_on_catchup(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_on_status(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_on_status_timer(struct ord_pbft *p);
/* Drops tentative catch-up values and starts over from commit_upto. */
void pbft_chain_reset(struct ord_pbft *p);

/* pbft_view.c: view changes (TOCS §4.5). */
void pbft_start_view_change(struct ord_pbft *p, uint64_t view);
void pbft_resume_view_change(struct ord_pbft *p);
void pbft_on_view_change(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_on_new_view(struct ord_pbft *p, const struct ord_pbft_msg *m);
void pbft_view_status_tick(struct ord_pbft *p);
void pbft_send_new_view_to(struct ord_pbft *p, smr_node_id to);
/* Recovery: the NEW-VIEW record (untrusted bytes, checked like a received
 * NEW-VIEW); ord_pbft_start keeps it if it is the current view's. */
int pbft_recover_new_view(struct ord_pbft *p, const uint8_t *data, size_t len);
/* Start: reinstalls the recovered NEW-VIEW's values (records a crash lost). */
void pbft_resume_new_view(struct ord_pbft *p);
void pbft_on_view_timer(struct ord_pbft *p);

/* pbft_crypto.c. */
int pbft_keys_init(struct ord_pbft *p);
void pbft_genesis(const struct ord_pbft_config *c, uint8_t out[PBFT_D]);
void pbft_chain_next(uint8_t chain[PBFT_D], smr_seq seq,
                     const uint8_t entry_digest[PBFT_D]);
void pbft_mac_fill(const struct ord_pbft *p, struct ord_pbft_msg *m);
bool pbft_mac_check(const struct ord_pbft *p, const struct ord_pbft_msg *m);
/* A batch's request authentication (req_auth): OK when this replica
 * authenticates every request (its tag, a proof, or an identical request
 * it holds pending); MISSING with *who set to the first request it cannot;
 * MALFORMED when the layout is wrong. */
enum pbft_auth { PBFT_AUTH_OK, PBFT_AUTH_MISSING, PBFT_AUTH_MALFORMED };
enum pbft_auth pbft_batch_auth_check(struct ord_pbft *p, const uint8_t *batch,
                                     uint32_t batch_len, const uint8_t *auth,
                                     uint32_t auth_len, smr_client_id *who);
/* The proof of request k in a batch's req_auth (layout checked), or NULL. */
const uint8_t *pbft_auth_proof(const struct ord_pbft *p, uint32_t count,
                               const uint8_t *auth, uint32_t auth_len,
                               uint32_t k);
bool pbft_request_check(struct ord_pbft *p, const struct smr_request *r,
                        const uint8_t tag[ORD_PBFT_MAC_BYTES]);
bool pbft_request_proof_check(struct ord_pbft *p, const struct smr_request *r,
                              const uint8_t proof[ORD_PBFT_PROOF_BYTES]);
void pbft_vc_digest(const struct ord_pbft_config *c,
                    const struct ord_pbft_view_change *vc, uint8_t out[PBFT_D]);
void pbft_nv_digest(const struct ord_pbft_config *c,
                    const struct ord_pbft_new_view *nv, uint8_t out[PBFT_D]);
bool pbft_sig_check(const struct ord_pbft *p, smr_node_id signer,
                    const uint8_t digest[PBFT_D],
                    const uint8_t sig[ORD_PBFT_SIG_BYTES]);

/* pbft_record.c. */
int pbft_slot_encode(const struct pbft_slot *s, struct smr_buf *out);
int pbft_slot_decode(const uint8_t *data, size_t len, struct pbft_slot *s);
#define PBFT_VIEW_RECORD_BYTES 13
#define PBFT_RESERVE_RECORD_BYTES 20
void pbft_reserve_record_encode(uint8_t out[PBFT_RESERVE_RECORD_BYTES],
                                uint64_t view, smr_seq upto);
int pbft_reserve_record_decode(const uint8_t *data, size_t len, uint64_t *view,
                               smr_seq *upto);
#define PBFT_MARK_RECORD_BYTES (2 * (8 + PBFT_D) + 4)
void pbft_view_record_encode(uint8_t out[PBFT_VIEW_RECORD_BYTES], uint64_t view,
                             bool active);
int pbft_view_record_decode(const uint8_t *data, size_t len, uint64_t *view,
                            bool *active);
void pbft_mark_record_encode(uint8_t out[PBFT_MARK_RECORD_BYTES], smr_seq seq,
                             const uint8_t digest[PBFT_D], smr_seq stable,
                             const uint8_t stable_digest[PBFT_D]);
int pbft_mark_record_decode(const uint8_t *data, size_t len, smr_seq *seq,
                            uint8_t digest[PBFT_D], smr_seq *stable,
                            uint8_t stable_digest[PBFT_D]);

/* The NEW-VIEW record (state ORD_PBFT_STATE_NEW_VIEW): the whole signed
 * NEW-VIEW with its bodies. Decode: SMR_ECORRUPT on bad bytes, SMR_ENOMEM;
 * *out is one malloc block (free() releases it), pointing nowhere into
 * `data`. Signatures are not checked here. */
int pbft_nv_encode(const struct ord_pbft_new_view *nv, struct smr_buf *out);
int pbft_nv_decode(const uint8_t *data, size_t len,
                   struct ord_pbft_new_view **out);

/* Copies into one malloc block (free() releases it); NULL on no memory.
 * `with_bodies` false drops the VIEW-CHANGE's bodies. */
struct ord_pbft_view_change *pbft_vc_dup(const struct ord_pbft_view_change *vc,
                                         bool with_bodies);
struct ord_pbft_new_view *pbft_nv_dup(const struct ord_pbft_new_view *nv);

#endif
