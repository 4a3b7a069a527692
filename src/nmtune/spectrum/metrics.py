"""Spectrum metrics of a feature matrix (NMTune, Sec. 2.3 and App. A.4).

With singular values ``s`` (length K) and ``p_i = s_i / sum_j s_j``:

- SVE (singular value entropy) ``= -sum_i p_i log p_i`` (natural log, ``0 log 0 = 0``); higher = flatter.
- LSVR (largest singular value ratio) ``= -log(s_1 / sum_j s_j)``; lower = the top direction dominates more.
- RankMe (Garrido et al., 2023) ``= exp(-sum_i q_i log q_i)`` with ``q_i = p_i + eps`` and ``eps = 1e-7``, the
  convention of the RankMe paper; with ``eps=0`` it is exactly ``exp(SVE)``, the effective rank.
"""

from __future__ import annotations

import numpy as np

from nmtune.spectrum.svd import singular_values

__all__ = [
    "singular_value_entropy",
    "largest_singular_value_ratio",
    "rankme",
    "metrics_from_singular_values",
    "spectrum_metrics",
]


def _check_s(s) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"s must be a non-empty 1-D array of singular values; received shape {s.shape}.")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(
            "singular values must be finite and non-negative; compute them with singular_values(X)."
        )
    if s.sum() <= 0:
        raise ValueError(
            "all singular values are zero (constant or all-zero features, e.g. centred constant columns); "
            "the spectrum metrics are undefined."
        )
    return s


def _p(s):
    return s / s.sum()


def singular_value_entropy(s) -> float:
    """Singular value entropy ``-sum p_i log p_i``, ``p_i = s_i / sum s``.

    Parameters
    ----------
    s : array-like of float, shape (K,)
        Non-negative singular values, any order, not all zero.

    Returns
    -------
    float
        In ``[0, log K]``.
    """
    p = _p(_check_s(s))
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def largest_singular_value_ratio(s) -> float:
    """LSVR ``= -log(s_1 / sum s)`` where ``s_1 = max(s)``.

    Parameters
    ----------
    s : array-like of float, shape (K,)
        Non-negative singular values, any order, not all zero.

    Returns
    -------
    float
        In ``[0, log K]``; 0 when a single direction carries everything.
    """
    s = _check_s(s)
    return float(np.log(s.sum()) - np.log(s.max()))


def rankme(s, *, eps: float = 1e-7) -> float:
    """RankMe effective rank ``exp(-sum q_i log q_i)``, ``q_i = s_i / sum s + eps``.

    Parameters
    ----------
    s : array-like of float, shape (K,)
        Non-negative singular values, not all zero.
    eps : float, default 1e-7
        The RankMe paper's smoothing constant; ``eps=0`` gives exactly ``exp(singular_value_entropy(s))``.

    Returns
    -------
    float
        In ``[1, K]`` (up to the ``eps`` smoothing).
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0; received {eps}.")
    q = _p(_check_s(s)) + eps
    nz = q[q > 0]
    return float(np.exp(-(nz * np.log(nz)).sum()))


def metrics_from_singular_values(s) -> dict:
    """SVE, LSVR, RankMe and ``sigma_1`` of given singular values (see :func:`spectrum_metrics`)."""
    s = _check_s(s)
    return {
        "sve": singular_value_entropy(s),
        "lsvr": largest_singular_value_ratio(s),
        "rankme": rankme(s),
        "sigma_1": float(s.max()),
    }


def spectrum_metrics(X, *, center: bool = False, normalize_rows: bool = False, **options) -> dict:
    """Spectrum metrics of a feature matrix.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Features (numpy, memmap or CPU tensor).
    center, normalize_rows : bool, default False
        Pre-processing, as in :func:`singular_values`.
    **options
        Passed to :func:`singular_values` (``chunk_size``, ``method``, ``max_memory``, ``progress``).

    Returns
    -------
    dict
        ``sve``, ``lsvr``, ``rankme``, ``sigma_1``, ``n_samples`` (N), ``dim`` (D), ``center``,
        ``normalize_rows``.
    """
    s = singular_values(X, center=center, normalize_rows=normalize_rows, **options)
    n, d = np.shape(X)
    return {
        **metrics_from_singular_values(s),
        "n_samples": int(n),
        "dim": int(d),
        "center": bool(center),
        "normalize_rows": bool(normalize_rows),
    }
