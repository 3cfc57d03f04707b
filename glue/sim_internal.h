/*
 * sim_internal.h: the simulator's state, shared by sim.c (the cluster, the
 * network, faults and oracles), sim_client.c (clients and their history)
 * and sim_byz.c (PBFT: keys, Byzantine replicas and clients, Twins). Not an
 * API: only those three include it.
 */
#ifndef STRATA_GLUE_SIM_INTERNAL_H
#define STRATA_GLUE_SIM_INTERNAL_H

#include "exe.h"
#include "keys.h"
#include "reply_quorum.h"
#include "sim.h"

#define NODES_MAX 7
#define CLIENTS_MAX 16
#define VIRTUAL_MS_MAX 600000  /* a seed that runs longer has failed */
#define FAULT_TICK_MS 10
#define RETRY_MS 100
#define GIVE_UP_MS 20000  /* then the outcome is unknown (an info op) */
#define PROGRESS_MS 15000      /* after healing, final reads must finish */
#define PBFT_PROGRESS_MS 60000 /* view changes back off up to T << 6 */
#define WALL_BASE_MS 1700000000000ULL
#define SMR_SEQ_UNKNOWN UINT64_MAX

/* TO_STREAM: executor `from` to its replica's stream socket; TO_EXECUTOR:
 * replica to executor `to`, for the incarnation in `tag` only (a restarted
 * executor is a new connection: ZeroMQ would not deliver the old one's). */
enum frame_kind { TO_PEER, TO_REPLICA, TO_CLIENT, TO_STREAM, TO_EXECUTOR };

struct frame {
    uint64_t at, order;
    uint64_t depart; /* when it left its sender */
    uint8_t kind;
    uint8_t tag;
    bool cancelled;  /* its sender crashed before it left */
    uint32_t from, to;
    uint32_t len;
    uint8_t data[];
};

struct sim;

struct snode {
    struct sim *sim;
    uint32_t id;
    struct glue_node *n;
    struct sto *store;
    bool up;
    bool touched;       /* frames arrived in this step */
    uint64_t busy_until; /* in a sync until then */
    bool syncing;        /* its store completes a sync at busy_until */
    uint64_t depart_at;  /* departure time of what it sends now */
    uint64_t restart_at; /* when down */
    bool corrupt;        /* refused its store: down for good */
    uint64_t sched_seed; /* non-zero: a parallel engine, seeded scheduler */
    uint32_t starts;
    uint32_t rate_permille;
    smr_seq executed;
    uint32_t byz;  /* PBFT: Byzantine behaviours (sim_byz.c), 0: correct */
    bool twin;     /* the second copy of replica `id` (Twins) */
};

/* A separate executor following replica `idx` (same index). */
struct sexec {
    struct sim *sim;
    uint32_t idx;
    struct glue_executor *x;
    struct sto *store;
    bool up;
    uint8_t incarnation;
    uint64_t restart_at;
    smr_seq executed;
};

enum cphase { C_IDLE, C_WAITING, C_DONE };

struct sclient {
    uint32_t idx;
    enum cphase phase;
    smr_req_id req;
    uint64_t next_at;  /* idle: next op; waiting: next resend */
    uint64_t give_up_at;
    uint32_t target;
    bool answered; /* a NOT_LEADER/BUSY reply set next_at: no timeout */
    enum exe_kv_opcode op;
    char key[16], value[32], expect[32];
    struct smr_buf frame;
    /* PBFT: the same request signed (a retransmission), made at the first
     * one; the request's id and op to make it */
    struct smr_buf signed_frame;
    smr_client_id pbft_id;
    struct smr_buf pbft_op;
    uint32_t issued;
    char last_seen[CLIENTS_MAX][32]; /* per key: a value to cas against */
    /* PBFT: the reply vote, and whether the next send goes to every
     * replica (a session's first request, and after a timeout). */
    struct glue_reply_quorum votes;
    bool to_all;
};

struct entry_rec {
    bool set;
    uint8_t batch_hash[SMR_DIGEST_BYTES];
    uint8_t digest[SMR_DIGEST_BYTES];
};

struct sim {
    struct sim_options opt;
    struct sim_result *res;
    uint64_t rng, now, order;
    struct frame **heap;
    size_t heap_len, heap_cap;
    struct glue_config cfg;
    /* nodes[0..replicas) are the replicas; with Twins nodes[replicas] is
     * the second copy of replica twin_of (n_nodes = replicas + 1). */
    struct snode nodes[NODES_MAX + 1];
    uint32_t n_nodes;
    bool separate; /* executors run apart (sexec) */
    unsigned tear_pm; /* chance that a crash tears the newest write */
    bool rot_pending; /* one replica's synced data will rot at a crash */
    struct sexec execs[NODES_MAX + 1]; /* [replicas]: unused */
    struct sclient clients[CLIENTS_MAX];
    bool faults_on;
    unsigned drop_pm, dup_pm, crash_pm, part_pm, fsync_pm;
    uint64_t delay_max_ms, disk_max_ms;
    bool blocked[NODES_MAX + 1][NODES_MAX + 1];
    /* PBFT (sim_byz.c). */
    bool pbft;
    uint32_t f;             /* faults tolerated: (n - 1) / 3 */
    smr_epoch epoch;
    struct glue_keys *keys; /* derived from the seed; cfg.keys_mem */
    struct sim_byz *byz;    /* Byzantine state, NULL when none */
    uint32_t twin_of;       /* UINT32_MAX: no twin */
    uint32_t twin_split;    /* bit j: peer j's frames reach the twin, not
                             * the original */
    uint32_t ops_issued;
    uint64_t healed_at;
    bool final_reads;
    uint32_t final_key;
    struct entry_rec *log;
    size_t log_cap;
    struct smr_buf history;
    struct smr_buf scratch;
};


/* PBFT (sim_byz.c). */
/* Derives the keys, sets the config's PBFT fields, draws the Byzantine
 * replicas and their behaviours (and a twin). SMR_ENOMEM. */
int sim_byz_setup(struct sim *s, uint64_t seed);
void sim_byz_free(struct sim *s);
/* A Byzantine replica's frame to peer `to` / to client `client`: tampered
 * with, dropped or sent as is, by its behaviours. */
void sim_byz_peer_send(struct snode *nd, uint32_t to, const uint8_t *frame,
                       size_t len);
/* A Byzantine replica's Committed stream frame to executor `exec`
 * (connection `tag`): dropped, sent, or altered. */
void sim_byz_stream_send(struct snode *nd, uint32_t exec, uint8_t tag,
                         const uint8_t *frame, size_t len);
void sim_byz_client_send(struct snode *nd, uint32_t client,
                         const uint8_t *frame, size_t len);
/* Misbehaviour not tied to a frame of its own (replays), each fault tick,
 * also after the faults stop. */
void sim_byz_tick(struct sim *s);
/* Adds a PBFT replica's counters to the seed's result (before its core
 * goes: a crash, the end of the seed). */
void sim_byz_count(struct sim *s, struct snode *nd);
/* Client c's request r as a PBFT frame with its MAC vector. */
void sim_pbft_request(struct sim *s, struct sclient *c,
                      const struct smr_request *r);
/* The client's current request signed (made at the first retransmission). */
const struct smr_buf *sim_pbft_signed(struct sim *s, struct sclient *c);

/* Clients (sim_client.c): a reply frame from replica `from`, and a tick
 * (start, retry or give up, by the clock). */
void sim_client_reply(struct sim *s, struct sclient *c, uint32_t from,
                      const uint8_t *f, size_t len);
void sim_client_tick(struct sim *s, struct sclient *c);

/* Shared helpers (sim.c). */
uint64_t sim_rnd(struct sim *s);
bool sim_chance(struct sim *s, unsigned permille);
void sim_trace(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim_fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sim_net_send_tagged(struct sim *s, uint8_t kind, uint8_t tag,
                         uint32_t from, uint32_t to, uint64_t depart,
                         const uint8_t *data, size_t len);
void sim_net_send(struct sim *s, uint8_t kind, uint32_t from, uint32_t to,
                  uint64_t depart, const uint8_t *data, size_t len);

#endif
