"""Time LP, MLP tuning and NMTune per epoch side by side; print the NMTune / MLP ratio.

Also times a direct NMTune step (full SVD per batch and the D x D covariance) as the baseline the fast path
replaces, the B x B eigen-solve alone, and the eigen-solve with the two B x B x D products any exact Gram-based
regulariser needs: ``(MLP+eigh+products)/MLP`` is the ratio such a regulariser cannot go below.
Run: ``python benchmarks/bench_heads.py [--dims 384 768 2048] [--device cpu|cuda]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nmtune import LinearProbe, MLPTuning, NMTune


def direct_regulariser(f, z, weights, top_k):
    """The straightforward implementation: D x D covariance and torch.linalg.svdvals on every batch."""
    b, d = z.shape
    mse = torch.nn.functional.mse_loss(
        torch.nn.functional.normalize(z, dim=1), torch.nn.functional.normalize(f, dim=1)
    )
    zc = z - z.mean(0)
    cov = zc.T @ zc / (b - 1)
    cov_l = (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d
    s = torch.linalg.svdvals(z)
    svd = -(s[:top_k].mean()) / s.sum()
    return weights[0] * mse + weights[1] * cov_l + weights[2] * svd, {}


class DirectNMTune(NMTune):
    def _loss_fn(self):
        weights = tuple(self.lam * w for w in (self.mse_weight, self.cov_weight, self.svd_weight))

        def loss(model, f, y):
            logits, z = model(f)
            ce = torch.nn.functional.cross_entropy(logits, y)
            reg, _ = direct_regulariser(f, z, weights, self.svd_top_k)
            return ce + reg, {}

        return loss


def seconds_per_epoch(est, X, y, epochs, device):
    est.set_params(epochs=epochs, device=device, random_state=0)
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    est.fit(X, y)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / epochs


def floor_seconds_per_epoch(d, n, device, repeats=20):
    """Per-epoch cost of the work no exact per-batch regulariser can skip, as (eigh alone, eigh + products).

    The B x B symmetric eigen-solve, and with it the two B x B x D products (the Gram matrix ``z zᵀ`` forward and
    one ``M z`` back), times the number of steps in an epoch.
    """
    z = torch.randn(256, d, device=device)
    gram = z @ z.T

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def timed(fn):
        fn()
        sync()
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync()
        return (time.perf_counter() - t) / repeats * -(-n // 256)

    eigh = timed(lambda: torch.linalg.eigh(gram))
    with_products = timed(lambda: torch.linalg.eigh(z @ z.T)[1] @ z)
    return eigh, with_products


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 768, 2048])
    parser.add_argument("--n", type=int, default=4096, help="training rows (N / 256 steps per epoch)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    print(
        f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} B=256 N={args.n}"
    )
    print(
        f"{'D':>6} {'LP s/ep':>9} {'MLP s/ep':>9} {'NMTune s/ep':>12} {'direct s/ep':>12} "
        f"{'NMTune/MLP':>11} {'direct/MLP':>11} {'eigh s/ep':>10} {'(MLP+eigh)/MLP':>15} "
        f"{'(MLP+eigh+products)/MLP':>24}"
    )
    for d in args.dims:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(args.n, d)).astype(np.float32)
        y = rng.integers(0, 10, args.n)
        heads = {
            "lp": LinearProbe(),
            "mlp": MLPTuning(),
            "nmtune": NMTune(),
            "direct": DirectNMTune(),
        }
        for est in heads.values():  # warm-up
            seconds_per_epoch(est, X[:512], y[:512], 1, args.device)
        times = {k: [] for k in heads}
        for _ in range(args.repeats):  # interleave so machine noise hits every head alike
            for k, est in heads.items():
                times[k].append(seconds_per_epoch(est, X, y, args.epochs, args.device))
        med = {k: float(np.median(v)) for k, v in times.items()}
        eigh, floor = floor_seconds_per_epoch(d, args.n, args.device)
        print(
            f"{d:>6} {med['lp']:>9.3f} {med['mlp']:>9.3f} {med['nmtune']:>12.3f} {med['direct']:>12.3f} "
            f"{med['nmtune'] / med['mlp']:>11.2f} {med['direct'] / med['mlp']:>11.2f} {eigh:>10.3f} "
            f"{(med['mlp'] + eigh) / med['mlp']:>15.2f} {(med['mlp'] + floor) / med['mlp']:>24.2f}"
        )


if __name__ == "__main__":
    main()
