/*
 * ord_arena.c: the cores' step-scoped bump allocator and FIFO ring growth
 * (ord_arena.h).
 */
#include "ord_arena.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES 65536

void *ord_arena_alloc(struct ord_arena *a, size_t bytes)
{
    bytes = bytes ? (bytes + 15) & ~(size_t)15 : 16;
    struct ord_arena_block *b = a->head;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > BLOCK_BYTES ? bytes : BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            abort(); /* out of memory inside a step: cannot continue */
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

void ord_arena_reset(struct ord_arena *a)
{
    struct ord_arena_block *b = a->head;
    if (!b)
        return;
    struct ord_arena_block *rest = b->next;
    while (rest) {
        struct ord_arena_block *n = rest->next;
        free(rest);
        rest = n;
    }
    b->next = NULL;
    b->used = 0;
}

void ord_arena_free(struct ord_arena *a)
{
    ord_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

void *ord_ring_room(void *items, uint32_t *head, uint32_t len, uint32_t *cap,
                    size_t size)
{
    if (len < *cap)
        return items;
    uint32_t grown = *cap ? *cap * 2 : 16;
    uint8_t *r = calloc(grown, size);
    if (!r)
        abort(); /* out of memory inside a step: cannot continue */
    for (uint32_t i = 0; i < len; i++)
        memcpy(r + (size_t)i * size,
               (const uint8_t *)items + (size_t)((*head + i) % *cap) * size,
               size);
    free(items);
    *head = 0;
    *cap = grown;
    return r;
}
