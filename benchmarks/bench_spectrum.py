"""Whole-split singular values: nmtune against numpy, scipy, torch and scikit-learn, side by side.

For each size (N x D, float32 features with a power-law spectrum and a mean offset, like encoder outputs) every
method runs in its own subprocess on the same ``.npy`` file, loaded in memory (or memory-mapped for the
``memmap`` row). Columns: wall time, CPU time (user + sys, all threads), peak extra anonymous memory during
the call (RssAnon sampled every 5 ms, above what the loaded input already holds; a memmap's page cache is not
counted), the largest error of any singular value against the float64 ``numpy.linalg.svd`` reference divided
by sigma_1, the largest relative error of SVE / LSVR / RankMe, and the speed-up over that reference.

The float64 numpy reference is computed once per (size, seed, rank, center, threads) and cached in ``--cache-dir``
(its time is reported from that run, marked ``cached``). ``--skip-slow-references`` leaves out the scipy,
torch and scikit-learn references where N * D * min(N, D) > 1e11 (at 100k x 2048 each takes minutes).
scikit-learn's ``TruncatedSVD`` can only return ``min(N, D) - 1`` values; its errors are over those.

Run: ``python benchmarks/bench_spectrum.py [--quick] [--sizes 10000x384,100000x768,100000x2048]
[--skip-slow-references] [--rank R] [--center] [--threads T]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DEFAULT_SIZES = "10000x384,100000x768,100000x2048"
QUICK_SIZES = "2000x128,10000x384"
REFERENCES = ("scipy.linalg.svdvals", "torch.linalg.svdvals", "sklearn TruncatedSVD")
SLOW = 1e11  # N * D * min(N, D) above which --skip-slow-references drops REFERENCES
THREADS = [None]  # --threads, for the child processes


def make_features(path, n, d, seed, rank):
    """Write float32 (n, d) features to ``path`` (.npy), generated in chunks of rows."""
    r = np.random.default_rng(seed)
    scales = (np.arange(1, d + 1) ** -0.75).astype(np.float32)
    offset = r.normal(size=d).astype(np.float32) * 0.5
    mix = None if rank is None else r.normal(size=(rank, d)).astype(np.float32) / np.sqrt(rank)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for a in range(0, n, 8192):
        b = min(n, a + 8192)
        if mix is None:
            out[a:b] = r.standard_normal((b - a, d), dtype=np.float32) * scales + offset
        else:
            out[a:b] = r.standard_normal((b - a, rank), dtype=np.float32) @ mix + offset
    out.flush()
    del out


def _rss_anon_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def _compute(method, X, center):
    if method.startswith("nmtune"):
        from nmtune.spectrum import singular_values

        return singular_values(X, center=center)
    A = X - X.mean(axis=0, dtype=np.float64).astype(X.dtype) if center else X
    if method == "numpy.linalg.svd":
        return np.linalg.svd(np.asarray(A, dtype=np.float64), compute_uv=False)
    if method == "scipy.linalg.svdvals":
        from scipy.linalg import svdvals

        return svdvals(A, check_finite=False)
    if method == "torch.linalg.svdvals":
        import torch

        return torch.linalg.svdvals(torch.from_numpy(np.ascontiguousarray(A))).numpy()
    if method == "sklearn TruncatedSVD":
        from sklearn.decomposition import TruncatedSVD

        return TruncatedSVD(n_components=min(A.shape) - 1, random_state=0).fit(A).singular_values_
    raise ValueError(f"unknown method {method!r}")


def run_case(args):
    """Child process: time one method on one file; print a JSON line, save the values next to the input."""
    X = np.load(args.case_file, mmap_mode="r" if args.case_method == "nmtune (memmap)" else None)
    # imports, lazy imports inside the call and BLAS thread start-up are not part of the timing
    _compute(args.case_method, np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32), False)
    base, peak, done = _rss_anon_kib(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_anon_kib())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    s = _compute(args.case_method, X, args.center)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_anon_kib())
    np.save(args.case_out, np.sort(np.asarray(s, dtype=np.float64))[::-1])
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": (peak[0] - base) / 1024}))


def _child(method, file, out, center):
    cmd = [
        sys.executable,
        __file__,
        "--case-method",
        method,
        "--case-file",
        str(file),
        "--case-out",
        str(out),
    ]
    cmd += ["--center"] if center else []
    env = dict(os.environ)
    if THREADS[0]:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(THREADS[0])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _metrics(s):
    from nmtune.spectrum import metrics_from_singular_values

    m = metrics_from_singular_values(s)
    return np.array([m["sve"], m["lsvr"], m["rankme"]])


def bench_size(n, d, args, tmp):
    file = Path(tmp) / f"X_{n}x{d}.npy"
    make_features(file, n, d, args.seed, args.rank)
    key = f"{n}x{d}_seed{args.seed}_rank{args.rank}_center{int(args.center)}_threads{args.threads}"
    ref_path, ref_meta = Path(args.cache_dir) / f"{key}.npy", Path(args.cache_dir) / f"{key}.json"
    if ref_path.exists() and ref_meta.exists():
        ref, ref_row = np.load(ref_path), {**json.loads(ref_meta.read_text()), "note": "cached"}
    else:
        ref_row = _child("numpy.linalg.svd", file, ref_path, args.center)
        ref, ref_row["note"] = np.load(ref_path), ""
        ref_meta.write_text(json.dumps(ref_row))
    methods = ["nmtune (in memory)", "nmtune (memmap)"]
    if not (args.skip_slow_references and n * d * min(n, d) > SLOW):
        methods += list(REFERENCES)
    rows = [("numpy.linalg.svd (float64)", ref_row, 0.0, 0.0)]
    m_ref = _metrics(ref)
    for method in methods:
        out = Path(tmp) / "s.npy"
        row = {**_child(method, file, out, args.center), "note": ""}
        s = np.load(out)
        err = float(np.max(np.abs(s - ref[: s.size])) / ref[0])
        m_err = float(np.max(np.abs(_metrics(s) - m_ref) / np.abs(m_ref)))
        rows.append((method, row, err, m_err))
    file.unlink()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help=f"comma-separated NxD (default {DEFAULT_SIZES})")
    ap.add_argument("--quick", action="store_true", help=f"small sizes only ({QUICK_SIZES})")
    ap.add_argument("--skip-slow-references", action="store_true")
    ap.add_argument("--rank", type=int, default=None, help="generate rank-R features (default: full rank)")
    ap.add_argument("--center", action="store_true", help="centre the columns (every method)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads per method (default: all)")
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "nmtune-bench-spectrum"))
    ap.add_argument("--case-method", help=argparse.SUPPRESS)
    ap.add_argument("--case-file", help=argparse.SUPPRESS)
    ap.add_argument("--case-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case_method:
        return run_case(args)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    try:
        shapes = [tuple(int(v) for v in size.lower().split("x")) for size in sizes.split(",")]
    except ValueError:
        ap.error(f"--sizes takes comma-separated NxD pairs such as 10000x384; received {sizes!r}")
    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    THREADS[0] = args.threads
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start; float32 input,")
    print(
        f"threads {args.threads or 'all'}, rank {args.rank or 'full'}, center={args.center}; errors against"
    )
    print("float64 numpy.linalg.svd (its run is cached per size, seed, rank, center, threads)")
    head = f"{'N x D':>13} {'method':<28} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'max err/s1':>10}"
    print(head + f" {'metric err':>10} {'vs numpy':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n, d in shapes:
            rows = bench_size(n, d, args, tmp)
            t_ref = rows[0][1]["wall"]
            for method, row, err, m_err in rows:
                line = (
                    f"{f'{n} x {d}':>13} {method:<28} {row['wall']:8.2f} {row['cpu']:8.2f} "
                    f"{row['peak_mib']:9.0f} {err:10.1e} {m_err:10.1e} {t_ref / row['wall']:8.1f}x {row['note']}"
                )
                print(line.rstrip(), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
