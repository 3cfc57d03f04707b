/*
 * ord_arena.c: the cores' step-scoped bump allocator (ord_arena.h).
 */
#include "ord_arena.h"

#include <stdlib.h>

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
