"""Noisy pre-training of backbones (supervised or contrastive), from small CPU models to ImageNet-scale runs.

The study built on these backbones is :mod:`nmtune.apps.study`.

The names below load their modules on first use, so that ``nmtune --help`` and the architecture registry
(:mod:`nmtune.pretrain.architectures`) do not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "PretrainConfig": "config",
    "ContrastiveConfig": "config",
    "config_from_dict": "config",
    "config_matches": "config",
    "TrainOptions": "options",
    "SmallResNet": "models",
    "Classifier": "models",
    "build_backbone": "architectures",
    "list_architectures": "architectures",
    "pretrain": "train",
    "load_checkpoint": "checkpoint",
    "pretrain_contrastive": "contrastive",
    "zero_shot_predict": "zero_shot",
    "zero_shot_accuracy": "zero_shot",
    "load_pretrained_encoder": "encoder",
    "extract_features": "features",
    "run_pretraining": "run",
    "load_pretrain_preset": "presets",
    "list_pretrain_presets": "presets",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"nmtune.pretrain.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'nmtune.pretrain' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
