"""Time the main job `nmtune demo` cold (empty feature cache and store) and warm (cached features).

Usage: ``.venv/bin/python benchmarks/bench_demo.py [--cold]``. ``--cold`` points NMTUNE_CACHE_DIR at a fresh
temporary folder so every feature is encoded; without it the user's cache is used (warm when the demo ran
before). The store is always fresh, so every run is fitted again. Targets (2 CPU cores): <= 600 s cold,
<= 60 s warm.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true", help="use an empty feature cache")
    ap.add_argument("--n-jobs", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            os.environ["NMTUNE_CACHE_DIR"] = os.path.join(tmp, "cache")
        from nmtune.apps.run import run_demo

        t0 = time.perf_counter()
        out = run_demo(os.path.join(tmp, "demo"), n_jobs=args.n_jobs, progress=False)
        seconds = time.perf_counter() - t0
        g = out["grid"]
        print(
            f"{'cold' if args.cold else 'warm'} demo: {seconds:.1f} s for {g.n_done} runs "
            f"({g.n_failed} failed) on {os.cpu_count()} CPU cores"
        )


if __name__ == "__main__":
    main()
