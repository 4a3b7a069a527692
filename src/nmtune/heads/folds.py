"""Validation folds for selecting a head on training data only.

N samples, C classes, G groups. ``groups`` are the source sub-domains of the training samples (e.g. the newsgroup of
each document). A good fold for domain-shift selection holds out *whole groups*, so that validation measures
accuracy on sub-domains the candidate never saw, and still contains every class, so that accuracy is not the
accuracy on one class.

Leave-one-group-out violates the second condition whenever a group belongs to one class (every newsgroup of the
20 Newsgroups sub-group shift does): its validation fold then holds a single class. :func:`group_class_folds`
instead gives each group a *home class* (its most frequent class) and, in fold k, holds out the k-th bucket of
every class's groups at once ("one group per class at a time"). A group is never split between the training and
the validation side of a fold.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from nmtune._internal.validation import check_random_state

__all__ = [
    "group_class_folds",
    "stratified_folds",
    "selection_folds",
    "SelectionFolds",
    "resolve_folds",
    "check_folds",
]


def _check_ys(y, groups=None) -> tuple[np.ndarray, np.ndarray | None]:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,); got shape {y.shape}.")
    if groups is None:
        return y, None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != len(y):
        raise ValueError(
            f"groups must be 1-D with one entry per sample: y has {len(y)} samples, groups has shape "
            f"{groups.shape}. Pass the source sub-domain of every training sample (or groups=None)."
        )
    return y, groups


def group_class_folds(y, groups, n_splits: int = 5, random_state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group-aware folds in which every validation fold holds every class.

    Each group gets a home class (its most frequent class; ties: the smallest label). The groups of each class
    are shuffled and dealt into ``min(K, G_c)`` buckets, ``K = min(n_splits, max_c G_c)``, where ``G_c`` is
    the number of groups whose home class is c. Fold k validates, for every class c, the groups of bucket
    ``k mod min(K, G_c)`` (a class with fewer groups than folds reuses its groups in several folds) and trains
    on all other groups.

    When some class is the home class of fewer than two groups but every group holds at least two classes
    (domains that each contain several classes), the shuffled groups are dealt into ``min(n_splits, G)`` folds
    instead. Either way every fold is checked to hold every class on both sides.

    Parameters
    ----------
    y : array-like of shape (N,)
        Class labels.
    groups : array-like of shape (N,)
        Group (source sub-domain) of each sample.
    n_splits : int, default=5
        Largest number of folds; fewer are made when no class has that many groups.
    random_state : int, numpy Generator or None, default=None
        Shuffles the groups before they are dealt into buckets.

    Returns
    -------
    list of (ndarray, ndarray)
        ``(train_indices, validation_indices)`` per fold, sorted int64 index arrays into y.

    Raises
    ------
    ValueError
        When a class has fewer than two groups (it could not appear on both sides of a fold), or when a fold
        would leave a class out of its training or validation side (groups that mix classes unevenly).
    """
    y, groups = _check_ys(y, groups)
    if not isinstance(n_splits, (int, np.integer)) or isinstance(n_splits, bool) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
    rng = check_random_state(random_state)
    classes, y_enc = np.unique(y, return_inverse=True)
    names, g_enc = np.unique(groups, return_inverse=True)
    counts = np.zeros((len(names), len(classes)), dtype=np.int64)  # (G, C)
    np.add.at(counts, (g_enc, y_enc), 1)
    home = counts.argmax(axis=1)  # (G,)
    per_class = [np.flatnonzero(home == c) for c in range(len(classes))]
    few = [(classes[c].tolist(), len(g)) for c, g in enumerate(per_class) if len(g) < 2]
    if not few:
        n_folds = min(int(n_splits), max(len(g) for g in per_class))
        buckets = []  # per class: the group ids of each of its buckets
        for g in per_class:
            g = rng.permutation(g)
            n_b = min(n_folds, len(g))
            buckets.append([g[b::n_b] for b in range(n_b)])
        held_out = [np.concatenate([b[k % len(b)] for b in buckets]) for k in range(n_folds)]
    elif (counts > 0).sum(axis=1).min() >= 2 and len(names) >= 2:
        # groups that mix classes (domains that each hold several classes): deal whole groups into folds
        n_folds = min(int(n_splits), len(names))
        order = rng.permutation(len(names))
        held_out = [order[k::n_folds] for k in range(n_folds)]
    else:
        shown = ", ".join(f"class {c!r}: {n}" for c, n in few[:5])
        raise ValueError(
            "Group-aware folds need at least 2 groups per class (each group counted for its most frequent "
            f"class), so that every class is on both sides of every fold; got {shown}. Pass groups=None to use "
            "stratified folds, or give those classes more source sub-domains."
        )
    folds = []
    for k, held in enumerate(held_out):
        in_val = np.isin(g_enc, held)
        train, val = np.flatnonzero(~in_val), np.flatnonzero(in_val)
        for side, idx in (("validation", val), ("training", train)):
            missing = np.setdiff1d(np.arange(len(classes)), np.unique(y_enc[idx]))
            if len(missing):
                raise ValueError(
                    f"Fold {k} of the group-aware folds has no sample of class(es) "
                    f"{classes[missing].tolist()} on its {side} side: the groups mix classes too unevenly. "
                    "Pass groups=None to use stratified folds."
                )
        folds.append((train.astype(np.int64), val.astype(np.int64)))
    return folds


def stratified_folds(y, n_splits: int = 5, random_state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified K-fold (fewer folds when the smallest class has fewer than ``n_splits`` samples).

    Parameters
    ----------
    y : array-like of shape (N,)
        Class labels.
    n_splits : int, default=5
        Number of folds (at least 2).
    random_state : int, numpy Generator or None, default=None
        Seeds the shuffle.

    Returns
    -------
    list of (ndarray, ndarray)
        ``(train_indices, validation_indices)`` per fold.

    Raises
    ------
    ValueError
        When a class has fewer than 2 samples.
    """
    y, _ = _check_ys(y)
    if not isinstance(n_splits, (int, np.integer)) or isinstance(n_splits, bool) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
    smallest = int(np.unique(y, return_counts=True)[1].min())
    if smallest < 2:
        raise ValueError(
            "Stratified folds need at least 2 samples of every class (one to train on, one to validate); the "
            f"smallest class has {smallest}. Add samples of that class or drop it."
        )
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    splitter = StratifiedKFold(min(int(n_splits), smallest), shuffle=True, random_state=seed)
    return [(tr.astype(np.int64), va.astype(np.int64)) for tr, va in splitter.split(np.zeros(len(y)), y)]


def selection_folds(
    y, groups=None, n_splits: int = 5, random_state=None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`group_class_folds` when ``groups`` is given, :func:`stratified_folds` otherwise.

    Parameters
    ----------
    y : array-like of shape (N,)
        Class labels.
    groups : array-like of shape (N,) or None
        Source sub-domain of each sample.
    n_splits : int, default=5
        (Largest) number of folds.
    random_state : int, numpy Generator or None, default=None
        Seeds the fold assignment.

    Returns
    -------
    list of (ndarray, ndarray)
        ``(train_indices, validation_indices)`` per fold.
    """
    if groups is None:
        return stratified_folds(y, n_splits, random_state)
    return group_class_folds(y, groups, n_splits, random_state)


class SelectionFolds:
    """A scikit-learn splitter that gives :func:`selection_folds`: NMTuneCV's folds, for another estimator.

    ``split(X, y, groups)`` holds out whole groups when ``groups`` is given, stratified folds otherwise, exactly as
    ``NMTuneCV(cv=n_splits, random_state=random_state)`` does, so that a baseline can pick its own
    hyper-parameters on the same folds (the head ``logreg-gcv``).

    Parameters
    ----------
    n_splits : int, default=5
        (Largest) number of folds.
    random_state : int or None, default=None
        Seeds the fold assignment.
    """

    def __init__(self, n_splits: int = 5, random_state=None):
        self.n_splits = n_splits
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Yield ``(train_indices, validation_indices)`` for labels ``y`` (N,) and ``groups`` (N,) or None."""
        y_enc = np.unique(np.asarray(y), return_inverse=True)[1]
        yield from selection_folds(y_enc, groups, int(self.n_splits), self.random_state)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The largest number of folds (fewer when the classes or groups do not allow as many)."""
        return int(self.n_splits)

    def __repr__(self) -> str:
        return f"SelectionFolds(n_splits={self.n_splits!r}, random_state={self.random_state!r})"


def check_folds(folds, y) -> list[tuple[np.ndarray, np.ndarray]]:
    """Check ``(train, validation)`` index pairs against labels ``y`` (N,) and return them as int64 arrays.

    Each side must be a non-empty 1-D array of row indices in [0, N) (or a boolean mask of length N), and every
    class must be on the training side of every fold (a head cannot predict a class it never saw).

    Parameters
    ----------
    folds : iterable of (array-like, array-like)
    y : array-like of shape (N,)

    Returns
    -------
    list of (ndarray, ndarray)
    """
    y = np.asarray(y)
    n, classes = len(y), np.unique(y)
    out = []
    for k, fold in enumerate(folds):
        try:
            train, val = fold
        except (TypeError, ValueError):
            raise ValueError(
                f"Fold {k} is not a (train, validation) pair of index arrays; got {type(fold).__name__}."
            ) from None
        pair = []
        for side, idx in (("training", train), ("validation", val)):
            idx = np.asarray(idx)
            if idx.dtype == bool and idx.shape == (n,):
                idx = np.flatnonzero(idx)
            if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
                raise ValueError(
                    f"Fold {k}: the {side} side must be a non-empty 1-D array of row indices; got shape "
                    f"{idx.shape}, dtype {idx.dtype}."
                )
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(
                    f"Fold {k}: the {side} side holds row {int(idx.max() if idx.max() >= n else idx.min())}, "
                    f"outside [0, {n}): the folds were made for other data."
                )
            pair.append(idx.astype(np.int64))
        missing = np.setdiff1d(classes, y[pair[0]])
        if len(missing):
            raise ValueError(
                f"Fold {k} has no training sample of class(es) {missing.tolist()}: every class must be on the "
                "training side of every fold. Use stratified folds (cv=<int>) or a splitter that keeps classes."
            )
        out.append((pair[0], pair[1]))
    if not out:
        raise ValueError("cv gave no folds; pass at least one (train, validation) pair, or an int >= 2.")
    return out


def resolve_folds(cv, y, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds from a scikit-learn splitter or an iterable of ``(train, validation)`` index pairs, checked.

    Parameters
    ----------
    cv : splitter or iterable
        An object with ``split(X, y, groups)`` (e.g. ``StratifiedKFold(3)``, ``GroupKFold``), or the folds.
    y : array-like of shape (N,)
        Labels (given to the splitter).
    groups : array-like of shape (N,) or None
        Given to the splitter's ``split``.

    Returns
    -------
    list of (ndarray, ndarray)
    """
    y = np.asarray(y)
    if isinstance(cv, (str, bytes, dict)) or not (hasattr(cv, "split") or hasattr(cv, "__iter__")):
        raise TypeError(
            "cv must be an int (number of folds), a scikit-learn splitter (with split(X, y, groups)) or an "
            f"iterable of (train, validation) index pairs; got {cv!r}."
        )
    if hasattr(cv, "split"):
        folds = cv.split(np.zeros((len(y), 1), dtype=np.float32), y, groups)
    else:
        folds = cv
    return check_folds(list(folds), y)
