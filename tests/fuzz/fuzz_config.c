/*
 * fuzz_config.c: libFuzzer entry point for the config loader (glue/config.c,
 * libcyaml underneath) and the composition check (glue/contract.c).
 *
 * Each input is a YAML document given to glue_config_load_data(), the path
 * glue_config_load() takes once it has read the file. ASan and UBSan catch
 * memory errors in our code and in libcyaml/libyaml; the oracle catches
 * wrong answers:
 *   - a refusal returns SMR_ECONFIG (or SMR_ENOMEM) with one NUL-terminated
 *     sentence that starts with the name given, and leaves *out untouched;
 *   - an accepted config passes glue_config_check() again, finds every
 *     replica id 0..n-1, is accepted by the composition check when unsafe
 *     storage is allowed (what the glue accepts, the Paxos core must accept
 *     too), and has a one-line description.
 * Seeds: tests/fuzz/corpus/fuzz_config/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "contract.h"

#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_config oracle: %s: %s\n", what, err ? err : "");
    abort();
}

static void check_accepted(const struct glue_config *c)
{
    char err[512];
    char line[256];
    if (glue_config_check(c, err, sizeof(err)) != SMR_OK)
        fail("accepted config fails glue_config_check", err);
    for (smr_node_id id = 0; id < c->n_replicas; id++)
        if (!glue_config_replica(c, id))
            fail("accepted config misses a replica id", NULL);
    int rc = glue_contract_check(c, false, err, sizeof(err));
    if (rc != SMR_OK && rc != SMR_ECONTRACT)
        fail("contract check returned an unexpected code", err);
    if (glue_contract_check(c, true, err, sizeof(err)) != SMR_OK)
        fail("accepted config refused by a module", err);
    rc = glue_contract_describe(c, line, sizeof(line));
    if (rc != SMR_OK || line[0] == '\0')
        fail("accepted config has no description", line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct glue_config c, untouched;
    char err[512];
    memset(&c, 0x5a, sizeof(c));
    memcpy(&untouched, &c, sizeof(c));
    memset(err, 'E', sizeof(err));
    int rc = glue_config_load_data(data, size, NAME, &c, err, sizeof(err));
    if (rc == SMR_OK) {
        check_accepted(&c);
        return 0;
    }
    if (rc != SMR_ECONFIG && rc != SMR_ENOMEM)
        fail("unexpected return code", NULL);
    if (!memchr(err, '\0', sizeof(err)))
        fail("sentence not NUL-terminated", NULL);
    if (strncmp(err, NAME ": ", strlen(NAME ": ")) != 0 ||
        strlen(err) <= strlen(NAME ": "))
        fail("sentence does not start with the name", err);
    if (memcmp(&c, &untouched, sizeof(c)) != 0)
        fail("a refusal changed *out", err);
    return 0;
}
