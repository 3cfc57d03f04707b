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

# make_config N [PROTOCOL]: a cluster of N replicas on 127.0.0.1 with
# durable RocksDB, running PROTOCOL (default paxos; pbft writes keys with
# `strata keygen` into $WORK/keys). STRATA_EXECUTOR (default sequential)
# and STRATA_WORKERS (default 2) pick the execution engine, so every script
# runs against either engine.
make_config() {
    n=$1
    protocol=${2:-paxos}
    if [ "$protocol" = pbft ] && [ ! -e "$WORK/keys/replica-0.pub" ]; then
        "$STRATA" keygen --dir "$WORK/keys" --replicas "$n" > /dev/null ||
            die "strata keygen failed"
    fi
    {
        echo "cluster_id: 42"
        echo "protocol: $protocol"
        [ "$protocol" != pbft ] || echo "keys: $WORK/keys"
        echo "executor: ${STRATA_EXECUTOR:-sequential}"
        echo "workers: ${STRATA_WORKERS:-2}"
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

# add_streams: gives every replica of $CONFIG a stream endpoint (separate
# executors) and checkpoints every 50 seqs.
add_streams() {
    awk -v base=$((PORT_BASE + 200)) '
        /^    client:/ { print; id = n++; print "    stream: tcp://127.0.0.1:" base + id; next }
        { print }' "$CONFIG" > "$WORK/streams.yaml"
    echo "checkpoint_interval: 50" >> "$WORK/streams.yaml"
    mv "$WORK/streams.yaml" "$CONFIG"
}

# check_written N: k0..k(N-1) read v0.. and m0..m(N-1) read w0.., each
# within 10 s (writes made before a whole-cluster restart).
check_written() {
    local i=0
    while [ $i -lt "$1" ]; do
        [ "$("$STRATA" get --config "$CONFIG" --timeout-ms 10000 "k$i")" = "v$i" ] || die "k$i lost"
        [ "$("$STRATA" get --config "$CONFIG" --timeout-ms 10000 "m$i")" = "w$i" ] || die "m$i lost"
        i=$((i + 1))
    done
}

# wait_caught_up I J SECONDS: waits at most SECONDS until replica I's
# executed seq equals replica J's; leaves it in $caught_up.
wait_caught_up() {
    local a b deadline
    deadline=$(( $(date +%s) + $3 ))
    while :; do
        a=$(executed "$1"); b=$(executed "$2")
        [ -n "$a" ] && [ "$a" = "$b" ] && break
        [ "$(date +%s)" -lt "$deadline" ] ||
            die "replica $1 stuck at executed '$a' (replica $2 at '$b')"
        sleep 0.2
    done
    caught_up=$a
}

# wait_converged N SECONDS: waits at most SECONDS until replicas 0..N-1
# all answer with one executed seq.
wait_converged() {
    local seqs deadline i
    deadline=$(( $(date +%s) + $2 ))
    while :; do
        seqs=$(i=0; while [ "$i" -lt "$1" ]; do executed $i; echo; i=$((i + 1)); done |
            sort -u | grep -c .)
        [ "$seqs" = 1 ] && [ -n "$(executed 0)" ] && break
        [ "$(date +%s)" -lt "$deadline" ] ||
            { "$STRATA" status --config "$CONFIG"; die "the replicas did not converge"; }
        sleep 0.3
    done
}

# exec_catch_up I MIN SECONDS: kill -9 replica I's executor, write m0..m59
# while it is down, restart it, and wait at most SECONDS until its replica's
# executed seq equals the leader's committed seq and is above MIN. Leaves
# that seq in $caught_up.
exec_catch_up() {
    local victim=$1 min=$2 deadline i b
    log "kill -9 the executor of replica $victim"
    eval "kill -9 \$XPID_$victim"
    i=0
    while [ $i -lt 60 ]; do
        "$STRATA" put --config "$CONFIG" "m$i" "w$i" || die "put m$i failed"
        i=$((i + 1))
    done
    start_exec "$victim"
    deadline=$(( $(date +%s) + $3 ))
    while :; do
        caught_up=$(executed "$victim"); b=$(committed "$(leader)")
        [ -n "$caught_up" ] && [ "$caught_up" = "$b" ] && [ "$caught_up" -gt "$min" ] && break
        [ "$(date +%s)" -lt "$deadline" ] ||
            die "executor $victim stuck at '$caught_up' (leader committed '$b')"
        sleep 0.2
    done
    log "executor $victim caught up at executed seq $caught_up"
}

# start_exec I: starts replica I's separate executor in the background.
start_exec() {
    "$STRATA" executor --config "$CONFIG" --replica "$1" >> "$WORK/exec-$1.log" 2>&1 &
    eval "XPID_$1=$!"
    PIDS="$PIDS $!"
}

kill9_node() { kill -9 "$(pid_of "$1")" 2>/dev/null || true; wait "$(pid_of "$1")" 2>/dev/null || true; }

# leader: prints the id of the replica that says it leads (or nothing).
leader() {
    "$STRATA" status --config "$CONFIG" --timeout-ms 300 2>/dev/null |
        awk '$3 == "leader" { print $2; exit }'
}

# wait_leader SECONDS [LEADER_FN]: waits until some replica leads (as
# LEADER_FN, default `leader`, reports it); prints its id.
wait_leader() {
    deadline=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        l=$(${2:-leader})
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

# ------------------------------------------------------------------ nemesis
# Helpers for tests/integration/test_nemesis.sh and tests/nemesis-soak.sh:
# three Multi-Paxos replicas, or four PBFT ones with STRATA_PROTOCOL=pbft,
# each in a network namespace of its own (veth pairs to a bridge in a
# "hub" namespace where the clients run), or, when namespaces cannot be
# created, on 127.0.0.2 and up. Faults: kill -9, SIGSTOP,
# nftables partitions. Every name is unique per run ($$); traffic never
# leaves loopback or the namespaces created here. Call nem_setup after
# sourcing; it replaces the EXIT trap with one that also removes the
# namespaces and the nft table, and saves evidence on failure.

NEM_PROTOCOL=${STRATA_PROTOCOL:-paxos} # paxos: 3 replicas; pbft: 4 (f = 1)
# 1: each replica's executor is a separate process beside it (same
# namespace), killed, stopped and partitioned with it.
NEM_SEPARATE=${STRATA_SEPARATE_EXECUTORS:-0}
if [ "$NEM_PROTOCOL" = pbft ]; then NEM_N=4; else NEM_N=3; fi
NEM_IDS=$(seq 0 $((NEM_N - 1)) | tr '\n' ' ')
NEM_NET=10.77.0           # /24 inside the test's namespaces only
NEM_NS=""                 # namespace name prefix (netns mode)
NEM_HUB=""                # the clients' namespace (netns mode)
NEM_MODE=""               # netns | loopback
NEM_TABLE="strata_nem_$$" # the nft table (per run)
NEM_NFT=0                 # 1 when nft partitions are available
NEM_PART=""               # partitioned replicas
NEM_STOPPED=""            # replicas under SIGSTOP
NEM_DOWN=""               # replicas killed and not restarted
NEM_SCHEDULE="$WORK/schedule.txt"
NEM_EVIDENCE=""           # saved evidence directory (on failure)
NEM_KEEP=${NEM_KEEP:-0}   # 1: save evidence even on success

nem_addr() { # replica I's address
    if [ "$NEM_MODE" = netns ]; then echo "$NEM_NET.$(($1 + 1))"; else echo "127.0.0.$(($1 + 2))"; fi
}

nem_sched() { # logs a schedule line (also kept in $NEM_SCHEDULE)
    local line
    line="[$(date +%H:%M:%S.%N | cut -c1-12)] $*"
    echo "$line"
    echo "$line" >> "$NEM_SCHEDULE"
}

# nem_try_netns: builds the namespaces; returns 1 (leaving nothing) when it
# cannot.
nem_try_netns() {
    local ok i n ns
    command -v ip > /dev/null 2>&1 || return 1
    NEM_NS="snem$$"
    NEM_HUB="$NEM_NS-hub"
    ip netns add "$NEM_HUB" 2> /dev/null || { NEM_HUB=""; return 1; }
    ok=1
    ip netns exec "$NEM_HUB" true 2> /dev/null || ok=0
    ip -n "$NEM_HUB" link set lo up &&
        ip -n "$NEM_HUB" link add br0 type bridge &&
        ip -n "$NEM_HUB" addr add "$NEM_NET.100/24" dev br0 &&
        ip -n "$NEM_HUB" link set br0 up || ok=0
    for i in $NEM_IDS; do
        [ "$ok" = 1 ] || break
        ns="$NEM_NS-r$i"
        ip netns add "$ns" &&
            ip -n "$ns" link set lo up &&
            ip link add "v$i" netns "$NEM_HUB" type veth peer name eth0 netns "$ns" &&
            ip -n "$NEM_HUB" link set "v$i" master br0 &&
            ip -n "$NEM_HUB" link set "v$i" up &&
            ip -n "$ns" addr add "$NEM_NET.$((i + 1))/24" dev eth0 &&
            ip -n "$ns" link set eth0 up || ok=0
    done
    if [ "$ok" = 0 ]; then
        nem_del_netns
        return 1
    fi
    # The links take a moment to come up (carrier on both veth ends).
    for i in $NEM_IDS; do
        n=0
        until ip -n "$NEM_HUB" -o link show "v$i" | grep -q "state UP" &&
            ip -n "$NEM_NS-r$i" -o link show eth0 | grep -q "state UP"; do
            n=$((n + 1))
            [ "$n" -lt 50 ] || { nem_del_netns; return 1; }
            sleep 0.1
        done
    done
    return 0
}

nem_del_netns() {
    local ns
    [ -n "$NEM_NS" ] || return 0
    for ns in $(for i in $NEM_IDS; do echo "$NEM_NS-r$i"; done) "$NEM_NS-hub"; do
        ip netns del "$ns" 2> /dev/null || true
    done
    NEM_HUB=""
}

# nem_nft ARGS: runs nft in replica I's namespace (netns) or here (loopback).
nem_nft_in() {
    local r=$1
    shift
    if [ "$NEM_MODE" = netns ]; then ip netns exec "$NEM_NS-r$r" nft "$@"; else nft "$@"; fi
}

nem_setup() {
    local i
    trap 'nem_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    : > "$NEM_SCHEDULE"
    if [ "${NEM_FORCE_LOOPBACK:-0}" = 0 ] && nem_try_netns; then
        NEM_MODE=netns
    else
        NEM_MODE=loopback
    fi
    # nft: a table per replica namespace (netns) or one on loopback.
    if command -v nft > /dev/null 2>&1; then
        NEM_NFT=1
        if [ "$NEM_MODE" = netns ]; then
            for i in $NEM_IDS; do
                nem_nft_in "$i" add table inet "$NEM_TABLE" 2> /dev/null || NEM_NFT=0
            done
        else
            nft add table inet "$NEM_TABLE" 2> /dev/null || NEM_NFT=0
        fi
    fi
    if [ "$NEM_NFT" = 1 ]; then
        for i in $NEM_IDS; do
            [ "$NEM_MODE" = netns ] || [ "$i" = 0 ] || continue
            nem_nft_in "$i" add chain inet "$NEM_TABLE" in \
                '{ type filter hook input priority -10; policy accept; }' &&
                nem_nft_in "$i" add chain inet "$NEM_TABLE" out \
                    '{ type filter hook output priority -10; policy accept; }' ||
                NEM_NFT=0
        done
    fi
    if [ "$NEM_PROTOCOL" = pbft ]; then
        "$STRATA" keygen --dir "$WORK/keys" --replicas "$NEM_N" > /dev/null ||
            die "strata keygen failed"
    fi
    {
        echo "cluster_id: 42"
        echo "protocol: $NEM_PROTOCOL"
        [ "$NEM_PROTOCOL" != pbft ] || echo "keys: $WORK/keys"
        echo "replicas:"
        for i in $NEM_IDS; do
            echo "  - id: $i"
            echo "    peer: tcp://$(nem_addr $i):$((PORT_BASE + i))"
            echo "    client: tcp://$(nem_addr $i):$((PORT_BASE + 100 + i))"
            [ "$NEM_SEPARATE" = 0 ] ||
                echo "    stream: tcp://$(nem_addr $i):$((PORT_BASE + 200 + i))"
        done
        [ "$NEM_SEPARATE" = 0 ] || echo "checkpoint_interval: 100"
        echo "storage:"
        if [ "${NEM_SELFTEST_MEMORY:-0}" = 1 ]; then
            echo "  engine: memory"
        else
            echo "  engine: rocksdb"
            echo "  path: $WORK/data"
            echo "  sync: true"
        fi
        echo "timeouts:"
        echo "  election_ms: 300"
        echo "  heartbeat_ms: 50"
    } > "$CONFIG"
    if [ "${NEM_SELFTEST_MEMORY:-0}" = 1 ]; then
        # Self-test of the checks: volatile storage loses every write on
        # the all-replica kill, which the test must then report.
        printf '#!/bin/sh\nexec "$@" --allow-unsafe-storage\n' > "$WORK/unsafe"
        chmod +x "$WORK/unsafe"
        nem_sched "SELF-TEST: storage engine memory (writes are lost on kill -9 of all)"
    fi
    nem_sched "network: $NEM_MODE$([ "$NEM_MODE" = netns ] && echo " (namespaces $NEM_NS-*, $NEM_NET.0/24)")," \
        "partitions: $([ "$NEM_NFT" = 1 ] && echo "nft table $NEM_TABLE" || echo "unavailable (no nft), skipped")"
}

nem_save_evidence() {
    [ -z "$NEM_EVIDENCE" ] || return 0
    NEM_EVIDENCE="/tmp/nemesis-evidence-$(date +%Y%m%d-%H%M%S)-$$"
    mkdir -p "$NEM_EVIDENCE"
    cp "$CONFIG" "$WORK"/*.log "$WORK"/*.jsonl "$WORK"/*.txt "$WORK"/*.out "$WORK"/*.final "$NEM_EVIDENCE"/ 2> /dev/null || true
    echo "evidence saved in $NEM_EVIDENCE" >&2
}

nem_die() {
    nem_sched "FAIL: $*"
    nem_save_evidence
    die "$*"
}

nem_cleanup() {
    local rc=$? i p
    trap - EXIT INT TERM
    # Only the processes alive now: the pids of earlier runs may be reused.
    for i in $NEM_IDS; do
        for p in $(eval "echo \${PID_$i:-} \${XPID_$i:-}"); do
            kill -9 "$p" 2> /dev/null || true
        done
    done
    [ -z "${NEM_BENCH:-}" ] || kill -9 "$NEM_BENCH" 2> /dev/null || true
    PIDS=""
    wait 2> /dev/null || true
    if [ "$rc" != 0 ] || [ "$NEM_KEEP" = 1 ]; then nem_save_evidence; fi
    if [ "$NEM_MODE" = loopback ] && [ "$NEM_NFT" = 1 ]; then
        nft delete table inet "$NEM_TABLE" 2> /dev/null || true
    fi
    nem_del_netns
    rm -rf "$WORK"
    exit "$rc"
}

# nem_strata ARGS: runs the strata CLI where the clients live.
nem_strata() {
    if [ -n "$NEM_HUB" ]; then ip netns exec "$NEM_HUB" "$STRATA" "$@"; else "$STRATA" "$@"; fi
}

nem_start() { # nem_start I: (re)starts replica I (start_node sets i=I)
    local u=""
    [ "${NEM_SELFTEST_MEMORY:-0}" = 0 ] || u="$WORK/unsafe"
    if [ "$NEM_MODE" = netns ]; then start_node "$1" ip netns exec "$NEM_NS-r$1" $u; else start_node "$1" $u; fi
    [ "$NEM_SEPARATE" = 0 ] || nem_start_exec "$1"
    NEM_DOWN=$(echo "$NEM_DOWN" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

nem_start_exec() { # nem_start_exec I: replica I's separate executor
    if [ "$NEM_MODE" = netns ]; then
        ip netns exec "$NEM_NS-r$1" "$STRATA" executor --config "$CONFIG" --replica "$1" \
            >> "$WORK/exec-$1.log" 2>&1 &
    else
        "$STRATA" executor --config "$CONFIG" --replica "$1" >> "$WORK/exec-$1.log" 2>&1 &
    fi
    eval "XPID_$1=$!"
}

# nem_check_alive: every replica not deliberately down is still running
# (a replica that exits by itself, e.g. on an assertion, fails the test).
nem_check_alive() {
    local i p st rc
    for i in $NEM_IDS; do
        case " $NEM_DOWN " in *" $i "*) continue ;; esac
        p=$(eval "echo \${PID_$i:-}")
        [ -n "$p" ] || continue
        st=$(ps -o stat= -p "$p" 2> /dev/null || true)
        case $st in '' | Z*) ;; *) continue ;; esac # gone, or a zombie
        rc=0
        wait "$p" || rc=$?
        nem_die "replica $i (pid $p) exited by itself with status $rc; see node-$i.log: $(tail -3 "$WORK/node-$i.log")"
    done
    for i in $NEM_IDS; do
        case " $NEM_DOWN " in *" $i "*) continue ;; esac
        p=$(eval "echo \${XPID_$i:-}")
        [ -n "$p" ] || continue
        st=$(ps -o stat= -p "$p" 2> /dev/null || true)
        case $st in '' | Z*) ;; *) continue ;; esac
        rc=0
        wait "$p" || rc=$?
        nem_die "executor $i (pid $p) exited by itself with status $rc; see exec-$i.log: $(tail -3 "$WORK/exec-$i.log")"
    done
}

nem_kill9() { # nem_kill9 I (its executor too)
    local p
    nem_check_alive
    kill9_node "$1"
    eval "PID_$1="
    if [ "$NEM_SEPARATE" = 1 ]; then
        p=$(eval "echo \${XPID_$1:-}")
        [ -z "$p" ] || { kill -9 "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; }
        eval "XPID_$1="
    fi
    NEM_DOWN="$NEM_DOWN $1"
    NEM_STOPPED=$(echo "$NEM_STOPPED" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

nem_stop() { # nem_stop I: SIGSTOP (its executor too)
    kill -STOP "$(pid_of "$1")" $(eval "echo \${XPID_$1:-}") 2> /dev/null || true
    NEM_STOPPED="$NEM_STOPPED $1"
}

nem_cont() { # nem_cont I: SIGCONT
    kill -CONT "$(pid_of "$1")" $(eval "echo \${XPID_$1:-}") 2> /dev/null || true
    NEM_STOPPED=$(echo "$NEM_STOPPED" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

# nem_partition I [peers]: cuts replica I off, both ways: from everyone
# (replicas and clients), or with "peers" from the other replicas only
# (clients still reach it). On loopback (no namespaces) a partition matches
# replica I's ports, so I's own connections to the others' peer ports keep
# carrying I's messages out: there it is one-way (I hears nothing).
nem_partition() {
    local i=$1 scope=${2:-all} others j ports
    [ "$NEM_NFT" = 1 ] || { nem_sched "  (partition skipped: no nft)"; return 0; }
    if [ "$NEM_MODE" = netns ]; then
        if [ "$scope" = peers ]; then
            others=""
            for j in $NEM_IDS; do [ "$j" = "$i" ] || others="$others${others:+, }$(nem_addr "$j")"; done
            nem_nft_in "$i" add rule inet "$NEM_TABLE" in ip saddr "{ $others }" drop
            nem_nft_in "$i" add rule inet "$NEM_TABLE" out ip daddr "{ $others }" drop
        else
            nem_nft_in "$i" add rule inet "$NEM_TABLE" in iifname eth0 drop
            nem_nft_in "$i" add rule inet "$NEM_TABLE" out oifname eth0 drop
        fi
    else
        nem_sched "  (loopback: replica $i still sends on its own connections)"
        ports="$((PORT_BASE + i))"
        [ "$scope" = peers ] || ports="$ports, $((PORT_BASE + 100 + i))"
        nft add rule inet "$NEM_TABLE" out oifname lo tcp dport "{ $ports }" drop
        nft add rule inet "$NEM_TABLE" out oifname lo tcp sport "{ $ports }" drop
    fi
    NEM_PART="$NEM_PART $i"
}

nem_heal() { # removes every partition
    local i
    [ "$NEM_NFT" = 1 ] || return 0
    for i in $NEM_IDS; do
        [ "$NEM_MODE" = netns ] || [ "$i" = 0 ] || continue
        nem_nft_in "$i" flush chain inet "$NEM_TABLE" in
        nem_nft_in "$i" flush chain inet "$NEM_TABLE" out
    done
    NEM_PART=""
}

# nem_restore: every replica running, none stopped, no partition.
nem_restore() {
    local r
    nem_check_alive
    for r in $NEM_STOPPED; do nem_cont "$r"; done
    nem_heal
    for r in $NEM_DOWN; do nem_start "$r"; done
    NEM_DOWN=""
}

nem_status() { nem_strata status --config "$CONFIG" --timeout-ms 300 2> /dev/null || true; }
nem_leader() { nem_status | awk '$3 == "leader" { print $2; exit }'; }
nem_wait_leader() { # nem_wait_leader SECONDS: prints the leader's id
    wait_leader "$1" nem_leader
}

# nem_wait_converged SECONDS: every replica reachable with the same
# executed seq; prints the status; returns 1 if that does not happen.
nem_wait_converged() {
    local deadline s="" e n
    deadline=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        s=$(nem_status)
        e=$(echo "$s" | awk '$1 == "replica" && $3 != "unreachable" { print $7 }' | sort -u)
        n=$(echo "$s" | awk '$1 == "replica" && $3 != "unreachable"' | wc -l)
        if [ "$n" = "$NEM_N" ] && [ "$(echo "$e" | wc -l)" = 1 ] && [ -n "$e" ]; then
            echo "$s"
            return 0
        fi
        sleep 0.3
    done
    echo "$s"
    return 1
}

# nem_bench SECONDS HISTORY KEYS PREFIX: the load with 8 sessions, in the
# background (pid in NEM_BENCH, output in HISTORY.out).
nem_bench() {
    if [ -n "$NEM_HUB" ]; then
        ip netns exec "$NEM_HUB" "$STRATA" bench --config "$CONFIG" --clients 8 \
            --duration "$1" --warmup 0 --keys "$3" --key-prefix "$4" \
            --history "$2" --timeout-ms 5000 > "$2.out" 2>&1 &
    else
        "$STRATA" bench --config "$CONFIG" --clients 8 --duration "$1" --warmup 0 \
            --keys "$3" --key-prefix "$4" --history "$2" --timeout-ms 5000 > "$2.out" 2>&1 &
    fi
    NEM_BENCH=$!
}

# nem_wait_bench: waits for the bench; fails the test if it failed.
nem_wait_bench() {
    local rc=0
    wait "$NEM_BENCH" || rc=$?
    NEM_BENCH=""
    cat "$1.out"
    [ "$rc" = 0 ] || nem_die "bench exited $rc"
}

# nem_final_reads HISTORY KEYS PREFIX CLIENT: reads every key with `strata
# get` (one at a time, a fresh client process each) and appends each read
# to HISTORY as an operation of client CLIENT, CLIENT+1, ... (one per
# key). A read with no answer is recorded as info and retried (3 tries).
# The values read also go to HISTORY.final, "KEY JSON-VALUE" a line.
nem_final_reads() {
    local h=$1 keys=$2 prefix=$3 client=$4 k key c tries rc v
    : > "$h.final"
    k=0
    while [ "$k" -lt "$keys" ]; do
        key="$prefix$k" c=$((client + k)) tries=0
        while :; do
            echo "{\"client\":$c,\"type\":\"invoke\",\"op\":\"get\",\"key\":\"$key\"}" >> "$h"
            rc=0
            v=$(nem_strata get --config "$CONFIG" --timeout-ms 10000 "$key" 2> "$WORK/get.err") || rc=$?
            if [ "$rc" = 0 ]; then
                case $v in *[!A-Za-z0-9_-]*) nem_die "final get $key: unexpected value '$v'" ;; esac
                echo "{\"client\":$c,\"type\":\"ok\",\"op\":\"get\",\"key\":\"$key\",\"value\":\"$v\"}" >> "$h"
                echo "$key \"$v\"" >> "$h.final"
                break
            elif [ "$rc" = 1 ] && grep -q "not found" "$WORK/get.err"; then
                echo "{\"client\":$c,\"type\":\"ok\",\"op\":\"get\",\"key\":\"$key\",\"value\":null}" >> "$h"
                echo "$key null" >> "$h.final"
                break
            fi
            echo "{\"client\":$c,\"type\":\"info\",\"op\":\"get\",\"key\":\"$key\"}" >> "$h"
            tries=$((tries + 1))
            [ "$tries" -lt 3 ] || nem_die "final get $key: no answer 3 times (exit $rc: $(cat "$WORK/get.err"))"
        done
        k=$((k + 1))
    done
}

# nem_lincheck HISTORY: `strata lincheck`; fails the test unless linearizable.
nem_lincheck() {
    local rc=0
    "$STRATA" lincheck "$1" > "$1.lincheck.txt" 2>&1 || rc=$?
    cat "$1.lincheck.txt"
    case $rc in
    0) nem_sched "lincheck $(basename "$1"): linearizable" ;;
    *) nem_die "lincheck $(basename "$1") exited $rc (1: not linearizable or a lost write, 2: malformed, 3: unknown)" ;;
    esac
}
