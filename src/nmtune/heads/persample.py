"""Standardised logistic regression with a per-sample L2 penalty (``logreg-per-sample``).

N samples, D features, C classes. scikit-learn's ``LogisticRegression(C)`` minimises ``C · Σ_i loss_i + ½‖W‖²``:
the penalty per sample is ``λ = 1 / (C · N)``, so the same C is a stronger per-sample penalty on a fold of
N(K−1)/K rows than after the refit on N rows. :class:`PerSampleL2` fixes ``λ = 1 / (C · n_ref)`` instead, with
``n_ref`` the size of the data the strength was chosen for: fitted on n rows it uses scikit-learn's
``C_eff = 1 / (λ · n) = C · n_ref / n``. With ``n_ref=None`` (n_ref = n) it is :class:`~nmtune.heads.LogReg`.
NMTuneCV's ``penalty="per-sample"`` candidates set ``n_ref`` to the size of its whole training set, so a strength
validated on the folds is the strength refitted.
"""

from __future__ import annotations

import numpy as np

from nmtune._internal.validation import check_number

from ._data import refuse_fit_params
from .logreg import LogReg
from .registry import register_head

__all__ = ["PerSampleL2", "GroupBalancedL2", "group_balance_weights", "effective_C", "WIDE_CS"]

#: NMTuneCV's per-sample grid (``nmtune-cv-ps``): the default grid widened by one decade towards strong penalties.
WIDE_CS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def effective_C(C: float, n_ref: int | None, n: int) -> float:
    """scikit-learn's C on ``n`` rows that gives the per-sample penalty ``1 / (C · n_ref)`` (n_ref None: n)."""
    return float(C) if n_ref is None else float(C) * float(n_ref) / float(n)


class PerSampleL2(LogReg):
    """Standardised features, then logistic regression with the per-sample L2 penalty ``λ = 1 / (C · n_ref)``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength at ``n_ref`` rows (scikit-learn's C when fitted on ``n_ref`` rows).
    n_ref : int or None, default=None
        Rows the strength refers to; None: the rows of each fit (then this is :class:`LogReg`).
    max_iter : int, default=2000
        L-BFGS iterations.
    n_threads : int or None, default=None
        BLAS threads; None: the cores free now, or ``NMTUNE_NUM_THREADS``.

    Attributes
    ----------
    C_ : float
        The scikit-learn C of the fit (``C · n_ref / n``).
    penalty_ : float
        The per-sample penalty λ of the fit, ``1 / (C_ · n)``.
    classes_, n_features_in_, n_iter_, scaler_, model_
        As :class:`LogReg`.
    """

    def __init__(self, C=1.0, n_ref=None, max_iter=2000, *, n_threads=None):
        super().__init__(C=C, max_iter=max_iter, n_threads=n_threads)
        self.n_ref = n_ref

    def _check_params(self) -> None:
        super()._check_params()
        if self.n_ref is not None:
            check_number("n_ref", self.n_ref, low=1, integer=True)

    def _sklearn_C(self, n: int) -> float:
        return effective_C(self.C, self.n_ref, n)

    def _after_fit(self, n: int) -> None:
        self.C_ = self._sklearn_C(n)
        self.penalty_ = 1.0 / (self.C_ * n)

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        super()._load_state(meta, tensors, device)
        if "C_eff" in meta:
            self.C_ = float(meta["C_eff"])
            self.model_.C = self.C_

    def _save_state(self) -> tuple[dict, dict]:
        meta, tensors = super()._save_state()
        return {**meta, "C_eff": float(self.C_)}, tensors


def group_balance_weights(groups) -> np.ndarray:
    """Row weights under which every group carries the same total weight, (N,), summing to N.

    ``w_i = N / (G · n_{g(i)})`` for G groups, group g(i) of row i holding n_g rows (the reweighting of DFR and
    group-DRO's balanced baseline).

    Parameters
    ----------
    groups : array-like of shape (N,)

    Returns
    -------
    ndarray of shape (N,), float64
    """
    _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    n, g = len(inverse), len(counts)
    return n / (g * counts[inverse].astype(np.float64))


class GroupBalancedL2(PerSampleL2):
    """:class:`PerSampleL2` fitted with every source group carrying the same total weight.

    With ``groups`` (the source sub-domain of each row), the scaler's statistics and the loss use the weights of
    :func:`group_balance_weights` (they sum to N, so the per-sample penalty ``1 / (C · n_ref)`` keeps its
    meaning); without, it is :class:`PerSampleL2`.

    Parameters
    ----------
    C, n_ref, max_iter, n_threads
        As :class:`PerSampleL2`.
    """

    def fit(self, X, y, groups=None, **fit_params):
        """Fit on ``X`` (N, D), ``y`` (N,), rows weighted by ``groups`` (N,) when given; returns ``self``."""
        refuse_fit_params(self, fit_params)
        if groups is None:
            return super().fit(X, y)
        groups = np.asarray(groups)
        n = np.shape(X)[0]
        if groups.shape[0] != n:
            raise ValueError(
                f"groups must have one entry per row: X has {n} rows, groups has {groups.shape[0]}. Pass the "
                "source sub-domain of every training row (or groups=None)."
            )
        return self._fit_weighted(X, y, group_balance_weights(groups))


register_head(
    "logreg-group-balanced",
    GroupBalancedL2,
    description="per-sample L2 logistic regression with every source group weighted equally (when groups are given)",
)
register_head(
    "logreg-per-sample",
    PerSampleL2,
    description="standardised logistic regression with a per-sample L2 penalty 1/(C n_ref) (NMTuneCV's folds)",
)
