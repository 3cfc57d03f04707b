#!/bin/sh
# Three replica processes on loopback: every CLI subcommand's contract
# (exit codes, stdout, stderr), status lines, and a bad config refused.
STRATA=$1
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

for sub in demo node status put get del cas bench; do
    "$STRATA" $sub --help > /dev/null || die "$sub --help failed"
done

# A bad config is refused with a sentence naming the field.
sed 's/protocol: paxos/protocol: raft/' "$CONFIG" > "$WORK/bad.yaml"
if "$STRATA" node --config "$WORK/bad.yaml" --id 0 2> "$WORK/err"; then die "bad config accepted"; fi
grep -q "protocol" "$WORK/err" || die "bad config message does not name the field: $(cat "$WORK/err")"
echo "PASS"
