/*
 * wire_enc.h: the msgpack packer primitives the wire encoders share
 * (wire.c, wire_pbft.c). Internal to the wire format: nothing outside
 * glue/wire*.c includes it.
 *
 * An encoder packs into an smr_buf through msgpack-c's packer; the first
 * error (out of memory, the buffer cap) sticks in `rc` and every later
 * write is skipped, so an encoder checks once at the end.
 */
#ifndef STRATA_GLUE_WIRE_ENC_H
#define STRATA_GLUE_WIRE_ENC_H

#include <assert.h>
#include <msgpack.h>

#include "smr.h"

struct enc {
    msgpack_packer pk;
    struct smr_buf *buf;
    int rc; /* first error; later writes are skipped */
};

static inline int enc_write(void *data, const char *bytes, size_t len)
{
    struct enc *e = data;
    if (e->rc)
        return -1;
    e->rc = smr_buf_append(e->buf, bytes, len);
    return e->rc ? -1 : 0;
}

/* Resets `out` and points the packer at it. */
static inline void enc_init(struct enc *e, struct smr_buf *out)
{
    smr_buf_reset(out);
    e->buf = out;
    e->rc = SMR_OK;
    msgpack_packer_init(&e->pk, e, enc_write);
}

static inline void enc_u64(struct enc *e, uint64_t v)
{
    (void)msgpack_pack_uint64(&e->pk, v); /* errors stick in e->rc */
}

static inline void enc_bool(struct enc *e, bool v)
{
    (void)(v ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk));
}

static inline void enc_array(struct enc *e, uint32_t n)
{
    (void)msgpack_pack_array(&e->pk, n);
}

static inline void enc_bin(struct enc *e, const uint8_t *data, size_t len)
{
    assert(data || len == 0);
    (void)msgpack_pack_bin(&e->pk, len);
    (void)msgpack_pack_bin_body(&e->pk, data, len);
}

/* The first error, or SMR_OK; on error the buffer is left empty. */
static inline int enc_end(struct enc *e)
{
    if (e->rc)
        smr_buf_reset(e->buf);
    return e->rc;
}

#endif
