#!/bin/sh
# kill -9 all three replicas under load and restart them: every write that
# was acknowledged is still there.
STRATA=$1
PORT_BASE=17500
. "$(dirname "$0")/lib.sh"

make_config 3
for i in 0 1 2; do start_node $i; done
wait_leader 10 > /dev/null || die "no leader within 10 s"

# Four concurrent writers; each records the keys whose put was acknowledged.
WRITERS=""
for w in 1 2 3 4; do
    (
        i=0
        while [ $i -lt 60 ]; do
            if "$STRATA" put --config "$CONFIG" --timeout-ms 2000 "w$w-$i" "value-$w-$i" 2>/dev/null; then
                echo "w$w-$i value-$w-$i" >> "$WORK/acked-$w"
            fi
            i=$((i + 1))
        done
    ) &
    WRITERS="$WRITERS $!"
done
sleep 1.5
log "kill -9 all replicas while writers run"
for i in 0 1 2; do kill9_node $i; done
# Writers stop now: a put in flight was not acknowledged, so it is not
# recorded and not checked.
for p in $WRITERS; do kill "$p" 2>/dev/null || true; done
wait
cat "$WORK"/acked-* > "$WORK/acked" 2>/dev/null || true
n=$(wc -l < "$WORK/acked")
log "$n writes acknowledged before the crash"
[ "$n" -gt 0 ] || die "no write was acknowledged before the crash"

for i in 0 1 2; do start_node $i; done
wait_leader 15 > /dev/null || die "no leader after restart"
missing=0
while read -r k v; do
    got=$("$STRATA" get --config "$CONFIG" "$k" 2>/dev/null || true)
    if [ "$got" != "$v" ]; then
        echo "lost acknowledged write: $k (got '$got')" >&2
        missing=$((missing + 1))
    fi
done < "$WORK/acked"
[ "$missing" = 0 ] || die "$missing acknowledged writes lost"
echo "PASS ($n acknowledged writes survived)"
