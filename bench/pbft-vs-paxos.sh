#!/bin/sh
# pbft-vs-paxos.sh: PBFT with 4 processes beside Multi-Paxos with 3, same
# run, same machine (the figures issue #4 asks for); or any two example
# configs side by side.
#
#   bench/pbft-vs-paxos.sh [ROUNDS] [DURATION_S]
#   BASE=pbft-4 OTHER=pbft-4-executors bench/pbft-vs-paxos.sh 3 5
#
# Starts both clusters (configs/$BASE.yaml, default paxos-3, and
# configs/$OTHER.yaml, default pbft-4; fresh data directories, fsync on;
# separate executors too where the config has stream endpoints) side by
# side, then for each of ROUNDS rounds (default 3) runs `strata bench
# --value-bytes 128` for DURATION_S seconds (default 5) with each client
# count of $CLIENT_COUNTS (default "1 64"; add 1024 for saturation) against
# each in turn, and prints every run and, per client count, the median
# ops/s and p50/p99 of each and the ratio of the medians (other / base).
# Timings on a shared machine are noisy: compare the ratio, not absolute
# figures. Everything it starts is stopped on exit.
set -eu

cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${2:-5}
STRATA=${STRATA:-build/strata}
CLIENT_COUNTS=${CLIENT_COUNTS:-1 64}
BASE=${BASE:-paxos-3}
OTHER=${OTHER:-pbft-4}
OUT=$(mktemp -d /tmp/strata-pbft-vs-paxos-XXXXXX)
# A config's storage.path (each example has its own).
data_of() { sed -n 's/^  path:[ \t]*\([^ \t#]*\).*/\1/p' "configs/$1.yaml"; }
DATA_BASE=$(data_of "$BASE")
DATA_OTHER=$(data_of "$OTHER")
[ -n "$DATA_BASE" ] && [ -n "$DATA_OTHER" ] || { echo "no storage.path in the configs" >&2; exit 2; }

cleanup() {
    STRATA_PIDFILE=$OUT/base.pids scripts/cluster.sh stop
    STRATA_PIDFILE=$OUT/other.pids scripts/cluster.sh stop
    rm -rf "$DATA_BASE" "$DATA_OTHER"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$DATA_BASE" "$DATA_OTHER"
STRATA_PIDFILE=$OUT/base.pids scripts/cluster.sh start "configs/$BASE.yaml" "$STRATA" > /dev/null
STRATA_PIDFILE=$OUT/other.pids scripts/cluster.sh start "configs/$OTHER.yaml" "$STRATA" > /dev/null
sleep 2

# One line per run: protocol clients ops p50 p99
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for clients in $CLIENT_COUNTS; do
        for proto in "$BASE" "$OTHER"; do
            line=$("$STRATA" bench --config "configs/$proto.yaml" --clients "$clients" \
                --duration "$DURATION" --value-bytes 128)
            echo "round $r $proto: $line"
            echo "$line" | awk -v p="$proto" -v c="$clients" '
                { for (i = 1; i <= NF; i++) {
                      if ($i == "ops/s") ops = $(i - 1)
                      if ($i == "p50") p50 = $(i + 1)
                      if ($i == "p99") p99 = $(i + 1) }
                  print p, c, ops, p50, p99 }' >> "$OUT/runs.txt"
        done
    done
    r=$((r + 1))
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for clients in $CLIENT_COUNTS; do
    for proto in "$BASE" "$OTHER"; do
        ops=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $3 }' "$OUT/runs.txt" | median)
        p50=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $4 }' "$OUT/runs.txt" | median)
        p99=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $5 }' "$OUT/runs.txt" | median)
        echo "$clients $proto $ops $p50 $p99" >> "$OUT/medians.txt"
        printf '%4s clients  %-16s median %8s ops/s  p50 %s ms  p99 %s ms\n' "$clients" "$proto" "$ops" "$p50" "$p99"
    done
    awk -v c="$clients" -v b="$BASE" -v o="$OTHER" '$1 == c { ops[$2] = $3 }
        END { printf "%4s clients  %s/%s throughput ratio %.2f\n", c, o, b, ops[o] / ops[b] }' "$OUT/medians.txt"
done
