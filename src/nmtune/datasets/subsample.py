"""Stratified, seeded subsets of a labelled split (N samples, C classes).

``stratified_fraction`` draws the 10 / 25 / 50 / 75 / 100 % training subsets of the paper's protocol (§2.1);
``stratified_split`` makes the fixed train/test split of datasets that ship without one; ``cap_indices`` the
fixed per-domain caps (``cap:<n>:<dataset>``) of the protocol.
"""

from __future__ import annotations

import math

import numpy as np

from nmtune._internal.validation import check_random_state

__all__ = ["stratified_fraction", "stratified_split", "stratified_subset", "cap_indices"]


def _class_permutations(labels: np.ndarray, random_state) -> list[np.ndarray]:
    """One random permutation of the row indices of each class, classes in sorted order."""
    rng = check_random_state(random_state)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def stratified_fraction(labels, fraction: float, random_state=None) -> np.ndarray:
    """Indices of a stratified random subset holding ``fraction`` of each class.

    Class ``c`` with ``n_c`` rows keeps ``max(1, floor(fraction * n_c + 0.5))`` rows (round half up, never
    fewer than one), so the total can differ from ``fraction * N`` by at most C / 2 rows plus the classes
    raised to one. The subsets are *nested*: for the same ``random_state`` (an int), the rows kept at a
    smaller fraction are a subset of those kept at a larger one (each class is permuted once and a prefix
    is taken).

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Class labels.
    fraction : float
        In (0, 1]; 1 returns every index.
    random_state : int, numpy.random.Generator or None
        Seed. Pass an int to get reproducible, nested subsets.

    Returns
    -------
    numpy.ndarray
        int64, shape (M,), sorted row indices.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional (N,); received shape {labels.shape}.")
    fraction = float(fraction)
    if not 0.0 < fraction <= 1.0 or math.isnan(fraction):
        raise ValueError(f"fraction must be in (0, 1] (e.g. 0.1 for 10 %); received {fraction}.")
    if fraction == 1.0:
        return np.arange(labels.shape[0], dtype=np.int64)
    keep = []
    for perm in _class_permutations(labels, random_state):
        n_keep = max(1, math.floor(fraction * perm.size + 0.5))
        keep.append(perm[:n_keep])
    return np.sort(np.concatenate(keep)).astype(np.int64) if keep else np.zeros(0, dtype=np.int64)


def stratified_split(labels, test_fraction: float = 0.2, random_state=0) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified train/test split: class ``c`` puts ``floor(test_fraction * n_c + 0.5)`` rows in test.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Class labels.
    test_fraction : float
        In (0, 1).
    random_state : int, numpy.random.Generator or None
        Seed; the built-in datasets use 0.

    Returns
    -------
    train, test : numpy.ndarray
        int64 sorted row indices, disjoint, together ``range(N)``.
    """
    labels = np.asarray(labels)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1); received {test_fraction}.")
    train, test = [], []
    for perm in _class_permutations(labels, random_state):
        n_test = math.floor(test_fraction * perm.size + 0.5)
        test.append(perm[:n_test])
        train.append(perm[n_test:])
    return np.sort(np.concatenate(train)).astype(np.int64), np.sort(np.concatenate(test)).astype(np.int64)


def cap_indices(labels, cap: int | None, random_state: int = 0) -> np.ndarray:
    """Indices of a fixed stratified subsample of about ``cap`` rows (all rows when ``cap`` is None or >= N).

    Each class keeps ``max(1, round(n_c * cap / N))`` rows (:func:`stratified_fraction`), so the class
    proportions are preserved and the result is the same for every run of a grid.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Labels of the split.
    cap : int or None
        Approximate number of rows to keep.
    random_state : int
        Seed of the subsample (0 throughout the protocol).

    Returns
    -------
    numpy.ndarray
        int64 sorted indices, shape (M,).
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    if cap is None or cap >= n:
        return np.arange(n, dtype=np.int64)
    return stratified_fraction(labels, cap / n, random_state)


def stratified_subset(labels, n: int | None, random_state: int = 0) -> np.ndarray:
    """Indices of a stratified random subset of exactly ``n`` rows (all rows when ``n`` is None or >= N).

    scikit-learn's ``train_test_split(..., train_size=n, stratify=labels)``: exactly ``n`` rows, class
    counts as close to proportional as integers allow (so ``n`` must be at least the number of classes). The
    pre-training subsets and the study's downstream subsets use it; the protocol uses
    :func:`stratified_fraction` (a fraction of each class) and :func:`cap_indices`.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Labels.
    n : int or None
        Number of rows to keep.
    random_state : int
        Seed of the subset.

    Returns
    -------
    numpy.ndarray
        int64 sorted indices, shape (min(n, N),).
    """
    labels = np.asarray(labels)
    if n is None or n >= len(labels):
        return np.arange(len(labels), dtype=np.int64)
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(
        np.arange(len(labels)), train_size=n, stratify=labels, random_state=random_state
    )
    return np.sort(idx).astype(np.int64)
