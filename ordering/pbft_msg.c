/*
 * pbft_msg.c: deep copies of PBFT messages into one malloc block each, so
 * a core can keep the view changes and new views it must forward, and a
 * driver or test can queue a message past the step that produced it.
 *
 * Each copy is made in two passes over the same code: the first (no buffer)
 * measures, the second copies; pointers inside the copy point into the
 * block, so free() of the block releases everything.
 */
#include "pbft_internal.h"

#include <string.h>

struct packer {
    uint8_t *buf; /* NULL: measuring */
    size_t off;
};

static void *take(struct packer *k, size_t bytes)
{
    k->off = (k->off + 15) & ~(size_t)15;
    void *at = k->buf ? k->buf + k->off : NULL;
    k->off += bytes;
    return at;
}

static const void *copy(struct packer *k, const void *src, size_t bytes)
{
    if (!bytes || !src)
        return NULL;
    void *dst = take(k, bytes);
    if (dst)
        memcpy(dst, src, bytes);
    return dst;
}

static const struct ord_pbft_entry *
copy_entries(struct packer *k, const struct ord_pbft_entry *e, uint32_t n)
{
    if (!n || !e)
        return NULL;
    struct ord_pbft_entry *dst = take(k, n * sizeof *dst);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *b = copy(k, e[i].batch, e[i].batch_len);
        if (dst) {
            dst[i] = e[i];
            dst[i].batch = b;
        }
    }
    return dst;
}

/* Copies the arrays of `src` and fills *dst (a scratch struct when
 * measuring). */
static void pack_vc(struct packer *k, struct ord_pbft_view_change *dst,
                    const struct ord_pbft_view_change *src, bool bodies)
{
    *dst = *src;
    dst->ckpts = copy(k, src->ckpts, src->n_ckpts * sizeof *src->ckpts);
    dst->prepared =
        copy(k, src->prepared, src->n_prepared * sizeof *src->prepared);
    dst->preprepared = copy(k, src->preprepared,
                            src->n_preprepared * sizeof *src->preprepared);
    dst->bodies = bodies ? copy_entries(k, src->bodies, src->n_prepared) : NULL;
}

static struct ord_pbft_view_change *
vc_into(struct packer *k, const struct ord_pbft_view_change *src, bool bodies)
{
    struct ord_pbft_view_change scratch;
    struct ord_pbft_view_change *dst = take(k, sizeof *dst);
    pack_vc(k, dst ? dst : &scratch, src, bodies);
    return dst;
}

static struct ord_pbft_new_view *nv_into(struct packer *k,
                                         const struct ord_pbft_new_view *src)
{
    struct ord_pbft_new_view scratch;
    struct ord_pbft_new_view *dst = take(k, sizeof *dst);
    struct ord_pbft_new_view *d = dst ? dst : &scratch;
    *d = *src;
    struct ord_pbft_view_change *vcs =
        src->n_vcs ? take(k, src->n_vcs * sizeof *vcs) : NULL;
    for (uint32_t i = 0; i < src->n_vcs; i++) {
        struct ord_pbft_view_change one;
        pack_vc(k, vcs ? &vcs[i] : &one, &src->vcs[i], false);
    }
    d->vcs = vcs;
    d->chosen = copy(k, src->chosen, src->n_chosen * sizeof *src->chosen);
    d->bodies = copy_entries(k, src->bodies, src->n_chosen);
    return dst;
}

struct ord_pbft_view_change *pbft_vc_dup(const struct ord_pbft_view_change *vc,
                                         bool with_bodies)
{
    struct packer k = {NULL, 0};
    vc_into(&k, vc, with_bodies);
    k.buf = malloc(k.off);
    if (!k.buf)
        return NULL;
    k.off = 0;
    return vc_into(&k, vc, with_bodies);
}

struct ord_pbft_new_view *pbft_nv_dup(const struct ord_pbft_new_view *nv)
{
    struct packer k = {NULL, 0};
    nv_into(&k, nv);
    k.buf = malloc(k.off);
    if (!k.buf)
        return NULL;
    k.off = 0;
    return nv_into(&k, nv);
}

static struct ord_pbft_msg *msg_into(struct packer *k,
                                     const struct ord_pbft_msg *m)
{
    struct ord_pbft_msg scratch;
    struct ord_pbft_msg *dst = take(k, sizeof *dst);
    struct ord_pbft_msg *d = dst ? dst : &scratch;
    *d = *m;
    d->op = copy(k, m->op, m->op_len);
    d->proof = m->proof ? copy(k, m->proof, ORD_PBFT_PROOF_BYTES) : NULL;
    d->batch = copy(k, m->batch, m->batch_len);
    d->req_auth = copy(k, m->req_auth, m->req_auth_len);
    d->entries = copy_entries(k, m->entries, m->n_entries);
    d->vc = m->vc ? vc_into(k, m->vc, m->vc->bodies != NULL) : NULL;
    d->nv = m->nv ? nv_into(k, m->nv) : NULL;
    return dst;
}

struct ord_pbft_msg *ord_pbft_msg_dup(const struct ord_pbft_msg *m)
{
    struct packer k = {NULL, 0};
    msg_into(&k, m);
    k.buf = malloc(k.off);
    if (!k.buf)
        return NULL;
    k.off = 0;
    return msg_into(&k, m);
}
