#!/bin/sh
# nemesis-soak.sh DURATION_S [STRATA]: the nemesis of
# tests/integration/test_nemesis.sh with a randomized schedule, repeated
# until DURATION_S seconds have passed; then it stops by itself.
#
#   tests/nemesis-soak.sh 300                 # 5 minutes, build/strata
#   NEM_SEED=42 tests/nemesis-soak.sh 3600 /path/to/strata
#
# Three replica processes (durable RocksDB), each in a network namespace of
# its own (bridge in a fourth namespace where the clients run; 127.0.0.2-4
# when namespaces cannot be created), run under `strata bench --history`
# (8 sessions, get/put/cas/del, unique values). The soak is a sequence of
# rounds (NEM_ROUND_S seconds each, default 90): each round has its own
# bench process, history file and keys ("r<N>-key-<k>", so every round's
# history starts from absent keys). While a round's load runs, random
# faults follow each other: kill -9 of the leader or of any replica
# (restarted after 0.5-4 s), kill -9 of all three (down 0.5-7 s, longer
# than the 5 s request timeout at times), a rolling kill -9 of each replica
# in turn, SIGSTOP of any replica for 1-4 s, an nftables partition of one
# replica (from everyone, or from the other replicas only so that clients
# still reach it) for 2-6 s, a leader partitioned from its peers and then
# killed, flapping partitions, and a lost majority (one replica partitioned
# and another stopped) for 2-4 s. At the
# end of a round every fault is healed, the load stops, every key of the
# round is read with `strata get` (appended to the history), `strata
# lincheck` must find the history linearizable and the replicas must reach
# the same executed seq. At the end of the soak every key of every round is
# read again and must still hold the value the round ended with (no
# acknowledged write lost to a later fault).
#
# Prints the schedule as it runs and at the end, and the verdict: exit 0
# when every check passed, 1 otherwise, with the history, the node logs
# and the schedule saved in /tmp/nemesis-evidence-*/. NEM_SEED fixes the
# random schedule (timings still vary); NEM_KEEP=1 keeps the evidence even
# on success; NEM_FORCE_LOOPBACK=1 skips the namespaces;
# STRATA_PROTOCOL=pbft runs four PBFT replicas, and
# STRATA_SEPARATE_EXECUTORS=1 gives each replica a separate executor process
# in its namespace, killed, stopped and partitioned with it. Needs root for
# namespaces and nftables (without them: loopback, no partitions). Each
# passing round's history is deleted (it is large); its final values are
# kept for the end-of-soak check.
set -eu
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
DURATION=$1
case $DURATION in '' | *[!0-9]*) echo "DURATION_S must be a number of seconds" >&2; exit 2 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
STRATA=${2:-$HERE/../build/strata}
STRATA=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")
[ -x "$STRATA" ] || { echo "no strata binary at $STRATA (build first)" >&2; exit 2; }
PORT_BASE=18200
. "$HERE/integration/lib.sh"

KEYS=${NEM_KEYS:-32}
ROUND_S=${NEM_ROUND_S:-90}
SEED=${NEM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
RNG_N=0

# rnd N: R = a pseudo-random number in 0..N-1: the md5 of "SEED-COUNTER"
# (reproducible from NEM_SEED, and free of an LCG's serial correlation).
rnd() {
    RNG_N=$((RNG_N + 1))
    h=$(printf '%s-%s' "$SEED" "$RNG_N" | md5sum | cut -c1-8)
    R=$(( 0x$h % $1 ))
}
# rnd_s LO_MS HI_MS: S = a duration in seconds with milliseconds, e.g. 1.250
rnd_s() {
    rnd $(( $2 - $1 + 1 ))
    ms=$(( $1 + R ))
    S=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
}
# pick_other I: R = a replica other than I.
pick_other() { rnd $((NEM_N - 1)); R=$(( ($1 + 1 + R) % NEM_N )); }

leader_name() { x=$(nem_leader); echo "${x:-none}"; }
leader_or_any() { # L = the leader, or a random replica when none leads
    L=$(nem_leader)
    LWHO="leader $L"
    if [ -z "$L" ]; then rnd 3; L=$R; LWHO="no leader; replica $L"; fi
}

# One random fault, healed before it returns.
fault() {
    rnd 100
    if [ "$R" -lt 13 ]; then
        leader_or_any
        rnd_s 500 4000
        nem_sched "kill -9 $LWHO, restart after ${S}s"
        nem_kill9 "$L"; sleep "$S"; nem_start "$L"
    elif [ "$R" -lt 23 ]; then
        rnd 3; i=$R
        rnd_s 500 4000
        nem_sched "kill -9 replica $i, restart after ${S}s"
        nem_kill9 "$i"; sleep "$S"; nem_start "$i"
    elif [ "$R" -lt 34 ]; then
        rnd_s 500 7000
        nem_sched "kill -9 all replicas, restart after ${S}s"
        for i in $NEM_IDS; do nem_kill9 $i; done
        sleep "$S"
        for i in $NEM_IDS; do nem_start $i; done
    elif [ "$R" -lt 46 ]; then
        leader_or_any
        rnd 2; [ "$R" = 0 ] || { rnd 3; L=$R; }
        rnd_s 1000 4000
        nem_sched "SIGSTOP replica $L for ${S}s (leader $(leader_name))"
        nem_stop "$L"; sleep "$S"; nem_cont "$L"
    elif [ "$R" -lt 57 ]; then
        rnd 3; i=$R
        rnd_s 2000 6000
        nem_sched "partition replica $i from everyone for ${S}s (leader $(leader_name))"
        nem_partition "$i"; sleep "$S"; nem_heal
    elif [ "$R" -lt 68 ]; then
        leader_or_any
        rnd_s 2000 6000
        nem_sched "partition replica $L ($LWHO) from the other replicas only, clients still reach it, for ${S}s"
        nem_partition "$L" peers; sleep "$S"; nem_heal
    elif [ "$R" -lt 75 ]; then
        leader_or_any
        rnd_s 500 3000
        nem_sched "partition replica $L ($LWHO) from the other replicas only for ${S}s, then kill -9 it, heal, restart it"
        nem_partition "$L" peers; sleep "$S"; nem_kill9 "$L"; nem_heal
        rnd_s 200 2000; sleep "$S"; nem_start "$L"
    elif [ "$R" -lt 82 ]; then
        nem_sched "rolling kill -9: each replica in turn, restarted after 0.2-1 s"
        for i in $NEM_IDS; do
            nem_kill9 "$i"; rnd_s 200 1000; sleep "$S"; nem_start "$i"
            rnd_s 300 1500; sleep "$S"
        done
    elif [ "$R" -lt 87 ]; then
        nem_sched "flapping partitions: a random replica cut off for 1 s, 4 times"
        for k in 1 2 3 4; do
            rnd 3; nem_partition "$R"; sleep 1; nem_heal
        done
    elif [ "$R" -lt 93 ]; then
        rnd 3; i=$R
        pick_other "$i"; j=$R
        rnd_s 2000 4000
        nem_sched "no majority: partition replica $i and SIGSTOP replica $j for ${S}s"
        nem_partition "$i"; nem_stop "$j"; sleep "$S"; nem_cont "$j"; nem_heal
    else
        rnd_s 1000 3000
        nem_sched "quiet for ${S}s"
        sleep "$S"
    fi
}

# A failure also prints the schedule and the verdict.
nem_die() {
    nem_sched "FAIL: $*"
    nem_save_evidence
    echo
    echo "schedule ($NEM_MODE, seed $SEED):"
    cat "$NEM_SCHEDULE"
    echo
    echo "VERDICT: FAIL: $* (evidence: $NEM_EVIDENCE)"
    exit 1
}

nem_setup
nem_sched "soak: $DURATION s, rounds of $ROUND_S s, $KEYS keys a round, seed $SEED, binary $STRATA"
for i in $NEM_IDS; do nem_start $i; done
l=$(nem_wait_leader 15) || nem_die "no leader within 15 s"
nem_sched "cluster up, leader $l"

t0=$(date +%s)
end=$((t0 + DURATION))
round=0
total_ops=0
total_info=0
while :; do
    now=$(date +%s)
    left=$((end - now))
    [ "$left" -ge 15 ] || break
    round=$((round + 1))
    len=$ROUND_S
    [ "$len" -le "$left" ] || len=$left
    load_s=$((len - 5)) # ~5 s for the final reads and checks
    hist="$WORK/round-$round.jsonl"
    prefix="r$round-key-"
    nem_sched "round $round: bench $load_s s, keys $prefix*"
    nem_bench "$load_s" "$hist" "$KEYS" "$prefix"
    rend=$(( $(date +%s) + load_s - 6 )) # faults stop 6 s before the load does
    sleep 1
    while [ "$(date +%s)" -lt "$rend" ]; do
        fault
        rnd_s 500 3000
        sleep "$S"
    done
    nem_restore
    nem_sched "round $round: faults healed, waiting for the bench"
    nem_wait_bench "$hist"
    nem_final_reads "$hist" "$KEYS" "$prefix" 1000
    conv=$(nem_wait_converged 30) || {
        echo "$conv"
        nem_die "round $round: the replicas did not converge within 30 s"
    }
    ops=$(grep -c '"type":"invoke"' "$hist" || true)
    infos=$(grep -c '"type":"info"' "$hist" || true)
    nem_sched "round $round: $ops operations, $infos info (timed out)"
    [ "$ops" -gt 100 ] || nem_die "round $round: only $ops operations"
    nem_lincheck "$hist"
    # The round's final values, for the end-of-soak check.
    mv "$hist.final" "$WORK/final-$round.txt"
    total_ops=$((total_ops + ops))
    total_info=$((total_info + infos))
    [ "$NEM_KEEP" = 1 ] || rm -f "$hist"
done

# Every key of every round still holds its final value.
nem_sched "end of the soak: re-reading the keys of $round rounds"
nem_restore
lost=0
r=1
while [ "$r" -le "$round" ]; do
    while read -r key want; do
        rc=0
        got=$(nem_strata get --config "$CONFIG" --timeout-ms 10000 "$key" 2> "$WORK/get.err") || rc=$?
        if [ "$rc" = 0 ]; then got="\"$got\""
        elif [ "$rc" = 1 ] && grep -q "not found" "$WORK/get.err"; then got=null
        else nem_die "end check: get $key exited $rc: $(cat "$WORK/get.err")"; fi
        if [ "$got" != "$want" ]; then
            nem_sched "LOST: $key was $want at the end of round $r, now $got"
            lost=$((lost + 1))
        fi
    done < "$WORK/final-$r.txt"
    r=$((r + 1))
done
[ "$lost" = 0 ] || nem_die "$lost keys changed after their round ended (lost writes)"
conv=$(nem_wait_converged 30) || { echo "$conv"; nem_die "the replicas did not converge at the end"; }
echo "$conv"
echo
echo "schedule ($NEM_MODE, seed $SEED):"
cat "$NEM_SCHEDULE"
echo
echo "VERDICT: PASS: $round rounds in $(( $(date +%s) - t0 )) s, $total_ops operations ($total_info info), every round linearizable, no acknowledged write lost"
