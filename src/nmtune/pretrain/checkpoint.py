"""Pre-training checkpoints: the format, atomic saving, safe loading, and what a finished run looks like.

A checkpoint is a dict saved with :func:`torch.save` and read with ``weights_only=True``: the backbone's state
dict (projection heads discarded), the config, the backbone's spec (what rebuilds it offline,
:func:`nmtune.pretrain.architectures.backbone_from_spec`), the preprocessing the encoder must repeat, the
noise report and the accuracies. Checkpoints written before the spec and preprocessing keys existed load
unchanged (the SmallResNet spec follows from their config; the preprocessing is the grayscale whole-image
resize with ``(x - 0.5) / 0.5``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from nmtune._internal.files import atomic_path
from nmtune.pretrain.architectures import backbone_spec
from nmtune.pretrain.config import config_matches
from nmtune.pretrain.options import TrainOptions
from nmtune.pretrain.resume import note, state_path

__all__ = [
    "CHECKPOINT_FORMAT",
    "load_checkpoint",
    "save_checkpoint",
    "finished_checkpoint",
    "check_run",
    "checkpoint_config",
    "legacy_preprocessing",
    "checkpoint_preprocessing",
    "jsonable",
]

CHECKPOINT_FORMAT = "nmtune-pretrain-v1"


def legacy_preprocessing(input_shape) -> dict:
    """The preprocessing of the in-memory path: grayscale, whole-image resize, ``(x - 0.5) / 0.5``."""
    return {"kind": "whole-resize", "channels": 1, "size": list(input_shape), "mean": [0.5], "std": [0.5]}


def checkpoint_preprocessing(ckpt: dict) -> dict:
    """The checkpoint's preprocessing (inferred for checkpoints that predate the key)."""
    return ckpt.get("preprocessing") or legacy_preprocessing(ckpt["input_shape"])


def jsonable(obj):
    """``obj`` with arrays as lists and unknown objects as strings (JSON types only)."""
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def finished_checkpoint(out, config, options: TrainOptions, rank: int) -> dict | None:
    """With ``resume``: the finished checkpoint at ``out`` when its config matches and no state is pending."""
    if not options.resume or out is None or state_path(out).is_file() or not Path(out).is_file():
        return None
    ckpt = load_checkpoint(out)
    if config_matches(ckpt["config"], config):
        note(f"{out} is already finished with this configuration; nothing to resume.", rank)
        return ckpt
    note(f"{out} holds another configuration; training anew and replacing it.", rank)
    return None


def check_run(out, options: TrainOptions, rank: int) -> None:
    """Refuse periodic checkpoints without ``out``; say when a pending state is ignored or missing."""
    if options.checkpoint_every and out is None:
        raise ValueError("checkpoint_every needs `out`: the training state is written beside the checkpoint.")
    if out is not None and state_path(out).is_file() and not options.resume:
        note(
            f"found {state_path(out)} from an interrupted run; starting over (add --resume to continue it).",
            rank,
        )
    elif options.resume and (out is None or not state_path(out).is_file()):
        note("no training state to resume; starting from the first step.", rank)


def checkpoint_config(config, backbone: nn.Module | None, net: nn.Module) -> dict:
    """The config dict stored in the checkpoint (a custom backbone without a spec: ``arch="custom:<name>"``)."""
    spec = backbone_spec(net)
    if backbone is None or spec is not None:
        return dict(config.to_dict(), arch=config.arch if backbone is None else spec["arch"])
    return dict(config.to_dict(), arch=f"custom:{type(net).__name__}")


def save_checkpoint(ckpt: dict, out, rank: int, world: int) -> None:
    """Save ``ckpt`` atomically to ``out`` (rank 0 only; nothing when ``out`` is None), then wait for all ranks."""
    if out is not None and rank == 0:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            torch.save(ckpt, tmp)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`pretrain` (safely: ``weights_only=True``).

    Parameters
    ----------
    path : path
        The ``.pt`` file.

    Returns
    -------
    dict
        The checkpoint (see :func:`pretrain`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No pre-training checkpoint at {str(path)!r}. Create one with "
            f"`nmtune pretrain --dataset fashion-mnist --noise 0.1 --out {path}`."
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not an nmtune pre-training checkpoint (expected format {CHECKPOINT_FORMAT!r}, "
            f"found {ckpt.get('format') if isinstance(ckpt, dict) else type(ckpt).__name__!r})."
        )
    return ckpt
