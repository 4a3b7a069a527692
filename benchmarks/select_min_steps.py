"""Choose the heads' default ``min_steps`` on validation splits of *training* data only.

For each source (encoder x the training split of one task of a suite), training subsets of N rows are drawn
(stratified), and each head (LP, MLP tuning, NMTune; paper defaults, batch 256) is fitted with several
``min_steps`` values and scored on a disjoint stratified validation split of the same training data. No
evaluation (ID test or OOD) split is read.

Rule (documented in docs/protocol.md): for each head, the smallest ``min_steps`` whose mean validation accuracy
(over sources, sizes and seeds) is within 0.5 points of the best value's is that head's default.

Usage: python benchmarks/select_min_steps.py [--sources NAME ...] [--sizes 100 1000] [--steps 0 250 1000 3000]
       [--seeds 0 1]
Sources: glove-r8, glove-20ng, minilm-r8, minilm-20ng, pixels-digits (scikit-learn's 8x8 digits as 64 raw pixel
features, an image source that is cheap on CPU), efficientnet-digits (1280-d features: slow on 2 CPU cores).
``--checkpoint PATH`` adds the training split of ``glyphs-id`` encoded by a pre-trained backbone (the noisy
pre-training study's downstream glyph task); ``--batch-size`` sets the heads' batch (the study uses 128).
"""

import argparse
import time
import warnings

import numpy as np

from nmtune.datasets import stratified_fraction
from nmtune.heads import LinearProbe, MLPTuning, NMTune
from nmtune.protocol import example_task
from nmtune.protocol.feature_tasks import suite_feature_tasks

SOURCES = {  # name: (encoder, suite, task); training splits only
    "glove-r8": ("glove-50", "r8", "reuters-r8"),
    "glove-20ng": ("glove-50", "20ng-subgroups", None),
    "minilm-r8": ("minilm", "r8", "reuters-r8"),
    "minilm-20ng": ("minilm", "20ng-subgroups", None),
    "pixels-digits": ("pixels", "sk-digits", None),
    "efficientnet-digits": ("efficientnet-lite0", "digits", None),
}
DEFAULT_SOURCES = ("glove-r8", "glove-20ng", "minilm-r8", "minilm-20ng", "pixels-digits")
HEADS = {"lp": LinearProbe, "mlp": MLPTuning, "nmtune": NMTune}


def training_data(encoder, suite, task, cap):
    if encoder.startswith("pretrained:"):  # the study's glyph task, encoded by a pre-trained backbone
        from nmtune.datasets import load_dataset, stratified_subset
        from nmtune.encoders import get_encoder

        ds = load_dataset(suite, "train")
        idx = stratified_subset(ds.labels, cap, 0)
        X = get_encoder(encoder).encode(np.asarray(ds.inputs)[idx], progress=False)
        return suite, np.asarray(X, dtype=np.float32), np.asarray(ds.labels)[idx]
    if encoder == "pixels":  # scikit-learn's digits: the training split of the protocol's example task
        t = example_task(n_train=min(cap, 1597))
        return t.name, np.asarray(t.X_train, dtype=np.float32), np.asarray(t.y_train)
    tasks = suite_feature_tasks(encoder, suite, max_train=cap, max_eval=1, progress=False)
    t = next(t for t in tasks if task is None or t.name == task)
    return t.name, np.asarray(t.X_train, dtype=np.float32), np.asarray(t.y_train)


def split(y, n_fit, n_val, seed):
    """Disjoint stratified index sets of about n_fit and n_val rows of y."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    fit_idx = perm[stratified_fraction(y[perm], min(n_fit / len(y), 1.0), random_state=seed)]
    rest = np.setdiff1d(np.arange(len(y)), fit_idx)
    val_idx = rest[stratified_fraction(y[rest], min(n_val / len(rest), 1.0), random_state=seed)]
    return fit_idx, val_idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", nargs="*", choices=sorted(SOURCES), default=list(DEFAULT_SOURCES))
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 250, 1000, 3000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--n-val", type=int, default=500)
    ap.add_argument("--cap", type=int, default=1600, help="rows of each training split encoded")
    ap.add_argument("--tolerance", type=float, default=0.5, help="points below the best still accepted")
    ap.add_argument(
        "--checkpoint", action="append", default=[], help="pre-trained backbone: glyphs-id source"
    )
    ap.add_argument("--batch-size", type=int, default=256, help="heads' mini-batch (paper: 256)")
    args = ap.parse_args()
    sources = [SOURCES[name] for name in args.sources] + [
        (f"pretrained:{path}", "glyphs-id", None) for path in args.checkpoint
    ]
    warnings.filterwarnings("ignore")
    rows = []
    t0 = time.perf_counter()
    for encoder, suite, task in sources:
        name, X, y = training_data(encoder, suite, task, args.cap)
        for n in args.sizes:
            for seed in args.seeds:
                fit_idx, val_idx = split(y, n, args.n_val, seed)
                for head, cls in HEADS.items():
                    for steps in args.steps:
                        est = cls(
                            min_steps=steps, batch_size=args.batch_size, random_state=seed, device="cpu"
                        )
                        est.fit(X[fit_idx], y[fit_idx])
                        acc = 100.0 * est.score(X[val_idx], y[val_idx])
                        rows.append((encoder, name, n, seed, head, steps, acc, est.n_epochs_))
                        print(
                            f"{encoder[-18:]:<18} {name:<22} N={len(fit_idx):<5} seed={seed} {head:<7} "
                            f"min_steps={steps:<5} epochs={est.n_epochs_:<4} val acc {acc:6.2f}  "
                            f"[{time.perf_counter() - t0:.0f} s]",
                            flush=True,
                        )
    print("\nmean validation accuracy (%) over sources, sizes and seeds")
    print("head     " + "  ".join(f"{s:>8}" for s in args.steps) + "   chosen")
    chosen = {}
    for head in HEADS:
        means = [np.mean([r[6] for r in rows if r[4] == head and r[5] == s]) for s in args.steps]
        best = max(means)
        chosen[head] = next(s for s, m in zip(args.steps, means) if m >= best - args.tolerance)
        print(f"{head:<8} " + "  ".join(f"{m:8.2f}" for m in means) + f"   {chosen[head]}")
    print("\nper size (rows: head, size; columns: min_steps)")
    for head in HEADS:
        for n in args.sizes:
            means = [
                np.mean([r[6] for r in rows if r[4] == head and r[5] == s and r[2] == n]) for s in args.steps
            ]
            print(f"{head:<8} N={n:<6} " + "  ".join(f"{m:8.2f}" for m in means))
    print(
        f"\ndefault min_steps = {max(chosen.values())} (largest of the heads' choices); "
        f"{time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
