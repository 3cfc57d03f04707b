/*
 * session.c: the client session table and the engine state framing
 * (session.h).
 *
 * Approach: sessions live in a chained hash table by client id (seeded
 * SipHash: client ids come from clients) for lookups, in a binary min-heap
 * by (last_seen_ms, client_id) for expiry, and in an incremental set hash
 * over BLAKE2b('S' || client_id || last_req_id || last_seen_ms ||
 * reply_len || reply) for the digest. Only the digest, the sorted snapshot
 * and the exact set of expired sessions reach outputs; none depends on
 * table or heap layout.
 */
#include "session.h"

#include "exe_util.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_DIGEST_DOMAIN "strata.sessions.v1"
#define SESSION_ELEM_TAG 'S'
#define SESSION_BYTES_MIN 28u /* three u64 and an empty reply */

struct session {
    struct exe_htab_node node; /* first: a node pointer is a session */
    smr_client_id client_id;
    smr_req_id last_req_id;
    uint64_t last_seen_ms;
    uint8_t *reply;
    uint32_t reply_len;
    uint32_t reply_cap;
    size_t heap_index;
    uint8_t elem[SMR_DIGEST_BYTES]; /* this session's set-hash element */
};

struct exe_sessions {
    struct exe_htab table;
    struct session **heap; /* min-heap by (last_seen_ms, client_id) */
    size_t heap_len;       /* equals table.count */
    size_t heap_cap;
    struct exe_sethash set;
    uint64_t ttl_ms;
    uint8_t seed[EXE_HASH_SEED_BYTES];
};

static struct session *session_of(struct exe_htab_node *n)
{
    return (struct session *)n;
}

static void session_free(struct exe_htab_node *n)
{
    struct session *sess = session_of(n);
    free(sess->reply);
    free(sess);
}

static void session_elem(struct session *sess)
{
    crypto_generichash_state st;
    uint8_t header[1 + 8 + 8 + 8 + 4];
    uint8_t *p = header;
    *p++ = SESSION_ELEM_TAG;
    p = exe_write_u64(p, sess->client_id);
    p = exe_write_u64(p, sess->last_req_id);
    p = exe_write_u64(p, sess->last_seen_ms);
    exe_write_u32(p, sess->reply_len);
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, header, sizeof header);
    if (sess->reply_len)
        crypto_generichash_update(&st, sess->reply, sess->reply_len);
    crypto_generichash_final(&st, sess->elem, SMR_DIGEST_BYTES);
}

static uint64_t client_hash(const struct exe_sessions *s, smr_client_id id)
{
    uint8_t b[8];
    smr_put_u64(b, id);
    return exe_keyed_hash(s->seed, b, sizeof b);
}

static struct session *find(const struct exe_sessions *s, smr_client_id id)
{
    uint64_t h = client_hash(s, id);
    struct exe_htab_node *n = exe_htab_bucket(&s->table, h);
    for (; n; n = n->next)
        if (n->hash == h && session_of(n)->client_id == id)
            return session_of(n);
    return NULL;
}

/* ---- expiry heap ------------------------------------------------------ */

static bool heap_less(const struct session *a, const struct session *b)
{
    if (a->last_seen_ms != b->last_seen_ms)
        return a->last_seen_ms < b->last_seen_ms;
    return a->client_id < b->client_id;
}

static void heap_put(struct exe_sessions *s, size_t i, struct session *sess)
{
    s->heap[i] = sess;
    sess->heap_index = i;
}

static void sift_up(struct exe_sessions *s, size_t i)
{
    struct session *sess = s->heap[i];
    while (i > 0 && heap_less(sess, s->heap[(i - 1) / 2])) {
        heap_put(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_put(s, i, sess);
}

static void sift_down(struct exe_sessions *s, size_t i)
{
    struct session *sess = s->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->heap_len)
            break;
        if (c + 1 < s->heap_len && heap_less(s->heap[c + 1], s->heap[c]))
            c++;
        if (!heap_less(s->heap[c], sess))
            break;
        heap_put(s, i, s->heap[c]);
        i = c;
    }
    heap_put(s, i, sess);
}

/* Restores heap order after sess->last_seen_ms moved either way. */
static void heap_fix(struct exe_sessions *s, struct session *sess)
{
    sift_up(s, sess->heap_index);
    sift_down(s, sess->heap_index);
}

static int heap_reserve(struct exe_sessions *s, size_t need)
{
    if (need <= s->heap_cap)
        return SMR_OK;
    size_t cap = s->heap_cap ? s->heap_cap : 16;
    while (cap < need)
        cap *= 2;
    struct session **h = realloc(s->heap, cap * sizeof *h);
    if (!h)
        return SMR_ENOMEM;
    s->heap = h;
    s->heap_cap = cap;
    return SMR_OK;
}

static void heap_push(struct exe_sessions *s, struct session *sess)
{
    assert(s->heap_len < s->heap_cap);
    heap_put(s, s->heap_len++, sess);
    sift_up(s, sess->heap_index);
}

static void heap_remove(struct exe_sessions *s, struct session *sess)
{
    size_t i = sess->heap_index;
    struct session *last = s->heap[--s->heap_len];
    if (last == sess)
        return;
    heap_put(s, i, last);
    heap_fix(s, last);
}

/* ---- the table -------------------------------------------------------- */

int exe_sessions_new(uint64_t ttl_ms, struct exe_sessions **out)
{
    assert(out);
    struct exe_sessions *s = calloc(1, sizeof *s);
    if (!s)
        return SMR_ENOMEM;
    int rc = exe_hash_seed(s->seed);
    if (rc == SMR_OK)
        rc = exe_htab_init(&s->table, 0);
    if (rc) {
        free(s);
        return rc;
    }
    exe_sethash_init(&s->set);
    s->ttl_ms = ttl_ms;
    *out = s;
    return SMR_OK;
}

void exe_sessions_destroy(struct exe_sessions **s)
{
    if (!s || !*s)
        return;
    exe_htab_drain(&(*s)->table, session_free);
    exe_htab_free(&(*s)->table);
    free((*s)->heap);
    free(*s);
    *s = NULL;
}

/* Applies a change to a session's hashed fields: out of the set, change,
 * back in, and back into heap order. */
static void session_update(struct exe_sessions *s, struct session *sess,
                           smr_req_id req_id, uint64_t now_ms)
{
    exe_sethash_remove(&s->set, sess->elem);
    sess->last_req_id = req_id;
    sess->last_seen_ms = now_ms;
    session_elem(sess);
    exe_sethash_add(&s->set, sess->elem);
    heap_fix(s, sess);
}

enum exe_session_verdict exe_sessions_admit(struct exe_sessions *s,
                                            smr_client_id client_id,
                                            smr_req_id req_id, uint64_t now_ms,
                                            const uint8_t **reply,
                                            uint32_t *reply_len)
{
    struct session *sess = find(s, client_id);
    if (!sess || req_id > sess->last_req_id)
        return EXE_SESSION_NEW;
    if (req_id < sess->last_req_id)
        return EXE_SESSION_STALE;
    if (smr_mutant == SMR_MUTANT_SKIP_SESSION_DEDUPE)
        return EXE_SESSION_NEW; /* deliberate bug: re-apply the retry */
    if (sess->last_seen_ms != now_ms)
        session_update(s, sess, req_id, now_ms);
    *reply = sess->reply;
    *reply_len = sess->reply_len;
    return EXE_SESSION_RETRY;
}

/* Copies the reply in; keeps the buffer unless too small or far too big.
 * SMR_ENOMEM leaves the session unchanged. */
static int set_reply(struct session *sess, const uint8_t *reply, uint32_t len)
{
    if (len > sess->reply_cap || sess->reply_cap / 2 > len + 64) {
        uint8_t *p = len ? malloc(len) : NULL;
        if (len && !p)
            return SMR_ENOMEM;
        free(sess->reply);
        sess->reply = p;
        sess->reply_cap = len;
    }
    if (len)
        memcpy(sess->reply, reply, len);
    sess->reply_len = len;
    return SMR_OK;
}

static int insert(struct exe_sessions *s, smr_client_id client_id,
                  smr_req_id req_id, uint64_t now_ms, const uint8_t *reply,
                  uint32_t reply_len)
{
    int rc = heap_reserve(s, s->heap_len + 1);
    if (rc)
        return rc;
    struct session *sess = calloc(1, sizeof *sess);
    if (!sess)
        return SMR_ENOMEM;
    if (set_reply(sess, reply, reply_len) != SMR_OK) {
        free(sess);
        return SMR_ENOMEM;
    }
    sess->client_id = client_id;
    sess->last_req_id = req_id;
    sess->last_seen_ms = now_ms;
    sess->node.hash = client_hash(s, client_id);
    session_elem(sess);
    exe_htab_insert(&s->table, &sess->node);
    heap_push(s, sess);
    exe_sethash_add(&s->set, sess->elem);
    return SMR_OK;
}

int exe_sessions_record(struct exe_sessions *s, smr_client_id client_id,
                        smr_req_id req_id, uint64_t now_ms,
                        const uint8_t *reply, uint32_t reply_len)
{
    assert(s && (reply || reply_len == 0));
    if (reply_len > EXE_REPLY_BYTES_MAX)
        return SMR_ETOOBIG;
    struct session *sess = find(s, client_id);
    if (!sess)
        return insert(s, client_id, req_id, now_ms, reply, reply_len);
    /* Only NEW requests are recorded (the skip-session-dedupe mutant
     * records a retry on purpose). */
    assert(req_id > sess->last_req_id ||
           smr_mutant == SMR_MUTANT_SKIP_SESSION_DEDUPE);
    int rc = set_reply(sess, reply, reply_len);
    if (rc)
        return rc;
    session_update(s, sess, req_id, now_ms);
    return SMR_OK;
}

static void remove_session(struct exe_sessions *s, struct session *sess)
{
    exe_htab_remove(&s->table, &sess->node);
    heap_remove(s, sess);
    exe_sethash_remove(&s->set, sess->elem);
    session_free(&sess->node);
}

static bool expired(const struct exe_sessions *s, const struct session *sess,
                    uint64_t now_ms)
{
    /* last_seen + ttl < now, without overflow */
    return now_ms > sess->last_seen_ms &&
           now_ms - sess->last_seen_ms > s->ttl_ms;
}

size_t exe_sessions_expire(struct exe_sessions *s, uint64_t now_ms)
{
    size_t removed = 0;
    if (s->ttl_ms == 0)
        return 0;
    while (s->heap_len > 0 && expired(s, s->heap[0], now_ms)) {
        remove_session(s, s->heap[0]);
        removed++;
    }
    return removed;
}

size_t exe_sessions_count(const struct exe_sessions *s)
{
    return s->table.count;
}

bool exe_sessions_oldest_ms(const struct exe_sessions *s, uint64_t *ms)
{
    if (s->heap_len == 0)
        return false;
    *ms = s->heap[0]->last_seen_ms;
    return true;
}

void exe_sessions_digest(const struct exe_sessions *s,
                         uint8_t out[SMR_DIGEST_BYTES])
{
    exe_sethash_final(&s->set, SESSIONS_DIGEST_DOMAIN, out);
}

/* ---- sessions snapshot and restore ------------------------------------ */

static int client_cmp(const void *pa, const void *pb)
{
    const struct session *a = session_of(*(struct exe_htab_node *const *)pa);
    const struct session *b = session_of(*(struct exe_htab_node *const *)pb);
    return (a->client_id > b->client_id) - (a->client_id < b->client_id);
}

static void sessions_write(struct exe_htab_node **sorted, size_t n, uint8_t *p)
{
    p = exe_write_u64(p, n);
    for (size_t i = 0; i < n; i++) {
        const struct session *sess = session_of(sorted[i]);
        p = exe_write_u64(p, sess->client_id);
        p = exe_write_u64(p, sess->last_req_id);
        p = exe_write_u64(p, sess->last_seen_ms);
        p = exe_write_u32(p, sess->reply_len);
        p = exe_write_bytes(p, sess->reply, sess->reply_len);
    }
}

int exe_sessions_snapshot(const struct exe_sessions *s, struct smr_buf *out)
{
    size_t n = s->table.count;
    struct exe_htab_node **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return SMR_ENOMEM;
    exe_htab_collect(&s->table, sorted);
    qsort(sorted, n, sizeof *sorted, client_cmp);
    size_t total = 8;
    for (size_t i = 0; i < n; i++)
        total += SESSION_BYTES_MIN + session_of(sorted[i])->reply_len;
    int rc = smr_buf_reserve(out, total);
    if (rc == SMR_OK) {
        sessions_write(sorted, n, out->data + out->len);
        out->len += total;
    }
    free(sorted);
    return rc;
}

static int restore_one(struct exe_sessions *s, struct exe_reader *r, bool first,
                       smr_client_id *prev)
{
    uint64_t client_id, req_id, last_seen_ms;
    const uint8_t *reply;
    uint32_t reply_len;
    if (!exe_read_u64(r, &client_id) || !exe_read_u64(r, &req_id) ||
        !exe_read_u64(r, &last_seen_ms) ||
        !exe_read_field(r, EXE_REPLY_BYTES_MAX, &reply, &reply_len))
        return SMR_ECORRUPT;
    if (!first && client_id <= *prev)
        return SMR_ECORRUPT; /* unsorted or duplicate: not canonical */
    *prev = client_id;
    return insert(s, client_id, req_id, last_seen_ms, reply, reply_len);
}

int exe_sessions_restore(uint64_t ttl_ms, const uint8_t *data, size_t len,
                         struct exe_sessions **out)
{
    struct exe_reader r = exe_reader_make(data, len);
    struct exe_sessions *s = NULL;
    uint64_t count;
    smr_client_id prev = 0;
    if (!exe_read_u64(&r, &count) || count > r.left / SESSION_BYTES_MIN)
        return SMR_ECORRUPT;
    int rc = exe_sessions_new(ttl_ms, &s);
    if (rc)
        return rc;
    /* count is bounded by the input, and so are these two arrays. */
    exe_htab_free(&s->table);
    rc = exe_htab_init(&s->table, (size_t)count);
    if (rc == SMR_OK)
        rc = heap_reserve(s, (size_t)count);
    for (uint64_t i = 0; rc == SMR_OK && i < count; i++)
        rc = restore_one(s, &r, i == 0, &prev);
    if (rc == SMR_OK && r.left != 0)
        rc = SMR_ECORRUPT;
    if (rc) {
        exe_sessions_destroy(&s);
        return rc;
    }
    *out = s;
    return SMR_OK;
}

/* ---- engine state framing --------------------------------------------- */

#define STATE_MAGIC 0x45584553u /* "SEXE" little-endian */
#define STATE_VERSION 2u
#define STATE_HEADER_BYTES (4 + 4 + 8 + 8 + 8)
#define STATE_DIGEST_DOMAIN "strata.exe.v2"

int exe_state_snapshot(struct exe_app *app, const struct exe_sessions *s,
                       smr_seq executed_seq, uint64_t log_time_ms,
                       struct smr_buf *out)
{
    size_t old_len = out->len;
    int rc = smr_buf_reserve(out, STATE_HEADER_BYTES);
    if (rc)
        return rc;
    uint8_t *p = out->data + out->len;
    p = exe_write_u32(p, STATE_MAGIC);
    p = exe_write_u32(p, STATE_VERSION);
    p = exe_write_u64(p, executed_seq);
    p = exe_write_u64(p, log_time_ms);
    out->len += STATE_HEADER_BYTES; /* sessions_bytes patched below */
    rc = exe_sessions_snapshot(s, out);
    if (rc == SMR_OK) {
        size_t sessions_bytes = out->len - old_len - STATE_HEADER_BYTES;
        smr_put_u64(out->data + old_len + STATE_HEADER_BYTES - 8,
                    sessions_bytes);
        rc = app->ops->snapshot(app, out);
    }
    if (rc)
        out->len = old_len;
    return rc;
}

smr_seq exe_snapshot_seq(const uint8_t *data, size_t len)
{
    struct exe_reader r = exe_reader_make(data, len);
    uint32_t magic, version;
    uint64_t seq;
    if (!exe_read_u32(&r, &magic) || magic != STATE_MAGIC ||
        !exe_read_u32(&r, &version) || !exe_read_u64(&r, &seq))
        return 0;
    return seq;
}

int exe_state_restore(struct exe_app *app, uint64_t ttl_ms, const uint8_t *data,
                      size_t len, struct exe_sessions **sessions,
                      smr_seq *executed_seq, uint64_t *log_time_ms)
{
    struct exe_reader r = exe_reader_make(data, len);
    uint32_t magic, version;
    uint64_t seq, clock = 0, sessions_bytes;
    const uint8_t *section;
    struct exe_sessions *fresh;
    if (!exe_read_u32(&r, &magic) || magic != STATE_MAGIC ||
        !exe_read_u32(&r, &version))
        return SMR_ECORRUPT;
    if (version != STATE_VERSION && version != 1)
        return SMR_EVERSION;
    if (!exe_read_u64(&r, &seq) ||
        (version >= 2 && !exe_read_u64(&r, &clock)) ||
        !exe_read_u64(&r, &sessions_bytes) || sessions_bytes > r.left ||
        !exe_read_bytes(&r, (size_t)sessions_bytes, &section))
        return SMR_ECORRUPT;
    int rc =
        exe_sessions_restore(ttl_ms, section, (size_t)sessions_bytes, &fresh);
    if (rc)
        return rc;
    rc = app->ops->restore(app, r.p, r.left); /* atomic: the last step */
    if (rc) {
        exe_sessions_destroy(&fresh);
        return rc;
    }
    *sessions = fresh;
    *executed_seq = seq;
    *log_time_ms = clock;
    return SMR_OK;
}

void exe_state_digest(struct exe_app *app, const struct exe_sessions *s,
                      smr_seq executed_seq, uint64_t log_time_ms,
                      uint8_t out[SMR_DIGEST_BYTES])
{
    crypto_generichash_state st;
    uint8_t head[16], app_digest[SMR_DIGEST_BYTES], sess[SMR_DIGEST_BYTES];
    smr_put_u64(head, executed_seq);
    smr_put_u64(head + 8, log_time_ms);
    app->ops->digest(app, app_digest);
    exe_sessions_digest(s, sess);
    crypto_generichash_init(&st, NULL, 0, SMR_DIGEST_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)STATE_DIGEST_DOMAIN,
                              strlen(STATE_DIGEST_DOMAIN));
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, app_digest, sizeof app_digest);
    crypto_generichash_update(&st, sess, sizeof sess);
    crypto_generichash_final(&st, out, SMR_DIGEST_BYTES);
}
