#!/bin/sh
# Executors as separate processes, chosen by configuration alone: each
# replica serves its Committed stream on replicas[i].stream and a
# `strata executor` process applies it. Writes and reads work; kill -9 an
# executor and restart it: it resumes from its snapshot and the log and
# catches up; the replica's status shows the executor's progress.
STRATA=$1
PORT_BASE=17900
. "$(dirname "$0")/lib.sh"

make_config 3
# Add a stream endpoint to every replica, and checkpoint often.
add_streams
for i in 0 1 2; do start_node $i; done
for i in 0 1 2; do start_exec $i; done
wait_leader 10 > /dev/null || die "no leader within 10 s"

i=0
while [ $i -lt 120 ]; do
    "$STRATA" put --config "$CONFIG" "k$i" "v$i" || die "put k$i failed"
    i=$((i + 1))
done
[ "$("$STRATA" get --config "$CONFIG" k42)" = v42 ] || die "get k42 through a remote executor failed"
"$STRATA" cas --config "$CONFIG" k1 v1 new1 || die "cas failed"

victim=$(( ($(leader) + 1) % 3 ))
exec_catch_up "$victim" 180 15
"$STRATA" status --config "$CONFIG"
[ "$("$STRATA" get --config "$CONFIG" m59)" = w59 ] || die "m59 lost"
echo "PASS (executor $victim caught up at executed seq $caught_up)"
