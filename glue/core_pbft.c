/*
 * core_pbft.c: PBFT's row of the glue core table (core.h): its config and
 * keys from the glue config (glue_config_pbft, keys.h), its PBFT frames
 * (wire_pbft.h), client requests that carry the client's MAC vector, and
 * catch-up from storage: a CATCHUP of committed values read back from the
 * log and sealed with this replica's keys (pbft.h "FETCH").
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "keys.h"
#include "pbft.h"
#include "wire_pbft.h"

/* What one decoded PBFT frame needs beyond the frame's bytes. */
struct pbft_rx {
    struct ord_pbft_msg m;
    struct wire_pbft_store store;
};

static int pbft_create(const struct glue_config *c, smr_node_id self,
                       uint64_t rng_mix, void **core, smr_epoch *epoch,
                       char *err, size_t err_len)
{
    (void)rng_mix; /* the core draws nothing at random */
    struct glue_keys *k = sodium_malloc(sizeof *k);
    struct ord_pbft_config *pc = sodium_malloc(sizeof *pc);
    struct ord_pbft *p = NULL;
    int rc = k && pc ? SMR_OK
                     : glue_say(SMR_ENOMEM, err, err_len, "out of memory");
    if (rc == SMR_OK)
        rc = glue_keys_load(c, self, false, k, err, err_len);
    if (rc == SMR_OK) {
        glue_config_pbft(c, self, k, pc);
        rc = ord_pbft_new(pc, &p);
        if (rc == SMR_ECONFIG)
            glue_say(rc, err, err_len,
                     "keys: the secret key in %s/replica-%u.key does not "
                     "match replica-%u.pub",
                     c->keys_dir, self, self);
        else if (rc != SMR_OK)
            glue_say(rc, err, err_len, "cannot create the PBFT core: %s",
                     smr_strerror(rc));
    }
    if (rc == SMR_OK) {
        *core = p;
        *epoch = pc->epoch;
    }
    if (k)
        sodium_free(k);
    if (pc)
        sodium_free(pc);
    return rc;
}

static int pbft_msg_encode(struct smr_buf *out, uint64_t cluster_id,
                           smr_epoch epoch, const void *msg)
{
    return wire_encode_pbft(out, cluster_id, epoch, msg);
}

static int pbft_msg_decode(const uint8_t *f, size_t len, void *scratch,
                           uint64_t *cluster_id, smr_epoch *epoch,
                           smr_node_id *from, const void **msg)
{
    struct pbft_rx *rx = scratch;
    int rc = wire_decode_pbft(f, len, cluster_id, epoch, &rx->m, &rx->store);
    if (rc != SMR_OK)
        return rc;
    if (rx->m.from == ORD_PBFT_FROM_CLIENT)
        return SMR_ETYPE; /* clients speak on the client socket */
    *from = rx->m.from;
    *msg = &rx->m;
    return SMR_OK;
}

static int pbft_request_decode(const uint8_t *f, size_t len, void *scratch,
                               uint64_t *cluster_id, smr_epoch *epoch,
                               struct smr_request *req, smr_node_id *from,
                               const void **msg)
{
    struct pbft_rx *rx = scratch;
    int rc = wire_decode_pbft(f, len, cluster_id, epoch, &rx->m, &rx->store);
    if (rc != SMR_OK)
        return rc;
    if (rx->m.type != ORD_PBFT_REQUEST || rx->m.from != ORD_PBFT_FROM_CLIENT)
        return SMR_ETYPE;
    *req = (struct smr_request){rx->m.client_id, rx->m.req_id, rx->m.op,
                                rx->m.op_len};
    *from = ORD_PBFT_FROM_CLIENT;
    *msg = &rx->m;
    return SMR_OK;
}

/* Committed values are read until one is missing or holds none, or the
 * frame would grow past half its bound. */
static int pbft_serve_fetch(const void *core, smr_node_id self, struct sto *sto,
                            smr_seq from, smr_seq to, struct smr_buf *bufs,
                            uint64_t cluster_id, smr_epoch epoch,
                            struct smr_buf *out)
{
    struct ord_pbft_entry entries[ORD_PBFT_ENTRIES_MAX];
    uint32_t cnt = 0;
    size_t bytes = 0;
    for (smr_seq s = from; s <= to && cnt < ORD_PBFT_ENTRIES_MAX &&
                           bytes < SMR_FRAME_BYTES_MAX / 2;
         s++) {
        if (sto_log_get(sto, s, &bufs[cnt]) != SMR_OK ||
            ord_pbft_record_committed(bufs[cnt].data, bufs[cnt].len, s,
                                      &entries[cnt]) != SMR_OK)
            break;
        bytes += entries[cnt].batch_len + 64;
        cnt++;
    }
    if (cnt == 0)
        return SMR_ENOTFOUND;
    struct ord_pbft_msg m;
    memset(&m, 0, sizeof m);
    m.type = ORD_PBFT_CATCHUP;
    m.from = self;
    m.view = ord_pbft_view(core);
    m.commit_upto = ord_pbft_commit_upto(core);
    m.n_entries = cnt;
    m.entries = entries;
    ord_pbft_seal(core, &m);
    return wire_encode_pbft(out, cluster_id, epoch, &m);
}

static void pbft_peer_tag(const void *core, smr_node_id peer,
                          const uint8_t digest[SMR_DIGEST_BYTES],
                          uint8_t tag[SMR_TAG_BYTES])
{
    ord_pbft_peer_tag(core, peer, digest, tag);
}

static bool pbft_peer_tag_check(const void *core, smr_node_id peer,
                                const uint8_t digest[SMR_DIGEST_BYTES],
                                const uint8_t tag[SMR_TAG_BYTES])
{
    return ord_pbft_peer_tag_check(core, peer, digest, tag);
}

static void pbft_reply_tag(void *core, smr_node_id self, struct wire_reply *rep)
{
    struct ord_pbft_reply r = {self,          rep->client_id, rep->req_id,
                               rep->seq,      rep->status,    rep->leader_hint,
                               rep->result,   rep->result_len};
    ord_pbft_reply_seal(core, &r, rep->tag);
    rep->has_tag = true;
}

const struct glue_core_ops glue_pbft_core = {
    .version = GLUE_CORE_VERSION,
    .protocol = "pbft",
    .ord = &ord_pbft_core_ops,
    .create = pbft_create,
    .msg_encode = pbft_msg_encode,
    .msg_scratch_bytes = sizeof(struct pbft_rx),
    .msg_decode = pbft_msg_decode,
    .fetch_entries_max = ORD_PBFT_ENTRIES_MAX,
    .serve_fetch = pbft_serve_fetch,
    .request_decode = pbft_request_decode,
    .peer_tag = pbft_peer_tag,
    .peer_tag_check = pbft_peer_tag_check,
    .reply_tag = pbft_reply_tag,
};
