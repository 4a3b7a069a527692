"""Noisy pre-training of small backbones and the noisy pre-training study (paper Sec. 2, App. A)."""

from nmtune.pretrain.config import PretrainConfig, config_from_dict
from nmtune.pretrain.models import Classifier, SmallResNet, build_backbone
from nmtune.pretrain.train import load_checkpoint, pretrain

__all__ = [
    "PretrainConfig",
    "config_from_dict",
    "SmallResNet",
    "Classifier",
    "build_backbone",
    "pretrain",
    "load_checkpoint",
    "load_pretrained_encoder",
]


def __getattr__(name):
    if name == "load_pretrained_encoder":
        from nmtune.pretrain.encoder import load_pretrained_encoder

        return load_pretrained_encoder
    raise AttributeError(f"module 'nmtune.pretrain' has no attribute {name!r}")
