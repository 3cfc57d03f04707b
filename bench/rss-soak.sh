#!/bin/sh
# rss-soak.sh: memory soak of a local 3-replica cluster under bench load.
#
#   bench/rss-soak.sh [DURATION_S] [OUTDIR]
#
# Starts the cluster of configs/paxos-3.yaml on a fresh data directory, runs
# `strata bench --clients 64 --value-bytes 128` for DURATION_S seconds
# (default 660), samples each replica's VmRSS and VmHWM from /proc every
# SAMPLE_S seconds (default 10) into OUTDIR/rss.csv, and prints a summary:
# per replica RSS and HWM at 1 minute, 10 minutes and the end, the HWM
# ratios against 1 minute, the commit rate per minute and the disk usage of
# the data directory. Everything it starts is stopped on exit.
#
# Environment: STRATA (binary, default build/strata), CONFIG (default
# configs/paxos-3.yaml), CLIENTS (64), VALUE_BYTES (128), SAMPLE_S (10).
# The binary is copied into OUTDIR first, so a rebuild during the soak does
# not pull it away. Each sample also records the highest committed seq that
# `strata status` reports, for the commit rate over time.
set -eu

cd "$(dirname "$0")/.."
DURATION=${1:-660}
OUT=${2:-/tmp/strata-rss-soak}
STRATA=${STRATA:-build/strata}
CONFIG=${CONFIG:-configs/paxos-3.yaml}
CLIENTS=${CLIENTS:-64}
VALUE_BYTES=${VALUE_BYTES:-128}
SAMPLE_S=${SAMPLE_S:-10}
DATA=$(sed -n 's/^  path: *\([^ #]*\).*/\1/p' "$CONFIG")
[ -n "$DATA" ] || { echo "rss-soak: no storage path in $CONFIG" >&2; exit 2; }
PIDFILE=/tmp/strata-cluster.pids
CSV=$OUT/rss.csv

mkdir -p "$OUT"
cp "$STRATA" "$OUT/strata"
STRATA=$OUT/strata
BENCH_PID=
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill "$BENCH_PID" 2>/dev/null || true
        wait "$BENCH_PID" 2>/dev/null || true
    fi
    if [ -f "$PIDFILE" ]; then
        for p in $(cat "$PIDFILE"); do kill "$p" 2>/dev/null || true; done
        # wait for the replicas to exit (they are not our children)
        for p in $(cat "$PIDFILE"); do
            i=0
            while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
                sleep 0.1; i=$((i + 1))
            done
        done
        STRATA_PIDFILE=$PIDFILE scripts/cluster.sh stop
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kib_field() { # PID FIELD -> KiB or empty
    sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" 2>/dev/null
}

rm -rf "$DATA"
scripts/cluster.sh start "$CONFIG" "$STRATA"
PIDS=$(cat "$PIDFILE")
N=$(echo $PIDS | wc -w)

# Wait for a leader.
i=0
until "$STRATA" status --config "$CONFIG" > "$OUT/status-start.txt" 2>&1; do
    i=$((i + 1))
    [ $i -lt 50 ] || { echo "rss-soak: no leader" >&2; exit 1; }
    sleep 0.2
done
echo "status at start:"; cat "$OUT/status-start.txt"

"$STRATA" bench --config "$CONFIG" --clients "$CLIENTS" --duration "$DURATION" \
    --value-bytes "$VALUE_BYTES" > "$OUT/bench.txt" 2>&1 &
BENCH_PID=$!
T0=$(date +%s)

hdr=t_s
r=0
for p in $PIDS; do hdr="$hdr,r${r}_rss_kib,r${r}_hwm_kib"; r=$((r + 1)); done
echo "$hdr,data_kib,committed" > "$CSV"

sample() { # elapsed seconds -> one CSV row
    row=$1
    for p in $PIDS; do
        row="$row,$(kib_field "$p" VmRSS),$(kib_field "$p" VmHWM)"
    done
    c=$("$STRATA" status --config "$CONFIG" 2>/dev/null |
        awk '$5 > m { m = $5 } END { print m + 0 }')
    echo "$row,$(du -sk "$DATA" 2>/dev/null | cut -f1),$c" >> "$CSV"
}

next=0
while kill -0 "$BENCH_PID" 2>/dev/null; do
    now=$(($(date +%s) - T0))
    if [ "$now" -ge "$next" ]; then
        sample "$now"
        [ "$now" -ge 60 ] && [ ! -f "$OUT/status-1min.txt" ] &&
            "$STRATA" status --config "$CONFIG" > "$OUT/status-1min.txt" 2>&1 || true
        next=$((next + SAMPLE_S))
    fi
    sleep 1
done
set +e
wait "$BENCH_PID"; BENCH_RC=$?
set -e
BENCH_PID=
T1=$(($(date +%s) - T0))
sample "$T1"
"$STRATA" status --config "$CONFIG" > "$OUT/status-end.txt" 2>&1 || true
echo "status at end:"; cat "$OUT/status-end.txt"
echo "bench (rc $BENCH_RC):"; cat "$OUT/bench.txt"

# Summary: HWM at the first samples at or after 60 s and 600 s, and at the
# last sample; ratios against the 1-minute HWM.
awk -F, -v n="$N" '
NR == 1 { next }
{ last = $0; if (!m1 && $1 >= 60) m1 = $0; if (!m10 && $1 >= 600) m10 = $0 }
END {
    if (!m1) m1 = last
    if (!m10) m10 = last
    split(m1, a, ","); split(m10, c, ","); split(last, b, ",")
    printf "%-7s %9s %9s %9s %9s %9s %9s %8s %8s\n", "replica", "RSS@1m",
           "HWM@1m", "RSS@10m", "HWM@10m", "RSS@end", "HWM@end",
           "10m/1m", "end/1m"
    for (r = 0; r < n; r++) {
        h1 = a[3 + 2 * r] / 1024; h10 = c[3 + 2 * r] / 1024
        h2 = b[3 + 2 * r] / 1024
        printf "%-7d %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %8.3f %8.3f\n", r,
               a[2 + 2 * r] / 1024, h1, c[2 + 2 * r] / 1024, h10,
               b[2 + 2 * r] / 1024, h2, (h1 > 0 ? h10 / h1 : 0),
               (h1 > 0 ? h2 / h1 : 0)
    }
    printf "(MiB; samples at t=%ss, t=%ss, end t=%ss)\n", a[1], c[1], b[1]
    printf "data dir: %.1f MiB at 1m, %.1f MiB at 10m, %.1f MiB at end\n",
           a[2 + 2 * n] / 1024, c[2 + 2 * n] / 1024, b[2 + 2 * n] / 1024
    printf "committed seq: %d at 1m, %d at 10m, %d at end\n",
           a[3 + 2 * n], c[3 + 2 * n], b[3 + 2 * n]
}' "$CSV"
# Commit rate per minute (slots/s), from the committed column.
awk -F, -v n="$N" 'NR > 1 && $(3 + 2 * n) > 0 {
    t = $1; c = $(3 + 2 * n)
    if (t >= mark) { if (mark > 0) printf "  %4d-%4ds: %.0f slots/s\n", pt, t, (c - pc) / (t - pt)
                     pt = t; pc = c; mark = t + 60 }
}' "$CSV" | { echo "commit rate per minute:"; cat; }
du -sh "$DATA"/* 2>/dev/null || true
echo "csv: $CSV"
