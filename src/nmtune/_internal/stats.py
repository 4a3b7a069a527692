"""Statistics written once: t-tests and intervals, MDEs, Holm's correction, pooled variances, partial correlation.

Also the paired tests over one fixed test set (McNemar's test, a paired bootstrap over samples).

Shapes: S units of replication (e.g. pre-training seeds), K cells (e.g. noise rates), N test samples, B
bootstrap replicates.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "t_interval",
    "t_test",
    "minimum_detectable_effect",
    "mde_from_se",
    "holm",
    "pooled_residual_sd",
    "partial_correlation",
    "mcnemar",
    "bootstrap_weights",
    "paired_bootstrap",
]


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
    v = np.asarray([x for x in values if x is not None], dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    if np.ptp(v) == 0:
        return 0.0
    return float(_noncentrality(v.size - 1, confidence, power) * float(v.std(ddof=1)) / math.sqrt(v.size))


def mde_from_se(se: float, df: int, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true effect a two-sided t-test of standard error ``se`` on ``df`` df detects with ``power``.

    Exact, with the noncentral t: ``delta * se``.

    Use it with a standard error from a better variance estimate than the test's own (a variance pooled across
    levels, :func:`pooled_residual_sd`) while keeping the test's degrees of freedom.

    Parameters
    ----------
    se : float
        Standard error of the tested mean.
    df : int
        Degrees of freedom of the test (``S - 1`` for a one-sample test over S units).
    confidence, power : float
        As :func:`minimum_detectable_effect`.

    Returns
    -------
    float
        NaN when ``se`` is not finite or ``df < 1``.
    """
    if not math.isfinite(se) or df < 1:
        return math.nan
    if se == 0:
        return 0.0
    return float(_noncentrality(df, confidence, power) * se)


def _noncentrality(df: int, confidence: float, power: float) -> float:
    """The noncentrality delta at which a two-sided t-test on ``df`` degrees of freedom has the given power."""
    from scipy import optimize, stats

    crit = stats.t.ppf(0.5 + confidence / 2, df)

    def shortfall(delta: float) -> float:
        lower = float(np.nan_to_num(stats.nct.cdf(-crit, df, delta)))  # NaN in its far tail: 0
        return float(stats.nct.sf(crit, df, delta)) + lower - power

    hi = crit + 2.0
    while not shortfall(hi) > 0:  # widen the bracket until the power is reached (the test is consistent)
        hi *= 2
    return float(optimize.brentq(shortfall, 0.0, hi, xtol=1e-10))


def t_test(values, *, extra_variance: float = 0.0, confidence: float = 0.95) -> dict:
    """Two-sided one-sample t-test of mean 0 over S units, with its confidence interval.

    Parameters
    ----------
    values : iterable of float
        One value per unit (S,); non-finite entries are left out.
    extra_variance : float, default=0
        Variance added to the mean's squared standard error, e.g. the test-sample variance of the mean from a
        paired bootstrap over a fixed test set that every unit shares (the units' spread does not contain it).
    confidence : float
        Coverage of the interval.

    Returns
    -------
    dict
        ``mean``, ``lo``, ``hi``, ``p``, ``se``, ``df`` (S - 1), ``n``; NaN interval and p with fewer than 2
        units. Identical values (up to 1e-12 relative rounding) with no extra variance have a zero-width interval
        and p = 0, or p = 1 when they are 0.
    """
    from scipy import stats

    v = np.asarray([x for x in values if x is not None], dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    out = {"mean": math.nan, "lo": math.nan, "hi": math.nan, "p": math.nan, "se": math.nan, "df": 0, "n": 0}
    if v.size == 0:
        return out
    m = float(v.mean())
    out.update(mean=m, n=int(v.size), df=int(v.size - 1))
    if v.size < 2:
        return out
    se = math.sqrt(float(v.var(ddof=1)) / v.size + max(float(extra_variance), 0.0))
    scale = max(1.0, float(np.abs(v).max()))
    if se < 1e-12 * scale:  # rounding noise, not variance: identical values
        se = 0.0
        m = 0.0 if abs(m) < 1e-12 * scale else m
        out["mean"] = m
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1)) * se
    p = 1.0 if se == 0 and m == 0 else (0.0 if se == 0 else float(2 * stats.t.sf(abs(m) / se, v.size - 1)))
    out.update(lo=m - half, hi=m + half, p=p, se=se)
    return out


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control over the finite p-values).

    The i-th smallest of m finite p-values becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``; a hypothesis is
    rejected at level alpha when its adjusted p-value is below alpha. NaN p-values (claims that could not be
    tested) stay NaN and do not count in m.

    Parameters
    ----------
    pvalues : array-like of float, shape (m,)

    Returns
    -------
    numpy.ndarray of float, shape (m,)
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def pooled_residual_sd(table) -> tuple[float, int]:
    """Residual standard deviation of an additive two-way fit of a (K cells, S units) table, and its df.

    ``y_ks = mu + a_k + b_s + e_ks``: the unit effect ``b_s`` (e.g. a pre-training seed shared by the backbones of
    every noise rate) cancels in any contrast between cells, so the variance of a contrast ``sum_k c_k y_ks`` over
    units is ``sigma^2 * sum_k c_k^2``, with ``sigma`` estimated here from all K cells at once, on
    ``(K - 1)(S - 1)`` degrees of freedom instead of ``S - 1`` per cell.

    Parameters
    ----------
    table : array-like of float, shape (K, S)
        No missing values.

    Returns
    -------
    (sd, df) : (float, int)
        NaN and 0 when K < 2 or S < 2 or a value is missing.
    """
    y = np.asarray(table, dtype=np.float64)
    if y.ndim != 2 or min(y.shape) < 2 or not np.all(np.isfinite(y)):
        return math.nan, 0
    e = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
    df = (y.shape[0] - 1) * (y.shape[1] - 1)
    return float(math.sqrt((e**2).sum() / df)), int(df)


def partial_correlation(x, y, groups, *, confidence: float = 0.95) -> dict:
    """Correlation of x and y within the levels of a factor (the factor's means removed from both).

    Both variables are centred within each group (equivalent to regressing each on the factor's G dummies);
    the correlation of the residuals is tested on ``n - G - 1`` degrees of freedom, and its interval is the
    Fisher-z interval with standard error ``1 / sqrt(n - G - 2)``.

    Parameters
    ----------
    x, y : array-like of float, shape (n,)
    groups : array-like, shape (n,)
        The factor's level of each observation (e.g. the noise rate of each backbone).

    Returns
    -------
    dict
        ``r``, ``lo``, ``hi``, ``p``, ``df``, ``n``, ``n_groups``; NaN where undefined (``df < 1`` or a constant).
    """
    from scipy import stats

    x, y, g = (np.asarray(a) for a in (x, y, groups))
    x, y = x.astype(np.float64), y.astype(np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, g = x[keep], y[keep], g[keep]
    levels = np.unique(g)
    n, k = x.size, levels.size
    out = {
        "r": math.nan,
        "lo": math.nan,
        "hi": math.nan,
        "p": math.nan,
        "df": n - k - 1,
        "n": n,
        "n_groups": k,
    }
    rx, ry = x.copy(), y.copy()
    for level in levels:
        rows = g == level
        rx[rows] -= x[rows].mean()
        ry[rows] -= y[rows].mean()
    df = n - k - 1
    if df < 1 or not rx.any() or not ry.any():
        return out
    r = float(np.clip((rx @ ry) / math.sqrt((rx @ rx) * (ry @ ry)), -1.0, 1.0))
    t = r * math.sqrt(df / max(1e-300, 1 - r * r))
    out.update(r=r, p=float(2 * stats.t.sf(abs(t), df)))
    if n - k - 2 >= 1:
        z, se = math.atanh(np.clip(r, -0.999999, 0.999999)), 1 / math.sqrt(n - k - 2)
        q = float(stats.norm.ppf(0.5 + confidence / 2))
        out.update(lo=math.tanh(z - q * se), hi=math.tanh(z + q * se))
    return out


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's exact test of two classifiers on the same N test samples.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool, shape (N,)
        Whether each sample was classified correctly by A and by B.

    Returns
    -------
    dict
        ``a_only`` (A right, B wrong), ``b_only``, ``difference`` (accuracy of A minus B) and ``p`` (two-sided
        exact binomial test of ``a_only`` among the discordant pairs; 1 when there are none).
    """
    from scipy import stats

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"correct_a and correct_b must be (N,) of the same N; received {a.shape}, {b.shape}."
        )
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = a_only + b_only
    p = 1.0 if n == 0 else float(stats.binomtest(a_only, n, 0.5).pvalue)
    diff = float(a.mean() - b.mean()) if a.size else math.nan
    return {"a_only": a_only, "b_only": b_only, "difference": diff, "p": p}


def bootstrap_weights(n: int, n_boot: int, random_state=None) -> np.ndarray:
    """Resampling counts of N samples for B bootstrap replicates: (B, N) float32, each row summing to N."""
    from nmtune._internal.validation import check_random_state

    rng = check_random_state(random_state)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float32)


def paired_bootstrap(correct_a, correct_b, *, n_boot: int = 2000, confidence: float = 0.95, random_state=0):
    """Accuracy difference of A and B on one fixed test set, with a percentile interval over resampled samples.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool, shape (N,)
        Per-sample correctness of the two classifiers (the same samples: paired).
    n_boot : int
        Bootstrap replicates B.
    confidence : float
        Coverage of the percentile interval.
    random_state : int, Generator or None
        Seed of the resampling.

    Returns
    -------
    dict
        ``difference`` (A minus B), ``lo``, ``hi``, ``se`` (the replicates' standard deviation).
    """
    a, b = np.asarray(correct_a, dtype=np.float64), np.asarray(correct_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"correct_a and correct_b must be (N,) of the same N > 0; received {a.shape}, {b.shape}."
        )
    w = bootstrap_weights(a.size, n_boot, random_state)
    reps = w @ (a - b) / a.size  # (B,)
    tail = 50 * (1 - confidence)
    lo, hi = np.percentile(reps, [tail, 100 - tail])
    return {
        "difference": float((a - b).mean()),
        "lo": float(lo),
        "hi": float(hi),
        "se": float(reps.std(ddof=1)),
    }
