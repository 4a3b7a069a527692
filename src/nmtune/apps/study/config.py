"""Configuration of the noisy pre-training study: ``StudyConfig``, the packaged presets and their loader."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from nmtune._internal.validation import check_each, check_number

__all__ = ["StudyConfig", "load_study_config", "list_study_presets", "OBJECTIVES", "PRETRAIN_DEFAULTS"]

OBJECTIVES = ("supervised", "contrastive")

#: Pre-training defaults of each (set-up, objective), applied before ``StudyConfig.pretrain``. The glyph
#: backbone is a width-32 ResNet-8 with a stride-2 stem (D = 128) trained for 10 epochs on 300 glyph classes
#: (14,400 images) without the trainer's flips (a flipped b is a d): its clean test accuracy falls from 0.991
#: to 0.942 between 0 and 30 % noise (docs/study.md), the size of the paper's ImageNet drop.
PRETRAIN_DEFAULTS = {
    ("fashion", "supervised"): {},
    ("fashion", "contrastive"): {"dataset": "fashion-mnist", "n_train": 6000, "n_test": 2000},
    ("glyphs", "supervised"): {
        "dataset": "glyphs-pretrain:300",
        "n_train": None,
        "n_test": None,
        "epochs": 10,
        "lr": 0.1,
        "width": 32,
        "stem_stride": 2,
        "augment": False,
    },
    ("glyphs", "contrastive"): {},
    # your own images (setup "images"): a transformers ResNet-18 at 224 px on the whole split; pretrain.dataset
    # names the images (image-folder:, wds:, hf-images:)
    ("images", "supervised"): {"arch": "hf-resnet18", "image_size": 224, "n_train": None, "n_test": None},
    ("images", "contrastive"): {"arch": "hf-resnet18", "image_size": 224, "n_train": None, "n_test": None},
}


@dataclass(frozen=True)
class StudyConfig:
    """Configuration of ``nmtune study noisy-pretrain``; unknown keys in a YAML file are errors.

    Parameters
    ----------
    setup : {"glyphs", "fashion", "images"}
        Pre-training data and downstream tasks (:mod:`nmtune.apps.study.setups`: the suites
        ``noisy-pretrain-glyphs`` / ``noisy-pretrain-fashion``, or your own images on disk for ``"images"``,
        :mod:`nmtune.apps.study.images`); each set-up has its own pre-training defaults
        (:data:`PRETRAIN_DEFAULTS`) that ``pretrain`` overrides.
    objective : {"supervised", "contrastive"}
        Cross-entropy on noisy labels, or CLIP-style training on image-caption pairs with caption swaps.
    gammas : tuple of float
        Pre-training noise rates (fractions): label-flip rates, or caption-swap rates when contrastive.
    seeds : tuple of int
        Pre-training seeds, the study's unit of replication (>= 3 for confidence intervals).
    pretrain : dict
        Overrides of the pre-training config's fields (not ``noise``/``seed``), applied over the set-up's
        defaults.
    fractions : tuple of float
        Fractions of each downstream training set (paper: 0.1, 0.25, 0.5, 0.75, 1.0), drawn by the protocol's
        one rule (:func:`nmtune.protocol.runner.training_rows`: a fraction of every class, nested).
    methods : tuple of str
        Protocol methods (:func:`nmtune.protocol.list_methods`), e.g. ``"lp"``, ``"mlp"``, ``"nmtune"``, ``"logreg"``.
    probe : str
        The method whose accuracy plays "LP" in the claims about noise (default ``"lp"``; ``"logreg"`` is a
        linear probe fitted by L-BFGS instead of AdamW). It must be linear: the study reads the backbone's
        feature spectrum from its runs.
    head_epochs : int
        Epochs of every head (paper: 30); a head trains for more when ``head_min_steps`` asks for it.
    head_batch_size : int
        Mini-batch size of every head.
    head_min_steps : int
        Minimum number of optimiser steps of every head: ``epochs = max(head_epochs, ceil(head_min_steps /
        steps_per_epoch))``, the cosine schedule spanning them all. 0 keeps exactly ``head_epochs``.
    max_train, max_test : int
        Cap on downstream train / test images per task and domain: the protocol's fixed stratified caps
        (``cap:<n>:<dataset>``, :func:`nmtune.datasets.cap_indices`).
    corruptions : tuple of str
        Fashion-MNIST corruptions ``"<name>:<severity>"`` used as OOD domains (``fashion`` set-up).
    downstream_seeds : tuple of int
        Seeds of the downstream runs (the training subset of each fraction and the head's initialisation): head
        seeds, nested in each pre-training seed and averaged within it.
    group_folds : {"require", "fallback", "none"}
        The protocol's group policy for heads that select on group folds (``nmtune-cv`` on the glyph task, whose
        training images carry their font family): ``"require"`` fails a run whose training subset cannot give
        group-aware folds, ``"fallback"`` selects on stratified folds there (recorded), ``"none"`` never uses
        the groups.
    images : dict
        The ``images`` set-up only (docs/study-images.md): ``tasks``, the downstream tasks (image folders, or
        domain collections ``<dir>/<domain>/<class>/<image>`` with one OOD domain per held-out domain),
        ``workers`` (processes decoding images, default 2), ``batch_size`` (of feature extraction, default
        128) and pre-training run options (``checkpoint_every``, ``channels_last``, ``compile``,
        ``grad_accum``; :func:`nmtune.apps.study.images_config.train_options`). Its pre-training data, architecture
        and image size are ``pretrain``'s ``dataset``, ``arch`` and ``image_size``.
    """

    setup: str = "glyphs"
    objective: str = "supervised"
    gammas: tuple = (0.0, 0.05, 0.1, 0.2, 0.3)
    seeds: tuple = (0, 1, 2)
    pretrain: dict = dataclasses.field(default_factory=dict)
    fractions: tuple = (0.1, 0.25, 0.5, 0.75, 1.0)
    methods: tuple = ("lp", "mlp", "nmtune")
    probe: str = "lp"
    head_epochs: int = 30
    head_batch_size: int = 128
    head_min_steps: int = 3000
    max_train: int = 3000
    max_test: int = 2000
    corruptions: tuple = ("gaussian:2", "blur:2", "contrast:2", "rotation:2")
    downstream_seeds: tuple = (0,)
    group_folds: str = "require"
    images: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        from nmtune.apps.study.setups import SETUPS
        from nmtune.exceptions import unknown_name_error
        from nmtune.protocol.methods import get_method
        from nmtune.protocol.runner import GROUP_FOLDS

        if self.setup not in SETUPS:
            raise unknown_name_error("study set-up", self.setup, SETUPS)
        if self.objective not in OBJECTIVES:
            raise unknown_name_error("pre-training objective", self.objective, OBJECTIVES)
        if self.group_folds not in GROUP_FOLDS:
            raise unknown_name_error("group_folds policy", self.group_folds, GROUP_FOLDS)
        for m in self.methods:
            get_method(m)  # an unknown name raises, listing the valid ones
        if self.probe not in self.methods:
            raise ValueError(f"probe {self.probe!r} must be one of the study's methods {list(self.methods)}.")
        if get_method(self.probe).transforms:
            raise ValueError(
                f"probe {self.probe!r} transforms the features; the probe must be a linear method on the "
                "backbone's features (e.g. 'lp' or 'logreg'): the study reads the feature spectrum from its runs."
            )
        if not self.gammas or not self.seeds or not self.downstream_seeds:
            raise ValueError("The study needs at least one gamma, one seed and one downstream seed.")
        for key in ("noise", "seed"):
            if key in self.pretrain:
                raise ValueError(f"Set pre-training {key!r} through `gammas`/`seeds`, not `pretrain`.")
        if self.setup == "images":
            from nmtune.apps.study.images_config import check_images_config

            values = dict(PRETRAIN_DEFAULTS[(self.setup, self.objective)], **self.pretrain)
            object.__setattr__(self, "images", check_images_config(self.images, values, self.objective))
        elif self.images:
            raise ValueError(
                f"images (downstream image tasks) is a field of the 'images' set-up; this study's setup is "
                f"{self.setup!r}. Remove images, or set setup: images (docs/study-images.md)."
            )
        self.pretrain_config(0.0, 0)  # validates the keys and values early
        for key in ("head_epochs", "head_batch_size", "max_train", "max_test"):
            check_number(key, getattr(self, key), low=1, integer=True)
        check_number(
            "head_min_steps", self.head_min_steps, low=0, integer=True, hint=" (0: exactly head_epochs)"
        )
        check_each("gammas", self.gammas, low=0, high=1, high_open=True, hint=" Use 0.1 for 10 %.")
        check_each("fractions", self.fractions, low=0, high=1, low_open=True, hint=" Use 0.1 for 10 %.")
        check_each("seeds", self.seeds, low=0, integer=True)
        check_each("downstream_seeds", self.downstream_seeds, low=0, integer=True)

    def pretrain_config(self, gamma: float, seed: int):
        """The pre-training config of one model: the set-up's defaults, then ``pretrain``, then gamma and seed.

        Returns
        -------
        PretrainConfig or ContrastiveConfig
        """
        from nmtune.pretrain import ContrastiveConfig, PretrainConfig, config_from_dict

        values = dict(PRETRAIN_DEFAULTS[(self.setup, self.objective)], **self.pretrain)
        values.update(noise=float(gamma), seed=int(seed))
        return config_from_dict(
            values, ContrastiveConfig if self.objective == "contrastive" else PretrainConfig
        )

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict (``images`` only for the ``images`` set-up)."""
        out = dataclasses.asdict(self)
        if self.setup != "images":
            del out["images"]  # the other set-ups' stored configurations stay as they were
        return out


_PRESETS = "nmtune.configs.studies"


def list_study_presets() -> list[str]:
    """Names of the study configurations packaged in ``nmtune/configs/studies``."""
    from nmtune._internal.config import list_presets

    return list_presets(_PRESETS)


def load_study_config(path: str | os.PathLike | None = None, **overrides) -> StudyConfig:
    """Read a YAML/JSON study config (a path or a preset name, or the defaults) and apply keyword overrides.

    Read by the one configuration loader (:func:`nmtune._internal.config.load_config`): duplicate and unknown
    keys are errors naming their line, values are coerced per field (``gammas: 0.1`` is ``(0.1,)``).

    Parameters
    ----------
    path : str or path-like, optional
        A YAML/JSON file of :class:`StudyConfig` fields, or a preset name (:func:`list_study_presets`:
        ``glyphs-tiny``, ``glyphs-contrastive``, ``glyphs-gpu``, ``fashion``, ...).
    **overrides
        Field values that replace the file's (``None`` values are ignored).

    Returns
    -------
    StudyConfig
        A file written for an earlier version with ``downstream_seed: n`` reads as ``downstream_seeds: [n]``.
    """
    from nmtune._internal.config import config_from_mapping, load_config, read_yaml

    if path is not None:
        from nmtune._internal.config import _resolve_source

        source = _resolve_source(path, _PRESETS, "study configuration")
        values = read_yaml(source, "study configuration")
        if "downstream_seed" in values and "downstream_seeds" not in values:
            values = dict(values)
            values["downstream_seeds"] = [values.pop("downstream_seed")]
            given = {k: v for k, v in overrides.items() if v is not None}
            return config_from_mapping(StudyConfig, {**values, **given}, where=str(source))
    return load_config(
        StudyConfig, path, presets_package=_PRESETS, overrides=overrides, what="study configuration"
    )
