#!/usr/bin/env bash
# Installs the Debian packages sockbench needs when they are missing:
#   libpcap-dev         to build (packet capture)
#   libpcre2-dev        to build (expect_regex, matched by PCRE2 with a match budget)
#   tcpdump, tshark     with --test: the capture tests check sockbench's figures against them
#   util-linux, bsdutils, iproute2, procps, gcc
#                       with --test: prlimit, unshare and script (a terminal for the progress line),
#                       ip and sysctl (a port range in a test's own network namespace), and a C compiler
#                       for the malloc-counting shim of the allocation gate
#   chromium            with --test: renders report.html headless and checks its charts
#   socat               with --test: a real third-party UDP relay the delivery tests load
#   redis-server, memcached, nginx
#                       with --test: the real servers the example scenarios (redis-ping, redis-setget,
#                       memcached, http-get) run against in RealServerTests, each started by the test
#                       on a free loopback port (nginx is the package with /usr/sbin/nginx; nginx-light
#                       only adds a module). redis-server brings redis-tools (redis-benchmark).
#   slurm-wlm, munge   with --test: a one-node Slurm cluster (scripts/slurm-local.sh) that SlurmTests submit
#                       a generated job array to
#   python3, python3-venv
#                       with --test: the tutorial servers (Fixtures/tutorial), and a virtual environment
#                       in .build/python with the PyPI packages the tests check outputs with, pinned:
#                       hdrhistogram (reads latency.hlog) and kubernetes-validate (the Job manifests)
#   wrk, sockperf, iperf3
#                       with --bench: the peer tools Benchmarks/peers and Benchmarks/protocols compare
#                       with (--bench installs what --test does as well); CI does not need them
# Needs root (or sudo) only when something is missing; does nothing otherwise.
# Usage: bash scripts/setup.sh [--test | --bench]
set -euo pipefail
packages=(libpcap-dev libpcre2-dev zlib1g-dev)
case "${1:-}" in
  --test|--bench) packages+=(tcpdump tshark util-linux bsdutils iproute2 procps gcc libc6-dev chromium socat redis-server memcached nginx python3 python3-venv slurm-wlm munge) ;;
esac
if [ "${1:-}" = "--bench" ]; then packages+=(wrk sockperf iperf3); fi

if ! command -v dpkg-query >/dev/null; then
  # Not Debian: say what is needed and let the build find it (pkg-config libpcap).
  pkg-config --exists libpcap libpcre2-8 2>/dev/null || echo "setup: install libpcap's and PCRE2's development files (and ${packages[*]:2}) with your package manager" >&2
  exit 0
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

install_packages() {
[ ${#missing[@]} -eq 0 ] && return 0

run=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then run=(sudo); else
    echo "setup: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | "${run[@]}" debconf-set-selections
# The redis-server, memcached and nginx packages start their services on the default ports (6379,
# 11211, 80) when they are installed, with systemd or without it (invoke-rc.d runs the init
# script). Nothing here needs them running: the tests start their own servers on free ports. A
# policy-rc.d that answers 101 ("not allowed") keeps them from starting during this install;
# one the machine already has (container images ship one) is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  trap '"${run[@]}" rm -f "$policy"' EXIT
  printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs packages.\nexit 101\n' | "${run[@]}" tee "$policy" >/dev/null
  "${run[@]}" chmod 755 "$policy"
fi
"${run[@]}" apt-get update -qq
"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_packages

# The tests' PyPI packages, pinned, in a virtual environment of the package's own (git-ignored with
# .build/): nothing is installed into the system's Python. Recreated when the pins change.
python_packages="hdrhistogram==0.10.8 kubernetes-validate==1.37.0 xmlschema==4.3.2 check-jsonschema==0.39.0 jsonschema-rs==0.61.2"
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  venv="$(cd "$(dirname "$0")/.." && pwd)/.build/python"
  if [ "$(cat "$venv/pins" 2>/dev/null)" != "$python_packages" ]; then
    echo "setup: installing $python_packages into $venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q --disable-pip-version-check $python_packages
    echo "$python_packages" > "$venv/pins"
  fi
fi
