/*
 * wire_reader.c: the strict msgpack reader described in wire_reader.h.
 *
 * Format bytes come from the msgpack specification (spec.md, "Formats"):
 * positive fixint 0x00-0x7f, fixarray 0x90-0x9f, false 0xc2, true 0xc3,
 * bin 8/16/32 0xc4-0xc6, uint 8/16/32/64 0xcc-0xcf, array 16/32 0xdc-0xdd.
 * Multi-byte lengths and integers are big-endian.
 */
#include "wire_reader.h"

#include <assert.h>
#include <string.h>

void wire_reader_init(struct wire_reader *r, const uint8_t *data, size_t len)
{
    assert(data || len == 0);
    r->p = data;
    r->end = len ? data + len : data; /* NULL + 0 is undefined in C */
}

size_t wire_reader_left(const struct wire_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* Consumes a `width`-byte big-endian integer (width 1, 2, 4 or 8). */
static int read_be(struct wire_reader *r, unsigned width, uint64_t *v)
{
    if (wire_reader_left(r) < width)
        return SMR_ETRUNCATED;
    uint64_t x = 0;
    for (unsigned i = 0; i < width; i++)
        x = (x << 8) | r->p[i];
    r->p += width;
    *v = x;
    return SMR_OK;
}

/* Consumes one format byte. */
static int read_tag(struct wire_reader *r, uint8_t *tag)
{
    if (r->p == r->end)
        return SMR_ETRUNCATED;
    *tag = *r->p++;
    return SMR_OK;
}

/* Reads the element count of an array header, whatever it is. */
static int read_array_count(struct wire_reader *r, uint64_t *n)
{
    uint8_t tag;
    int rc = read_tag(r, &tag);
    if (rc)
        return rc;
    if (tag >= 0x90 && tag <= 0x9f) {
        *n = tag & 0x0f;
        return SMR_OK;
    }
    if (tag == 0xdc)
        return read_be(r, 2, n);
    if (tag == 0xdd)
        return read_be(r, 4, n);
    return SMR_EMALFORMED;
}

int wire_read_array(struct wire_reader *r, uint32_t max, uint32_t *n)
{
    uint64_t count;
    int rc = read_array_count(r, &count);
    if (rc)
        return rc;
    if (count > max)
        return SMR_ETOOBIG;
    /* Every element takes at least one byte. */
    if (count > wire_reader_left(r))
        return SMR_ETRUNCATED;
    *n = (uint32_t)count;
    return SMR_OK;
}

int wire_read_array_exact(struct wire_reader *r, uint32_t n)
{
    uint64_t count;
    int rc = read_array_count(r, &count);
    if (rc)
        return rc;
    if (count != n)
        return SMR_EMALFORMED;
    if (count > wire_reader_left(r))
        return SMR_ETRUNCATED;
    return SMR_OK;
}

int wire_read_uint(struct wire_reader *r, uint64_t max, uint64_t *v)
{
    uint8_t tag;
    uint64_t x;
    int rc = read_tag(r, &tag);
    if (rc)
        return rc;
    if (tag <= 0x7f)
        x = tag;
    else if (tag >= 0xcc && tag <= 0xcf)
        rc = read_be(r, 1u << (tag - 0xcc), &x);
    else
        return SMR_EMALFORMED;
    if (rc)
        return rc;
    if (x > max)
        return SMR_EMALFORMED;
    *v = x;
    return SMR_OK;
}

int wire_read_u64(struct wire_reader *r, uint64_t *v)
{
    return wire_read_uint(r, UINT64_MAX, v);
}

int wire_read_u32(struct wire_reader *r, uint32_t *v)
{
    uint64_t x;
    int rc = wire_read_uint(r, UINT32_MAX, &x);
    if (rc)
        return rc;
    *v = (uint32_t)x;
    return SMR_OK;
}

int wire_read_bool(struct wire_reader *r, bool *v)
{
    uint8_t tag;
    int rc = read_tag(r, &tag);
    if (rc)
        return rc;
    if (tag != 0xc2 && tag != 0xc3)
        return SMR_EMALFORMED;
    *v = tag == 0xc3;
    return SMR_OK;
}

int wire_read_bin(struct wire_reader *r, uint32_t max, const uint8_t **data,
                  uint32_t *len)
{
    uint8_t tag;
    uint64_t n;
    int rc = read_tag(r, &tag);
    if (rc)
        return rc;
    if (tag < 0xc4 || tag > 0xc6)
        return SMR_EMALFORMED;
    rc = read_be(r, 1u << (tag - 0xc4), &n);
    if (rc)
        return rc;
    if (n > max)
        return SMR_ETOOBIG;
    if (n > wire_reader_left(r))
        return SMR_ETRUNCATED;
    *data = r->p;
    *len = (uint32_t)n;
    r->p += n;
    return SMR_OK;
}

int wire_read_fixed(struct wire_reader *r, uint8_t *out, uint32_t n)
{
    const uint8_t *p;
    uint32_t len;
    int rc = wire_read_bin(r, n, &p, &len);
    if (rc)
        return rc;
    if (len != n)
        return SMR_EMALFORMED;
    memcpy(out, p, n);
    return SMR_OK;
}

int wire_read_end(const struct wire_reader *r)
{
    return r->p == r->end ? SMR_OK : SMR_EMALFORMED;
}
