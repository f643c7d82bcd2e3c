#!/usr/bin/env python3
"""sockbench against peer tools and reference C programs, interleaved and repeated.

Runs on this machine, in rounds (the order of each pair alternates between rounds):
  1. TCP ping-pong, 1 connection, 64 B: sockbench (client + serve tcp-echo) vs sockperf pp/sr --tcp
  2. UDP ping-pong, 1 socket, 64 B:    sockbench (client + serve udp-echo) vs sockperf pp/sr
  3. request-response, 64 connections, 64 B, same server (sockbench serve tcp-echo):
     sockbench client vs the C epoll client in this folder (round trips/s, client CPU per round trip)
  4. TCP stream, 1 connection: sockbench (upload into serve tcp-sink) vs iperf3 -c/-s (Gbit/s)
  5. UDP throughput, 64 B datagrams, 1 socket: sockbench (stream into serve udp-sink) vs sockperf tp/sr
  6. echo server, driven by the C client with 64 connections: sockbench serve tcp-echo vs the C epoll echo server

It prints one table: per metric the median and spread (min-max) of each side and of the per-round
ratio, oriented so that above 1.0 means sockbench did better (throughput: sockbench / peer;
latency and CPU: peer / sockbench). sockperf reports half the round trip as "latency"; its
figures are doubled here so both sides show the round trip.

Usage (from the package root): python3 Benchmarks/peers/peers.py [--rounds 5] [--duration 3]
Needs: sockperf, iperf3, cc (apt-get install sockperf iperf3 gcc).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import free_port, interleaved, metric_rows, print_header, spread  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)




class Background:
    """A server process that is killed (and waited for) on exit."""

    def __init__(self, args, ready=None):
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, text=True)
        self.first_line = self.process.stdout.readline() if ready else ""
        if not ready:
            time.sleep(0.4)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


class Bench:
    def __init__(self, work, duration):
        self.work = work
        self.duration = duration
        self.sockbench = os.path.join(sh(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT).stdout.strip(), "sockbench")
        self.client = os.path.join(work, "c-epoll-client")
        self.echo = os.path.join(work, "c-epoll-echo")
        sh(["cc", "-O2", "-o", self.client, os.path.join(HERE, "c-epoll-client.c")])
        sh(["cc", "-O2", "-o", self.echo, os.path.join(HERE, "c-epoll-echo.c")])

    # sockbench ---------------------------------------------------------------------------------

    def sockbench_run(self, name, server, load, client="", target=None):
        scenario = os.path.join(self.work, name + ".yaml")
        with open(scenario, "w") as f:
            f.write(f"name: {name}\nserver: {{{server}}}\nclient: {{{client}}}\nload: {{{load}, warmup: 500ms, duration: {self.duration}s}}\n")
        out = os.path.join(self.work, "out-" + name)
        shutil.rmtree(out, ignore_errors=True)
        args = [self.sockbench, "run", scenario, "--no-capture", "--quiet", "--out", out]
        if target:
            args += ["--target", target]
        sh(args)
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)["runs"][0]

    def serve(self, kind, port):
        return Background([self.sockbench, "serve", kind, "--bind", f"127.0.0.1:{port}", "-o", "tcp_nodelay=true"] if kind.startswith("tcp") else
                          [self.sockbench, "serve", kind, "--bind", f"127.0.0.1:{port}"], ready=True)

    # the measurements --------------------------------------------------------------------------

    def sockbench_pingpong(self, transport):
        kind = "tcp-echo" if transport == "tcp" else "udp-echo"
        nodelay = ", tcp_nodelay: true" if transport == "tcp" else ""
        run = self.sockbench_run("pp-" + transport, f"kind: {kind}{nodelay}", "connections: 1, message_size: 64, depth: 1",
                                 client=nodelay.strip(", "))
        return {"rt/s": run["throughput"]["messages_per_second"], "p50": run["latency_ns"]["p50"] / 1e3, "p99": run["latency_ns"]["p99"] / 1e3}

    def sockperf_pingpong(self, transport):
        port = free_port()
        flag = ["--tcp"] if transport == "tcp" else []
        with Background(["sockperf", "sr", *flag, "-i", "127.0.0.1", "-p", str(port)]):
            out = sh(["sockperf", "pp", *flag, "-i", "127.0.0.1", "-p", str(port), "-m", "64", "-t", str(self.duration + 1)]).stdout
        runtime, received = re.search(r"RunTime=([\d.]+) sec; SentMessages=\d+; ReceivedMessages=(\d+)", out).groups()
        # sockperf's latency is half a round trip.
        p50 = float(re.search(r"percentile 50\.000 =\s+([\d.]+)", out).group(1)) * 2
        p99 = float(re.search(r"percentile 99\.000 =\s+([\d.]+)", out).group(1)) * 2
        return {"rt/s": int(received) / float(runtime), "p50": p50, "p99": p99}

    def sockbench_client(self, port):
        run = self.sockbench_run("rr64", "kind: external, address: 127.0.0.1:1", "connections: 64, message_size: 64, depth: 1",
                                 client="tcp_nodelay: true", target=f"127.0.0.1:{port}")
        cpu = run["cpu"]["client_user_s"] + run["cpu"]["client_sys_s"]
        return {"rt/s": run["throughput"]["messages_per_second"], "cpu ns/rt": cpu * 1e9 / max(1, run["messages"]["received"])}

    def c_client(self, port):
        out = sh([self.client, "127.0.0.1", str(port), "64", "64", str(self.duration)]).stdout
        fields = dict(part.split("=") for part in out.split())
        return {"rt/s": float(fields["round_trips_per_second"]), "cpu ns/rt": float(fields["cpu_ns_per_round_trip"])}

    def sockbench_stream(self):
        run = self.sockbench_run("stream", "kind: tcp-sink", "connections: 1, message_size: 128KiB")
        return {"Gbit/s": run["throughput"]["bytes_per_second_sent"] * 8 / 1e9}

    def iperf3(self):
        port = free_port()
        with Background(["iperf3", "-s", "-1", "-p", str(port)]):
            out = sh(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(self.duration), "-O", "1", "-J"]).stdout
        return {"Gbit/s": json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9}

    def sockbench_udp_throughput(self):
        run = self.sockbench_run("udp-tp", "kind: udp-sink", "connections: 1, message_size: 64")
        return {"msg/s": run["throughput"]["messages_per_second"]}

    def sockperf_throughput(self):
        port = free_port()
        with Background(["sockperf", "sr", "-i", "127.0.0.1", "-p", str(port)]):
            out = sh(["sockperf", "tp", "-i", "127.0.0.1", "-p", str(port), "-m", "64", "-t", str(self.duration + 1)]).stdout
        return {"msg/s": float(re.search(r"Message Rate is (\d+)", out).group(1))}

    def echo_server(self, which):
        port = free_port()
        server = self.serve("tcp-echo", port) if which == "sockbench" else Background([self.echo, str(port)], ready=True)
        with server:
            return {"rt/s": self.c_client(port)["rt/s"]}


# what is compared, and which way is better -------------------------------------------------------

HIGHER = {"rt/s", "Gbit/s", "msg/s"}


def pairs(bench):
    shared = {}

    def shared_server():
        if "server" not in shared:
            port = free_port()
            shared["server"] = (bench.serve("tcp-echo", port), port)
        return shared["server"][1]

    return [
        ("TCP ping-pong vs sockperf", "sockperf", lambda: bench.sockbench_pingpong("tcp"), lambda: bench.sockperf_pingpong("tcp"), 1.0),
        ("UDP ping-pong vs sockperf", "sockperf", lambda: bench.sockbench_pingpong("udp"), lambda: bench.sockperf_pingpong("udp"), 1.0),
        ("64-connection client vs C epoll client", "C client", lambda: bench.sockbench_client(shared_server()),
         lambda: bench.c_client(shared_server()), 0.95),
        ("TCP stream vs iperf3", "iperf3", bench.sockbench_stream, bench.iperf3, 1.0),
        ("UDP throughput vs sockperf tp", "sockperf", bench.sockbench_udp_throughput, bench.sockperf_throughput, 1.0),
        ("echo server vs C epoll echo", "C server", lambda: bench.echo_server("sockbench"), lambda: bench.echo_server("c"), 0.95),
    ], shared




def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds measured per run")
    options = parser.parse_args()
    for tool in ["sockperf", "iperf3", "cc"]:
        if not shutil.which(tool):
            sys.exit(f"peers.py: {tool} is missing (apt-get install sockperf iperf3 gcc)")
    with tempfile.TemporaryDirectory() as work:
        bench = Bench(work, options.duration)
        comparisons, shared = pairs(bench)
        try:
            samples = interleaved(options.rounds, [(name, ours, theirs) for name, _, ours, theirs, _ in comparisons])
        finally:
            if "server" in shared:
                shared["server"][0].__exit__()
        print(f"sockbench vs peers: {options.rounds} rounds, {options.duration} s each, interleaved; median (min–max)")
        print("ratio > 1.0 means sockbench did better (throughput: sockbench/peer; latency, CPU: peer/sockbench)")
        print()
        print_header(f"| {'comparison':<40} | {'metric':<9} | {'sockbench':<28} | {'peer':<28} | {'ratio':<20} | target | met |")
        for name, peer, _, _, target in comparisons:
            for metric, a, b, ratios, digits, unit in metric_rows(samples, name, HIGHER):
                headline = metric in ("rt/s", "Gbit/s", "msg/s", "cpu ns/rt")
                met = ("yes" if statistics.median(ratios) >= target else "NO") if headline else ""
                print(f"| {name + ' (' + peer + ')':<40} | {unit:<9} | {spread(a, digits):<28} | {spread(b, digits):<28} | "
                      f"{spread(ratios, 2):<20} | {('≥ ' + format(target, '.2f')) if headline else '':<6} | {met:<3} |")


if __name__ == "__main__":
    main()
