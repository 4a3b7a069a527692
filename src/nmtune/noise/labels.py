"""Label noise with exact flip counts: symmetric, pair flip and user transition matrices.

Shapes: ``y`` holds N integer class indices in ``[0, K)``. Every generator picks **exactly**
``round(rate * N)`` samples (halves rounded up: ``floor(rate * N + 0.5)``), uniformly at random over all N
samples, and relabels them. The count is exact over the whole set; per-class rates vary around ``rate``
(see ``NoiseReport.per_class_rate``). This avoids the failure of generators that truncate per-class-pair flip
counts to integers, which with many classes flip almost nothing.
"""

from __future__ import annotations

import numpy as np

from nmtune.noise._checks import check_labels, check_random_state, check_rate, n_to_corrupt
from nmtune.noise.report import NoiseReport

__all__ = ["symmetric_noise", "asymmetric_noise", "pair_flip_transition"]


def symmetric_noise(y, rate, *, n_classes=None, random_state=None):
    """Flip exactly ``round(rate * N)`` labels, each to a uniformly drawn *different* class.

    Parameters
    ----------
    y : array-like of int, shape (N,)
        Clean class indices in ``[0, n_classes)``.
    rate : float
        Fraction of labels to flip, in [0, 1].
    n_classes : int, optional
        K >= 2; inferred as ``max(y) + 1`` when omitted (pass it when the largest class may be absent).
    random_state : None, int or numpy.random.Generator
        Source of randomness; the global RNG is never used.

    Returns
    -------
    y_noisy : ndarray of int64, shape (N,)
        Noisy labels; exactly ``round(rate * N)`` of them differ from ``y``.
    report : NoiseReport
        Realised rate, per-class rates and the empirical transition matrix.

    Examples
    --------
    >>> import numpy as np
    >>> y_noisy, report = symmetric_noise(np.arange(100) % 10, 0.2, random_state=0)
    >>> report.n_flipped
    20
    """
    rate = check_rate(rate)
    y, k = check_labels(y, n_classes)
    rng = check_random_state(random_state)
    n = y.size
    idx = rng.choice(n, size=n_to_corrupt(rate, n), replace=False)
    y_noisy = y.copy()
    # adding an offset in 1..K-1 (mod K) draws uniformly among the K-1 other classes
    y_noisy[idx] = (y[idx] + rng.integers(1, k, size=idx.size)) % k
    return y_noisy, NoiseReport.from_labels(y, y_noisy, n_classes=k, requested_rate=rate, kind="symmetric")


def pair_flip_transition(n_classes: int) -> np.ndarray:
    """The pair-flip transition matrix ``T[k, (k + 1) % K] = 1``, shape (K, K)."""
    k = int(n_classes)
    if k < 2:
        raise ValueError(f"n_classes must be >= 2; received {n_classes}.")
    t = np.zeros((k, k))
    t[np.arange(k), (np.arange(k) + 1) % k] = 1.0
    return t


def _check_transition(transition, n_classes) -> np.ndarray:
    t = np.asarray(transition, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"transition must be a square (K, K) matrix; received shape {t.shape}.")
    if n_classes is not None and t.shape[0] != n_classes:
        raise ValueError(
            f"transition has shape {t.shape} but n_classes = {n_classes}; they must agree (K x K)."
        )
    if t.shape[0] < 2:
        raise ValueError(f"transition must be at least 2 x 2 (K >= 2); received shape {t.shape}.")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("transition must hold finite, non-negative probabilities.")
    sums = t.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(
            f"each row of transition must sum to 1 (row k is P(noisy | clean = k)); rows {bad[:5].tolist()} "
            f"sum to {sums[bad[:5]].round(6).tolist()}."
        )
    return t / sums[:, None]


def asymmetric_noise(y, rate, *, n_classes=None, transition=None, random_state=None):
    """Class-dependent noise: pair flip ``k -> (k + 1) mod K`` by default, or a user transition matrix.

    Exactly ``m = round(rate * N)`` samples are selected uniformly at random. Each selected sample with
    clean label ``k`` gets a new label drawn from row ``k`` of ``transition`` (by default the pair flip, so
    the label becomes ``(k + 1) mod K``).

    Meaning of ``rate`` with a user ``transition``: ``rate`` is the fraction of samples *passed through*
    the matrix. If a row puts mass on its diagonal (``T[k, k] > 0``), some selected samples keep their
    label, so the realised rate is at most ``rate`` (reported in ``report.realised_rate``); with a zero
    diagonal exactly ``m`` labels change. To apply a full noise channel ``P(noisy | clean)`` to every
    sample, pass ``rate=1.0``.

    Parameters
    ----------
    y : array-like of int, shape (N,)
        Clean class indices in ``[0, K)``.
    rate : float
        Fraction of samples to relabel, in [0, 1].
    n_classes : int, optional
        K >= 2; inferred from ``transition`` if given, else as ``max(y) + 1``.
    transition : array-like of float, shape (K, K), optional
        Row-stochastic matrix, ``transition[k, j] = P(new label j | clean label k, sample selected)``.
        Rows must be non-negative and sum to 1 (to 1e-6; they are renormalised).
    random_state : None, int or numpy.random.Generator
        Source of randomness; the global RNG is never used.

    Returns
    -------
    y_noisy : ndarray of int64, shape (N,)
    report : NoiseReport
        ``kind`` is ``"pair_flip"`` or ``"transition"``.
    """
    rate = check_rate(rate)
    if transition is None:
        y, k = check_labels(y, n_classes)
        t, kind = None, "pair_flip"
    else:
        t = _check_transition(transition, n_classes)
        top = int(np.max(y)) if np.size(y) and np.issubdtype(np.asarray(y).dtype, np.integer) else -1
        if top >= t.shape[0]:
            raise ValueError(
                f"transition is {t.shape[0]} x {t.shape[0]} but the labels hold class {top}; a transition needs "
                f"one row and one column per class ({top + 1} x {top + 1} here)."
            )
        y, k = check_labels(y, t.shape[0])
        kind = "transition"
    rng = check_random_state(random_state)
    n = y.size
    idx = rng.choice(n, size=n_to_corrupt(rate, n), replace=False)
    y_noisy = y.copy()
    if t is None:
        y_noisy[idx] = (y[idx] + 1) % k
    else:
        idx.sort()  # a fixed order makes the draw depend only on the seed, not on the selection order
        for c in np.unique(y[idx]):
            members = idx[y[idx] == c]
            y_noisy[members] = rng.choice(k, size=members.size, p=t[c])
    return y_noisy, NoiseReport.from_labels(y, y_noisy, n_classes=k, requested_rate=rate, kind=kind)
