/*
 * test_sto_contract.c: the storage contract (storage/sto.h), checked
 * against every implementation.
 *
 * Each contract test is a Check loop test whose iteration picks the store:
 * 0 the in-memory store, 1 RocksDB in a fresh directory. The directories
 * live under one mkdtemp root that main() removes after the run, so a
 * failing (forked) test leaves nothing behind. Tests that need fault
 * injection (in-memory) or a real disk (RocksDB) run on that store alone.
 */
#include "sto.h"

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { KIND_MEM, KIND_ROCKSDB, KIND__COUNT };

static char root_dir[64]; /* "/tmp/test_sto_contract.XXXXXX" */

/* One open store and, for RocksDB, its directory. */
struct fx {
    int kind;
    struct sto *s;
    char dir[PATH_MAX];
};

static struct sto *open_dir(const char *dir)
{
    char err[256] = "";
    struct sto *s = NULL;
    int rc = sto_rocksdb_open(dir, true, &s, err, sizeof err);
    ck_assert_msg(rc == SMR_OK, "open %s: %s", dir, err);
    return s;
}

static void fx_open(struct fx *f, int kind)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    if (kind == KIND_MEM) {
        ck_assert_int_eq(sto_mem_open(&f->s), SMR_OK);
        return;
    }
    snprintf(f->dir, sizeof f->dir, "%s/db.XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    f->s = open_dir(f->dir);
}

static void fx_close(struct fx *f)
{
    sto_close(&f->s);
    ck_assert_ptr_null(f->s);
}

static void put(struct sto *s, uint64_t index, const char *text)
{
    ck_assert_int_eq(
        sto_log_put(s, index, (const uint8_t *)text, strlen(text), NULL),
        SMR_OK);
}

static void state_put(struct sto *s, const char *key, const char *text)
{
    ck_assert_int_eq(
        sto_state_put(s, key, (const uint8_t *)text, strlen(text), NULL),
        SMR_OK);
}

/* Asserts that log index `index` holds `text`. */
static void expect(struct sto *s, uint64_t index, const char *text)
{
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = sto_log_get(s, index, &b);
    ck_assert_msg(rc == SMR_OK, "get %llu: %s", (unsigned long long)index,
                  smr_strerror(rc));
    ck_assert_uint_eq(b.len, strlen(text));
    ck_assert(b.len == 0 || memcmp(b.data, text, b.len) == 0);
    smr_buf_free(&b);
}

static int get_rc(struct sto *s, uint64_t index)
{
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = sto_log_get(s, index, &b);
    smr_buf_free(&b);
    return rc;
}

static void expect_state(struct sto *s, const char *key, const char *text)
{
    struct smr_buf b;
    smr_buf_init(&b);
    ck_assert_int_eq(sto_state_get(s, key, &b), SMR_OK);
    ck_assert_uint_eq(b.len, strlen(text));
    ck_assert(b.len == 0 || memcmp(b.data, text, b.len) == 0);
    smr_buf_free(&b);
}

static int state_rc(struct sto *s, const char *key)
{
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = sto_state_get(s, key, &b);
    smr_buf_free(&b);
    return rc;
}

static void expect_bounds(struct sto *s, uint64_t first, uint64_t last)
{
    uint64_t f = 99, l = 99;
    ck_assert_int_eq(sto_log_bounds(s, &f, &l), SMR_OK);
    ck_assert_uint_eq(f, first);
    ck_assert_uint_eq(l, last);
}

/* ---- contract tests, run against every store ---- */

START_TEST(test_ops_table)
{
    struct fx f;
    fx_open(&f, _i);
    ck_assert_int_eq(f.s->ops->version, STO_OPS_VERSION);
    ck_assert_ptr_nonnull(f.s->ops->name);
    ck_assert(f.s->ops->durable == (_i == KIND_ROCKSDB));
    ck_assert(!f.s->poisoned);
    ck_assert(!sto_pending(f.s));
    fx_close(&f);
}
END_TEST

START_TEST(test_put_get_round_trip)
{
    struct fx f;
    fx_open(&f, _i);
    put(f.s, 1, "one");
    put(f.s, 2, "");
    put(f.s, 3, "three");
    expect(f.s, 1, "one");
    expect(f.s, 2, "");
    expect(f.s, 3, "three");
    /* The caller's buffer is borrowed: changing it later changes nothing. */
    char text[] = "mutable";
    ck_assert_int_eq(sto_log_put(f.s, 4, (const uint8_t *)text, 7, NULL),
                     SMR_OK);
    text[0] = 'X';
    expect(f.s, 4, "mutable");
    fx_close(&f);
}
END_TEST

START_TEST(test_overwrite)
{
    struct fx f;
    fx_open(&f, _i);
    put(f.s, 7, "first accept");
    put(f.s, 7, "re-accepted");
    expect(f.s, 7, "re-accepted");
    put(f.s, 7, "");
    expect(f.s, 7, "");
    expect_bounds(f.s, 7, 7);
    fx_close(&f);
}
END_TEST

START_TEST(test_missing_index)
{
    struct fx f;
    fx_open(&f, _i);
    ck_assert_int_eq(get_rc(f.s, 1), SMR_ENOTFOUND);
    ck_assert_int_eq(get_rc(f.s, 0), SMR_ENOTFOUND);
    put(f.s, 1, "a");
    put(f.s, 5, "e");
    ck_assert_int_eq(get_rc(f.s, 3), SMR_ENOTFOUND); /* a hole */
    ck_assert_int_eq(get_rc(f.s, 6), SMR_ENOTFOUND);
    ck_assert_int_eq(get_rc(f.s, UINT64_MAX), SMR_ENOTFOUND);
    /* A failed read leaves the caller's buffer as it was. */
    struct smr_buf b;
    smr_buf_init(&b);
    ck_assert_int_eq(smr_buf_set(&b, "keep", 4), SMR_OK);
    ck_assert_int_eq(sto_log_get(f.s, 3, &b), SMR_ENOTFOUND);
    ck_assert(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
    smr_buf_free(&b);
    /* Index 0 means "none" and is refused without taking an LSN. */
    ck_assert_int_eq(sto_log_put(f.s, 0, (const uint8_t *)"x", 1, NULL),
                     SMR_EINVAL);
    ck_assert_uint_eq(f.s->issued_lsn, 2);
    fx_close(&f);
}
END_TEST

START_TEST(test_bounds)
{
    struct fx f;
    fx_open(&f, _i);
    expect_bounds(f.s, 0, 0);
    put(f.s, 10, "j");
    expect_bounds(f.s, 10, 10);
    put(f.s, 12, "l");
    put(f.s, 11, "k"); /* out of order: fills a hole */
    expect_bounds(f.s, 10, 12);
    put(f.s, 3, "c"); /* below first, no truncation yet */
    expect_bounds(f.s, 3, 12);
    put(f.s, 1000000, "far");
    expect_bounds(f.s, 3, 1000000);
    expect(f.s, 11, "k");
    fx_close(&f);
}
END_TEST

START_TEST(test_truncate_prefix)
{
    struct fx f;
    fx_open(&f, _i);
    char text[8];
    for (uint64_t i = 1; i <= 10; i++) {
        snprintf(text, sizeof text, "e%llu", (unsigned long long)i);
        put(f.s, i, text);
    }
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 5, NULL), SMR_OK);
    ck_assert_int_eq(get_rc(f.s, 1), SMR_ECOMPACTED);
    ck_assert_int_eq(get_rc(f.s, 4), SMR_ECOMPACTED);
    expect(f.s, 5, "e5");
    expect(f.s, 10, "e10");
    expect_bounds(f.s, 5, 10);
    /* The bound never moves down; a lower truncation is a no-op. */
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 2, NULL), SMR_OK);
    ck_assert_int_eq(get_rc(f.s, 4), SMR_ECOMPACTED);
    expect_bounds(f.s, 5, 10);
    /* Writing below the bound is refused. */
    ck_assert_int_eq(sto_log_put(f.s, 4, (const uint8_t *)"x", 1, NULL),
                     SMR_ECOMPACTED);
    expect_bounds(f.s, 5, 10);
    /* Past the last index: the log is empty but remembers the bound. */
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 20, NULL), SMR_OK);
    expect_bounds(f.s, 0, 0);
    ck_assert_int_eq(get_rc(f.s, 10), SMR_ECOMPACTED);
    ck_assert_int_eq(get_rc(f.s, 20), SMR_ENOTFOUND);
    put(f.s, 20, "t");
    put(f.s, 22, "v");
    expect_bounds(f.s, 20, 22);
    /* Into a hole: first becomes the next index present. */
    put(f.s, 30, "ad");
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 25, NULL), SMR_OK);
    expect_bounds(f.s, 30, 30);
    ck_assert_int_eq(get_rc(f.s, 22), SMR_ECOMPACTED);
    ck_assert_int_eq(get_rc(f.s, 27), SMR_ENOTFOUND);
    fx_close(&f);
}
END_TEST

START_TEST(test_state)
{
    struct fx f;
    fx_open(&f, _i);
    ck_assert_int_eq(state_rc(f.s, "vote"), SMR_ENOTFOUND);
    state_put(f.s, "vote", "node 2, term 3");
    state_put(f.s, "term", "3");
    expect_state(f.s, "vote", "node 2, term 3");
    state_put(f.s, "vote", "node 1, term 4");
    expect_state(f.s, "vote", "node 1, term 4");
    expect_state(f.s, "term", "3");
    state_put(f.s, "empty", "");
    expect_state(f.s, "empty", "");
    /* State and log are separate namespaces. */
    put(f.s, 1, "log one");
    state_put(f.s, "1", "state one");
    expect(f.s, 1, "log one");
    char key[STO_STATE_KEY_BYTES_MAX + 1];
    memset(key, 'k', STO_STATE_KEY_BYTES_MAX);
    key[STO_STATE_KEY_BYTES_MAX] = '\0';
    state_put(f.s, key, "longest key");
    expect_state(f.s, key, "longest key");
    fx_close(&f);
}
END_TEST

START_TEST(test_state_bad_key)
{
    struct fx f;
    fx_open(&f, _i);
    char key[STO_STATE_KEY_BYTES_MAX + 2];
    memset(key, 'k', STO_STATE_KEY_BYTES_MAX + 1);
    key[STO_STATE_KEY_BYTES_MAX + 1] = '\0';
    const uint8_t v[] = "v";
    ck_assert_int_eq(sto_state_put(f.s, "", v, 1, NULL), SMR_EINVAL);
    ck_assert_int_eq(sto_state_put(f.s, key, v, 1, NULL), SMR_EINVAL);
    ck_assert_int_eq(sto_state_put(f.s, NULL, v, 1, NULL), SMR_EINVAL);
    ck_assert_int_eq(state_rc(f.s, ""), SMR_EINVAL);
    ck_assert_int_eq(state_rc(f.s, key), SMR_EINVAL);
    ck_assert_uint_eq(f.s->issued_lsn, 0); /* no LSN taken */
    fx_close(&f);
}
END_TEST

START_TEST(test_lsn_numbering)
{
    struct fx f;
    fx_open(&f, _i);
    smr_lsn lsn = 0;
    const uint8_t v[] = "v";
    ck_assert_int_eq(sto_log_put(f.s, 1, v, 1, &lsn), SMR_OK);
    ck_assert_uint_eq(lsn, 1);
    ck_assert_int_eq(sto_state_put(f.s, "k", v, 1, &lsn), SMR_OK);
    ck_assert_uint_eq(lsn, 2);
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 1, &lsn), SMR_OK);
    ck_assert_uint_eq(lsn, 3); /* a no-op truncation still takes one */
    ck_assert_int_eq(sto_log_put(f.s, 2, v, 1, NULL), SMR_OK);
    ck_assert_uint_eq(f.s->issued_lsn, 4);
    ck_assert_uint_eq(f.s->durable_lsn, 0);
    ck_assert(sto_pending(f.s));
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    ck_assert_uint_eq(f.s->durable_lsn, 4);
    ck_assert(!sto_pending(f.s));
    ck_assert_uint_eq(f.s->syncs, 1);
    ck_assert_uint_eq(f.s->synced_writes, 4);
    /* Nothing pending: sync is a no-op. */
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    ck_assert_uint_eq(f.s->syncs, 1);
    /* A refused write takes no LSN. */
    ck_assert_int_eq(sto_state_put(f.s, "", v, 1, &lsn), SMR_EINVAL);
    ck_assert_int_eq(sto_log_put(f.s, 5, v, 1, &lsn), SMR_OK);
    ck_assert_uint_eq(lsn, 5);
    ck_assert_uint_eq(f.s->durable_lsn, 4);
    fx_close(&f);
}
END_TEST

START_TEST(test_group_commit)
{
    struct fx f;
    fx_open(&f, _i);
    uint8_t v[32] = {0};
    for (uint64_t i = 1; i <= 1000; i++) {
        v[0] = (uint8_t)i;
        ck_assert_int_eq(sto_log_put(f.s, i, v, sizeof v, NULL), SMR_OK);
    }
    state_put(f.s, "term", "9");
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    ck_assert_uint_eq(f.s->syncs, 1);
    ck_assert_uint_eq(f.s->synced_writes, 1001);
    ck_assert_uint_eq(f.s->durable_lsn, 1001);
    fx_close(&f);
}
END_TEST

START_TEST(test_large_value)
{
    struct fx f;
    fx_open(&f, _i);
    size_t n = 1u << 20;
    uint8_t *v = malloc(n);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(i * 31 + 7);
    ck_assert_int_eq(sto_log_put(f.s, 1, v, n, NULL), SMR_OK);
    ck_assert_int_eq(sto_state_put(f.s, "snapshot", v, n, NULL), SMR_OK);
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    struct smr_buf b;
    smr_buf_init(&b);
    ck_assert_int_eq(sto_log_get(f.s, 1, &b), SMR_OK);
    ck_assert(b.len == n && memcmp(b.data, v, n) == 0);
    ck_assert_int_eq(sto_state_get(f.s, "snapshot", &b), SMR_OK);
    ck_assert(b.len == n && memcmp(b.data, v, n) == 0);
    smr_buf_free(&b);
    free(v);
    /* No read could return more than a frame, so no write may store it. */
    size_t too_big = SMR_FRAME_BYTES_MAX + 1;
    uint8_t *big = calloc(1, too_big);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(sto_log_put(f.s, 2, big, too_big, NULL), SMR_ETOOBIG);
    free(big);
    ck_assert_uint_eq(f.s->issued_lsn, 2);
    fx_close(&f);
}
END_TEST

#define MANY_ENTRIES 100000

START_TEST(test_many_entries)
{
    struct fx f;
    fx_open(&f, _i);
    uint8_t v[16];
    for (uint64_t i = 1; i <= MANY_ENTRIES; i++) {
        smr_put_u64(v, i);
        smr_put_u64(v + 8, i * 2654435761u);
        ck_assert_int_eq(sto_log_put(f.s, i, v, sizeof v, NULL), SMR_OK);
    }
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    ck_assert_uint_eq(f.s->syncs, 1);
    ck_assert_uint_eq(f.s->synced_writes, MANY_ENTRIES);
    expect_bounds(f.s, 1, MANY_ENTRIES);
    struct smr_buf b;
    smr_buf_init(&b);
    for (uint64_t i = 1; i <= MANY_ENTRIES; i++) {
        ck_assert_int_eq(sto_log_get(f.s, i, &b), SMR_OK);
        ck_assert_uint_eq(b.len, sizeof v);
        ck_assert_uint_eq(smr_get_u64(b.data), i);
        ck_assert_uint_eq(smr_get_u64(b.data + 8), i * 2654435761u);
    }
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, MANY_ENTRIES / 2, NULL),
                     SMR_OK);
    expect_bounds(f.s, MANY_ENTRIES / 2, MANY_ENTRIES);
    ck_assert_int_eq(sto_log_get(f.s, MANY_ENTRIES / 2 - 1, &b),
                     SMR_ECOMPACTED);
    ck_assert_int_eq(sto_log_get(f.s, MANY_ENTRIES / 2, &b), SMR_OK);
    smr_buf_free(&b);
    fx_close(&f);
}
END_TEST

/* ---- RocksDB only: restart and damaged bytes ---- */

START_TEST(test_rocksdb_reopen)
{
    struct fx f;
    fx_open(&f, KIND_ROCKSDB);
    for (uint64_t i = 1; i <= 10; i++)
        put(f.s, i, i % 2 ? "odd" : "even");
    put(f.s, 3, "three");
    state_put(f.s, "term", "5");
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 4, NULL), SMR_OK);
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    fx_close(&f);

    f.s = open_dir(f.dir);
    ck_assert_uint_eq(f.s->issued_lsn, 0); /* LSNs restart per open */
    ck_assert(!sto_pending(f.s));
    expect_bounds(f.s, 4, 10);
    ck_assert_int_eq(get_rc(f.s, 3), SMR_ECOMPACTED);
    expect(f.s, 4, "even");
    expect(f.s, 9, "odd");
    expect_state(f.s, "term", "5");
    /* Truncate everything: the bound alone must survive. */
    ck_assert_int_eq(sto_log_truncate_prefix(f.s, 50, NULL), SMR_OK);
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    fx_close(&f);

    f.s = open_dir(f.dir);
    expect_bounds(f.s, 0, 0);
    ck_assert_int_eq(get_rc(f.s, 49), SMR_ECOMPACTED);
    ck_assert_int_eq(sto_log_put(f.s, 49, (const uint8_t *)"x", 1, NULL),
                     SMR_ECOMPACTED);
    put(f.s, 60, "sixty");
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    fx_close(&f);

    f.s = open_dir(f.dir);
    expect_bounds(f.s, 60, 60);
    expect(f.s, 60, "sixty");
    fx_close(&f);
}
END_TEST

/* kill -9 after a sync: every synced write is there after reopen, and each
 * unsynced one is either whole or absent, never corrupt. */
START_TEST(test_rocksdb_killed)
{
    struct fx f;
    fx_open(&f, KIND_ROCKSDB);
    fx_close(&f);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sto *s = NULL;
        char err[256];
        if (sto_rocksdb_open(f.dir, true, &s, err, sizeof err) != SMR_OK)
            _exit(2);
        uint8_t v[200];
        for (uint64_t i = 1; i <= 2000; i++) {
            memset(v, (int)(i & 0xff), sizeof v);
            if (sto_log_put(s, i, v, sizeof v, NULL) != SMR_OK)
                _exit(3);
            if (i == 1000 &&
                (sto_state_put(s, "term", v, 8, NULL) || sto_sync(s) != SMR_OK))
                _exit(4);
        }
        kill(getpid(), SIGKILL);
        _exit(5);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "child status %d", status);
    f.s = open_dir(f.dir);
    struct smr_buf b;
    smr_buf_init(&b);
    for (uint64_t i = 1; i <= 2000; i++) {
        int rc = sto_log_get(f.s, i, &b);
        if (i > 1000 && rc == SMR_ENOTFOUND)
            continue;
        ck_assert_msg(rc == SMR_OK, "index %llu: %s", (unsigned long long)i,
                      smr_strerror(rc));
        ck_assert_uint_eq(b.len, 200);
        for (size_t k = 0; k < b.len; k++)
            ck_assert_uint_eq(b.data[k], i & 0xff);
    }
    ck_assert_int_eq(sto_state_get(f.s, "term", &b), SMR_OK);
    ck_assert_uint_eq(b.len, 8);
    smr_buf_free(&b);
    uint64_t first, last;
    ck_assert_int_eq(sto_log_bounds(f.s, &first, &last), SMR_OK);
    ck_assert_uint_eq(first, 1);
    ck_assert(last >= 1000 && last <= 2000);
    fx_close(&f);
}
END_TEST

START_TEST(test_rocksdb_corrupt_value)
{
    struct fx f;
    fx_open(&f, KIND_ROCKSDB);
    put(f.s, 1, "one");
    put(f.s, 2, "two");
    put(f.s, 3, "");
    ck_assert_int_eq(sto_sync(f.s), SMR_OK);
    ck_assert_int_eq(sto_rocksdb_corrupt_for_test(f.s, 1), SMR_OK);
    ck_assert_int_eq(sto_rocksdb_corrupt_for_test(f.s, 3), SMR_OK);
    ck_assert_int_eq(sto_rocksdb_corrupt_for_test(f.s, 9), SMR_ENOTFOUND);
    ck_assert_int_eq(get_rc(f.s, 1), SMR_ECORRUPT);
    ck_assert_int_eq(get_rc(f.s, 3), SMR_ECORRUPT);
    expect(f.s, 2, "two");
    /* Garbage of every short length, and a longer random one. */
    uint8_t junk[100];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 97 + 13);
    for (uint64_t n = 0; n <= 5; n++) {
        ck_assert_int_eq(sto_rocksdb_put_raw_for_test(f.s, 10 + n, junk, n),
                         SMR_OK);
        ck_assert_int_eq(get_rc(f.s, 10 + n), SMR_ECORRUPT);
    }
    ck_assert_int_eq(sto_rocksdb_put_raw_for_test(f.s, 20, junk, sizeof junk),
                     SMR_OK);
    ck_assert_int_eq(get_rc(f.s, 20), SMR_ECORRUPT);
    /* A failed read leaves the caller's buffer alone. */
    struct smr_buf b;
    smr_buf_init(&b);
    ck_assert_int_eq(smr_buf_set(&b, "keep", 4), SMR_OK);
    ck_assert_int_eq(sto_log_get(f.s, 20, &b), SMR_ECORRUPT);
    ck_assert(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
    smr_buf_free(&b);
    /* Damage survives a restart, is still reported, and open succeeds. */
    fx_close(&f);
    f.s = open_dir(f.dir);
    ck_assert_int_eq(get_rc(f.s, 1), SMR_ECORRUPT);
    expect(f.s, 2, "two");
    expect_bounds(f.s, 1, 20);
    /* Rewriting a damaged index heals it. */
    put(f.s, 1, "one again");
    expect(f.s, 1, "one again");
    fx_close(&f);
}
END_TEST

START_TEST(test_rocksdb_nofsync)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/db.XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char err[256] = "";
    struct sto *s = NULL;
    ck_assert_int_eq(sto_rocksdb_open(dir, false, &s, err, sizeof err), SMR_OK);
    ck_assert(!s->ops->durable);
    put(s, 1, "one");
    ck_assert_int_eq(sto_sync(s), SMR_OK);
    ck_assert_uint_eq(s->durable_lsn, 1);
    sto_close(&s);
    /* A clean close keeps what was written. */
    s = open_dir(dir);
    expect(s, 1, "one");
    sto_close(&s);
}
END_TEST

START_TEST(test_rocksdb_open_error)
{
    char err[256] = "";
    struct sto *s = NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/no/such/parent/db", root_dir);
    ck_assert_int_eq(sto_rocksdb_open(path, true, &s, err, sizeof err),
                     SMR_EIO);
    ck_assert_ptr_null(s);
    ck_assert(strlen(err) > 0);
    ck_assert_int_eq(sto_rocksdb_open(path, true, &s, NULL, 0), SMR_EIO);
}
END_TEST

/* ---- in-memory only: fault injection ---- */

START_TEST(test_mem_fail_next_sync)
{
    struct sto *s = NULL;
    ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
    put(s, 1, "durable");
    ck_assert_int_eq(sto_sync(s), SMR_OK);
    put(s, 2, "doomed");
    sto_mem_fail_next_sync(s);
    ck_assert_int_eq(sto_sync(s), SMR_EFSYNC);
    ck_assert(s->poisoned);
    ck_assert_uint_eq(s->syncs, 1);
    ck_assert_uint_eq(s->durable_lsn, 1);
    /* Every later write and sync fails the same way; reads still work. */
    const uint8_t v[] = "v";
    ck_assert_int_eq(sto_log_put(s, 3, v, 1, NULL), SMR_EFSYNC);
    ck_assert_int_eq(sto_state_put(s, "k", v, 1, NULL), SMR_EFSYNC);
    ck_assert_int_eq(sto_log_truncate_prefix(s, 2, NULL), SMR_EFSYNC);
    ck_assert_int_eq(sto_sync(s), SMR_EFSYNC);
    ck_assert_int_eq(sto_sync(s), SMR_EFSYNC);
    ck_assert_uint_eq(s->issued_lsn, 2);
    expect(s, 1, "durable");
    expect(s, 2, "doomed");
    /* A crash drops what the failed sync did not cover (keep 0)... */
    uint64_t rng = 42;
    sto_mem_crash(s, &rng, 0);
    ck_assert(!s->poisoned);
    expect(s, 1, "durable");
    ck_assert_int_eq(get_rc(s, 2), SMR_ENOTFOUND);
    /* ...and the store works again. */
    put(s, 2, "again");
    ck_assert_int_eq(sto_sync(s), SMR_OK);
    ck_assert_uint_eq(s->durable_lsn, 1);
    sto_close(&s);
}
END_TEST

/* Writes a mix of every kind of write: some synced, then more unsynced. */
static void crash_workload(struct sto *s)
{
    put(s, 1, "a1");
    put(s, 2, "b1");
    put(s, 3, "c1");
    put(s, 5, "e1");
    state_put(s, "term", "1");
    ck_assert_int_eq(sto_log_truncate_prefix(s, 2, NULL), SMR_OK);
    ck_assert_int_eq(sto_sync(s), SMR_OK);
    /* Unsynced from here. */
    put(s, 2, "b2");
    put(s, 2, "b3");
    put(s, 4, "d2");
    put(s, 9, "i2");
    state_put(s, "term", "2");
    state_put(s, "vote", "n3");
    ck_assert_int_eq(sto_log_truncate_prefix(s, 3, NULL), SMR_OK);
    ck_assert_int_eq(sto_log_truncate_prefix(s, 1, NULL), SMR_OK);
    put(s, 6, "f2");
}

static void expect_synced_state(struct sto *s)
{
    ck_assert_int_eq(get_rc(s, 1), SMR_ECOMPACTED);
    expect(s, 2, "b1");
    expect(s, 3, "c1");
    ck_assert_int_eq(get_rc(s, 4), SMR_ENOTFOUND);
    expect(s, 5, "e1");
    ck_assert_int_eq(get_rc(s, 6), SMR_ENOTFOUND);
    ck_assert_int_eq(get_rc(s, 9), SMR_ENOTFOUND);
    expect_bounds(s, 2, 5);
    expect_state(s, "term", "1");
    ck_assert_int_eq(state_rc(s, "vote"), SMR_ENOTFOUND);
}

START_TEST(test_mem_crash_keep_none)
{
    struct sto *s = NULL;
    ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
    crash_workload(s);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    sto_mem_crash(s, &rng, 0);
    expect_synced_state(s);
    ck_assert(!s->poisoned);
    ck_assert_uint_eq(s->issued_lsn, 0);
    ck_assert_uint_eq(s->durable_lsn, 0);
    ck_assert(!sto_pending(s));
    /* A second crash with nothing unsynced changes nothing. */
    sto_mem_crash(s, &rng, 0);
    expect_synced_state(s);
    sto_close(&s);
}
END_TEST

START_TEST(test_mem_crash_keep_all)
{
    struct sto *s = NULL;
    ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
    crash_workload(s);
    uint64_t rng = 7;
    sto_mem_crash(s, &rng, 1000);
    ck_assert_int_eq(get_rc(s, 2), SMR_ECOMPACTED);
    expect(s, 3, "c1");
    expect(s, 4, "d2");
    expect(s, 5, "e1");
    expect(s, 6, "f2");
    expect(s, 9, "i2");
    expect_bounds(s, 3, 9);
    expect_state(s, "term", "2");
    expect_state(s, "vote", "n3");
    ck_assert_uint_eq(s->issued_lsn, 0);
    sto_close(&s);
}
END_TEST

/* Independent survival: over many distinct unsynced writes about the
 * right share survive, synced ones always do, a survivor is never partial
 * and the same seed gives the same outcome. */
static unsigned crash_survivors(uint64_t seed, unsigned keep_permille,
                                uint8_t *pattern, size_t pattern_len)
{
    struct sto *s = NULL;
    ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
    uint8_t v[8];
    for (uint64_t i = 1; i <= 100; i++) {
        smr_put_u64(v, i);
        ck_assert_int_eq(sto_log_put(s, i, v, sizeof v, NULL), SMR_OK);
    }
    ck_assert_int_eq(sto_sync(s), SMR_OK);
    for (uint64_t i = 1; i <= pattern_len; i++) {
        smr_put_u64(v, i + 1000000);
        ck_assert_int_eq(sto_log_put(s, 100 + i, v, sizeof v, NULL), SMR_OK);
        ck_assert_int_eq(sto_log_put(s, i, v, sizeof v, NULL), SMR_OK);
    }
    sto_mem_crash(s, &seed, keep_permille);
    struct smr_buf b;
    smr_buf_init(&b);
    unsigned kept = 0;
    for (uint64_t i = 1; i <= pattern_len; i++) {
        int rc = sto_log_get(s, 100 + i, &b);
        ck_assert(rc == SMR_OK || rc == SMR_ENOTFOUND);
        pattern[i - 1] = rc == SMR_OK;
        if (rc == SMR_OK) {
            ck_assert_uint_eq(b.len, 8);
            ck_assert_uint_eq(smr_get_u64(b.data), i + 1000000);
            kept++;
        }
        /* Overwrites of synced entries: the old or the new value. */
        ck_assert_int_eq(sto_log_get(s, i, &b), SMR_OK);
        uint64_t got = smr_get_u64(b.data);
        ck_assert(got == i || got == i + 1000000);
    }
    for (uint64_t i = pattern_len + 1; i <= 100; i++) {
        ck_assert_int_eq(sto_log_get(s, i, &b), SMR_OK);
        ck_assert_uint_eq(smr_get_u64(b.data), i);
    }
    smr_buf_free(&b);
    sto_close(&s);
    return kept;
}

START_TEST(test_mem_crash_independent)
{
    enum { N = 100 };
    uint8_t first[N], again[N];
    unsigned kept_total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        unsigned kept = crash_survivors(seed, 500, first, N);
        ck_assert_uint_eq(crash_survivors(seed, 500, again, N), kept);
        ck_assert(memcmp(first, again, N) == 0);
        kept_total += kept;
    }
    /* 2000 fair coins: far outside 1000 +- 150 means they are not fair. */
    ck_assert_msg(kept_total > 850 && kept_total < 1150, "kept %u of 2000",
                  kept_total);
    ck_assert_uint_eq(crash_survivors(3, 0, first, N), 0);
    ck_assert_uint_eq(crash_survivors(3, 1000, first, N), N);
}
END_TEST

/* Many seeds of random writes with crashes in between, checked against a
 * model: after a crash each index holds its synced value or one written
 * since, the bound lies between the synced one and the last one asked for,
 * and log_bounds agrees with what reads find. Exercises the undo and redo
 * paths (holes, overwrites, truncations, the array compacting) under ASan. */
#define MODEL_INDEXES 64
#define MODEL_VALUES 8

struct model_slot {
    uint64_t synced; /* 0: absent */
    uint64_t since[MODEL_VALUES];
    unsigned since_n;
};

struct model {
    struct model_slot slot[MODEL_INDEXES];
    uint64_t bound, synced_bound; /* as a first readable index, >= 1 */
    uint64_t next_value;
};

static uint64_t test_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void model_sync(struct model *m)
{
    for (uint64_t k = 1; k < MODEL_INDEXES; k++) {
        struct model_slot *sl = &m->slot[k];
        if (sl->since_n)
            sl->synced = sl->since[sl->since_n - 1];
        sl->since_n = 0;
    }
    m->synced_bound = m->bound;
}

/* The first index that does not read as compacted. */
static uint64_t probe_bound(struct sto *s)
{
    uint64_t i = 1;
    while (i < MODEL_INDEXES && get_rc(s, i) == SMR_ECOMPACTED)
        i++;
    return i;
}

static void model_after_crash(struct sto *s, struct model *m)
{
    uint64_t bound = probe_bound(s);
    ck_assert_uint_ge(bound, m->synced_bound);
    ck_assert_uint_le(bound, m->bound);
    struct smr_buf b;
    smr_buf_init(&b);
    uint64_t first = 0, last = 0;
    for (uint64_t i = bound; i < MODEL_INDEXES; i++) {
        struct model_slot *sl = &m->slot[i];
        int rc = sto_log_get(s, i, &b);
        uint64_t got = 0;
        if (rc == SMR_OK) {
            ck_assert_uint_eq(b.len, 8);
            got = smr_get_u64(b.data);
            first = first ? first : i;
            last = i;
        } else {
            ck_assert_int_eq(rc, SMR_ENOTFOUND);
        }
        bool ok = got == sl->synced;
        for (unsigned k = 0; k < sl->since_n; k++)
            ok = ok || got == sl->since[k];
        ck_assert_msg(ok, "index %llu holds a value never written there",
                      (unsigned long long)i);
    }
    smr_buf_free(&b);
    expect_bounds(s, first, last);
    /* What survived is the new synced state. */
    for (uint64_t i = 1; i < MODEL_INDEXES; i++) {
        struct model_slot *sl = &m->slot[i];
        sl->since_n = 0;
        sl->synced = 0;
        if (i >= bound && sto_log_get(s, i, &b) == SMR_OK)
            sl->synced = smr_get_u64(b.data);
    }
    smr_buf_free(&b);
    m->bound = m->synced_bound = bound;
}

static void model_step(struct sto *s, struct model *m, uint64_t *rng)
{
    uint64_t r = test_rand(rng);
    uint64_t i = 1 + r % (MODEL_INDEXES - 1);
    unsigned what = (unsigned)((r >> 32) % 100);
    struct model_slot *sl = &m->slot[i];
    if (what < 70) {
        uint8_t v[8];
        smr_put_u64(v, m->next_value);
        int rc = sto_log_put(s, i, v, sizeof v, NULL);
        if (i < m->bound) {
            ck_assert_int_eq(rc, SMR_ECOMPACTED);
            return;
        }
        ck_assert_int_eq(rc, SMR_OK);
        if (sl->since_n == MODEL_VALUES) /* keep the oldest few */
            sl->since_n--;
        sl->since[sl->since_n++] = m->next_value++;
    } else if (what < 76) {
        uint64_t below = m->bound + (r >> 16) % 4;
        ck_assert_int_eq(sto_log_truncate_prefix(s, below, NULL), SMR_OK);
        m->bound = below > m->bound ? below : m->bound;
    } else if (what < 92) {
        ck_assert_int_eq(sto_sync(s), SMR_OK);
        model_sync(m);
    } else {
        /* Half the crashes may tear the newest put: after the reopen
         * drops it, it is as if the dice had lost it. */
        sto_mem_set_tear(s, (r >> 20) % 2 ? 1000 : 0);
        sto_mem_crash(s, rng, (unsigned)((r >> 8) % 1001));
        uint64_t torn = 0;
        ck_assert_int_eq(sto_mem_reopen(s, &torn), SMR_OK);
        ck_assert_uint_le(torn, 1);
        model_after_crash(s, m);
    }
}

/* A crash that tears the newest put: reads fail their checksum until the
 * reopen drops the torn tail and brings back the value it replaced. */
START_TEST(test_mem_torn_tail)
{
    struct { bool state, existed; } cases[] = {
        {false, true}, {false, false}, {true, true}, {true, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sto *s = NULL;
        ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
        put(s, 1, "a1");
        state_put(s, "other", "x");
        if (cases[c].existed) {
            put(s, 5, "e1");
            state_put(s, "term", "1");
        }
        ck_assert_int_eq(sto_sync(s), SMR_OK);
        put(s, 2, "b2"); /* unsynced, older than the torn one */
        if (cases[c].state)
            state_put(s, "term", "2");
        else
            put(s, 5, "e2");
        sto_mem_set_tear(s, 1000);
        uint64_t rng = 99 + c, torn = 0;
        sto_mem_crash(s, &rng, 1000);
        if (cases[c].state)
            ck_assert_int_eq(state_rc(s, "term"), SMR_ECORRUPT);
        else
            ck_assert_int_eq(get_rc(s, 5), SMR_ECORRUPT);
        ck_assert_int_eq(sto_mem_reopen(s, &torn), SMR_OK);
        ck_assert_uint_eq(torn, 1);
        if (cases[c].existed && cases[c].state)
            expect_state(s, "term", "1");
        else if (cases[c].state)
            ck_assert_int_eq(state_rc(s, "term"), SMR_ENOTFOUND);
        else if (cases[c].existed)
            expect(s, 5, "e1");
        else
            ck_assert_int_eq(get_rc(s, 5), SMR_ENOTFOUND);
        expect(s, 1, "a1");
        expect(s, 2, "b2"); /* kept whole */
        expect_state(s, "other", "x");
        /* A second reopen finds nothing more; the store works. */
        torn = 0;
        ck_assert_int_eq(sto_mem_reopen(s, &torn), SMR_OK);
        ck_assert_uint_eq(torn, 0);
        put(s, 5, "e3");
        ck_assert_int_eq(sto_sync(s), SMR_OK);
        expect(s, 5, "e3");
        sto_close(&s);
    }
}
END_TEST

/* Bit rot in synced data is corruption, never a torn tail: the reopen
 * refuses the store, and the damaged value reads as SMR_ECORRUPT. */
START_TEST(test_mem_corruption_refused)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct sto *s = NULL;
        ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
        ck_assert_int_eq(sto_mem_corrupt(s, &seed), SMR_ENOTFOUND);
        put(s, 1, "a1");
        put(s, 2, "b1");
        state_put(s, "term", "1");
        put(s, 3, ""); /* the newest: never the one corrupted */
        ck_assert_int_eq(sto_sync(s), SMR_OK);
        uint64_t rng = seed, torn = 0;
        sto_mem_crash(s, &rng, 0);
        ck_assert_int_eq(sto_mem_corrupt(s, &rng), SMR_OK);
        ck_assert_int_eq(sto_mem_reopen(s, &torn), SMR_ECORRUPT);
        ck_assert_uint_eq(torn, 0);
        int bad = (get_rc(s, 1) == SMR_ECORRUPT) +
                  (get_rc(s, 2) == SMR_ECORRUPT) +
                  (state_rc(s, "term") == SMR_ECORRUPT);
        ck_assert_int_eq(bad, 1);
        expect(s, 3, "");
        sto_close(&s);
    }
}
END_TEST

START_TEST(test_mem_crash_model)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        uint64_t rng = seed * 0x9e3779b97f4a7c15u;
        struct model m;
        memset(&m, 0, sizeof m);
        m.bound = m.synced_bound = 1;
        m.next_value = 1;
        struct sto *s = NULL;
        ck_assert_int_eq(sto_mem_open(&s), SMR_OK);
        for (int step = 0; step < 500; step++)
            model_step(s, &m, &rng);
        sto_close(&s);
    }
}
END_TEST

/* ---- runner ---- */

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static Suite *contract_suite(void)
{
    Suite *suite = suite_create("sto_contract");
    TCase *tc = tcase_create("every_store");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_ops_table, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_put_get_round_trip, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_overwrite, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_missing_index, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_bounds, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_truncate_prefix, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_state, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_state_bad_key, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_lsn_numbering, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_group_commit, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_large_value, 0, KIND__COUNT);
    tcase_add_loop_test(tc, test_many_entries, 0, KIND__COUNT);
    suite_add_tcase(suite, tc);

    tc = tcase_create("rocksdb");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rocksdb_reopen);
    tcase_add_test(tc, test_rocksdb_killed);
    tcase_add_test(tc, test_rocksdb_corrupt_value);
    tcase_add_test(tc, test_rocksdb_nofsync);
    tcase_add_test(tc, test_rocksdb_open_error);
    suite_add_tcase(suite, tc);

    tc = tcase_create("mem_faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mem_fail_next_sync);
    tcase_add_test(tc, test_mem_crash_keep_none);
    tcase_add_test(tc, test_mem_crash_keep_all);
    tcase_add_test(tc, test_mem_crash_independent);
    tcase_add_test(tc, test_mem_crash_model);
    tcase_add_test(tc, test_mem_torn_tail);
    tcase_add_test(tc, test_mem_corruption_refused);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    snprintf(root_dir, sizeof root_dir, "/tmp/test_sto_contract.XXXXXX");
    if (!mkdtemp(root_dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(contract_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(root_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
