#!/usr/bin/env bash
# What capturing costs the load: 64-connection, 64-byte TCP request-response against one
# `sockbench serve tcp-echo`, run interleaved in rotating order with
#   none       sockbench run --no-capture
#   default    sockbench run with its default capture (windows mode)
#   full       sockbench run --capture full (every packet)
#   tcpdump    sockbench run --no-capture while `tcpdump -i lo -s 128 -w FILE tcp port P` captures
#              the same traffic (its default: TPACKET_V3, a 1 s block timeout)
#   tcpdump-im the same with tcpdump --immediate-mode (TPACKET_V2, a wake-up per packet)
# and prints, per variant, the median round trips/s with min-max, the median of the per-round
# ratios to "none" and to "tcpdump", the kernel drops, and the observer effect the default run
# measured in itself. Needs root (CAP_NET_RAW) and tcpdump.
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
    none) "$bin" run "$work/scenario.yaml" --target "$target" --no-capture --out "$out" --quiet ;;
    default) "$bin" run "$work/scenario.yaml" --target "$target" --out "$out" --quiet ;;
    full) "$bin" run "$work/scenario.yaml" --target "$target" --capture full --out "$out" --quiet ;;
    tcpdump|tcpdump-im)
      local immediate=()
      [ "$1" = tcpdump-im ] && immediate=(--immediate-mode)
      tcpdump -i lo -n -s 128 "${immediate[@]}" -w "$work/tcpdump.pcap" "tcp port $port" 2>"$work/tcpdump.err" &
      tcpdump_pid=$!
      for _ in $(seq 50); do grep -q listening "$work/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
      "$bin" run "$work/scenario.yaml" --target "$target" --no-capture --out "$out" --quiet
      kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true
      # tcpdump prints "N packets dropped by kernel" when it stops.
      sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$work/tcpdump.err" >"$out/dropped"
      rm -f "$work/tcpdump.pcap" ;;
  esac
}

variants=(none default full tcpdump tcpdump-im)
count=${#variants[@]}
for round in $(seq "$rounds"); do
  # Rotate the order each round so no variant always runs first (warm caches, drift).
  shift=$(( (round - 1) % count ))
  for i in $(seq 0 $(( count - 1 ))); do run "${variants[$(( (i + shift) % count ))]}" "$round"; done
done

python3 - "$work" "$rounds" <<'EOF'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
variants = ("none", "default", "full", "tcpdump", "tcpdump-im")
def figures(variant, r):
    run = json.load(open(f"{work}/{variant}-{r}/report.json"))["runs"][0]
    capture = run.get("capture") or {}
    dropped = capture.get("kernel_dropped")
    path = f"{work}/{variant}-{r}/dropped"
    if os.path.exists(path):
        text = open(path).read().strip()
        dropped = int(text) if text else None
    return run["throughput"]["messages_per_second"], dropped, capture.get("observer_effect")
rates = {v: [figures(v, r) for r in range(1, rounds + 1)] for v in variants}
def ratios(variant, reference):
    return [a[0] / b[0] for a, b in zip(rates[variant], rates[reference])]
print(f"{'variant':<11} {'median rt/s':>12} {'min-max rt/s':>21} {'÷ none':>7} {'min-max':>13} {'÷ tcpdump':>9} {'min-max':>13} {'drops':>6}")
for variant in variants:
    rts = [v[0] for v in rates[variant]]
    to_none, to_tcpdump = ratios(variant, "none"), ratios(variant, "tcpdump")
    drops = [v[1] for v in rates[variant] if v[1] is not None]
    print(f"{variant:<11} {statistics.median(rts):>12,.0f} {min(rts):>10,.0f}-{max(rts):<10,.0f} "
          f"{statistics.median(to_none):>7.3f} {min(to_none):>6.3f}-{max(to_none):<6.3f} "
          f"{statistics.median(to_tcpdump):>9.3f} {min(to_tcpdump):>6.3f}-{max(to_tcpdump):<6.3f} "
          f"{(str(sum(drops)) if drops else 'n/a'):>6}")
effects = [v[2] for v in rates["default"] if v[2] and v[2].get("ratio")]
if effects:
    print(f"default, measured in the run itself: {statistics.median(e['ratio'] for e in effects):.3f} "
          f"(rate while capturing / rate while not, median of {len(effects)}); cost to the run's figures "
          f"{statistics.median(e['run_cost_percent'] for e in effects):.1f}%")
print(f"default reaches {statistics.median(ratios('default', 'none')):.3f} of none (target >= 0.95); "
      f"full reaches {statistics.median(ratios('full', 'tcpdump')):.3f} of tcpdump's default (target >= 1.0)")
EOF
