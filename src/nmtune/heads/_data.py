"""Input validation and mini-batch streaming for the heads.

X may be a numpy array (float16/32/64 or integer), a numpy memmap (never loaded whole), a torch tensor or
anything array-like; batches are cast to float32 on the host and moved to the device one at a time, so data larger
than device memory works.
"""

from __future__ import annotations

import mmap
import warnings

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from nmtune._internal.validation import check_labels

_FLOATS = (np.float16, np.float32, np.float64)
_CHUNK_ROWS = 65536
#: Largest feature magnitude the heads accept: float32 products of such rows (Gram matrices, logits) stay far
#: from overflow (3.4e38). Real embeddings are many orders of magnitude smaller.
MAX_ABS_FEATURE = 1e15


def _to_numpy(X):
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu()
        if X.dtype not in (torch.float16, torch.float32, torch.float64):
            X = X.float()
        return X.numpy()
    return X


def is_memory_mapped(X) -> bool:
    """Whether ``X`` (or the array it is a view of) lives in a memory-mapped file."""
    while X is not None:
        if isinstance(X, (np.memmap, mmap.mmap)):
            return True
        X = getattr(X, "base", None)
    return False


def as_tensor(a: np.ndarray) -> torch.Tensor:
    """``torch.from_numpy`` without torch's warning for read-only arrays (the heads never write to inputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


def check_finite(X: np.ndarray) -> None:
    """Raise a ``ValueError`` naming the first non-finite entry, scanning ``X`` in row chunks."""
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        chunk = np.asarray(X[start : start + _CHUNK_ROWS])
        if not np.isfinite(chunk).all():
            bad = np.argwhere(~np.isfinite(chunk))[0]
            row, col = int(bad[0]) + start, int(bad[1])
            kind = "NaN" if np.isnan(chunk[bad[0], bad[1]]) else "infinity"
            raise ValueError(
                f"Input X contains {kind} (first at row {row}, column {col}). nmtune heads need finite features: "
                "drop or impute those rows (e.g. sklearn.impute.SimpleImputer) before fitting or predicting."
            )
        biggest = float(np.abs(chunk).max()) if chunk.size else 0.0
        if biggest > MAX_ABS_FEATURE:
            raise ValueError(
                f"Input X holds values up to {biggest:.3g} in magnitude; nmtune heads train in float32 and accept "
                f"|x| <= {MAX_ABS_FEATURE:.0e}. Standardise the features first (e.g. "
                "sklearn.preprocessing.StandardScaler, or divide by their norm)."
            )


def validate_X(est, X, *, reset: bool) -> np.ndarray:
    """Validate a feature matrix (N, D) for ``est``; keeps float dtypes (and memmaps) without copying."""
    X = _to_numpy(X)
    dtype = None if getattr(X, "dtype", None) in _FLOATS else np.float32
    try:
        X = validate_data(est, X, reset=reset, dtype=dtype, ensure_all_finite=False, accept_sparse=False)
    except ValueError as exc:
        msg = str(exc)
        if "dim 3" in msg or "Expected 2D array" in msg:
            raise ValueError(
                f"{msg} nmtune heads take a 2-D feature matrix of shape (n_samples, n_features): flatten "
                "trailing axes (X.reshape(len(X), -1)) or pool them first."
            ) from exc
        raise
    check_finite(X)
    return X


def validate_y(y, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode labels as integers 0..C-1; returns ``(classes, y_encoded)``."""
    if y is None:
        raise ValueError(
            "This head requires y to be passed, but the target y is None: pass class labels, fit(X, y)."
        )
    y = np.asarray(_to_numpy(y))
    if y.ndim == 2 and y.shape[1] == 1:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; ravelling it.",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,); got shape {y.shape}. Pass one label per sample.")
    if len(y) != n_samples:
        raise ValueError(
            f"X and y have inconsistent lengths: X has {n_samples} samples, y has {len(y)} labels. "
            "Pass one label per row of X."
        )
    check_labels(y, what="y")  # the one label check: missing (None, NaN, '') and continuous labels
    try:
        check_classification_targets(y)
    except ValueError as exc:
        raise ValueError(
            f"{exc} nmtune heads are classifiers: y must hold class labels (integers or strings), not "
            "continuous values; got e.g. " + ", ".join(map(repr, y[:3].tolist())) + "."
        ) from exc
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"Classifier needs samples of at least 2 classes in y; got 1 class: {classes[0]!r}. "
            "Check that the labels were loaded correctly."
        )
    return classes, encoded.astype(np.int64)


class FeatureSource:
    """Rows of X as float32 tensors on demand; a memmap is read batch by batch."""

    def __init__(self, X: np.ndarray):
        self.X = X
        self._in_memory = not is_memory_mapped(X)
        self._tensor = as_tensor(np.ascontiguousarray(X, dtype=np.float32)) if self._in_memory else None

    def __len__(self) -> int:
        return self.X.shape[0]

    def max_abs(self) -> float:
        """Largest absolute feature value (read in row chunks)."""
        if self._tensor is not None:
            return float(self._tensor.abs().max()) if self._tensor.numel() else 0.0
        return max(
            (
                float(np.abs(np.asarray(self.X[i : i + _CHUNK_ROWS])).max())
                for i in range(0, len(self), _CHUNK_ROWS)
            ),
            default=0.0,
        )

    def rows(self, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Rows ``idx`` (1-D int64, on CPU) as a float32 (len(idx), D) tensor on ``device``."""
        if self._tensor is not None:
            out = self._tensor.index_select(0, idx)
        else:
            order = np.sort(idx.numpy())
            out = as_tensor(np.asarray(self.X[order], dtype=np.float32))
            if not np.array_equal(order, idx.numpy()):
                out = out[torch.from_numpy(np.argsort(np.argsort(idx.numpy())))]
        if device.type != "cpu":
            out = out.pin_memory().to(device, non_blocking=True)
        return out

    def slices(self, batch_size: int, device: torch.device):
        """Consecutive batches in row order."""
        for start in range(0, len(self), batch_size):
            stop = min(start + batch_size, len(self))
            if self._tensor is not None:
                out = self._tensor[start:stop]
            else:
                out = as_tensor(np.asarray(self.X[start:stop], dtype=np.float32))
            if device.type != "cpu":
                out = out.pin_memory().to(device, non_blocking=True)
            yield out
