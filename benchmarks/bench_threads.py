"""NMTune's fit time with and without a busy process beside it, with the heads' automatic thread count.

A busy process is a child of this script that burns one core (a pure-Python loop) in a session of its own (as
another job would run; within one session Linux's autogroup scheduling would make it take the fit's own share)
for the duration of the timed fits. For each condition (no extra busy process, one busy process), NMTune
(defaults) is fitted ``--repeats`` times with ``n_threads=None`` (the cores free now) and, with ``--all-cores``,
also with ``n_threads=<all cores>`` (torch's default), interleaved; the median is printed, with the load average
and the thread count the heads chose. The target (docs/nmtune-cv.md) is a busy/idle ratio <= 1.5 with the
automatic count.

Run: ``python benchmarks/bench_threads.py [--n 1000] [--dim 128] [--repeats 3] [--all-cores]`` (do not set
OMP_NUM_THREADS: it caps both settings).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np


def _burn(stop) -> None:
    if hasattr(os, "setsid"):
        os.setsid()  # its own session, as another job's: Linux's autogroup scheduler shares CPU between sessions
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def _fit_seconds(X, y, n_threads) -> float:
    from nmtune import NMTune

    start = time.perf_counter()
    NMTune(random_state=0, device="cpu", n_threads=n_threads).fit(X, y)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="training rows")
    parser.add_argument("--dim", type=int, default=128, help="feature dimension")
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    parser.add_argument("--busy", type=int, default=1, help="busy processes beside the fit")
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="also time n_threads=<all cores> (torch's default; slow on a loaded machine: it oversubscribes)",
    )
    args = parser.parse_args()

    import torch

    from nmtune.heads.threads import available_cores, busy_cores, pick_threads

    rng = np.random.default_rng(0)
    centers = rng.normal(scale=2.0, size=(args.classes, args.dim))
    y = rng.integers(0, args.classes, size=args.n)
    X = (centers[y] + rng.normal(size=(args.n, args.dim))).astype(np.float32)
    cores = available_cores()
    settings = {"auto (n_threads=None)": None}
    if args.all_cores:
        settings[f"all cores (n_threads={cores})"] = cores
    print(f"NMTune defaults on {args.n} x {args.dim} features, {args.classes} classes; {cores} cores; torch "
          f"{torch.__version__}, torch threads {torch.get_num_threads()}")  # fmt: skip
    times = {(c, name): [] for c in ("idle", "busy") for name in settings}
    chosen, seen, loads = {}, {}, {}
    # conditions interleaved, so that the machine's own load drifts alike for both
    for repeat in range(args.repeats):
        for condition in ("idle", "busy") if repeat % 2 == 0 else ("busy", "idle"):
            stop, workers = mp.Event(), []
            if condition == "busy":
                workers = [mp.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.busy)]
                for w in workers:
                    w.start()
                time.sleep(1.5)  # let the scheduler see them
            try:
                chosen.setdefault(condition, []).append(pick_threads())
                seen.setdefault(condition, []).append(busy_cores())
                for name, n_threads in settings.items():
                    times[condition, name].append(_fit_seconds(X, y, n_threads))
                loads.setdefault(condition, []).append(os.getloadavg()[0])
            finally:
                stop.set()
                for w in workers:
                    w.join(timeout=5)
                    if w.is_alive():
                        w.terminate()
    results = {}
    for condition in ("idle", "busy"):
        extra = f" + {args.busy} busy process(es)" if condition == "busy" else " (no extra busy process)"
        print(f"\n{condition}{extra}: 1-min load average {min(loads[condition]):.2f}-{max(loads[condition]):.2f}; "
              f"other processes' runnable threads {', '.join(f'{b:.0f}' for b in seen[condition])}; automatic "
              f"count {', '.join(map(str, chosen[condition]))}")  # fmt: skip
        for name in settings:
            ts = times[condition, name]
            results[condition, name] = statistics.median(ts)
            print(
                f"  {name:28s} median {results[condition, name]:7.2f} s  ({', '.join(f'{t:.2f}' for t in ts)})"
            )
    print("\nbusy / idle (target <= 1.5 for auto):")
    for name in settings:
        print(f"  {name:28s} {results['busy', name] / results['idle', name]:5.2f}")
    if args.all_cores:
        names = list(settings)
        print(f"busy: all cores / auto  {results['busy', names[1]] / results['busy', names[0]]:5.2f}")


if __name__ == "__main__":
    main()
