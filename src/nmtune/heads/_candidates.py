"""The candidate family of :class:`nmtune.heads.NMTuneCV`.

N samples, D features, C classes. Three kinds of candidate:

- heads: the linear probe (:class:`LinearProbe`) and NMTune (:class:`NMTune`), with their defaults;
- strongly regularised linear heads: features standardised on the training data, then multinomial logistic
  regression with an L2 penalty of inverse strength C (scikit-learn's ``LogisticRegression(C)``), fitted to
  convergence (L-BFGS, full batch);
- blends: the average of the class probabilities of NMTune and one linear candidate (WiSE-FT's interpolation
  between a linear probe and a tuned head, done in output space with weight 1/2). A blend needs no fit of its own:
  its validation predictions are the average of its members'.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

__all__ = ["L2Linear", "Blend", "Candidate", "candidate_family"]


class L2Linear(ClassifierMixin, BaseEstimator):
    """Standardised features, then L2-regularised multinomial logistic regression (full batch, L-BFGS).

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength, as scikit-learn's ``LogisticRegression(C)``.
    max_iter : int, default=2000
        L-BFGS iterations.
    """

    def __init__(self, C=1.0, max_iter=2000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit on features ``X`` (N, D) and labels ``y`` (N,); returns ``self``."""
        X = np.asarray(X, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(self.scaler_.transform(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes_``."""
        return self.model_.predict_proba(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

    def transform(self, X) -> np.ndarray:
        """The features the classifier sees before its own standardisation: ``X`` itself, float32 (N, D)."""
        return np.asarray(X, dtype=np.float32)


class Blend(ClassifierMixin, BaseEstimator):
    """The average of the class probabilities of fitted classifiers (output-space WiSE-FT).

    Parameters
    ----------
    members : list of estimators
        Classifiers with ``predict_proba`` and ``transform``, fitted by :meth:`fit` on the same data (so their
        ``classes_`` agree). The first member's ``transform`` is the blend's.
    """

    def __init__(self, members):
        self.members = members

    def fit(self, X, y):
        """Fit every member on ``X`` (N, D), ``y`` (N,); returns ``self``."""
        self.members_ = [m.fit(X, y) for m in self.members]
        self.classes_ = self.members_[0].classes_
        return self

    @classmethod
    def of_fitted(cls, members) -> Blend:
        """A blend of members that are already fitted (on the same data)."""
        blend = cls(list(members))
        blend.members_ = list(members)
        blend.classes_ = blend.members_[0].classes_
        return blend

    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' class probabilities, (N, C)."""
        return np.mean([m.predict_proba(X) for m in self.members_], axis=0)

    def transform(self, X) -> np.ndarray:
        """The first member's transformed features (the tuned head's Z for an NMTune blend)."""
        return self.members_[0].transform(X)


class Candidate:
    """One candidate: a ``name`` and either a ``build(seed)`` factory (a fitted model) or ``members`` (a blend).

    Parameters
    ----------
    name : str
        Shown in ``cv_results_["params"]``, e.g. ``"l2-C0.03"`` or ``"nmtune+lp"``.
    build : callable or None
        ``build(seed) -> unfitted estimator``.
    members : tuple of str
        Names of the fitted candidates a blend averages (empty for a fitted candidate).
    """

    def __init__(self, name: str, build=None, members: tuple[str, ...] = ()):
        self.name = name
        self.build = build
        self.members = tuple(members)

    def __repr__(self) -> str:
        return f"Candidate({self.name!r})"


def candidate_family(*, Cs, blend: bool, lp_params, nmtune_params, device) -> list[Candidate]:
    """The ordered candidates: ``lp``, ``l2-C<C>`` (C ascending), ``nmtune``, then the ``nmtune+...`` blends.

    The order breaks ties in the selection: the earlier (simpler) candidate wins.

    Parameters
    ----------
    Cs : sequence of float
        Inverse strengths of the L2-regularised linear candidates (empty: none).
    blend : bool
        Add the blend of NMTune with every linear candidate.
    lp_params, nmtune_params : dict or None
        Constructor overrides of :class:`LinearProbe` and :class:`NMTune`.
    device : str
        Device of the torch heads.

    Returns
    -------
    list of Candidate
    """
    from .linear import LinearProbe
    from .mlp import NMTune

    lp_kw = {**dict(lp_params or {}), "device": device}
    nm_kw = {**dict(nmtune_params or {}), "device": device}
    linear = [Candidate("lp", lambda seed: LinearProbe(**lp_kw, random_state=seed))]
    for c in sorted(float(c) for c in Cs):
        linear.append(Candidate(f"l2-C{c:g}", lambda seed, c=c: L2Linear(C=c)))
    tuned = Candidate("nmtune", lambda seed: NMTune(**nm_kw, random_state=seed))
    blends = [Candidate(f"nmtune+{m.name}", members=("nmtune", m.name)) for m in linear] if blend else []
    return [*linear, tuned, *blends]


def simplicity_order(names) -> list[int]:
    """Rank of each candidate name for the one-standard-error rule, simplest first (0).

    L2 heads from the strongest penalty (smallest C), then the linear probe, the blends with an L2 head (smallest
    C first), the blend with the linear probe, NMTune: a linear head before an adapted one, and more
    regularisation before less.
    """

    def key(name):
        if name.startswith("l2-C"):
            return (0, float(name[4:]))
        if name == "lp":
            return (1, 0.0)
        if name.startswith("nmtune+l2-C"):
            return (2, float(name[11:]))
        return (3, 0.0) if name == "nmtune+lp" else (4, 0.0)

    order = sorted(range(len(names)), key=lambda i: key(names[i]))
    rank = [0] * len(names)
    for r, i in enumerate(order):
        rank[i] = r
    return rank
