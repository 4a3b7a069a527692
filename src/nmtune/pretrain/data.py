"""Streamed pre-training data: image sources, the stratified subsets, and the global-batch sampler.

Shape convention: N training images (after the ``n_train`` subset), B the global batch, W processes, A
micro-batches per step, S the image side, C channels.

A run with ``config.image_size`` set reads its images through :mod:`nmtune.datasets.image_sources` (folders,
domain collections, WebDataset shards, Hugging Face datasets, or arrays) and never holds a split in memory.
Every epoch is a permutation of ``range(N)`` drawn from ``(seed, epoch)``; step ``t`` of the epoch takes the
global batch ``perm[t B : (t + 1) B]`` (the last incomplete batch is dropped), process ``r`` its slice
``batch[r::W]`` and micro-batch ``k`` of that slice ``[k::A]``. Nothing of this depends on the number of
DataLoader workers, and a resumed run starts at the step it stopped at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmtune.datasets.image_sources import ArraySource, ImageSource, open_image_source
from nmtune.datasets.streaming import StreamedImages
from nmtune.datasets.subsample import stratified_subset

__all__ = ["NORMALISATION", "StreamData", "open_stream_data", "GlobalBatchSampler", "epoch_order"]

#: Per-channel (mean, std) applied after scaling to [0, 1]: ImageNet's for RGB, 0.5 / 0.5 for grayscale.
NORMALISATION = {1: ((0.5,), (0.5,)), 3: ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}


@dataclass
class StreamData:
    """The two splits of a streamed run (positions index ``train_rows`` / ``test_rows``)."""

    train: ImageSource
    train_rows: np.ndarray  # (N,) source indices of the training subset
    test: ImageSource | None
    test_rows: np.ndarray | None
    class_names: tuple[str, ...]
    channels: int
    size: int

    @property
    def mean_std(self):
        """The normalisation of this run's channels."""
        return NORMALISATION[self.channels]

    def images(self, split: str, *, train: bool, config) -> StreamedImages:
        """The torch dataset of a split, with training crops (``train``) or the evaluation crop."""
        source, rows = (self.train, self.train_rows) if split == "train" else (self.test, self.test_rows)
        return StreamedImages(
            source,
            rows,
            size=self.size,
            channels=self.channels,
            train=train and config.augment,
            seed=config.seed,
            flip=config.flip,
            min_crop_scale=config.min_crop_scale,
        )

    def preprocessing(self) -> dict:
        """What the checkpoint records so that the encoder prepares images the same way."""
        from nmtune.datasets.image_transforms import CROP_RATIO

        mean, std = self.mean_std
        return {
            "kind": "center-crop",
            "channels": self.channels,
            "size": self.size,
            "crop_ratio": CROP_RATIO,
            "mean": list(mean),
            "std": list(std),
        }


def open_stream_data(config, data=None) -> StreamData:
    """Open the sources of ``config.dataset`` (or wrap ``data`` arrays) and draw the subsets.

    Parameters
    ----------
    config : PretrainConfig or ContrastiveConfig
        With ``image_size`` set.
    data : tuple, optional
        ``(x_train, y_train, x_test, y_test, n_classes or class_names)`` arrays instead of the dataset.
    """
    if data is not None:
        x_tr, y_tr, x_te, y_te, classes = data
        names = [str(k) for k in range(int(classes))] if np.isscalar(classes) else list(map(str, classes))
        train = ArraySource("arrays", "train", x_tr, y_tr, names)
        test = ArraySource("arrays", "test", x_te, y_te, names) if len(y_te) else None
    else:
        train = open_image_source(config.dataset, "train")
        test = open_image_source(config.dataset, "test", missing_ok=True)
    tr = stratified_subset(train.labels, config.n_train, config.subset_seed)
    te = None if test is None else stratified_subset(test.labels, config.n_test, config.subset_seed)
    return StreamData(train, tr, test, te, train.class_names, train.channels, int(config.image_size))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of ``range(n)`` of one epoch (the same on every process)."""
    return np.random.default_rng((int(seed), int(epoch), 7)).permutation(n)


class GlobalBatchSampler:
    """DataLoader ``batch_sampler`` yielding this process's micro-batches of ``(position, epoch)`` keys.

    Parameters
    ----------
    n : int
        N, training images.
    batch_size : int
        The global batch B (at least ``world * accum``).
    seed, epochs : int
    rank, world : int
    accum : int
        Micro-batches per step A.
    start_step : int
        Steps already done (a resumed run); iteration starts after them.
    """

    def __init__(self, n, batch_size, seed, epochs, rank=0, world=1, accum=1, start_step=0):
        if batch_size < world * accum:
            raise ValueError(
                f"The global batch_size {batch_size} is smaller than processes x micro-batches = {world} x "
                f"{accum}; every micro-batch needs at least one image. Raise batch_size or lower --grad-accum."
            )
        self.n, self.batch_size, self.seed, self.epochs = n, batch_size, seed, epochs
        self.rank, self.world, self.accum, self.start_step = rank, world, accum, start_step
        self.steps_per_epoch = max(1, n // batch_size)
        self.total_steps = self.steps_per_epoch * epochs

    def global_batch(self, step: int) -> np.ndarray:
        """Positions of the global batch of optimiser step ``step`` (counted from 0 over the run)."""
        epoch, t = divmod(step, self.steps_per_epoch)
        return epoch_order(self.n, self.seed, epoch)[t * self.batch_size : (t + 1) * self.batch_size]

    def __len__(self) -> int:
        return (self.total_steps - self.start_step) * self.accum

    def __iter__(self):
        order, order_epoch = None, -1
        for step in range(self.start_step, self.total_steps):
            epoch, t = divmod(step, self.steps_per_epoch)
            if epoch != order_epoch:
                order, order_epoch = epoch_order(self.n, self.seed, epoch), epoch
            local = order[t * self.batch_size : (t + 1) * self.batch_size][self.rank :: self.world]
            for k in range(self.accum):
                yield [(int(p), epoch) for p in local[k :: self.accum]]
