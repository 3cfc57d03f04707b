/*
 * sto_rocksdb.c: the durable store (sto.h) on RocksDB, through its C API.
 * This is the only file that includes rocksdb/c.h.
 *
 * Layout: log entry i lives under 'L' + big-endian u64 i, so key order is
 * index order; protocol state under 'S' + key; the truncation bound under
 * 'M' + "log_bound". Every value ends with a 32-bit checksum over its key and
 * bytes, so a torn or misplaced value reads as SMR_ECORRUPT, never as data
 * (RocksDB's WAL checksums its records too; this is defence in depth).
 *
 * Writes go to RocksDB at once with sync=false, into the memtable (so reads
 * see them) and RocksDB's WAL buffer (manual_wal_flush: no system call per
 * write). sync() is FlushWAL(sync=true): one write() of the buffered WAL and
 * one fdatasync, so every earlier write becomes durable together (group
 * commit). Without fsync it only hands the buffer to the kernel, as close
 * does. Recovery is point-in-time: a torn WAL tail is dropped, so what
 * survives a crash is a prefix of the unsynced writes, which the contract
 * allows. A prefix truncation is one atomic batch: a range delete
 * plus the new bound. The bound and the first and last index are cached in
 * memory and found again on open by seeking.
 *
 * Tuned for a write-heavy, fsync-per-batch workload on a small machine,
 * with a bounded memory footprint: at most two 16 MiB memtables, one 8 MiB
 * block cache that also holds the SST index blocks (so table-reader memory
 * does not grow with the log on disk), at most 256 open SST files, no
 * compression, two background jobs. Reads are rare (recovery and catch-up
 * of entries older than the ordering core's window), so a small cache costs
 * little.
 */
#include "sto.h"

#include <assert.h>
#include <rocksdb/c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LOG 'L'
#define KEY_STATE 'S'
#define KEY_META 'M'
#define LOG_KEY_BYTES 9
#define KEY_BYTES_MAX (1 + STO_STATE_KEY_BYTES_MAX)
#define CHECKSUM_BYTES 4
#define WRITE_BUFFER_BYTES (16u << 20)
#define WRITE_BUFFERS_MAX 2 /* one being filled, one being flushed */
#define BLOCK_CACHE_BYTES (8u << 20)
#define OPEN_FILES_MAX 256
#define BACKGROUND_JOBS 2
#define INFO_LOG_LEVEL_WARN 2 /* rocksdb::InfoLogLevel::WARN_LEVEL */
#define INFO_LOG_FILES_KEPT 2

static const char meta_bound_key[] = "Mlog_bound";

struct sto_rocksdb {
    struct sto base; /* first member: a struct sto * points here */
    rocksdb_t *db;
    rocksdb_options_t *options;
    rocksdb_writeoptions_t *write_options;
    rocksdb_readoptions_t *read_options;
    uint64_t bound;       /* indexes below it are truncated */
    uint64_t first, last; /* both 0 when the log is empty */
    bool bounds_stale;    /* a seek failed: find first/last again */
    uint8_t *scratch;     /* value being sealed */
    size_t scratch_cap;
};

static const struct sto_ops rocksdb_ops;
static const struct sto_ops rocksdb_nofsync_ops;

static struct sto_rocksdb *rdb_of(struct sto *s)
{
    assert(s && (s->ops == &rocksdb_ops || s->ops == &rocksdb_nofsync_ops));
    return (struct sto_rocksdb *)s;
}

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- keys and sealed values ---- */

static void log_key(uint8_t key[LOG_KEY_BYTES], uint64_t index)
{
    key[0] = KEY_LOG;
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(index >> (56 - 8 * i));
}

static bool log_key_decode(const char *key, size_t len, uint64_t *index)
{
    if (len != LOG_KEY_BYTES || key[0] != KEY_LOG)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint8_t)key[1 + i];
    *index = v;
    return true;
}

static size_t state_key(uint8_t key[KEY_BYTES_MAX], const char *name)
{
    size_t n = strlen(name);
    assert(n > 0 && n <= STO_STATE_KEY_BYTES_MAX);
    key[0] = KEY_STATE;
    memcpy(key + 1, name, n);
    return 1 + n;
}

/* Checksum binding a value to its key: over the key and the checksum of
 * the bytes, so a value copied under another key does not verify. */
static uint32_t seal_checksum(const uint8_t *key, size_t key_len,
                              const uint8_t *data, size_t len)
{
    uint8_t buf[KEY_BYTES_MAX + CHECKSUM_BYTES];
    assert(key_len <= KEY_BYTES_MAX);
    memcpy(buf, key, key_len);
    smr_put_u32(buf + key_len, smr_checksum32(data, len));
    return smr_checksum32(buf, key_len + CHECKSUM_BYTES);
}

/* Builds data + checksum in the scratch buffer; sets *sealed_len. */
static int seal(struct sto_rocksdb *r, const uint8_t *key, size_t key_len,
                const uint8_t *data, size_t len, size_t *sealed_len)
{
    size_t need = len + CHECKSUM_BYTES;
    if (need > r->scratch_cap) {
        uint8_t *p = realloc(r->scratch, need);
        if (!p)
            return SMR_ENOMEM;
        r->scratch = p;
        r->scratch_cap = need;
    }
    if (len)
        memcpy(r->scratch, data, len);
    smr_put_u32(r->scratch + len, seal_checksum(key, key_len, data, len));
    *sealed_len = need;
    return SMR_OK;
}

/* Checks a stored value; on success the bytes are raw[0, *len). */
static int unseal(const uint8_t *key, size_t key_len, const char *raw,
                  size_t raw_len, size_t *len)
{
    if (raw_len < CHECKSUM_BYTES)
        return SMR_ECORRUPT;
    size_t n = raw_len - CHECKSUM_BYTES;
    const uint8_t *p = (const uint8_t *)raw;
    if (smr_get_u32(p + n) != seal_checksum(key, key_len, p, n))
        return SMR_ECORRUPT;
    *len = n;
    return SMR_OK;
}

/* ---- raw access ---- */

static int put_sealed(struct sto_rocksdb *r, const uint8_t *key, size_t key_len,
                      const uint8_t *data, size_t len)
{
    if (len > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    size_t sealed_len;
    int rc = seal(r, key, key_len, data, len, &sealed_len);
    if (rc != SMR_OK)
        return rc;
    char *err = NULL;
    rocksdb_put(r->db, r->write_options, (const char *)key, key_len,
                (const char *)r->scratch, sealed_len, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    return SMR_OK;
}

/* Reads and verifies `key` into `out` (unchanged on failure). */
static int get_sealed(struct sto_rocksdb *r, const uint8_t *key, size_t key_len,
                      struct smr_buf *out)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned(
        r->db, r->read_options, (const char *)key, key_len, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    if (!v)
        return SMR_ENOTFOUND;
    size_t raw_len, len;
    const char *raw = rocksdb_pinnableslice_value(v, &raw_len);
    int rc = unseal(key, key_len, raw, raw_len, &len);
    if (rc != SMR_OK)
        goto cleanup;
    size_t old_len = out->len;
    out->len = 0;
    rc = smr_buf_reserve(out, len);
    if (rc != SMR_OK) {
        out->len = old_len;
        goto cleanup;
    }
    if (len)
        memcpy(out->data, raw, len);
    out->len = len;
cleanup:
    rocksdb_pinnableslice_destroy(v);
    return rc;
}

/* ---- bounds ---- */

/* Finds the first log index >= `from` and the last log index by seeking. */
static int seek_bounds(struct sto_rocksdb *r, uint64_t from)
{
    uint8_t key[LOG_KEY_BYTES];
    uint64_t first = 0, last = 0;
    int rc = SMR_OK;
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->read_options);
    log_key(key, from);
    rocksdb_iter_seek(it, (const char *)key, sizeof key);
    size_t klen;
    const char *k;
    if (rocksdb_iter_valid(it)) {
        k = rocksdb_iter_key(it, &klen);
        if (klen > 0 && k[0] == KEY_LOG && !log_key_decode(k, klen, &first))
            rc = SMR_ECORRUPT;
    }
    log_key(key, UINT64_MAX);
    rocksdb_iter_seek_for_prev(it, (const char *)key, sizeof key);
    if (first != 0 && rocksdb_iter_valid(it)) {
        k = rocksdb_iter_key(it, &klen);
        if (!log_key_decode(k, klen, &last))
            rc = SMR_ECORRUPT;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (err) {
        rocksdb_free(err);
        rc = SMR_EIO;
    }
    rocksdb_iter_destroy(it);
    if (rc != SMR_OK)
        return rc;
    if (first == 0 || last < first)
        first = last = 0; /* index 0 is never written (sto_log_put) */
    r->first = first;
    r->last = last;
    r->bounds_stale = false;
    return SMR_OK;
}

static int load_bound(struct sto_rocksdb *r)
{
    struct smr_buf b;
    smr_buf_init(&b);
    int rc = get_sealed(r, (const uint8_t *)meta_bound_key,
                        sizeof meta_bound_key - 1, &b);
    if (rc == SMR_ENOTFOUND) {
        r->bound = 0;
        rc = SMR_OK;
    } else if (rc == SMR_OK) {
        if (b.len == 8)
            r->bound = smr_get_u64(b.data);
        else
            rc = SMR_ECORRUPT;
    }
    smr_buf_free(&b);
    return rc;
}

/* ---- ops ---- */

static int rdb_log_put(struct sto *s, uint64_t index, const uint8_t *data,
                       size_t len)
{
    struct sto_rocksdb *r = rdb_of(s);
    if (index < r->bound)
        return SMR_ECOMPACTED;
    uint8_t key[LOG_KEY_BYTES];
    log_key(key, index);
    int rc = put_sealed(r, key, sizeof key, data, len);
    if (rc != SMR_OK || r->bounds_stale)
        return rc;
    if (r->first == 0 || index < r->first)
        r->first = index;
    if (index > r->last)
        r->last = index;
    return SMR_OK;
}

static int rdb_log_get(struct sto *s, uint64_t index, struct smr_buf *out)
{
    struct sto_rocksdb *r = rdb_of(s);
    if (index < r->bound)
        return SMR_ECOMPACTED;
    uint8_t key[LOG_KEY_BYTES];
    log_key(key, index);
    return get_sealed(r, key, sizeof key, out);
}

static int rdb_log_bounds(struct sto *s, uint64_t *first, uint64_t *last)
{
    struct sto_rocksdb *r = rdb_of(s);
    if (r->bounds_stale) {
        int rc = seek_bounds(r, r->bound);
        if (rc != SMR_OK)
            return rc;
    }
    *first = r->first;
    *last = r->last;
    assert(*first == 0 || (*first >= r->bound && *first <= *last));
    return SMR_OK;
}

static int rdb_log_truncate_prefix(struct sto *s, uint64_t below)
{
    struct sto_rocksdb *r = rdb_of(s);
    if (below <= r->bound)
        return SMR_OK; /* nothing to do: the bound never moves down */
    uint8_t start[LOG_KEY_BYTES], end[LOG_KEY_BYTES], bound[8];
    log_key(start, 0);
    log_key(end, below);
    smr_put_u64(bound, below);
    size_t sealed_len;
    int rc = seal(r, (const uint8_t *)meta_bound_key, sizeof meta_bound_key - 1,
                  bound, sizeof bound, &sealed_len);
    if (rc != SMR_OK)
        return rc;
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range(batch, (const char *)start, sizeof start,
                                    (const char *)end, sizeof end);
    rocksdb_writebatch_put(batch, meta_bound_key, sizeof meta_bound_key - 1,
                           (const char *)r->scratch, sealed_len);
    char *err = NULL;
    rocksdb_write(r->db, r->write_options, batch, &err);
    rocksdb_writebatch_destroy(batch);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    r->bound = below;
    if (r->bounds_stale || r->first == 0 || r->first >= below)
        return SMR_OK;
    if (r->last < below) {
        r->first = r->last = 0;
        return SMR_OK;
    }
    if (seek_bounds(r, below) != SMR_OK)
        r->bounds_stale = true; /* the write is done; log_bounds retries */
    return SMR_OK;
}

static int rdb_state_put(struct sto *s, const char *name, const uint8_t *data,
                         size_t len)
{
    uint8_t key[KEY_BYTES_MAX];
    size_t key_len = state_key(key, name);
    return put_sealed(rdb_of(s), key, key_len, data, len);
}

static int rdb_state_get(struct sto *s, const char *name, struct smr_buf *out)
{
    uint8_t key[KEY_BYTES_MAX];
    size_t key_len = state_key(key, name);
    return get_sealed(rdb_of(s), key, key_len, out);
}

/* One fsync of the WAL covers every write issued so far. */
static int rdb_sync(struct sto *s)
{
    struct sto_rocksdb *r = rdb_of(s);
    char *err = NULL;
    rocksdb_flush_wal(r->db, 1, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO; /* the wrapper poisons the store */
    }
    return SMR_OK;
}

/* Without fsync: hand the WAL to the kernel, so it survives the process. */
static int rdb_sync_nofsync(struct sto *s)
{
    struct sto_rocksdb *r = rdb_of(s);
    char *err = NULL;
    rocksdb_flush_wal(r->db, 0, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    return SMR_OK;
}

static void rdb_destroy(struct sto *s)
{
    struct sto_rocksdb *r = rdb_of(s);
    if (r->db) {
        char *err = NULL;
        rocksdb_flush_wal(r->db, 0, &err); /* hand the WAL to the kernel */
        rocksdb_free(err);
        rocksdb_close(r->db);
    }
    if (r->read_options)
        rocksdb_readoptions_destroy(r->read_options);
    if (r->write_options)
        rocksdb_writeoptions_destroy(r->write_options);
    if (r->options)
        rocksdb_options_destroy(r->options);
    free(r->scratch);
    free(r);
}

#define ROCKSDB_OPS(ops_name, name_text, is_durable, sync_fn)                  \
    static const struct sto_ops ops_name = {                                   \
        .version = STO_OPS_VERSION,                                            \
        .name = name_text,                                                     \
        .durable = is_durable,                                                 \
        .destroy = rdb_destroy,                                                \
        .log_put = rdb_log_put,                                                \
        .log_get = rdb_log_get,                                                \
        .log_bounds = rdb_log_bounds,                                          \
        .log_truncate_prefix = rdb_log_truncate_prefix,                        \
        .state_put = rdb_state_put,                                            \
        .state_get = rdb_state_get,                                            \
        .sync = sync_fn,                                                       \
    };
ROCKSDB_OPS(rocksdb_ops, "rocksdb", true, rdb_sync)
ROCKSDB_OPS(rocksdb_nofsync_ops, "rocksdb-nofsync", false, rdb_sync_nofsync)
#undef ROCKSDB_OPS

static rocksdb_options_t *make_options(void)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_increase_parallelism(o, BACKGROUND_JOBS);
    rocksdb_options_set_max_background_jobs(o, BACKGROUND_JOBS);
    rocksdb_options_set_write_buffer_size(o, WRITE_BUFFER_BYTES);
    rocksdb_options_set_max_write_buffer_number(o, WRITE_BUFFERS_MAX);
    rocksdb_options_set_max_open_files(o, OPEN_FILES_MAX);
    /* The table factory keeps its own reference to the cache (shared_ptr),
     * so both handles can go once it is set. */
    rocksdb_cache_t *cache = rocksdb_cache_create_lru(BLOCK_CACHE_BYTES);
    rocksdb_block_based_table_options_t *t =
        rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_cache_destroy(cache);
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_wal_recovery_mode(o, rocksdb_point_in_time_recovery);
    rocksdb_options_set_info_log_level(o, INFO_LOG_LEVEL_WARN);
    rocksdb_options_set_keep_log_file_num(o, INFO_LOG_FILES_KEPT);
    rocksdb_options_set_manual_wal_flush(o, 1);
    return o;
}

int sto_rocksdb_open(const char *path, bool fsync, struct sto **out, char *err,
                     size_t err_len)
{
    assert(path && out);
    struct sto_rocksdb *r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, err_len, "out of memory");
        return SMR_ENOMEM;
    }
    r->base.ops = fsync ? &rocksdb_ops : &rocksdb_nofsync_ops;
    r->options = make_options();
    r->write_options = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->write_options, 0);
    r->read_options = rocksdb_readoptions_create();
    char *db_err = NULL;
    int rc = SMR_OK;
    r->db = rocksdb_open(r->options, path, &db_err);
    if (db_err) {
        set_err(err, err_len, "rocksdb open %s: %s", path, db_err);
        rocksdb_free(db_err);
        r->db = NULL;
        rc = SMR_EIO;
        goto fail;
    }
    rc = load_bound(r);
    if (rc == SMR_OK)
        rc = seek_bounds(r, r->bound);
    if (rc != SMR_OK) {
        set_err(err, err_len, "rocksdb open %s: reading the log bounds: %s",
                path, smr_strerror(rc));
        goto fail;
    }
    *out = &r->base;
    return SMR_OK;
fail:
    rdb_destroy(&r->base);
    return rc;
}

/* ---- test hooks (sto.h, test-only section) ---- */

int sto_rocksdb_put_raw_for_test(struct sto *s, uint64_t index,
                                 const uint8_t *raw, size_t len)
{
    struct sto_rocksdb *r = rdb_of(s);
    assert(raw || len == 0);
    uint8_t key[LOG_KEY_BYTES];
    log_key(key, index);
    char *err = NULL;
    rocksdb_put(r->db, r->write_options, (const char *)key, sizeof key,
                (const char *)raw, len, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    return SMR_OK;
}

int sto_rocksdb_corrupt_for_test(struct sto *s, uint64_t index)
{
    struct sto_rocksdb *r = rdb_of(s);
    uint8_t key[LOG_KEY_BYTES];
    log_key(key, index);
    char *err = NULL;
    size_t len = 0;
    char *raw = rocksdb_get(r->db, r->read_options, (const char *)key,
                            sizeof key, &len, &err);
    if (err) {
        rocksdb_free(err);
        return SMR_EIO;
    }
    if (!raw)
        return SMR_ENOTFOUND;
    int rc = SMR_OK;
    if (len == 0)
        goto cleanup;
    raw[0] ^= 0x01; /* one flipped bit, as a bad sector might leave */
    rc = sto_rocksdb_put_raw_for_test(s, index, (const uint8_t *)raw, len);
cleanup:
    rocksdb_free(raw);
    return rc;
}
