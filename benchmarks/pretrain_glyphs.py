"""Pre-train a small ResNet on ``glyphs-pretrain`` with symmetric label noise and report clean test accuracy.

The labels of the training split are flipped at rate ``--noise`` (:func:`nmtune.noise.symmetric_noise`); the
accuracy is measured on the clean test split (12 fresh augmented samples per class). The trainer's own
augmentation is off: its horizontal flips would turn glyphs into other classes (``b``/``d``, ``ɘ``/``e``), and
the dataset is already augmented when rendered.

Usage: ``PYTHONPATH=src python benchmarks/pretrain_glyphs.py --noise 0.3 --epochs 3 --out results/glyphs_n30.json``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nmtune.datasets import load_dataset
from nmtune.pretrain import PretrainConfig, pretrain


def main() -> None:
    """Parse the options, train once and print (and optionally save) the result record."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="glyphs-pretrain")
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--stem-stride", type=int, default=1, choices=[1, 2])
    p.add_argument("--n-train", type=int, default=None, help="stratified subset of the training split")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    train, test = load_dataset(args.dataset, "train"), load_dataset(args.dataset, "test")
    data = (train.inputs, train.labels, test.inputs, test.labels, train.n_classes)
    t_data = time.perf_counter() - t0
    config = PretrainConfig(
        dataset=args.dataset,
        noise=args.noise,
        seed=args.seed,
        n_train=args.n_train,
        n_test=None,
        epochs=args.epochs,
        lr=args.lr,
        width=args.width,
        stem_stride=args.stem_stride,
        augment=False,
    )
    ckpt = pretrain(config, data=data, device="cpu", progress=False)
    record = {
        "dataset": args.dataset,
        "n_classes": train.n_classes,
        "n_train": len(train),
        "n_test": len(test),
        "config": ckpt["config"],
        "realised_noise_rate": ckpt["realised_noise_rate"],
        "clean_test_accuracy": ckpt["clean_test_accuracy"],
        "noisy_train_accuracy": ckpt["noisy_train_accuracy"],
        "history": ckpt["history"],
        "render_s": t_data,
        "train_s": ckpt["wall_time_s"],
        "threads": args.threads,
        "chance": 1.0 / train.n_classes,
        "label_checksum": int(np.asarray(train.labels).sum()),
    }
    print(json.dumps(record, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
