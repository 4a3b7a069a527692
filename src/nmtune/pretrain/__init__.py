"""Noisy pre-training of backbones (supervised or contrastive), from small CPU models to ImageNet-scale runs.

The study built on it (pre-train at several noise rates, evaluate downstream) lives in the workflow layer.
"""

from nmtune.pretrain.architectures import build_backbone, list_architectures
from nmtune.pretrain.checkpoint import load_checkpoint
from nmtune.pretrain.config import ContrastiveConfig, PretrainConfig, config_from_dict, config_matches
from nmtune.pretrain.contrastive import pretrain_contrastive
from nmtune.pretrain.models import Classifier, SmallResNet
from nmtune.pretrain.options import TrainOptions
from nmtune.pretrain.train import pretrain
from nmtune.pretrain.zero_shot import zero_shot_accuracy, zero_shot_predict

__all__ = [
    "PretrainConfig",
    "ContrastiveConfig",
    "TrainOptions",
    "config_from_dict",
    "config_matches",
    "SmallResNet",
    "Classifier",
    "build_backbone",
    "list_architectures",
    "pretrain",
    "load_checkpoint",
    "pretrain_contrastive",
    "zero_shot_predict",
    "zero_shot_accuracy",
    "load_pretrained_encoder",
    "extract_features",
    "run_pretraining",
]


def __getattr__(name):
    if name == "load_pretrained_encoder":
        from nmtune.pretrain.encoder import load_pretrained_encoder

        return load_pretrained_encoder
    if name == "extract_features":
        from nmtune.pretrain.features import extract_features

        return extract_features
    if name == "run_pretraining":
        from nmtune.pretrain.run import run_pretraining

        return run_pretraining
    raise AttributeError(f"module 'nmtune.pretrain' has no attribute {name!r}")
