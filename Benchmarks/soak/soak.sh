#!/usr/bin/env bash
# Soak: 1,000 TCP connections against `sockbench serve tcp-echo` for 10 minutes (each connection
# sends a 64-byte request, waits for the echo, thinks 100 ms: about 10,000 round trips/s), with the
# client's resident memory and open descriptors recorded every 10 s in the interval series. The
# report's `resource_trend` compares the first quarter of the intervals with the last and says
# whether they stayed flat; this script prints it with the series' extremes.
# Usage: bash Benchmarks/soak/soak.sh [DURATION] [OUT]   (from the package root; default 10m)
set -euo pipefail
duration=${1:-10m}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${2:-$root/reports/soak/$(date -u +%Y%m%dT%H%M%SZ)}
cd "$root"
swift build -c release --product sockbench >/dev/null
bin=$(swift build -c release --show-bin-path)/sockbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/soak.yaml" <<YAML
name: soak
description: 1,000 connections, 64-byte echo with 100 ms think time, memory and descriptors per 10 s interval
server: {kind: tcp-echo}
load: {connections: 1000, threads: 2, think_time: 100ms, warmup: 5s, duration: $duration, interval: 10s}
capture: {enabled: false}
YAML
"$bin" run "$work/soak.yaml" --out "$out" --quiet || true
python3 - "$out/report.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
intervals = run["intervals"]
rss = [i["resident_bytes"] for i in intervals[:-1]]
fds = [i["open_descriptors"] for i in intervals[:-1]]
trend = run.get("resource_trend")
print(f"{len(intervals)} intervals, {run['messages']['received']:,} round trips, {run['errors']['total']} errors, "
      f"{run['throughput']['messages_per_second']:,.0f}/s, p99 {run['latency_ns']['p99'] / 1e6:.2f} ms")
print(f"client resident MiB: first {rss[0] / 2**20:.1f}, last {rss[-1] / 2**20:.1f}, min {min(rss) / 2**20:.1f}, max {max(rss) / 2**20:.1f}")
print(f"client descriptors:  first {fds[0]}, last {fds[-1]}, min {min(fds)}, max {max(fds)}")
server = run.get("memory", {}).get("server_peak_resident_bytes")
if server: print(f"server peak resident MiB: {server / 2**20:.1f}")
if not trend:
    sys.exit("no resource_trend in the report (fewer than 8 intervals?)")
print(f"resource_trend: memory {trend['resident_growth_percent']:+.2f}%, descriptors {trend['descriptors_first_quarter']} -> "
      f"{trend['descriptors_last_quarter']}: {'FLAT' if trend['flat'] else 'GROWING'}")
sys.exit(0 if trend["flat"] else 1)
PY
echo "report: $out/report.md"
