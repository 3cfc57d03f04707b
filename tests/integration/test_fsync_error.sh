#!/bin/sh
# An fsync error stops the replica instead of being retried (libfiu makes
# fdatasync/fsync fail in one follower at run time); the rest go on.
STRATA=$1
PORT_BASE=17700
. "$(dirname "$0")/lib.sh"
command -v fiu-run > /dev/null || die "fiu-run missing (make installs fiu-utils)"

make_config 3
for i in 0 1 2; do start_node $i fiu-run -x -f "$WORK/fiu"; done
l=$(wait_leader 10) || die "no leader within 10 s"
victim=$(( (l + 1) % 3 ))
"$STRATA" put --config "$CONFIG" before ok || die "put failed"

log "failing fsync in replica $victim"
fiu-ctrl -f "$WORK/fiu" -c "enable name=posix/io/sync/*" "$(pid_of $victim)" || die "fiu-ctrl failed"
i=0
while [ $i -lt 20 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" v || die "put k$i failed with one replica down"
    i=$((i + 1))
done
deadline=$(( $(date +%s) + 10 ))
while kill -0 "$(pid_of $victim)" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "replica $victim still running after fsync errors"
    sleep 0.1
done
set +e
wait "$(pid_of $victim)"; rc=$?
set -e
[ "$rc" -ne 0 ] || die "replica $victim exited 0 after an fsync error"
grep -q "fsync failed" "$WORK/node-$victim.log" || die "no 'fsync failed' message: $(cat "$WORK/node-$victim.log")"
log "replica $victim stopped with exit code $rc: $(grep 'fsync failed' "$WORK/node-$victim.log")"
echo "PASS"
