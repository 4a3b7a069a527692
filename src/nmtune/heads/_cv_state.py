"""The head file of :class:`nmtune.heads.NMTuneCV`: what it saves and how it is read back.

Saved: the winner refitted on all the data (``best``) or the winner's fold models (``fold_estimators``), each a
part of the file (:func:`nmtune.heads._persist.part_state`); ``cv_results_``, ``best_*``, the candidates and their
seeds (JSON); the folds (int64 tensors ``folds/<k>/train``, ``folds/<k>/validation``).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _persist
from ._candidates import Candidate

__all__ = ["FOLD_ENSEMBLE"]

#: ``refit`` value that keeps the winner's K fold models and averages their class probabilities.
FOLD_ENSEMBLE = "fold-ensemble"


class _CVState:
    """Saving and loading of NMTuneCV (a mixin: the estimator is in :mod:`nmtune.heads.cv`)."""

    def save(self, path) -> None:
        """Save the fitted selection and its model(s): JSON (``cv_results_``, candidates...) and tensors.

        Read back by :func:`nmtune.heads.load` without unpickling anything; predictions are identical.
        """
        check_is_fitted(self, "cv_results_")
        _persist.write_state(_persist.head_state(self), path)

    def _saved_params(self) -> dict:
        params = self.get_params(deep=False)
        if not isinstance(self.cv, numbers.Integral) or isinstance(
            self.cv, (bool, np.bool_)
        ):  # a splitter or a list of folds is not kept: the folds themselves are
            params["cv"] = getattr(self, "n_splits_", None)
        return params

    def _save_state(self) -> tuple[dict, dict]:
        tensors = {}
        for k, (train, val) in enumerate(self.folds_):
            tensors[f"folds/{k}/train"] = _persist.index_tensor(train)
            tensors[f"folds/{k}/validation"] = _persist.index_tensor(val)
        meta = {
            "best_index": int(self.best_index_),
            "best_score": float(self.best_score_),
            "best_params": dict(self.best_params_),
            "n_splits": int(self.n_splits_),
            "cv_results": _persist.encode_results(self.cv_results_),
            "candidates": [c.to_json() for c in self.candidates_],
            "candidate_seeds": dict(self.candidate_seeds_),
        }
        if hasattr(self, "best_estimator_"):
            meta["best"], t = _persist.nest("best", *_persist.part_state(self.best_estimator_))
            meta["refit_time"] = float(self.refit_time_)
            tensors.update(t)
        if hasattr(self, "fold_estimators_"):
            meta["fold_estimators"] = []
            for k, model in enumerate(self.fold_estimators_):
                m, t = _persist.nest(f"fold_estimators/{k}", *_persist.part_state(model))
                meta["fold_estimators"].append(m)
                tensors.update(t)
        return meta, tensors

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        self.n_splits_ = int(meta["n_splits"])
        self.folds_ = [
            (tensors[f"folds/{k}/train"].numpy().copy(), tensors[f"folds/{k}/validation"].numpy().copy())
            for k in range(self.n_splits_)
        ]
        self.best_index_ = int(meta["best_index"])
        self.best_score_ = float(meta["best_score"])
        self.best_params_ = dict(meta["best_params"])
        self.cv_results_ = _persist.decode_results(meta["cv_results"])
        self.candidates_ = [Candidate.from_json(c) for c in meta["candidates"]]
        self.candidate_seeds_ = {str(k): int(v) for k, v in meta["candidate_seeds"].items()}
        if self.best_params_.get("candidate") != self.candidates_[self.best_index_].name:
            raise ValueError("best_params does not name the candidate at best_index")
        if self._refit_mode() == "refit":
            self.best_estimator_ = _persist.part_from_state(
                meta["best"], _persist.sub_tensors("best", tensors), device=device
            )
            self.refit_time_ = float(meta.get("refit_time", 0.0))
        elif self._refit_mode() == FOLD_ENSEMBLE:
            self.fold_estimators_ = [
                _persist.part_from_state(
                    m, _persist.sub_tensors(f"fold_estimators/{k}", tensors), device=device
                )
                for k, m in enumerate(meta["fold_estimators"])
            ]
        for model in getattr(self, "fold_estimators_", []) + [getattr(self, "best_estimator_", None)]:
            if model is not None and (
                model.n_features_in_ != self.n_features_in_ or len(model.classes_) != len(self.classes_)
            ):
                raise ValueError("a saved model does not match the selection's features or classes")
