"""The pre-training configuration: a frozen dataclass that travels inside every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nmtune._internal.validation import check_number
from nmtune.pretrain.models import NORMS

__all__ = ["PretrainConfig", "config_from_dict"]


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that determines a pre-trained backbone (with the seed, bit for bit on CPU).

    Parameters
    ----------
    dataset : str
        Pre-training dataset for :func:`nmtune.datasets.load_dataset` (train split for training, test
        split for the clean-test accuracy).
    noise : float
        Symmetric label-noise rate gamma in [0, 1) applied to the training labels
        (:func:`nmtune.noise.symmetric_noise`).
    seed : int
        Seeds the weight initialisation, the label noise, the batch order and the augmentation.
    n_train : int or None
        Train on a stratified subset of this many training images (drawn with ``subset_seed``, so every noise
        rate and seed sees the same images); ``None`` uses the whole split.
    n_test : int or None
        Clean-test accuracy on a stratified subset of this many test images; ``None`` uses the whole split.
    subset_seed : int
        Seed of the training/test subsets (kept apart from ``seed`` on purpose).
    epochs, batch_size, lr, momentum, weight_decay
        SGD with Nesterov momentum and a cosine schedule over all steps; ``batch_size`` is the global batch
        (split across processes under DDP).
    augment : bool
        Random 2-pixel shifts (zero padding) and horizontal flips.
    arch, width, depth, norm, stem_stride
        Backbone (see :func:`nmtune.pretrain.models.build_backbone`).
    amp : bool
        Mixed precision: float16 with gradient scaling on CUDA, bfloat16 on CPU.
    """

    dataset: str = "fashion-mnist"
    noise: float = 0.0
    seed: int = 0
    n_train: int | None = 6000
    n_test: int | None = 2000
    subset_seed: int = 0
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True
    arch: str = "resnet"
    width: int = 16
    depth: int = 1
    norm: str = "batch"
    stem_stride: int = 1
    amp: bool = False

    def __post_init__(self):
        check_number("noise", self.noise, low=0, high=1, high_open=True, hint=" Use 0.1 for 10 %.")
        for name in ("epochs", "batch_size", "width", "depth"):
            check_number(name, getattr(self, name), low=1, integer=True)
        for name in ("n_train", "n_test"):
            check_number(
                name, getattr(self, name), low=10, integer=True, allow_none=True, hint=" (null: whole split)"
            )
        check_number("lr", self.lr, low=0, low_open=True)
        if self.stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2; received {self.stem_stride!r}.")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}; received {self.norm!r}.")

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON-serialisable)."""
        return dataclasses.asdict(self)


def config_from_dict(values: dict, cls=PretrainConfig):
    """Build a frozen config from a dict; unknown keys are an error naming the valid ones.

    Parameters
    ----------
    values : dict
        Field values.
    cls : type, default=PretrainConfig
        A frozen dataclass.

    Returns
    -------
    object
        ``cls(**values)``.
    """
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"Unknown {cls.__name__} key(s) {unknown}. Valid keys: {', '.join(sorted(valid))}.")
    return cls(**values)
