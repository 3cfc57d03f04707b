#!/bin/sh
# Three replica processes on loopback: every CLI subcommand's contract
# (exit codes, stdout, stderr), status lines, and a bad config refused.
STRATA=$1
SRC=${2:-$(dirname "$0")/../..}
PORT_BASE=17100
. "$(dirname "$0")/lib.sh"

make_config 3
for i in 0 1 2; do start_node $i; done
wait_leader 10 > /dev/null || die "no leader within 10 s"

"$STRATA" put --config "$CONFIG" greeting hello || die "put failed"
[ "$("$STRATA" get --config "$CONFIG" greeting)" = hello ] || die "get did not print the value"
if "$STRATA" get --config "$CONFIG" missing 2> "$WORK/err"; then die "get of an absent key succeeded"; fi
grep -q "not found" "$WORK/err" || die "absent key: no 'not found' on stderr"
if "$STRATA" cas --config "$CONFIG" greeting wrong x 2> "$WORK/err"; then die "mismatching cas succeeded"; fi
"$STRATA" cas --config "$CONFIG" greeting hello bye || die "matching cas failed"
[ "$("$STRATA" get --config "$CONFIG" greeting)" = bye ] || die "cas did not apply"
"$STRATA" del --config "$CONFIG" greeting || die "del failed"
if "$STRATA" get --config "$CONFIG" greeting 2>/dev/null; then die "deleted key still there"; fi

"$STRATA" status --config "$CONFIG" > "$WORK/status"
cat "$WORK/status"
[ "$(grep -c ' leader ' "$WORK/status")" = 1 ] || die "status should show exactly one leader"
[ "$(grep -c ' follower ' "$WORK/status")" = 2 ] || die "status should show two followers"

"$STRATA" status --config "$CONFIG" --verbose > "$WORK/status"
for f in fsyncs writes/fsync frames_dropped peer_drops client_drops paxos_dropped; do
    [ "$(grep -c " $f " "$WORK/status")" = 3 ] || die "status --verbose lacks $f: $(cat "$WORK/status")"
done

for sub in demo node executor status put get del cas bench bench-exec; do
    "$STRATA" $sub --help > /dev/null || die "$sub --help failed"
done

# A bad config is refused with a sentence naming the field.
sed 's/protocol: paxos/protocol: raft/' "$CONFIG" > "$WORK/bad.yaml"
if "$STRATA" node --config "$WORK/bad.yaml" --id 0 2> "$WORK/err"; then die "bad config accepted"; fi
grep -q "protocol" "$WORK/err" || die "bad config message does not name the field: $(cat "$WORK/err")"

# Exit codes: 1 for a refused config, 2 for a usage error, everywhere.
expect_exit() {
    want=$1; shift
    set +e; "$STRATA" "$@" > /dev/null 2> "$WORK/err"; got=$?; set -e
    [ "$got" = "$want" ] || die "strata $*: exit $got, expected $want ($(cat "$WORK/err"))"
    [ -s "$WORK/err" ] || die "strata $*: exit $got without a sentence on stderr"
}
for sub in "node --id 0" "executor --replica 0" "status" "put k v" "get k" "del k" "cas k a b" "bench"; do
    # shellcheck disable=SC2086
    expect_exit 2 $sub
    # shellcheck disable=SC2086
    expect_exit 1 $sub --config "$WORK/bad.yaml"
done
expect_exit 2 node --config "$CONFIG"
expect_exit 2 node --config "$CONFIG" --id x
expect_exit 2 executor --config "$CONFIG"
expect_exit 1 node --config "$CONFIG" --id 5
grep -q "not in" "$WORK/err" || die "unknown id: $(cat "$WORK/err")"
if grep -q "^replica" "$WORK/err"; then die "the start-up line came before refusing id 5"; fi
expect_exit 1 executor --config "$CONFIG" --replica 0   # no stream endpoint
expect_exit 2 bench-exec --workers 0
expect_exit 2 bench-exec --conflict 101
expect_exit 2 demo --executor fancy
# The app and executor fields refuse unknown names, naming the field.
sed 's/protocol: paxos/app: ledger/' "$CONFIG" > "$WORK/bad-app.yaml"
expect_exit 1 node --config "$WORK/bad-app.yaml" --id 0
grep -q "^strata: .*app: unknown app 'ledger' (known: kv, bank, work)" "$WORK/err" || die "unknown app: $(cat "$WORK/err")"

# An explicit --timeout-ms is kept (it used to become 500 when it was 10000).
"$STRATA" status --config "$CONFIG" --timeout-ms 10000 > /dev/null || die "status --timeout-ms 10000 failed"

# scripts/cluster.sh counts flow-style replicas and logs next to its pid file.
FLOW="$WORK/flow.yaml"
{
    echo "cluster_id: 43"
    echo "replicas:"
    for i in 0 1 2; do
        echo "  - {id: $i, peer: \"tcp://127.0.0.1:$((PORT_BASE + 50 + i))\", client: \"tcp://127.0.0.1:$((PORT_BASE + 150 + i))\"}"
    done
    echo "storage: {engine: rocksdb, path: $WORK/flow-data, sync: true}"
} > "$FLOW"
STRATA_PIDFILE="$WORK/flow.pids" "$SRC/scripts/cluster.sh" start "$FLOW" "$STRATA" > "$WORK/flow.out"
PIDS="$PIDS $(cat "$WORK/flow.pids")"
grep -q "started 3 replicas" "$WORK/flow.out" || die "cluster.sh: $(cat "$WORK/flow.out")"
CONFIG=$FLOW
wait_leader 10 > /dev/null || die "cluster.sh: no leader in the flow-style cluster"
for i in 0 1 2; do
    [ -f "$WORK/flow-node-$i.log" ] || die "cluster.sh: no log $WORK/flow-node-$i.log"
done
STRATA_PIDFILE="$WORK/flow.pids" "$SRC/scripts/cluster.sh" stop
echo "PASS"
