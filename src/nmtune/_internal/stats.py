"""Statistics written once: the Student-t confidence interval of a mean."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_interval"]


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean (``scipy.stats.t``).

    Parameters
    ----------
    values : iterable of float or None
        The sample; ``None`` and non-finite entries are left out.
    confidence : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    (mean, lo, hi) : tuple of float
        ``(nan, nan, nan)`` for an empty sample; ``(mean, nan, nan)`` for one value (no interval exists):
        callers say so instead of printing NaN.
    """
    from scipy import stats

    v = np.asarray([x for x in values if x is not None], dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return (m, m - half, m + half)
