/*
 * test_lincheck.c: Check suite for glue/lincheck*.c: known answers.
 *
 * Hand-written JSON Lines histories with their verdicts: sequential ones,
 * concurrent writes with both orders valid, stale reads, cas that swaps
 * or fails, info operations that may or may not apply, pending invokes,
 * absent keys, del with and without "found", several keys; for
 * violations, the key, the line of the first completion that cannot be
 * linearized, and the evidence. Malformed lines must be refused with their
 * line number (through a buffer and through a stream), and the in-memory
 * API used by the simulator must behave the same. The randomized self-test
 * against a brute-force checker, and the speed, are in
 * test_lincheck_random.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

#define ERR_BYTES 512

/* ------------------------------------------------------- JSON histories */

static struct lin_history *parse_ok(const char *jsonl)
{
    struct lin_history *h;
    char err[ERR_BYTES] = "";
    ck_assert_int_eq(lin_history_new(&h), SMR_OK);
    int rc = lin_history_parse_buf(h, jsonl, strlen(jsonl), err, sizeof err);
    ck_assert_msg(rc == SMR_OK, "refused: %s\n%s", err, jsonl);
    return h;
}

static enum lin_verdict verdict_of(const char *jsonl)
{
    struct lin_history *h = parse_ok(jsonl);
    struct lin_report r;
    ck_assert_int_eq(lin_check(h, NULL, &r), SMR_OK);
    enum lin_verdict v = r.verdict;
    lin_report_free(&r);
    lin_history_destroy(&h);
    return v;
}

#define LIN(s) ck_assert_msg(verdict_of(s) == LIN_LINEARIZABLE, "%s", s)
#define NOT(s) ck_assert_msg(verdict_of(s) == LIN_VIOLATION, "%s", s)

/* Event shorthands: invokes PUT, GET, DEL, CAS (client, key, args) and
 * completions OK, FAIL, INFO, READ, ABSENT, FOUND (client, result). */
#define PUT(c, k, v)                                                           \
    "{\"client\":" #c ",\"type\":\"invoke\",\"op\":\"put\","                   \
    "\"key\":\"" k "\",\"value\":\"" v "\"}\n"
#define GET(c, k)                                                              \
    "{\"client\":" #c ",\"type\":\"invoke\",\"op\":\"get\","                   \
    "\"key\":\"" k "\"}\n"
#define DEL(c, k)                                                              \
    "{\"client\":" #c ",\"type\":\"invoke\",\"op\":\"del\","                   \
    "\"key\":\"" k "\"}\n"
#define CAS(c, k, e, v)                                                        \
    "{\"client\":" #c ",\"type\":\"invoke\",\"op\":"                           \
    "\"cas\",\"key\":\"" k "\",\"expect\":\"" e "\","                          \
    "\"value\":\"" v "\"}\n"
#define OK(c) "{\"client\":" #c ",\"type\":\"ok\"}\n"
#define FAIL(c) "{\"client\":" #c ",\"type\":\"fail\"}\n"
#define INFO(c) "{\"client\":" #c ",\"type\":\"info\"}\n"
#define READ(c, v) "{\"client\":" #c ",\"type\":\"ok\",\"value\":\"" v "\"}\n"
#define ABSENT(c) "{\"client\":" #c ",\"type\":\"ok\",\"value\":null}\n"
#define FOUND(c, b) "{\"client\":" #c ",\"type\":\"ok\",\"found\":" #b "}\n"

START_TEST(test_sequential)
{
    LIN("");
    LIN(PUT(1, "a", "1") OK(1) GET(1, "a") READ(1, "1"));
    LIN(GET(1, "a") ABSENT(1) PUT(2, "a", "x") OK(2) GET(1, "a") READ(1, "x"));
    NOT(GET(1, "a") READ(1, "1"));                     /* never written */
    NOT(PUT(1, "a", "1") OK(1) GET(2, "a") ABSENT(2)); /* lost write */
    NOT(PUT(1, "a", "1") OK(1) PUT(1, "a", "2") OK(1) GET(2, "a")
            READ(2, "1")); /* stale read */
}
END_TEST

START_TEST(test_concurrent_writes)
{
    /* Overlapping puts: either order, as long as reads agree. */
    const char *both = PUT(1, "a", "1") PUT(2, "a", "2") OK(1) OK(2);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s", both, GET(3, "a") READ(3, "1"));
    LIN(buf);
    snprintf(buf, sizeof buf, "%s%s", both, GET(3, "a") READ(3, "2"));
    LIN(buf);
    snprintf(buf, sizeof buf, "%s%s%s", both, GET(3, "a") READ(3, "2"),
             GET(3, "a") READ(3, "1"));
    NOT(buf);
    /* A read during a write sees old or new, but not new then old. */
    LIN(PUT(1, "a", "1") OK(1) PUT(1, "a", "2") GET(2, "a") READ(2, "1")
            GET(2, "a") READ(2, "2") OK(1));
    NOT(PUT(1, "a", "1") OK(1) PUT(1, "a", "2") GET(2, "a") READ(2, "2")
            GET(2, "a") READ(2, "1") OK(1));
    /* A read that started before the write finished may see it. */
    LIN(GET(2, "a") PUT(1, "a", "1") OK(1) READ(2, "1"));
}
END_TEST

START_TEST(test_cas)
{
    LIN(PUT(1, "a", "1") OK(1) CAS(1, "a", "1", "2") OK(1) GET(1, "a")
            READ(1, "2"));
    NOT(PUT(1, "a", "1") OK(1) CAS(1, "a", "1", "2") FAIL(1));
    NOT(PUT(1, "a", "1") OK(1) CAS(1, "a", "3", "2") OK(1));
    LIN(CAS(1, "a", "1", "2") FAIL(1)); /* absent: cannot swap */
    NOT(CAS(1, "a", "1", "2") OK(1));   /* absent: cannot swap */
    /* Two concurrent cas from the same value: only one may win. */
    const char *race =
        PUT(1, "a", "1") OK(1) CAS(1, "a", "1", "2") CAS(2, "a", "1", "3");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s", race, OK(1) OK(2));
    NOT(buf);
    snprintf(buf, sizeof buf, "%s%s", race, OK(1) FAIL(2));
    LIN(buf);
    snprintf(buf, sizeof buf, "%s%s", race, FAIL(1) FAIL(2));
    NOT(buf);
    /* A cas fail linearized before a concurrent put of its expectation. */
    LIN(PUT(1, "a", "0") OK(1) PUT(1, "a", "1") CAS(2, "a", "1", "2") FAIL(2)
            OK(1));
}
END_TEST

START_TEST(test_info)
{
    /* An info put may apply at any time after its invoke, or never. */
    LIN(PUT(1, "a", "1") INFO(1) GET(2, "a") READ(2, "1"));
    LIN(PUT(1, "a", "1") INFO(1) GET(2, "a") ABSENT(2));
    LIN(PUT(1, "a", "1") INFO(1) GET(2, "a") ABSENT(2) GET(2, "a")
            READ(2, "1"));
    NOT(PUT(1, "a", "1") INFO(1) GET(2, "a") READ(2, "1") GET(2, "a")
            ABSENT(2));
    NOT(GET(2, "a") READ(2, "1") PUT(1, "a", "1") INFO(1)); /* before it */
    /* No completion at the end of the file counts as info. */
    LIN(PUT(1, "a", "1") GET(2, "a") READ(2, "1"));
    LIN(PUT(1, "a", "1") GET(2, "a") ABSENT(2));
    /* The client may go on after an info; the info op stays open. */
    LIN(PUT(1, "a", "1") INFO(1) PUT(1, "a", "2") OK(1) GET(2, "a")
            READ(2, "1"));
    /* An info cas swaps or not, only where it could. */
    const char *icas = PUT(1, "a", "1") OK(1) CAS(1, "a", "1", "2") INFO(1);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s", icas,
             GET(2, "a") READ(2, "1") GET(2, "a") READ(2, "2"));
    LIN(buf);
    snprintf(buf, sizeof buf, "%s%s", icas,
             GET(2, "a") READ(2, "2") GET(2, "a") READ(2, "1"));
    NOT(buf);
    NOT(PUT(1, "a", "5") OK(1) CAS(1, "a", "1", "2") INFO(1) GET(2, "a")
            READ(2, "2"));
    /* Failed put, get, del are ignored; an info get says nothing. */
    LIN(PUT(1, "a", "1") FAIL(1) GET(2, "a") ABSENT(2) GET(2, "a") FAIL(2)
            GET(2, "a") INFO(2));
    LIN(PUT(1, "a", "1") OK(1) DEL(1, "a") FAIL(1) GET(2, "a") READ(2, "1"));
}
END_TEST

START_TEST(test_del)
{
    LIN(PUT(1, "a", "1") OK(1) DEL(1, "a") OK(1) GET(1, "a") ABSENT(1));
    LIN(PUT(1, "a", "1") OK(1) DEL(1, "a") FOUND(1, true) GET(1, "a")
            ABSENT(1));
    NOT(PUT(1, "a", "1") OK(1) DEL(1, "a") FOUND(1, false));
    LIN(DEL(1, "a") FOUND(1, false));
    NOT(DEL(1, "a") FOUND(1, true));
    NOT(PUT(1, "a", "1") OK(1) DEL(1, "a") OK(1) GET(1, "a") READ(1, "1"));
    /* Two concurrent dels of a present key: only one finds it. */
    NOT(PUT(1, "a", "1") OK(1) DEL(1, "a") DEL(2, "a") FOUND(1, true)
            FOUND(2, true));
    LIN(PUT(1, "a", "1") OK(1) DEL(1, "a") DEL(2, "a") FOUND(1, true)
            FOUND(2, false));
}
END_TEST

static void check_report(const char *jsonl, const char *key, uint64_t line,
                         size_t n_ops, const uint64_t *invoke_lines)
{
    struct lin_history *h = parse_ok(jsonl);
    struct lin_report r;
    ck_assert_int_eq(lin_check(h, NULL, &r), SMR_OK);
    ck_assert_int_eq(r.verdict, LIN_VIOLATION);
    ck_assert_str_eq(r.key, key);
    ck_assert_uint_eq(r.violation_line, line);
    ck_assert(r.minimal);
    ck_assert_uint_eq(r.n_report_ops, n_ops);
    for (size_t i = 0; i < n_ops; i++) {
        char line[256];
        ck_assert_msg(r.ops[i].invoke_line == invoke_lines[i], "%zu: %s", i,
                      lin_op_format(&r.ops[i], line, sizeof line));
    }
    lin_report_free(&r);
    lin_history_destroy(&h);
}

START_TEST(test_report)
{
    /* Key b is stale among noise; key a is fine. The evidence keeps the
     * put the read saw (no phantom read): lines 5, 9, 11. */
    static const uint64_t stale[] = {5, 9, 11};
    check_report(PUT(1, "a", "1") OK(1) GET(2, "a") READ(2, "1")
                     PUT(1, "b", "x") OK(1) GET(2, "b") READ(2, "x")
                         PUT(3, "b", "y") OK(3) GET(2, "b") READ(2, "x")
                             PUT(1, "a", "2") OK(1),
                 "b", 12, 3, stale);
    /* The evidence is the first violation (line 12), not one made up by
     * dropping the second put of 1 that the read on line 8 saw. */
    static const uint64_t first[] = {3, 5, 11};
    check_report(PUT(1, "a", "1") OK(1) PUT(1, "a", "2") OK(1) PUT(1, "a", "1")
                     OK(1) GET(2, "a") READ(2, "1") PUT(1, "a", "3") OK(1)
                         GET(2, "a") READ(2, "2"),
                 "a", 12, 3, first);
    /* Of two failing keys the one with fewer operations is reported. */
    static const uint64_t lone[] = {7};
    check_report(PUT(1, "a", "1") OK(1) PUT(1, "a", "2") OK(1) GET(1, "a")
                     READ(1, "1") GET(1, "z") READ(1, "q"),
                 "z", 8, 1, lone);
    /* Format of one line. */
    struct lin_op_desc d = {.client = 3,
                            .kind = LIN_CAS,
                            .outcome = LIN_FAIL,
                            .key = "a\"b",
                            .expect = "1",
                            .value = "2",
                            .invoke_line = 5,
                            .complete_line = 9};
    char line[256];
    ck_assert_str_eq(lin_op_format(&d, line, sizeof line),
                     "client 3  cas \"a\\\"b\" expect \"1\" value \"2\" -> "
                     "fail  (lines 5-9)");
    d = (struct lin_op_desc){.client = 1,
                             .kind = LIN_GET,
                             .key = "k",
                             .outcome = LIN_OK,
                             .invoke_line = 2,
                             .complete_line = 4};
    ck_assert_str_eq(lin_op_format(&d, line, sizeof line),
                     "client 1  get \"k\" -> ok null  (lines 2-4)");
    d.kind = LIN_PUT, d.value = "v", d.outcome = LIN_INFO;
    d.complete_line = 0;
    ck_assert_str_eq(lin_op_format(&d, line, sizeof line),
                     "client 1  put \"k\" \"v\" -> info  (line 2, outcome "
                     "unknown)");
}
END_TEST

START_TEST(test_escapes)
{
    /* Escaped and raw spellings of one key and value are the same. */
    LIN("{\"client\":1,\"type\":\"invoke\",\"op\":\"put\",\"key\":"
        "\"\\u00e9\\ud83d\\ude00\\\"\\\\\\n\\/\",\"value\":\"\\u0041\"}\n"
        "{ \"client\" : 1 , \"type\" : \"ok\" }\r\n"
        "\n   \n"
        "{\"type\":\"invoke\",\"client\":2,\"op\":\"get\",\"key\":"
        "\"\xc3\xa9\xf0\x9f\x98\x80\\\"\\\\\\n/\"}\n"
        "{\"\\u0063lient\":2,\"type\":\"ok\",\"value\":\"A\",\"op\":\"get\"}");
}
END_TEST

struct bad_case {
    const char *text;
    int rc;
    uint64_t line;
    const char *needle;
};

static const struct bad_case bad_cases[] = {
    {"nonsense", SMR_EMALFORMED, 1, "expected a JSON object"},
    {"\n\n[1]", SMR_EMALFORMED, 3, "expected a JSON object"},
    {"{\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\"}", SMR_EMALFORMED, 1,
     "needs \"client\""},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\","
     "\"time\":5}",
     SMR_EMALFORMED, 1, "unknown field \"time\""},
    {"{\"client\":1,\"client\":2}", SMR_EMALFORMED, 1, "appears twice"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\\q\"}",
     SMR_EMALFORMED, 1, "unknown escape"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\\u0000\"}",
     SMR_EMALFORMED, 1, "\\u0000"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\\udc00\"}",
     SMR_EMALFORMED, 1, "surrogate"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\\ud800x\"}",
     SMR_EMALFORMED, 1, "surrogate"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\\u12\"}",
     SMR_EMALFORMED, 1, "four hex digits"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\xff\"}",
     SMR_EMALFORMED, 1, "UTF-8"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"\xc0\xaf\"}",
     SMR_EMALFORMED, 1, "UTF-8"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\tb\"}",
     SMR_EMALFORMED, 1, "control character"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a}",
     SMR_EMALFORMED, 1, "unterminated"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\"} x",
     SMR_EMALFORMED, 1, "after the object"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\",}",
     SMR_EMALFORMED, 1, "field name"},
    {"{\"client\":1 \"type\":\"invoke\"}", SMR_EMALFORMED, 1,
     "expected ',' or '}'"},
    {"{\"client\" 1}", SMR_EMALFORMED, 1, "expected ':'"},
    {"{\"client\":-1}", SMR_EMALFORMED, 1, "whole number"},
    {"{\"client\":01}", SMR_EMALFORMED, 1, "whole number"},
    {"{\"client\":1.5}", SMR_EMALFORMED, 1, "whole number"},
    {"{\"client\":99999999999999999999}", SMR_EMALFORMED, 1, "2^63-1"},
    {"{\"client\":\"1\"}", SMR_EMALFORMED, 1, "whole number"},
    {"{\"client\":1,\"type\":\"begin\"}", SMR_EMALFORMED, 1, "\"type\""},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"incr\",\"key\":\"a\"}",
     SMR_EMALFORMED, 1, "\"op\""},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"put\",\"key\":\"a\"}",
     SMR_EMALFORMED, 1, "a put invoke takes \"value\""},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"put\",\"key\":\"a\","
     "\"value\":null}",
     SMR_EMALFORMED, 1, "a put invoke takes"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"cas\",\"key\":\"a\","
     "\"value\":\"1\"}",
     SMR_EMALFORMED, 1, "\"expect\" and \"value\""},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"a\","
     "\"value\":\"1\"}",
     SMR_EMALFORMED, 1, "a get invoke takes no"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"get\",\"key\":1}",
     SMR_EMALFORMED, 1, "\"key\" must be a string"},
    {"{\"client\":1,\"type\":\"invoke\",\"op\":\"del\",\"key\":\"a\","
     "\"found\":\"yes\"}",
     SMR_EMALFORMED, 1, "true or false"},
    {PUT(1, "a", "1") OK(1) "{\"client\":1,\"type\":\"ok\"}", SMR_EMALFORMED, 3,
     "no operation outstanding"},
    {PUT(1, "a", "1") "\n" GET(1, "a"), SMR_EMALFORMED, 3,
     "client 1 invokes while its put from line 1 is outstanding"},
    {GET(1, "a") OK(1), SMR_EMALFORMED, 2, "a get's ok needs \"value\""},
    {GET(1, "a") "{\"client\":1,\"type\":\"fail\",\"value\":null}",
     SMR_EMALFORMED, 2, "only a get's ok"},
    {PUT(1, "a", "1") "{\"client\":1,\"type\":\"ok\",\"key\":\"b\"}",
     SMR_EMALFORMED, 2, "\"key\" differs from the invoke"},
    {PUT(1, "a", "1") "{\"client\":1,\"type\":\"ok\",\"op\":\"del\"}",
     SMR_EMALFORMED, 2, "\"op\" differs"},
    {PUT(1, "a", "1") "{\"client\":1,\"type\":\"ok\",\"value\":\"2\"}",
     SMR_EMALFORMED, 2, "\"value\" differs"},
    {PUT(1, "a", "1") "{\"client\":1,\"type\":\"ok\",\"found\":true}",
     SMR_EMALFORMED, 2, "\"found\" belongs only in a del's ok"},
    {DEL(1, "a") "{\"client\":1,\"type\":\"info\",\"found\":true}",
     SMR_EMALFORMED, 2, "\"found\" belongs only"},
    {CAS(1, "a", "1", "2") "{\"client\":1,\"type\":\"ok\",\"expect\":\"3\"}",
     SMR_EMALFORMED, 2, "\"expect\" differs"},
};

static void refuse(const struct bad_case *b, bool via_file)
{
    struct lin_history *h;
    char err[ERR_BYTES] = "", prefix[64];
    ck_assert_int_eq(lin_history_new(&h), SMR_OK);
    int rc;
    if (via_file) {
        FILE *f = fmemopen((void *)b->text, strlen(b->text), "r");
        ck_assert_ptr_nonnull(f);
        rc = lin_history_read(h, f, err, sizeof err);
        fclose(f);
    } else {
        rc =
            lin_history_parse_buf(h, b->text, strlen(b->text), err, sizeof err);
    }
    snprintf(prefix, sizeof prefix, "line %llu: ", (unsigned long long)b->line);
    ck_assert_msg(rc == b->rc, "rc %d (%s) for %.200s", rc, err, b->text);
    ck_assert_msg(!strncmp(err, prefix, strlen(prefix)) &&
                      strstr(err, b->needle),
                  "expected \"%s...%s\", got \"%s\"", prefix, b->needle, err);
    lin_history_destroy(&h);
}

START_TEST(test_malformed)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        refuse(&bad_cases[i], false);
        refuse(&bad_cases[i], true);
    }
    /* A line longer than the bound, in a buffer and in a stream. */
    size_t n = LIN_LINE_BYTES_MAX + 100;
    char *big = malloc(n + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', n);
    memcpy(big, GET(1, "a") "\n", strlen(GET(1, "a")) + 1);
    big[n] = '\0';
    struct bad_case b = {big, SMR_ETOOBIG, 3, "longer than"};
    refuse(&b, false);
    refuse(&b, true);
    free(big);
}
END_TEST

START_TEST(test_api_direct)
{
    /* The simulator's way: events in memory, lines are event ordinals. */
    struct lin_history *h;
    struct lin_report r;
    char err[ERR_BYTES];
    ck_assert_int_eq(lin_history_new(&h), SMR_OK);
    struct lin_invoke put = {
        .client = 7, .kind = LIN_PUT, .key = "k", .value = "v"};
    struct lin_invoke get = {.client = 8, .kind = LIN_GET, .key = "k"};
    ck_assert_int_eq(lin_history_add_invoke(h, &put, err, sizeof err), 0);
    ck_assert_int_eq(
        lin_history_add_complete(
            h, &(struct lin_complete){7, LIN_OK, NULL, 0, 0}, err, sizeof err),
        0);
    ck_assert_int_eq(lin_history_add_invoke(h, &get, err, sizeof err), 0);
    ck_assert_int_eq(lin_history_add_invoke(h, &get, err, sizeof err),
                     SMR_EMALFORMED);
    ck_assert_str_eq(err, "line 4: client 8 invokes while its get from line "
                          "3 is outstanding");
    ck_assert_int_eq(
        lin_history_add_complete(
            h, &(struct lin_complete){8, LIN_OK, NULL, 0, 0}, err, sizeof err),
        0);
    ck_assert_uint_eq(lin_history_ops(h), 2);
    ck_assert_int_eq(lin_check(h, NULL, &r), SMR_OK);
    ck_assert_int_eq(r.verdict, LIN_VIOLATION);
    ck_assert_uint_eq(r.n_report_ops, 2);
    ck_assert_uint_eq(r.ops[1].invoke_line, 3);
    ck_assert_uint_eq(r.ops[1].complete_line, 4);
    ck_assert_uint_eq(r.violation_line, 4);
    ck_assert_ptr_null(r.ops[1].value);
    lin_report_free(&r);
    /* A tiny budget makes a hard key unknown. */
    struct lin_limits lim = {.states_per_key_max = 1, .shrink_states_max = 1};
    struct lin_history *g = parse_ok(PUT(1, "a", "1") PUT(2, "a", "2") OK(1)
                                         OK(2) GET(3, "a") READ(3, "1"));
    ck_assert_int_eq(lin_check(g, &lim, &r), SMR_OK);
    ck_assert_int_eq(r.verdict, LIN_UNKNOWN);
    ck_assert_str_eq(r.key, "a");
    lin_report_free(&r);
    lin_history_destroy(&g);
    lin_history_destroy(&h);
    ck_assert_ptr_null(h);
}
END_TEST

static Suite *lincheck_suite(void)
{
    Suite *s = suite_create("lincheck");
    TCase *known = tcase_create("known");
    tcase_add_test(known, test_sequential);
    tcase_add_test(known, test_concurrent_writes);
    tcase_add_test(known, test_cas);
    tcase_add_test(known, test_info);
    tcase_add_test(known, test_del);
    tcase_add_test(known, test_report);
    tcase_add_test(known, test_escapes);
    tcase_add_test(known, test_malformed);
    tcase_add_test(known, test_api_direct);
    suite_add_tcase(s, known);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lincheck_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
