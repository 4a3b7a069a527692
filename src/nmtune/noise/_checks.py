"""Validation helpers shared by the noise generators (private)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from nmtune._internal.validation import (
    check_number,
    check_random_state,  # noqa: F401 - re-exported
)


def check_rate(rate) -> float:
    """Validate a noise rate in [0, 1] and return it as a float."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"rate must be a number in [0, 1]; received {type(rate).__name__} ({rate!r}).")
    hint = " (a percentage? divide by 100)" if 1.0 < rate <= 100.0 else ""
    return check_number("rate", rate, low=0, high=1, hint=hint)


def n_to_corrupt(rate: float, n: int) -> int:
    """Number of items to corrupt: ``round(rate * n)`` with halves rounded up (``floor(rate * n + 0.5)``)."""
    return min(n, int(math.floor(rate * n + 0.5)))


def check_labels(y, n_classes=None, *, min_classes: int = 2) -> tuple[np.ndarray, int]:
    """Validate integer labels in ``[0, n_classes)``; infer ``n_classes = max(y) + 1`` when not given.

    Returns
    -------
    y : ndarray of int64, shape (N,)
    n_classes : int
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be a 1-D array of integer labels, shape (N,); received shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError("y is empty; pass at least one label.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(
            f"y must hold integer class indices 0..K-1; received dtype {arr.dtype}. Encode string labels "
            "first, e.g. classes, y = np.unique(labels, return_inverse=True)."
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            bad = arr[~np.isfinite(arr) | (arr != np.round(arr))][:3]
            raise ValueError(
                f"y must hold integer class indices; received non-integer float values such as "
                f"{bad.tolist()}."
            )
    arr = arr.astype(np.int64)
    if n_classes is None:
        k = int(arr.max()) + 1
        if arr.min() < 0:
            raise ValueError(f"labels must lie in [0, K); received a negative label {int(arr.min())}.")
        if k < min_classes:
            raise ValueError(
                f"cannot infer the number of classes K >= {min_classes}: the largest label is {k - 1}. "
                "Pass n_classes explicitly."
            )
        return arr, k
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"n_classes must be an int >= {min_classes}; received {n_classes!r}.")
    k = int(n_classes)
    if k < min_classes:
        raise ValueError(f"n_classes must be >= {min_classes} (noise needs another class); received {k}.")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= k:
        raise ValueError(
            f"labels must lie in [0, n_classes) = [0, {k}); received labels in [{lo}, {hi}]. "
            "Pass the right n_classes or re-encode the labels."
        )
    return arr, k
