"""Streamed image batches: a map-style torch ``Dataset`` over an image source, decoded in DataLoader workers.

Shape convention: B images per batch, C channels, S x S pixels. Items are ``(image, position)``: a ``uint8``
tensor ``(C, S, S)`` and the position of the item in ``rows`` (the caller keeps the labels and looks them up
by position, so label noise is applied by sample index in the training process, never in a worker).

Training items are keyed ``(position, epoch)``: the random resized crop and flip of an item are drawn from
``numpy.random.default_rng((seed, epoch, position))``, so they do not depend on the number of workers or
processes, on the order in which items are read, or on a restart.
"""

from __future__ import annotations

import numpy as np
import torch

from nmtune.datasets.image_sources import ImageSource
from nmtune.datasets.image_transforms import CROP_RATIO, center_crop, random_resized_crop, to_chw

__all__ = ["StreamedImages", "eval_loader"]


class StreamedImages(torch.utils.data.Dataset):
    """Images of ``source`` at positions ``rows``, transformed for training or evaluation.

    Parameters
    ----------
    source : ImageSource
    rows : array-like of int, shape (M,), optional
        Source indices (default: all); item ``j`` is ``source.read(rows[j])``.
    size : int
        Output side S.
    channels : int
        1 (grayscale) or 3 (RGB); sources of the other kind are converted.
    train : bool, default=False
        Random resized crops (+ flips) instead of the centre crop.
    seed : int
        Seed of the training crops.
    flip : bool, default=True
    min_crop_scale : float, default=0.08
    crop_ratio : float or None, default=0.875
        Evaluation: the shorter side is resized to ``round(S / crop_ratio)`` before the centre crop;
        ``None`` resizes the whole image to S x S.
    as_float : bool, default=False
        Transform float images in [0, 1] (no rounding to ``uint8``; 4x more to copy between processes).
    """

    def __init__(
        self,
        source: ImageSource,
        rows=None,
        *,
        size: int,
        channels: int,
        train: bool = False,
        seed: int = 0,
        flip: bool = True,
        min_crop_scale: float = 0.08,
        crop_ratio: float | None = CROP_RATIO,
        as_float: bool = False,
    ):
        self.source = source
        self.rows = np.arange(len(source), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        self.size, self.channels, self.train = int(size), int(channels), bool(train)
        self.seed, self.flip, self.min_crop_scale, self.crop_ratio = (
            int(seed),
            flip,
            min_crop_scale,
            crop_ratio,
        )
        self.as_float = bool(as_float)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def __getitem__(self, key):
        position, epoch = key if isinstance(key, tuple) else (key, 0)
        x = to_chw(self.source.read(int(self.rows[position])), self.channels)  # (C, H, W) uint8
        if self.as_float:
            x = x.float() / 255.0
        if self.train:
            rng = np.random.default_rng((self.seed, int(epoch), int(position)))
            x = random_resized_crop(x, self.size, rng, scale=(self.min_crop_scale, 1.0), flip=self.flip)
        else:
            x = center_crop(x, self.size, self.crop_ratio)
        return x, int(position)


def _worker_init(_):
    torch.set_num_threads(1)


def eval_loader(dataset: StreamedImages, batch_size: int, workers: int = 0, positions=None):
    """A DataLoader over ``positions`` (default: all) in order, ``workers`` decoding processes.

    Yields ``(images uint8 (B, C, S, S), positions int64 (B,))``.
    """
    positions = np.arange(len(dataset)) if positions is None else np.asarray(positions)
    batches = [positions[i : i + batch_size].tolist() for i in range(0, len(positions), batch_size)]
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=workers,
        worker_init_fn=_worker_init if workers else None,
        prefetch_factor=2 if workers else None,
    )
