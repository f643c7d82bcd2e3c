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
