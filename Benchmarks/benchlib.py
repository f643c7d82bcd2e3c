"""What the benchmark scripts share: a free loopback port, interleaved A/B rounds, medians with spread."""
import socket
import statistics
import sys


def free_port():
    """A TCP port on 127.0.0.1 the kernel just handed out (bound, read back, closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spread(values, digits):
    """The median and the min–max range, with `digits` decimals."""
    fmt = f"{{:,.{digits}f}}"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def interleaved(rounds, measures):
    """Runs each (name, ours, theirs) pair once per round, the order alternating between rounds;
    returns {name: {"sockbench": [samples], "peer": [samples]}}."""
    samples = {name: {"sockbench": [], "peer": []} for name, _, _ in measures}
    for round_index in range(rounds):
        for name, ours, theirs in measures:
            order = [("sockbench", ours), ("peer", theirs)]
            if round_index % 2:
                order.reverse()
            for side, measure in order:
                samples[name][side].append(measure())
        print(f"round {round_index + 1}/{rounds} done", file=sys.stderr)
    return samples


def metric_rows(samples, name, higher):
    """Per metric of one comparison in `interleaved`'s samples: (metric, ours, theirs, ratios,
    digits, unit), ratios oriented so that above 1.0 means ours did better (metrics in `higher`:
    ours/theirs; latency and CPU: theirs/ours)."""
    ours, theirs = samples[name]["sockbench"], samples[name]["peer"]
    for metric in ours[0]:
        a = [sample[metric] for sample in ours]
        b = [sample[metric] for sample in theirs]
        ratios = [x / y if metric in higher else y / x for x, y in zip(a, b)]
        digits = 2 if metric == "Gbit/s" else (1 if metric in ("p50", "p99") else 0)
        unit = metric + (" µs" if metric in ("p50", "p99") else "")
        yield metric, a, b, ratios, digits, unit


def print_header(header):
    """A Markdown table's header line and its rule."""
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
