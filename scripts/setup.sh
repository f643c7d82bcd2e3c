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
# Needs root (or sudo) only when something is missing; does nothing otherwise.
# Usage: bash scripts/setup.sh [--test]
set -euo pipefail
packages=(libpcap-dev libpcre2-dev)
if [ "${1:-}" = "--test" ]; then packages+=(tcpdump tshark util-linux bsdutils iproute2 procps gcc libc6-dev chromium socat); fi

if ! command -v dpkg-query >/dev/null; then
  # Not Debian: say what is needed and let the build find it (pkg-config libpcap).
  pkg-config --exists libpcap libpcre2-8 2>/dev/null || echo "setup: install libpcap's and PCRE2's development files (and ${packages[*]:2}) with your package manager" >&2
  exit 0
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
"${run[@]}" apt-get update -qq
"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
