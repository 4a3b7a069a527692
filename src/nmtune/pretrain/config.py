"""The pre-training configuration: a frozen dataclass that travels inside every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nmtune._internal.validation import check_number
from nmtune.pretrain.models import NORMS

__all__ = ["PretrainConfig", "ContrastiveConfig", "config_from_dict", "OBJECTIVES"]

OBJECTIVES = ("supervised", "contrastive")
OPTIMIZERS = ("adamw", "sgd")


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


@dataclass(frozen=True)
class ContrastiveConfig:
    """Everything that determines a contrastively (CLIP-style) pre-trained backbone, bit for bit on CPU.

    Images are paired with the names of their classes as captions; ``noise`` swaps captions between images
    (:func:`nmtune.noise.pair_swap_noise`). See :func:`nmtune.pretrain.pretrain_contrastive`.

    Parameters
    ----------
    dataset : str
        Pre-training dataset for :func:`nmtune.datasets.load_dataset`; its class names are the captions.
    noise : float
        Caption-swap rate gamma in [0, 1): exactly ``round(gamma * n_train)`` images get another image's caption.
    seed : int
        Seeds the weight initialisation, the caption swaps and the batch order.
    n_train, n_test, subset_seed
        Stratified subsets of the training / test split (``None``: whole split), as in :class:`PretrainConfig`.
    epochs, batch_size
        Passes over the training set and the global batch (split across processes under DDP).
    optimizer : {"adamw", "sgd"}
        AdamW, or SGD with Nesterov momentum 0.9; a cosine schedule over all steps either way. Weight decay
        applies to weight matrices and convolution kernels only (not to biases, norms or the temperature).
    lr, weight_decay : float
        Peak learning rate and decoupled (AdamW) or L2 (SGD) weight decay.
    arch, width, depth, norm, stem_stride
        Image backbone (see :func:`nmtune.pretrain.models.build_backbone`), D = 4 width features.
    text_encoder : str
        Frozen text encoder (:func:`nmtune.encoders.get_encoder`) applied once to each distinct caption.
    text_hidden : int or None
        Hidden width of the text tower, an MLP ``F -> text_hidden -> embed_dim`` over the frozen text features;
        ``None`` makes it linear ``F -> embed_dim``.
    embed_dim : int
        Dimension E of the joint embedding space (the image tower is the backbone plus a linear ``D -> E``).
    temperature : float
        Initial temperature; learned as ``log(1 / temperature)`` and clamped to at most 100 (as CLIP).
    amp : bool
        Mixed precision: float16 with gradient scaling on CUDA, bfloat16 on CPU.
    objective : {"contrastive"}
        Marker stored in the checkpoint's config, so that contrastive and supervised checkpoints can be told
        apart (a supervised config has no ``objective`` key).
    """

    dataset: str = "glyphs-pretrain:300"
    noise: float = 0.0
    seed: int = 0
    n_train: int | None = None
    n_test: int | None = None
    subset_seed: int = 0
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.05
    arch: str = "resnet"
    width: int = 32
    depth: int = 1
    norm: str = "batch"
    stem_stride: int = 2
    text_encoder: str = "glove-50"
    text_hidden: int | None = 256
    embed_dim: int = 128
    temperature: float = 0.07
    amp: bool = False
    objective: str = "contrastive"

    def __post_init__(self):
        check_number(
            "noise",
            self.noise,
            low=0,
            high=1,
            high_open=True,
            hint=" It is the caption-swap rate; 0.1 for 10 %.",
        )
        for name in ("epochs", "width", "depth", "embed_dim"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("batch_size", self.batch_size, low=2, integer=True, hint=" Contrasting needs 2 images.")
        check_number(
            "text_hidden", self.text_hidden, low=1, integer=True, allow_none=True, hint=" (null: linear)"
        )
        for name in ("n_train", "n_test"):
            check_number(
                name, getattr(self, name), low=10, integer=True, allow_none=True, hint=" (null: whole split)"
            )
        check_number("lr", self.lr, low=0, low_open=True)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number(
            "temperature", self.temperature, low=0.01, high=1, hint=" CLIP starts at 0.07 and clamps at 0.01."
        )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; received {self.optimizer!r}.")
        if self.stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2; received {self.stem_stride!r}.")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}; received {self.norm!r}.")
        if self.objective != "contrastive":
            raise ValueError(
                f"ContrastiveConfig.objective must be 'contrastive'; received {self.objective!r}. Supervised "
                "pre-training uses PretrainConfig."
            )
        if not isinstance(self.text_encoder, str) or not self.text_encoder:
            raise ValueError(
                f"text_encoder must be an encoder name such as 'glove-50' or 'minilm'; received {self.text_encoder!r}."
            )

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
