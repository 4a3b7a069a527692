"""The study's backbones: one checkpoint per (noise rate, pre-training seed), pre-trained when missing.

A checkpoint in ``<out>/checkpoints/g<gamma>_s<seed>.pt`` is reused when its pre-training configuration is the
one the study asks for (:func:`nmtune.pretrain.config_matches`: a checkpoint written before a config field
existed matches when that field's default is asked for); otherwise it is pre-trained (again) with
:func:`nmtune.pretrain.pretrain` or :func:`nmtune.pretrain.pretrain_contrastive`. Each backbone is evaluated
through the ``pretrained:`` encoder, under a label that carries its weights' fingerprint, so results of other
weights are never mistaken for its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Backbone", "prepare_backbones", "checkpoint_path"]


@dataclass(frozen=True)
class Backbone:
    """One pre-trained model of the study.

    Attributes
    ----------
    gamma : float
        Pre-training noise rate.
    seed : int
        Pre-training seed (the study's unit of replication).
    path : Path
        The checkpoint.
    label : str
        ``"pretrained:g<gamma>_s<seed>@<fingerprint[:12]>"``: the encoder of its runs (it enters every run id).
    info : dict
        Facts of the checkpoint kept in the results store: realised noise rate, clean test accuracy (zero-shot
        accuracy on the pre-training classes for image-caption models), feature dimension, objective.
    """

    gamma: float
    seed: int
    path: Path
    label: str
    info: dict


def checkpoint_path(out: str | Path, gamma: float, seed: int) -> Path:
    """``<out>/checkpoints/g<gamma>_s<seed>.pt``."""
    return Path(out) / "checkpoints" / f"g{gamma:g}_s{seed}.pt"


def _pretrain_fn(objective: str):
    from nmtune.pretrain import pretrain, pretrain_contrastive

    return pretrain_contrastive if objective == "contrastive" else pretrain


def prepare_backbones(
    config, out: str | Path, *, device: str = "auto", progress: bool = True
) -> list[Backbone]:
    """Every backbone of the study, pre-training those without a matching checkpoint.

    Parameters
    ----------
    config : StudyConfig
        ``gammas``, ``seeds``, ``objective`` and the pre-training configuration of each model.
    out : path
        The study folder.
    device : str
        Device of pre-training.
    progress : bool
        Progress bars.

    Returns
    -------
    list of Backbone
        In the order gamma, then seed.
    """
    from tqdm.auto import tqdm

    from nmtune.encoders import get_encoder
    from nmtune.pretrain import config_matches, load_checkpoint

    (Path(out) / "checkpoints").mkdir(parents=True, exist_ok=True)
    out_list = []
    models = [(float(g), int(s)) for g in config.gammas for s in config.seeds]
    for gamma, seed in tqdm(models, desc="backbones", unit="model", disable=not progress):
        path = checkpoint_path(out, gamma, seed)
        pcfg = config.pretrain_config(gamma, seed)
        if not (path.is_file() and config_matches(load_checkpoint(path).get("config"), pcfg)):
            extra = {}
            if config.setup == "images":  # decoding workers; periodic training states, resumed
                from nmtune.apps.study.images_config import train_options

                extra["options"] = train_options(config.images)
            _pretrain_fn(config.objective)(pcfg, out=path, device=device, progress=progress, **extra)
        ckpt = load_checkpoint(path)
        encoder = get_encoder(f"pretrained:{path}")
        info = {
            "gamma": gamma,
            "seed": seed,
            "objective": config.objective,
            "realised_noise_rate": ckpt.get("realised_noise_rate"),
            "clean_test_accuracy": ckpt.get("clean_test_accuracy"),
            "feature_dim": ckpt.get("feature_dim"),
            "fingerprint": encoder.fingerprint,
            "checkpoint": path.name,
        }
        label = f"pretrained:g{gamma:g}_s{seed}@{encoder.fingerprint[:12]}"
        out_list.append(Backbone(gamma, seed, path, label, info))
    return out_list
