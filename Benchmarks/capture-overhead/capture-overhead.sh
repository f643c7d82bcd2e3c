#!/usr/bin/env bash
# What capturing costs the load: 64-connection, 64-byte TCP request-response against one
# `sockbench serve tcp-echo`, run interleaved in rotating order with
#   off       sockbench run --no-capture
#   capture   sockbench run with its own capture (the default)
#   tcpdump   sockbench run --no-capture while `tcpdump -i lo -w FILE port P` captures the same traffic
# and prints, per variant, the median round trips/s with min-max, the ratio to "off" in the same
# rounds, and the packets the kernel dropped. Needs root (CAP_NET_RAW) and tcpdump.
# Usage: bash Benchmarks/capture-overhead/capture-overhead.sh [ROUNDS] [DURATION]   (from the package root)
set -euo pipefail
rounds=${1:-7}
duration=${2:-3s}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
command -v tcpdump >/dev/null || { echo "capture-overhead: needs tcpdump (apt-get install tcpdump)" >&2; exit 1; }
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
swift build -c release --product sockbench >/dev/null
bin=$(swift build -c release --show-bin-path)/sockbench

cat >"$work/scenario.yaml" <<EOF
name: capture-overhead
server: {kind: tcp-echo, tcp_nodelay: true}
client: {tcp_nodelay: true}
load: {connections: 64, message_size: 64, depth: 1, warmup: 500ms, duration: $duration}
EOF

# One server for every variant, so only the capture differs between them.
"$bin" serve tcp-echo --bind 127.0.0.1:0 >"$work/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q "ready on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
target=$(sed -n 's/.* ready on //p' "$work/serve.out")
port=${target##*:}
echo "server $target; $rounds rounds of $duration per variant, interleaved in rotating order"

run() { # variant round
  local out="$work/$1-$2" tcpdump_pid=""
  case $1 in
    off) "$bin" run "$work/scenario.yaml" --target "$target" --no-capture --out "$out" --quiet ;;
    capture) "$bin" run "$work/scenario.yaml" --target "$target" --out "$out" --quiet ;;
    tcpdump)
      tcpdump -i lo -n -w "$work/tcpdump.pcap" "tcp port $port" 2>"$work/tcpdump.err" &
      tcpdump_pid=$!
      for _ in $(seq 50); do grep -q listening "$work/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
      "$bin" run "$work/scenario.yaml" --target "$target" --no-capture --out "$out" --quiet
      kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
      # tcpdump prints "N packets dropped by kernel" when it stops.
      sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$work/tcpdump.err" >"$out/dropped"
      rm -f "$work/tcpdump.pcap" ;;
  esac
}

variants=(off capture tcpdump)
for round in $(seq "$rounds"); do
  # Rotate the order each round so no variant always runs first (warm caches, drift).
  shift=$(( (round - 1) % 3 ))
  for i in 0 1 2; do run "${variants[$(( (i + shift) % 3 ))]}" "$round"; done
done

python3 - "$work" "$rounds" <<'EOF'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def figures(variant, r):
    report = json.load(open(f"{work}/{variant}-{r}/report.json"))["runs"][0]
    capture = report.get("capture") or {}
    dropped = capture.get("kernel_dropped")
    path = f"{work}/{variant}-{r}/dropped"
    if os.path.exists(path):
        text = open(path).read().strip()
        dropped = int(text) if text else None
    return report["throughput"]["messages_per_second"], dropped
rates = {v: [figures(v, r) for r in range(1, rounds + 1)] for v in ("off", "capture", "tcpdump")}
print(f"{'variant':<9} {'median rt/s':>12} {'min-max rt/s':>21} {'ratio to off':>13} {'ratio min-max':>14} {'kernel drops':>13}")
for variant, values in rates.items():
    rts = [v[0] for v in values]
    ratios = [v[0] / off[0] for v, off in zip(values, rates["off"])]
    drops = [v[1] for v in values if v[1] is not None]
    print(f"{variant:<9} {statistics.median(rts):>12,.0f} {min(rts):>10,.0f}-{max(rts):<10,.0f} "
          f"{statistics.median(ratios):>13.3f} {min(ratios):>6.3f}-{max(ratios):<7.3f} "
          f"{(str(sum(drops)) if drops else 'n/a'):>13}")
med = statistics.median(v[0] / off[0] for v, off in zip(rates["capture"], rates["off"]))
print(f"capture costs {100 * (1 - med):.1f}% of round trips/s (median of per-round ratios); "
      f"tcpdump {100 * (1 - statistics.median(v[0] / off[0] for v, off in zip(rates['tcpdump'], rates['off']))):.1f}%")
EOF
