"""NMTuneCV: choose a tuning head by cross-validation on the training data.

The candidates are the linear probe, strongly regularised linear heads, NMTune and their blends; the folds hold
out whole source sub-domains when they are known. The estimator follows scikit-learn's ``*CV`` conventions
(``cv``, ``refit``, ``cv_results_``, ``best_params_``, ``best_estimator_``).

N samples, D features, C classes, K folds.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from nmtune._internal.threads import thread_limit
from nmtune._internal.validation import check_number, seed_from_random_state

from ._candidates import Blend, Candidate, candidate_family, candidate_seed, simplicity_order  # noqa: F401
from ._cv_fit import blend_times, fit_candidate, fit_folds, progress_bar
from ._cv_state import FOLD_ENSEMBLE, _CVState
from ._data import refuse_fit_params, validate_X, validate_y
from .folds import resolve_folds, selection_folds
from .persample import WIDE_CS
from .registry import register_head
from .selection import PATH_CS, SELECTIONS, combine, cv_results, fold_scores, on_path, select_candidate

__all__ = [
    "NMTuneCV",
    "select_candidate",
    "candidate_seed",
    "fit_candidate",
    "DEFAULT_CS",
    "WIDE_CS",
    "SELECTIONS",
    "PENALTIES",
    "FOLD_ENSEMBLE",
    "PRESETS",
]

#: Inverse L2 strengths of the regularised linear candidates before issue 24 (``nmtune-cv-best``): half-decade
#: steps from strong to scikit-learn's default (C = 1), fixed before any evaluation (docs/nmtune-cv.md). The
#: default grid is now :data:`WIDE_CS`, one decade stronger.
DEFAULT_CS = (0.01, 0.03, 0.1, 0.3, 1.0)
#: Penalties of the L2 candidates (``penalty``): scikit-learn's C on the rows of each fit, or per sample.
PENALTIES = ("sum", "per-sample")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class NMTuneCV(_CVState, ClassifierMixin, TransformerMixin, BaseEstimator):
    """Select a tuning head by cross-validation on the training data, then refit it on all of it.

    The candidates (``cv_results_["params"]``, in this order, which also breaks ties): the linear probe ``lp``;
    ``l2ps-C<C>`` (``l2-C<C>`` with ``penalty="sum"``), standardised features plus L2-regularised logistic
    regression for each C in ``Cs``; ``nmtune``; and, with ``blend``, ``nmtune+<linear>``: the average of the
    class probabilities of NMTune and each linear candidate (output-space WiSE-FT; no extra fit). By default
    (``selection="average-1se"``, chosen by issue 24's pre-registered evaluation, docs/nmtune-cv.md) the model
    averages the class probabilities of every candidate within one standard error of the best mean validation
    accuracy over the folds; ``selection="best"`` keeps the best alone (the default before issue 24, with
    ``penalty="sum"`` and ``Cs=DEFAULT_CS``: the head ``nmtune-cv-best``), ``"one-se"`` the simplest within one
    standard error of it (L2 heads from the strongest penalty, then the linear probe, the blends, NMTune).

    Folds: with an int ``cv`` and ``groups`` (the source sub-domain of each training sample,
    :func:`nmtune.heads.folds.group_class_folds`), every fold holds out whole groups, one or more per class, so
    that every class is in every validation fold and no group is split; without ``groups``, stratified K-fold.

    Parameters
    ----------
    Cs : sequence of float, default=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
        Inverse L2 strengths of the regularised linear candidates (empty: none); :data:`WIDE_CS`.
    blend : bool, default=True
        Also score the blends of NMTune with every linear candidate.
    cv : int, splitter or iterable, default=5
        As in scikit-learn's ``GridSearchCV``: an int K (the largest number of folds, at least 2; group-aware
        folds are capped by the number of groups per class, stratified folds by the size of the smallest class);
        a splitter object (its ``split(X, y, groups)`` gives the folds, e.g. ``GroupKFold(3)``); or an iterable
        of ``(train, validation)`` index arrays. Every class must be on the training side of every fold.
    selection : {"best", "one-se", "average-1se", "wise-ft", "average-path"}, default="average-1se"
        Selection rule (:func:`select_candidate`). ``"one-se"`` prefers strongly regularised linear heads when the
        folds cannot tell the candidates apart; offered as the head ``nmtune-cv-1se`` (docs/nmtune-cv.md).
        ``"average-1se"`` averages the class probabilities of every candidate within one standard error of the
        best (:func:`nmtune.heads.selection.within_one_se`; ``best_params_["averaged"]`` lists them; a blend counts
        as one candidate, its members sharing its weight). ``"wise-ft"``: NMTune interpolated in logit space with
        the best L2 candidate, NMTune's weight α in (0, ¼, ½, ¾, 1) chosen on the folds with a one-standard-error
        preference for small α (``best_params_["alpha"]``). ``"average-path"``: the class probabilities of the L2
        candidates with C from 0.003 to 0.1 averaged, whatever the folds say (``best_params_["averaged"]``).
        :func:`nmtune.heads.selection.combine` defines the three combining rules.
    penalty : {"sum", "per-sample"}, default="per-sample"
        L2 candidates: ``"sum"``, ``l2-C<C>`` (the head ``logreg``, scikit-learn's C, a *sum* of losses: the same C
        is a stronger per-sample penalty on a fold than in the refit); ``"per-sample"``, ``l2ps-C<C>`` (the head
        ``logreg-per-sample``): the per-sample penalty ``1 / (C · N)`` of the whole training set on every fold and
        in the refit, so the refit uses the validated strength.
    lpft : bool, default=False
        Add the candidate ``lpft`` (:class:`nmtune.heads.lpft.LPFT`: a residual head started at Z = F with its
        classifier from a strong L2 head).
    group_balance : bool, default=False
        With ``penalty="per-sample"``: the L2 candidates are ``l2gb-C<C>`` (the head ``logreg-group-balanced``),
        fitted with every source group of their rows carrying the same total weight (when ``groups`` are given).
    refit : {True, False, "fold-ensemble"}, default=True
        As in ``GridSearchCV``: True refits the winner on all the training data (``best_estimator_``); False keeps
        no model (the selection only: ``cv_results_``, ``best_params_``; no ``predict``). ``"fold-ensemble"``
        keeps the winner's K fold models and averages their class probabilities (``fold_estimators_``; no refit
        cost, no :meth:`transform`).
    lp_params : dict or None, default=None
        Constructor arguments of the :class:`LinearProbe` candidate (e.g. ``{"min_steps": 0}``).
    nmtune_params : dict or None, default=None
        Constructor arguments of the :class:`NMTune` candidate (e.g. ``{"lam": 0.1}``).
    n_jobs : int or None, default=None
        Parallel fits (joblib); None means 1.
    random_state : int, numpy Generator or None, default=None
        Seeds the folds and every head; the same int gives identical predictions on CPU at the same thread count
        (``n_threads`` or ``NMTUNE_NUM_THREADS``; the automatic count follows the load, and torch's sums differ in
        the last bits between thread counts). Each candidate's seed
        derives from its name (:func:`nmtune.heads._candidates.candidate_seed`): changing ``Cs`` reseeds nothing.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the torch heads.
    progress : bool, default=False
        Show a progress bar over the fits (candidates x folds, then the refit).
    n_threads : int or None, default=None
        Torch and BLAS threads of every fit; None: the cores free now, or ``NMTUNE_NUM_THREADS``.

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
        The winner's K fold models (``refit="fold-ensemble"``).
    candidates_ : list of Candidate
        The candidates, in the order of ``cv_results_`` (family, parameters, strength, simplicity).
    candidate_seeds_ : dict
        The seed each fitted candidate was given, by name.
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
        Cs=WIDE_CS,
        blend=True,
        cv=5,
        selection="average-1se",
        penalty="per-sample",
        lpft=False,
        group_balance=False,
        refit=True,
        lp_params=None,
        nmtune_params=None,
        n_jobs=None,
        random_state=None,
        device="auto",
        progress=False,
        n_threads=None,
    ):
        self.Cs = Cs
        self.blend = blend
        self.cv = cv
        self.selection = selection
        self.penalty = penalty
        self.lpft = lpft
        self.group_balance = group_balance
        self.refit = refit
        self.lp_params = lp_params
        self.nmtune_params = nmtune_params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.progress = progress
        self.n_threads = n_threads

    def _check_params(self) -> None:
        if _is_int(self.cv) or isinstance(self.cv, (bool, np.bool_, float)):
            check_number("cv", self.cv, low=2, integer=True)
        elif (
            self.cv is None
            or isinstance(self.cv, (str, bytes, dict))
            or not (hasattr(self.cv, "split") or hasattr(self.cv, "__iter__"))
        ):
            raise TypeError(
                "cv must be an int (number of folds), a scikit-learn splitter (with split(X, y, groups)) or an "
                f"iterable of (train, validation) index pairs; got {self.cv!r}."
            )
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {list(SELECTIONS)}; got {self.selection!r}.")
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {list(PENALTIES)}; got {self.penalty!r}.")
        if self.group_balance and self.penalty != "per-sample":
            raise ValueError(
                "group_balance=True reweights the per-sample L2 candidates: it needs penalty='per-sample'; got "
                f"penalty={self.penalty!r}."
            )
        fold_ensemble = isinstance(self.refit, str) and self.refit == FOLD_ENSEMBLE
        if not (isinstance(self.refit, (bool, np.bool_)) or fold_ensemble):
            raise ValueError(f"refit must be True, False or {FOLD_ENSEMBLE!r}; got {self.refit!r}.")
        try:
            Cs = [float(c) for c in self.Cs]
        except (TypeError, ValueError):
            raise ValueError(f"Cs must be a sequence of positive numbers; got {self.Cs!r}.") from None
        if not all(np.isfinite(c) and c > 0 for c in Cs):
            raise ValueError(f"Cs must hold positive finite numbers (inverse L2 strengths); got {self.Cs!r}.")
        if self.selection == "wise-ft" and not Cs:
            raise ValueError(
                "selection='wise-ft' interpolates NMTune with the best L2 candidate: Cs is empty."
            )
        if self.selection == "average-path" and not any(map(on_path, Cs)):
            raise ValueError(
                f"selection='average-path' averages the L2 candidates with C in [{PATH_CS[0]:g}, {PATH_CS[1]:g}]; "
                f"Cs has none: {self.Cs!r}."
            )
        for name in ("lp_params", "nmtune_params"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict of constructor arguments or None; got {value!r}.")
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise ValueError(f"n_jobs must be an int or None; got {self.n_jobs!r}.")
        if self.n_threads is not None:
            check_number("n_threads", self.n_threads, low=1, integer=True)

    def _refit_mode(self) -> str:
        """``"refit"``, ``"none"`` or ``"fold-ensemble"``."""
        if isinstance(self.refit, str):
            return self.refit
        return "refit" if self.refit else "none"

    def candidates(self, n_train: int | None = None) -> list[Candidate]:
        """The candidates these parameters give, in the order of ``cv_results_`` (no fitting).

        ``n_train`` (the rows of the training set) is the reference size of the per-sample L2 candidates.
        """
        return candidate_family(
            Cs=self.Cs, blend=self.blend, lp_params=self.lp_params, nmtune_params=self.nmtune_params,
            device=self.device, penalty=self.penalty, lpft=bool(self.lpft), n_train=n_train,
            group_balance=bool(self.group_balance),
        )  # fmt: skip

    def fit(self, X, y, groups=None, **fit_params):
        """Select the candidate on folds of ``X`` (N, D), ``y`` (N,) and refit it; returns ``self``.

        Parameters
        ----------
        X : array-like of shape (N, D)
            Frozen features.
        y : array-like of shape (N,)
            Class labels.
        groups : array-like of shape (N,) or None, default=None
            Source sub-domain of each sample (e.g. the newsgroup of each document). With an int ``cv``, selects
            group-aware folds; a splitter receives them in ``split``.

        Returns
        -------
        NMTuneCV
        """
        refuse_fit_params(self, fit_params)
        self._check_params()
        with thread_limit(self.n_threads):
            return self._fit(X, y, groups)

    def _fit(self, X, y, groups):
        X = validate_X(self, X, reset=True)
        self.classes_, y_enc = validate_y(y, X.shape[0])
        if groups is not None and len(np.asarray(groups)) != X.shape[0]:
            raise ValueError(
                f"groups must have one entry per sample: X has {X.shape[0]} samples, groups has "
                f"{len(np.asarray(groups))}. Pass the source sub-domain of every training row (or groups=None)."
            )
        seed = seed_from_random_state(self.random_state)
        g = None if groups is None else np.asarray(groups)
        self.folds_ = self._make_folds(y_enc, groups, seed)
        self.n_splits_ = len(self.folds_)
        family = self.candidates(X.shape[0])
        fitted = [c for c in family if not c.members]
        self.candidates_ = family
        self.candidate_seeds_ = {c.name: candidate_seed(seed, c.name) for c in fitted}
        jobs = [(c, k) for c in fitted for k in range(self.n_splits_)]
        mode = self._refit_mode()
        with progress_bar(self.progress, len(jobs) + (mode == "refit")) as bar:
            models, probas, times = fit_folds(
                jobs, self.candidate_seeds_, X, y_enc, self.folds_, groups=g, n_jobs=self.n_jobs, bar=bar
            )
            scores = fold_scores(family, probas, y_enc, self.folds_)  # (candidates, K)
            blend_times(family, times)
            self.cv_results_ = cv_results([c.name for c in family], scores, [times[c.name] for c in family])
            self.best_index_ = select_candidate(scores, simplicity_order(family), self.selection)
            combo = combine(self.selection, family, scores, probas, y_enc, self.folds_)
            if combo is not None:
                self.best_index_ = combo.best_index
            best = family[self.best_index_]
            self.best_params_ = {"candidate": best.name}
            self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
            by_name = {c.name: c for c in family}
            if combo is not None:
                self.best_params_.update(combo.params)
                self.best_score_ = combo.score
            if mode == "refit" and combo is not None:
                start = time.perf_counter()
                members = [
                    fit_candidate(by_name[m], self.candidate_seeds_[m], X, y_enc, g) for m in combo.weights
                ]
                self.best_estimator_ = (
                    members[0]
                    if len(members) == 1
                    else Blend.of_fitted(members, list(combo.weights.values()), combo.space)
                )
                self.refit_time_ = time.perf_counter() - start
                if bar is not None:
                    bar.update()
            elif mode == FOLD_ENSEMBLE and combo is not None:
                self.fold_estimators_ = [
                    models[next(iter(combo.weights)), k]
                    if len(combo.weights) == 1
                    else Blend.of_fitted(
                        [models[m, k] for m in combo.weights], list(combo.weights.values()), combo.space
                    )
                    for k in range(self.n_splits_)
                ]
            elif mode == "refit":
                start = time.perf_counter()
                if best.members:
                    members = [by_name[m].build(self.candidate_seeds_[m]) for m in best.members]
                    self.best_estimator_ = Blend(members).fit(X, y_enc)
                else:
                    self.best_estimator_ = fit_candidate(best, self.candidate_seeds_[best.name], X, y_enc, g)
                self.refit_time_ = time.perf_counter() - start
                if bar is not None:
                    bar.update()
            elif mode == FOLD_ENSEMBLE:
                self.fold_estimators_ = [
                    Blend.of_fitted([models[m, k] for m in best.members])
                    if best.members
                    else models[best.name, k]
                    for k in range(self.n_splits_)
                ]
        return self

    # -- folds ------------------------------------------------------------------------------------------------------
    def _make_folds(self, y_enc, groups, seed) -> list[tuple[np.ndarray, np.ndarray]]:
        if _is_int(self.cv):
            return selection_folds(y_enc, groups, int(self.cv), seed)
        return resolve_folds(self.cv, y_enc, groups)

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
        self._check_params()
        y_enc = np.unique(np.asarray(y), return_inverse=True)[1]
        return self._make_folds(y_enc, groups, seed_from_random_state(self.random_state))

    # -- inference ------------------------------------------------------------------------------------------------
    def _final_models(self) -> list:
        check_is_fitted(self, "cv_results_")
        if self._refit_mode() == FOLD_ENSEMBLE:
            return self.fold_estimators_
        if self._refit_mode() == "none":
            raise NotFittedError(
                "This NMTuneCV was fitted with refit=False: it selected a candidate (best_params_) but kept no "
                f"model to predict with. Fit it with refit=True, or refit={FOLD_ENSEMBLE!r} to average the "
                "winner's fold models."
            )
        return [self.best_estimator_]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, C) of the selected candidate, columns in the order of ``classes_``."""
        models = self._final_models()
        X = validate_X(self, X, reset=False)
        with thread_limit(self.n_threads):
            return np.mean([m.predict_proba(X) for m in models], axis=0)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (N,), drawn from ``classes_``."""
        index = self.predict_proba(X).argmax(axis=1)  # checks that the estimator is fitted
        return self.classes_[index]

    def _transformer(self):
        models = self._final_models()
        if self._refit_mode() == FOLD_ENSEMBLE:
            raise ValueError(
                f"NMTuneCV.transform needs refit=True: with refit={FOLD_ENSEMBLE!r} the K fold models each have "
                "their own transform. Fit with refit=True, or use fold_estimators_[k].transform."
            )
        winner = models[0]
        return winner.members_[0] if isinstance(winner, Blend) else winner

    def transform(self, X) -> np.ndarray:
        """Features the selected classifier sees, float32 (N, D): F for linear candidates, Z = h(F) for NMTune.

        For a blend, the NMTune member's Z. Needs ``refit=True`` (fold models do not share one transform).
        """
        winner = self._transformer()
        X = validate_X(self, X, reset=False)
        with thread_limit(self.n_threads):
            return np.asarray(winner.transform(X), dtype=np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of :meth:`transform` (so that ``set_output(transform="pandas")`` works).

        The input names when the selected classifier sees F itself (a linear winner), else the tuned head's
        (``nmtune0``, ...).
        """
        from sklearn.utils.validation import _check_feature_names_in

        winner = self._transformer()
        names = _check_feature_names_in(self, input_features)
        if getattr(winner, "_identity_transform", False):
            return names
        return winner.get_feature_names_out()

    def fit_transform(self, X, y=None, **fit_params):  # noqa: D102 - TransformerMixin needs y for a classifier
        if y is None:
            raise ValueError("NMTuneCV.fit_transform needs labels y: it is a supervised transform.")
        return self.fit(X, y, **fit_params).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def nmtune_cv(*, epochs=None, min_steps=None, batch_size=None, **params) -> NMTuneCV:
    """:class:`NMTuneCV`; ``epochs`` / ``min_steps`` / ``batch_size`` reach its torch candidates (a step budget)."""
    budget = (("epochs", epochs), ("min_steps", min_steps), ("batch_size", batch_size))
    heads = {k: v for k, v in budget if v is not None}
    if heads:
        for key in ("lp_params", "nmtune_params"):
            params[key] = {**heads, **dict(params.get(key) or {})}
    return NMTuneCV(**params)


def _preset(fixed: dict, doc: str):
    """A registry factory: :func:`nmtune_cv` with the parameters ``fixed`` (the caller's override them)."""

    def factory(*, epochs=None, min_steps=None, batch_size=None, **params) -> NMTuneCV:
        return nmtune_cv(epochs=epochs, min_steps=min_steps, batch_size=batch_size, **{**fixed, **params})

    factory.__doc__ = doc
    return factory


_CLASSIC = {"penalty": "sum", "Cs": DEFAULT_CS}
_PER_SAMPLE = {"penalty": "per-sample", "Cs": WIDE_CS}
#: The registered NMTuneCV heads: name -> (fixed parameters, description). ``nmtune-cv`` is the default.
PRESETS = {
    "nmtune-cv": (
        {},
        "NMTuneCV: LP, per-sample L2 heads (C 0.001-1), NMTune and blends on group-aware folds; the candidates "
        "within one SE of the best averaged",
    ),
    "nmtune-cv-best": (
        {**_CLASSIC, "selection": "best"},
        "NMTuneCV's default before issue 24: L2 heads with scikit-learn's C (0.01-1), the single best",
    ),
    "nmtune-cv-1se": (
        {**_CLASSIC, "selection": "one-se"},
        "NMTuneCV with the one-standard-error rule: the simplest candidate within one SE of the best",
    ),
    "nmtune-cv-ps": (
        {**_PER_SAMPLE, "selection": "best"},
        "NMTuneCV with per-sample L2 candidates (1/(C N), C 0.001-1): the validated strength is refitted",
    ),
    "nmtune-cv-avg": (
        {**_PER_SAMPLE, "selection": "average-1se"},
        "NMTuneCV (per-sample L2, C 0.001-1) averaging every candidate within one SE of the best",
    ),
    "nmtune-cv-wiseft": (
        {**_PER_SAMPLE, "selection": "wise-ft"},
        "NMTuneCV interpolating NMTune with the best per-sample L2 head in logit space, weight on folds",
    ),
    "nmtune-cv-path": (
        {**_PER_SAMPLE, "selection": "average-path"},
        "NMTuneCV's per-sample L2 heads from C 0.003 to 0.1, their class probabilities averaged",
    ),
    "nmtune-cv-gb": (
        {**_PER_SAMPLE, "selection": "average-1se", "group_balance": True},
        "nmtune-cv-avg with group-balanced L2 candidates (every source group weighted equally)",
    ),
}
for _name, (_fixed, _description) in PRESETS.items():
    register_head(
        _name,
        nmtune_cv if not _fixed else _preset(_fixed, _description),
        cls=NMTuneCV,
        transforms=True,
        description=_description,
    )
