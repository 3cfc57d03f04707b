#!/bin/sh
# expect_caught.sh STRATA MUTANT MAX_SEEDS [SIM OPTIONS...]: the simulator
# must catch the deliberately broken variant MUTANT within MAX_SEEDS seeds.
# A simulator that cannot fail proves nothing.
set -u
STRATA=$1 MUTANT=$2 MAX=$3
shift 3
out=$("$STRATA" sim --mutant "$MUTANT" --seeds "1-$MAX" --fail-fast "$@" 2>&1)
rc=$?
echo "$out" | tail -3
if [ "$rc" -ne 1 ] || ! echo "$out" | grep -q "^seed [0-9]* failed: "; then
    echo "FAIL: mutant $MUTANT was not caught in $MAX seeds (exit $rc)"
    exit 1
fi
echo "PASS: mutant $MUTANT caught"
