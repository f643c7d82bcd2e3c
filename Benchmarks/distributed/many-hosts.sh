#!/usr/bin/env bash
# Many hosts on one machine: N agents in N network namespaces load one server in a namespace of its
# own, all starting at one --start-at, and `sockbench merge` adds their reports up.
#
#   bash Benchmarks/distributed/many-hosts.sh OUT AGENTS CONNECTIONS_PER_AGENT SERVER_PROCESSES [DURATION]
#
# e.g. 100,000 concurrent TCP connections: many-hosts.sh /tmp/many 8 12500 8 10s
#
# Topology (addresses from 198.18.0.0/15, the benchmarking range; nothing leaves the machine):
#   namespace sbmh-hub:   bridge br0, one veth end per host attached to it
#   namespace sbmh-srv:   198.18.0.1/16, SERVER_PROCESSES `sockbench serve tcp-echo` sharing port 7000
#                         with SO_REUSEPORT (each under the 20,000-descriptor cap)
#   namespace sbmh-a<i>:  198.18.1.<i+1>/16, agent i runs shard i of AGENTS
# Every agent holds CONNECTIONS_PER_AGENT idle connections that ping once every 5 s. The merged
# report lands in OUT/merged; OUT/summary.txt has the figures Benchmarks/README.md records.
# Needs root (ip netns). Everything it creates is removed on exit, whatever happens.
set -euo pipefail

OUT=${1:?usage: many-hosts.sh OUT AGENTS CONNECTIONS_PER_AGENT SERVER_PROCESSES [DURATION]}
AGENTS=${2:?agents}
PER_AGENT=${3:?connections per agent}
SERVERS=${4:?server processes}
DURATION=${5:-10s}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SOCKBENCH=${SOCKBENCH:-$ROOT/.build/release/sockbench}
PREFIX=sbmh
PORT=7000
SERVER_ADDRESS=198.18.0.1

[ "$AGENTS" -ge 1 ] && [ "$AGENTS" -le 200 ] || { echo "many-hosts: 1 to 200 agents" >&2; exit 1; }
[ -x "$SOCKBENCH" ] || { echo "many-hosts: no sockbench at $SOCKBENCH (swift build -c release)" >&2; exit 1; }
TOTAL=$((AGENTS * PER_AGENT))
PER_SERVER=$(((TOTAL + SERVERS - 1) / SERVERS))
[ "$PER_SERVER" -le 19000 ] || { echo "many-hosts: $PER_SERVER connections per server process passes the 20,000-descriptor cap: more processes" >&2; exit 1; }

# A caller's descriptors without close-on-exec (a test runner's pipes) would pass to the servers and
# agents: close all but stdin, stdout, stderr and bash's own (255).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do ip netns delete "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup

in_ns() { local ns=$1; shift; ip netns exec "$PREFIX-$ns" "$@"; }

# The hub and its bridge; a host is a namespace with a veth pair whose other end joins the bridge.
ip netns add "$PREFIX-hub"
in_ns hub ip link add br0 type bridge
in_ns hub ip link set br0 up
in_ns hub ip link set lo up
host() {
  local name=$1 address=$2
  ip netns add "$PREFIX-$name"
  ip link add "$PREFIX-$name-h" netns "$PREFIX-hub" type veth peer name eth0 netns "$PREFIX-$name"
  in_ns hub ip link set "$PREFIX-$name-h" master br0 up
  in_ns "$name" ip addr add "$address/16" dev eth0
  in_ns "$name" ip link set eth0 up
  in_ns "$name" ip link set lo up
  # Room for many connections: ephemeral ports, and the accept backlog of a ramp-up.
  in_ns "$name" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
}
host srv "$SERVER_ADDRESS"
for ((i = 0; i < AGENTS; i++)); do host "a$i" "198.18.$((1 + i / 250)).$((1 + i % 250))"; done

mkdir -p "$OUT"
rm -rf "$OUT"/shard-* "$OUT/merged"
for ((s = 0; s < SERVERS; s++)); do
  # Started directly (not through a shell function, which would run in a subshell of its own): $!
  # is the process that becomes the server (ip netns exec and prlimit exec their command).
  ip netns exec "$PREFIX-srv" prlimit --nofile=20000:20000 "$SOCKBENCH" serve tcp-echo --bind "$SERVER_ADDRESS:$PORT" -o so_reuseport=true \
    >"$OUT/server-$s.log" 2>&1 &
  pids+=($!)
done
sleep 1

cat >"$OUT/scenario.yaml" <<YAML
name: many-hosts
description: $TOTAL idle TCP connections from $AGENTS agents in network namespaces, one ping every 5 s each
server: {kind: external, address: "$SERVER_ADDRESS:$PORT"}
load:
  pattern: idle
  connections: $TOTAL
  threads: 2
  ping_interval: 5s
  message_size: 64
  connect_rate: $((TOTAL / 4 > 100 ? TOTAL / 4 : 100))/s
  warmup: 6s
  duration: $DURATION
  connect_timeout: 10s
  request_timeout: 10s
  error_budget: 0
YAML

start=$(date -u -d "+5 seconds" +%Y-%m-%dT%H:%M:%SZ)
agents=()
for ((i = 0; i < AGENTS; i++)); do
  ip netns exec "$PREFIX-a$i" prlimit --nofile=20000:20000 "$SOCKBENCH" run "$OUT/scenario.yaml" --shard "$i/$AGENTS" --start-at "$start" \
    --allow-remote --no-capture --quiet --out "$OUT/shard-$i" >"$OUT/agent-$i.log" 2>&1 &
  agents+=($!)
  pids+=($!)
done
status=0
for pid in "${agents[@]}"; do wait "$pid" || status=$?; done
[ "$status" -eq 0 ] || echo "many-hosts: an agent exited with status $status (see $OUT/agent-*.log)" >&2
"$SOCKBENCH" merge "$OUT"/shard-* --out "$OUT/merged" --quiet || status=$?

server_rss=0
for pid in "${pids[@]}"; do
  server_rss=$((server_rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
done
python3 - "$OUT" "$server_rss" <<'PY' | tee "$OUT/summary.txt"
import json, sys
out, server_rss_kib = sys.argv[1], int(sys.argv[2])
report = json.load(open(f"{out}/merged/report.json"))
run = report["runs"][0]
shards = run.get("shards", [])
memory = run.get("memory", {})
print(f"status {report['status']}; {run['connections']['requested']} connections requested, {run['connections']['established']} established, "
      f"{run['connections'].get('starved', 0)} starved; errors {run['errors']['total']}")
print(f"pings answered {run['messages']['received']} at {run['throughput']['messages_per_second']:.0f}/s; "
      f"p50 {run['latency_ns']['p50'] / 1e3:.0f} µs, p99 {run['latency_ns']['p99'] / 1e3:.0f} µs")
connections = max(1, run['connections']['requested'])
print(f"memory per connection: client {memory.get('client_bytes_per_connection', 0):.0f} bytes (resident growth of {len(shards)} agents), "
      f"server {server_rss_kib * 1024 / connections:.0f} bytes (resident, all server processes)")
print(f"window starts {report['merge']['start_skew_s'] * 1e3:.1f} ms apart; latest start {max((s.get('late_s') or 0) for s in shards) * 1e3:.1f} ms late")
PY
exit "$status"
