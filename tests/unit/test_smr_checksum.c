/*
 * test_smr_checksum.c: the stored-record checksum (smr_checksum32) is
 * CRC-32C: the standard check value, agreement of the instruction and the
 * table on every length and alignment, and detection of any single flipped
 * bit.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smr.h"

START_TEST(test_check_value)
{
    ck_assert_uint_eq(smr_checksum32("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(smr_checksum32_portable("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(smr_checksum32("", 0), 0);
}
END_TEST

START_TEST(test_paths_agree)
{
    uint8_t buf[600];
    uint64_t rng = 0x5eed;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)smr_rng_next(&rng);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 1 + len / 16)
            ck_assert_uint_eq(smr_checksum32(buf + off, len),
                              smr_checksum32_portable(buf + off, len));
}
END_TEST

START_TEST(test_single_bit_flips_detected)
{
    uint8_t buf[256];
    memset(buf, 0xA5, sizeof buf);
    uint32_t good = smr_checksum32(buf, sizeof buf);
    for (size_t bit = 0; bit < 8 * sizeof buf; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_uint_ne(smr_checksum32(buf, sizeof buf), good);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smr_checksum");
    TCase *tc = tcase_create("crc32c");
    tcase_add_test(tc, test_check_value);
    tcase_add_test(tc, test_paths_agree);
    tcase_add_test(tc, test_single_bit_flips_detected);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
