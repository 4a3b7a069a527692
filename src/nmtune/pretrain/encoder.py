"""A pre-trained backbone as a frozen encoder: ``get_encoder("pretrained:<checkpoint.pt>")``.

Shape convention: B images in a batch, C channels, S x S the pre-training resolution, D features.

Preprocessing (part of the fingerprint) follows the checkpoint's ``preprocessing`` record:

- ``"whole-resize"`` (grayscale models trained in memory, and every checkpoint written before the record
  existed): images float in [0, 1] or ``uint8``; RGB inputs (N, H, W, 3) are averaged to grayscale; other
  resolutions are resized to the pre-training one (``checkpoint["input_shape"]``) with antialiased bilinear
  interpolation (:func:`nmtune.datasets.images.resize_images`); then ``(x - 0.5) / 0.5``.
- ``"center-crop"`` (models trained on streamed images): grayscale inputs are repeated to RGB for an RGB
  model (RGB inputs averaged for a grayscale one); the shorter side is resized to ``round(S / crop_ratio)``
  and the central S x S kept (:func:`nmtune.datasets.image_transforms.center_crop`); then the recorded
  per-channel mean and std. ``uint8`` inputs are rounded after resizing as the training workers do.

The backbone is rebuilt offline from the checkpoint's ``backbone`` spec (any architecture of
:mod:`nmtune.pretrain.architectures`); the features are its pooled output, shape (N, D).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from nmtune._internal.device import resolve_device
from nmtune.encoders.base import Encoder, state_dict_digest
from nmtune.exceptions import require
from nmtune.pretrain.architectures import backbone_from_spec, legacy_spec
from nmtune.pretrain.checkpoint import checkpoint_preprocessing, load_checkpoint

__all__ = [
    "PretrainedEncoder",
    "load_pretrained_encoder",
    "backbone_from_checkpoint",
    "to_gray_array",
    "prepare_batch",
]


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
        self.preprocessing = checkpoint_preprocessing(ckpt)
        self._weights_digest = state_dict_digest(ckpt["state_dict"])
        self._device = None

    @property
    def channels(self) -> int:
        """1 (grayscale model) or 3 (RGB)."""
        return int(self.preprocessing["channels"])

    def _fingerprint_parts(self) -> dict:
        if (
            self.preprocessing["kind"] == "whole-resize"
        ):  # as every earlier version wrote it: caches stay valid
            pre = {"gray": "mean of RGB", "resize": list(self.input_shape), "normalise": "(x-0.5)/0.5"}
        else:
            pre = dict(self.preprocessing)
        return {
            "kind": "nmtune-pretrained",
            "weights": self._weights_digest,
            "config": self.checkpoint_info["config"],
            "preprocessing": pre,
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

    def forward_prepared(self, x: torch.Tensor, device) -> np.ndarray:
        """Features ``(B, D)`` of images already prepared by :func:`prepare_batch` (or streamed and normalised)."""
        dev = resolve_device(device)
        if self._device != dev:
            self.model.to(dev)
            self._device = dev
        with torch.no_grad():
            return self.model(x.to(dev)).float().cpu().numpy()

    def _encode_batch(self, batch, device):
        return self.forward_prepared(prepare_batch(batch, self.preprocessing, name=self.name), device)


def to_gray_array(batch, input_shape: tuple[int, int], *, name: str = "pretrained") -> np.ndarray:
    """Images as a whole-resize backbone expects them before normalisation: float32 ``(B, H, W)`` in [0, 1].

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


def _crop_one(item, channels: int, size: int, crop_ratio: float) -> torch.Tensor:
    from nmtune.datasets.image_transforms import center_crop, decode_image, to_chw

    if isinstance(item, np.ndarray):
        x = to_chw(item, channels)
        if x.dtype != torch.uint8:
            x = x.float()
    else:
        x = to_chw(decode_image(item, "RGB" if channels == 3 else "L"), channels)
    x = center_crop(x, size, crop_ratio)
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def prepare_batch(batch, preprocessing: dict, *, name: str = "pretrained") -> torch.Tensor:
    """Images as the backbone reads them: normalised float ``(B, C, S, S)`` (see the module docstring).

    Parameters
    ----------
    batch : ndarray of shape (B, H, W) or (B, H, W, 3) (``uint8`` or float in [0, 1]), or a list of image
        files, bytes, PIL images or arrays of any sizes.
    preprocessing : dict
        The checkpoint's record (:func:`nmtune.pretrain.checkpoint.checkpoint_preprocessing`).
    name : str
        How to name the model in errors.
    """
    from nmtune.pretrain.train import prepare_images

    if preprocessing["kind"] == "whole-resize":
        return prepare_images(to_gray_array(batch, tuple(preprocessing["size"]), name=name))  # (B, 1, H, W)
    channels, size = int(preprocessing["channels"]), int(preprocessing["size"])
    crop_ratio = preprocessing.get("crop_ratio")
    x = torch.stack([_crop_one(item, channels, size, crop_ratio) for item in batch])  # (B, C, S, S) in [0, 1]
    mean = torch.tensor(preprocessing["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(preprocessing["std"]).view(1, -1, 1, 1)
    return (x - mean) / std


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
        Maps ``(B, C, H, W)`` to ``(B, D)``.
    """
    cfg = ckpt["config"]
    if backbone is None:
        spec = ckpt.get("backbone")
        if spec is None and str(cfg["arch"]).startswith("custom:"):
            raise ValueError(
                f"The checkpoint {source!r} holds a custom backbone ({cfg['arch']}); "
                "pass an instance of it: load_pretrained_encoder(path, backbone=MyBackbone(...))."
            )
        with torch.random.fork_rng(devices=[]):  # the throw-away initialisation leaves the global RNG alone
            backbone = backbone_from_spec(spec if spec is not None else legacy_spec(cfg))
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
