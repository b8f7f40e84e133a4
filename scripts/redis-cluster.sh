#!/usr/bin/env bash
# A local Redis Cluster for the tests and CI: 3 primaries + 3 replicas on 127.0.0.1, ports
# BASE..BASE+5 (default 7101-7106), no persistence, data in $TMPDIR/parley-redis-cluster-BASE.
#
#   scripts/redis-cluster.sh start [BASE]   start what is not running, create the cluster if it
#                                           does not exist yet, wait until every node says ok
#   scripts/redis-cluster.sh stop [BASE]    stop the nodes and delete their files
#   scripts/redis-cluster.sh status [BASE]  exit 0 when the cluster answers with state ok
#
# Idempotent: `start` on a running cluster only checks it; a node killed meanwhile is restarted
# and rejoins from its nodes.conf (as a replica when its replica was promoted).
set -euo pipefail
cmd=${1:-start}
base=${2:-${PARLEY_REDIS_CLUSTER_PORT:-7101}}
dir=${PARLEY_REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/parley-redis-cluster-$base}
ports=$(seq "$base" $((base + 5)))
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
up() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }
state_ok() { cli "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

all_ok() {
  for p in $ports; do
    up "$p" && state_ok "$p" || return 1
    [ "$(cli "$p" cluster info | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p')" = 6 ] || return 1
    if cli "$p" role | head -1 | grep -q slave; then
      cli "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
  [ "$(cli "$base" cluster info | sed -n 's/^cluster_slots_ok:\([0-9]*\).*/\1/p')" = 16384 ]
}

wait_for() { # what, seconds, command...
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  echo "redis-cluster: timed out waiting for $what" >&2
  return 1
}

# One start or stop at a time per cluster (test files may ask for it concurrently).
lock="${TMPDIR:-/tmp}/parley-redis-cluster-$base.lock"
if [ "$cmd" != status ] && command -v flock >/dev/null; then
  exec 9>"$lock"
  flock -w 120 9 || { echo "redis-cluster: could not lock $lock" >&2; exit 1; }
fi

case "$cmd" in
start)
  command -v redis-server >/dev/null || { echo "redis-cluster: redis-server not on PATH" >&2; exit 1; }
  if all_ok 2>/dev/null; then echo "redis-cluster: ok on 127.0.0.1:$base-$((base + 5))"; exit 0; fi
  for p in $ports; do
    up "$p" && continue
    mkdir -p "$dir/$p"
    redis-server --port "$p" --bind 127.0.0.1 --daemonize yes --dir "$dir/$p" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --save "" --appendonly no --logfile redis.log --pidfile redis.pid 9>&-
  done
  for p in $ports; do wait_for "node $p" 10 up "$p"; done
  assigned=$(cli "$base" cluster info | sed -n 's/^cluster_slots_assigned:\([0-9]*\).*/\1/p')
  if [ "$assigned" = 0 ]; then
    nodes=""
    for p in $ports; do nodes="$nodes 127.0.0.1:$p"; done
    # shellcheck disable=SC2086
    redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
      { cat "$dir/create.log" >&2; exit 1; }
  fi
  wait_for "cluster state ok on every node" 30 all_ok
  echo "redis-cluster: ok on 127.0.0.1:$base-$((base + 5))"
  ;;
stop)
  for p in $ports; do
    if up "$p"; then cli "$p" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  for p in $ports; do wait_for "node $p to stop" 10 bash -c "! redis-cli -h 127.0.0.1 -p $p ping >/dev/null 2>&1"; done
  rm -rf "$dir"
  ;;
status)
  all_ok
  ;;
*)
  echo "usage: $0 start|stop|status [base port]" >&2
  exit 2
  ;;
esac
