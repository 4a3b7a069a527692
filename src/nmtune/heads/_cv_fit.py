"""NMTuneCV's fold fits: every fitted candidate on every fold, in parallel, with an optional progress bar.

N samples, D features, C classes, K folds.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from ._candidates import GROUP_FAMILIES, Candidate

__all__ = ["fit_one", "fit_candidate", "fit_folds", "progress_bar", "blend_times"]


def fit_candidate(candidate: Candidate, seed: int, X, y, groups=None):
    """The candidate built with ``seed`` and fitted on ``X`` (n, D) and ``y`` (n,).

    ``groups`` (n,) reach the heads whose ``fit`` takes them (:data:`GROUP_FAMILIES`).
    """
    kw = {"groups": groups} if groups is not None and candidate.family in GROUP_FAMILIES else {}
    return candidate.build(seed).fit(X, y, **kw)


def fit_one(candidate: Candidate, seed: int, X, y, train, val, groups=None):
    """Fit one candidate on rows ``train`` (with their ``groups``, where the head takes them).

    Returns the fitted estimator, its class probabilities (n_val, C) on rows ``val`` and the fit seconds.
    """
    start = time.perf_counter()
    est = fit_candidate(candidate, seed, X[train], y[train], None if groups is None else groups[train])
    elapsed = time.perf_counter() - start
    return est, est.predict_proba(X[val]), elapsed


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, desc: str = "NMTuneCV"):
    """A tqdm bar over ``total`` fits (None when not ``enabled``), closed on leaving the block."""
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="fit", leave=False)
    try:
        yield bar
    finally:
        bar.close()


def fit_folds(jobs, seeds, X, y, folds, *, groups=None, n_jobs=None, bar=None):
    """Fit each ``(candidate, k)`` of ``jobs`` on fold k's training rows and predict its validation rows.

    Parameters
    ----------
    jobs : list of (Candidate, int)
    seeds : dict
        Seed of each candidate, by name.
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
        Encoded labels.
    folds : list of (ndarray, ndarray)
        ``(train_indices, validation_indices)``.
    groups : ndarray of shape (N,) or None
        Source sub-domain of each row (for the heads that take groups).
    n_jobs : int or None
        Parallel fits (joblib).
    bar : tqdm or None
        Advanced once per fit.

    Returns
    -------
    models : dict
        ``models[name, k]``, the fitted estimators.
    probas : dict
        ``probas[name, k]``, class probabilities (n_val_k, C).
    times : dict
        ``times[name]``, a list of K fit seconds.
    """
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(fit_one)(c, seeds[c.name], X, y, *folds[k], groups) for c, k in jobs
    )
    models, probas, times = {}, {}, {}
    for (c, k), (est, proba, elapsed) in zip(jobs, out):
        models[c.name, k] = est
        probas[c.name, k] = proba
        times.setdefault(c.name, [0.0] * len(folds))[k] = elapsed
        if bar is not None:
            bar.set_postfix(candidate=c.name, fold=k)
            bar.update()
    return models, probas, times


def blend_times(candidates, times: dict) -> dict:
    """Add each blend's fold fit times (the sum of its members') to ``times``; returns it."""
    for c in candidates:
        if c.members:
            times[c.name] = list(np.sum([times[m] for m in c.members], axis=0))
    return times
