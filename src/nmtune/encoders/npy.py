"""``npy:<file.npy>``: precomputed features, e.g. embeddings exported from another system.

The file holds an array (N, D) (any float dtype; returned as ``float32``), memory-mapped. Two ways to
``encode``:

- ``match="index"`` (default): inputs are integer row indices (a sequence or an int array, negative
  indices not allowed); ``encode([3, 0])`` returns rows 3 and 0.
- ``match="position"``: the file was computed for exactly the inputs being encoded, in order; any N
  inputs (texts, images, ...) return all N rows. The count must equal N, nothing else is checked.

``modality`` (default ``"text"``) only labels what the rows describe.
"""

from __future__ import annotations

import os

import numpy as np

from .base import Encoder, file_digest

__all__ = ["NpyEncoder", "npy_encoder"]

MATCHES = ("index", "position")


class NpyEncoder(Encoder):
    """Rows of a precomputed ``.npy`` array.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file with a 2-D array (N, D).
    match : {"index", "position"}, default "index"
        How inputs map to rows (see the module docstring).
    modality : {"text", "image"}, default "text"
        What the rows describe.
    name : str, optional
        Registry name, default ``"npy:" + path``.
    """

    _unit = "row"

    def __init__(self, path, match: str = "index", modality: str = "text", name=None):
        if match not in MATCHES:
            raise ValueError(f"match must be one of {MATCHES}, got {match!r}.")
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"npy encoder: no file {self.path!r}; pass the path of an (N, D) array.")
        self._array = np.load(self.path, mmap_mode="r")
        if self._array.ndim != 2 or not np.issubdtype(self._array.dtype, np.number):
            raise ValueError(
                f"npy encoder: {self.path!r} holds an array of shape {self._array.shape} and dtype "
                f"{self._array.dtype}; expected a numeric 2-D array (N, D)."
            )
        super().__init__(name or f"npy:{path}", self._array.shape[1], modality)
        self.match = match

    @property
    def n_rows(self) -> int:
        """N, the number of stored rows."""
        return int(self._array.shape[0])

    def _fingerprint_parts(self) -> dict:
        return {"weights": file_digest(self.path), "shape": list(self._array.shape)}

    def _validate_inputs(self, inputs):
        if self.match == "position":
            n = len(inputs)
            if n != self.n_rows:
                raise ValueError(
                    f"{self.name}: match='position' needs exactly {self.n_rows} inputs (one per stored row), "
                    f"got {n}."
                )
            return np.arange(n)
        idx = np.asarray(inputs)
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(
                f"{self.name}: with match='index', encode() takes a 1-D sequence of integer row indices, got "
                f"dtype {idx.dtype} and shape {idx.shape}; use match='position' to return the rows in order."
            )
        if idx.min() < 0 or idx.max() >= self.n_rows:
            raise IndexError(
                f"{self.name}: row indices must lie in [0, {self.n_rows}), got [{idx.min()}, {idx.max()}]."
            )
        return idx.astype(np.int64)

    def _encode_batch(self, batch, device):
        return np.asarray(self._array[np.asarray(batch)], dtype=np.float32)


def npy_encoder(path: str, **options) -> NpyEncoder:
    """Registry factory of ``npy:<path>`` (options as :class:`NpyEncoder`)."""
    return NpyEncoder(path, **options)
