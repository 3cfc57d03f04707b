# lib.sh: helpers for integration tests that run real replica processes on
# loopback. Source it after setting STRATA (the binary) and PORT_BASE.
# Every process started here is killed by the EXIT trap.

set -eu
WORK=$(mktemp -d /tmp/strata-it-XXXXXX)
PIDS=""
CONFIG="$WORK/cluster.yaml"

cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S.%N | cut -c1-12)] $*"; }

# make_config N: a cluster of N replicas on 127.0.0.1 with durable RocksDB.
make_config() {
    n=$1
    {
        echo "cluster_id: 42"
        echo "protocol: paxos"
        echo "replicas:"
        i=0
        while [ "$i" -lt "$n" ]; do
            echo "  - id: $i"
            echo "    peer: tcp://127.0.0.1:$((PORT_BASE + i))"
            echo "    client: tcp://127.0.0.1:$((PORT_BASE + 100 + i))"
            i=$((i + 1))
        done
        echo "storage:"
        echo "  engine: rocksdb"
        echo "  path: $WORK/data"
        echo "  sync: true"
        echo "timeouts:"
        echo "  election_ms: 300"
        echo "  heartbeat_ms: 50"
    } > "$CONFIG"
}

# start_node I [wrapper...]: starts replica I in the background.
start_node() {
    i=$1; shift
    "$@" "$STRATA" node --config "$CONFIG" --id "$i" >> "$WORK/node-$i.log" 2>&1 &
    eval "PID_$i=$!"
    PIDS="$PIDS $!"
}

pid_of() { eval "echo \$PID_$1"; }

kill9_node() { kill -9 "$(pid_of "$1")" 2>/dev/null || true; wait "$(pid_of "$1")" 2>/dev/null || true; }

# leader: prints the id of the replica that says it leads (or nothing).
leader() {
    "$STRATA" status --config "$CONFIG" --timeout-ms 300 2>/dev/null |
        awk '$3 == "leader" { print $2; exit }'
}

# wait_leader SECONDS: waits until some replica leads; prints its id.
wait_leader() {
    deadline=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        l=$(leader)
        if [ -n "$l" ]; then echo "$l"; return 0; fi
        sleep 0.1
    done
    return 1
}

# executed I: replica I's executed seq (empty when unreachable).
executed() {
    "$STRATA" status --config "$CONFIG" --timeout-ms 300 2>/dev/null |
        awk -v id="$1" '$1 == "replica" && $2 == id && $3 != "unreachable" { print $7 }'
}

# committed I: replica I's committed seq (empty when unreachable).
committed() {
    "$STRATA" status --config "$CONFIG" --timeout-ms 300 2>/dev/null |
        awk -v id="$1" '$1 == "replica" && $2 == id && $3 != "unreachable" { print $5 }'
}

now_ms() { date +%s%3N; }
