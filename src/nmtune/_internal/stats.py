"""Statistics written once: the Student-t confidence interval of a mean and the minimum detectable effect."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_interval", "minimum_detectable_effect"]


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


def minimum_detectable_effect(values, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true mean a one-sample two-sided t-test on ``values`` detects with the given power.

    Solves ``P(|T| > t_{1 - alpha/2, n-1}) = power`` for the noncentrality ``delta`` of ``T ~ nct(n - 1,
    delta)`` (exact, with ``scipy.stats.nct``) and returns ``delta * s / sqrt(n)``, ``s`` the sample standard
    deviation taken as the true one. It answers "what effect could this many seeds have seen?": an
    "inconclusive" verdict whose MDE is larger than the paper's effect says the study lacked power, not that
    the effect is absent. (The normal-approximation shortcut ``(t_{1-alpha/2} + t_{power}) s / sqrt(n)`` gives
    only 77 % power at n = 3.)

    Parameters
    ----------
    values : iterable of float
        The paired differences (one per seed); non-finite entries are left out.
    confidence : float, default=0.95
        Coverage of the test's interval (alpha = 1 - confidence).
    power : float, default=0.8
        Probability of detecting an effect of the returned size.

    Returns
    -------
    float
        NaN with fewer than 2 values (no variance estimate); 0 when every value is the same.
    """
    from scipy import optimize, stats

    v = np.asarray([x for x in values if x is not None], dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    if np.ptp(v) == 0:
        return 0.0
    df, sd = v.size - 1, float(v.std(ddof=1))
    crit = stats.t.ppf(0.5 + confidence / 2, df)

    def shortfall(delta: float) -> float:
        lower = float(np.nan_to_num(stats.nct.cdf(-crit, df, delta)))  # NaN in its far tail: 0
        return float(stats.nct.sf(crit, df, delta)) + lower - power

    hi = crit + 2.0
    while not shortfall(hi) > 0:  # widen the bracket until the power is reached (the test is consistent)
        hi *= 2
    delta = optimize.brentq(shortfall, 0.0, hi, xtol=1e-10)
    return float(delta * sd / math.sqrt(v.size))
