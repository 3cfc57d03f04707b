/*
 * curve.h: authenticated ZeroMQ links between a replica's stream socket and
 * its executor processes (ZMTP CURVE, RFC 26; ZAP, RFC 27).
 *
 * No new key files: the CURVE keys are the Curve25519 forms of the replicas'
 * Ed25519 keys (keys.h), converted with libsodium. Executor i uses replica
 * i's keys, so a replica's ROUTER (CURVE server, its own key) admits only
 * holders of a listed replica's Ed25519 secret.
 *
 * CURVE alone authenticates the server and encrypts; it admits every client
 * that knows the server's public key, which here is public. Clients are
 * checked by a ZAP handler (struct glue_zap) in the server's context: it
 * accepts mechanism "CURVE" in domain GLUE_ZAP_DOMAIN with a listed client
 * key, and names the client by the key's index, which libzmq then attaches
 * to every message from that connection as the "User-Id" property
 * (glue_zap_peer). The handler is a REP socket the replica's one-thread
 * loop polls: libzmq's I/O threads hold each handshake until it answers.
 *
 * Two libzmq 4.3 traps. First, User-Id is trustworthy only on a socket
 * whose handshake went through this handler: on any other socket (plain
 * TCP peers and clients, or a CURVE server whose context has no handler)
 * libzmq fills it from the peer's own handshake metadata, so a hand-written
 * peer can claim any index. Never call glue_zap_peer on such sockets.
 * Second, a CURVE server with no handler bound admits everyone by default;
 * glue_curve_server sets a ZAP domain and ZMQ_ZAP_ENFORCE_DOMAIN so that
 * such handshakes fail instead. Sockets without CURVE and without a ZAP
 * domain never consult the handler.
 */
#ifndef STRATA_GLUE_CURVE_H
#define STRATA_GLUE_CURVE_H

#include <zmq.h>

#include "smr.h"

#define GLUE_CURVE_KEY_BYTES 32
/* The endpoint libzmq sends ZAP requests to, in the server's context. */
#define GLUE_ZAP_ENDPOINT "inproc://zeromq.zap.01"
/* The ZAP domain of every CURVE server socket; the handler refuses others. */
#define GLUE_ZAP_DOMAIN "strata"
/* Requests one glue_zap_serve call answers at most; the rest wait for the
 * next poll. */
#define GLUE_ZAP_SERVE_MAX 64

/* A ZAP handler for one context. Not thread-safe: one thread polls it. */
struct glue_zap;

/* The Curve25519 public key of Ed25519 public key `ed_pk`, into `out`.
 * SMR_OK, or SMR_EINVAL when `ed_pk` is not a valid Ed25519 point (`out`
 * is then unchanged). Both borrowed. */
int glue_curve_public(const uint8_t ed_pk[32], uint8_t out[32]);

/* The Curve25519 key pair of Ed25519 secret key `ed_sk` (libsodium's
 * 64-byte form, seed then public key): `pk` and `sk`. SMR_OK, or SMR_EINVAL
 * when the conversion fails (outputs unchanged). Keep `sk` secret; the
 * caller should sodium_memzero it when done. */
int glue_curve_keypair(const uint8_t ed_sk[64], uint8_t pk[32], uint8_t sk[32]);

/* Makes borrowed socket `sock` a CURVE server with secret key `sk` in ZAP
 * domain GLUE_ZAP_DOMAIN; call before zmq_bind. `zap` (borrowed) is the
 * handler of the socket's context: asking for it makes the order explicit
 * (handler first); it must outlive the socket. Where libzmq accepts
 * ZMQ_ZAP_ENFORCE_DOMAIN (a draft option; 4.3.4 does), handshakes fail
 * while no handler is bound; elsewhere they would pass unauthenticated.
 * SMR_OK, or SMR_EIO when zmq refuses an option (errno as zmq set it). */
int glue_curve_server(void *sock, const uint8_t sk[32],
                      const struct glue_zap *zap);

/* Makes borrowed socket `sock` a CURVE client with key pair `pk`/`sk`,
 * expecting a server with public key `server_pk`; call before zmq_connect.
 * A wrong `server_pk` fails the handshake: nothing is delivered either way.
 * SMR_OK, or SMR_EIO when zmq refuses an option. */
int glue_curve_client(void *sock, const uint8_t pk[32], const uint8_t sk[32],
                      const uint8_t server_pk[32]);

struct glue_config;

/* The CURVE keys of the cluster `c` names (its key directory, or keys_mem):
 * replica `self`'s key pair into `pk`/`sk`, and every replica's public key
 * into `peers[0..c->n_replicas)`. SMR_ECONFIG, SMR_EIO or SMR_ENOMEM with a
 * sentence in `err`. The caller should sodium_memzero `sk` when done. */
int glue_curve_keys_load(const struct glue_config *c, smr_node_id self,
                         uint8_t pk[32], uint8_t sk[32],
                         uint8_t peers[][GLUE_CURVE_KEY_BYTES], char *err,
                         size_t err_len);

/* What a handler has answered since glue_zap_new. */
struct glue_zap_stats {
    uint64_t accepted;  /* answered 200 */
    uint64_t refused;   /* answered 400 or 500 */
    uint64_t malformed; /* of `refused`, those answered 500 */
};

/* Binds a ZAP handler to GLUE_ZAP_ENDPOINT in context `zctx` (borrowed; it
 * must outlive the handler) that accepts CURVE clients whose public key is
 * one of `keys[0..n)` (copied; 1 <= n <= SMR_NODES_MAX), naming each by its
 * index as the decimal User-Id ("2"). Create it before any CURVE server
 * socket in `zctx` binds. On SMR_OK *out owns the handler; SMR_ENOMEM, or
 * SMR_EIO when the endpoint cannot be bound (e.g. a handler already exists
 * in `zctx`), with *out unchanged. */
int glue_zap_new(void *zctx, const uint8_t keys[][32], uint32_t n,
                 struct glue_zap **out);

/* Closes the handler's socket and frees it; *z becomes NULL (no-op for
 * NULL). Close the context's CURVE server sockets first: handshakes after
 * this fail where ZMQ_ZAP_ENFORCE_DOMAIN took, and are admitted without
 * a trustworthy User-Id where it did not (see above). */
void glue_zap_destroy(struct glue_zap **z);

/* The handler's socket, for the caller's zmq_poll (ZMQ_POLLIN); borrowed,
 * valid until glue_zap_destroy. */
void *glue_zap_socket(struct glue_zap *z);

/* Answers every pending request without blocking, at most
 * GLUE_ZAP_SERVE_MAX of them (call again when the socket is still
 * readable). Every request gets a reply, since a REP socket that skips one
 * receives no more: 200 with the key's index as user id for a listed CURVE
 * key in GLUE_ZAP_DOMAIN; 400 for any other well-formed request (another
 * domain or mechanism, an unknown key); 500 for a malformed one (fewer than
 * six frames, a version other than "1.0", CURVE credentials other than one
 * 32-byte frame). Returns the number answered. */
uint32_t glue_zap_serve(struct glue_zap *z);

void glue_zap_stats(const struct glue_zap *z, struct glue_zap_stats *out);

/* The index of the authenticated client that sent `msg` (borrowed; a
 * frame the peer sent, received from a glue_curve_server socket, see
 * above; not the routing-id frame a ROUTER prepends, which has none): its
 * "User-Id" property parsed strictly as a decimal below SMR_NODES_MAX
 * ("0".."15": no sign, space or leading zero). -1 when the property is
 * absent or malformed: drop such messages. */
int glue_zap_peer(zmq_msg_t *msg);

#endif
