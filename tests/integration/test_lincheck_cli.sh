#!/bin/sh
# `strata lincheck` on the example histories in tests/lincheck/: exit 0
# when linearizable, 1 (with the key and its operations) when not, 2 for a
# malformed line (with its number), a missing file or bad usage, 3 when the
# search budget runs out. No cluster is started.
set -u
STRATA=$1
SRC=$2
DIR="$SRC/tests/lincheck"
OUT=$(mktemp /tmp/strata-lincheck-XXXXXX)
trap 'rm -f "$OUT"' EXIT

die() { echo "FAIL: $*" >&2; cat "$OUT" >&2; exit 1; }

# expect CODE NEEDLE ARGS...: runs lincheck, checks the exit code and that
# NEEDLE (if not empty) appears in its stdout or stderr.
expect() {
    code=$1 needle=$2
    shift 2
    "$STRATA" lincheck "$@" > "$OUT" 2>&1
    rc=$?
    [ "$rc" -eq "$code" ] || die "lincheck $*: exit $rc, expected $code"
    [ -z "$needle" ] || grep -qF -- "$needle" "$OUT" ||
        die "lincheck $*: no '$needle' in the output"
    echo "ok: lincheck $* -> $rc"
}

expect 0 "linearizable: 11 operations on 2 keys" "$DIR/linearizable.jsonl"
expect 1 'not linearizable: key "x", from line 9 on' "$DIR/stale_read.jsonl"
expect 1 'get "x" -> ok "1"  (lines 8-9)' "$DIR/stale_read.jsonl"
expect 1 "evidence: 3 of the key's 3 operations" "$DIR/cas_double_win.jsonl"
expect 2 "line 3: expected a field name" "$DIR/malformed.jsonl"
expect 3 "unknown (search budget exhausted)" --max-states 1 \
    "$DIR/linearizable.jsonl"
expect 2 "cannot open" "$DIR/no-such-file.jsonl"
expect 2 "expected one FILE"
expect 2 "--max-states" --max-states 0 "$DIR/linearizable.jsonl"
expect 0 "Exit status" --help
"$STRATA" lincheck - < "$DIR/stale_read.jsonl" > "$OUT" 2>&1
[ $? -eq 1 ] || die "lincheck - (stdin) did not exit 1"
echo "PASS"
