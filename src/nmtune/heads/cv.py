"""NMTuneCV: choose a tuning head by cross-validation on the training data.

The candidates are the linear probe, strongly regularised linear heads, NMTune and their blends; the folds hold
out whole source sub-domains when they are known.

N samples, D features, C classes, K folds.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from nmtune._internal.validation import check_number, seed_from_random_state

from ._candidates import Blend, candidate_family, simplicity_order
from ._data import validate_X, validate_y
from .folds import selection_folds

__all__ = ["NMTuneCV"]

#: Inverse L2 strengths of the regularised linear candidates: half-decade steps from strong to scikit-learn's
#: default (C = 1), fixed before any evaluation (docs/nmtune-cv.md).
DEFAULT_CS = (0.01, 0.03, 0.1, 0.3, 1.0)


SELECTIONS = ("best", "one-se")


def select_candidate(scores, simplicity, rule: str = "best") -> int:
    """Index of the selected candidate from its fold scores.

    Parameters
    ----------
    scores : array-like of shape (n_candidates, K)
        Validation accuracy of every candidate on every fold.
    simplicity : sequence of int, length n_candidates
        Rank of each candidate for ``"one-se"``, simplest first (:func:`simplicity_order`).
    rule : {"best", "one-se"}
        ``"best"``: the highest mean score, the first one on ties. ``"one-se"``: the simplest candidate whose mean
        is within one standard error of the best mean, the standard error being the best candidate's fold
        standard deviation (ddof = 1) over sqrt(K) (Breiman et al., 1984; K = 1: the best).

    Returns
    -------
    int
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=1)
    best = int(np.argmax(mean))
    if rule == "best" or scores.shape[1] < 2:
        return best
    se = float(scores[best].std(ddof=1) / np.sqrt(scores.shape[1]))
    within = np.flatnonzero(mean >= mean[best] - se)
    return int(min(within, key=lambda i: simplicity[i]))


def _fit_one(candidate, seed, X, y, train, val):
    """Fit one candidate on rows ``train``; return its class probabilities on rows ``val`` and the fit time."""
    start = time.perf_counter()
    est = candidate.build(seed).fit(X[train], y[train])
    elapsed = time.perf_counter() - start
    return est, est.predict_proba(X[val]), elapsed


class NMTuneCV(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Select a tuning head by cross-validation on the training data, then refit it on all of it.

    The candidates (``cv_results_["params"]``, in this order, which also breaks ties): the linear probe ``lp``;
    ``l2-C<C>``, standardised features plus L2-regularised logistic regression for each C in ``Cs``;
    ``nmtune``; and, with ``blend``, ``nmtune+<linear>``: the average of the class probabilities of NMTune and
    each linear candidate (output-space WiSE-FT; no extra fit). The candidate with the highest mean validation
    accuracy over the folds wins (``selection="best"``), or the simplest within one standard error of it
    (``selection="one-se"``: L2 heads from the strongest penalty, then the linear probe, the blends, NMTune).

    Folds (:func:`nmtune.heads.folds.selection_folds`): with ``groups`` (the source sub-domain of each training
    sample) every fold holds out whole groups, one or more per class, so that every class is in every validation
    fold and no group is split; without, stratified K-fold.

    Parameters
    ----------
    Cs : sequence of float, default=(0.01, 0.03, 0.1, 0.3, 1.0)
        Inverse L2 strengths of the regularised linear candidates (empty: none).
    blend : bool, default=True
        Also score the blends of NMTune with every linear candidate.
    cv : int, default=5
        (Largest) number of folds, at least 2. Group-aware folds are capped by the number of groups per class;
        stratified folds by the size of the smallest class.
    selection : {"best", "one-se"}, default="best"
        Selection rule (:func:`select_candidate`). ``"one-se"`` prefers strongly regularised linear heads when the
        folds cannot tell the candidates apart; offered as the method ``nmtune-cv-1se`` (docs/nmtune-cv.md).
    refit : bool, default=True
        Refit the winner on all the training data. ``False`` keeps the winner's K fold models and averages their
        class probabilities (no refit cost; :meth:`transform` is then unavailable).
    lp_params : dict or None, default=None
        Constructor arguments of the :class:`LinearProbe` candidate (e.g. ``{"min_steps": 0}``).
    nmtune_params : dict or None, default=None
        Constructor arguments of the :class:`NMTune` candidate (e.g. ``{"lam": 0.1}``).
    n_jobs : int or None, default=None
        Parallel fits (joblib); None means 1.
    random_state : int, numpy Generator or None, default=None
        Seeds the folds and every head; the same int gives identical predictions on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the torch heads.

    Attributes
    ----------
    best_params_ : dict
        ``{"candidate": name}`` of the winner.
    best_index_ : int
        Its index in ``cv_results_``.
    best_score_ : float
        Its mean validation accuracy.
    best_estimator_ : estimator
        The winner refitted on all the data (``refit=True``).
    fold_estimators_ : list of estimators
        The winner's K fold models (``refit=False``).
    cv_results_ : dict of ndarray
        As scikit-learn's ``GridSearchCV``: ``params``, ``param_candidate``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``, ``mean_fit_time``, ``std_fit_time``.
    n_splits_ : int
        Number of folds K.
    folds_ : list of (ndarray, ndarray)
        ``(train_indices, validation_indices)`` of each fold.
    classes_ : ndarray of shape (C,)
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        Cs=DEFAULT_CS,
        blend=True,
        cv=5,
        selection="best",
        refit=True,
        lp_params=None,
        nmtune_params=None,
        n_jobs=None,
        random_state=None,
        device="auto",
    ):
        self.Cs = Cs
        self.blend = blend
        self.cv = cv
        self.selection = selection
        self.refit = refit
        self.lp_params = lp_params
        self.nmtune_params = nmtune_params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device

    def _check_params(self) -> None:
        check_number("cv", self.cv, low=2, integer=True)
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {list(SELECTIONS)}; got {self.selection!r}.")
        try:
            Cs = [float(c) for c in self.Cs]
        except (TypeError, ValueError):
            raise ValueError(f"Cs must be a sequence of positive numbers; got {self.Cs!r}.") from None
        if not all(np.isfinite(c) and c > 0 for c in Cs):
            raise ValueError(f"Cs must hold positive finite numbers (inverse L2 strengths); got {self.Cs!r}.")
        for name in ("lp_params", "nmtune_params"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict of constructor arguments or None; got {value!r}.")
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise ValueError(f"n_jobs must be an int or None; got {self.n_jobs!r}.")

    def fit(self, X, y, groups=None):
        """Select the candidate on folds of ``X`` (N, D), ``y`` (N,) and refit it; returns ``self``.

        Parameters
        ----------
        X : array-like of shape (N, D)
            Frozen features.
        y : array-like of shape (N,)
            Class labels.
        groups : array-like of shape (N,) or None, default=None
            Source sub-domain of each sample (e.g. the newsgroup of each document). Selects group-aware folds.

        Returns
        -------
        NMTuneCV
        """
        from joblib import Parallel, delayed

        self._check_params()
        X = validate_X(self, X, reset=True)
        self.classes_, y_enc = validate_y(y, X.shape[0])
        if groups is not None and len(np.asarray(groups)) != X.shape[0]:
            raise ValueError(
                f"groups must have one entry per sample: X has {X.shape[0]} samples, groups has "
                f"{len(np.asarray(groups))}. Pass the source sub-domain of every training row (or groups=None)."
            )
        seed = seed_from_random_state(self.random_state)
        self.folds_ = self.make_folds(y_enc, groups)
        self.n_splits_ = len(self.folds_)
        family = candidate_family(
            Cs=self.Cs, blend=self.blend, lp_params=self.lp_params, nmtune_params=self.nmtune_params,
            device=self.device,
        )  # fmt: skip
        fitted = [c for c in family if c.build is not None]
        seeds = {
            c.name: int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i, c in enumerate(family)
        }
        jobs = [(c, k) for c in fitted for k in range(self.n_splits_)]
        out = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(c, seeds[c.name], X, y_enc, *self.folds_[k]) for c, k in jobs
        )
        models, probas, times = {}, {}, {}
        for (c, k), (est, proba, elapsed) in zip(jobs, out):
            models[c.name, k] = est
            probas[c.name, k] = proba
            times.setdefault(c.name, [0.0] * self.n_splits_)[k] = elapsed
        for c in family:
            if c.members:
                for k in range(self.n_splits_):
                    probas[c.name, k] = np.mean([probas[m, k] for m in c.members], axis=0)
                times[c.name] = list(np.sum([times[m] for m in c.members], axis=0))
        scores = np.array(
            [
                [np.mean(probas[c.name, k].argmax(1) == y_enc[val]) for k, (_, val) in enumerate(self.folds_)]
                for c in family
            ]
        )  # (candidates, K)
        self.cv_results_ = self._results(family, scores, times)
        self.best_index_ = select_candidate(
            scores, simplicity_order([c.name for c in family]), self.selection
        )
        best = family[self.best_index_]
        self.best_params_ = {"candidate": best.name}
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        by_name = {c.name: c for c in family}
        if self.refit:
            start = time.perf_counter()
            if best.members:
                members = [by_name[m].build(seeds[m]) for m in best.members]
                self.best_estimator_ = Blend(members).fit(X, y_enc)
            else:
                self.best_estimator_ = best.build(seeds[best.name]).fit(X, y_enc)
            self.refit_time_ = time.perf_counter() - start
        else:
            self.fold_estimators_ = [
                Blend.of_fitted([models[m, k] for m in best.members])
                if best.members
                else models[best.name, k]
                for k in range(self.n_splits_)
            ]
        return self

    def make_folds(self, y, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ``(train_indices, validation_indices)`` folds that :meth:`fit` would select on.

        Parameters
        ----------
        y : array-like of shape (N,)
            Class labels.
        groups : array-like of shape (N,) or None
            Source sub-domain of each sample.

        Returns
        -------
        list of (ndarray, ndarray)

        Raises
        ------
        ValueError
            When the groups cannot give folds that hold every class on both sides (e.g. a class with a single
            group); ``groups=None`` (stratified folds) is then the alternative.
        """
        y_enc = np.unique(np.asarray(y), return_inverse=True)[1]
        return selection_folds(y_enc, groups, int(self.cv), seed_from_random_state(self.random_state))

    def _results(self, family, scores, times) -> dict:
        mean = scores.mean(axis=1)
        order = np.argsort(-mean, kind="stable")
        rank = np.empty(len(family), dtype=np.int32)
        rank[order] = np.arange(1, len(family) + 1)
        results = {
            "params": [{"candidate": c.name} for c in family],
            "param_candidate": np.array([c.name for c in family], dtype=object),
            "mean_test_score": mean,
            "std_test_score": scores.std(axis=1),
            "rank_test_score": rank,
            "mean_fit_time": np.array([np.mean(times[c.name]) for c in family]),
            "std_fit_time": np.array([np.std(times[c.name]) for c in family]),
        }
        for k in range(self.n_splits_):
            results[f"split{k}_test_score"] = scores[:, k]
        return results

    # -- inference ------------------------------------------------------------------------------------------------
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, C) of the selected candidate, columns in the order of ``classes_``."""
        check_is_fitted(self, "cv_results_")
        X = validate_X(self, X, reset=False)
        if self.refit:
            return self.best_estimator_.predict_proba(X)
        return np.mean([m.predict_proba(X) for m in self.fold_estimators_], axis=0)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (N,), drawn from ``classes_``."""
        index = self.predict_proba(X).argmax(axis=1)  # checks that the estimator is fitted
        return self.classes_[index]

    def transform(self, X) -> np.ndarray:
        """Features the selected classifier sees, float32 (N, D): F for linear candidates, Z = h(F) for NMTune.

        For a blend, the NMTune member's Z. Needs ``refit=True`` (fold models do not share one transform).
        """
        check_is_fitted(self, "cv_results_")
        if not self.refit:
            raise ValueError(
                "NMTuneCV.transform needs refit=True: with refit=False the K fold models each have their own "
                "transform. Refit with refit=True, or use fold_estimators_[k].transform."
            )
        X = validate_X(self, X, reset=False)
        return np.asarray(self.best_estimator_.transform(X), dtype=np.float32)

    def fit_transform(self, X, y=None, **fit_params):  # noqa: D102 - TransformerMixin needs y for a classifier
        if y is None:
            raise ValueError("NMTuneCV.fit_transform needs labels y: it is a supervised transform.")
        return self.fit(X, y, **fit_params).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
