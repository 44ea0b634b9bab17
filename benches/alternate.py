#!/usr/bin/env python3
"""Whole-process timings of two or more commands, runs alternating.

    python3 benches/alternate.py PAIRS 'kpipe-before render …' 'kpipe-now render …'

This project's machine is a shared VM whose speed swings by ±20% from one minute to the next,
so two hyperfine runs a minute apart can disagree more than the builds do. Here the commands
take turns (A B, then B A, …), so both see the same minutes. Each command's stdout goes to
/dev/null; the first 10 rounds are warm-up. Prints the median, mean and 10th/90th percentiles
in milliseconds (spawn to exit, measured from Python, so about 0.3 ms more than hyperfine -N).
"""
import os
import statistics
import sys
import time


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    cmds = [c.split() for c in sys.argv[2:]]
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = [[] for _ in cmds]
    warmup = 10
    for i in range(rounds + warmup):
        order = range(len(cmds)) if i % 2 == 0 else reversed(range(len(cmds)))
        for k in order:
            start = time.perf_counter()
            pid = os.posix_spawnp(
                cmds[k][0], cmds[k], os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)],
            )
            os.waitpid(pid, 0)
            if i >= warmup:
                times[k].append((time.perf_counter() - start) * 1000)
    for cmd, t in zip(cmds, times):
        t.sort()
        print(
            f"{' '.join(cmd)}\n  median {statistics.median(t):.3f} ms, mean {statistics.mean(t):.3f},"
            f" p10 {t[len(t) // 10]:.3f}, p90 {t[9 * len(t) // 10]:.3f} ({len(t)} runs)"
        )


if __name__ == "__main__":
    main()
