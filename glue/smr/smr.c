/*
 * smr.c: error strings, bounded buffers and the canonical batch encoding
 * described in smr.h.
 */
#include "smr.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int smr_mutant = SMR_MUTANT_NONE;

static const char *const err_text[] = {
#define SMR_ERR_TEXT(name, text) text,
    SMR_ERRORS(SMR_ERR_TEXT)
#undef SMR_ERR_TEXT
};

const char *smr_strerror(int err)
{
    if (err < 0 || err >= SMR_ERR__COUNT)
        return "unknown error";
    return err_text[err];
}

void smr_buf_init(struct smr_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void smr_buf_free(struct smr_buf *b)
{
    free(b->data);
    smr_buf_init(b);
}

void smr_buf_reset(struct smr_buf *b)
{
    b->len = 0;
}

int smr_buf_reserve(struct smr_buf *b, size_t extra)
{
    if (extra > SMR_FRAME_BYTES_MAX || b->len + extra > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return SMR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        return SMR_ENOMEM;
    b->data = data;
    b->cap = cap;
    return SMR_OK;
}

int smr_buf_append(struct smr_buf *b, const void *data, size_t len)
{
    int rc = smr_buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return SMR_OK;
}

int smr_buf_set(struct smr_buf *b, const void *data, size_t len)
{
    smr_buf_reset(b);
    return smr_buf_append(b, data, len);
}

void smr_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void smr_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t smr_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t smr_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define BATCH_HEADER_BYTES 4
#define BATCH_ENTRY_HEADER_BYTES 20

int smr_batch_begin(struct smr_buf *b)
{
    uint8_t header[BATCH_HEADER_BYTES] = {0};
    smr_buf_reset(b);
    return smr_buf_append(b, header, sizeof header);
}

size_t smr_batch_entry_bytes(const struct smr_request *r)
{
    return BATCH_ENTRY_HEADER_BYTES + r->op_len;
}

int smr_batch_add(struct smr_buf *b, const struct smr_request *r)
{
    assert(b->len >= BATCH_HEADER_BYTES);
    if (r->op_len > SMR_OP_BYTES_MAX)
        return SMR_ETOOBIG;
    if (b->len + smr_batch_entry_bytes(r) > SMR_BATCH_BYTES_MAX)
        return SMR_ETOOBIG;
    int rc = smr_buf_reserve(b, smr_batch_entry_bytes(r));
    if (rc)
        return rc;
    uint8_t *p = b->data + b->len;
    smr_put_u64(p, r->client_id);
    smr_put_u64(p + 8, r->req_id);
    smr_put_u32(p + 16, r->op_len);
    if (r->op_len)
        memcpy(p + BATCH_ENTRY_HEADER_BYTES, r->op, r->op_len);
    b->len += smr_batch_entry_bytes(r);
    smr_put_u32(b->data, smr_get_u32(b->data) + 1);
    return SMR_OK;
}

uint32_t smr_batch_count(const uint8_t *bytes, size_t len)
{
    return len < BATCH_HEADER_BYTES ? 0 : smr_get_u32(bytes);
}

int smr_batch_iter_init(struct smr_batch_iter *it, const uint8_t *bytes,
                        size_t len)
{
    it->p = bytes;
    it->end = bytes + len;
    it->left = 0;
    if (len == 0)
        return SMR_OK;
    if (len < BATCH_HEADER_BYTES)
        return SMR_EMALFORMED;
    it->left = smr_get_u32(bytes);
    it->p += BATCH_HEADER_BYTES;
    /* Every entry needs at least its header: cap the count by the bytes. */
    if (it->left > (len - BATCH_HEADER_BYTES) / BATCH_ENTRY_HEADER_BYTES)
        return SMR_EMALFORMED;
    return SMR_OK;
}

int smr_batch_next(struct smr_batch_iter *it, struct smr_request *out)
{
    size_t remain = (size_t)(it->end - it->p);
    if (it->left == 0)
        return remain == 0 ? SMR_ENOTFOUND : SMR_EMALFORMED;
    if (remain < BATCH_ENTRY_HEADER_BYTES)
        return SMR_EMALFORMED;
    uint32_t op_len = smr_get_u32(it->p + 16);
    if (op_len > SMR_OP_BYTES_MAX ||
        op_len > remain - BATCH_ENTRY_HEADER_BYTES)
        return SMR_EMALFORMED;
    out->client_id = smr_get_u64(it->p);
    out->req_id = smr_get_u64(it->p + 8);
    out->op_len = op_len;
    out->op = it->p + BATCH_ENTRY_HEADER_BYTES;
    it->p += BATCH_ENTRY_HEADER_BYTES + op_len;
    it->left--;
    return SMR_OK;
}

int smr_batch_validate(const uint8_t *bytes, size_t len)
{
    struct smr_batch_iter it;
    struct smr_request r;
    int rc = smr_batch_iter_init(&it, bytes, len);
    if (rc)
        return rc;
    while ((rc = smr_batch_next(&it, &r)) == SMR_OK)
        ;
    return rc == SMR_ENOTFOUND ? SMR_OK : rc;
}

uint64_t smr_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void smr_hash(uint8_t out[SMR_DIGEST_BYTES], const void *data, size_t len)
{
    crypto_generichash(out, SMR_DIGEST_BYTES, data, len, NULL, 0);
}

/* CRC-32C, reflected polynomial 0x82F63B78. A table per byte of an 8-byte
 * word (slicing by 8) when the CPU lacks the instruction. */
static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
                                 crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_soft(uint32_t c, const uint8_t *p, size_t len)
{
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c; /* little-endian: the low byte is the first */
        c = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
            crc32c_table[5][(w >> 16) & 0xff] ^
            crc32c_table[4][(w >> 24) & 0xff] ^
            crc32c_table[3][(w >> 32) & 0xff] ^
            crc32c_table[2][(w >> 40) & 0xff] ^
            crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
    }
    while (len--)
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t c, const uint8_t *p, size_t len)
{
    uint64_t c64 = c;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    while (len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t smr_checksum32(const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    const uint8_t *p = data;
    uint32_t c = 0xFFFFFFFFu;
#if defined(__x86_64__)
    if (crc32c_hw)
        return ~crc32c_sse42(c, p, len);
#endif
    return ~crc32c_soft(c, p, len);
}

uint32_t smr_checksum32_portable(const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_soft(0xFFFFFFFFu, data, len);
}
