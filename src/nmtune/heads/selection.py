"""NMTuneCV's selection rules: which candidate wins, from the fold scores of every candidate.

n_candidates candidates, K folds. A rule is a pure function of the scores and the candidates' simplicity ranks;
the scores and the ``cv_results_`` table are computed here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._candidates import SIMPLICITY, mix_probas, simplicity_order

__all__ = [
    "SELECTIONS",
    "select_candidate",
    "within_one_se",
    "select_alpha",
    "combine",
    "Combination",
    "mix_probas",
    "WISE_ALPHAS",
    "PATH_CS",
    "on_path",
    "average_weights",
    "simplicity_order",
    "fold_scores",
    "cv_results",
]

#: The selection rules of :class:`nmtune.heads.NMTuneCV` (its ``selection`` parameter). ``"average-1se"`` keeps
#: the best candidate as ``best_index_`` and averages every candidate within one standard error of it
#: (:func:`within_one_se`); ``"wise-ft"`` and ``"average-path"`` combine candidates too (:func:`combine`).
SELECTIONS = ("best", "one-se", "average-1se", "wise-ft", "average-path")
#: Interpolation weights of NMTune against the chosen L2 head (``selection="wise-ft"``), 0 = the L2 head alone.
WISE_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The L2 path averaged by ``selection="average-path"``: every L2 candidate with C in this closed range.
PATH_CS = (0.003, 0.1)


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
    rule : str
        One of :data:`SELECTIONS`. ``"best"`` (and the combining rules, :func:`combine`): the highest mean
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
    if rule != "one-se" or scores.shape[1] < 2:
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


def select_alpha(scores) -> int:
    """Index of the interpolation weight chosen on the folds: the smallest within one standard error of the best.

    Parameters
    ----------
    scores : array-like of shape (n_alphas, K)
        Fold accuracies of each weight, in ascending order of the weight (the first row is the L2 head alone).

    Returns
    -------
    int
        The standard error is the best weight's fold standard deviation (ddof = 1) over sqrt(K); K = 1: the best.
    """
    scores = np.asarray(scores, dtype=float)
    within = within_one_se(scores)
    return int(within.min())


@dataclass(frozen=True)
class Combination:
    """What a combining selection rule keeps: fitted candidates, their weights and how they are combined.

    Parameters
    ----------
    weights : dict
        ``{fitted candidate name: weight}``, weights summing to 1.
    space : {"proba", "logit"}
        Weighted mean of the class probabilities, or of their logarithms then a softmax (:func:`mix_probas`).
    best_index : int
        The candidate reported as ``best_index_``.
    score : float
        Mean validation accuracy reported as ``best_score_``.
    params : dict
        Entries added to ``best_params_`` (JSON values).
    """

    weights: dict
    space: str
    best_index: int
    score: float
    params: dict = field(default_factory=dict)


def on_path(C: float) -> bool:
    """Whether an L2 strength C is on the path that ``selection="average-path"`` averages (:data:`PATH_CS`)."""
    lo, hi = PATH_CS
    return lo * (1 - 1e-9) <= float(C) <= hi * (1 + 1e-9)


def _l2_indices(candidates) -> list[int]:
    return [i for i, c in enumerate(candidates) if not c.members and c.simplicity == SIMPLICITY["l2"]]


def combine(rule: str, candidates, scores, probas, y, folds) -> Combination | None:
    """The combination a combining rule selects from the fold results; None for ``"best"`` and ``"one-se"``.

    - ``"average-1se"``: equal weights over every candidate within one standard error of the best
      (:func:`within_one_se`; a blend counts once, :func:`average_weights`), probability space.
    - ``"average-path"``: equal weights over the L2 candidates with C in :data:`PATH_CS` (no choice made on the
      folds; their mean fold accuracy is reported), probability space.
    - ``"wise-ft"``: the L2 candidate of the highest mean fold accuracy (the first on ties) and ``nmtune``,
      interpolated in logit space with NMTune's weight α from :data:`WISE_ALPHAS`, α being the smallest whose
      mean fold accuracy is within one standard error of the best α's (:func:`select_alpha`).

    Parameters
    ----------
    rule : str
        One of :data:`SELECTIONS`.
    candidates : sequence of Candidate
        Rows of ``scores``.
    scores : ndarray of shape (n_candidates, K)
        From :func:`fold_scores`.
    probas : dict
        ``probas[name, k]``, fold validation probabilities (n_val_k, C) of every fitted candidate.
    y : ndarray of shape (N,)
        Encoded labels.
    folds : list of (ndarray, ndarray)

    Returns
    -------
    Combination or None
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=1)
    names = [c.name for c in candidates]

    def fold_accuracy(weights, space):
        return np.array(
            [
                np.mean(
                    mix_probas([probas[m, k] for m in weights], list(weights.values()), space).argmax(1)
                    == y[va]
                )
                for k, (_, va) in enumerate(folds)
            ]
        )

    if rule == "average-1se":
        chosen = [candidates[i] for i in within_one_se(scores)]
        best = int(np.argmax(mean))
        return Combination(average_weights(chosen), "proba", best, float(mean[best]),
                           {"averaged": [c.name for c in chosen]})  # fmt: skip
    if rule == "average-path":
        path = [i for i in _l2_indices(candidates) if on_path(candidates[i].params["C"])]
        if not path:
            raise ValueError(
                f"selection='average-path' averages the L2 candidates with C in [{PATH_CS[0]:g}, {PATH_CS[1]:g}], "
                f"and there are none among {names}: give Cs with values in that range."
            )
        weights = {names[i]: 1.0 / len(path) for i in path}
        best = max(path, key=lambda i: (mean[i], -i))
        return Combination(weights, "proba", best, float(fold_accuracy(weights, "proba").mean()),
                           {"averaged": [names[i] for i in path]})  # fmt: skip
    if rule == "wise-ft":
        l2 = _l2_indices(candidates)
        if not l2 or "nmtune" not in names:
            raise ValueError(
                f"selection='wise-ft' interpolates between the best L2 candidate and nmtune; the candidates are "
                f"{names}: give a non-empty Cs."
            )
        lin = max(l2, key=lambda i: (mean[i], -i))
        alpha_scores = np.array(
            [fold_accuracy({names[lin]: 1.0 - a, "nmtune": a}, "logit") for a in WISE_ALPHAS]
        )  # (n_alphas, K)
        j = select_alpha(alpha_scores)
        alpha = WISE_ALPHAS[j]
        weights = {n: w for n, w in (("nmtune", alpha), (names[lin], 1.0 - alpha)) if w > 0}
        best = lin if alpha <= 0.5 else names.index("nmtune")
        params = {"alpha": float(alpha), "interpolated": [names[lin], "nmtune"],
                  "alpha_scores": [float(v) for v in alpha_scores.mean(axis=1)]}  # fmt: skip
        return Combination(weights, "logit", best, float(alpha_scores[j].mean()), params)
    return None
