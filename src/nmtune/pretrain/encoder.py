"""A pre-trained backbone as a frozen encoder: ``get_encoder("pretrained:<checkpoint.pt>")``.

Preprocessing (part of the fingerprint): images float in [0, 1] or ``uint8``; RGB inputs (N, H, W, 3) are
converted to grayscale by averaging the channels; images whose resolution differs from the pre-training one
(``checkpoint["input_shape"]``, 28 x 28 by default) are resized to it with antialiased bilinear interpolation
(:func:`nmtune.datasets.images.resize_images`, the same resizing as the ``@<size>`` dataset suffix); then
``(x - 0.5) / 0.5`` as in pre-training. The features are the backbone's pooled output, shape (N, D).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from nmtune._internal.device import resolve_device
from nmtune.encoders.base import Encoder, state_dict_digest
from nmtune.exceptions import require
from nmtune.pretrain.models import build_backbone
from nmtune.pretrain.train import load_checkpoint, prepare_images

__all__ = ["PretrainedEncoder", "load_pretrained_encoder", "backbone_from_checkpoint", "to_gray_array"]


class PretrainedEncoder(Encoder):
    """Frozen backbone of a checkpoint written by :func:`nmtune.pretrain.pretrain` (or ``pretrain_contrastive``).

    Parameters
    ----------
    path : str or path-like
        The checkpoint.
    backbone : torch.nn.Module, optional
        Required when the checkpoint was trained with a custom backbone (``config["arch"]`` starting with
        ``"custom:"``): an untrained instance of the same architecture; its weights are replaced (strictly).
    name : str, optional
        Registry name; default ``"pretrained:<path>"``.
    """

    _unit = "img"

    def __init__(
        self, path: str | os.PathLike, *, backbone: torch.nn.Module | None = None, name: str | None = None
    ):
        ckpt = load_checkpoint(path)
        backbone = backbone_from_checkpoint(ckpt, backbone, source=str(path))
        super().__init__(name or f"pretrained:{path}", int(ckpt["feature_dim"]), "image")
        self.model = backbone
        self.checkpoint_path = os.fspath(path)
        self.checkpoint_info = {k: v for k, v in ckpt.items() if k != "state_dict"}
        self.input_shape = tuple(int(s) for s in ckpt["input_shape"])
        self._weights_digest = state_dict_digest(ckpt["state_dict"])
        self._device = None

    def _fingerprint_parts(self) -> dict:
        return {
            "kind": "nmtune-pretrained",
            "weights": self._weights_digest,
            "config": self.checkpoint_info["config"],
            "preprocessing": {
                "gray": "mean of RGB",
                "resize": list(self.input_shape),
                "normalise": "(x-0.5)/0.5",
            },
        }

    def _validate_inputs(self, inputs):
        if isinstance(inputs, np.ndarray):
            if inputs.ndim not in (3, 4) or (inputs.ndim == 4 and inputs.shape[3] != 3):
                raise ValueError(
                    f"{self.name}: images must have shape (N, H, W) or (N, H, W, 3); received {inputs.shape}."
                )
            return inputs
        return list(inputs)

    def _to_gray_array(self, batch) -> np.ndarray:
        return to_gray_array(batch, self.input_shape, name=self.name)

    @torch.no_grad()
    def _encode_batch(self, batch, device):
        dev = resolve_device(device)
        if self._device != dev:
            self.model.to(dev)
            self._device = dev
        x = prepare_images(self._to_gray_array(batch)).to(dev)  # (B, 1, H, W)
        return self.model(x).float().cpu().numpy()  # (B, D)


def to_gray_array(batch, input_shape: tuple[int, int], *, name: str = "pretrained") -> np.ndarray:
    """Images as the backbone expects them before normalisation: float32 ``(B, H, W)`` in [0, 1].

    Parameters
    ----------
    batch : ndarray of shape (B, H, W) or (B, H, W, 3), or a list of image files / PIL images
        Float in [0, 1] or ``uint8``; RGB is averaged to grayscale.
    input_shape : tuple of int
        The pre-training resolution ``(H, W)``; other resolutions are resized to it (antialiased bilinear).
    name : str
        How to name the model in errors.

    Returns
    -------
    ndarray of shape (B, H, W)
    """
    if not isinstance(batch, np.ndarray):
        image = require("PIL.Image", "vision", "reading image files")
        arrays = []
        for item in batch:
            img = item if isinstance(item, image.Image) else image.open(item)
            arrays.append(np.asarray(img.convert("L"), dtype=np.float32) / 255.0)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            from nmtune.datasets.images import resize_images

            arrays = [resize_images(a[None], input_shape[0])[0] for a in arrays]
        batch = np.stack(arrays)
    x = np.asarray(batch)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.ndim == 4:
        x = x.mean(axis=3)  # (B, H, W)
    if x.shape[1:] != input_shape:
        from nmtune.datasets.images import resize_images

        if input_shape[0] != input_shape[1]:  # pragma: no cover - square inputs only by default
            raise ValueError(f"{name}: resizing to the non-square {input_shape} is not supported.")
        x = resize_images(x, input_shape[0])
    return x


def backbone_from_checkpoint(
    ckpt: dict, backbone: torch.nn.Module | None = None, *, source: str = "the checkpoint"
) -> torch.nn.Module:
    """The checkpoint's backbone with its weights loaded (strictly), in eval mode.

    Parameters
    ----------
    ckpt : dict
        A loaded checkpoint (supervised or contrastive; both store the backbone alone in ``state_dict``).
    backbone : torch.nn.Module, optional
        An untrained instance, required for a custom architecture (``config["arch"]`` ``"custom:..."``).
    source : str
        How to name the checkpoint in errors (its path).

    Returns
    -------
    torch.nn.Module
        Maps ``(B, 1, H, W)`` to ``(B, D)``.
    """
    cfg = ckpt["config"]
    if backbone is None:
        if str(cfg["arch"]).startswith("custom:"):
            raise ValueError(
                f"The checkpoint {source!r} holds a custom backbone ({cfg['arch']}); "
                "pass an instance of it: load_pretrained_encoder(path, backbone=MyBackbone(...))."
            )
        backbone = build_backbone(
            cfg["arch"],
            width=cfg["width"],
            depth=cfg["depth"],
            norm=cfg["norm"],
            stem_stride=cfg.get("stem_stride", 1),  # checkpoints written before the option: 1
        )
    backbone.load_state_dict(ckpt["state_dict"], strict=True)
    return backbone.eval()


def load_pretrained_encoder(path: str | os.PathLike, **options) -> PretrainedEncoder:
    """Factory behind the ``pretrained:<path>`` encoder prefix.

    Parameters
    ----------
    path : str or path-like
        Checkpoint written by :func:`nmtune.pretrain.pretrain` or ``nmtune pretrain``.
    **options
        ``backbone`` (for custom architectures) and ``name``.

    Returns
    -------
    PretrainedEncoder
        ``name``, ``dim`` (D), ``modality="image"``, ``fingerprint`` and ``encode(...) -> (N, D)`` float32.
    """
    valid = {"backbone", "name"}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown} for pretrained:<path>. Valid options: {sorted(valid)}."
        )
    return PretrainedEncoder(path, **options)
