/*
 * core_paxos.c: Multi-Paxos's row of the glue core table (core.h): its
 * config from the glue config (glue_config_paxos), its PAXOS frames
 * (wire.h) and catch-up from storage, a CATCHUP message of entries read
 * back from the log (paxos.h, "from memory or, via ORD_OUT_FETCH, from
 * storage").
 */

#include "core.h"
#include "paxos.h"
#include "wire.h"

/* What one decoded PAXOS frame needs beyond the frame's bytes. */
struct paxos_rx {
    struct ord_paxos_msg m;
    struct ord_paxos_entry entries[ORD_PAXOS_ENTRIES_MAX];
};

static int paxos_create(const struct glue_config *c, smr_node_id self,
                        uint64_t rng_mix, void **core, smr_epoch *epoch,
                        char *err, size_t err_len)
{
    struct ord_paxos_config pc;
    struct ord_paxos *p = NULL;
    glue_config_paxos(c, self, &pc);
    pc.rng_seed ^= rng_mix;
    int rc = ord_paxos_new(&pc, &p);
    if (rc != SMR_OK)
        return glue_say(rc, err, err_len, "cannot create the Paxos core: %s",
                        smr_strerror(rc));
    *core = p;
    *epoch = pc.epoch;
    return SMR_OK;
}

static int paxos_msg_encode(struct smr_buf *out, uint64_t cluster_id,
                            smr_epoch epoch, const void *msg)
{
    return wire_encode_paxos(out, cluster_id, epoch, msg);
}

static int paxos_msg_decode(const uint8_t *f, size_t len, void *scratch,
                            uint64_t *cluster_id, smr_epoch *epoch,
                            smr_node_id *from, const void **msg)
{
    struct paxos_rx *rx = scratch;
    int rc = wire_decode_paxos(f, len, cluster_id, epoch, &rx->m, rx->entries);
    if (rc != SMR_OK)
        return rc;
    *from = rx->m.from;
    *msg = &rx->m;
    return SMR_OK;
}

/* Entries are read until one is missing or undecodable, or the frame would
 * grow past half its bound; each is sent as chosen. */
static int paxos_serve_fetch(const void *core, smr_node_id self,
                             struct sto *sto, smr_seq from, smr_seq to,
                             struct smr_buf *bufs, uint64_t cluster_id,
                             smr_epoch epoch, struct smr_buf *out)
{
    struct ord_paxos_entry entries[ORD_PAXOS_ENTRIES_MAX];
    uint32_t cnt = 0;
    size_t bytes = 0;
    for (smr_seq s = from; s <= to && cnt < ORD_PAXOS_ENTRIES_MAX &&
                           bytes < SMR_FRAME_BYTES_MAX / 2;
         s++) {
        if (sto_log_get(sto, s, &bufs[cnt]) != SMR_OK ||
            ord_paxos_record_decode(bufs[cnt].data, bufs[cnt].len, s,
                                    &entries[cnt]) != SMR_OK)
            break;
        entries[cnt].ballot = ORD_PAXOS_BALLOT_CHOSEN;
        bytes += entries[cnt].batch_len + 64;
        cnt++;
    }
    if (cnt == 0)
        return SMR_ENOTFOUND;
    struct ord_paxos_msg m = {
        .type = ORD_PAXOS_CATCHUP,
        .from = self,
        .commit_upto = ord_paxos_commit_upto(core),
        .n_entries = cnt,
        .entries = entries,
    };
    return wire_encode_paxos(out, cluster_id, epoch, &m);
}

const struct glue_core_ops glue_paxos_core = {
    .version = GLUE_CORE_VERSION,
    .protocol = "paxos",
    .ord = &ord_paxos_core_ops,
    .create = paxos_create,
    .msg_encode = paxos_msg_encode,
    .msg_scratch_bytes = sizeof(struct paxos_rx),
    .msg_decode = paxos_msg_decode,
    .fetch_entries_max = ORD_PAXOS_ENTRIES_MAX,
    .serve_fetch = paxos_serve_fetch,
};
