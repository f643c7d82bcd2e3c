#!/usr/bin/env bash
# Shows that sockbench's per-message path allocates nothing: runs the same TCP and UDP echo load
# for a short and a long duration with a malloc-counting LD_PRELOAD shim, and prints the
# client's allocation count next to the number of round trips. If messages allocated, the count
# would grow with the round trips (hundreds of thousands more); it stays flat instead.
# Usage: bash Benchmarks/allocations/allocations.sh   (from the package root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/malloc_count.so" "$here/malloc_count.c" -ldl
swift build -c release --product sockbench >/dev/null
bin=$(swift build -c release --show-bin-path)/sockbench

printf '%-10s %-9s %12s %18s\n' scenario duration round_trips client_mallocs
for scenario in quickstart udp-echo; do
  for duration in 1s 4s; do
    rm -f "$work/counts"
    # The client is the process whose pid the report does not name: it is the one started here.
    MALLOC_COUNT_FILE="$work/counts" LD_PRELOAD="$work/malloc_count.so" \
      "$bin" run "scenarios/$scenario.yaml" --duration "$duration" --out "$work/$scenario-$duration" --quiet &
    client=$!
    wait "$client"
    trips=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runs'][0]; print(r['messages']['received'])" "$work/$scenario-$duration/report.json")
    mallocs=$(grep "pid=$client " "$work/counts" | sed 's/.*calls=//')
    printf '%-10s %-9s %12s %18s\n' "$scenario" "$duration" "$trips" "$mallocs"
  done
done
