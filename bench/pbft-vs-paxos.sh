#!/bin/sh
# pbft-vs-paxos.sh: PBFT with 4 processes beside Multi-Paxos with 3, same
# run, same machine (the figures issue #4 asks for).
#
#   bench/pbft-vs-paxos.sh [ROUNDS] [DURATION_S]
#
# Starts both clusters (configs/paxos-3.yaml and configs/pbft-4.yaml, fresh
# data directories, fsync on) side by side, then for each of ROUNDS rounds
# (default 3) runs `strata bench --value-bytes 128` for DURATION_S seconds
# (default 5) with each client count of $CLIENT_COUNTS (default "1 64";
# add 1024 for saturation) against each protocol in turn, and
# prints every run and, per client count, the median ops/s and p50/p99 of
# each protocol and the ratio of the medians (pbft / paxos). Timings on a
# shared machine are noisy: compare the ratio, not absolute figures.
# Everything it starts is stopped on exit.
set -eu

cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${2:-5}
STRATA=${STRATA:-build/strata}
CLIENT_COUNTS=${CLIENT_COUNTS:-1 64}
OUT=$(mktemp -d /tmp/strata-pbft-vs-paxos-XXXXXX)

cleanup() {
    STRATA_PIDFILE=$OUT/paxos.pids scripts/cluster.sh stop
    STRATA_PIDFILE=$OUT/pbft.pids scripts/cluster.sh stop
    rm -rf /tmp/strata-paxos-3 /tmp/strata-pbft-4
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf /tmp/strata-paxos-3 /tmp/strata-pbft-4
STRATA_PIDFILE=$OUT/paxos.pids scripts/cluster.sh start configs/paxos-3.yaml "$STRATA" > /dev/null
STRATA_PIDFILE=$OUT/pbft.pids scripts/cluster.sh start configs/pbft-4.yaml "$STRATA" > /dev/null
sleep 2

# One line per run: protocol clients ops p50 p99
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for clients in $CLIENT_COUNTS; do
        for proto in paxos-3 pbft-4; do
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
    for proto in paxos-3 pbft-4; do
        ops=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $3 }' "$OUT/runs.txt" | median)
        p50=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $4 }' "$OUT/runs.txt" | median)
        p99=$(awk -v p="$proto" -v c="$clients" '$1 == p && $2 == c { print $5 }' "$OUT/runs.txt" | median)
        echo "$clients $proto $ops $p50 $p99" >> "$OUT/medians.txt"
        printf '%4s clients  %-8s median %8s ops/s  p50 %s ms  p99 %s ms\n' "$clients" "$proto" "$ops" "$p50" "$p99"
    done
    awk -v c="$clients" '$1 == c { ops[$2] = $3 }
        END { printf "%4s clients  pbft/paxos throughput ratio %.2f\n", c, ops["pbft-4"] / ops["paxos-3"] }' "$OUT/medians.txt"
done
