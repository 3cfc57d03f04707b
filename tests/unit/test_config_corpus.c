/*
 * test_config_corpus.c: replays the config fuzz corpus under the normal
 * build.
 *
 * Every file in tests/fuzz/corpus/fuzz_config/ goes through
 * glue_config_load_data(), the path the fuzz_config target exercises.
 * Acceptance and refusal are both fine; what is checked is what the
 * fuzzer's oracle checks cheaply: no crash (ASan builds see overreads, since
 * each file sits in a buffer of exactly its size), a refusal returns
 * SMR_ECONFIG or SMR_ENOMEM with one NUL-terminated sentence that starts
 * with the name given and leaves *out untouched, and an accepted config
 * passes glue_config_check() again. So an input the fuzzer found becomes a
 * regression test by copying it into that directory.
 *
 * The directory comes from STRATA_CONFIG_CORPUS_DIR (set in
 * tests/CMakeLists.txt) or from argv[1].
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifndef STRATA_CONFIG_CORPUS_DIR
#define STRATA_CONFIG_CORPUS_DIR "tests/fuzz/corpus/fuzz_config"
#endif

#define NAME "corpus.yaml"
#define FILE_BYTES_MAX (GLUE_CONFIG_BYTES_MAX + 1)

static const char *corpus_dir = STRATA_CONFIG_CORPUS_DIR;

/* Reads a whole file (at most FILE_BYTES_MAX) into a fresh buffer of
 * exactly its size. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *tmp = malloc(FILE_BYTES_MAX);
    ck_assert_ptr_nonnull(tmp);
    size_t n = fread(tmp, 1, FILE_BYTES_MAX, f);
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    char *data = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(data);
    memcpy(data, tmp, n);
    free(tmp);
    *len = n;
    return data;
}

/* Loads one file; returns true when it was accepted. */
static bool replay_file(const char *path)
{
    static struct glue_config c, untouched;
    char err[512];
    size_t len;
    char *data = read_file(path, &len);
    memset(&c, 0x5a, sizeof c);
    memcpy(&untouched, &c, sizeof c);
    memset(err, 'E', sizeof err);
    int rc = glue_config_load_data(data, len, NAME, &c, err, sizeof err);
    free(data);
    if (rc == SMR_OK) {
        ck_assert_msg(glue_config_check(&c, err, sizeof err) == SMR_OK,
                      "%s: accepted, then refused by glue_config_check: %s",
                      path, err);
        return true;
    }
    ck_assert_msg(rc == SMR_ECONFIG || rc == SMR_ENOMEM,
                  "%s: unexpected return code %d", path, rc);
    ck_assert_msg(memchr(err, '\0', sizeof err) != NULL,
                  "%s: sentence not NUL-terminated", path);
    ck_assert_msg(!strncmp(err, NAME ": ", strlen(NAME ": ")) &&
                      strlen(err) > strlen(NAME ": "),
                  "%s: sentence does not start with the name: %s", path, err);
    ck_assert_msg(!memcmp(&c, &untouched, sizeof c),
                  "%s: a refusal changed *out", path);
    return false;
}

START_TEST(test_corpus_replays)
{
    DIR *d = opendir(corpus_dir);
    ck_assert_msg(d != NULL, "cannot open %s", corpus_dir);
    unsigned files = 0, accepted = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", corpus_dir, e->d_name);
        files++;
        accepted += replay_file(path);
    }
    closedir(d);
    ck_assert_msg(files > 0, "no corpus in %s", corpus_dir);
    /* The seeds hold both kinds; a corpus that is all one kind has lost
     * its valid examples or its hostile ones. */
    ck_assert_msg(accepted > 0, "no file in %s loads", corpus_dir);
    ck_assert_msg(accepted < files, "every file in %s loads", corpus_dir);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1)
        corpus_dir = argv[1];
    Suite *s = suite_create("config_corpus");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_corpus_replays);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
