#!/bin/sh
# PBFT with executors as separate processes (docs/pbft.md "Separate
# executors"): four replicas serve their Committed streams over CURVE and
# each `strata executor` reads all four, applying an entry once f+1 = 2
# streams agree. Writes and reads work; an executor holding a key no replica
# knows is refused at the handshake and counted; kill -9 an executor and
# restart it: it catches up from its snapshot; kill -9 the primary: writes
# resume after the view change and every executor keeps applying.
STRATA=$1
PORT_BASE=18500
. "$(dirname "$0")/lib.sh"

make_config 4 pbft
add_streams
for i in 0 1 2 3; do start_node $i; done
for i in 0 1 2 3; do start_exec $i; done
primary=$(wait_leader 10) || die "no primary within 10 s"

i=0
while [ $i -lt 80 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" "v$i" || die "put k$i failed"
    i=$((i + 1))
done
[ "$("$STRATA" get --config "$CONFIG" k42)" = v42 ] || die "get k42 through the executors failed"
"$STRATA" cas --config "$CONFIG" k1 v1 new1 || die "cas failed"

# A rogue executor: the cluster's public keys, but its own secret for
# replica 1 (from another key directory), and its own store. The replicas'
# ZAP handlers refuse its key, so it never reads a stream.
"$STRATA" keygen --dir "$WORK/rogue-keys" --replicas 4 > /dev/null || die "keygen failed"
mkdir -p "$WORK/mixed"
cp "$WORK"/keys/*.pub "$WORK/keys/client.cred" "$WORK/mixed/"
cp "$WORK/rogue-keys/replica-1.key" "$WORK/mixed/"
chmod 600 "$WORK/mixed/replica-1.key" "$WORK/mixed/client.cred"
sed "s|^keys: .*|keys: $WORK/mixed|; s|  path: .*|  path: $WORK/rogue-data|" \
    "$CONFIG" > "$WORK/rogue.yaml"
dropped() {
    "$STRATA" status --config "$CONFIG" --timeout-ms 500 --verbose |
        awk '$1 == "replica" && $2 == 0 { for (f = 1; f < NF; f++) if ($f == "frames_dropped") print $(f + 1) }'
}
rejected_before=$(dropped)
"$STRATA" executor --config "$WORK/rogue.yaml" --replica 1 > "$WORK/rogue.log" 2>&1 &
ROGUE=$!
PIDS="$PIDS $ROGUE"
sleep 1.5
rejected_after=$(dropped)
[ -n "$rejected_before" ] && [ -n "$rejected_after" ] ||
    die "no frames_dropped counter in strata status --verbose"
[ "$rejected_after" -gt "$rejected_before" ] ||
    die "replica 0 did not count the rogue executor's refused handshake ($rejected_before -> $rejected_after)"
kill -9 "$ROGUE" 2>/dev/null || true
wait "$ROGUE" 2>/dev/null || true
log "rogue executor refused (replica 0 rejected $rejected_before -> $rejected_after)"

exec_catch_up $(( (primary + 1) % 4 )) 140 20

log "kill -9 primary $primary"
kill9_node "$primary"
"$STRATA" put --config "$CONFIG" --timeout-ms 10000 after-kill yes ||
    die "no write after the primary was killed"
new=$(wait_leader 5) || die "no new primary"
i=0
while [ $i -lt 30 ]; do
    "$STRATA" put --config "$CONFIG" "n$i" "x$i" || die "put n$i failed"
    i=$((i + 1))
done
[ "$("$STRATA" get --config "$CONFIG" m59)" = w59 ] || die "m59 lost"
[ "$("$STRATA" get --config "$CONFIG" n29)" = x29 ] || die "n29 lost"
# The executors of the three live replicas reach the new primary's commit
# point: f+1 streams are enough with one replica down.
deadline=$(( $(date +%s) + 20 ))
while :; do
    top=$(committed "$new"); ok=1
    for r in 0 1 2 3; do
        [ "$r" = "$primary" ] && continue
        [ "$(executed "$r")" = "$top" ] || ok=0
    done
    [ "$ok" = 1 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || die "executors did not reach commit point $top"
    sleep 0.2
done
"$STRATA" status --config "$CONFIG"
echo "PASS (executors at executed seq $top after the primary's kill)"
