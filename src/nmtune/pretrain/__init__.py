"""Pre-training of small backbones, supervised or contrastive (Sec. 2, App. A); the study is in nmtune.apps.study."""

from nmtune.pretrain.config import ContrastiveConfig, PretrainConfig, config_from_dict
from nmtune.pretrain.contrastive import pretrain_contrastive
from nmtune.pretrain.models import Classifier, SmallResNet, build_backbone
from nmtune.pretrain.train import load_checkpoint, pretrain
from nmtune.pretrain.zero_shot import zero_shot_accuracy, zero_shot_predict

__all__ = [
    "PretrainConfig",
    "ContrastiveConfig",
    "config_from_dict",
    "SmallResNet",
    "Classifier",
    "build_backbone",
    "pretrain",
    "load_checkpoint",
    "pretrain_contrastive",
    "zero_shot_predict",
    "zero_shot_accuracy",
    "load_pretrained_encoder",
]


def __getattr__(name):
    if name == "load_pretrained_encoder":
        from nmtune.pretrain.encoder import load_pretrained_encoder

        return load_pretrained_encoder
    raise AttributeError(f"module 'nmtune.pretrain' has no attribute {name!r}")
