/*
 * curve.c: CURVE keys from the replicas' Ed25519 keys, CURVE socket
 * options, and the ZAP handler (curve.h; RFC 26 CurveZMQ, RFC 27 ZAP).
 *
 * The handler reads each request whole (a multipart message arrives whole,
 * so the drain ends), keeps the first ZAP_FRAMES_MAX frames, decides, and
 * always sends a six-frame reply: its REP socket accepts no next request
 * until it has answered this one.
 */
#include "curve.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keys.h"
#include "zmq_util.h"

/* glue_zap_peer parses at most two digits. */
_Static_assert(SMR_NODES_MAX <= 99, "User-Id needs more digits");

/* A draft option in libzmq 4.3 (zmq.h hides it without
 * ZMQ_BUILD_DRAFT_API); libraries that do not know it refuse it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* Request frames (RFC 27): version, request id, domain, address, routing
 * id, mechanism, then the mechanism's credentials (CURVE: one). */
enum {
    ZAP_VERSION,
    ZAP_REQUEST_ID,
    ZAP_DOMAIN,
    ZAP_ADDRESS,
    ZAP_ROUTING_ID,
    ZAP_MECHANISM,
    ZAP_CREDENTIALS,
    ZAP_FRAMES_MAX = 8 /* PLAIN, the widest mechanism, has two credentials */
};

struct glue_zap {
    void *sock; /* REP, bound to GLUE_ZAP_ENDPOINT */
    uint32_t n;
    uint8_t keys[SMR_NODES_MAX][GLUE_CURVE_KEY_BYTES];
    struct glue_zap_stats stats;
};

struct zap_request {
    zmq_msg_t frames[ZAP_FRAMES_MAX];
    uint32_t kept;  /* frames[0..kept) are initialised */
    uint64_t total; /* frames in the request, kept or not */
};

struct zap_verdict {
    const char *status; /* "200", "400" or "500" */
    const char *text;
    char user_id[12]; /* the key's index in decimal, or "" */
};

/* ------------------------------------------------------------------ keys */

int glue_curve_public(const uint8_t ed_pk[32], uint8_t out[32])
{
    uint8_t pk[GLUE_CURVE_KEY_BYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(pk, ed_pk) != 0)
        return SMR_EINVAL;
    memcpy(out, pk, sizeof pk);
    return SMR_OK;
}

int glue_curve_keypair(const uint8_t ed_sk[64], uint8_t pk[32], uint8_t sk[32])
{
    uint8_t my_sk[GLUE_CURVE_KEY_BYTES];
    uint8_t my_pk[GLUE_CURVE_KEY_BYTES];
    int rc = SMR_EINVAL;
    /* The public key comes from the converted secret, not from the copy of
     * the Ed25519 public key inside ed_sk, so the pair always matches. */
    if (crypto_sign_ed25519_sk_to_curve25519(my_sk, ed_sk) == 0 &&
        crypto_scalarmult_base(my_pk, my_sk) == 0) {
        memcpy(pk, my_pk, sizeof my_pk);
        memcpy(sk, my_sk, sizeof my_sk);
        rc = SMR_OK;
    }
    sodium_memzero(my_sk, sizeof my_sk);
    return rc;
}

int glue_curve_keys_load(const struct glue_config *c, smr_node_id self,
                         uint8_t pk[32], uint8_t sk[32],
                         uint8_t peers[][GLUE_CURVE_KEY_BYTES], char *err,
                         size_t err_len)
{
    struct glue_keys *keys = sodium_malloc(sizeof *keys);
    int rc = keys ? glue_keys_load(c, self, false, keys, err, err_len)
                  : glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    for (uint32_t i = 0; rc == SMR_OK && i < c->n_replicas; i++)
        if (glue_curve_public(keys->public_keys[i], peers[i]) != SMR_OK)
            rc = glue_say(SMR_ECONFIG, err, err_len,
                          "keys: replica-%u.pub has no X25519 form", i);
    if (rc == SMR_OK &&
        glue_curve_keypair(keys->secret_keys[self], pk, sk) != SMR_OK)
        rc = glue_say(SMR_ECONFIG, err, err_len,
                      "keys: replica-%u.key has no X25519 form", self);
    if (keys)
        sodium_free(keys); /* zeroes it */
    return rc;
}

/* --------------------------------------------------------------- sockets */

int glue_curve_server(void *sock, const uint8_t sk[32],
                      const struct glue_zap *zap)
{
    assert(sock != NULL && zap != NULL);
    (void)zap; /* only its existence matters */
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sk, GLUE_CURVE_KEY_BYTES) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, GLUE_ZAP_DOMAIN,
                       strlen(GLUE_ZAP_DOMAIN)))
        return SMR_EIO;
    /* With a domain set, this makes a missing handler fail the handshake
     * instead of admitting the client (libzmq 4.3's default). Without a
     * domain it would do the opposite: skip ZAP altogether. A library that
     * does not know the option keeps the default; the handler the caller
     * holds is what authenticates. */
    (void)zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
    return SMR_OK;
}

int glue_curve_client(void *sock, const uint8_t pk[32], const uint8_t sk[32],
                      const uint8_t server_pk[32])
{
    assert(sock != NULL);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pk,
                       GLUE_CURVE_KEY_BYTES) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pk, GLUE_CURVE_KEY_BYTES) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sk, GLUE_CURVE_KEY_BYTES))
        return SMR_EIO;
    return SMR_OK;
}

/* ------------------------------------------------------------- lifecycle */

int glue_zap_new(void *zctx, const uint8_t keys[][32], uint32_t n,
                 struct glue_zap **out)
{
    assert(zctx != NULL && keys != NULL && out != NULL);
    assert(n >= 1 && n <= SMR_NODES_MAX);
    struct glue_zap *z = calloc(1, sizeof *z);
    if (z == NULL)
        return SMR_ENOMEM;
    z->n = n;
    memcpy(z->keys, keys, (size_t)n * GLUE_CURVE_KEY_BYTES);
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (z->sock == NULL)
        goto fail_free;
    if (glue_zsock_harden(z->sock) != SMR_OK ||
        zmq_bind(z->sock, GLUE_ZAP_ENDPOINT) != 0)
        goto fail_close;
    *out = z;
    return SMR_OK;

fail_close:
    zmq_close(z->sock);
fail_free:
    free(z);
    return SMR_EIO;
}

void glue_zap_destroy(struct glue_zap **z)
{
    if (z == NULL || *z == NULL)
        return;
    zmq_close((*z)->sock);
    sodium_memzero(*z, sizeof **z);
    free(*z);
    *z = NULL;
}

void *glue_zap_socket(struct glue_zap *z)
{
    assert(z != NULL);
    return z->sock;
}

void glue_zap_stats(const struct glue_zap *z, struct glue_zap_stats *out)
{
    assert(z != NULL && out != NULL);
    *out = z->stats;
}

/* --------------------------------------------------------------- serving */

static void request_close(struct zap_request *r)
{
    for (uint32_t i = 0; i < r->kept; i++)
        zmq_msg_close(&r->frames[i]);
    r->kept = 0;
}

/* Receives one whole request without blocking. SMR_OK; SMR_ENOTFOUND when
 * none is pending; SMR_EIO when the socket failed (context terminated).
 * On SMR_OK the caller closes `r` with request_close. */
static int request_recv(void *sock, struct zap_request *r)
{
    r->kept = 0;
    r->total = 0;
    bool more = true;
    /* Only the first frame can be missing: the rest of a multipart message
     * is queued with it, so DONTWAIT never waits and the loop ends. */
    while (more) {
        zmq_msg_t scratch;
        bool keep = r->kept < ZAP_FRAMES_MAX;
        zmq_msg_t *m = keep ? &r->frames[r->kept] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            bool none = r->total == 0 && zmq_errno() == EAGAIN;
            zmq_msg_close(m);
            request_close(r);
            return none ? SMR_ENOTFOUND : SMR_EIO;
        }
        more = zmq_msg_more(m);
        if (keep)
            r->kept++;
        else
            zmq_msg_close(m);
        r->total++;
    }
    return SMR_OK;
}

static bool frame_is(zmq_msg_t *m, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), text, len) == 0;
}

static void verdict_set(struct zap_verdict *v, const char *status,
                        const char *text)
{
    v->status = status;
    v->text = text;
    v->user_id[0] = '\0';
}

/* Decides a request; the bytes are libzmq's, but a bug or another user of
 * the endpoint could send anything, so every field is checked. */
static void request_decide(const struct glue_zap *z, struct zap_request *r,
                           struct zap_verdict *v)
{
    if (r->total <= ZAP_MECHANISM) {
        verdict_set(v, "500", "malformed request: too few frames");
    } else if (!frame_is(&r->frames[ZAP_VERSION], "1.0")) {
        verdict_set(v, "500", "unsupported ZAP version");
    } else if (!frame_is(&r->frames[ZAP_DOMAIN], GLUE_ZAP_DOMAIN)) {
        verdict_set(v, "400", "unknown domain");
    } else if (!frame_is(&r->frames[ZAP_MECHANISM], "CURVE")) {
        verdict_set(v, "400", "mechanism not allowed");
    } else if (r->total != ZAP_CREDENTIALS + 1 ||
               zmq_msg_size(&r->frames[ZAP_CREDENTIALS]) !=
                   GLUE_CURVE_KEY_BYTES) {
        verdict_set(v, "500", "malformed CURVE credentials");
    } else {
        verdict_set(v, "400", "unknown client key");
        const uint8_t *key = zmq_msg_data(&r->frames[ZAP_CREDENTIALS]);
        for (uint32_t j = 0; j < z->n; j++) {
            if (sodium_memcmp(key, z->keys[j], GLUE_CURVE_KEY_BYTES) == 0) {
                verdict_set(v, "200", "OK");
                snprintf(v->user_id, sizeof v->user_id, "%u", j);
                break;
            }
        }
    }
}

/* Sends the six-frame reply, echoing the request id (empty when the
 * request had none). A REP socket's sends do not block: its router drops a
 * reply whose requester is gone or full. SMR_OK, or SMR_EIO when the
 * socket itself failed (context terminated). */
static int reply_send(void *sock, struct zap_request *r,
                      const struct zap_verdict *v)
{
    const int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    const void *id = "";
    size_t id_len = 0;
    if (r->kept > ZAP_REQUEST_ID) {
        id = zmq_msg_data(&r->frames[ZAP_REQUEST_ID]);
        id_len = zmq_msg_size(&r->frames[ZAP_REQUEST_ID]);
    }
    if (zmq_send(sock, "1.0", 3, more) < 0 ||
        zmq_send(sock, id, id_len, more) < 0 ||
        zmq_send(sock, v->status, 3, more) < 0 ||
        zmq_send(sock, v->text, strlen(v->text), more) < 0 ||
        zmq_send(sock, v->user_id, strlen(v->user_id), more) < 0 ||
        zmq_send(sock, "", 0, ZMQ_DONTWAIT) < 0) /* metadata: none */
        return SMR_EIO;
    return SMR_OK;
}

static void stats_count(struct glue_zap_stats *s, const char *status)
{
    if (strcmp(status, "200") == 0) {
        s->accepted++;
        return;
    }
    s->refused++;
    if (strcmp(status, "500") == 0)
        s->malformed++;
}

uint32_t glue_zap_serve(struct glue_zap *z)
{
    assert(z != NULL);
    uint32_t answered = 0;
    while (answered < GLUE_ZAP_SERVE_MAX) {
        struct zap_request r;
        if (request_recv(z->sock, &r) != SMR_OK)
            break;
        struct zap_verdict v;
        request_decide(z, &r, &v);
        int rc = reply_send(z->sock, &r, &v);
        request_close(&r);
        if (rc != SMR_OK)
            break;
        stats_count(&z->stats, v.status);
        answered++;
    }
    return answered;
}

/* ------------------------------------------------------------------ peer */

int glue_zap_peer(zmq_msg_t *msg)
{
    assert(msg != NULL);
    const char *id = zmq_msg_gets(msg, "User-Id");
    if (id == NULL)
        return -1;
    /* Strictly "0".."15": digits only, no sign, no leading zero, and short
     * enough that the value cannot overflow. */
    size_t len = strnlen(id, 3);
    if (len == 0 || len > 2 || (len == 2 && id[0] == '0'))
        return -1;
    int value = 0;
    for (size_t i = 0; i < len; i++) {
        if (id[i] < '0' || id[i] > '9')
            return -1;
        value = value * 10 + (id[i] - '0');
    }
    return value < SMR_NODES_MAX ? value : -1;
}
