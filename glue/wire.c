/*
 * wire.c: encoders and strict decoders for the frames described in wire.h.
 *
 * Encoding goes through msgpack-c's packer, writing into an smr_buf through
 * a callback that remembers the first error (so each encoder is a straight
 * list of fields and checks the error once at the end). Decoding goes
 * through wire_reader.c only: this file must never call msgpack_unpack*,
 * whose generic unpacker reserves memory by declared sizes. Decoders read
 * into locals and copy to the caller only when the whole frame is valid.
 */
#include "wire.h"

#include <assert.h>
#include <msgpack.h>
#include <string.h>

#include "wire_enc.h"
#include "wire_reader.h"

/* Number of top-level array elements (version and type included). */
static const uint32_t frame_fields[WIRE_TYPE__MAX + 1] = {
    [WIRE_REQUEST] = 5,   [WIRE_REPLY] = 9,      [WIRE_STATUS_REQ] = 3,
    [WIRE_STATUS] = 16,   [WIRE_PAXOS] = 12,     [WIRE_COMMITTED] = 6,
    [WIRE_SUBSCRIBE] = 5, [WIRE_CHECKPOINT] = 4, [WIRE_SNAPSHOT_REQUIRED] = 3,
    [WIRE_PBFT] = 10, /* wire_pbft.c */
    [WIRE_STATE_REQ] = 8, [WIRE_STATE_CHUNK] = 10, [WIRE_REPLIES] = 3,
};

#define PAXOS_ENTRY_FIELDS 5

static const char *const type_names[WIRE_TYPE__MAX + 1] = {
    [WIRE_REQUEST] = "REQUEST",
    [WIRE_REPLY] = "REPLY",
    [WIRE_STATUS_REQ] = "STATUS_REQ",
    [WIRE_STATUS] = "STATUS",
    [WIRE_PAXOS] = "PAXOS",
    [WIRE_COMMITTED] = "COMMITTED",
    [WIRE_SUBSCRIBE] = "SUBSCRIBE",
    [WIRE_CHECKPOINT] = "CHECKPOINT",
    [WIRE_SNAPSHOT_REQUIRED] = "SNAPSHOT_REQUIRED",
    [WIRE_PBFT] = "PBFT",
    [WIRE_STATE_REQ] = "STATE_REQ",
    [WIRE_STATE_CHUNK] = "STATE_CHUNK",
    [WIRE_REPLIES] = "REPLIES",
};

/* Returns the first error of a sequence of reads. */
#define TRY(expr)                                                              \
    do {                                                                       \
        int try_rc_ = (expr);                                                  \
        if (try_rc_)                                                           \
            return try_rc_;                                                    \
    } while (0)

const char *wire_type_name(int type)
{
    if (type < WIRE_REQUEST || type > WIRE_TYPE__MAX)
        return "UNKNOWN";
    return type_names[type];
}

/* ---- Encoding ---------------------------------------------------------- */

/* Resets `out` and writes the array header, version and type. */
static void enc_begin(struct enc *e, struct smr_buf *out, int type)
{
    assert(type >= WIRE_REQUEST && type <= WIRE_TYPE__MAX);
    enc_init(e, out);
    enc_array(e, frame_fields[type]);
    enc_u64(e, WIRE_VERSION);
    enc_u64(e, (uint64_t)type);
}

/* Refuses a message over a bound, leaving `out` empty as documented. */
static int enc_refuse(struct smr_buf *out, int rc)
{
    smr_buf_reset(out);
    return rc;
}

int wire_encode_request(struct smr_buf *out, const struct smr_request *msg)
{
    struct enc e;
    if (msg->op_len > SMR_OP_BYTES_MAX)
        return enc_refuse(out, SMR_ETOOBIG);
    enc_begin(&e, out, WIRE_REQUEST);
    enc_u64(&e, msg->client_id);
    enc_u64(&e, msg->req_id);
    enc_bin(&e, msg->op, msg->op_len);
    return enc_end(&e);
}

int wire_encode_reply(struct smr_buf *out, const struct wire_reply *msg)
{
    struct enc e;
    assert((unsigned)msg->status <= WIRE_REPLY__MAX);
    if (msg->result_len > WIRE_RESULT_BYTES_MAX)
        return enc_refuse(out, SMR_ETOOBIG);
    enc_begin(&e, out, WIRE_REPLY);
    enc_u64(&e, msg->client_id);
    enc_u64(&e, msg->req_id);
    enc_u64(&e, msg->seq);
    enc_u64(&e, (uint64_t)msg->status);
    enc_u64(&e, msg->leader_hint);
    enc_bin(&e, msg->result, msg->result_len);
    enc_bin(&e, msg->tag, msg->has_tag ? SMR_TAG_BYTES : 0);
    return enc_end(&e);
}

int wire_encode_status_req(struct smr_buf *out,
                           const struct wire_status_req *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_STATUS_REQ);
    enc_u64(&e, msg->nonce);
    return enc_end(&e);
}

int wire_encode_status(struct smr_buf *out, const struct wire_status *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_STATUS);
    enc_u64(&e, msg->nonce);
    enc_u64(&e, msg->node_id);
    enc_bool(&e, msg->is_leader);
    enc_u64(&e, msg->leader_hint);
    enc_u64(&e, msg->ballot);
    enc_u64(&e, msg->committed_seq);
    enc_u64(&e, msg->executed_seq);
    enc_u64(&e, msg->frames_rejected);
    enc_u64(&e, msg->fsyncs);
    enc_u64(&e, msg->writes_per_fsync_x100);
    enc_u64(&e, msg->peer_drops);
    enc_u64(&e, msg->client_drops);
    enc_u64(&e, msg->paxos_dropped);
    enc_u64(&e, msg->log_first);
    return enc_end(&e);
}

static void enc_paxos_entry(struct enc *e, const struct ord_paxos_entry *en)
{
    enc_array(e, PAXOS_ENTRY_FIELDS);
    enc_u64(e, en->slot);
    enc_u64(e, en->ballot);
    enc_u64(e, en->epoch);
    enc_u64(e, en->leader_time_ms);
    enc_bin(e, en->batch, en->batch_len);
}

static int paxos_check_bounds(const struct ord_paxos_msg *msg)
{
    if (msg->n_entries > ORD_PAXOS_ENTRIES_MAX)
        return SMR_ETOOBIG;
    assert(msg->entries || msg->n_entries == 0);
    for (uint32_t i = 0; i < msg->n_entries; i++)
        if (msg->entries[i].batch_len > SMR_BATCH_BYTES_MAX)
            return SMR_ETOOBIG;
    return SMR_OK;
}

int wire_encode_paxos(struct smr_buf *out, uint64_t cluster_id, smr_epoch epoch,
                      const struct ord_paxos_msg *msg)
{
    struct enc e;
    assert(msg->type >= ORD_PAXOS_PREPARE && msg->type <= ORD_PAXOS_MSG__MAX);
    int rc = paxos_check_bounds(msg);
    if (rc)
        return enc_refuse(out, rc);
    enc_begin(&e, out, WIRE_PAXOS);
    enc_u64(&e, cluster_id);
    enc_u64(&e, epoch);
    enc_u64(&e, (uint64_t)msg->type);
    enc_u64(&e, msg->from);
    enc_u64(&e, msg->ballot);
    enc_u64(&e, msg->slot);
    enc_u64(&e, msg->slot_count);
    enc_u64(&e, msg->commit_upto);
    enc_bool(&e, msg->more);
    enc_array(&e, msg->n_entries);
    for (uint32_t i = 0; i < msg->n_entries; i++)
        enc_paxos_entry(&e, &msg->entries[i]);
    return enc_end(&e);
}

int wire_encode_committed(struct smr_buf *out, const struct smr_committed *msg)
{
    struct enc e;
    if (msg->batch_len > SMR_BATCH_BYTES_MAX)
        return enc_refuse(out, SMR_ETOOBIG);
    enc_begin(&e, out, WIRE_COMMITTED);
    enc_u64(&e, msg->seq);
    enc_u64(&e, msg->epoch);
    enc_u64(&e, msg->leader_time_ms);
    enc_bin(&e, msg->batch, msg->batch_len);
    return enc_end(&e);
}

int wire_encode_subscribe(struct smr_buf *out, const struct wire_subscribe *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_SUBSCRIBE);
    enc_u64(&e, msg->consumer_id);
    enc_u64(&e, msg->from_seq);
    enc_u64(&e, msg->credit);
    return enc_end(&e);
}

int wire_encode_checkpoint(struct smr_buf *out,
                           const struct wire_checkpoint *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_CHECKPOINT);
    enc_u64(&e, msg->seq);
    enc_bin(&e, msg->digest, SMR_DIGEST_BYTES);
    return enc_end(&e);
}

int wire_encode_snapshot_required(struct smr_buf *out,
                                  const struct wire_snapshot_required *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_SNAPSHOT_REQUIRED);
    enc_u64(&e, msg->first_available_seq);
    return enc_end(&e);
}

int wire_encode_state_req(struct smr_buf *out, const struct wire_state_req *msg)
{
    struct enc e;
    enc_begin(&e, out, WIRE_STATE_REQ);
    enc_u64(&e, msg->cluster_id);
    enc_u64(&e, msg->epoch);
    enc_u64(&e, msg->from);
    enc_u64(&e, msg->seq);
    enc_u64(&e, msg->offset);
    enc_bin(&e, msg->tag, SMR_TAG_BYTES);
    return enc_end(&e);
}

int wire_encode_state_chunk(struct smr_buf *out,
                            const struct wire_state_chunk *msg)
{
    if (msg->len > WIRE_STATE_CHUNK_BYTES) {
        smr_buf_reset(out);
        return SMR_ETOOBIG;
    }
    struct enc e;
    enc_begin(&e, out, WIRE_STATE_CHUNK);
    enc_u64(&e, msg->cluster_id);
    enc_u64(&e, msg->epoch);
    enc_u64(&e, msg->from);
    enc_u64(&e, msg->seq);
    enc_u64(&e, msg->total);
    enc_u64(&e, msg->offset);
    enc_bin(&e, msg->bytes, msg->len);
    enc_bin(&e, msg->tag, SMR_TAG_BYTES);
    return enc_end(&e);
}

/* ---- Decoding ---------------------------------------------------------- */

/* Reads `[version, type` and returns the type and the declared number of
 * top-level fields. */
static int dec_header(struct wire_reader *r, const uint8_t *frame, size_t len,
                      int *type, uint32_t *n_fields)
{
    uint64_t version, t;
    if (len > SMR_FRAME_BYTES_MAX)
        return SMR_ETOOBIG;
    wire_reader_init(r, frame, len);
    TRY(wire_read_array(r, UINT32_MAX, n_fields));
    if (*n_fields < 2)
        return SMR_EMALFORMED;
    TRY(wire_read_u64(r, &version));
    if (version != WIRE_VERSION)
        return SMR_EVERSION;
    TRY(wire_read_u64(r, &t));
    if (t < WIRE_REQUEST || t > WIRE_TYPE__MAX)
        return SMR_ETYPE;
    *type = (int)t;
    return SMR_OK;
}

/* Reads the header of a frame that must be of type `want`. */
static int dec_begin(struct wire_reader *r, const uint8_t *frame, size_t len,
                     int want)
{
    int type;
    uint32_t n_fields;
    TRY(dec_header(r, frame, len, &type, &n_fields));
    if (type != want)
        return SMR_ETYPE;
    if (n_fields != frame_fields[type])
        return SMR_EMALFORMED;
    return SMR_OK;
}

int wire_peek_type(const uint8_t *frame, size_t len, int *type)
{
    struct wire_reader r;
    int t;
    uint32_t n_fields;
    TRY(dec_header(&r, frame, len, &t, &n_fields));
    if (n_fields != frame_fields[t])
        return SMR_EMALFORMED;
    *type = t;
    return SMR_OK;
}

/* Reads a batch bin and validates the batch inside. */
static int dec_batch(struct wire_reader *r, const uint8_t **batch,
                     uint32_t *len)
{
    TRY(wire_read_bin(r, SMR_BATCH_BYTES_MAX, batch, len));
    return smr_batch_validate(*batch, *len) ? SMR_EMALFORMED : SMR_OK;
}

int wire_decode_request(const uint8_t *frame, size_t len,
                        struct smr_request *out)
{
    struct wire_reader r;
    struct smr_request m;
    TRY(dec_begin(&r, frame, len, WIRE_REQUEST));
    TRY(wire_read_u64(&r, &m.client_id));
    TRY(wire_read_u64(&r, &m.req_id));
    TRY(wire_read_bin(&r, SMR_OP_BYTES_MAX, &m.op, &m.op_len));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

int wire_decode_reply(const uint8_t *frame, size_t len, struct wire_reply *out)
{
    struct wire_reader r;
    struct wire_reply m;
    uint64_t status;
    TRY(dec_begin(&r, frame, len, WIRE_REPLY));
    TRY(wire_read_u64(&r, &m.client_id));
    TRY(wire_read_u64(&r, &m.req_id));
    TRY(wire_read_u64(&r, &m.seq));
    TRY(wire_read_uint(&r, WIRE_REPLY__MAX, &status));
    TRY(wire_read_u32(&r, &m.leader_hint));
    TRY(wire_read_bin(&r, WIRE_RESULT_BYTES_MAX, &m.result, &m.result_len));
    const uint8_t *tag;
    uint32_t tag_len;
    TRY(wire_read_bin(&r, SMR_TAG_BYTES, &tag, &tag_len));
    if (tag_len != 0 && tag_len != SMR_TAG_BYTES)
        return SMR_EMALFORMED;
    TRY(wire_read_end(&r));
    m.has_tag = tag_len != 0;
    if (m.has_tag)
        memcpy(m.tag, tag, SMR_TAG_BYTES);
    m.status = (enum wire_reply_status)status;
    *out = m;
    return SMR_OK;
}

int wire_decode_status_req(const uint8_t *frame, size_t len,
                           struct wire_status_req *out)
{
    struct wire_reader r;
    struct wire_status_req m;
    TRY(dec_begin(&r, frame, len, WIRE_STATUS_REQ));
    TRY(wire_read_u64(&r, &m.nonce));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

int wire_decode_status(const uint8_t *frame, size_t len,
                       struct wire_status *out)
{
    struct wire_reader r;
    struct wire_status m;
    TRY(dec_begin(&r, frame, len, WIRE_STATUS));
    TRY(wire_read_u64(&r, &m.nonce));
    TRY(wire_read_u32(&r, &m.node_id));
    TRY(wire_read_bool(&r, &m.is_leader));
    TRY(wire_read_u32(&r, &m.leader_hint));
    TRY(wire_read_u64(&r, &m.ballot));
    TRY(wire_read_u64(&r, &m.committed_seq));
    TRY(wire_read_u64(&r, &m.executed_seq));
    TRY(wire_read_u64(&r, &m.frames_rejected));
    TRY(wire_read_u64(&r, &m.fsyncs));
    TRY(wire_read_u64(&r, &m.writes_per_fsync_x100));
    TRY(wire_read_u64(&r, &m.peer_drops));
    TRY(wire_read_u64(&r, &m.client_drops));
    TRY(wire_read_u64(&r, &m.paxos_dropped));
    TRY(wire_read_u64(&r, &m.log_first));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

static int dec_paxos_entry(struct wire_reader *r, struct ord_paxos_entry *en)
{
    TRY(wire_read_array_exact(r, PAXOS_ENTRY_FIELDS));
    TRY(wire_read_u64(r, &en->slot));
    TRY(wire_read_u64(r, &en->ballot));
    TRY(wire_read_u64(r, &en->epoch));
    TRY(wire_read_u64(r, &en->leader_time_ms));
    return dec_batch(r, &en->batch, &en->batch_len);
}

/* Reads the fixed fields of struct ord_paxos_msg (all but the entries). */
static int dec_paxos_fields(struct wire_reader *r, struct ord_paxos_msg *m)
{
    uint64_t type;
    TRY(wire_read_uint(r, ORD_PAXOS_MSG__MAX, &type));
    if (type < ORD_PAXOS_PREPARE)
        return SMR_EMALFORMED;
    m->type = (enum ord_paxos_msg_type)type;
    TRY(wire_read_u32(r, &m->from));
    TRY(wire_read_u64(r, &m->ballot));
    TRY(wire_read_u64(r, &m->slot));
    TRY(wire_read_u32(r, &m->slot_count));
    TRY(wire_read_u64(r, &m->commit_upto));
    return wire_read_bool(r, &m->more);
}

int wire_decode_paxos(const uint8_t *f, size_t len, uint64_t *cluster_id,
                      smr_epoch *epoch, struct ord_paxos_msg *out,
                      struct ord_paxos_entry entries[ORD_PAXOS_ENTRIES_MAX])
{
    struct wire_reader r;
    struct ord_paxos_msg m;
    uint64_t cid, ep;
    TRY(dec_begin(&r, f, len, WIRE_PAXOS));
    TRY(wire_read_u64(&r, &cid));
    TRY(wire_read_u64(&r, &ep));
    TRY(dec_paxos_fields(&r, &m));
    TRY(wire_read_array(&r, ORD_PAXOS_ENTRIES_MAX, &m.n_entries));
    for (uint32_t i = 0; i < m.n_entries; i++)
        TRY(dec_paxos_entry(&r, &entries[i]));
    TRY(wire_read_end(&r));
    m.entries = entries;
    *cluster_id = cid;
    *epoch = ep;
    *out = m;
    return SMR_OK;
}

int wire_decode_committed(const uint8_t *frame, size_t len,
                          struct smr_committed *out)
{
    struct wire_reader r;
    struct smr_committed m;
    TRY(dec_begin(&r, frame, len, WIRE_COMMITTED));
    TRY(wire_read_u64(&r, &m.seq));
    TRY(wire_read_u64(&r, &m.epoch));
    TRY(wire_read_u64(&r, &m.leader_time_ms));
    TRY(dec_batch(&r, &m.batch, &m.batch_len));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

int wire_decode_subscribe(const uint8_t *frame, size_t len,
                          struct wire_subscribe *out)
{
    struct wire_reader r;
    struct wire_subscribe m;
    TRY(dec_begin(&r, frame, len, WIRE_SUBSCRIBE));
    TRY(wire_read_u64(&r, &m.consumer_id));
    TRY(wire_read_u64(&r, &m.from_seq));
    TRY(wire_read_u32(&r, &m.credit));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

int wire_decode_checkpoint(const uint8_t *frame, size_t len,
                           struct wire_checkpoint *out)
{
    struct wire_reader r;
    const uint8_t *digest;
    uint32_t digest_len;
    uint64_t seq;
    TRY(dec_begin(&r, frame, len, WIRE_CHECKPOINT));
    TRY(wire_read_u64(&r, &seq));
    TRY(wire_read_bin(&r, SMR_DIGEST_BYTES, &digest, &digest_len));
    if (digest_len != SMR_DIGEST_BYTES)
        return SMR_EMALFORMED;
    TRY(wire_read_end(&r));
    out->seq = seq;
    memcpy(out->digest, digest, SMR_DIGEST_BYTES);
    return SMR_OK;
}

int wire_decode_snapshot_required(const uint8_t *frame, size_t len,
                                  struct wire_snapshot_required *out)
{
    struct wire_reader r;
    struct wire_snapshot_required m;
    TRY(dec_begin(&r, frame, len, WIRE_SNAPSHOT_REQUIRED));
    TRY(wire_read_u64(&r, &m.first_available_seq));
    TRY(wire_read_end(&r));
    *out = m;
    return SMR_OK;
}

static int read_node_id(struct wire_reader *r, smr_node_id *id)
{
    uint64_t v;
    TRY(wire_read_u64(r, &v));
    if (v >= SMR_NODES_MAX)
        return SMR_EMALFORMED;
    *id = (smr_node_id)v;
    return SMR_OK;
}

int wire_decode_state_req(const uint8_t *frame, size_t len,
                          struct wire_state_req *out)
{
    struct wire_reader r;
    struct wire_state_req m;
    TRY(dec_begin(&r, frame, len, WIRE_STATE_REQ));
    TRY(wire_read_u64(&r, &m.cluster_id));
    TRY(wire_read_u64(&r, &m.epoch));
    TRY(read_node_id(&r, &m.from));
    TRY(wire_read_u64(&r, &m.seq));
    TRY(wire_read_u64(&r, &m.offset));
    TRY(wire_read_fixed(&r, m.tag, SMR_TAG_BYTES));
    TRY(wire_read_end(&r));
    if (m.offset > WIRE_STATE_BYTES_MAX)
        return SMR_EMALFORMED;
    *out = m;
    return SMR_OK;
}

int wire_decode_state_chunk(const uint8_t *frame, size_t len,
                            struct wire_state_chunk *out)
{
    struct wire_reader r;
    struct wire_state_chunk m;
    TRY(dec_begin(&r, frame, len, WIRE_STATE_CHUNK));
    TRY(wire_read_u64(&r, &m.cluster_id));
    TRY(wire_read_u64(&r, &m.epoch));
    TRY(read_node_id(&r, &m.from));
    TRY(wire_read_u64(&r, &m.seq));
    TRY(wire_read_u64(&r, &m.total));
    TRY(wire_read_u64(&r, &m.offset));
    TRY(wire_read_bin(&r, WIRE_STATE_CHUNK_BYTES, &m.bytes, &m.len));
    TRY(wire_read_fixed(&r, m.tag, SMR_TAG_BYTES));
    TRY(wire_read_end(&r));
    if (m.total > WIRE_STATE_BYTES_MAX || m.offset > m.total ||
        m.len > m.total - m.offset || (m.len == 0 && m.offset < m.total))
        return SMR_EMALFORMED;
    *out = m;
    return SMR_OK;
}

/* ---- REPLIES ------------------------------------------------------------ */

/* Written byte by byte rather than through the packer: the frames array is
 * always an array 32 (0xdd, count big-endian) so its count can be patched in
 * place as frames join. */
#define REPLIES_HEAD 8 /* fixarray 3, version, type, 0xdd, u32 count */

int wire_replies_start(struct smr_buf *out)
{
    static_assert(WIRE_VERSION < 0x80 && WIRE_REPLIES < 0x80,
                  "REPLIES header uses positive fixints");
    const uint8_t head[REPLIES_HEAD] = {0x93, WIRE_VERSION, WIRE_REPLIES, 0xdd};
    smr_buf_reset(out);
    return smr_buf_append(out, head, sizeof head);
}

uint32_t wire_replies_count(const struct smr_buf *b)
{
    if (b->len < REPLIES_HEAD)
        return 0;
    const uint8_t *c = b->data + 4;
    return (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 |
           c[3];
}

int wire_replies_add(struct smr_buf *out, const uint8_t *frame, size_t len)
{
    if (out->len == 0) { /* an empty buffer starts a REPLIES frame */
        int rc = wire_replies_start(out);
        if (rc == SMR_OK)
            rc = wire_replies_add(out, frame, len);
        if (rc != SMR_OK)
            out->len = 0; /* as it was */
        return rc;
    }
    uint32_t n = wire_replies_count(out);
    uint8_t bin[5];
    size_t hl;
    if (len <= UINT8_MAX) {
        bin[0] = 0xc4, bin[1] = (uint8_t)len, hl = 2;
    } else if (len <= UINT16_MAX) {
        bin[0] = 0xc5, bin[1] = (uint8_t)(len >> 8), bin[2] = (uint8_t)len;
        hl = 3;
    } else {
        bin[0] = 0xc6, bin[1] = (uint8_t)(len >> 24);
        bin[2] = (uint8_t)(len >> 16), bin[3] = (uint8_t)(len >> 8);
        bin[4] = (uint8_t)len, hl = 5;
    }
    assert(out->len >= REPLIES_HEAD);
    /* out->len <= WIRE_REPLIES_BYTES_MAX always: no subtraction wraps. */
    if (n >= WIRE_REPLIES_MAX || len > WIRE_REPLIES_BYTES_MAX ||
        hl + len > WIRE_REPLIES_BYTES_MAX - out->len)
        return SMR_ETOOBIG;
    size_t was = out->len;
    if (smr_buf_append(out, bin, hl) != SMR_OK ||
        smr_buf_append(out, frame, len) != SMR_OK) {
        out->len = was;
        return SMR_ENOMEM;
    }
    n++;
    uint8_t *c = out->data + 4;
    c[0] = (uint8_t)(n >> 24), c[1] = (uint8_t)(n >> 16);
    c[2] = (uint8_t)(n >> 8), c[3] = (uint8_t)n;
    return SMR_OK;
}

int wire_decode_replies(const uint8_t *frame, size_t len,
                        struct wire_replies *it)
{
    struct wire_reader r;
    uint32_t n;
    if (len > WIRE_REPLIES_BYTES_MAX)
        return SMR_ETOOBIG;
    TRY(dec_begin(&r, frame, len, WIRE_REPLIES));
    TRY(wire_read_array(&r, WIRE_REPLIES_MAX, &n));
    struct wire_replies start = {r, n};
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *f;
        uint32_t flen;
        TRY(wire_read_bin(&r, SMR_FRAME_BYTES_MAX, &f, &flen));
    }
    TRY(wire_read_end(&r));
    *it = start;
    return SMR_OK;
}

bool wire_replies_next(struct wire_replies *it, const uint8_t **frame,
                       size_t *len)
{
    const uint8_t *f;
    uint32_t flen;
    if (!it->left || wire_read_bin(&it->r, SMR_FRAME_BYTES_MAX, &f, &flen))
        return false;
    it->left--;
    *frame = f;
    *len = flen;
    return true;
}

/* ---- Accounting -------------------------------------------------------- */

void wire_stats_count(struct wire_stats *s, int rc)
{
    if (rc == SMR_OK) {
        s->accepted++;
        return;
    }
    if (rc < 0 || rc >= SMR_ERR__COUNT)
        rc = SMR_EINVAL;
    s->rejected[rc]++;
}

uint64_t wire_stats_rejected_total(const struct wire_stats *s)
{
    uint64_t total = 0;
    for (int i = 0; i < SMR_ERR__COUNT; i++)
        total += s->rejected[i];
    return total;
}
