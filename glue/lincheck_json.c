/*
 * lincheck_json.c: the JSON Lines reader of lincheck.h: a strict parser for
 * one flat object per line (string, integer, true/false/null values only),
 * then the checks that the event fits the history, then the
 * lin_history_add_* call.
 *
 * Hand-written rather than a JSON library because the format is tiny and
 * every refusal must name its line. Strings are decoded into the history's
 * scratch buffer (a decoded string is never longer than its source), with
 * all of JSON's escapes, surrogate pairs, and UTF-8 validation; \u0000 is
 * refused because keys and values are NUL-terminated. A stream is read in
 * chunks, so no line longer than LIN_LINE_BYTES_MAX is ever buffered.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "lincheck_internal.h"

enum field { F_CLIENT, F_TYPE, F_OP, F_KEY, F_VALUE, F_EXPECT, F_FOUND, F_N };

static const char *const field_names[F_N] = {
    "client", "type", "op", "key", "value", "expect", "found",
};

/* The fields of one line, strings in the scratch buffer. */
struct jline {
    unsigned seen; /* bit per enum field */
    uint64_t client;
    const char *type, *op, *key, *value, *expect; /* value NULL: null */
    bool found;
};

struct jp {
    const char *start, *p, *end;
    char *out; /* next free scratch byte */
    uint64_t line;
    char *err;
    size_t err_len;
};

static int jp_fail(struct jp *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int jp_fail(struct jp *j, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lin_errf(j->err, j->err_len, SMR_EMALFORMED, j->line,
                    "%s (column %zu)", msg, (size_t)(j->p - j->start) + 1);
}

static void skip_ws(struct jp *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
        j->p++;
}

static bool peek(const struct jp *j, char c)
{
    return j->p < j->end && *j->p == c;
}

/* ----------------------------------------------------------------- strings */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = p[0] < 0xc2   ? 0
               : p[0] < 0xe0 ? 2
               : p[0] < 0xf0 ? 3
               : p[0] < 0xf5 ? 4
                             : 0;
    if (!n || (size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

static int hex4(struct jp *j, uint32_t *out)
{
    *out = 0;
    if (j->end - j->p < 4)
        return jp_fail(j, "\\u needs four hex digits");
    for (int i = 0; i < 4; i++) {
        char c = *j->p++;
        uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return jp_fail(j, "\\u needs four hex digits");
        *out = *out * 16 + d;
    }
    return SMR_OK;
}

static void put_utf8(struct jp *j, uint32_t cp)
{
    if (cp < 0x80) {
        *j->out++ = (char)cp;
    } else if (cp < 0x800) {
        *j->out++ = (char)(0xc0 | cp >> 6);
        *j->out++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *j->out++ = (char)(0xe0 | cp >> 12);
        *j->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *j->out++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *j->out++ = (char)(0xf0 | cp >> 18);
        *j->out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *j->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *j->out++ = (char)(0x80 | (cp & 0x3f));
    }
}

/* \uXXXX (j->p after the u), with a surrogate pair when there is one. */
static int unicode_escape(struct jp *j)
{
    uint32_t cp, lo;
    int rc = hex4(j, &cp);
    if (rc)
        return rc;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return jp_fail(j, "lone low surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
            return jp_fail(j, "high surrogate without its low half");
        j->p += 2;
        if ((rc = hex4(j, &lo)))
            return rc;
        if (lo < 0xdc00 || lo > 0xdfff)
            return jp_fail(j, "high surrogate without its low half");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (!cp)
        return jp_fail(j, "\\u0000 is not supported in keys and values");
    put_utf8(j, cp);
    return SMR_OK;
}

static int escape(struct jp *j)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (j->p >= j->end)
        return jp_fail(j, "unterminated string");
    char c = *j->p++;
    if (c == 'u')
        return unicode_escape(j);
    const char *at = strchr(from, c);
    if (!c || !at) {
        j->p--;
        return jp_fail(j, "unknown escape '\\%c'", c >= 0x20 ? c : '?');
    }
    *j->out++ = to[at - from];
    return SMR_OK;
}

/* A string at j->p (which is at '"'); *s points at its decoded copy. */
static int string(struct jp *j, const char **s)
{
    *s = j->out;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            *j->out++ = '\0';
            return SMR_OK;
        }
        int rc = SMR_OK;
        size_t n = 1;
        if (c == '\\') {
            j->p++;
            rc = escape(j);
            n = 0;
        } else if (c < 0x20) {
            rc = jp_fail(j, "control character in a string (use an escape)");
        } else if (c >= 0x80 &&
                   !(n = utf8_len((const unsigned char *)j->p,
                                  (const unsigned char *)j->end))) {
            rc = jp_fail(j, "invalid UTF-8 in a string");
        }
        if (rc)
            return rc;
        memcpy(j->out, j->p, n);
        j->out += n, j->p += n;
    }
    return jp_fail(j, "unterminated string");
}

/* ------------------------------------------------------------------ values */

static bool literal(struct jp *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
        return false;
    j->p += n;
    return true;
}

static int integer(struct jp *j, uint64_t *out)
{
    const char *at = j->p;
    uint64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return jp_fail(j, "\"client\" is larger than 2^63-1");
        v = v * 10 + d;
        j->p++;
    }
    bool leading_zero = j->p - at > 1 && at[0] == '0';
    bool more = j->p < j->end && *j->p && strchr(".eE+-", *j->p);
    if (j->p == at || leading_zero || more) {
        j->p = at;
        return jp_fail(j, "\"client\" must be a whole number from 0 to "
                          "2^63-1 (no sign, fraction or leading zero)");
    }
    *out = v;
    return SMR_OK;
}

static int field_value(struct jp *j, enum field f, struct jline *l)
{
    const char **dst[F_N] = {NULL,      &l->type,   &l->op, &l->key,
                             &l->value, &l->expect, NULL};
    if (f == F_CLIENT)
        return integer(j, &l->client);
    if (f == F_FOUND) {
        l->found = literal(j, "true");
        if (l->found || literal(j, "false"))
            return SMR_OK;
        return jp_fail(j, "\"found\" must be true or false");
    }
    if (f == F_VALUE && literal(j, "null")) {
        l->value = NULL;
        return SMR_OK;
    }
    if (!peek(j, '"'))
        return jp_fail(j, "\"%s\" must be a string%s", field_names[f],
                       f == F_VALUE ? " or null" : "");
    return string(j, dst[f]);
}

static int member(struct jp *j, struct jline *l)
{
    const char *name;
    if (!peek(j, '"'))
        return jp_fail(j, "expected a field name in double quotes");
    const char *at = j->p;
    int rc = string(j, &name);
    if (rc)
        return rc;
    enum field f = 0;
    while (f < F_N && strcmp(name, field_names[f]))
        f++;
    if (f == F_N || l->seen & (1u << f)) {
        j->p = at;
        return jp_fail(j,
                       f == F_N ? "unknown field \"%.64s\""
                                : "field \"%.64s\" appears twice",
                       name);
    }
    l->seen |= 1u << f;
    skip_ws(j);
    if (!peek(j, ':'))
        return jp_fail(j, "expected ':' after the field name");
    j->p++;
    skip_ws(j);
    return field_value(j, f, l);
}

static int object(struct jp *j, struct jline *l)
{
    skip_ws(j);
    if (!peek(j, '{'))
        return jp_fail(j, "expected a JSON object starting with '{'");
    j->p++;
    skip_ws(j);
    bool first = true;
    while (!peek(j, '}') || !first) {
        int rc = member(j, l);
        if (rc)
            return rc;
        skip_ws(j);
        if (peek(j, '}'))
            break;
        if (!peek(j, ','))
            return jp_fail(j, "expected ',' or '}' after a field");
        j->p++;
        skip_ws(j);
        first = false;
    }
    j->p++;
    skip_ws(j);
    if (j->p != j->end)
        return jp_fail(j, "unexpected text after the object");
    return SMR_OK;
}

/* ------------------------------------------------------------- the event */

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

#define HAS(l, f) (((l)->seen >> (f)) & 1u)

static int invoke_event(struct lin_history *h, const struct jline *l,
                        uint64_t line, char *err, size_t err_len)
{
    static const char *const ops[] = {"get", "put", "del", "cas"};
    int kind = name_index(l->op, ops, 4);
    if (!HAS(l, F_OP) || !HAS(l, F_KEY) || kind < 0)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "an invoke needs \"op\" (get, put, del or cas) and "
                        "\"key\"");
    bool value = kind == LIN_PUT || kind == LIN_CAS, expect = kind == LIN_CAS;
    if (HAS(l, F_VALUE) != value || HAS(l, F_EXPECT) != expect ||
        HAS(l, F_FOUND) || (value && !l->value))
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "a %s invoke takes %s", ops[kind],
                        kind == LIN_PUT   ? "\"value\" (a string)"
                        : kind == LIN_CAS ? "\"expect\" and \"value\" (strings)"
                                          : "no \"value\", \"expect\" or "
                                            "\"found\"");
    struct lin_invoke in = {.client = l->client,
                            .kind = (enum lin_kind)kind,
                            .key = l->key,
                            .expect = l->expect,
                            .value = l->value,
                            .line = line};
    return lin_history_add_invoke(h, &in, err, err_len);
}

static bool same(const struct lin_history *h, uint32_t id, const char *s)
{
    const char *t = lin_str(&h->str, id);
    return t && s && !strcmp(t, s);
}

/* Fields a completion repeats must match its invoke. */
static int repeats_match(const struct lin_history *h, const struct lin_op *o,
                         const struct jline *l, uint64_t line, char *err,
                         size_t err_len)
{
    enum lin_kind k = (enum lin_kind)o->kind;
    const char *bad = NULL;
    if (HAS(l, F_OP) && strcmp(l->op, lin_kind_name(k)))
        bad = "\"op\"";
    else if (HAS(l, F_KEY) && !same(h, o->key, l->key))
        bad = "\"key\"";
    else if (HAS(l, F_EXPECT) && !same(h, o->expect, l->expect))
        bad = "\"expect\"";
    else if (HAS(l, F_VALUE) && k != LIN_GET && !same(h, o->value, l->value))
        bad = "\"value\"";
    if (bad)
        return lin_errf(err, err_len, SMR_EMALFORMED, line,
                        "%s differs from the invoke of client %llu on line "
                        "%llu",
                        bad, (unsigned long long)l->client,
                        (unsigned long long)o->invoke_line);
    return SMR_OK;
}

/* Which fields a completion of kind `k` with `outcome` may carry. */
static const char *misplaced(enum lin_kind k, int outcome,
                             const struct jline *l)
{
    if (HAS(l, F_FOUND) && !(k == LIN_DEL && outcome == LIN_OK))
        return "\"found\" belongs only in a del's ok";
    if (HAS(l, F_EXPECT) && k != LIN_CAS)
        return "\"expect\" belongs only in a cas";
    if (k == LIN_GET && outcome == LIN_OK && !HAS(l, F_VALUE))
        return "a get's ok needs \"value\" (a string, or null when absent)";
    if (k == LIN_GET && outcome != LIN_OK && HAS(l, F_VALUE))
        return "only a get's ok carries a \"value\"";
    if (k == LIN_DEL && HAS(l, F_VALUE))
        return "a del carries no \"value\"";
    return NULL;
}

static int complete_event(struct lin_history *h, const struct jline *l,
                          int outcome, uint64_t line, char *err, size_t err_len)
{
    const struct lin_op *o = lin_open_op(h, l->client);
    if (!o) /* add_complete words the refusal */
        return lin_history_add_complete(
            h, &(struct lin_complete){.client = l->client, .line = line}, err,
            err_len);
    enum lin_kind k = (enum lin_kind)o->kind;
    const char *why = misplaced(k, outcome, l);
    if (why)
        return lin_errf(err, err_len, SMR_EMALFORMED, line, "%s", why);
    int rc = repeats_match(h, o, l, line, err, err_len);
    if (rc)
        return rc;
    struct lin_complete c = {
        .client = l->client,
        .outcome = (enum lin_outcome)outcome,
        .value = l->value,
        .found = !HAS(l, F_FOUND) ? LIN_FOUND_ANY
                 : l->found       ? LIN_FOUND_YES
                                  : LIN_FOUND_NO,
        .line = line,
    };
    return lin_history_add_complete(h, &c, err, err_len);
}

static int scratch_room(struct lin_history *h, size_t len)
{
    if (len + 1 <= h->scratch_cap)
        return SMR_OK;
    char *s = realloc(h->scratch, len + 1);
    if (!s)
        return SMR_ENOMEM;
    h->scratch = s;
    h->scratch_cap = (uint32_t)(len + 1);
    return SMR_OK;
}

int lin_history_parse_line(struct lin_history *h, const char *line, size_t len,
                           uint64_t line_no, char *err, size_t err_len)
{
    static const char *const types[] = {"invoke", "ok", "fail", "info"};
    if (len > LIN_LINE_BYTES_MAX)
        return lin_errf(err, err_len, SMR_ETOOBIG, line_no,
                        "longer than %u bytes", LIN_LINE_BYTES_MAX);
    if (scratch_room(h, len))
        return lin_errf(err, err_len, SMR_ENOMEM, line_no, "out of memory");
    struct jp j = {line, line, line + len, h->scratch, line_no, err, err_len};
    struct jline l = {0};
    int rc = object(&j, &l);
    if (rc)
        return rc;
    int type = name_index(l.type, types, 4); /* 0 invoke, else outcome */
    if (!HAS(&l, F_CLIENT) || type < 0)
        return lin_errf(err, err_len, SMR_EMALFORMED, line_no,
                        "an event needs \"client\" and \"type\" (invoke, ok, "
                        "fail or info)");
    if (type == 0)
        return invoke_event(h, &l, line_no, err, err_len);
    return complete_event(h, &l, type, line_no, err, err_len);
}

/* ------------------------------------------------------------------ lines */

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* Parses the complete lines of buf[0..len); *used is how far it got. At EOF
 * the last line needs no newline. */
static int parse_lines(struct lin_history *h, const char *buf, size_t len,
                       bool eof, uint64_t *line_no, size_t *used, char *err,
                       size_t err_len)
{
    size_t at = 0;
    *used = 0;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl && !eof)
            break;
        size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;
        ++*line_no;
        int rc = n <= LIN_LINE_BYTES_MAX && blank(buf + at, n)
                     ? SMR_OK
                     : lin_history_parse_line(h, buf + at, n, *line_no, err,
                                              err_len);
        if (rc)
            return rc;
        at += n + (nl != NULL);
    }
    *used = at;
    return SMR_OK;
}

int lin_history_parse_buf(struct lin_history *h, const char *buf, size_t len,
                          char *err, size_t err_len)
{
    uint64_t line_no = 0;
    size_t used;
    return parse_lines(h, buf, len, true, &line_no, &used, err, err_len);
}

int lin_history_read(struct lin_history *h, FILE *f, char *err, size_t err_len)
{
    const size_t chunk = 1u << 16, cap = LIN_LINE_BYTES_MAX + 1 + chunk;
    char *buf = malloc(cap);
    if (!buf)
        return lin_errf(err, err_len, SMR_ENOMEM, 1, "out of memory");
    uint64_t line_no = 0;
    size_t have = 0, used = 0;
    int rc = SMR_OK;
    for (bool eof = false; !rc && !eof;) {
        size_t got = fread(buf + have, 1, cap - have, f);
        have += got;
        eof = got == 0;
        if (eof && ferror(f)) {
            rc = lin_errf(err, err_len, SMR_EIO, line_no + 1, "read error");
            break;
        }
        rc = parse_lines(h, buf, have, eof, &line_no, &used, err, err_len);
        if (rc)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (have > LIN_LINE_BYTES_MAX)
            rc = lin_errf(err, err_len, SMR_ETOOBIG, line_no + 1,
                          "longer than %u bytes", LIN_LINE_BYTES_MAX);
    }
    free(buf);
    return rc;
}
