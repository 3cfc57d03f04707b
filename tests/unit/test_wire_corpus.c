/*
 * test_wire_corpus.c: replays the wire fuzz corpus under the normal build.
 *
 * Every file in tests/fuzz/corpus/<target>/ goes through the decoders of
 * that target's family (all decoders for an unknown directory) with the
 * round-trip oracle of tests/fuzz/wire_check.h. Files named valid_* (written
 * by tests/fuzz/gen_corpus.c) must decode; any other file (hostile seeds,
 * inputs the fuzzer found, crash reproducers) must be refused or decoded
 * cleanly. So a crash found by a fuzzer becomes a regression test by
 * copying the input into the target's corpus directory.
 *
 * The corpus directory comes from STRATA_WIRE_CORPUS_DIR (set in
 * tests/CMakeLists.txt) or from argv[1].
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/wire_check.h"

#ifndef STRATA_WIRE_CORPUS_DIR
#define STRATA_WIRE_CORPUS_DIR "tests/fuzz/corpus"
#endif

#define CORPUS_FILE_BYTES_MAX (SMR_FRAME_BYTES_MAX + 1)

static const char *corpus_dir = STRATA_WIRE_CORPUS_DIR;

struct replay_counts {
    unsigned files;
    unsigned decoded;
    unsigned rejected;
};

static unsigned family_of(const char *target)
{
    if (!strcmp(target, "fuzz_wire_client"))
        return WIRE_FAMILY_CLIENT;
    if (!strcmp(target, "fuzz_wire_paxos"))
        return WIRE_FAMILY_PAXOS;
    if (!strcmp(target, "fuzz_wire_stream"))
        return WIRE_FAMILY_STREAM;
    if (!strcmp(target, "fuzz_wire_pbft"))
        return WIRE_FAMILY_PBFT;
    return WIRE_FAMILY_ALL;
}

/* Reads a whole file (at most CORPUS_FILE_BYTES_MAX) into a fresh buffer
 * of exactly its size, so ASan builds see any overread. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *tmp = malloc(CORPUS_FILE_BYTES_MAX);
    ck_assert_ptr_nonnull(tmp);
    size_t n = fread(tmp, 1, CORPUS_FILE_BYTES_MAX, f);
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    uint8_t *data = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(data);
    memcpy(data, tmp, n);
    free(tmp);
    *len = n;
    return data;
}

static void replay_file(const char *dir, const char *name, unsigned family,
                        struct replay_counts *c)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *data = read_file(path, &len);
    int rc = wire_check_frame(data, len, family);
    free(data);
    ck_assert_msg(rc != WC_BROKEN, "%s: decoder bug", path);
    if (!strncmp(name, "valid_", 6))
        ck_assert_msg(rc == WC_DECODED, "%s: valid frame refused", path);
    c->files++;
    rc == WC_DECODED ? c->decoded++ : c->rejected++;
}

static void replay_dir(const char *target, struct replay_counts *c)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/%s", corpus_dir, target);
    DIR *d = opendir(dir);
    if (!d)
        return; /* not a directory */
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            replay_file(dir, e->d_name, family_of(target), c);
    closedir(d);
}

static struct replay_counts replay_target(const char *target)
{
    struct replay_counts c = {0};
    replay_dir(target, &c);
    ck_assert_msg(c.files > 0, "no corpus in %s/%s", corpus_dir, target);
    ck_assert_msg(c.decoded > 0, "nothing in %s decodes", target);
    return c;
}

START_TEST(test_corpus_client)
{
    replay_target("fuzz_wire_client");
}
END_TEST

START_TEST(test_corpus_paxos)
{
    replay_target("fuzz_wire_paxos");
}
END_TEST

START_TEST(test_corpus_stream)
{
    replay_target("fuzz_wire_stream");
}
END_TEST

/* Directories other than the four above are replayed through every
 * decoder. */
START_TEST(test_corpus_pbft)
{
    replay_target("fuzz_wire_pbft");
}
END_TEST

START_TEST(test_corpus_other_dirs)
{
    DIR *d = opendir(corpus_dir);
    ck_assert_msg(d != NULL, "cannot open %s", corpus_dir);
    struct dirent *e;
    struct replay_counts c = {0};
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && family_of(e->d_name) == WIRE_FAMILY_ALL)
            replay_dir(e->d_name, &c);
    closedir(d);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1)
        corpus_dir = argv[1];
    Suite *s = suite_create("wire_corpus");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_corpus_client);
    tcase_add_test(tc, test_corpus_paxos);
    tcase_add_test(tc, test_corpus_stream);
    tcase_add_test(tc, test_corpus_pbft);
    tcase_add_test(tc, test_corpus_other_dirs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
