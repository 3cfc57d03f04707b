/*
 * smr.c: error strings, bounded buffers and the canonical batch encoding
 * described in smr.h.
 */
#include "smr.h"

#include <assert.h>
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

uint32_t smr_checksum32(const void *data, size_t len)
{
    uint8_t h[SMR_DIGEST_BYTES];
    smr_hash(h, data, len);
    return smr_get_u32(h);
}
