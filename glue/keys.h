/*
 * keys.h: PBFT key material (docs/pbft.md "Keys"), in files that
 * `strata keygen` writes and the replicas and clients read.
 *
 * A key directory holds, for a cluster of n replicas:
 *
 *   replica-<i>.pub    replica i's Ed25519 public key (64 hex digits); every
 *                      replica and client reads all of them
 *   replica-<i>.key    replica i's secrets, mode 0600: its Ed25519 secret
 *                      key (128 hex digits) and its client key root (64)
 *   clients.pub        the client CA's Ed25519 public key (64 hex digits);
 *                      every replica reads it
 *   clients.key        the client CA's secret key, mode 0600 (128 hex
 *                      digits); only enrolment reads it
 *   client.cred        a client credential, mode 0600: "block <b>", then
 *                      for each replica i that replica's key for client
 *                      block b (ord_pbft_client_block_key), 64 hex digits;
 *                      then the block's Ed25519 signing secret key (128)
 *                      and the CA's certificate of it (128), with which
 *                      the client signs its retransmissions
 *
 * A client enrolled with a credential for block b uses client ids whose
 * high 32 bits are b (pbft.h), so it cannot speak for another block's ids.
 * Each file is one value per line; anything else is refused with a
 * sentence naming the file and the line.
 */
#ifndef STRATA_GLUE_KEYS_H
#define STRATA_GLUE_KEYS_H

#include "config.h"
#include "pbft.h"

/* Everything a cluster's keys can hold. A replica loads the public keys
 * and its own secrets; a client the public keys and its credential. Tests
 * and the simulator fill every field in memory (glue_keys_derive). */
struct glue_keys {
    uint32_t n;
    uint8_t public_keys[SMR_NODES_MAX][ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t secret_keys[SMR_NODES_MAX][ORD_PBFT_SECRET_KEY_BYTES];
    uint8_t client_roots[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    uint8_t client_ca_public[ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t client_ca_secret[ORD_PBFT_SECRET_KEY_BYTES]; /* enrolment only */
    uint32_t client_block;
    uint8_t client_block_keys[SMR_NODES_MAX][ORD_PBFT_KEY_BYTES];
    uint8_t client_sign_key[ORD_PBFT_SECRET_KEY_BYTES]; /* the block's */
    uint8_t client_cert[ORD_PBFT_SIG_BYTES];
};

/* Writes a fresh key directory for `n` replicas (created if missing; files
 * already there are refused rather than overwritten) and one client
 * credential for block `client_block` (at least 1). SMR_EIO or
 * SMR_ECONFIG with a sentence in `err`. */
int glue_keys_generate(const char *dir, uint32_t n, uint32_t client_block,
                       char *err, size_t err_len);

/* Writes `out_path`, a credential for client block `block`, from the
 * replicas' secrets in `dir` (the operator enrolling a client). */
int glue_keys_enroll(const char *dir, uint32_t n, uint32_t block,
                     const char *out_path, char *err, size_t err_len);

/* Loads the public keys of c->n_replicas replicas from c->keys_dir and, for
 * `self` < n, that replica's secrets (self = SMR_NODES_MAX: none); with
 * `client` the credential too. When c->keys_mem is set it is copied
 * instead (no files). SMR_ECONFIG / SMR_EIO with a sentence. */
int glue_keys_load(const struct glue_config *c, smr_node_id self, bool client,
                   struct glue_keys *out, char *err, size_t err_len);

/* Fills every field deterministically from `seed` (the simulator, tests):
 * the same seed gives the same keys. */
void glue_keys_derive(uint64_t seed, uint32_t n, uint32_t client_block,
                      struct glue_keys *out);

/* A PBFT core config for replica `self` from the glue config and keys
 * (defaults, timeouts, batch bounds; docs/configuration.md "PBFT"). */
void glue_config_pbft(const struct glue_config *c, smr_node_id self,
                      const struct glue_keys *k, struct ord_pbft_config *out);

#endif
