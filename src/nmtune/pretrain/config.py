"""The pre-training configuration: a frozen dataclass that travels inside every checkpoint.

Fields added after checkpoints were first written take defaults that reproduce the earlier behaviour, so an
older checkpoint's config dict (fewer keys, ``arch="resnet"``) is read with :func:`config_from_dict` and
compared with :func:`config_matches`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from nmtune._internal.validation import check_number
from nmtune.pretrain.architectures import SMALL_RESNET, check_architecture
from nmtune.pretrain.models import NORMS

__all__ = ["PretrainConfig", "ContrastiveConfig", "config_from_dict", "config_matches", "OBJECTIVES"]

OBJECTIVES = ("supervised", "contrastive")
OPTIMIZERS = ("adamw", "sgd")


def _check_common(config) -> None:
    """Checks shared by both configs; canonicalises ``arch`` (``"resnet"`` -> ``"small-resnet"``)."""
    object.__setattr__(config, "arch", check_architecture(config.arch))
    check_number(
        "image_size", config.image_size, low=8, high=4096, integer=True, allow_none=True,
        hint=" (null: the images' own size, in memory)",
    )  # fmt: skip
    check_number("min_crop_scale", config.min_crop_scale, low=0, high=1, low_open=True)
    check_number("warmup_epochs", config.warmup_epochs, low=0, high=config.epochs)
    if config.stem_stride not in (1, 2):
        raise ValueError(f"stem_stride must be 1 or 2; received {config.stem_stride!r}.")
    if config.norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; received {config.norm!r}.")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; received {config.optimizer!r}.")


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
        SGD with Nesterov momentum (or AdamW, ``optimizer``) and a cosine schedule over all steps;
        ``batch_size`` is the global batch (split across processes under DDP and into micro-batches under
        gradient accumulation).
    augment : bool
        Images in memory (``image_size=None``): random 2-pixel shifts (zero padding) and horizontal flips.
        Streamed images (``image_size`` set): a random resized crop (scale ``min_crop_scale``..1, aspect
        3/4..4/3) and, when ``flip``, a horizontal flip; without ``augment`` the training images get the
        evaluation transform (resize the shorter side, centre crop).
    arch : str
        Backbone architecture (:func:`nmtune.pretrain.architectures.list_architectures`: ``small-resnet``,
        ``hf-resnet18``, ``hf-resnet50``, ``hf-vit-s16``, ``hf-config:<config.json>``, ``timm:<name>``);
        ``"resnet"`` is read as ``"small-resnet"``.
    width, depth, norm, stem_stride
        The ``small-resnet``'s shape (see :class:`nmtune.pretrain.models.SmallResNet`); other
        architectures ignore them.
    amp : bool
        Mixed precision: float16 with gradient scaling on CUDA, bfloat16 on CPU.
    image_size : int or None
        ``None`` (default): the dataset is loaded into memory at its own resolution (the built-in grayscale
        sets). An integer streams the images from disk (DataLoader workers decode them), RGB or grayscale
        as the source holds them, cropped to ``image_size`` x ``image_size``.
    flip : bool
        Horizontal flips of streamed training images (off for glyphs: a flipped b is a d).
    min_crop_scale : float
        Smallest area fraction of the random resized crop (0.08 as in ImageNet training).
    optimizer : {"sgd", "adamw"}
        SGD with Nesterov momentum ``momentum``, or AdamW (``weight_decay`` decoupled).
    warmup_epochs : float
        Linear learning-rate warm-up before the cosine decay (0: cosine from the first step).
    label_smoothing : float
        Cross-entropy label smoothing.
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
    arch: str = SMALL_RESNET
    width: int = 16
    depth: int = 1
    norm: str = "batch"
    stem_stride: int = 1
    amp: bool = False
    image_size: int | None = None
    flip: bool = True
    min_crop_scale: float = 0.08
    optimizer: str = "sgd"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self):
        check_number("noise", self.noise, low=0, high=1, high_open=True, hint=" Use 0.1 for 10 %.")
        for name in ("epochs", "batch_size", "width", "depth"):
            check_number(name, getattr(self, name), low=1, integer=True)
        for name in ("n_train", "n_test"):
            check_number(
                name, getattr(self, name), low=10, integer=True, allow_none=True, hint=" (null: whole split)"
            )
        check_number("lr", self.lr, low=0, low_open=True)
        check_number("label_smoothing", self.label_smoothing, low=0, high=1, high_open=True)
        _check_common(self)

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
        Image backbone (see :class:`PretrainConfig`); the ``small-resnet`` has D = 4 width features.
    text_encoder : str
        Frozen text encoder (:func:`nmtune.encoders.get_encoder`) applied once to each distinct caption
        (when ``text_model`` is ``None``).
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
    image_size, flip, min_crop_scale, warmup_epochs
        As in :class:`PretrainConfig` (``image_size`` set: images streamed from disk, e.g. WebDataset shards
        of (image, caption)).
    augment : bool
        Streamed images only: random resized crops (and flips when ``flip``); default off (the centre crop).
    text_model : str or None
        A trainable ``transformers`` text tower instead of the frozen encoder
        (:func:`nmtune.pretrain.towers.list_text_models`: ``hf-text-tiny``, ``hf-text-config:<config.json>``),
        randomly initialised, over UTF-8 bytes, mean-pooled and projected to E.
    text_max_length : int
        Bytes per caption seen by ``text_model`` (longer captions are cut).
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
    arch: str = SMALL_RESNET
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
    image_size: int | None = None
    flip: bool = True
    min_crop_scale: float = 0.08
    augment: bool = False
    warmup_epochs: float = 0.0
    text_model: str | None = None
    text_max_length: int = 64

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
        check_number("text_max_length", self.text_max_length, low=2, integer=True)
        _check_common(self)
        if self.text_model is not None:
            from nmtune.pretrain.towers import check_text_model

            check_text_model(self.text_model)
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


def config_matches(saved: Mapping, config) -> bool:
    """Whether a checkpoint's config dict describes the same training as ``config``.

    Keys the saved dict lacks (fields added since it was written) take their defaults, which reproduce the
    earlier behaviour; ``arch="resnet"`` equals ``"small-resnet"``. Use it instead of comparing
    ``checkpoint["config"] == config.to_dict()``, which fails for every checkpoint written before a field was
    added.

    Parameters
    ----------
    saved : mapping
        ``load_checkpoint(path)["config"]``.
    config : PretrainConfig or ContrastiveConfig
        The configuration the checkpoint should have been trained with.

    Returns
    -------
    bool
    """
    if not isinstance(saved, Mapping):
        return False
    try:
        return config_from_dict(dict(saved), type(config)) == config
    except (TypeError, ValueError):  # unknown keys (a newer format) or values no longer valid
        return False
