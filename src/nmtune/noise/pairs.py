"""Caption swaps for paired data (image-text pairs): a permutation that mis-pairs an exact number of items."""

from __future__ import annotations

import numbers

import numpy as np

from nmtune.noise._checks import check_random_state, check_rate, n_to_corrupt
from nmtune.noise.report import NoiseReport

__all__ = ["pair_swap_noise"]


def _random_derangement(m: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random permutation of ``range(m)`` without fixed points (m >= 2), by rejection.

    A uniform permutation is a derangement with probability ~1/e, so about 2.7 draws are needed on average.
    """
    ar = np.arange(m)
    while True:
        p = rng.permutation(m)
        if not np.any(p == ar):
            return p


def pair_swap_noise(n, rate, *, random_state=None):
    """Mis-pair exactly ``round(rate * n)`` of ``n`` items by permuting their partners (captions).

    Item ``i`` gets the caption of item ``perm[i]``. Exactly ``m = round(rate * n)`` (halves rounded up)
    items are chosen uniformly at random and their captions are shuffled by a uniformly random derangement,
    so exactly ``m`` indices satisfy ``perm[i] != i``; the others keep their own caption.

    A single item cannot be mis-paired on its own (its caption has to go to another mis-paired item), so
    ``m = 1`` is impossible and raises a ``ValueError`` naming the nearest rates that work.

    Parameters
    ----------
    n : int
        Number of pairs, >= 1.
    rate : float
        Fraction of items to mis-pair, in [0, 1].
    random_state : None, int or numpy.random.Generator
        Source of randomness; the global RNG is never used.

    Returns
    -------
    permutation : ndarray of int64, shape (n,)
        ``captions_noisy = captions[permutation]``.
    report : NoiseReport
        ``kind="pair_swap"``; no classes, so no per-class rates or transition matrix.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int (the number of pairs); received {n!r}.")
    n = int(n)
    rate = check_rate(rate)
    rng = check_random_state(random_state)
    m = n_to_corrupt(rate, n)
    if m == 1:
        raise ValueError(
            f"rate={rate} with n={n} asks to mis-pair exactly 1 item, which is impossible (a swapped caption "
            f"must land on another mis-paired item). Use rate < {0.5 / n:.4g} for 0 items or "
            f"rate >= {1.5 / n:.4g} for 2 items" + ("." if n >= 2 else "; with n=1 only rate < 0.5 works.")
        )
    perm = np.arange(n, dtype=np.int64)
    if m:
        chosen = np.sort(rng.choice(n, size=m, replace=False))
        perm[chosen] = chosen[_random_derangement(m, rng)]
    report = NoiseReport(
        kind="pair_swap",
        requested_rate=rate,
        n_samples=n,
        n_flipped=int(np.count_nonzero(perm != np.arange(n))),
    )
    return perm, report
