#!/usr/bin/env python3
"""sockbench's protocol examples against the load generators each server ships with or is known by.

Starts one redis-server and one nginx (scenarios/nginx/nginx.conf: one worker, a 612-byte page,
no access log, keepalive_requests 1000000) on free loopback ports in a temporary folder, then runs
in rounds, the order of each pair alternating between rounds:
  1. HTTP keep-alive GET of /index.html on nginx:
     wrk -tT -cC -dDs --latency  vs  sockbench run scenarios/http-get.yaml (C connections, T threads)
  2. Redis inline PING, one request in flight per connection:
     redis-benchmark -P 1 -c C -n N -t ping_inline  vs  sockbench run scenarios/redis-ping.yaml
     (N is set from a first calibration run so redis-benchmark runs about D seconds;
     ping_inline sends "PING\\r\\n", the same bytes as the example; ping_mbulk would send RESP)

sockbench runs the example files themselves, with the address, connections, threads and duration
replaced (warm-up 500 ms, no capture). For each side it reports requests/s, p50 and p99 latency,
and client CPU per request: sockbench's worker threads in the measured window (cpu.client_measured_s),
the peer's whole process from wait4 (its run has no warm-up to leave out). It prints one table: the
median and spread (min-max) of each side and of the per-round ratio, oriented so that above 1.0 means
sockbench did better (requests/s: sockbench / peer; latency and CPU: peer / sockbench).

Usage (from the package root, after `swift build -c release --product sockbench`):
  python3 Benchmarks/protocols/protocols.py [--rounds 5] [--duration 3] [--connections 16] [--threads 16]
      [--wrk PATH] [--redis-benchmark PATH] [--redis-server PATH] [--nginx PATH]
A peer (or server) that is not installed skips its comparison and says so (bash scripts/setup.sh --bench).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import free_port, interleaved, spread  # noqa: E402



def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def timed(args):
    """Runs args to the end: (stdout, user + system CPU seconds of the child, from wait4)."""
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        sys.exit(f"protocols.py: {' '.join(args)} exited {process.returncode}:\n{text}")
    return text, usage.ru_utime + usage.ru_stime


class Server:
    """A server in the background, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, name, args, port, log):
        self.name = name
        self.log = open(log, "w")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not accepts(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f"protocols.py: {name} did not start on 127.0.0.1:{port}; see {log}")
            time.sleep(0.05)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Bench:
    def __init__(self, work, options):
        self.work = work
        self.options = options
        self.sockbench = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                                     capture_output=True, text=True).stdout.strip(), "sockbench")
        if not os.access(self.sockbench, os.X_OK):
            sys.exit(f"protocols.py: no release build at {self.sockbench}: swift build -c release --product sockbench")

    # servers ------------------------------------------------------------------------------------

    def start_redis(self, binary):
        self.redis_port = free_port()
        folder = os.path.join(self.work, "redis")
        os.mkdir(folder)
        return Server("redis-server", [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                       "--daemonize", "no", "--dir", folder], self.redis_port, os.path.join(folder, "log"))

    def start_nginx(self, binary):
        self.nginx_port = free_port()
        folder = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(folder, "html"))
        os.chmod(self.work, 0o755)
        os.chmod(folder, 0o755)  # as root, the worker runs as www-data and must read the page
        with open(os.path.join(folder, "html", "index.html"), "w") as f:
            f.write("x" * 612)
        with open(os.path.join(ROOT, "scenarios", "nginx", "nginx.conf")) as f:
            config = f.read()
        assert "listen 127.0.0.1:8080;" in config
        with open(os.path.join(folder, "nginx.conf"), "w") as f:
            f.write(config.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.nginx_port};"))
        return Server("nginx", [binary, "-p", folder, "-e", "stderr", "-c", os.path.join(folder, "nginx.conf")], self.nginx_port,
                      os.path.join(folder, "log"))

    # sockbench -----------------------------------------------------------------------------------

    def sockbench_example(self, example, port, default_address):
        with open(os.path.join(ROOT, "scenarios", example)) as f:
            text = f.read()
        replacements = [(f'address: "{default_address}"', f'address: "127.0.0.1:{port}"'),
                        ("connections: 16", f"connections: {self.options.connections}"),
                        ("threads: 2", f"threads: {self.options.threads}"),
                        ("duration: 5s", f"duration: {self.options.duration}s")]
        for old, new in replacements:
            assert old in text, f"scenarios/{example} has no {old!r}"
            text = text.replace(old, new)
        scenario = os.path.join(self.work, example)
        with open(scenario, "w") as f:
            f.write(text)
        out = os.path.join(self.work, "out-" + example)
        shutil.rmtree(out, ignore_errors=True)
        timed([self.sockbench, "run", scenario, "--no-capture", "--quiet", "--out", out])
        with open(os.path.join(out, "report.json")) as f:
            run = json.load(f)["runs"][0]
        if run["errors"]["total"]:
            sys.exit(f"protocols.py: sockbench {example}: {run['errors']} {run.get('protocol_mismatches')}")
        step = run["steps"][0]
        return {"req/s": run["throughput"]["requests_per_second"], "p50": step["latency_ns"]["p50"] / 1e3,
                "p99": step["latency_ns"]["p99"] / 1e3, "cpu µs/req": run["cpu"]["client_measured_s"] * 1e6 / step["count"],
                "user/sys": (run["cpu"]["client_user_s"], run["cpu"]["client_sys_s"])}

    # peers ---------------------------------------------------------------------------------------

    def wrk(self, binary):
        o = self.options
        out, cpu = timed([binary, f"-t{o.threads}", f"-c{o.connections}", f"-d{o.duration}s", "--latency",
                          f"http://127.0.0.1:{self.nginx_port}/index.html"])
        if "Non-2xx" in out or "Socket errors" in out:
            sys.exit(f"protocols.py: wrk saw errors:\n{out}")
        requests = int(re.search(r"(\d+) requests in", out).group(1))

        def micros(label):
            value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
            return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]

        return {"req/s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": micros("50"), "p99": micros("99"),
                "cpu µs/req": cpu * 1e6 / requests}

    def redis_benchmark(self, binary, requests):
        out, cpu = timed([binary, "-h", "127.0.0.1", "-p", str(self.redis_port), "-P", "1", "-c", str(self.options.connections),
                          "-n", str(requests), "-t", "ping_inline", "--csv"])
        rows = [line.replace('"', "").split(",") for line in out.strip().splitlines()]
        header, row = rows[0], next(r for r in rows[1:] if r[0] == "PING_INLINE")
        fields = dict(zip(header, row))
        return {"req/s": float(fields["rps"]), "p50": float(fields["p50_latency_ms"]) * 1e3, "p99": float(fields["p99_latency_ms"]) * 1e3,
                "cpu µs/req": cpu * 1e6 / requests}


HIGHER = {"req/s"}
METRICS = ["req/s", "p50", "p99", "cpu µs/req"]




def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds measured per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=16, help="client threads of wrk and sockbench (redis-benchmark has one)")
    for tool in ["wrk", "redis-benchmark", "redis-server", "nginx"]:
        parser.add_argument("--" + tool, default=shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin"), help=f"path of {tool}")
    options = parser.parse_args()
    paths = {tool: getattr(options, tool.replace("-", "_")) for tool in ["wrk", "redis-benchmark", "redis-server", "nginx"]}
    with tempfile.TemporaryDirectory() as work:
        bench = Bench(work, options)
        servers, comparisons = [], []
        try:
            if paths["nginx"] and paths["wrk"]:
                servers.append(bench.start_nginx(paths["nginx"]))
                comparisons.append(("HTTP GET on nginx vs wrk", "wrk", 0.90,
                                    lambda: bench.sockbench_example("http-get.yaml", bench.nginx_port, "127.0.0.1:8080"),
                                    lambda: bench.wrk(paths["wrk"])))
            else:
                print(f"skipped: HTTP on nginx vs wrk (nginx: {paths['nginx']}, wrk: {paths['wrk']})", file=sys.stderr)
            if paths["redis-server"] and paths["redis-benchmark"]:
                servers.append(bench.start_redis(paths["redis-server"]))
                # Calibration: enough requests for redis-benchmark to run about as long as sockbench measures.
                rate = bench.redis_benchmark(paths["redis-benchmark"], 50_000)["req/s"]
                requests = max(50_000, int(rate * options.duration))
                comparisons.append(("Redis PING vs redis-benchmark -P 1", "redis-benchmark", None,
                                    lambda: bench.sockbench_example("redis-ping.yaml", bench.redis_port, "127.0.0.1:6379"),
                                    lambda: bench.redis_benchmark(paths["redis-benchmark"], requests)))
            else:
                print(f"skipped: Redis vs redis-benchmark (redis-server: {paths['redis-server']}, redis-benchmark: {paths['redis-benchmark']})",
                      file=sys.stderr)
            samples = interleaved(options.rounds, [(name, ours, theirs) for name, _, _, ours, theirs in comparisons])
        finally:
            for server in servers:
                server.stop()
    print(f"sockbench vs protocol peers: {options.rounds} rounds, {options.duration} s each, {options.connections} connections, "
          f"{options.threads} client threads (redis-benchmark: 1), interleaved; median (min–max)")
    print("ratio > 1.0 means sockbench did better (req/s: sockbench/peer; latency, CPU: peer/sockbench)")
    print()
    header = f"| {'comparison':<52} | {'metric':<10} | {'sockbench':<26} | {'peer':<26} | {'ratio':<18} | target | met |"
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for name, peer, target, _, _ in comparisons:
        ours, theirs = samples[name]["sockbench"], samples[name]["peer"]
        for metric in METRICS:
            a = [sample[metric] for sample in ours]
            b = [sample[metric] for sample in theirs]
            ratios = [x / y if metric in HIGHER else y / x for x, y in zip(a, b)]
            digits = 0 if metric == "req/s" else 1 if metric in ("p50", "p99") else 2
            gated = metric == "req/s" and target is not None
            met = ("yes" if statistics.median(ratios) >= target else "NO") if gated else ""
            unit = metric + (" µs" if metric in ("p50", "p99") else "")
            print(f"| {name + ' (' + peer + ')':<52} | {unit:<10} | {spread(a, digits):<26} | {spread(b, digits):<26} | "
                  f"{spread(ratios, 2):<18} | {('≥ ' + format(target, '.2f')) if gated else '':<6} | {met:<3} |")
    for name, *_ in comparisons:
        split = [sample["user/sys"] for sample in samples[name]["sockbench"]]
        print(f"{name}: sockbench client user/sys s per run (whole process, warm-up included): "
              + ", ".join(f"{u:.2f}/{s:.2f}" for u, s in split))


if __name__ == "__main__":
    main()
