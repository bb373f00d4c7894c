#!/usr/bin/env python3
"""Interleaved single-worker rounds of one throughput case, for telling a small
difference from the machine's noise.

Each round runs every named library once, in a process of its own (the bench
binary's `--bench --worker LIB CASE` mode, which prints the median time of its runs),
the order rotated each round. The ratio of each round pairs wsmachine's time with a
peer's time from the same round, so a slow stretch of the machine falls on both.
Prints each library's median time and, per peer, the median ratio (above 1:
wsmachine faster) with its quartiles.

Build first (`cargo bench --bench throughput --no-run`, or with
`--profile bench-lto`), then for example:

    python3 benches/throughput/rounds.py --profile bench-lto --rounds 20 \
        recv-text-128 tungstenite tokio-websockets
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys


def bench_binary(profile):
    candidates = [
        path
        for path in glob.glob(f"target/{profile}/deps/throughput-*")
        if os.access(path, os.X_OK) and not path.endswith(".d")
    ]
    if not candidates:
        sys.exit(f"no bench binary under target/{profile}: build it first")
    return max(candidates, key=os.path.getmtime)


def run_worker(binary, lib, case):
    out = subprocess.run(
        [binary, "--bench", "--worker", lib, case],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("result "))
    return float(line.split()[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="release")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("case")
    parser.add_argument("peers", nargs="+")
    args = parser.parse_args()

    binary = bench_binary(args.profile)
    libs = ["wsmachine"] + args.peers
    times = {lib: [] for lib in libs}
    for round_ in range(args.rounds):
        shift = round_ % len(libs)
        for lib in libs[shift:] + libs[:shift]:
            times[lib].append(run_worker(binary, lib, args.case))

    print(f"{args.case}, {args.rounds} rounds, {os.path.basename(binary)} ({args.profile})")
    for lib in libs:
        print(f"  {lib:18} median {statistics.median(times[lib]) * 1e3:8.3f} ms")
    for peer in args.peers:
        ratios = [p / w for w, p in zip(times["wsmachine"], times[peer])]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(
            f"  wsmachine / {peer}: {statistics.median(ratios):.2f}x"
            f" (quartiles {q1:.2f}-{q3:.2f})"
        )


if __name__ == "__main__":
    main()
