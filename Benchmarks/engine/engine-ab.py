#!/usr/bin/env python3
"""Two sockbench builds on the same loads, interleaved: has a change to the connection engine
moved its figures?

Runs the sockbench side of Benchmarks/peers/peers.py (the same scenarios), plus the load shapes
the engine plays besides (pipelined, open loop, think time, connect-per-request), with an old
binary and a new one, alternating which goes first in each round. Prints per load the median
and spread (min–max) of each side and of the per-round ratio new/old, oriented so that above
1.0 means the new build did better. The issue 15 bar: every headline ratio ≥ 0.95.

Usage (from the package root):
  python3 Benchmarks/engine/engine-ab.py --old /path/to/old/sockbench [--new PATH] [--rounds 5] [--duration 3] [--only TEXT]
The new binary defaults to this checkout's release build (`swift build -c release`). To get an
old one: `git worktree add /tmp/old REV && (cd /tmp/old && swift build -c release)`.
Needs: cc (the C echo server in Benchmarks/peers).
"""
import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
sys.path.insert(0, os.path.join(HERE, ".."))
from benchlib import free_port, interleaved, metric_rows, print_header, spread  # noqa: E402
import peers  # noqa: E402

HIGHER = {"rt/s", "Gbit/s", "msg/s", "tx/s"}


def loads(bench, c_echo_port):
    """(name, function) pairs; each function runs with `bench.sockbench` set to the binary under test."""
    external = "kind: external, address: 127.0.0.1:1"
    target = f"127.0.0.1:{c_echo_port}"
    nodelay = "tcp_nodelay: true"

    def rr(name, load):
        def run():
            result = bench.sockbench_run(name, external, load, client=nodelay, target=target)
            cpu = result["cpu"]["client_user_s"] + result["cpu"]["client_sys_s"]
            errors = result["errors"]["total"]
            if errors:
                raise SystemExit(f"engine-ab: {name}: {errors} errors with {bench.sockbench}")
            return {"rt/s": result["throughput"]["messages_per_second"],
                    "cpu ns/rt": cpu * 1e9 / max(1, result["messages"]["received"])}
        return run

    def crr():
        result = bench.sockbench_run("crr", external, "pattern: connect, connections: 8, message_size: 64", client=nodelay, target=target)
        return {"tx/s": result["throughput"]["messages_per_second"]}

    def open_loop():
        result = bench.sockbench_run("open", external, "connections: 16, message_size: 64, rate: 20000/s", client=nodelay, target=target)
        return {"p50": result["latency_ns"]["p50"] / 1e3, "p99": result["latency_ns"]["p99"] / 1e3}

    return [
        ("TCP ping-pong, 1 connection", lambda: bench.sockbench_pingpong("tcp")),
        ("UDP ping-pong, 1 socket", lambda: bench.sockbench_pingpong("udp")),
        ("RR 64 connections (C echo)", rr("rr64", "connections: 64, message_size: 64, depth: 1")),
        ("RR 16 connections depth 16 (C echo)", rr("rr16x16", "connections: 16, message_size: 64, depth: 16")),
        ("RR 4 connections, 16 KiB (C echo)", rr("rr16k", "connections: 4, message_size: 16KiB, depth: 1")),
        ("connect per request, 8 (C echo)", crr),
        ("open loop 20k/s, 16 connections (C echo)", open_loop),
        ("TCP stream, 1 connection", bench.sockbench_stream),
        ("UDP throughput, 64 B", bench.sockbench_udp_throughput),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", required=True, help="the sockbench binary to compare against")
    parser.add_argument("--new", help="the sockbench binary under test (default: this checkout's release build)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds measured per run")
    parser.add_argument("--only", help="run only the loads whose name contains this text (e.g. 'depth 16')")
    options = parser.parse_args()
    for path in [options.old] + ([options.new] if options.new else []):
        if not os.access(path, os.X_OK):
            sys.exit(f"engine-ab.py: {path} is not an executable")
    with tempfile.TemporaryDirectory() as work:
        bench = peers.Bench(work, options.duration)
        new = options.new or bench.sockbench
        port = free_port()
        with peers.Background([bench.echo, str(port)], ready=True):
            measured = [(name, f) for name, f in loads(bench, port) if not options.only or options.only in name]
            if not measured:
                sys.exit(f"engine-ab.py: no load's name contains {options.only!r}")

            def using(binary, function):
                def run():
                    bench.sockbench = binary
                    return function()
                return run

            samples = interleaved(options.rounds, [(name, using(new, f), using(options.old, f)) for name, f in measured])
    print(f"engine A/B: new {new} vs old {options.old}: {options.rounds} rounds, {options.duration} s each, interleaved; median (min–max)")
    print("ratio > 1.0 means the new build did better (throughput: new/old; latency, CPU: old/new)")
    print()
    print_header(f"| {'load':<42} | {'metric':<9} | {'new':<28} | {'old':<28} | {'ratio':<20} | ≥ 0.95 |")
    for name, _ in measured:
        for metric, a, b, ratios, digits, unit in metric_rows(samples, name, HIGHER):
            headline = metric in HIGHER or metric == "cpu ns/rt"
            met = ("yes" if statistics.median(ratios) >= 0.95 else "NO") if headline else ""
            print(f"| {name:<42} | {unit:<9} | {spread(a, digits):<28} | {spread(b, digits):<28} | {spread(ratios, 2):<20} | {met:<6} |")


if __name__ == "__main__":
    main()
