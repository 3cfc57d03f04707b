/*
 * test_exe_kv.c: the built-in KV app (execution/kv.c): every op and reply,
 * hostile commands, history-independent digests, canonical snapshots,
 * restore of corrupt snapshots, conflict keys.
 */
#include "exe.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct exe_app *new_app(void)
{
    struct exe_app *app = NULL;
    ck_assert_int_eq(exe_kv_app_new(&app), SMR_OK);
    ck_assert_ptr_nonnull(app);
    return app;
}

/* Applies raw command bytes; returns the status byte, reply in `reply`. */
static int apply_raw(struct exe_app *app, const uint8_t *op, uint32_t len,
                     struct smr_buf *reply)
{
    smr_buf_reset(reply);
    ck_assert_int_eq(app->ops->apply(app, op, len, 1, 0, reply), SMR_OK);
    ck_assert_uint_ge(reply->len, 1);
    return reply->data[0];
}

static int apply_op(struct exe_app *app, enum exe_kv_opcode opc,
                    const char *key, const char *expect, const char *value,
                    struct smr_buf *reply)
{
    struct smr_buf op;
    smr_buf_init(&op);
    ck_assert_int_eq(exe_kv_encode(&op, opc, key, (uint32_t)strlen(key), expect,
                                   expect ? strlen(expect) : 0, value,
                                   value ? strlen(value) : 0),
                     SMR_OK);
    int status = apply_raw(app, op.data, (uint32_t)op.len, reply);
    smr_buf_free(&op);
    return status;
}

static int put(struct exe_app *app, const char *k, const char *v)
{
    struct smr_buf r;
    smr_buf_init(&r);
    int s = apply_op(app, EXE_KV_PUT, k, NULL, v, &r);
    ck_assert_uint_eq(r.len, 1);
    smr_buf_free(&r);
    return s;
}

static int del(struct exe_app *app, const char *k)
{
    struct smr_buf r;
    smr_buf_init(&r);
    int s = apply_op(app, EXE_KV_DEL, k, NULL, NULL, &r);
    ck_assert_uint_eq(r.len, 1);
    smr_buf_free(&r);
    return s;
}

static int cas(struct exe_app *app, const char *k, const char *e, const char *v)
{
    struct smr_buf r;
    smr_buf_init(&r);
    int s = apply_op(app, EXE_KV_CAS, k, e, v, &r);
    ck_assert_uint_eq(r.len, 1);
    smr_buf_free(&r);
    return s;
}

/* Asserts get(k) == v (v NULL: absent). */
static void expect_get(struct exe_app *app, const char *k, const char *v)
{
    struct smr_buf r;
    smr_buf_init(&r);
    int s = apply_op(app, EXE_KV_GET, k, NULL, NULL, &r);
    if (!v) {
        ck_assert_int_eq(s, EXE_KV_NOT_FOUND);
        ck_assert_uint_eq(r.len, 1);
    } else {
        ck_assert_int_eq(s, EXE_KV_OK);
        ck_assert_uint_eq(r.len, 1 + strlen(v));
        ck_assert(memcmp(r.data + 1, v, strlen(v)) == 0);
    }
    smr_buf_free(&r);
}

static void digest_of(struct exe_app *app, uint8_t d[SMR_DIGEST_BYTES])
{
    app->ops->digest(app, d);
}

static void snapshot_of(struct exe_app *app, struct smr_buf *out)
{
    smr_buf_reset(out);
    ck_assert_int_eq(app->ops->snapshot(app, out), SMR_OK);
}

static void assert_same_state(struct exe_app *a, struct exe_app *b)
{
    uint8_t da[SMR_DIGEST_BYTES], db[SMR_DIGEST_BYTES];
    struct smr_buf sa, sb;
    digest_of(a, da);
    digest_of(b, db);
    ck_assert(memcmp(da, db, sizeof da) == 0);
    smr_buf_init(&sa);
    smr_buf_init(&sb);
    snapshot_of(a, &sa);
    snapshot_of(b, &sb);
    ck_assert_uint_eq(sa.len, sb.len);
    ck_assert(memcmp(sa.data, sb.data, sa.len) == 0);
    smr_buf_free(&sa);
    smr_buf_free(&sb);
}

static void assert_different_digest(struct exe_app *a, struct exe_app *b)
{
    uint8_t da[SMR_DIGEST_BYTES], db[SMR_DIGEST_BYTES];
    digest_of(a, da);
    digest_of(b, db);
    ck_assert(memcmp(da, db, sizeof da) != 0);
}

/* ---- ops and replies -------------------------------------------------- */

START_TEST(test_get_put_del)
{
    struct exe_app *app = new_app();
    expect_get(app, "k", NULL);
    ck_assert_int_eq(put(app, "k", "v1"), EXE_KV_OK);
    expect_get(app, "k", "v1");
    ck_assert_int_eq(put(app, "k", "value two"), EXE_KV_OK);
    expect_get(app, "k", "value two");
    ck_assert_int_eq(del(app, "k"), EXE_KV_OK);
    expect_get(app, "k", NULL);
    ck_assert_int_eq(del(app, "k"), EXE_KV_NOT_FOUND);
    exe_app_destroy(&app);
    ck_assert_ptr_null(app);
}
END_TEST

START_TEST(test_empty_key_and_value)
{
    struct exe_app *app = new_app();
    ck_assert_int_eq(put(app, "", ""), EXE_KV_OK);
    expect_get(app, "", "");
    ck_assert_int_eq(put(app, "x", ""), EXE_KV_OK);
    expect_get(app, "x", "");
    ck_assert_int_eq(cas(app, "x", "", "now"), EXE_KV_OK);
    expect_get(app, "x", "now");
    exe_app_destroy(&app);
}
END_TEST

START_TEST(test_cas)
{
    struct exe_app *app = new_app();
    /* absent key never matches, not even the empty expectation */
    ck_assert_int_eq(cas(app, "k", "", "v"), EXE_KV_CAS_MISMATCH);
    ck_assert_int_eq(cas(app, "k", "x", "v"), EXE_KV_CAS_MISMATCH);
    expect_get(app, "k", NULL);
    put(app, "k", "old");
    ck_assert_int_eq(cas(app, "k", "ol", "v"), EXE_KV_CAS_MISMATCH);
    ck_assert_int_eq(cas(app, "k", "oldx", "v"), EXE_KV_CAS_MISMATCH);
    ck_assert_int_eq(cas(app, "k", "OLD", "v"), EXE_KV_CAS_MISMATCH);
    expect_get(app, "k", "old");
    ck_assert_int_eq(cas(app, "k", "old", "new"), EXE_KV_OK);
    expect_get(app, "k", "new");
    ck_assert_int_eq(cas(app, "k", "old", "newer"), EXE_KV_CAS_MISMATCH);
    expect_get(app, "k", "new");
    exe_app_destroy(&app);
}
END_TEST

START_TEST(test_max_sizes)
{
    struct exe_app *app = new_app();
    struct smr_buf op, r;
    uint8_t *key = malloc(EXE_KV_KEY_BYTES_MAX);
    uint8_t *val = malloc(EXE_KV_VALUE_BYTES_MAX);
    memset(key, 'k', EXE_KV_KEY_BYTES_MAX);
    memset(val, 'v', EXE_KV_VALUE_BYTES_MAX);
    smr_buf_init(&op);
    smr_buf_init(&r);
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_PUT, key, EXE_KV_KEY_BYTES_MAX,
                                   NULL, 0, val, EXE_KV_VALUE_BYTES_MAX),
                     SMR_OK);
    ck_assert_int_eq(apply_raw(app, op.data, op.len, &r), EXE_KV_OK);
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_GET, key, EXE_KV_KEY_BYTES_MAX,
                                   NULL, 0, NULL, 0),
                     SMR_OK);
    ck_assert_int_eq(apply_raw(app, op.data, op.len, &r), EXE_KV_OK);
    ck_assert_uint_eq(r.len, 1 + EXE_KV_VALUE_BYTES_MAX);
    ck_assert(memcmp(r.data + 1, val, EXE_KV_VALUE_BYTES_MAX) == 0);
    /* the encoder refuses what the app would refuse */
    size_t before = op.len;
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_GET, key,
                                   EXE_KV_KEY_BYTES_MAX + 1, NULL, 0, NULL, 0),
                     SMR_ETOOBIG);
    ck_assert_int_eq(exe_kv_encode(&op, EXE_KV_PUT, "k", 1, NULL, 0, val,
                                   EXE_KV_VALUE_BYTES_MAX + 1),
                     SMR_ETOOBIG);
    ck_assert_int_eq(
        exe_kv_encode(&op, (enum exe_kv_opcode)9, "k", 1, NULL, 0, NULL, 0),
        SMR_EINVAL);
    ck_assert_uint_eq(op.len, before);
    smr_buf_free(&op);
    smr_buf_free(&r);
    free(key);
    free(val);
    exe_app_destroy(&app);
}
END_TEST

/* ---- hostile commands ------------------------------------------------- */

static void expect_bad(struct exe_app *app, const uint8_t *op, uint32_t len)
{
    uint8_t before[SMR_DIGEST_BYTES], after[SMR_DIGEST_BYTES];
    struct smr_buf r;
    struct exe_keyset ks;
    smr_buf_init(&r);
    digest_of(app, before);
    ck_assert_int_eq(apply_raw(app, op, len, &r), EXE_KV_BAD_COMMAND);
    ck_assert_uint_eq(r.len, 1);
    digest_of(app, after);
    ck_assert(memcmp(before, after, sizeof before) == 0);
    ck_assert_int_eq(app->ops->conflict_keys(app, op, len, &ks),
                     SMR_EMALFORMED);
    smr_buf_free(&r);
}

START_TEST(test_bad_commands)
{
    struct exe_app *app = new_app();
    struct smr_buf op;
    put(app, "k", "v");
    smr_buf_init(&op);
    /* every proper prefix of a valid cas, and one trailing byte */
    exe_kv_encode(&op, EXE_KV_CAS, "key", 3, "exp", 3, "new", 3);
    for (size_t n = 0; n < op.len; n++)
        expect_bad(app, op.data, (uint32_t)n);
    smr_buf_append(&op, "x", 1);
    expect_bad(app, op.data, (uint32_t)op.len);
    expect_bad(app, NULL, 0);
    /* unknown opcodes */
    uint8_t opc[] = {0, 5, 0x80, 0xff};
    for (size_t i = 0; i < sizeof opc; i++) {
        exe_kv_encode(&op, EXE_KV_GET, "k", 1, NULL, 0, NULL, 0);
        op.data[0] = opc[i];
        expect_bad(app, op.data, (uint32_t)op.len);
    }
    /* a declared length far past the bytes */
    uint8_t huge[] = {EXE_KV_GET, 0xff, 0xff, 0xff, 0xff, 'k'};
    expect_bad(app, huge, sizeof huge);
    exe_app_destroy(&app);
    smr_buf_free(&op);
}
END_TEST

/* Oversize key/value with all their bytes present: still refused. */
START_TEST(test_oversize_fields)
{
    struct exe_app *app = new_app();
    size_t vlen = EXE_KV_VALUE_BYTES_MAX + 1;
    uint8_t *op = calloc(1, 1 + 4 + 1 + 4 + vlen);
    op[0] = EXE_KV_GET;
    smr_put_u32(op + 1, EXE_KV_KEY_BYTES_MAX + 1);
    expect_bad(app, op, 1 + 4 + EXE_KV_KEY_BYTES_MAX + 1);
    op[0] = EXE_KV_PUT;
    smr_put_u32(op + 1, 1);
    op[5] = 'k';
    smr_put_u32(op + 6, (uint32_t)vlen);
    expect_bad(app, op, (uint32_t)(1 + 4 + 1 + 4 + vlen));
    smr_put_u32(op + 6, (uint32_t)vlen - 1); /* the bound itself is fine */
    struct smr_buf r;
    smr_buf_init(&r);
    ck_assert_int_eq(apply_raw(app, op, 1 + 4 + 1 + 4 + vlen - 1, &r),
                     EXE_KV_OK);
    smr_buf_free(&r);
    free(op);
    exe_app_destroy(&app);
}
END_TEST

/* ---- digests ---------------------------------------------------------- */

START_TEST(test_digest_order_independent)
{
    struct exe_app *a = new_app(), *b = new_app();
    put(a, "a", "1");
    put(a, "b", "2");
    put(b, "b", "2");
    put(b, "a", "1");
    assert_same_state(a, b);
    /* overwrites and cas reach the same state as a direct put */
    put(a, "c", "x");
    put(a, "c", "y");
    put(b, "c", "q");
    cas(b, "c", "q", "y");
    assert_same_state(a, b);
    exe_app_destroy(&a);
    exe_app_destroy(&b);
}
END_TEST

START_TEST(test_digest_put_del_is_empty)
{
    struct exe_app *a = new_app(), *empty = new_app();
    put(a, "a", "1");
    put(a, "b", "2");
    assert_different_digest(a, empty);
    del(a, "a");
    del(a, "b");
    assert_same_state(a, empty);
    exe_app_destroy(&a);
    exe_app_destroy(&empty);
}
END_TEST

START_TEST(test_digest_distinguishes)
{
    struct exe_app *a = new_app(), *b = new_app();
    put(a, "a", "1");
    put(b, "a", "2");
    assert_different_digest(a, b);
    exe_app_destroy(&a);
    exe_app_destroy(&b);
    /* the key/value boundary is part of the hash */
    a = new_app();
    b = new_app();
    put(a, "ab", "");
    put(b, "a", "b");
    assert_different_digest(a, b);
    exe_app_destroy(&a);
    exe_app_destroy(&b);
}
END_TEST

/* ---- snapshots -------------------------------------------------------- */

static void fill(struct exe_app *app, unsigned n, unsigned seed)
{
    char k[32], v[64];
    for (unsigned i = 0; i < n; i++) {
        unsigned j = (i * 7919u + seed) % n;
        snprintf(k, sizeof k, "key-%u", j);
        snprintf(v, sizeof v, "value-%u-%u", j, j * j);
        put(app, k, v);
    }
}

START_TEST(test_snapshot_roundtrip)
{
    struct exe_app *a = new_app(), *b = new_app(), *c = new_app();
    struct smr_buf snap;
    smr_buf_init(&snap);
    fill(a, 500, 3);
    put(a, "", "empty key");
    put(a, "k", "");
    put(b, "junk", "to be replaced");
    snapshot_of(a, &snap);
    ck_assert_int_eq(b->ops->restore(b, snap.data, snap.len), SMR_OK);
    assert_same_state(a, b);
    expect_get(b, "key-17", "value-17-289");
    expect_get(b, "junk", NULL);
    /* same state by another history: the same bytes */
    put(c, "k", "");
    put(c, "", "empty key");
    fill(c, 500, 11);
    assert_same_state(a, c);
    /* and an empty store round-trips too */
    struct exe_app *e = new_app();
    snapshot_of(e, &snap);
    ck_assert_int_eq(b->ops->restore(b, snap.data, snap.len), SMR_OK);
    assert_same_state(b, e);
    smr_buf_free(&snap);
    exe_app_destroy(&a);
    exe_app_destroy(&b);
    exe_app_destroy(&c);
    exe_app_destroy(&e);
}
END_TEST

/* A snapshot travels in an smr_buf, capped at SMR_FRAME_BYTES_MAX: past
 * it, snapshot() fails cleanly and leaves `out` as it was. */
START_TEST(test_snapshot_over_buffer_cap)
{
    struct exe_app *app = new_app();
    struct smr_buf op, r, snap;
    uint8_t *val = calloc(1, EXE_KV_VALUE_BYTES_MAX);
    smr_buf_init(&op);
    smr_buf_init(&r);
    smr_buf_init(&snap);
    size_t n = SMR_FRAME_BYTES_MAX / EXE_KV_VALUE_BYTES_MAX + 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = (uint32_t)i;
        exe_kv_encode(&op, EXE_KV_PUT, &key, sizeof key, NULL, 0, val,
                      EXE_KV_VALUE_BYTES_MAX);
        ck_assert_int_eq(apply_raw(app, op.data, op.len, &r), EXE_KV_OK);
    }
    smr_buf_append(&snap, "hdr", 3);
    ck_assert_int_eq(app->ops->snapshot(app, &snap), SMR_ETOOBIG);
    ck_assert_uint_eq(snap.len, 3);
    smr_buf_free(&op);
    smr_buf_free(&r);
    smr_buf_free(&snap);
    free(val);
    exe_app_destroy(&app);
}
END_TEST

/* Restores `bytes` into `app` expecting `want`, with the state unchanged. */
static void expect_restore_fails(struct exe_app *app, const uint8_t *bytes,
                                 size_t len, int want)
{
    struct exe_app *ref = new_app();
    struct smr_buf s;
    smr_buf_init(&s);
    snapshot_of(app, &s);
    ck_assert_int_eq(ref->ops->restore(ref, s.data, s.len), SMR_OK);
    ck_assert_int_eq(app->ops->restore(app, bytes, len), want);
    assert_same_state(app, ref);
    smr_buf_free(&s);
    exe_app_destroy(&ref);
}

START_TEST(test_restore_truncated_and_trailing)
{
    struct exe_app *src = new_app(), *dst = new_app();
    struct smr_buf snap;
    smr_buf_init(&snap);
    put(src, "a", "1");
    put(src, "bb", "22");
    put(src, "ccc", "");
    put(dst, "keep", "me");
    snapshot_of(src, &snap);
    for (size_t n = 0; n < snap.len; n++)
        expect_restore_fails(dst, snap.data, n, SMR_ECORRUPT);
    smr_buf_append(&snap, "", 1);
    expect_restore_fails(dst, snap.data, snap.len, SMR_ECORRUPT);
    expect_get(dst, "keep", "me");
    smr_buf_free(&snap);
    exe_app_destroy(&src);
    exe_app_destroy(&dst);
}
END_TEST

/* Builds "SKV1", count, then pairs given as (key, value) strings. */
static void craft(struct smr_buf *b, uint64_t count, const char **kv, int n)
{
    uint8_t h[12];
    smr_put_u32(h, 0x31564b53u);
    smr_put_u64(h + 4, count);
    smr_buf_set(b, h, sizeof h);
    for (int i = 0; i < n; i++) {
        uint8_t l[4];
        smr_put_u32(l, (uint32_t)strlen(kv[i]));
        smr_buf_append(b, l, 4);
        smr_buf_append(b, kv[i], strlen(kv[i]));
    }
}

START_TEST(test_restore_hostile)
{
    struct exe_app *app = new_app();
    struct smr_buf b;
    smr_buf_init(&b);
    put(app, "keep", "me");
    const char *good[] = {"a", "1", "b", "2"};
    craft(&b, 2, good, 4);
    {
        struct exe_app *t = new_app();
        ck_assert_int_eq(t->ops->restore(t, b.data, b.len), SMR_OK);
        expect_get(t, "b", "2");
        exe_app_destroy(&t);
    }
    const char *unsorted[] = {"b", "2", "a", "1"};
    craft(&b, 2, unsorted, 4);
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    const char *dup[] = {"a", "1", "a", "2"};
    craft(&b, 2, dup, 4);
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    craft(&b, 1, good, 4); /* count says fewer than present */
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    craft(&b, 3, good, 4); /* count says more */
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    craft(&b, UINT64_MAX, good, 4); /* huge count: no huge allocation */
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    craft(&b, 1, NULL, 0); /* huge key length */
    uint8_t big[4] = {0xff, 0xff, 0xff, 0x7f};
    smr_buf_append(&b, big, 4);
    smr_buf_append(&b, "abcdefgh", 8);
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    craft(&b, 2, good, 4);
    b.data[0] ^= 1; /* wrong magic */
    expect_restore_fails(app, b.data, b.len, SMR_ECORRUPT);
    /* garbage */
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        uint8_t junk[64];
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        expect_restore_fails(app, junk, 1 + (size_t)round % sizeof junk,
                             SMR_ECORRUPT);
    }
    expect_get(app, "keep", "me");
    smr_buf_free(&b);
    exe_app_destroy(&app);
}
END_TEST

/* ---- conflict keys ---------------------------------------------------- */

static void keys_of(struct exe_app *app, enum exe_kv_opcode opc,
                    struct exe_keyset *ks, struct smr_buf *op)
{
    exe_kv_encode(op, opc, "key", 3, "e", 1, "v", 1);
    memset(ks, 0xab, sizeof *ks);
    ck_assert_int_eq(app->ops->conflict_keys(app, op->data, op->len, ks),
                     SMR_OK);
}

static void assert_key(const struct exe_key *k, const struct smr_buf *op)
{
    ck_assert_uint_eq(k->len, 3);
    ck_assert(k->key == op->data + 5); /* points into the command */
    ck_assert(memcmp(k->key, "key", 3) == 0);
}

START_TEST(test_conflict_keys)
{
    struct exe_app *app = new_app();
    struct exe_keyset ks;
    struct smr_buf op;
    smr_buf_init(&op);
    ck_assert(app->ops->has_conflict_keys);
    keys_of(app, EXE_KV_GET, &ks, &op);
    ck_assert_uint_eq(ks.n_reads, 1);
    ck_assert_uint_eq(ks.n_writes, 0);
    assert_key(&ks.reads[0], &op);
    keys_of(app, EXE_KV_PUT, &ks, &op);
    ck_assert_uint_eq(ks.n_reads, 0);
    ck_assert_uint_eq(ks.n_writes, 1);
    assert_key(&ks.writes[0], &op);
    keys_of(app, EXE_KV_DEL, &ks, &op);
    ck_assert_uint_eq(ks.n_reads, 1);
    ck_assert_uint_eq(ks.n_writes, 1);
    keys_of(app, EXE_KV_CAS, &ks, &op);
    ck_assert_uint_eq(ks.n_reads, 1);
    ck_assert_uint_eq(ks.n_writes, 1);
    assert_key(&ks.reads[0], &op);
    assert_key(&ks.writes[0], &op);
    op.data[0] = 77;
    ck_assert_int_eq(app->ops->conflict_keys(app, op.data, op.len, &ks),
                     SMR_EMALFORMED);
    ck_assert_uint_eq(ks.n_reads + ks.n_writes, 0);
    smr_buf_free(&op);
    exe_app_destroy(&app);
}
END_TEST

static Suite *kv_suite(void)
{
    Suite *s = suite_create("exe_kv");
    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, test_get_put_del);
    tcase_add_test(ops, test_empty_key_and_value);
    tcase_add_test(ops, test_cas);
    tcase_add_test(ops, test_max_sizes);
    tcase_add_test(ops, test_bad_commands);
    tcase_add_test(ops, test_oversize_fields);
    tcase_add_test(ops, test_conflict_keys);
    suite_add_tcase(s, ops);
    TCase *state = tcase_create("state");
    tcase_add_test(state, test_digest_order_independent);
    tcase_add_test(state, test_digest_put_del_is_empty);
    tcase_add_test(state, test_digest_distinguishes);
    tcase_add_test(state, test_snapshot_roundtrip);
    tcase_add_test(state, test_snapshot_over_buffer_cap);
    tcase_add_test(state, test_restore_truncated_and_trailing);
    tcase_add_test(state, test_restore_hostile);
    suite_add_tcase(s, state);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
