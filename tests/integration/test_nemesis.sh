#!/bin/sh
# Nemesis, short schedule (~50 s): 3 replica processes (durable RocksDB),
# each in a network namespace of its own joined by veth pairs to a bridge in
# a fourth namespace where the clients run (or on 127.0.0.2-4 when
# namespaces cannot be created), under `strata bench --history` with 8
# sessions doing get/put/cas/del with unique values. Meanwhile: kill -9 the
# leader and restart it; SIGSTOP a follower for 2 s; partition the leader
# away (nftables, both ways) for 3 s; kill -9 all three and restart them.
# With STRATA_PROTOCOL=pbft the same schedule runs on four PBFT replicas
# (the leader is the primary; its partition forces a view change), and
# with STRATA_SEPARATE_EXECUTORS=1 each replica's executor is a separate
# process beside it, killed, stopped and partitioned with it.
# Then the load stops, every key is read with `strata get` (appended to the
# history), and `strata lincheck` must find the history linearizable: a
# stale read, a lost acknowledged write or a double-applied cas fails the
# test. The replicas must also converge to the same executed seq. On
# failure the history, logs and schedule are kept in
# /tmp/nemesis-evidence-*/. The long, randomized version: tests/nemesis-soak.sh.
STRATA=$1
PORT_BASE=18100
. "$(dirname "$0")/lib.sh"

KEYS=32
LOAD_S=45
HIST="$WORK/history.jsonl"

nem_setup
for i in $NEM_IDS; do nem_start $i; done
l=$(nem_wait_leader 15) || nem_die "no leader within 15 s"
nem_sched "cluster up, leader $l"
t_start=$(now_ms)
nem_bench "$LOAD_S" "$HIST" "$KEYS" "key-"
nem_sched "bench: 8 sessions, $LOAD_S s, $KEYS keys, history $HIST"
sleep 3

# 1. kill -9 the leader, restart it 2 s later.
l=$(nem_wait_leader 10) || nem_die "no leader before the leader kill"
nem_sched "kill -9 leader $l"
nem_kill9 "$l"
sleep 2
nem_sched "restart replica $l"
nem_start "$l"
sleep 3

# 2. SIGSTOP a follower for 2 s.
l=$(nem_wait_leader 10) || nem_die "no leader before the SIGSTOP"
f=$(( (l + 1) % NEM_N ))
nem_sched "SIGSTOP follower $f (leader $l)"
nem_stop "$f"
sleep 2
nem_sched "SIGCONT replica $f"
nem_cont "$f"
sleep 2

# 3. Partition the leader away (both ways, clients too) for 3 s.
l=$(nem_wait_leader 10) || nem_die "no leader before the partition"
nem_sched "partition leader $l away (drop both ways)"
nem_partition "$l"
sleep 3
nem_sched "heal"
nem_heal
sleep 3

# 4. kill -9 all replicas, restart them 1 s later.
nem_sched "kill -9 all replicas"
for i in $NEM_IDS; do nem_kill9 $i; done
sleep 1
nem_sched "restart all replicas"
for i in $NEM_IDS; do nem_start $i; done

nem_sched "waiting for the bench to end"
nem_wait_bench "$HIST"
nem_check_alive
nem_sched "bench done; reading every key"
nem_final_reads "$HIST" "$KEYS" "key-" 1000
converged=$(nem_wait_converged 20) || {
    echo "$converged"
    nem_die "the replicas did not converge to one executed seq within 20 s"
}
echo "$converged"
ops=$(grep -c '"type":"invoke"' "$HIST" || true)
infos=$(grep -c '"type":"info"' "$HIST" || true)
nem_sched "history: $ops operations, $infos info (timed out)"
[ "$ops" -gt 1000 ] || nem_die "only $ops operations in the history"
nem_lincheck "$HIST"
t_end=$(now_ms)
echo "schedule ($NEM_MODE):"
cat "$NEM_SCHEDULE"
echo "PASS (nemesis, $ops operations, $(( (t_end - t_start) / 1000 )) s)"
