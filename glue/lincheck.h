/*
 * lincheck.h: a linearizability checker for the key-value model (get, put,
 * del, cas), for histories recorded by real clients (JSON Lines, `strata
 * lincheck`) or built in memory by the deterministic simulator.
 *
 * Approach. A history is a sequence of events in real-time order: a client
 * invokes an operation, later the same client completes it (ok, fail or
 * info). Every operation names one key and the model is a map, so each key
 * is checked on its own: linearizability is local (a history is
 * linearizable iff its restriction to every key is), the
 * P-compositionality that keeps the search small. Per key runs the tree
 * search of Wing and Gong (1993) in the just-in-time form of Lowe (2017):
 * walk the events in time order and linearize an operation only when its
 * completion is reached (possibly preceded by other open operations the
 * model needs first), backtracking when none fits; Lowe's memoization of
 * (linearized-set bitmap, model state) at each event keeps any
 * configuration from being searched twice (lincheck_search.c). A key that
 * fails is shrunk to evidence (lincheck_shrink.c): the first completion
 * its history cannot linearize, and a handful of its operations, anchored
 * there, that have no linearization and from which no single operation
 * can be dropped.
 *
 * Semantics (also in `strata lincheck --help`):
 *  - Each client has at most one operation outstanding: an invoke, then its
 *    completion (ok, fail or info) by the same client. After an info the
 *    client may invoke again (the info operation stays concurrent with
 *    everything after its invoke).
 *  - put: ok means applied. fail means it was not applied: dropped.
 *  - get: ok carries the value read (NULL / JSON null when the key was
 *    absent). A failed get, and a get whose outcome is unknown, say
 *    nothing: dropped.
 *  - del: ok means the key is absent afterwards. The ok may say whether a
 *    value was found (the KV app answers NOT_FOUND for an absent key); when
 *    it does, the model must agree at the linearization point. fail:
 *    dropped.
 *  - cas KEY EXPECT NEW: ok means it swapped, so the value was EXPECT at
 *    the linearization point. fail means it definitely did not swap because
 *    the value was not EXPECT (or absent): a definite outcome that must be
 *    linearized too, at a point where the value differs from EXPECT.
 *  - info (timeout) means unknown: the operation may take effect at any
 *    point after its invoke, or never. An invoke with no completion at the
 *    end of the history is treated as info.
 *  - Every key starts absent. Keys and values are byte strings without NUL;
 *    they are compared byte for byte.
 *
 * JSON Lines format, one flat object per line (blank lines are skipped):
 *   {"client":3,"type":"invoke","op":"cas","key":"a","expect":"1","value":"2"}
 *   {"client":3,"type":"fail","op":"cas","key":"a"}
 *   {"client":1,"type":"ok","op":"get","key":"a","value":null}
 *   {"client":2,"type":"ok","op":"del","key":"a","found":false}
 * Fields: client (integer 0..2^63-1), type (invoke|ok|fail|info), op
 * (get|put|del|cas), key, value (string; null only in a get's ok), expect
 * (string), found (true|false, only in a del's ok). An invoke needs client,
 * op, key, plus value for put and expect and value for cas. A completion
 * needs client and type; op, key, expect and (for put and cas) value may be
 * repeated and must then match the invoke; a get's ok needs value. Unknown
 * or repeated fields, fields that do not belong to the event, bad JSON,
 * invalid UTF-8 and \u0000 are refused with "line N: ...".
 *
 * Bounds: a line is at most LIN_LINE_BYTES_MAX bytes, a history at most
 * LIN_EVENTS_MAX events and LIN_STRING_BYTES_MAX bytes of distinct keys and
 * values (SMR_ETOOBIG beyond). The search of one key stops after
 * states_per_key_max memoized states (or LIN_MEMO_BYTES_MAX bytes of them)
 * and the key's verdict is then unknown.
 */
#ifndef STRATA_GLUE_LINCHECK_H
#define STRATA_GLUE_LINCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "smr.h"

#define LIN_LINE_BYTES_MAX (1u << 20)
#define LIN_EVENTS_MAX (1u << 22)
#define LIN_STRING_BYTES_MAX (256u << 20)
#define LIN_MEMO_BYTES_MAX (512ull << 20)
#define LIN_STATES_PER_KEY_DEFAULT 2000000ull
#define LIN_SHRINK_STATES_DEFAULT 20000000ull

enum lin_kind { LIN_GET = 0, LIN_PUT = 1, LIN_DEL = 2, LIN_CAS = 3 };

/* LIN_PENDING: invoked, no completion yet (checked as LIN_INFO). */
enum lin_outcome { LIN_PENDING = 0, LIN_OK = 1, LIN_FAIL = 2, LIN_INFO = 3 };

/* What a del's ok says about the value it removed. */
enum lin_found { LIN_FOUND_ANY = 0, LIN_FOUND_NO = 1, LIN_FOUND_YES = 2 };

enum lin_verdict {
    LIN_LINEARIZABLE = 0,
    LIN_VIOLATION = 1,
    LIN_UNKNOWN = 2, /* a key's search ran out of budget, none violated */
};

/* One invoke. Strings are borrowed (copied by the call). */
struct lin_invoke {
    uint64_t client;
    enum lin_kind kind;
    const char *key;
    const char *expect; /* cas only */
    const char *value;  /* put: the value; cas: the new value */
    uint64_t line;      /* reported back; 0: the event's 1-based ordinal */
};

/* One completion of the client's outstanding operation. */
struct lin_complete {
    uint64_t client;
    enum lin_outcome outcome; /* LIN_OK, LIN_FAIL or LIN_INFO */
    const char *value;        /* get ok: the value read, NULL when absent */
    enum lin_found found;     /* del ok; ignored otherwise */
    uint64_t line;            /* as in lin_invoke */
};

/* One operation of a report. Strings point into the history. */
struct lin_op_desc {
    uint64_t client;
    enum lin_kind kind;
    enum lin_outcome outcome;
    const char *key;
    const char *expect;   /* cas; NULL otherwise */
    const char *value;    /* put, cas: written; get ok: read (NULL: absent) */
    enum lin_found found; /* del ok */
    uint64_t invoke_line;
    uint64_t complete_line; /* 0 when it never completed */
};

struct lin_limits {
    uint64_t states_per_key_max; /* memoized states per key search */
    uint64_t shrink_states_max;  /* summed over all searches of a shrink */
};

/* The verdict and, for a violation, the evidence. */
struct lin_report {
    enum lin_verdict verdict;
    uint64_t n_ops;          /* operations in the history */
    uint64_t n_keys;         /* distinct keys */
    uint64_t keys_violating; /* keys found not linearizable */
    uint64_t keys_unknown;   /* keys whose search ran out of budget */
    uint64_t states;         /* memoized states, summed over the keys */
    /* LIN_VIOLATION: the violating key with the fewest operations;
     * LIN_UNKNOWN: the first key whose search ran out. Else NULL. */
    const char *key;
    uint64_t key_ops; /* checked operations of that key */
    /* LIN_VIOLATION: the line of the first completion that the key's
     * history cannot linearize (the events before it can be, knowing
     * which operations failed). */
    uint64_t violation_line;
    struct lin_op_desc *ops; /* LIN_VIOLATION: the shrunk set, in invoke
                              * order; owned by the report */
    size_t n_report_ops;
    bool minimal; /* false when the shrink ran out of its budget */
};

struct lin_history;

/* Creates an empty history: SMR_OK or SMR_ENOMEM. */
int lin_history_new(struct lin_history **out);
/* Frees the history and sets *h to NULL; NULL and *h == NULL are fine. */
void lin_history_destroy(struct lin_history **h);

/* Appends one event; events must be added in real-time order. SMR_OK;
 * SMR_EMALFORMED with a sentence in `err` when the event does not fit the
 * history (the client already has an operation outstanding, or none to
 * complete; a missing argument); SMR_ETOOBIG past a bound; SMR_ENOMEM. A
 * refused event leaves the history as it was. */
int lin_history_add_invoke(struct lin_history *h, const struct lin_invoke *in,
                           char *err, size_t err_len);
int lin_history_add_complete(struct lin_history *h,
                             const struct lin_complete *c, char *err,
                             size_t err_len);

/* Parses one JSON line (without its newline) numbered `line_no` and adds
 * its event. Errors as above, the sentence starting "line N: ". */
int lin_history_parse_line(struct lin_history *h, const char *line, size_t len,
                           uint64_t line_no, char *err, size_t err_len);
/* Parses a whole JSON Lines buffer, or a stream until EOF (SMR_EIO on a
 * read error). Stops at the first bad line; events before it stay added. */
int lin_history_parse_buf(struct lin_history *h, const char *buf, size_t len,
                          char *err, size_t err_len);
int lin_history_read(struct lin_history *h, FILE *f, char *err, size_t err_len);

/* Operations added so far. */
uint64_t lin_history_ops(const struct lin_history *h);

void lin_limits_default(struct lin_limits *lim);

/* Checks the history (outstanding invokes count as info). `lim` NULL means
 * the defaults. SMR_OK with `out` filled (free it with lin_report_free()),
 * or SMR_ENOMEM with `out` zeroed. The report's strings are borrowed from
 * the history: valid until it is next changed or destroyed. */
int lin_check(const struct lin_history *h, const struct lin_limits *lim,
              struct lin_report *out);
void lin_report_free(struct lin_report *r);

/* Writes one line describing `d` into buf (always NUL-terminated), e.g.
 *   client 3  cas "a" expect "1" value "2" -> fail  (lines 5-9)
 * Strings are JSON-quoted. Returns buf. */
const char *lin_op_format(const struct lin_op_desc *d, char *buf, size_t len);

/* Writes `s` as a JSON string literal (NULL: null) into buf, cut to 48
 * source bytes with "..." after the closing quote. Returns buf. */
const char *lin_quote(const char *s, char *buf, size_t len);

const char *lin_kind_name(enum lin_kind k);
const char *lin_outcome_name(enum lin_outcome o);

#endif
