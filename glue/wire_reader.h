/*
 * wire_reader.h: a strict, allocation-free msgpack reader for hostile bytes.
 *
 * msgpack-c's generic unpacker trusts declared sizes (a six-byte frame can
 * make it reserve tens of GiB), so network input never reaches it. This
 * reader knows only the handful of msgpack types Strata's schemas use
 * (unsigned ints, bools, bins, arrays) and walks a borrowed byte range with
 * two pointers. Every read checks, before it consumes anything:
 *   - the format byte is the expected type (else SMR_EMALFORMED);
 *   - the value fits the field (else SMR_EMALFORMED for a scalar out of
 *     range, SMR_ETOOBIG for a length over the field's bound);
 *   - the declared length fits in the bytes that remain (else
 *     SMR_ETRUNCATED). An array of n elements needs at least n bytes, so
 *     array counts are capped by the remaining bytes too.
 * It never allocates and never copies: bins come back as pointers into the
 * input. On error the reader's position is unspecified; callers give up.
 */
#ifndef STRATA_GLUE_WIRE_READER_H
#define STRATA_GLUE_WIRE_READER_H

#include "smr.h"

struct wire_reader {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last byte */
};

/* Starts reading `len` bytes at `data` (borrowed for the reader's life). */
void wire_reader_init(struct wire_reader *r, const uint8_t *data, size_t len);

/* Bytes not yet read. */
size_t wire_reader_left(const struct wire_reader *r);

/* Reads an array header into `*n`: SMR_ETOOBIG when the count exceeds
 * `max`, SMR_ETRUNCATED when it exceeds the bytes that remain. */
int wire_read_array(struct wire_reader *r, uint32_t max, uint32_t *n);

/* Reads an array header whose count must be exactly `n` (SMR_EMALFORMED
 * otherwise). */
int wire_read_array_exact(struct wire_reader *r, uint32_t n);

/* Reads an unsigned integer in any msgpack unsigned encoding (positive
 * fixint, uint 8/16/32/64). Signed encodings, other types, and values above
 * `max` are SMR_EMALFORMED. */
int wire_read_uint(struct wire_reader *r, uint64_t max, uint64_t *v);
int wire_read_u64(struct wire_reader *r, uint64_t *v);
int wire_read_u32(struct wire_reader *r, uint32_t *v);

/* Reads true or false. */
int wire_read_bool(struct wire_reader *r, bool *v);

/* Reads a bin 8/16/32 (not str): `*data` points into the input. SMR_ETOOBIG
 * when its length exceeds `max`, SMR_ETRUNCATED when it exceeds the bytes
 * that remain. */
int wire_read_bin(struct wire_reader *r, uint32_t max, const uint8_t **data,
                  uint32_t *len);

/* Reads a bin of exactly `n` bytes (a digest, a tag) into `out`:
 * SMR_EMALFORMED for another length (SMR_ETOOBIG above `n`). */
int wire_read_fixed(struct wire_reader *r, uint8_t *out, uint32_t n);

/* SMR_OK when every byte was read, SMR_EMALFORMED when bytes trail. */
int wire_read_end(const struct wire_reader *r);

#endif
