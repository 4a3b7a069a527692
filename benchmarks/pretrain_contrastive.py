"""Contrastive (CLIP-style) pre-training on ``glyphs-pretrain`` with caption swaps; prints a JSON record.

One run of :func:`nmtune.pretrain.pretrain_contrastive` (captions = Unicode class names, ``--noise`` = the
caption-swap rate), then zero-shot accuracy on the clean test split of the pre-training classes and on
``glyphs-id`` (62 ASCII classes whose names were never trained on: ``"DIGIT ZERO"``, ``"LATIN CAPITAL LETTER
A"``, ...), and the wall times.

``--holdout K`` keeps the test splits out of it entirely: K images per class of the *training* split are held out
and the "test" accuracy is measured on them (used to choose the optimiser and learning rate).

Usage: ``OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/pretrain_contrastive.py --noise 0.3 --epochs 10``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nmtune.datasets import load_dataset
from nmtune.pretrain import ContrastiveConfig, pretrain_contrastive, zero_shot_accuracy


def _holdout(train, k: int):
    """Split the training split: the first ``k`` images of each class are held out."""
    y = np.asarray(train.labels)
    rank = np.zeros(len(y), dtype=int)
    for c in np.unique(y):
        rank[y == c] = np.arange(int((y == c).sum()))
    held = rank < k
    x = np.asarray(train.inputs)
    return x[~held], y[~held], x[held], y[held]


def main() -> None:
    """Parse the options, train once and print (and optionally save) the result record."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="glyphs-pretrain:300")
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--stem-stride", type=int, default=2, choices=[1, 2])
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--text-encoder", default="glove-50")
    p.add_argument("--text-hidden", type=int, default=256, help="0: linear text tower")
    p.add_argument("--holdout", type=int, default=0, help="evaluate on K held-out training images per class")
    p.add_argument("--no-id", action="store_true", help="skip the zero-shot evaluation on glyphs-id")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    train = load_dataset(args.dataset, "train")
    if args.holdout:
        x_tr, y_tr, x_te, y_te = _holdout(train, args.holdout)
    else:
        test = load_dataset(args.dataset, "test")
        x_tr, y_tr, x_te, y_te = train.inputs, train.labels, test.inputs, test.labels
    data = (x_tr, y_tr, x_te, y_te, list(train.class_names))
    t_data = time.perf_counter() - t0
    extra = {k: v for k, v in (("lr", args.lr), ("weight_decay", args.weight_decay)) if v is not None}
    config = ContrastiveConfig(
        dataset=args.dataset,
        noise=args.noise,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        width=args.width,
        stem_stride=args.stem_stride,
        optimizer=args.optimizer,
        text_encoder=args.text_encoder,
        text_hidden=args.text_hidden or None,
        **extra,
    )
    ckpt = pretrain_contrastive(config, data=data, device="cpu", progress=False)
    record = {
        "dataset": args.dataset,
        "n_classes": len(train.class_names),
        "n_train": len(y_tr),
        "n_test": len(y_te),
        "evaluated_on": f"{args.holdout} held-out training images per class"
        if args.holdout
        else "test split",
        "config": ckpt["config"],
        "realised_noise_rate": ckpt["realised_noise_rate"],
        "effective_noise_rate": ckpt["effective_noise_rate"],
        "zero_shot_test_accuracy": ckpt["zero_shot_test_accuracy"],
        "noisy_train_accuracy": ckpt["noisy_train_accuracy"],
        "chance": 1.0 / len(train.class_names),
        "history": ckpt["history"],
        "render_s": t_data,
        "train_s": ckpt["wall_time_s"],
        "threads": args.threads,
    }
    if not args.no_id:
        t1 = time.perf_counter()
        ident = load_dataset("glyphs-id", "test")
        record["zero_shot_glyphs_id_accuracy"] = zero_shot_accuracy(
            ckpt, ident.inputs, ident.labels, list(ident.class_names)
        )
        record["glyphs_id_chance"] = 1.0 / len(ident.class_names)
        record["glyphs_id_s"] = time.perf_counter() - t1
    print(json.dumps(record, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
