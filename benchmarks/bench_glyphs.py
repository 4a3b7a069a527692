"""Time the glyph datasets: class selection (draws every candidate glyph once) and each split's rendering.

Usage: ``OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_glyphs.py`` (one core: ``taskset -c 0``).
``--probe`` instead fits a raw-pixel logistic regression on ``glyphs-id`` train and scores it on the ID test
split and each held-out family (the size of the domain shift without any pre-training).
"""

from __future__ import annotations

import os
import time

from nmtune.datasets import load_dataset
from nmtune.datasets.glyphs import glyph_classes


def main() -> None:
    """Print the seconds each step takes, in a fresh process (nothing memoised yet)."""
    t0, c0 = time.perf_counter(), time.process_time()
    classes = glyph_classes()
    print(
        f"class selection: {time.perf_counter() - t0:.1f} s (CPU {time.process_time() - c0:.1f} s) "
        f"({len(classes.pretrain)} pre-training, {len(classes.downstream)} downstream, "
        f"{len(classes.dropped)} dropped)"
    )
    total = time.perf_counter() - t0
    for name, split in [
        ("glyphs-pretrain", "train"),
        ("glyphs-pretrain", "test"),
        ("glyphs-id", "train"),
        ("glyphs-id", "test"),
        ("glyphs-ood:stix", "test"),
        ("glyphs-ood:cm", "test"),
    ]:
        t, c = time.perf_counter(), time.process_time()
        ds = load_dataset(name, split)
        dt = time.perf_counter() - t
        total += dt
        cpu = time.process_time() - c
        print(f"{name} {split}: {ds.inputs.shape} {ds.n_classes} classes, {dt:.1f} s (CPU {cpu:.1f} s)")
    print(
        f"total {total:.1f} s (CPU {time.process_time() - c0:.1f} s); "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load {os.getloadavg()}"
    )


def probe() -> None:
    """Raw-pixel linear probe: glyphs-id train -> glyphs-id test and glyphs-ood:<family> test."""
    from sklearn.linear_model import LogisticRegression

    from nmtune.datasets.glyphs import HELD_OUT_FAMILIES

    train = load_dataset("glyphs-id", "train")
    clf = LogisticRegression(max_iter=1000).fit(train.inputs.reshape(len(train), -1), train.labels)
    for name in ["glyphs-id"] + [f"glyphs-ood:{f}" for f in HELD_OUT_FAMILIES]:
        test = load_dataset(name, "test")
        acc = clf.score(test.inputs.reshape(len(test), -1), test.labels)
        print(f"{name} test: accuracy {acc:.3f} (chance {1 / test.n_classes:.3f})")


if __name__ == "__main__":
    import sys

    probe() if "--probe" in sys.argv[1:] else main()
