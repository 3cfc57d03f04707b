#!/bin/sh
# PBFT log truncation and state transfer with four processes (f=1), with
# snapshots every 64 seqs and 32 seqs of log kept below the truncation
# point: the replicas' logs are truncated as they go; a backup killed while
# the others move on far past their truncation points comes back by
# fetching a snapshot its peers vouch for and catching up the rest from
# their logs; then kill -9 all four and restart: every write is there
# (recovery from a snapshot and a truncated log), writes go on, and all
# four converge.
STRATA=$1
PORT_BASE=18700
. "$(dirname "$0")/lib.sh"

make_config 4 pbft
{
    echo "checkpoint_interval: 64"
    echo "log_retain: 32"
} >> "$CONFIG"

log_first() {
    "$STRATA" status --config "$CONFIG" --verbose --timeout-ms 300 2>/dev/null |
        awk -v id="$1" '$1 == "replica" && $2 == id { for (i = 1; i < NF; i++) if ($i == "log_first") print $(i + 1) }'
}

for i in 0 1 2 3; do start_node $i; done
primary=$(wait_leader 10) || die "no primary within 10 s"
victim=$(( (primary + 1) % 4 ))
log "primary: replica $primary; the backup to be cut off: replica $victim"
i=0
while [ $i -lt 30 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" "v$i" || die "put k$i failed"
    i=$((i + 1))
done

log "kill -9 replica $victim, then load the other three"
kill9_node "$victim"
"$STRATA" bench --config "$CONFIG" --clients 16 --duration 2 --value-bytes 64 ||
    die "bench failed"
i=0
while [ $i -lt 30 ]; do
    "$STRATA" put --config "$CONFIG" --timeout-ms 10000 "m$i" "w$i" || die "put m$i failed"
    i=$((i + 1))
done
c=$(committed "$primary")
f=$(log_first "$primary")
log "committed $c; the primary's log starts at $f"
[ -n "$f" ] && [ "$f" -gt 64 ] || die "the primary's log was not truncated (log_first '$f')"

log "restart replica $victim"
start_node "$victim"
wait_caught_up "$victim" "$primary" 30
grep -q "installed the snapshot at seq" "$WORK/node-$victim.log" ||
    die "replica $victim caught up without state transfer: $(tail -5 "$WORK/node-$victim.log")"
log "replica $victim $(grep -o 'installed the snapshot at seq [0-9]* ([0-9]* bytes)' "$WORK/node-$victim.log" | tail -1), caught up at executed seq $caught_up"

log "kill -9 all four replicas, then restart them"
for i in 0 1 2 3; do kill9_node $i; done
for i in 0 1 2 3; do start_node $i; done
check_written 30
"$STRATA" put --config "$CONFIG" --timeout-ms 10000 after-restart yes ||
    die "no write after the restart"
wait_converged 4 20
"$STRATA" status --config "$CONFIG" --verbose
echo "PASS"
