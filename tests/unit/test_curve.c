/*
 * test_curve.c: Check suite for glue/curve.c (CURVE keys from Ed25519 keys,
 * CURVE sockets, and the ZAP handler).
 *
 * A "replica" context holds the ZAP handler and a CURVE ROUTER on
 * 127.0.0.1 (an ephemeral port) with replica 0's key; "executors" connect
 * from a separate context, as separate processes would. The keys come from
 * fixed seeds. Every wait polls the handler and the router together, as the
 * replica's loop will, against a deadline. The handler is also fed
 * malformed requests straight from a REQ socket on its inproc endpoint,
 * and a hand-written ZMTP peer shows what the User-Id property is worth on
 * a socket that no ZAP handshake guards.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "zmq_util.h"

#define REPLICAS 3
#define ENDPOINT_BYTES 64
#define DELIVER_MS 5000 /* ample for a loopback handshake */
#define QUIET_MS 300    /* how long "nothing gets through" is watched */
#define POLL_MS 10

struct fixture {
    uint8_t ed_pk[REPLICAS][crypto_sign_PUBLICKEYBYTES];
    uint8_t ed_sk[REPLICAS][crypto_sign_SECRETKEYBYTES];
    uint8_t pk[REPLICAS][GLUE_CURVE_KEY_BYTES];
    uint8_t sk[REPLICAS][GLUE_CURVE_KEY_BYTES];
    void *ctx;        /* the replica's */
    void *client_ctx; /* the executors' */
    struct glue_zap *zap;
    void *router; /* CURVE server, replica 0's key */
    char endpoint[ENDPOINT_BYTES];
};

static struct fixture f;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void seed_keypair(uint8_t seed_byte, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, seed_byte, sizeof seed);
    ck_assert_int_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static void bind_local(void *sock, char endpoint[ENDPOINT_BYTES])
{
    ck_assert_int_eq(zmq_bind(sock, "tcp://127.0.0.1:*"), 0);
    size_t len = ENDPOINT_BYTES;
    ck_assert_int_eq(zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len),
                     0);
}

static void setup(void)
{
    ck_assert_msg(zmq_has("curve"),
                  "libzmq was built without CURVE (no libsodium/tweetnacl): "
                  "executor links cannot be authenticated");
    ck_assert_int_ge(sodium_init(), 0);
    memset(&f, 0, sizeof f);
    for (uint8_t i = 0; i < REPLICAS; i++) {
        seed_keypair((uint8_t)(i + 1), f.ed_pk[i], f.ed_sk[i]);
        ck_assert_int_eq(glue_curve_keypair(f.ed_sk[i], f.pk[i], f.sk[i]),
                         SMR_OK);
    }
    f.ctx = zmq_ctx_new();
    f.client_ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(f.ctx);
    ck_assert_ptr_nonnull(f.client_ctx);
    ck_assert_int_eq(
        glue_zap_new(f.ctx, (const uint8_t(*)[32])f.pk, REPLICAS, &f.zap),
        SMR_OK);
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    ck_assert_ptr_nonnull(f.router);
    ck_assert_int_eq(glue_zsock_harden(f.router), SMR_OK);
    ck_assert_int_eq(glue_curve_server(f.router, f.sk[0], f.zap), SMR_OK);
    bind_local(f.router, f.endpoint);
}

static void teardown(void)
{
    if (f.router)
        zmq_close(f.router);
    glue_zap_destroy(&f.zap);
    zmq_ctx_term(f.client_ctx);
    zmq_ctx_term(f.ctx);
}

/* A DEALER in the executors' context. `pk`/`sk` NULL: no CURVE. */
static void *client_new(const char *endpoint, const uint8_t *pk,
                        const uint8_t *sk, const uint8_t *server_pk)
{
    void *s = zmq_socket(f.client_ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(glue_zsock_harden(s), SMR_OK);
    if (pk != NULL)
        ck_assert_int_eq(glue_curve_client(s, pk, sk, server_pk), SMR_OK);
    ck_assert_int_eq(zmq_connect(s, endpoint), 0);
    return s;
}

/* Polls the handler (when `zap` is set) and `router` until a message
 * arrives at `router` or `wait_ms` pass, answering ZAP requests meanwhile.
 * On true, `id` holds the routing id and `body` the one body frame; both
 * initialised, for the caller to close. */
static bool pump(struct glue_zap *zap, void *router, uint64_t wait_ms,
                 zmq_msg_t *id, zmq_msg_t *body)
{
    uint64_t deadline = now_ms() + wait_ms;
    while (now_ms() < deadline) {
        zmq_pollitem_t items[2] = {{router, 0, ZMQ_POLLIN, 0}};
        int n = 1;
        if (zap != NULL)
            items[n++] =
                (zmq_pollitem_t){glue_zap_socket(zap), 0, ZMQ_POLLIN, 0};
        ck_assert_int_ge(zmq_poll(items, n, POLL_MS), 0);
        if (n == 2 && (items[1].revents & ZMQ_POLLIN))
            glue_zap_serve(zap);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_init(id);
        zmq_msg_init(body);
        ck_assert_int_ge(zmq_msg_recv(id, router, 0), 0);
        ck_assert(zmq_msg_more(id));
        ck_assert_int_ge(zmq_msg_recv(body, router, 0), 0);
        ck_assert(!zmq_msg_more(body));
        return true;
    }
    return false;
}

static struct glue_zap_stats stats(void)
{
    struct glue_zap_stats s;
    glue_zap_stats(f.zap, &s);
    return s;
}

/* ------------------------------------------------------------------ keys */

START_TEST(test_keys_match)
{
    for (int i = 0; i < REPLICAS; i++) {
        uint8_t from_public[GLUE_CURVE_KEY_BYTES];
        ck_assert_int_eq(glue_curve_public(f.ed_pk[i], from_public), SMR_OK);
        ck_assert_mem_eq(from_public, f.pk[i], GLUE_CURVE_KEY_BYTES);
        for (int j = 0; j < i; j++)
            ck_assert(memcmp(f.pk[i], f.pk[j], GLUE_CURVE_KEY_BYTES) != 0);
    }
    /* The pairs agree on Diffie-Hellman: they are real Curve25519 pairs. */
    uint8_t k01[crypto_box_BEFORENMBYTES], k10[crypto_box_BEFORENMBYTES];
    ck_assert_int_eq(crypto_box_beforenm(k01, f.pk[1], f.sk[0]), 0);
    ck_assert_int_eq(crypto_box_beforenm(k10, f.pk[0], f.sk[1]), 0);
    ck_assert_mem_eq(k01, k10, sizeof k01);
    /* The same seed gives the same keys (no randomness). */
    uint8_t again_pk[GLUE_CURVE_KEY_BYTES], again_sk[GLUE_CURVE_KEY_BYTES];
    ck_assert_int_eq(glue_curve_keypair(f.ed_sk[2], again_pk, again_sk),
                     SMR_OK);
    ck_assert_mem_eq(again_pk, f.pk[2], GLUE_CURVE_KEY_BYTES);
    ck_assert_mem_eq(again_sk, f.sk[2], GLUE_CURVE_KEY_BYTES);
}
END_TEST

START_TEST(test_bad_public_key_refused)
{
    uint8_t identity[32] = {1}; /* the neutral point: small order */
    uint8_t out[GLUE_CURVE_KEY_BYTES];
    memset(out, 0xa5, sizeof out);
    ck_assert_int_eq(glue_curve_public(identity, out), SMR_EINVAL);
    for (size_t i = 0; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0xa5);
}
END_TEST

/* One handler per context: the endpoint is the context's. */
START_TEST(test_second_handler_refused)
{
    struct glue_zap *again = NULL;
    ck_assert_int_eq(glue_zap_new(f.ctx, (const uint8_t(*)[32])f.pk, 1, &again),
                     SMR_EIO);
    ck_assert_ptr_null(again);
}
END_TEST

/* --------------------------------------------------------------- clients */

START_TEST(test_listed_client_named)
{
    void *c = client_new(f.endpoint, f.pk[1], f.sk[1], f.pk[0]);
    ck_assert_int_eq(zmq_send(c, "hello", 5, 0), 5);
    zmq_msg_t id, body;
    ck_assert_msg(pump(f.zap, f.router, DELIVER_MS, &id, &body),
                  "nothing arrived from a listed client");
    ck_assert_uint_eq(zmq_msg_size(&body), 5);
    ck_assert_mem_eq(zmq_msg_data(&body), "hello", 5);
    ck_assert_int_eq(glue_zap_peer(&body), 1);
    /* The routing id a ROUTER prepends is made locally: no properties. */
    ck_assert_int_eq(glue_zap_peer(&id), -1);
    ck_assert_uint_eq(stats().accepted, 1);
    ck_assert_uint_eq(stats().refused, 0);

    /* And back, encrypted the other way. */
    ck_assert_int_ge(zmq_msg_send(&id, f.router, ZMQ_SNDMORE), 0);
    ck_assert_int_eq(zmq_send(f.router, "ack", 3, 0), 3);
    zmq_pollitem_t item = {c, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&item, 1, DELIVER_MS), 1);
    char buf[8];
    ck_assert_int_eq(zmq_recv(c, buf, sizeof buf, 0), 3);
    ck_assert_mem_eq(buf, "ack", 3);
    zmq_msg_close(&body);
    zmq_close(c);
}
END_TEST

/* A client with a key nobody listed: the handler refuses it and its
 * message never arrives. */
START_TEST(test_unknown_client_refused)
{
    uint8_t ed_pk[32], ed_sk[64], pk[32], sk[32];
    seed_keypair(99, ed_pk, ed_sk);
    ck_assert_int_eq(glue_curve_keypair(ed_sk, pk, sk), SMR_OK);
    void *c = client_new(f.endpoint, pk, sk, f.pk[0]);
    ck_assert_int_eq(zmq_send(c, "let me in", 9, 0), 9);

    zmq_msg_t id, body;
    uint64_t deadline = now_ms() + DELIVER_MS;
    while (stats().refused == 0 && now_ms() < deadline)
        ck_assert(!pump(f.zap, f.router, POLL_MS, &id, &body));
    ck_assert_msg(stats().refused >= 1, "the handler was never asked");
    ck_assert(!pump(f.zap, f.router, QUIET_MS, &id, &body));
    ck_assert_uint_eq(stats().accepted, 0);
    ck_assert_uint_eq(stats().malformed, 0);
    zmq_close(c);
}
END_TEST

/* A listed client that expects another server key: the server cannot open
 * its HELLO, so the handshake dies before ZAP is asked. */
START_TEST(test_wrong_server_key)
{
    void *c = client_new(f.endpoint, f.pk[1], f.sk[1], f.pk[2]);
    ck_assert_int_eq(zmq_send(c, "hello", 5, 0), 5);
    zmq_msg_t id, body;
    ck_assert(!pump(f.zap, f.router, QUIET_MS, &id, &body));
    ck_assert_uint_eq(stats().accepted, 0);
    ck_assert_uint_eq(stats().refused, 0);
    zmq_close(c);
}
END_TEST

/* A plain ROUTER and DEALER (no CURVE, no ZAP domain), like the peer and
 * client sockets, in the context that holds the handler: ZAP is never
 * asked, the message passes, and it carries no User-Id. */
START_TEST(test_plain_socket_unaffected)
{
    void *plain = zmq_socket(f.ctx, ZMQ_ROUTER);
    ck_assert_ptr_nonnull(plain);
    char endpoint[ENDPOINT_BYTES];
    bind_local(plain, endpoint);
    void *c = client_new(endpoint, NULL, NULL, NULL);
    ck_assert_int_eq(zmq_send(c, "plain", 5, 0), 5);
    zmq_msg_t id, body;
    ck_assert_msg(pump(f.zap, plain, DELIVER_MS, &id, &body),
                  "a plain socket stopped working beside the handler");
    ck_assert_mem_eq(zmq_msg_data(&body), "plain", 5);
    ck_assert_int_eq(glue_zap_peer(&body), -1);
    ck_assert_uint_eq(stats().accepted + stats().refused, 0);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    zmq_close(c);
    zmq_close(plain);
}
END_TEST

/* With the handler gone, ZMQ_ZAP_ENFORCE_DOMAIN (set by glue_curve_server
 * where libzmq accepts it) fails the handshake instead of letting the
 * client in unauthenticated. */
START_TEST(test_no_handler_no_entry)
{
    glue_zap_destroy(&f.zap);
    void *c = client_new(f.endpoint, f.pk[1], f.sk[1], f.pk[0]);
    ck_assert_int_eq(zmq_send(c, "hello", 5, 0), 5);
    zmq_msg_t id, body;
    bool got = pump(NULL, f.router, QUIET_MS, &id, &body);
    ck_assert_msg(!got, "a CURVE client got in with no handler (User-Id %d)",
                  got ? glue_zap_peer(&body) : -2);
    zmq_close(c);
}
END_TEST

/* ----------------------------------------------- a hand-written ZMTP peer */

/* Reads exactly `len` bytes from `fd` within DELIVER_MS. */
static void read_exact(int fd, uint8_t *buf, size_t len)
{
    uint64_t deadline = now_ms() + DELIVER_MS;
    size_t got = 0;
    while (got < len) {
        ck_assert_msg(now_ms() < deadline, "the server's handshake stalled");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, POLL_MS) <= 0)
            continue;
        ssize_t n = read(fd, buf + got, len - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Appends a ZMTP metadata property (name-size, name, 4-byte value-size,
 * value) at `at`; returns the new end. */
static size_t put_property(uint8_t *buf, size_t at, const char *name,
                           const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    ck_assert_uint_lt(at + 1 + nl + 4 + vl, 200);
    buf[at++] = (uint8_t)nl;
    memcpy(buf + at, name, nl);
    at += nl;
    uint32_t be = htonl((uint32_t)vl);
    memcpy(buf + at, &be, 4);
    at += 4;
    memcpy(buf + at, value, vl);
    return at + vl;
}

/* Connects to a plain tcp://127.0.0.1:port endpoint and speaks ZMTP 3.0
 * NULL by hand: a greeting and a READY whose metadata claims "User-Id" =
 * `user_id`; then, after the server's greeting and READY (libzmq refuses
 * messages before its own READY has gone out), one message "spoof".
 * Returns the file descriptor. */
static int zmtp_spoof(const char *endpoint, const char *user_id)
{
    const char *colon = strrchr(endpoint, ':');
    ck_assert_ptr_nonnull(colon);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(colon + 1)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);

    /* Signature, version 3.0, mechanism "NULL"; the rest of the 64 bytes
     * (as-server, filler) zero. */
    uint8_t out[256] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                        0,    0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    const size_t greeting = 64;
    size_t r = greeting + 2; /* after the command's flags and size */
    out[r++] = 5;
    memcpy(out + r, "READY", 5);
    r += 5;
    r = put_property(out, r, "Socket-Type", "DEALER");
    r = put_property(out, r, "User-Id", user_id);
    out[greeting] = 0x04; /* a short command */
    out[greeting + 1] = (uint8_t)(r - greeting - 2);
    write_all(fd, out, r);

    uint8_t in[256];
    read_exact(fd, in, greeting + 2);
    ck_assert_uint_eq(in[greeting], 0x04);
    read_exact(fd, in, in[greeting + 1]);
    ck_assert_mem_eq(in, "\x05READY", 6);

    const uint8_t msg[] = {0x00, 5, 's', 'p', 'o', 'o', 'f'}; /* short, last */
    write_all(fd, msg, sizeof msg);
    return fd;
}

static const struct {
    const char *user_id;
    int peer;
} spoofs[] = {
    {"0", 0}, {"15", 15}, {"16", -1}, {"01", -1},          {"1a", -1},
    {"", -1}, {"-1", -1}, {"+1", -1}, {"99999999999", -1}, {" 1", -1},
};

/* On a socket no ZAP handshake guards, the User-Id property is whatever
 * the peer's handshake metadata says (libzmq fills it from ZMTP properties
 * when ZAP set none). So glue_zap_peer means something only on CURVE
 * sockets whose context has a glue_zap. This also exercises its parser. */
START_TEST(test_user_id_from_unguarded_peer)
{
    void *plain = zmq_socket(f.ctx, ZMQ_ROUTER);
    ck_assert_ptr_nonnull(plain);
    char endpoint[ENDPOINT_BYTES];
    bind_local(plain, endpoint);
    int fd = zmtp_spoof(endpoint, spoofs[_i].user_id);
    zmq_msg_t id, body;
    ck_assert_msg(pump(f.zap, plain, DELIVER_MS, &id, &body),
                  "the hand-written peer was not accepted");
    ck_assert_mem_eq(zmq_msg_data(&body), "spoof", 5);
    const char *claimed = zmq_msg_gets(&body, "User-Id");
    ck_assert_ptr_nonnull(claimed);
    ck_assert_str_eq(claimed, spoofs[_i].user_id);
    ck_assert_int_eq(glue_zap_peer(&body), spoofs[_i].peer);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    close(fd);
    zmq_close(plain);
}
END_TEST

/* ----------------------------------------------------- malformed requests */

#define ASK_FRAMES_MAX 8

/* Marks a frame that carries a key (see struct ask). */
static const char KEY[] = "";

/* One request for the handler: `count` frames, the first ones from
 * `frames` (unlisted ones empty; KEY: `key_bytes` bytes, 32 when 0, of
 * replica `key_of`'s key, or of a key nobody listed when -1), and the reply
 * expected. */
struct ask {
    const char *name;
    uint32_t count;
    const char *frames[ASK_FRAMES_MAX];
    size_t key_bytes;
    int key_of;
    const char *status;
    const char *user_id;
};

#define HEAD "1.0", "7", GLUE_ZAP_DOMAIN, "127.0.0.1", ""

static const struct ask asks[] = {
    {"one frame", 1, {"1.0"}, 0, 0, "500", ""},
    {"two frames", 2, {"1.0", "7"}, 0, 0, "500", ""},
    {"empty frames", 7, {""}, 0, 0, "500", ""},
    {"wrong version",
     7,
     {"2.0", "7", GLUE_ZAP_DOMAIN, "", "", "CURVE", KEY},
     0,
     1,
     "500",
     ""},
    {"other domain",
     7,
     {"1.0", "7", "global", "", "", "CURVE", KEY},
     0,
     1,
     "400",
     ""},
    {"no domain", 7, {"1.0", "7", "", "", "", "CURVE", KEY}, 0, 1, "400", ""},
    {"31-byte key", 7, {HEAD, "CURVE", KEY}, 31, 1, "500", ""},
    {"33-byte key", 7, {HEAD, "CURVE", KEY}, 33, 1, "500", ""},
    {"no key", 6, {HEAD, "CURVE"}, 0, 0, "500", ""},
    {"two keys", 8, {HEAD, "CURVE", KEY, KEY}, 0, 1, "500", ""},
    {"twenty frames", 20, {HEAD, "CURVE", KEY}, 0, 1, "500", ""},
    {"NULL mechanism", 6, {HEAD, "NULL"}, 0, 0, "400", ""},
    {"PLAIN mechanism", 8, {HEAD, "PLAIN", "user", "pass"}, 0, 0, "400", ""},
    {"unknown key", 7, {HEAD, "CURVE", KEY}, 0, -1, "400", ""},
    {"lower-case curve", 7, {HEAD, "curve", KEY}, 0, 1, "400", ""},
    {"listed key", 7, {HEAD, "CURVE", KEY}, 0, 2, "200", "2"},
};

static void ask_send(void *req, const struct ask *a)
{
    uint8_t key[64];
    size_t key_bytes = a->key_bytes ? a->key_bytes : GLUE_CURVE_KEY_BYTES;
    memset(key, 0x5a, sizeof key);
    if (a->key_of >= 0)
        memcpy(key, f.pk[a->key_of], GLUE_CURVE_KEY_BYTES);
    for (uint32_t i = 0; i < a->count; i++) {
        int flags = i + 1 < a->count ? ZMQ_SNDMORE : 0;
        const char *s = i < ASK_FRAMES_MAX ? a->frames[i] : NULL;
        int rc;
        if (s == KEY)
            rc = zmq_send(req, key, key_bytes, flags);
        else if (s == NULL)
            rc = zmq_send(req, "", 0, flags);
        else
            rc = zmq_send(req, s, strlen(s), flags);
        ck_assert_int_ge(rc, 0);
    }
}

START_TEST(test_malformed_requests)
{
    const struct ask *a = &asks[_i];
    void *req = zmq_socket(f.ctx, ZMQ_REQ);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(glue_zsock_harden(req), SMR_OK);
    ck_assert_int_eq(zmq_connect(req, GLUE_ZAP_ENDPOINT), 0);
    /* Twice, so a reply that left the REP socket wedged would show. */
    for (int round = 0; round < 2; round++) {
        ask_send(req, a);
        zmq_pollitem_t zi = {glue_zap_socket(f.zap), 0, ZMQ_POLLIN, 0};
        ck_assert_int_eq(zmq_poll(&zi, 1, DELIVER_MS), 1);
        ck_assert_uint_eq(glue_zap_serve(f.zap), 1);
        zmq_pollitem_t ri = {req, 0, ZMQ_POLLIN, 0};
        ck_assert_msg(zmq_poll(&ri, 1, DELIVER_MS) == 1, "%s: no reply",
                      a->name);
        char frames[6][64];
        int lens[6];
        for (int i = 0; i < 6; i++) {
            lens[i] = zmq_recv(req, frames[i], sizeof frames[i] - 1, 0);
            ck_assert_int_ge(lens[i], 0);
            frames[i][lens[i]] = '\0';
            int more = 0;
            size_t ml = sizeof more;
            zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml);
            ck_assert_msg(more == (i < 5), "%s: reply frame %d", a->name, i);
        }
        ck_assert_str_eq(frames[0], "1.0");
        ck_assert_str_eq(frames[1],
                         a->count > 1 && a->frames[1] ? a->frames[1] : "");
        ck_assert_msg(strcmp(frames[2], a->status) == 0, "%s: status %s (%s)",
                      a->name, frames[2], frames[3]);
        ck_assert_str_eq(frames[4], a->user_id);
        ck_assert_int_eq(lens[5], 0);
    }
    bool ok = strcmp(a->status, "200") == 0;
    ck_assert_uint_eq(stats().accepted, ok ? 2 : 0);
    ck_assert_uint_eq(stats().refused, ok ? 0 : 2);
    ck_assert_uint_eq(stats().malformed, strcmp(a->status, "500") ? 0 : 2);
    zmq_close(req);
}
END_TEST

/* More requests than one serve call answers: the rest wait, none is lost. */
START_TEST(test_serve_bounded)
{
    enum { REQS = GLUE_ZAP_SERVE_MAX + 6 };
    void *reqs[REQS];
    for (int i = 0; i < REQS; i++) {
        reqs[i] = zmq_socket(f.ctx, ZMQ_REQ);
        ck_assert_int_eq(glue_zsock_harden(reqs[i]), SMR_OK);
        ck_assert_int_eq(zmq_connect(reqs[i], GLUE_ZAP_ENDPOINT), 0);
        ask_send(reqs[i], &asks[0]);
    }
    uint32_t first = glue_zap_serve(f.zap);
    ck_assert_uint_eq(first, GLUE_ZAP_SERVE_MAX);
    uint32_t total = first;
    uint64_t deadline = now_ms() + DELIVER_MS;
    while (total < REQS && now_ms() < deadline)
        total += glue_zap_serve(f.zap);
    ck_assert_uint_eq(total, REQS);
    for (int i = 0; i < REQS; i++) {
        zmq_pollitem_t ri = {reqs[i], 0, ZMQ_POLLIN, 0};
        ck_assert_int_eq(zmq_poll(&ri, 1, DELIVER_MS), 1);
        zmq_close(reqs[i]);
    }
}
END_TEST

static Suite *curve_suite(void)
{
    Suite *s = suite_create("curve");
    TCase *k = tcase_create("keys");
    tcase_add_checked_fixture(k, setup, teardown);
    tcase_add_test(k, test_keys_match);
    tcase_add_test(k, test_bad_public_key_refused);
    tcase_add_test(k, test_second_handler_refused);
    suite_add_tcase(s, k);

    TCase *c = tcase_create("clients");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, test_listed_client_named);
    tcase_add_test(c, test_unknown_client_refused);
    tcase_add_test(c, test_wrong_server_key);
    tcase_add_test(c, test_plain_socket_unaffected);
    tcase_add_test(c, test_no_handler_no_entry);
    tcase_add_loop_test(c, test_user_id_from_unguarded_peer, 0,
                        sizeof spoofs / sizeof spoofs[0]);
    suite_add_tcase(s, c);

    TCase *z = tcase_create("zap");
    tcase_add_checked_fixture(z, setup, teardown);
    tcase_add_loop_test(z, test_malformed_requests, 0,
                        sizeof asks / sizeof asks[0]);
    tcase_add_test(z, test_serve_bounded);
    suite_add_tcase(s, z);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(curve_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
