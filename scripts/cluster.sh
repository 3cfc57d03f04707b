#!/bin/sh
# cluster.sh: start or stop a local cluster of `strata node` processes, and
# a `strata executor` for each replica with a stream endpoint.
#   scripts/cluster.sh start CONFIG [STRATA]
#   scripts/cluster.sh stop
# Pids go to $STRATA_PIDFILE (default /tmp/strata-cluster.pids); replica
# i logs to the same path with "-node-<i>.log" for ".pids"
# (/tmp/strata-cluster-node-0.log, ...), its executor to "-exec-<i>.log".
set -eu
PIDFILE=${STRATA_PIDFILE:-/tmp/strata-cluster.pids}
LOGBASE=${PIDFILE%.pids}

# count_replicas CONFIG: the number of `id:` keys in the top-level replicas
# list, block style (`  - id: 0` on its own line) or flow style
# (`- {id: 0, peer: ...}` or `replicas: [{id: 0, ...}, ...]`).
count_replicas() {
    awk '
        /^[^ \t#-]/ {
            inrep = ($0 ~ /^replicas[ \t]*:/)
            sub(/^replicas[ \t]*:/, "")
        }
        inrep {
            line = $0
            sub(/#.*/, "", line)
            while (match(line, /(^|[^A-Za-z0-9_"'\''])["'\'']?id["'\'']?[ \t]*:/)) {
                n++
                line = substr(line, RSTART + RLENGTH)
            }
        }
        END { print n + 0 }' "$1"
}

# stream_ids CONFIG: the ids of the replicas with a `stream:` endpoint
# (block style: `stream:` on its own line under `- id: N`).
stream_ids() {
    awk '
        /^[^ \t#-]/ { inrep = ($0 ~ /^replicas[ \t]*:/) }
        inrep && /^[ \t]*-[ \t]*id[ \t]*:/ { id = $0; sub(/.*id[ \t]*:[ \t]*/, "", id); sub(/[ \t#].*/, "", id) }
        inrep && /^[ \t]+stream[ \t]*:/ { print id }' "$1"
}

case "${1:-}" in
start)
    config=$2
    strata=${3:-build/strata}
    n=$(count_replicas "$config")
    if [ "$n" -lt 1 ]; then
        echo "$0: no replicas found in $config" >&2
        exit 1
    fi
    # A PBFT config names a key directory: write one when it is missing.
    keys=$(sed -n 's/^keys:[ \t]*\([^ \t#]*\).*/\1/p' "$config")
    if [ -n "$keys" ] && [ ! -e "$keys/replica-0.pub" ]; then
        "$strata" keygen --dir "$keys" --replicas "$n"
    elif [ -n "$keys" ] && [ ! -e "$keys/clients.pub" ]; then
        echo "$0: $keys has no clients.pub (an older strata keygen wrote" \
             "it): remove the directory and the cluster's data, then start" \
             "again" >&2
        exit 1
    fi
    : > "$PIDFILE"
    i=0
    while [ "$i" -lt "$n" ]; do
        "$strata" node --config "$config" --id "$i" > "$LOGBASE-node-$i.log" 2>&1 &
        echo $! >> "$PIDFILE"
        i=$((i + 1))
    done
    x=0
    for i in $(stream_ids "$config"); do
        "$strata" executor --config "$config" --replica "$i" > "$LOGBASE-exec-$i.log" 2>&1 &
        echo $! >> "$PIDFILE"
        x=$((x + 1))
    done
    echo "started $n replicas and $x separate executors (pids in $PIDFILE," \
         "logs $LOGBASE-node-*.log, $LOGBASE-exec-*.log)"
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
