#!/bin/sh
# kill -9 the leader of a 3-process cluster: writes succeed again within 2 s;
# restart it: it catches up to the same executed seq as the others.
STRATA=$1
PORT_BASE=17300
. "$(dirname "$0")/lib.sh"

make_config 3
for i in 0 1 2; do start_node $i; done
old=$(wait_leader 10) || die "no leader within 10 s"
i=0
while [ $i -lt 50 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" "v$i" || die "put k$i failed"
    i=$((i + 1))
done

log "kill -9 leader $old"
t0=$(now_ms)
kill9_node "$old"
"$STRATA" put --config "$CONFIG" --timeout-ms 5000 after-kill yes || die "no write after the kill"
t1=$(now_ms)
log "first write after the kill took $((t1 - t0)) ms"
[ $((t1 - t0)) -le 2000 ] || die "failover took $((t1 - t0)) ms (limit 2000)"
new=$(wait_leader 5) || die "no new leader"
[ "$new" != "$old" ] || die "the killed replica still leads"
i=0
while [ $i -lt 50 ]; do
    "$STRATA" put --config "$CONFIG" "m$i" "w$i" || die "put m$i failed"
    i=$((i + 1))
done

log "restart replica $old"
start_node "$old"
wait_caught_up "$old" "$new" 15
log "replica $old caught up at executed seq $caught_up"
"$STRATA" status --config "$CONFIG"
[ "$("$STRATA" get --config "$CONFIG" k7)" = v7 ] || die "k7 lost"
[ "$("$STRATA" get --config "$CONFIG" m7)" = w7 ] || die "m7 lost"
echo "PASS"
