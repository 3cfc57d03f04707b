/*
 * keys.c: PBFT key files (keys.h): generation, enrolment, loading, and the
 * mapping from the glue config to the PBFT core's.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_BYTES 256

static void file_name(char *out, size_t size, const char *dir, const char *fmt,
                      uint32_t i)
{
    char base[64];
    snprintf(base, sizeof base, fmt, i);
    snprintf(out, size, "%s/%s", dir, base);
}

/* ---------------------------------------------------------------- writing */

/* Writes `text` to a new file (never over an existing one). */
static int write_new(const char *path, const char *text, mode_t mode, char *err,
                     size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return glue_say(SMR_EIO, err, err_len, "%s: cannot create: %s", path,
                        strerror(errno));
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0)
        ok = false;
    if (!ok)
        return glue_say(SMR_EIO, err, err_len, "%s: cannot write: %s", path,
                        strerror(saved));
    return SMR_OK;
}

static void hex_line(char *out, size_t size, const uint8_t *bin, size_t len)
{
    size_t at = strlen(out);
    if (at + 2 * len + 2 > size)
        return;
    sodium_bin2hex(out + at, size - at, bin, len);
    strcat(out, "\n");
}

/* A block's signing key pair, derived from the CA's secret (so enrolling
 * a block twice gives the same key) and certified by the CA. */
static void block_signing_key(const struct glue_keys *k, uint32_t block,
                              uint8_t sk[ORD_PBFT_SECRET_KEY_BYTES],
                              uint8_t cert[ORD_PBFT_SIG_BYTES])
{
    uint8_t seed[crypto_sign_SEEDBYTES], pk[ORD_PBFT_PUBLIC_KEY_BYTES];
    uint8_t msg[20] = "strata-block";
    smr_put_u32(msg + 16, block);
    crypto_generichash(seed, sizeof seed, msg, sizeof msg, k->client_ca_secret,
                       crypto_generichash_KEYBYTES_MAX);
    crypto_sign_seed_keypair(pk, sk, seed);
    ord_pbft_client_cert(k->client_ca_secret, block, pk, cert);
    sodium_memzero(seed, sizeof seed);
}

/* The credential of client block `block`, from the replicas' client key
 * roots and the client CA's secret in `k`. */
static int write_credential(const char *path, const struct glue_keys *k,
                            uint32_t n, uint32_t block, char *err,
                            size_t err_len)
{
    char text[32 + (SMR_NODES_MAX + 2) * (2 * ORD_PBFT_SECRET_KEY_BYTES + 1)];
    snprintf(text, sizeof text, "block %u\n", block);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t key[ORD_PBFT_KEY_BYTES];
        ord_pbft_client_block_key(k->client_roots[i], block, key);
        hex_line(text, sizeof text, key, sizeof key);
        sodium_memzero(key, sizeof key);
    }
    uint8_t sk[ORD_PBFT_SECRET_KEY_BYTES], cert[ORD_PBFT_SIG_BYTES];
    block_signing_key(k, block, sk, cert);
    hex_line(text, sizeof text, sk, sizeof sk);
    hex_line(text, sizeof text, cert, sizeof cert);
    sodium_memzero(sk, sizeof sk);
    int rc = write_new(path, text, 0600, err, err_len);
    sodium_memzero(text, sizeof text);
    return rc;
}

int glue_keys_generate(const char *dir, uint32_t n, uint32_t client_block,
                       char *err, size_t err_len)
{
    if (n < 1 || n > SMR_NODES_MAX)
        return glue_say(SMR_ECONFIG, err, err_len,
                        "replicas: must be 1 to %d, got %u", SMR_NODES_MAX, n);
    if (client_block < 1)
        return glue_say(SMR_ECONFIG, err, err_len,
                        "client block: must be at least 1 (block 0 is unused)");
    if (sodium_init() < 0)
        return glue_say(SMR_EIO, err, err_len,
                        "libsodium failed to initialize");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return glue_say(SMR_EIO, err, err_len, "%s: cannot create: %s", dir,
                        strerror(errno));
    struct glue_keys *k = sodium_malloc(sizeof *k);
    if (!k)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    int rc = SMR_OK;
    char path[GLUE_PATH_BYTES_MAX + 64];
    for (uint32_t i = 0; i < n && rc == SMR_OK; i++) {
        char text[LINE_BYTES * 2] = "";
        crypto_sign_keypair(k->public_keys[i], k->secret_keys[i]);
        randombytes_buf(k->client_roots[i], ORD_PBFT_KEY_BYTES);
        hex_line(text, sizeof text, k->public_keys[i],
                 ORD_PBFT_PUBLIC_KEY_BYTES);
        file_name(path, sizeof path, dir, "replica-%u.pub", i);
        rc = write_new(path, text, 0644, err, err_len);
        text[0] = '\0';
        hex_line(text, sizeof text, k->secret_keys[i],
                 ORD_PBFT_SECRET_KEY_BYTES);
        hex_line(text, sizeof text, k->client_roots[i], ORD_PBFT_KEY_BYTES);
        file_name(path, sizeof path, dir, "replica-%u.key", i);
        if (rc == SMR_OK)
            rc = write_new(path, text, 0600, err, err_len);
        sodium_memzero(text, sizeof text);
    }
    if (rc == SMR_OK) {
        char text[LINE_BYTES] = "";
        crypto_sign_keypair(k->client_ca_public, k->client_ca_secret);
        hex_line(text, sizeof text, k->client_ca_public,
                 ORD_PBFT_PUBLIC_KEY_BYTES);
        snprintf(path, sizeof path, "%s/clients.pub", dir);
        rc = write_new(path, text, 0644, err, err_len);
        text[0] = '\0';
        hex_line(text, sizeof text, k->client_ca_secret,
                 ORD_PBFT_SECRET_KEY_BYTES);
        snprintf(path, sizeof path, "%s/clients.key", dir);
        if (rc == SMR_OK)
            rc = write_new(path, text, 0600, err, err_len);
        sodium_memzero(text, sizeof text);
    }
    if (rc == SMR_OK) {
        snprintf(path, sizeof path, "%s/client.cred", dir);
        rc = write_credential(path, k, n, client_block, err, err_len);
    }
    sodium_free(k);
    return rc;
}

/* ---------------------------------------------------------------- reading */

struct reader {
    FILE *f;
    const char *path;
    unsigned line;
};

/* Reads the next line as exactly `len` bytes of hex. */
static int read_hex(struct reader *r, uint8_t *out, size_t len, char *err,
                    size_t err_len)
{
    char line[LINE_BYTES];
    r->line++;
    if (!fgets(line, sizeof line, r->f))
        return glue_say(SMR_ECONFIG, err, err_len, "%s: line %u: missing",
                        r->path, r->line);
    line[strcspn(line, "\r\n")] = '\0';
    size_t got = 0;
    const char *end = NULL;
    if (strlen(line) != 2 * len ||
        sodium_hex2bin(out, len, line, strlen(line), NULL, &got, &end) != 0 ||
        got != len || *end != '\0') {
        sodium_memzero(line, sizeof line);
        return glue_say(SMR_ECONFIG, err, err_len,
                        "%s: line %u: expected %zu hex digits", r->path,
                        r->line, 2 * len);
    }
    sodium_memzero(line, sizeof line);
    return SMR_OK;
}

static int open_reader(struct reader *r, const char *path, char *err,
                       size_t err_len)
{
    r->path = path;
    r->line = 0;
    r->f = fopen(path, "re");
    if (!r->f)
        return glue_say(SMR_EIO, err, err_len,
                        "%s: cannot open: %s (write keys with `strata keygen`)",
                        path, strerror(errno));
    return SMR_OK;
}

static int close_reader(struct reader *r, int rc, char *err, size_t err_len)
{
    char extra[8];
    if (rc == SMR_OK && fgets(extra, sizeof extra, r->f))
        rc = glue_say(SMR_ECONFIG, err, err_len, "%s: line %u: unexpected text",
                      r->path, r->line + 1);
    fclose(r->f);
    return rc;
}

static int read_file_hex(const char *path, uint8_t *a, size_t a_len, uint8_t *b,
                         size_t b_len, char *err, size_t err_len)
{
    struct reader r;
    int rc = open_reader(&r, path, err, err_len);
    if (rc != SMR_OK)
        return rc;
    rc = read_hex(&r, a, a_len, err, err_len);
    if (rc == SMR_OK && b)
        rc = read_hex(&r, b, b_len, err, err_len);
    return close_reader(&r, rc, err, err_len);
}

static int read_credential(const char *path, uint32_t n, struct glue_keys *k,
                           char *err, size_t err_len)
{
    struct reader r;
    int rc = open_reader(&r, path, err, err_len);
    if (rc != SMR_OK)
        return rc;
    char line[LINE_BYTES];
    unsigned block = 0;
    char tail;
    r.line++;
    if (!fgets(line, sizeof line, r.f) ||
        sscanf(line, "block %u %c", &block, &tail) != 1 || block == 0)
        rc = glue_say(SMR_ECONFIG, err, err_len,
                      "%s: line 1: expected \"block <n>\" with n at least 1",
                      path);
    k->client_block = block;
    for (uint32_t i = 0; i < n && rc == SMR_OK; i++)
        rc = read_hex(&r, k->client_block_keys[i], ORD_PBFT_KEY_BYTES, err,
                      err_len);
    if (rc == SMR_OK)
        rc = read_hex(&r, k->client_sign_key, ORD_PBFT_SECRET_KEY_BYTES, err,
                      err_len);
    if (rc == SMR_OK)
        rc = read_hex(&r, k->client_cert, ORD_PBFT_SIG_BYTES, err, err_len);
    return close_reader(&r, rc, err, err_len);
}

static int read_roots(const char *dir, uint32_t n, struct glue_keys *k,
                      char *err, size_t err_len)
{
    char path[GLUE_PATH_BYTES_MAX + 64];
    int rc = SMR_OK;
    for (uint32_t i = 0; i < n && rc == SMR_OK; i++) {
        file_name(path, sizeof path, dir, "replica-%u.key", i);
        rc =
            read_file_hex(path, k->secret_keys[i], ORD_PBFT_SECRET_KEY_BYTES,
                          k->client_roots[i], ORD_PBFT_KEY_BYTES, err, err_len);
    }
    return rc;
}

int glue_keys_enroll(const char *dir, uint32_t n, uint32_t block,
                     const char *out_path, char *err, size_t err_len)
{
    if (n < 1 || n > SMR_NODES_MAX || block < 1)
        return glue_say(
            SMR_ECONFIG, err, err_len,
            "enrol: replicas must be 1 to %d and the block at least 1",
            SMR_NODES_MAX);
    if (sodium_init() < 0)
        return glue_say(SMR_EIO, err, err_len,
                        "libsodium failed to initialize");
    struct glue_keys *k = sodium_malloc(sizeof *k);
    if (!k)
        return glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    char path[GLUE_PATH_BYTES_MAX + 64];
    snprintf(path, sizeof path, "%s/clients.key", dir);
    int rc = read_roots(dir, n, k, err, err_len);
    if (rc == SMR_OK)
        rc = read_file_hex(path, k->client_ca_secret, ORD_PBFT_SECRET_KEY_BYTES,
                           NULL, 0, err, err_len);
    if (rc == SMR_OK)
        rc = write_credential(out_path, k, n, block, err, err_len);
    sodium_free(k);
    return rc;
}

int glue_keys_load(const struct glue_config *c, smr_node_id self, bool client,
                   struct glue_keys *out, char *err, size_t err_len)
{
    if (c->keys_mem) {
        *out = *c->keys_mem;
        return SMR_OK;
    }
    if (sodium_init() < 0)
        return glue_say(SMR_EIO, err, err_len,
                        "libsodium failed to initialize");
    if (!c->keys_dir[0])
        return glue_say(
            SMR_ECONFIG, err, err_len,
            "keys: required when protocol is %s (a directory written "
            "by `strata keygen`)",
            c->protocol);
    memset(out, 0, sizeof *out);
    out->n = c->n_replicas;
    char path[GLUE_PATH_BYTES_MAX + 64];
    int rc = SMR_OK;
    for (uint32_t i = 0; i < c->n_replicas && rc == SMR_OK; i++) {
        file_name(path, sizeof path, c->keys_dir, "replica-%u.pub", i);
        rc = read_file_hex(path, out->public_keys[i], ORD_PBFT_PUBLIC_KEY_BYTES,
                           NULL, 0, err, err_len);
    }
    if (rc == SMR_OK && self < c->n_replicas) {
        snprintf(path, sizeof path, "%s/clients.pub", c->keys_dir);
        rc = read_file_hex(path, out->client_ca_public,
                           ORD_PBFT_PUBLIC_KEY_BYTES, NULL, 0, err, err_len);
    }
    if (rc == SMR_OK && self < c->n_replicas) {
        file_name(path, sizeof path, c->keys_dir, "replica-%u.key", self);
        rc = read_file_hex(path, out->secret_keys[self],
                           ORD_PBFT_SECRET_KEY_BYTES, out->client_roots[self],
                           ORD_PBFT_KEY_BYTES, err, err_len);
    }
    if (rc == SMR_OK && client) {
        snprintf(path, sizeof path, "%s/client.cred", c->keys_dir);
        rc = read_credential(path, c->n_replicas, out, err, err_len);
    }
    if (rc != SMR_OK)
        sodium_memzero(out, sizeof *out);
    return rc;
}

void glue_keys_derive(uint64_t seed, uint32_t n, uint32_t client_block,
                      struct glue_keys *out)
{
    if (sodium_init() < 0)
        abort(); /* libsodium cannot work on this machine */
    memset(out, 0, sizeof *out);
    out->n = n;
    out->client_block = client_block;
    for (uint32_t i = 0; i < n && i < SMR_NODES_MAX; i++) {
        uint8_t s[crypto_sign_SEEDBYTES] = {0};
        smr_put_u64(s, seed);
        smr_put_u32(s + 8, i);
        memcpy(s + 12, "strata-test-keys", 16);
        crypto_sign_seed_keypair(out->public_keys[i], out->secret_keys[i], s);
        crypto_generichash(out->client_roots[i], ORD_PBFT_KEY_BYTES, s,
                           sizeof s, NULL, 0);
        ord_pbft_client_block_key(out->client_roots[i], client_block,
                                  out->client_block_keys[i]);
    }
    uint8_t s[crypto_sign_SEEDBYTES] = "strata-test-client-ca";
    smr_put_u64(s + 24, seed);
    crypto_sign_seed_keypair(out->client_ca_public, out->client_ca_secret, s);
    block_signing_key(out, client_block, out->client_sign_key,
                      out->client_cert);
}

/* ------------------------------------------------------ the core's config */

void glue_config_pbft(const struct glue_config *c, smr_node_id self,
                      const struct glue_keys *k, struct ord_pbft_config *out)
{
    ord_pbft_config_defaults(out);
    out->self = self;
    out->n_replicas = c->n_replicas;
    out->cluster_id = c->cluster_id;
    out->view_timeout_ms = c->election_timeout_ms;
    out->status_ms = c->heartbeat_ms;
    out->batch_max = c->batch_max;
    out->window = c->window;
    /* One NEW-VIEW carries a window of batches: keep it within the core's
     * 8 MiB bound rather than refuse the shared default of 1 MiB. */
    uint32_t fit =
        (uint32_t)((SMR_FRAME_BYTES_MAX / 2) / (out->window ? out->window : 1));
    out->batch_bytes_max = c->batch_bytes_max < fit ? c->batch_bytes_max : fit;
    if (out->pending_max < out->batch_max)
        out->pending_max = out->batch_max;
    out->state_transfer = glue_config_state_transfer(c);
    out->log_retain = c->log_retain;
    if (!k)
        return;
    memcpy(out->public_keys, k->public_keys, sizeof out->public_keys);
    if (self < SMR_NODES_MAX) {
        memcpy(out->secret_key, k->secret_keys[self], sizeof out->secret_key);
        memcpy(out->client_key_root, k->client_roots[self],
               sizeof out->client_key_root);
    }
    memcpy(out->client_ca_key, k->client_ca_public, sizeof out->client_ca_key);
}
