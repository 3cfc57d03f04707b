/*
 * gen_corpus.c: writes the seed corpus for the wire fuzz targets.
 *
 * Usage: wire_gen_corpus DIR   (normally tests/fuzz/corpus)
 *
 * Writes DIR/<target>/valid_<type>_<n> for every sample frame of
 * wire_samples.h, and a few DIR/<target>/bad_<what> frames that declare
 * lengths far beyond their bytes. test_wire_corpus requires every valid_*
 * file to decode and every other file to be refused or decoded cleanly.
 * The output is deterministic; rerun it after a schema change and commit
 * the files.
 */
#include <errno.h>
#include <sys/stat.h>

#include "wire_samples.h"

static const char *target_of(int type)
{
    if (type == WIRE_PAXOS)
        return "fuzz_wire_paxos";
    if (type == WIRE_PBFT || type == WIRE_STATE_REQ ||
        type == WIRE_STATE_CHUNK)
        return "fuzz_wire_pbft";
    if (type >= WIRE_COMMITTED && type != WIRE_REPLIES)
        return "fuzz_wire_stream";
    return "fuzz_wire_client";
}

static void write_file(const char *dir, const char *target, const char *name,
                       const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, target);
    if (mkdir(path, 0755) && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* Hostile seeds: huge declared sizes in a few bytes. */
static void write_bad(const char *dir)
{
    static const uint8_t top[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01};
    static const uint8_t op[] = {0x95, 1,    1,    0,    0,
                                 0xc6, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t entries[] = {
        0x9c, 1, 5, 0, 0, 3, 0, 0, 0, 0, 0, 0xc2, 0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t batch[] = {0x96, 1, 6,    1,    1,    1,
                                    0xc4, 4, 0xff, 0xff, 0xff, 0xff};
    write_file(dir, "fuzz_wire_client", "bad_huge_array", top, sizeof top);
    write_file(dir, "fuzz_wire_client", "bad_huge_op", op, sizeof op);
    write_file(dir, "fuzz_wire_paxos", "bad_huge_entries", entries,
               sizeof entries);
    write_file(dir, "fuzz_wire_stream", "bad_batch_count", batch, sizeof batch);
    /* PBFT: a CATCHUP declaring 2^32-1 entries, a MAC vector of 4 GiB. */
    static const uint8_t pbft_entries[] = {
        0x9a, 1, 10, 0, 0, 9, 1, 0, 0, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff};
    uint8_t pbft_macs[12 + SMR_DIGEST_BYTES + 5] = {
        0x9a, 1, 10, 0, 0, 3, 1, 0, 0, 0x91, 0xc4, SMR_DIGEST_BYTES};
    memcpy(pbft_macs + 12 + SMR_DIGEST_BYTES, "\xc6\xff\xff\xff\xff", 5);
    write_file(dir, "fuzz_wire_pbft", "bad_huge_entries", pbft_entries,
               sizeof pbft_entries);
    write_file(dir, "fuzz_wire_pbft", "bad_huge_macs", pbft_macs,
               sizeof pbft_macs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[1], 0755) && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    static struct wire_samples w;
    wire_samples_build(&w);
    for (size_t i = 0; i < w.n; i++)
        write_file(argv[1], target_of(w.s[i].type), w.s[i].name,
                   w.s[i].frame.data, w.s[i].frame.len);
    write_bad(argv[1]);
    printf("wrote %zu valid and 6 bad frames under %s\n", w.n, argv[1]);
    wire_samples_free(&w);
    return 0;
}
