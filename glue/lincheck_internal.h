/*
 * lincheck_internal.h: the history's representation and the search's
 * interface, shared by lincheck.c (the history, lin_check), lincheck_json.c
 * (the JSON Lines reader), lincheck_search.c (the search) and
 * lincheck_shrink.c (the evidence). Not for other callers: use lincheck.h.
 */
#ifndef STRATA_GLUE_LINCHECK_INTERNAL_H
#define STRATA_GLUE_LINCHECK_INTERNAL_H

#include "lincheck.h"

/* One operation: an invoke and, maybe, its completion. Strings are ids in
 * the history's string table; 0 means none (for a get's ok: absent). */
struct lin_op {
    uint64_t client;
    uint64_t invoke_line;
    uint64_t complete_line; /* 0 while pending, and for info */
    uint32_t invoke_ev;     /* event ordinals: the real-time order */
    uint32_t complete_ev;   /* UINT32_MAX while pending, and for info */
    uint32_t key;
    uint32_t expect; /* cas */
    uint32_t value;  /* put, cas: written; get ok: read */
    uint8_t kind;    /* enum lin_kind */
    uint8_t outcome; /* enum lin_outcome */
    uint8_t found;   /* enum lin_found */
};

/* Interned strings, each stored once, NUL-terminated, back to back. */
struct lin_strtab {
    char *bytes;
    uint32_t len, cap;
    uint32_t *off; /* id -> offset in bytes; id 0 is unused */
    uint32_t n, n_cap;
    uint32_t *slot; /* open addressing: 0 empty, else an id */
    uint32_t n_slots;
};

struct lin_client {
    uint64_t client;
    uint32_t open; /* outstanding op index + 1; 0 when idle */
    bool used;
};

struct lin_history {
    struct lin_op *ops;
    uint32_t n_ops, cap_ops;
    uint32_t n_events;
    struct lin_strtab str;
    struct lin_client *clients; /* open addressing by client id */
    uint32_t n_clients, n_client_slots;
    char *scratch; /* decoded strings of the line being parsed */
    uint32_t scratch_cap;
};

/* Writes "line N: " and the message into err; returns rc. */
int lin_errf(char *err, size_t err_len, int rc, uint64_t line, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));

/* The outstanding operation of `client`, or NULL. */
struct lin_op *lin_open_op(const struct lin_history *h, uint64_t client);

/* The string with id `id` (NULL for 0); the id of `s`, 0 when unknown. */
const char *lin_str(const struct lin_strtab *t, uint32_t id);
uint32_t lin_str_find(const struct lin_strtab *t, const char *s);

/* Ensures room for `need` elements of `elem` bytes in *p (capacity *cap,
 * doubled): SMR_OK, SMR_ENOMEM, or SMR_ETOOBIG past 2^32 elements. */
int lin_grow(void **p, uint32_t *cap, uint64_t need, size_t elem);

static inline uint64_t lin_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Operations that constrain the search: the rest (a failed put, get or
 * del; a get of unknown outcome) neither change nor observe the state. */
bool lin_op_relevant(const struct lin_op *o);

/* The op as the history's prefix up to event `cut` sees it (one that
 * completes after `cut` is still pending there), and whether it matters
 * to that prefix, knowing what the whole history says (a put that failed
 * later never applies). UINT32_MAX: the whole history. */
struct lin_op lin_at_cut(const struct lin_op *o, uint32_t cut);
bool lin_relevant_at(const struct lin_op *o, uint32_t cut);

/* A search workspace for subsets of at most `cap` operations of `h`
 * (borrowed; it must outlive the workspace). SMR_OK or SMR_ENOMEM. */
struct lin_search;
int lin_search_new(const struct lin_history *h, uint32_t cap,
                   struct lin_search **out);
void lin_search_destroy(struct lin_search **w);

/* Searches ops[0..n) (op indices of one key, in invoke order, each
 * relevant at `cut_ev`) for a linearization of the history's prefix up to
 * event `cut_ev`. Returns LIN_LINEARIZABLE, LIN_VIOLATION, LIN_UNKNOWN
 * (more than states_max configurations, or LIN_MEMO_BYTES_MAX of them),
 * or -SMR_ENOMEM; *states is how many were recorded. */
int lin_search_run(struct lin_search *w, const uint32_t *ops, uint32_t n,
                   uint32_t cut_ev, uint64_t states_max, uint64_t *states);

/* Shrinks ops[0..*n) (one key, in invoke order), which has no
 * linearization, in place (lincheck_shrink.c). *cut_ev is the first
 * return event at which the key's history stops being linearizable; the
 * subset kept has no linearization up to it, has one just before it,
 * keeps a possible source for every value it reads, and loses one of
 * these when any single operation is dropped (*minimal false when
 * `budget` states ran out first). `w` must hold *n operations. SMR_OK or
 * SMR_ENOMEM. */
int lin_shrink(struct lin_search *w, const struct lin_history *h, uint32_t *ops,
               uint32_t *n, uint64_t budget, bool *minimal, uint32_t *cut_ev);

#endif
