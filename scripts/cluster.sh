#!/bin/sh
# cluster.sh: start or stop a local cluster of `strata node` processes.
#   scripts/cluster.sh start CONFIG [STRATA]   (pids in /tmp/strata-cluster.pids)
#   scripts/cluster.sh stop
set -eu
PIDFILE=${STRATA_PIDFILE:-/tmp/strata-cluster.pids}
case "${1:-}" in
start)
    config=$2
    strata=${3:-build/strata}
    n=$(grep -c '^  - id:' "$config")
    : > "$PIDFILE"
    i=0
    while [ "$i" -lt "$n" ]; do
        "$strata" node --config "$config" --id "$i" > "/tmp/strata-node-$i.log" 2>&1 &
        echo $! >> "$PIDFILE"
        i=$((i + 1))
    done
    echo "started $n replicas (logs /tmp/strata-node-*.log)"
    ;;
stop)
    [ -f "$PIDFILE" ] && xargs kill < "$PIDFILE" 2>/dev/null || true
    rm -f "$PIDFILE"
    ;;
*)
    echo "usage: $0 start CONFIG [STRATA] | stop" >&2
    exit 2
    ;;
esac
