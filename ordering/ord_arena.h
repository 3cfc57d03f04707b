/*
 * ord_arena.h: memory helpers the protocol cores share: the step-scoped
 * bump allocator, and room at the tail of a growable FIFO ring.
 *
 * A core's outputs may point into memory it allocated during the step
 * (messages, entry arrays, record bytes); that memory stays put until the
 * core resets the arena at the start of its next step (ord.h: outputs are
 * valid until the next call into the core). Internal to ordering/.
 */
#ifndef STRATA_ORD_ARENA_H
#define STRATA_ORD_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct ord_arena_block {
    struct ord_arena_block *next;
    size_t used;
    size_t cap;
    uint8_t data[];
};

struct ord_arena {
    struct ord_arena_block *head; /* newest block; NULL before the first */
};

/* At least `bytes` (16-byte aligned, never NULL: running out of memory
 * inside a step aborts, since the core cannot continue half-stepped). */
void *ord_arena_alloc(struct ord_arena *a, size_t bytes);
/* Forgets every allocation; keeps the newest block for reuse. */
void ord_arena_reset(struct ord_arena *a);
void ord_arena_free(struct ord_arena *a);

/* A FIFO ring of `size`-byte items: `items` holds `*cap` of them, the
 * `len` live ones from `*head` on, wrapping. Makes room for one more at
 * (*head + len) % *cap, doubling the ring (relaid from index 0) when it is
 * full, and returns the ring's array (the old one is freed then). Aborts
 * when memory runs out, like the arena (a core cannot continue
 * half-stepped). */
void *ord_ring_room(void *items, uint32_t *head, uint32_t len, uint32_t *cap,
                    size_t size);

#endif
