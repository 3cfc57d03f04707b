#!/bin/sh
# regressions.sh STRATA FILE: replays every seed listed in FILE (see the
# comment at its top); fails if any of them fails.
set -u
STRATA=$1 FILE=$2
failed=0 n=0
while read -r seed opts; do
    case "$seed" in ''|'#'*) continue ;; esac
    n=$((n + 1))
    # shellcheck disable=SC2086
    if ! "$STRATA" sim --seed "$seed" $opts > /tmp/strata-regression.$$ 2>&1; then
        failed=$((failed + 1))
        grep "failed:" /tmp/strata-regression.$$
    fi
done < "$FILE"
rm -f /tmp/strata-regression.$$
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
