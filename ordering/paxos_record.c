/*
 * paxos_record.c: the durable record formats of the Multi-Paxos core.
 *
 * Each record ends with a checksum so that recovery tells a torn or corrupt
 * record from a good one; recovery treats these bytes as untrusted.
 *
 *   log record:  u8 version, u64 ballot, u64 epoch, u64 leader_time_ms,
 *                u32 batch_len, batch bytes, u32 checksum
 *   u64 record:  u64 value, u32 checksum     (promise, commit mark)
 */
#include "paxos_internal.h"

#include <string.h>

#define RECORD_VERSION 1
#define RECORD_HEADER_BYTES (1 + 8 + 8 + 8 + 4)
#define CHECKSUM_BYTES 4

int ord_paxos_record_encode(struct smr_buf *out,
                            const struct ord_paxos_entry *e)
{
    size_t total = RECORD_HEADER_BYTES + e->batch_len + CHECKSUM_BYTES;
    smr_buf_reset(out);
    int rc = smr_buf_reserve(out, total);
    if (rc)
        return rc;
    uint8_t *p = out->data;
    p[0] = RECORD_VERSION;
    smr_put_u64(p + 1, e->ballot);
    smr_put_u64(p + 9, e->epoch);
    smr_put_u64(p + 17, e->leader_time_ms);
    smr_put_u32(p + 25, e->batch_len);
    if (e->batch_len)
        memcpy(p + RECORD_HEADER_BYTES, e->batch, e->batch_len);
    size_t body = RECORD_HEADER_BYTES + e->batch_len;
    smr_put_u32(p + body, smr_checksum32(p, body));
    out->len = total;
    return SMR_OK;
}

int ord_paxos_record_decode(const uint8_t *data, size_t len, smr_seq slot,
                            struct ord_paxos_entry *out)
{
    if (len < RECORD_HEADER_BYTES + CHECKSUM_BYTES || data[0] != RECORD_VERSION)
        return SMR_ECORRUPT;
    uint32_t batch_len = smr_get_u32(data + 25);
    if (batch_len != len - RECORD_HEADER_BYTES - CHECKSUM_BYTES)
        return SMR_ECORRUPT;
    size_t body = RECORD_HEADER_BYTES + batch_len;
    if (smr_get_u32(data + body) != smr_checksum32(data, body))
        return SMR_ECORRUPT;
    const uint8_t *batch = data + RECORD_HEADER_BYTES;
    if (smr_batch_validate(batch, batch_len) != SMR_OK)
        return SMR_ECORRUPT;
    out->slot = slot;
    out->ballot = smr_get_u64(data + 1);
    out->epoch = smr_get_u64(data + 9);
    out->leader_time_ms = smr_get_u64(data + 17);
    out->batch = batch;
    out->batch_len = batch_len;
    return SMR_OK;
}

void paxos_u64_record_encode(uint8_t out[PAXOS_U64_RECORD_BYTES],
                             uint64_t value)
{
    smr_put_u64(out, value);
    smr_put_u32(out + 8, smr_checksum32(out, 8));
}

int paxos_u64_record_decode(const uint8_t *data, size_t len, uint64_t *value)
{
    if (len != PAXOS_U64_RECORD_BYTES)
        return SMR_ECORRUPT;
    if (smr_get_u32(data + 8) != smr_checksum32(data, 8))
        return SMR_ECORRUPT;
    *value = smr_get_u64(data);
    return SMR_OK;
}
