#!/bin/sh
# PBFT with four processes (f=1): put/get through the CLI; a client without
# the cluster's keys is refused; kill -9 the primary and writes resume after
# the view change; the killed replica restarts and catches up; kill -9 all
# four and restart: every acknowledged write is there, writes go on and all
# four replicas converge.
STRATA=$1
PORT_BASE=17500
. "$(dirname "$0")/lib.sh"

make_config 4 pbft
for i in 0 1 2 3; do start_node $i; done
primary=$(wait_leader 10) || die "no primary within 10 s"
log "primary of the first view: replica $primary"
i=0
while [ $i -lt 40 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" "v$i" || die "put k$i failed"
    i=$((i + 1))
done
[ "$("$STRATA" get --config "$CONFIG" k7)" = v7 ] || die "get k7 did not return v7"

# A client that cannot authenticate gets an error, not a hang or a write.
sed '/^keys:/d; s/^protocol: pbft/protocol: paxos/' "$CONFIG" > "$WORK/nokeys.yaml"
if "$STRATA" put --config "$WORK/nokeys.yaml" --timeout-ms 1500 intruder x \
    > "$WORK/nokeys.out" 2>&1; then
    die "an unauthenticated put succeeded"
fi
log "unauthenticated put refused: $(head -1 "$WORK/nokeys.out")"

log "kill -9 primary $primary"
t0=$(now_ms)
kill9_node "$primary"
"$STRATA" put --config "$CONFIG" --timeout-ms 10000 after-kill yes ||
    die "no write after the primary was killed"
t1=$(now_ms)
log "first write after the kill took $((t1 - t0)) ms (view change)"
new=$(wait_leader 5) || die "no new primary"
[ "$new" != "$primary" ] || die "the killed replica is still primary"
i=0
while [ $i -lt 40 ]; do
    "$STRATA" put --config "$CONFIG" "m$i" "w$i" || die "put m$i failed"
    i=$((i + 1))
done

# Load, so that the killed replica falls more than the core's memory
# (1024 seqs) behind: it must catch up window by window.
"$STRATA" bench --config "$CONFIG" --clients 32 --duration 3 --value-bytes 64 ||
    die "bench failed"
log "committed while replica $primary was down: $(committed "$new")"

log "restart replica $primary"
start_node "$primary"
wait_caught_up "$primary" "$new" 20
log "replica $primary caught up at executed seq $caught_up"

log "kill -9 all four replicas, then restart them"
for i in 0 1 2 3; do kill9_node $i; done
for i in 0 1 2 3; do start_node $i; done
check_written 40
[ "$("$STRATA" get --config "$CONFIG" after-kill)" = yes ] || die "after-kill lost"
"$STRATA" put --config "$CONFIG" --timeout-ms 10000 after-restart yes ||
    die "no write after the restart"
# Every replica ends at the same executed seq, the old primary included
# (it restarted active in a view the others left: the NEW-VIEW is durable).
wait_converged 4 20
"$STRATA" status --config "$CONFIG"
echo "PASS"
