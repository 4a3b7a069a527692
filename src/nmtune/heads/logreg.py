"""Standardised logistic regression: the strong linear baselines (``logreg``, ``logreg-cv``).

N samples, D features, C classes. Features are standardised on the training data (in float64), then a multinomial
logistic regression with an L2 penalty of inverse strength C (scikit-learn's ``LogisticRegression(C)``) is fitted
to convergence (L-BFGS, full batch). :class:`LogReg` fixes C; :class:`LogRegCV` picks it by K-fold
cross-validation on the training data, as scikit-learn's ``GridSearchCV`` would. NMTuneCV's ``l2-C<C>``
candidates are :class:`LogReg` heads.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from nmtune._internal.threads import thread_limit
from nmtune._internal.validation import check_number, seed_from_random_state

from . import _persist
from ._data import refuse_fit_params, validate_X, validate_y
from .folds import SelectionFolds, resolve_folds
from .registry import register_head

__all__ = ["LogReg", "LogRegCV", "LOGREG_CS"]

#: Inverse L2 strengths :class:`LogRegCV` tries: from strong to weak (docs/nmtune-cv.md's ``logreg-cv``).
LOGREG_CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)


class _LinearHead(ClassifierMixin, TransformerMixin, BaseEstimator):
    """What both heads share: predictions of a fitted :class:`LogReg` and the identity transform."""

    _identity_transform = True  # transform(X) is X

    def _final(self) -> LogReg:
        raise NotImplementedError

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes_``."""
        check_is_fitted(self, "classes_")
        X = validate_X(self, X, reset=False)
        return self._final()._proba(X, getattr(self, "n_threads", None))

    def decision_function(self, X) -> np.ndarray:
        """Class scores (N, C); (N,) for two classes."""
        check_is_fitted(self, "classes_")
        X = validate_X(self, X, reset=False)
        final = self._final()
        with thread_limit(getattr(self, "n_threads", None)):
            return final.model_.decision_function(final.scaler_.transform(np.asarray(X, dtype=np.float64)))

    def predict(self, X) -> np.ndarray:
        """Predicted labels (N,): the class of the largest score (as scikit-learn's ``LogisticRegression``)."""
        check_is_fitted(self, "classes_")
        X = validate_X(self, X, reset=False)
        final = self._final()
        with thread_limit(getattr(self, "n_threads", None)):
            index = final.model_.predict(final.scaler_.transform(np.asarray(X, dtype=np.float64)))
        return self.classes_[index]

    def transform(self, X) -> np.ndarray:
        """The features the classifier sees before its own standardisation: ``X`` itself, float32 (N, D)."""
        check_is_fitted(self, "classes_")
        return np.asarray(validate_X(self, X, reset=False), dtype=np.float32)

    def fit_transform(self, X, y=None, **fit_params):  # noqa: D102 - TransformerMixin needs y for a classifier
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.fit_transform needs labels y: it is a supervised transform."
            )
        return self.fit(X, y, **fit_params).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The input feature names (the transform is the identity)."""
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self, "classes_")
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class LogReg(_LinearHead):
    """Standardised features, then L2-regularised multinomial logistic regression (full batch, L-BFGS).

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength, as scikit-learn's ``LogisticRegression(C)``.
    max_iter : int, default=2000
        L-BFGS iterations.
    n_threads : int or None, default=None
        BLAS threads during fit and predict; None: the cores free now, or ``NMTUNE_NUM_THREADS``.

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
    n_features_in_ : int
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations run.
    scaler_ : sklearn.preprocessing.StandardScaler
    model_ : sklearn.linear_model.LogisticRegression
        Fitted on the standardised features and the labels encoded 0..C-1.
    """

    def __init__(self, C=1.0, max_iter=2000, *, n_threads=None):
        self.C = C
        self.max_iter = max_iter
        self.n_threads = n_threads

    def _final(self) -> LogReg:
        return self

    def _check_params(self) -> None:
        check_number("C", self.C, low=0, low_open=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        if self.n_threads is not None:
            check_number("n_threads", self.n_threads, low=1, integer=True)

    def fit(self, X, y, **fit_params):
        """Fit on features ``X`` (N, D) and labels ``y`` (N,); returns ``self``."""
        refuse_fit_params(self, fit_params)
        return self._fit_weighted(X, y, None)

    def _fit_weighted(self, X, y, weights):
        """Fit with row ``weights`` ((N,), summing to N) in the scaler and the loss, or unweighted (None)."""
        self._check_params()
        X = validate_X(self, X, reset=True)
        self.classes_, y_enc = validate_y(y, X.shape[0])
        with thread_limit(self.n_threads):
            X = np.asarray(X, dtype=np.float64)
            self.scaler_ = StandardScaler().fit(X, sample_weight=weights)
            self.model_ = LogisticRegression(C=self._sklearn_C(X.shape[0]), max_iter=self.max_iter).fit(
                self.scaler_.transform(X), y_enc, sample_weight=weights
            )
        self.n_iter_ = self.model_.n_iter_
        self._after_fit(X.shape[0])
        return self

    def _after_fit(self, n: int) -> None:
        """Hook run at the end of a fit on ``n`` rows (subclasses record what depends on n)."""

    def _sklearn_C(self, n: int) -> float:
        """scikit-learn's C for a fit on ``n`` rows (here C itself; :class:`PerSampleL2` rescales it)."""
        return float(self.C)

    def _proba(self, X, n_threads) -> np.ndarray:
        with thread_limit(n_threads):
            return self.model_.predict_proba(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted head (JSON description and tensors; read back by :func:`nmtune.heads.load`)."""
        check_is_fitted(self, "model_")
        _persist.write_state(_persist.head_state(self), path)

    def _save_state(self) -> tuple[dict, dict]:
        tensors = {
            "mean": self.scaler_.mean_,
            "scale": self.scaler_.scale_,
            "coef": self.model_.coef_,
            "intercept": self.model_.intercept_,
        }
        return {"n_iter": int(np.max(self.model_.n_iter_))}, {
            k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in tensors.items()
        }

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        d, c = self.n_features_in_, len(self.classes_)
        rows = 1 if c == 2 else c
        want = {"mean": (d,), "scale": (d,), "coef": (rows, d), "intercept": (rows,)}
        for key, shape in want.items():
            if key not in tensors:
                raise ValueError(f"tensor {key!r} is missing")
            if tuple(tensors[key].shape) != shape:
                raise ValueError(f"tensor {key!r} has shape {tuple(tensors[key].shape)}, expected {shape}")
        t = {k: tensors[k].to(torch.float64).numpy() for k in want}
        scaler = StandardScaler()
        scaler.mean_, scaler.scale_ = t["mean"], t["scale"]
        scaler.var_ = scaler.scale_**2
        scaler.n_features_in_ = d
        scaler.n_samples_seen_ = 0
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.coef_, model.intercept_ = t["coef"], t["intercept"]
        model.classes_ = np.arange(c)
        model.n_features_in_ = d
        model.n_iter_ = np.array([int(meta.get("n_iter", 0))], dtype=np.int32)
        self.scaler_, self.model_ = scaler, model
        self.n_iter_ = model.n_iter_


class LogRegCV(_LinearHead):
    """Standardised logistic regression with C picked by K-fold cross-validation on the training data.

    Every C of ``Cs`` is fitted on each fold's training rows and scored (accuracy) on its validation rows; the C
    of the highest mean score (the first on ties, so the strongest penalty) is refitted on all the data, as
    scikit-learn's ``GridSearchCV(LogisticRegression)`` over a standardising pipeline does.

    Parameters
    ----------
    Cs : sequence of float, default=(0.01, 0.03, 0.1, 0.3, 1, 3, 10, 100)
        Inverse L2 strengths tried, in this order.
    cv : int, splitter or iterable, default=5
        An int K: shuffled stratified K-fold seeded by ``random_state``; a scikit-learn splitter (its
        ``split(X, y, groups)`` is called); or an iterable of ``(train, validation)`` index arrays.
    max_iter : int, default=2000
        L-BFGS iterations.
    random_state : int, numpy Generator or None, default=None
        Seeds the shuffle of the folds (an int K only).
    n_threads : int or None, default=None
        BLAS threads; None: the cores free now, or ``NMTUNE_NUM_THREADS``.

    Attributes
    ----------
    best_params_ : dict
        ``{"C": C}`` of the chosen strength.
    best_index_ : int
    best_score_ : float
        Its mean validation accuracy.
    best_estimator_ : LogReg
        Refitted on all the data.
    cv_results_ : dict of ndarray
        As ``GridSearchCV``: ``params``, ``param_C``, ``split<k>_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``.
    n_splits_ : int
    classes_ : ndarray of shape (C,)
    n_features_in_ : int
    """

    def __init__(self, *, Cs=LOGREG_CS, cv=5, max_iter=2000, random_state=None, n_threads=None):
        self.Cs = Cs
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_threads = n_threads

    def _final(self) -> LogReg:
        return self.best_estimator_

    def _check_params(self) -> list[float]:
        try:
            Cs = [float(c) for c in self.Cs]
        except (TypeError, ValueError):
            raise ValueError(f"Cs must be a sequence of positive numbers; got {self.Cs!r}.") from None
        if not Cs or not all(np.isfinite(c) and c > 0 for c in Cs):
            raise ValueError(f"Cs must hold at least one positive finite number; got {self.Cs!r}.")
        check_number("max_iter", self.max_iter, low=1, integer=True)
        if self.n_threads is not None:
            check_number("n_threads", self.n_threads, low=1, integer=True)
        return Cs

    def fit(self, X, y, groups=None, **fit_params):
        """Pick C on folds of ``X`` (N, D), ``y`` (N,) and refit; ``groups`` reach a group splitter's ``split``."""
        refuse_fit_params(self, fit_params)
        Cs = self._check_params()
        X = validate_X(self, X, reset=True)
        self.classes_, y_enc = validate_y(y, X.shape[0])
        folds = self._folds(y_enc, groups)
        self.n_splits_ = len(folds)
        with thread_limit(self.n_threads):
            scores = np.array(
                [
                    [
                        np.mean(
                            LogReg(C=c, max_iter=self.max_iter).fit(X[tr], y_enc[tr]).predict(X[va])
                            == y_enc[va]
                        )
                        for tr, va in folds
                    ]
                    for c in Cs
                ]
            )  # (len(Cs), K)
            mean = scores.mean(axis=1)
            self.best_index_ = int(np.argmax(mean))
            self.best_params_ = {"C": Cs[self.best_index_]}
            self.best_score_ = float(mean[self.best_index_])
            self.best_estimator_ = LogReg(C=Cs[self.best_index_], max_iter=self.max_iter).fit(X, y_enc)
        self.n_iter_ = self.best_estimator_.n_iter_
        from scipy.stats import rankdata

        self.cv_results_ = {
            "params": [{"C": c} for c in Cs],
            "param_C": np.array(Cs, dtype=object),
            "mean_test_score": mean,
            "std_test_score": scores.std(axis=1),
            "rank_test_score": rankdata(-mean, method="min").astype(np.int32),
            **{f"split{k}_test_score": scores[:, k] for k in range(self.n_splits_)},
        }
        return self

    def _folds(self, y_enc, groups):
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            check_number("cv", self.cv, low=2, integer=True)
            from sklearn.model_selection import StratifiedKFold

            seed = None if self.random_state is None else seed_from_random_state(self.random_state) % 2**32
            splitter = StratifiedKFold(int(self.cv), shuffle=True, random_state=seed)
            return resolve_folds(splitter, y_enc)  # stratified: groups play no part (and would warn)
        return resolve_folds(self.cv, y_enc, groups)

    def _saved_params(self) -> dict:
        params = self.get_params(deep=False)
        if not (isinstance(self.cv, numbers.Integral) or self.cv is None):
            params["cv"] = getattr(self, "n_splits_", None)  # a splitter or list of folds is not data to keep
        return params

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted head (JSON description and tensors; read back by :func:`nmtune.heads.load`)."""
        check_is_fitted(self, "best_estimator_")
        _persist.write_state(_persist.head_state(self), path)

    def _save_state(self) -> tuple[dict, dict]:
        best_meta, best_tensors = _persist.nest("best", *_persist.part_state(self.best_estimator_))
        meta = {
            "best_index": self.best_index_,
            "best_score": self.best_score_,
            "n_splits": self.n_splits_,
            "cv_results": _persist.encode_results(self.cv_results_),
            "best": best_meta,
        }
        return meta, best_tensors

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        self.best_estimator_ = _persist.part_from_state(
            meta["best"], _persist.sub_tensors("best", tensors), device=device
        )
        self.best_index_ = int(meta["best_index"])
        self.best_score_ = float(meta["best_score"])
        self.n_splits_ = int(meta["n_splits"])
        self.cv_results_ = _persist.decode_results(meta["cv_results"])
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        self.n_iter_ = self.best_estimator_.n_iter_


register_head(
    "logreg",
    LogReg,
    description="standardised logistic regression (L-BFGS, L2 of inverse strength C, default 1)",
)


def logreg_gcv(*, Cs=LOGREG_CS, cv=5, max_iter=2000, random_state=None, n_threads=None) -> LogRegCV:
    """:class:`LogRegCV` that picks C on NMTuneCV's folds (:class:`nmtune.heads.folds.SelectionFolds`).

    With ``groups`` in ``fit`` its folds hold out whole source sub-domains, the same folds as
    ``NMTuneCV(cv=cv, random_state=random_state)``; without, stratified folds. A saved file keeps the number of
    folds (``cv``), not the splitter.
    """
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        cv = SelectionFolds(int(cv), random_state)
    return LogRegCV(Cs=Cs, cv=cv, max_iter=max_iter, random_state=random_state, n_threads=n_threads)


register_head(
    "logreg-cv",
    LogRegCV,
    description="standardised logistic regression, C from 0.01 to 100 picked by stratified 5-fold CV",
)
register_head(
    "logreg-gcv",
    logreg_gcv,
    cls=LogRegCV,
    description="standardised logistic regression, C picked on NMTuneCV's group-aware folds",
)
