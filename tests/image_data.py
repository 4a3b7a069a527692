"""Colour glyph images made at test time (shared by the pre-training and dataset tests)."""

from __future__ import annotations

import numpy as np


def colour_glyphs(n_classes: int = 6, per_class: int = 12, test_per_class: int = 4, seed: int = 0):
    """Glyphs of ``glyphs-pretrain:12`` painted in random colours: uint8 (N, 32, 32, 3) per split + names."""
    from nmtune.datasets import load_dataset

    rng = np.random.default_rng(seed)
    out = {}
    for split, per in (("train", per_class), ("test", test_per_class)):
        ds = load_dataset("glyphs-pretrain:12", split)
        rows = np.concatenate([np.flatnonzero(ds.labels == k)[:per] for k in range(n_classes)])
        ink = ds.inputs[rows][..., None]  # (N, 32, 32, 1) in [0, 1]
        fg = rng.integers(0, 256, (len(rows), 1, 1, 3))
        bg = rng.integers(0, 256, (len(rows), 1, 1, 3))
        images = np.rint(ink * fg + (1 - ink) * bg).astype(np.uint8)
        out[split] = (images, ds.labels[rows].astype(np.int64))
    return out, list(ds.class_names[:n_classes])


def write_folder(root, data, names, test_dir="val"):
    """``root/train/<class>/<i>.png`` and ``root/<test_dir>/<class>/<i>.png``."""
    from PIL import Image

    for split, (images, labels) in data.items():
        for i, (img, y) in enumerate(zip(images, labels)):
            folder = root / ("train" if split == "train" else test_dir) / names[y]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root
