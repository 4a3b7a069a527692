"""NMTuneCV's fit time beside scikit-learn's ``LogisticRegressionCV`` in the same run, with the load average.

Issue 24's cost target: the default NMTuneCV fits 1,000 x 384 features (6 classes) in <= 60 s on the shared
2-core machine with another job beside it. The features are a fixed Gaussian mixture (seed 0). Printed: the
1-minute load average before and after each fit, each method's wall time, and NMTuneCV's time by candidate
(``cv_results_["mean_fit_time"]`` x K, plus the refit), which says where the time goes. The winner here is a
logistic regression, whose refit is free; the line "worst case" adds what refitting the dearest winner
(``nmtune+lp``: one NMTune and one linear-probe fit on all N rows) costs, timed in the same run.

``--profile`` then profiles one NMTune fit and one MLP-tuning fit (the same network without the regulariser) on
a fold's worth of rows, N (K-1)/K, with ``torch.profiler``: wall time per optimiser step split into the
eigen-decomposition of the batch Gram matrix (the singular value term), matrix products (the MLP's layers and
their backward, the Gram matrix and the regulariser's gradient), the fused AdamW update, the other torch
operators, and what is left (Python and dispatch).

``--kernels`` times the kernels an NMTune step is made of, alone, at the heads' thread count: the eigen-decomposition
of a 256 x 256 Gram matrix (torch float32 and float64, scipy's ``evd`` and ``evr`` drivers), the products, the
fused regulariser's forward and backward, and the K = 5 folds batched (one ``eigh`` / ``bmm`` call) against 5
calls: what batching the folds in one model could save.

Run: ``python benchmarks/bench_nmtune_cv_cost.py [--n 1000] [--dim 384] [--heads nmtune-cv nmtune-cv-ps]
[--busy 1] [--profile] [--kernels] [--skip-fits]`` (``--busy 1`` adds one busy process in a session of its own, as
benchmarks/bench_threads.py does; on a machine that already runs other jobs it is not needed).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
import warnings

import numpy as np


def _burn(stop) -> None:
    if hasattr(os, "setsid"):
        os.setsid()  # its own session, as another job's
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _data(n: int, dim: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 0.35
    y = np.arange(n) % classes
    X = (centres[y] + rng.normal(size=(n, dim))).astype(np.float32)
    return X, y


def _step_profile(name: str, X, y, n_threads: int, **params) -> dict:
    """Print one fit's wall time per optimiser step, split by kind of operator (torch.profiler); returns the split.

    ``params`` override the head's defaults (the benchmark passes none).
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    from nmtune.heads import create_head

    create_head(name, random_state=0, device="cpu", n_threads=n_threads, min_steps=20).fit(X, y)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        head = create_head(name, random_state=0, device="cpu", n_threads=n_threads, **params).fit(X, y)
        wall = time.perf_counter() - t0
    batch = head.batch_size
    steps = head.n_epochs_ * -(-X.shape[0] // batch)
    parts = {"eigh (singular value term)": 0.0, "matrix products": 0.0, "AdamW update": 0.0}
    ops = 0.0
    for e in prof.key_averages():
        if not e.key.startswith("aten::"):
            continue
        s = e.self_cpu_time_total / 1e6
        ops += s
        if "eigh" in e.key:
            parts["eigh (singular value term)"] += s
        elif e.key in ("aten::mm", "aten::addmm", "aten::bmm"):
            parts["matrix products"] += s
        elif "adam" in e.key:
            parts["AdamW update"] += s
    parts["other torch operators"] = ops - sum(parts.values())
    parts["Python and dispatch"] = wall - ops
    print(f"   {name} on {X.shape[0]} rows ({torch.get_num_threads()} thread(s)): {wall:.2f} s for {steps} steps "
          f"({head.n_epochs_} epochs of {-(-X.shape[0] // batch)} batches of <= {batch}) = "
          f"{1e3 * wall / steps:.2f} ms/step   load {_load()}")  # fmt: skip
    for k, v in parts.items():
        print(f"      {k:28s} {v:6.2f} s  {100 * v / wall:5.1f} %  {1e3 * v / steps:5.2f} ms/step")
    return {"wall": wall, "steps": steps, **parts}


def _kernels(dim: int, n_threads: int, batch: int = 256, k: int = 5, repeats: int = 100) -> dict:
    """Print and return milliseconds per call of the kernels of one NMTune step (batch x dim), alone."""
    import scipy.linalg
    import torch

    from nmtune.heads.threads import thread_limit
    from nmtune.losses import nmtune_regulariser

    def ms(fn) -> float:
        for _ in range(5):
            fn()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        return 1e3 * (time.perf_counter() - t0) / repeats

    def regulariser():
        zz = z.clone().requires_grad_()
        nmtune_regulariser(f, zz, (0.01, 0.01, 0.01), 1)[0].backward()

    g = torch.Generator().manual_seed(0)
    z, f = torch.randn(batch, dim, generator=g), torch.randn(batch, dim, generator=g)
    w = torch.randn(dim, dim, generator=g)
    gram = z @ z.T
    zs, ws = torch.randn(k, batch, dim, generator=g), torch.randn(k, dim, dim, generator=g)
    grams = zs @ zs.transpose(1, 2)
    with thread_limit(n_threads):
        times = {
            f"torch eigh {batch}x{batch} float32": ms(lambda: torch.linalg.eigh(gram)),
            f"torch eigh {batch}x{batch} float64": ms(lambda: torch.linalg.eigh(gram.double())),
            f"scipy eigh {batch}x{batch} float32, evd": ms(
                lambda: scipy.linalg.eigh(gram.numpy(), driver="evd", check_finite=False)
            ),
            f"scipy eigh {batch}x{batch} float32, evr": ms(
                lambda: scipy.linalg.eigh(gram.numpy(), driver="evr", check_finite=False)
            ),
            f"Gram product {batch}x{dim}x{batch}": ms(lambda: z @ z.T),
            f"layer product {batch}x{dim}x{dim}": ms(lambda: z @ w),
            "fused regulariser forward + backward": ms(regulariser),
            f"eigh of {k} Gram matrices, one batched call": ms(lambda: torch.linalg.eigh(grams)),
            f"eigh of {k} Gram matrices, {k} calls": ms(lambda: [torch.linalg.eigh(m) for m in grams]),
            f"{k} layer products, one bmm": ms(lambda: torch.bmm(zs, ws)),
            f"{k} layer products, {k} calls": ms(lambda: [a @ b for a, b in zip(zs, ws)]),
        }
    print(f"kernels of one NMTune step ({n_threads} thread(s), ms per call, mean of {repeats}):")
    for name, t in times.items():
        print(f"   {name:44s} {t:7.2f} ms")
    print(f"   load {_load()}")
    return times


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--heads", nargs="+", default=["nmtune-cv"], help="registry heads to time")
    parser.add_argument("--busy", type=int, default=0, help="extra busy processes beside the fits")
    parser.add_argument("--profile", action="store_true", help="profile one NMTune and one MLP fit per step")
    parser.add_argument("--kernels", action="store_true", help="time the kernels of one NMTune step alone")
    parser.add_argument("--skip-fits", action="store_true", help="no NMTuneCV / LogisticRegressionCV fits")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # scikit-learn's notices about future defaults

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nmtune.heads import create_head
    from nmtune.heads.logreg import LOGREG_CS
    from nmtune.heads.threads import pick_threads

    X, y = _data(args.n, args.dim, args.classes)
    stop = mp.Event()
    busy = [mp.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    try:
        print(f"{args.n} x {args.dim} features, {args.classes} classes; {args.busy} extra busy process(es); "
              f"cores {os.cpu_count()}, threads the heads pick now: {pick_threads(None)}")  # fmt: skip
        print(f"load average (1, 5, 15 min) at start: {_load()}")
        if not args.skip_fits:
            t0 = time.perf_counter()
            make_pipeline(
                StandardScaler(), LogisticRegressionCV(Cs=list(LOGREG_CS), cv=5, max_iter=2000)
            ).fit(X, y)
            lr_s = time.perf_counter() - t0
            print(f"LogisticRegressionCV (8 Cs, 5 folds): {lr_s:7.1f} s   load {_load()}")
            for name in args.heads:
                t0 = time.perf_counter()
                clf = create_head(name, random_state=0, device="cpu").fit(X, y)
                s = time.perf_counter() - t0
                print(f"{name}: {s:7.1f} s = {s / lr_s:.1f} x LogisticRegressionCV   load {_load()}   "
                      f"picked {clf.best_params_['candidate']}, K = {clf.n_splits_}")  # fmt: skip
                res = clf.cv_results_
                fitted = [c for c in clf.candidates_ if not c.members]
                index = {c.name: i for i, c in enumerate(clf.candidates_)}
                parts = sorted(
                    ((c.name, float(res["mean_fit_time"][index[c.name]]) * clf.n_splits_) for c in fitted),
                    key=lambda t: -t[1],
                )
                print(
                    "   fold fits by candidate: " + ", ".join(f"{n} {t:.1f} s" for n, t in parts if t >= 0.05)
                )
                print(f"   refit of the winner: {clf.refit_time_:.1f} s")
                t0 = time.perf_counter()
                for dear in ("nmtune", "lp"):
                    create_head(dear, random_state=0, device="cpu").fit(X, y)
                dear_s = time.perf_counter() - t0
                worst = s - clf.refit_time_ + dear_s
                print(f"   worst case (nmtune+lp wins: NMTune and LP refitted on all {args.n} rows, {dear_s:.1f} s): "
                      f"{worst:.1f} s = {worst / lr_s:.1f} x LogisticRegressionCV   load {_load()}")  # fmt: skip
        if args.profile:
            k = 5
            rows = args.n * (k - 1) // k
            print(f"per-step profile of one fold fit ({rows} rows = N (K-1)/K, K = {k}):")
            for name in ("nmtune", "mlp"):
                _step_profile(name, X[:rows], y[:rows], pick_threads(None))
        if args.kernels:
            _kernels(args.dim, pick_threads(None))
    finally:
        stop.set()
        for p in busy:
            p.join(timeout=5)


if __name__ == "__main__":
    main()
