/*
 * fuzz_wire.c: libFuzzer entry point for the wire decoders (glue/wire.c,
 * glue/wire_pbft.c).
 *
 * Compiled four times by tests/fuzz/CMakeLists.txt, once per decoder
 * family, with WIRE_FUZZ_FAMILY set to a mask of enum wire_family:
 *   fuzz_wire_client  REQUEST, REPLY, STATUS_REQ, STATUS
 *   fuzz_wire_paxos   PAXOS
 *   fuzz_wire_stream  COMMITTED, SUBSCRIBE, CHECKPOINT, SNAPSHOT_REQUIRED
 *   fuzz_wire_pbft    PBFT (every ord_pbft_msg type, glue/wire_pbft.c)
 * Each input goes through every decoder of the family; whatever decodes is
 * re-encoded and must decode again to the same fields (wire_check.h).
 * ASan and UBSan catch overreads and undefined behaviour; the oracle
 * catches wrong return codes and round-trip mismatches.
 */
#include <stdio.h>
#include <stdlib.h>

#include "wire_check.h"

#ifndef WIRE_FUZZ_FAMILY
#error "define WIRE_FUZZ_FAMILY (a mask of enum wire_family)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (wire_check_frame(data, size, WIRE_FUZZ_FAMILY) == WC_BROKEN) {
        fprintf(stderr, "wire round-trip oracle failed (%zu bytes)\n", size);
        abort();
    }
    return 0;
}
