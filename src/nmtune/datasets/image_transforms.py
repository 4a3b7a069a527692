"""Image transforms of streamed pre-training and feature extraction: decode, resize + centre crop, random crop.

Shape convention: one image is a tensor ``(C, H, W)`` (C = 1 grayscale or 3 RGB), ``uint8`` in [0, 255] or
float in [0, 1]; every transform returns the input's dtype (``uint8`` results are rounded), so DataLoader
workers hand ``uint8`` batches to the training process (4x less to copy than float) and the normalisation
runs on the device.

- :func:`center_crop` (evaluation): resize so that the shorter side is ``round(size / crop_ratio)``, then
  crop the central ``size x size`` (the ImageNet convention 256 -> 224 at ``crop_ratio=0.875``);
- :func:`random_resized_crop` (training): a crop of random area (``scale``) and aspect ratio (``ratio``),
  resized to ``size x size``, then a horizontal flip with probability 1/2 when ``flip``; the crop is drawn
  as torchvision's ``RandomResizedCrop`` draws it (10 tries, then the central crop of clamped ratio).

Resizing is torch's antialiased bilinear interpolation, the same as :func:`nmtune.datasets.images.resize_images`.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from nmtune.exceptions import require

__all__ = ["decode_image", "to_chw", "center_crop", "random_resized_crop", "resize", "CROP_RATIO"]

CROP_RATIO = 0.875


def decode_image(item, mode: str = "RGB") -> np.ndarray:
    """Decode an image file, bytes or PIL image to ``uint8`` ``(H, W)`` (mode ``"L"``) or ``(H, W, 3)``."""
    image = require("PIL.Image", "vision", "reading image files")
    if isinstance(item, bytes | bytearray | memoryview):
        item = io.BytesIO(bytes(item))
    if isinstance(item, image.Image):
        return np.asarray(item.convert(mode), dtype=np.uint8)
    if isinstance(item, str | os.PathLike | io.IOBase):
        with image.open(item) as im:
            return np.asarray(im.convert(mode), dtype=np.uint8)
    raise TypeError(f"Cannot decode an image from {type(item).__name__}; give a path, bytes or a PIL image.")


def to_chw(image: np.ndarray, channels: int) -> torch.Tensor:
    """``(H, W)`` or ``(H, W, 3)`` array to a ``(channels, H, W)`` tensor (gray: mean of RGB; RGB: repeated)."""
    x = torch.from_numpy(np.require(image, requirements=["C", "W"]))  # PIL arrays are read-only
    if x.ndim == 2:
        x = x.unsqueeze(0)  # (1, H, W)
    elif x.ndim == 3 and x.shape[2] in (1, 3):
        x = x.permute(2, 0, 1)  # (c, H, W)
    else:
        raise ValueError(f"An image must have shape (H, W) or (H, W, 3); received {tuple(image.shape)}.")
    if x.shape[0] == channels:
        return x.contiguous()
    if channels == 3:
        return x.expand(3, -1, -1).contiguous()
    mean = x.float().mean(0, keepdim=True)
    return mean.round().to(torch.uint8) if x.dtype == torch.uint8 else mean


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bilinear resize of ``(C, H, W)`` (or a batch ``(B, C, H, W)``) to ``height x width``.

    The dtype is kept (``uint8`` results are rounded, float results clipped to [0, 1]).
    """
    if tuple(x.shape[-2:]) == (height, width):
        return x
    batch = x if x.ndim == 4 else x.unsqueeze(0)
    out = F.interpolate(
        batch.float(), size=(height, width), mode="bilinear", antialias=True, align_corners=False
    )
    out = out if x.ndim == 4 else out[0]
    if x.dtype == torch.uint8:
        return out.round_().clamp_(0, 255).to(torch.uint8)
    return out.clamp_(0.0, 1.0)


def center_crop(x: torch.Tensor, size: int, crop_ratio: float = CROP_RATIO) -> torch.Tensor:
    """Evaluation transform: shorter side to ``round(size / crop_ratio)``, then the central ``size x size``.

    Parameters
    ----------
    x : Tensor of shape (C, H, W), or a batch (B, C, H, W) of images of one size
    size : int
    crop_ratio : float or None, default=0.875
        1.0 resizes the shorter side to ``size`` exactly (no border cut); ``None`` resizes the whole image to
        ``size x size`` (no crop, the aspect ratio is not kept).

    Returns
    -------
    Tensor of shape (C, size, size) (or (B, C, size, size)), the dtype of ``x``
    """
    h, w = x.shape[-2:]
    if crop_ratio is None:
        return resize(x, size, size).contiguous()
    short = max(size, int(round(size / crop_ratio)))
    nh, nw = (
        (short, max(short, round(w * short / h))) if h <= w else (max(short, round(h * short / w)), short)
    )
    x = resize(x, nh, nw)
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[..., top : top + size, left : left + size].contiguous()


def _crop_box(h: int, w: int, rng: np.random.Generator, scale, ratio) -> tuple[int, int, int, int]:
    area = h * w
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    in_ratio = w / h  # fallback: the central crop of the clamped aspect ratio
    if in_ratio < ratio[0]:
        cw, ch = w, int(round(w / ratio[0]))
    elif in_ratio > ratio[1]:
        ch, cw = h, int(round(h * ratio[1]))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def random_resized_crop(
    x: torch.Tensor,
    size: int,
    rng: np.random.Generator,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip: bool = True,
) -> torch.Tensor:
    """Training transform: a random crop of area ``scale`` and aspect ``ratio``, resized, maybe flipped.

    Parameters
    ----------
    x : Tensor of shape (C, H, W)
    size : int
    rng : numpy.random.Generator
        The only source of randomness (seed it per sample for reproducible, process-independent crops).
    scale, ratio : tuple of float
    flip : bool
        Flip horizontally with probability 1/2.

    Returns
    -------
    Tensor of shape (C, size, size), the dtype of ``x``
    """
    _, h, w = x.shape
    top, left, ch, cw = _crop_box(h, w, rng, scale, ratio)
    out = resize(x[:, top : top + ch, left : left + cw], size, size)
    if flip and rng.random() < 0.5:
        out = out.flip(-1)
    return out.contiguous()
