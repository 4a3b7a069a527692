"""NMTuneCV's selection rules: which candidate wins, from the fold scores of every candidate.

n_candidates candidates, K folds. A rule is a pure function of the scores and the candidates' simplicity ranks;
the scores and the ``cv_results_`` table are computed here too.
"""

from __future__ import annotations

import numpy as np

from ._candidates import simplicity_order

__all__ = [
    "SELECTIONS",
    "select_candidate",
    "within_one_se",
    "average_weights",
    "simplicity_order",
    "fold_scores",
    "cv_results",
]

#: The selection rules of :class:`nmtune.heads.NMTuneCV` (its ``selection`` parameter). ``"average-1se"`` keeps
#: the best candidate as ``best_index_`` and averages every candidate within one standard error of it
#: (:func:`within_one_se`).
SELECTIONS = ("best", "one-se", "average-1se")


def within_one_se(scores) -> np.ndarray:
    """Indices of the candidates whose mean fold score is within one standard error of the best mean.

    The standard error is the best candidate's fold standard deviation (ddof = 1) over sqrt(K), as in
    :func:`select_candidate`'s ``"one-se"``; with K = 1 only the best (the first on ties).

    Parameters
    ----------
    scores : array-like of shape (n_candidates, K)

    Returns
    -------
    ndarray of int, ascending
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=1)
    best = int(np.argmax(mean))
    if scores.shape[1] < 2:
        return np.array([best])
    se = float(scores[best].std(ddof=1) / np.sqrt(scores.shape[1]))
    return np.flatnonzero(mean >= mean[best] - se)


def average_weights(chosen) -> dict[str, float]:
    """Weight of each fitted candidate when the ``chosen`` candidates are averaged with equal weights.

    A blend (``members``) counts as one candidate whose weight its members share; a fitted candidate chosen both
    alone and in blends gets the sum.

    Parameters
    ----------
    chosen : sequence of Candidate

    Returns
    -------
    dict
        ``{fitted candidate name: weight}``, weights summing to 1, in order of first appearance.
    """
    weights: dict[str, float] = {}
    for c in chosen:
        parts = c.members or (c.name,)
        for m in parts:
            weights[m] = weights.get(m, 0.0) + 1.0 / (len(chosen) * len(parts))
    return weights


def select_candidate(scores, simplicity, rule: str = "best") -> int:
    """Index of the selected candidate from its fold scores.

    Parameters
    ----------
    scores : array-like of shape (n_candidates, K)
        Validation accuracy of every candidate on every fold.
    simplicity : sequence of int, length n_candidates
        Rank of each candidate for ``"one-se"``, simplest first (:func:`simplicity_order`).
    rule : {"best", "one-se", "average-1se"}
        ``"best"`` (and ``"average-1se"``, whose other members :func:`within_one_se` gives): the highest mean
        score, the first one on ties. ``"one-se"``: the simplest candidate whose mean
        is within one standard error of the best mean, the standard error being the best candidate's fold
        standard deviation (ddof = 1) over sqrt(K) (Breiman et al., 1984; K = 1: the best).

    Returns
    -------
    int
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=1)
    best = int(np.argmax(mean))
    if rule in ("best", "average-1se") or scores.shape[1] < 2:
        return best
    se = float(scores[best].std(ddof=1) / np.sqrt(scores.shape[1]))
    within = np.flatnonzero(mean >= mean[best] - se)
    return int(min(within, key=lambda i: simplicity[i]))


def fold_scores(candidates, probas, y, folds) -> np.ndarray:
    """Validation accuracy of every candidate on every fold, (n_candidates, K); fills in the blends' probabilities.

    Parameters
    ----------
    candidates : sequence of Candidate
        In the order of the rows of the result; a blend (``members``) follows its members.
    probas : dict
        ``probas[name, k]``: class probabilities (n_val_k, C) of each fitted candidate on fold k's validation rows;
        the blends' (the mean of their members') are added in place.
    y : ndarray of shape (N,)
        Encoded labels.
    folds : list of (ndarray, ndarray)
        ``(train_indices, validation_indices)``.

    Returns
    -------
    ndarray of shape (n_candidates, K)
    """
    for c in candidates:
        if c.members:
            for k in range(len(folds)):
                probas[c.name, k] = np.mean([probas[m, k] for m in c.members], axis=0)
    return np.array(
        [
            [np.mean(probas[c.name, k].argmax(1) == y[val]) for k, (_, val) in enumerate(folds)]
            for c in candidates
        ]
    )


def cv_results(names, scores, fit_times) -> dict:
    """The ``cv_results_`` table of scikit-learn's ``GridSearchCV`` from the fold scores.

    Parameters
    ----------
    names : sequence of str, length n_candidates
    scores : ndarray of shape (n_candidates, K)
    fit_times : sequence of sequences, shape (n_candidates, K)
        Fit seconds of each candidate on each fold.

    Returns
    -------
    dict
        ``params``, ``param_candidate``, ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score`` (1 = best, ties in order), ``mean_fit_time``, ``std_fit_time``.
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=1)
    order = np.argsort(-mean, kind="stable")
    rank = np.empty(len(names), dtype=np.int32)
    rank[order] = np.arange(1, len(names) + 1)
    fit_times = np.asarray(fit_times, dtype=float)
    results = {
        "params": [{"candidate": n} for n in names],
        "param_candidate": np.array(list(names), dtype=object),
        "mean_test_score": mean,
        "std_test_score": scores.std(axis=1),
        "rank_test_score": rank,
        "mean_fit_time": fit_times.mean(axis=1),
        "std_fit_time": fit_times.std(axis=1),
    }
    for k in range(scores.shape[1]):
        results[f"split{k}_test_score"] = scores[:, k]
    return results
