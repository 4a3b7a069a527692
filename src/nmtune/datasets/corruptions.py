"""Deterministic image corruptions and the ``fashion-mnist-c:<corruption>:<severity>`` test sets.

Each corruption is a pure function ``(images (N, H, W) float32 in [0, 1], severity, rng) -> images`` (same
shape, clipped to [0, 1]). Severities 1-3 are deliberately mild (offline-assets.md: Gaussian noise of sigma
0.3 already drives raw-pixel probes to chance):

============  ==========================================================  ======  ======  ======
corruption    parameter                                                   sev. 1  sev. 2  sev. 3
============  ==========================================================  ======  ======  ======
gaussian      std of additive N(0, std) pixel noise                       0.04    0.08    0.12
blur          std (pixels) of a Gaussian blur                             0.6     0.9     1.2
contrast      factor c in ``mean + c * (x - mean)`` (per-image mean)      0.6     0.4     0.25
rotation      angle in degrees, sign drawn per image (bilinear)           10      20      30
============  ==========================================================  ======  ======  ======

The random parts (noise, rotation signs) come from ``numpy.random.default_rng(seed)`` with a fixed seed per
(corruption, severity), so a name always gives the same images.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from nmtune.datasets._base import make_dataset, register_prefix

__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt"]

SEVERITIES = (1, 2, 3)
_PARAMS = {
    "gaussian": (0.04, 0.08, 0.12),
    "blur": (0.6, 0.9, 1.2),
    "contrast": (0.6, 0.4, 0.25),
    "rotation": (10.0, 20.0, 30.0),
}
CORRUPTIONS = tuple(_PARAMS)


def _gaussian(x, p, rng):
    return x + rng.normal(0.0, p, size=x.shape).astype(np.float32)


def _blur(x, p, rng):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma=(0.0, p, p), mode="constant")


def _contrast(x, p, rng):
    mean = x.mean(axis=(1, 2), keepdims=True)
    return mean + p * (x - mean)


def _rotation(x, p, rng):
    from scipy.ndimage import rotate

    signs = rng.choice([-1.0, 1.0], size=x.shape[0])
    out = np.empty_like(x)
    for sign in (-1.0, 1.0):
        rows = signs == sign
        out[rows] = rotate(x[rows], sign * p, axes=(2, 1), reshape=False, order=1, mode="constant")
    return out


_FUNCTIONS = {"gaussian": _gaussian, "blur": _blur, "contrast": _contrast, "rotation": _rotation}


def corrupt(images: np.ndarray, corruption: str, severity: int) -> np.ndarray:
    """Apply one corruption at one severity, deterministically.

    Parameters
    ----------
    images : numpy.ndarray
        float, shape (N, H, W), values in [0, 1].
    corruption : {"gaussian", "blur", "contrast", "rotation"}
        Which corruption.
    severity : {1, 2, 3}
        Strength (see the module table).

    Returns
    -------
    numpy.ndarray
        float32, shape (N, H, W), clipped to [0, 1].
    """
    if corruption not in _PARAMS:
        from nmtune.exceptions import unknown_name_error

        raise unknown_name_error("corruption", corruption, CORRUPTIONS)
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}; received {severity!r}.")
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W); received {x.shape}.")
    rng = np.random.default_rng(zlib.crc32(f"{corruption}:{severity}".encode()))
    out = _FUNCTIONS[corruption](x, _PARAMS[corruption][severity - 1], rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _parse(rest: str) -> tuple[str, int]:
    corruption, _, severity = rest.partition(":")
    if corruption not in _PARAMS or severity not in {str(s) for s in SEVERITIES}:
        raise ValueError(
            f"Malformed name 'fashion-mnist-c:{rest}'. Expected "
            f"'fashion-mnist-c:<corruption>:<severity>' with "
            f"corruption in {', '.join(CORRUPTIONS)} and severity in 1, 2, 3, e.g. 'fashion-mnist-c:blur:1'."
        )
    return corruption, int(severity)


def _load(rest: str, split: str):
    corruption, severity = _parse(rest)
    from nmtune.datasets.images import FASHION_MNIST_CLASSES, _load_fashion_mnist

    clean = _load_fashion_mnist(split)
    images = corrupt(clean.inputs, corruption, severity)
    return make_dataset(
        f"fashion-mnist-c:{rest}", split, images, clean.labels, FASHION_MNIST_CLASSES, "image"
    )


def _splits(rest: str):
    _parse(rest)
    return ("test",)


register_prefix(
    "fashion-mnist-c",
    _load,
    _splits,
    lambda rest: f"fashion-mnist-c:{rest}:v1",
    "fashion-mnist-c:<gaussian|blur|contrast|rotation>:<1|2|3>",
    lambda: [f"fashion-mnist-c:{c}:{s}" for c, s in itertools.product(CORRUPTIONS, SEVERITIES)],
)
