"""Image inputs -> model tensors: validation, grayscale replication, resizing, normalisation.

Accepted inputs (N images):

- a numpy array (N, H, W) (grayscale), (N, H, W, 1) or (N, H, W, 3) (RGB), ``uint8`` in [0, 255] or
  float in [0, 1];
- a sequence of file paths, PIL images or single arrays (H, W) / (H, W, 3), possibly of different sizes.

Every image becomes a float tensor (3, S, S) in [0, 1]: grayscale is replicated to 3 channels; the shorter
side is resized to ``S / crop_fraction`` (bilinear, antialiased, as PIL) and the centre S x S is cropped
(``crop_fraction=1`` keeps the whole of a square image); finally ``(x - mean) / std`` per channel.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["validate_images", "images_to_tensor"]


def validate_images(inputs, name: str):
    """Check image inputs and return an array (N, H, W[, C]) or a list of N images.

    Parameters
    ----------
    inputs : array or sequence
        See the module docstring.
    name : str
        Encoder name, quoted in errors.

    Returns
    -------
    ndarray or list
        ``inputs`` unchanged if it is an array, else as a list.
    """
    if isinstance(inputs, np.ndarray):
        if inputs.ndim == 4 and inputs.shape[-1] not in (1, 3) and inputs.shape[1] in (1, 3):
            raise ValueError(
                f"{name}: images must be channel-last (N, H, W, 3), got shape {inputs.shape}; "
                f"use np.moveaxis(images, 1, -1)."
            )
        if inputs.ndim not in (3, 4) or (inputs.ndim == 4 and inputs.shape[-1] not in (1, 3)):
            raise ValueError(
                f"{name}: an image array must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), "
                f"got {inputs.shape}."
            )
        _check_dtype(inputs, name)
        return inputs
    if isinstance(inputs, str | bytes | os.PathLike):
        raise TypeError(f"{name}: encode() takes a sequence of images, got a single path; wrap it in a list.")
    return list(inputs)


def _check_dtype(arr: np.ndarray, name: str) -> None:
    if arr.dtype == np.uint8 or np.issubdtype(arr.dtype, np.floating):
        return
    raise TypeError(f"{name}: image arrays must be uint8 in [0, 255] or float in [0, 1], got {arr.dtype}.")


def _to_unit_float(t: torch.Tensor, name: str) -> torch.Tensor:
    """uint8 -> [0, 1]; float checked to lie in [0, 1]."""
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    t = t.float()
    if t.numel() and (float(t.min()) < -1e-3 or float(t.max()) > 1 + 1e-3):
        raise ValueError(
            f"{name}: float images must lie in [0, 1], got values in "
            f"[{float(t.min()):.3g}, {float(t.max()):.3g}]; "
            f"divide 0-255 images by 255 or pass them as uint8."
        )
    return t


def _load_one(item, name: str) -> np.ndarray:
    """One path / PIL image / array -> array (H, W) or (H, W, 3)."""
    if isinstance(item, str | os.PathLike):
        from nmtune.exceptions import require

        image_mod = require("PIL.Image", "vision", "reading image files")
        with image_mod.open(item) as im:
            return np.asarray(im.convert("RGB"))
    if isinstance(item, np.ndarray):
        arr = item
    elif hasattr(item, "convert") and hasattr(item, "size"):  # PIL image
        arr = np.asarray(item.convert("RGB") if item.mode not in ("L", "RGB") else item)
    else:
        raise TypeError(
            f"{name}: an image must be a file path, a PIL image or an array (H, W) / (H, W, 3), "
            f"got {type(item).__name__}."
        )
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise ValueError(f"{name}: a single image must have shape (H, W) or (H, W, 3), got {arr.shape}.")
    _check_dtype(arr, name)
    return arr


def _resize_crop(x: torch.Tensor, size: int, crop_fraction: float) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, size, size): shorter side to size / crop_fraction, then centre crop."""
    h, w = x.shape[-2:]
    short = size / crop_fraction
    scale = short / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[..., top : top + size, left : left + size]


def _array_batch_to_tensor(arr: np.ndarray, device, name: str) -> torch.Tensor:
    """(B, H, W[, C]) array -> float (B, 3, H, W) in [0, 1] on device."""
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:  # torch warns on read-only buffers (e.g. memmaps)
        arr = arr.copy()
    t = torch.from_numpy(arr).to(device)
    t = _to_unit_float(t, name)
    if t.ndim == 4 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.ndim == 3:  # grayscale: replicate to 3 channels
        return t.unsqueeze(1).expand(-1, 3, -1, -1)
    return t.permute(0, 3, 1, 2)


def images_to_tensor(
    batch,
    *,
    size: int,
    crop_fraction: float = 1.0,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    device="cpu",
    name: str = "encoder",
) -> torch.Tensor:
    """Turn a batch of images into a normalised model input.

    Parameters
    ----------
    batch : ndarray (B, H, W[, C]) or list of B images
        See the module docstring.
    size : int
        Output side S.
    crop_fraction : float in (0, 1], default 1.0
        Fraction of the resized shorter side kept by the centre crop.
    mean, std : tuple of 3 floats
        Per-channel normalisation applied to [0, 1] values.
    device : str or torch.device
        Where the tensor is built.
    name : str
        Encoder name, quoted in errors.

    Returns
    -------
    torch.Tensor, float32, shape (B, 3, S, S)
    """
    if isinstance(batch, np.ndarray):
        x = _resize_crop(_array_batch_to_tensor(batch, device, name), size, crop_fraction)
    else:
        parts = [
            _resize_crop(
                _array_batch_to_tensor(_load_one(item, name)[None], device, name), size, crop_fraction
            )
            for item in batch
        ]
        x = torch.cat(parts, dim=0)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s
