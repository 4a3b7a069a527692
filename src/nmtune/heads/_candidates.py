"""The candidates of :class:`nmtune.heads.NMTuneCV`: structured records, their seeds, and blends.

N samples, D features, C classes. Three kinds of candidate:

- heads: the linear probe (``lp``) and NMTune (``nmtune``), with their defaults;
- strongly regularised linear heads (``l2-C<C>``): the registry's ``logreg`` head
  (:class:`~nmtune.heads.logreg.LogReg`), standardised features then L2-regularised logistic regression;
- blends (``nmtune+<linear>``): the average of the class probabilities of NMTune and one linear candidate
  (WiSE-FT's interpolation between a linear probe and a tuned head, done in output space with weight 1/2). A blend
  needs no fit of its own: its validation predictions are the average of its members'.

A candidate is data (:class:`Candidate`: its head, parameters, strength and simplicity), never a name parsed back;
its seed derives from its name (:func:`candidate_seed`), so adding or removing other candidates reseeds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from . import _persist
from .registry import create_head, loadable

__all__ = [
    "Candidate",
    "Blend",
    "candidate_family",
    "candidate_seed",
    "simplicity_order",
    "mix_probas",
    "SIMPLICITY",
    "SPACES",
    "GROUP_FAMILIES",
]

#: Groups of the one-standard-error order, simplest first: within a group, the stronger penalty first.
SIMPLICITY = {"l2": 0, "lp": 1, "blend-l2": 2, "blend-lp": 3, "tuned": 4}

#: How a :class:`Blend` combines its members: the weighted mean of their class probabilities, or of their
#: log-probabilities followed by a softmax (the logit-space interpolation of WiSE-FT).
SPACES = ("proba", "logit")
#: Registry heads whose ``fit`` takes ``groups`` (NMTuneCV passes each fit the groups of its rows).
GROUP_FAMILIES = frozenset({"logreg-group-balanced"})

# ``lp`` and ``nmtune`` keep the keys they had as positions in the default family (0 and 6) when seeds were
# derived from positions, so that results computed then reproduce exactly; every other name is hashed.
_LEGACY_SEED_KEYS = {"lp": 0, "nmtune": 6}


def mix_probas(probas, weights, space: str = "proba") -> np.ndarray:
    """Combine the class probabilities of several models, (N, C).

    Parameters
    ----------
    probas : sequence of ndarray of shape (N, C)
    weights : sequence of float
        One per model; normalised to sum to 1.
    space : {"proba", "logit"}
        ``"proba"``: the weighted mean of the probabilities. ``"logit"``: ``softmax(Σ_m w_m log p_m)``, which is
        ``softmax(Σ_m w_m z_m)`` for models whose probabilities are ``softmax(z_m)`` (log-probabilities differ
        from logits by a per-row constant); probabilities are clipped at 1e-300 before the logarithm.

    Returns
    -------
    ndarray of shape (N, C)
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {list(SPACES)}; got {space!r}.")
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    stack = np.stack([np.asarray(p, dtype=np.float64) for p in probas])  # (models, N, C)
    if space == "proba":
        return np.tensordot(w, stack, axes=1)
    z = np.tensordot(w, np.log(np.clip(stack, 1e-300, None)), axes=1)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def candidate_seed(seed: int, name: str) -> int:
    """The seed of candidate ``name`` under NMTuneCV's seed ``seed``: derived from the name, not a position.

    Parameters
    ----------
    seed : int
        NMTuneCV's seed (from its ``random_state``).
    name : str
        The candidate's name.

    Returns
    -------
    int
        In [0, 2**32).
    """
    key = _LEGACY_SEED_KEYS.get(name)
    if key is None:
        key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    return int(np.random.SeedSequence([int(seed), key]).generate_state(1)[0])


@dataclass(frozen=True)
class Candidate:
    """One candidate of NMTuneCV.

    Parameters
    ----------
    name : str
        Shown in ``cv_results_["params"]``, e.g. ``"l2-C0.03"`` or ``"nmtune+lp"``.
    family : str
        The registry head it is (``"lp"``, ``"logreg"``, ``"nmtune"``...), or ``"blend"``.
    params : mapping
        Constructor arguments of the head (for a blend: none).
    strength : float, default=0.0
        Regularisation strength used by the one-standard-error order: ``1/C`` of an L2 head (of the L2 member of
        a blend), 0 otherwise.
    simplicity : int, default=0
        Group in the one-standard-error order (:data:`SIMPLICITY`), simplest first.
    members : tuple of str
        Names of the fitted candidates a blend averages (empty otherwise).
    """

    name: str
    family: str
    params: Mapping[str, Any] = field(default_factory=dict)
    strength: float = 0.0
    simplicity: int = 0
    members: tuple[str, ...] = ()

    def build(self, seed: int | None = None):
        """The unfitted head, seeded with ``seed`` where it takes one (a blend has nothing to build)."""
        if self.members:
            raise ValueError(f"Candidate {self.name!r} is a blend of {list(self.members)}: fit its members.")
        from .registry import get_head

        params = dict(self.params)
        if "random_state" in get_head(self.family).params:
            params["random_state"] = seed
        return create_head(self.family, **params)

    def to_json(self) -> dict[str, Any]:
        """The candidate as JSON (what a saved NMTuneCV keeps in ``candidates``)."""
        return {
            "name": self.name,
            "family": self.family,
            "params": _persist.json_params_of(dict(self.params)),
            "strength": float(self.strength),
            "simplicity": int(self.simplicity),
            "members": list(self.members),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        """The inverse of :meth:`to_json`."""
        return cls(
            name=str(data["name"]),
            family=str(data["family"]),
            params=dict(data.get("params") or {}),
            strength=float(data.get("strength", 0.0)),
            simplicity=int(data.get("simplicity", 0)),
            members=tuple(data.get("members") or ()),
        )


@loadable
class Blend(ClassifierMixin, BaseEstimator):
    """The average of the class probabilities of fitted classifiers (output-space WiSE-FT), or of their logits.

    Parameters
    ----------
    members : list of estimators
        Classifiers with ``predict_proba`` and ``transform``, fitted by :meth:`fit` on the same data (so their
        ``classes_`` agree). The first member's ``transform`` is the blend's.
    weights : sequence of float or None, default=None
        One per member (normalised); None: equal.
    space : {"proba", "logit"}, default="proba"
        Combine probabilities, or log-probabilities then a softmax (:func:`mix_probas`).
    """

    def __init__(self, members=(), weights=None, space="proba"):
        self.members = members
        self.weights = weights
        self.space = space

    def fit(self, X, y):
        """Fit every member on ``X`` (N, D), ``y`` (N,); returns ``self``."""
        self.members_ = [m.fit(X, y) for m in self.members]
        self.classes_ = self.members_[0].classes_
        self.n_features_in_ = self.members_[0].n_features_in_
        return self

    @classmethod
    def of_fitted(cls, members, weights=None, space="proba") -> Blend:
        """A blend of members that are already fitted (on the same data)."""
        blend = cls(list(members), None if weights is None else [float(w) for w in weights], space)
        blend.members_ = list(members)
        blend.classes_ = blend.members_[0].classes_
        blend.n_features_in_ = blend.members_[0].n_features_in_
        return blend

    def _weights(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.members_), 1.0 / len(self.members_))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def predict_proba(self, X) -> np.ndarray:
        """Weighted mean (default: mean) of the members' class probabilities, or of their logits, (N, C)."""
        probas = [m.predict_proba(X) for m in self.members_]
        if self.weights is None and self.space == "proba":
            return np.stack(probas).mean(axis=0)
        return mix_probas(probas, self._weights(), self.space)

    def predict(self, X) -> np.ndarray:
        """Labels of the largest mean probability, (N,)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def transform(self, X) -> np.ndarray:
        """The first member's transformed features (the tuned head's Z for an NMTune blend)."""
        return self.members_[0].transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The first member's output feature names."""
        return self.members_[0].get_feature_names_out(input_features)

    def _saved_params(self) -> dict:
        params = {} if self.weights is None else {"weights": [float(w) for w in self.weights]}
        if self.space != "proba":
            params["space"] = self.space
        return params  # the members are saved as parts

    def _save_state(self) -> tuple[dict, dict]:
        metas, tensors = [], {}
        for i, member in enumerate(self.members_):
            meta, t = _persist.nest(f"members/{i}", *_persist.part_state(member))
            metas.append(meta)
            tensors.update(t)
        return {"members": metas}, tensors

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        members = meta["members"]
        if not isinstance(members, list) or not members:
            raise ValueError("a blend needs a non-empty list of members")
        self.members_ = [
            _persist.part_from_state(m, _persist.sub_tensors(f"members/{i}", tensors), device=device)
            for i, m in enumerate(members)
        ]
        self.members = list(self.members_)


def candidate_family(
    *,
    Cs,
    blend: bool,
    lp_params,
    nmtune_params,
    device,
    penalty="sum",
    lpft=False,
    n_train=None,
    group_balance=False,
) -> list[Candidate]:
    """The ordered candidates: ``lp``, the L2 heads (C ascending), ``nmtune``, ``lpft``, then the blends.

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
    penalty : {"sum", "per-sample"}
        ``"sum"``: ``l2-C<C>``, the head ``logreg`` (scikit-learn's C on whatever rows it is fitted on);
        ``"per-sample"``: ``l2ps-C<C>``, the head ``logreg-per-sample`` with ``n_ref = n_train`` (the per-sample
        penalty ``1 / (C · n_train)`` on every fold and in the refit).
    lpft : bool
        Add ``lpft`` (:class:`nmtune.heads.lpft.LPFT`, after ``nmtune``; no blend; it takes the step budget,
        ``epochs`` / ``min_steps`` / ``batch_size``, of ``nmtune_params``).
    n_train : int or None
        Rows of the whole training set (``n_ref`` of the per-sample heads; None before a fit).
    group_balance : bool
        With ``penalty="per-sample"``: ``l2gb-C<C>``, the head ``logreg-group-balanced`` (every source group of the
        rows fitted carries the same weight; unweighted when a fit gets no groups) instead of ``l2ps-C<C>``.

    Returns
    -------
    list of Candidate
    """
    lp = Candidate("lp", "lp", {**dict(lp_params or {}), "device": device}, 0.0, SIMPLICITY["lp"])
    if penalty == "per-sample":
        prefix, head = ("l2gb", "logreg-group-balanced") if group_balance else ("l2ps", "logreg-per-sample")
        l2 = [
            Candidate(f"{prefix}-C{c:g}", head, {"C": c, "n_ref": n_train}, 1.0 / c, SIMPLICITY["l2"])
            for c in sorted(float(c) for c in Cs)
        ]
    else:
        l2 = [
            Candidate(f"l2-C{c:g}", "logreg", {"C": c}, 1.0 / c, SIMPLICITY["l2"])
            for c in sorted(float(c) for c in Cs)
        ]
    linear = [lp, *l2]
    tuned = Candidate(
        "nmtune", "nmtune", {**dict(nmtune_params or {}), "device": device}, 0.0, SIMPLICITY["tuned"]
    )
    extra = []
    if lpft:
        budget = {
            k: v for k, v in dict(nmtune_params or {}).items() if k in ("epochs", "min_steps", "batch_size")
        }
        extra.append(Candidate("lpft", "lpft", {**budget, "device": device}, 0.0, SIMPLICITY["tuned"]))
    blends = []
    if blend:
        for m in linear:
            group = SIMPLICITY["blend-lp"] if m.family == "lp" else SIMPLICITY["blend-l2"]
            blends.append(Candidate(f"nmtune+{m.name}", "blend", {}, m.strength, group, ("nmtune", m.name)))
    return [*linear, tuned, *extra, *blends]


def _legacy_candidate(name: str) -> Candidate:
    """A candidate from a name alone, for names read back from stored records (older results files)."""
    if name.startswith("nmtune+"):
        member = _legacy_candidate(name[len("nmtune+") :])
        group = SIMPLICITY["blend-lp"] if member.family == "lp" else SIMPLICITY["blend-l2"]
        return Candidate(name, "blend", {}, member.strength, group, ("nmtune", member.name))
    if name.startswith(("l2ps-C", "l2gb-C")):
        c = float(name[6:])
        head = "logreg-per-sample" if name.startswith("l2ps") else "logreg-group-balanced"
        return Candidate(name, head, {"C": c}, 1.0 / c, SIMPLICITY["l2"])
    if name.startswith("l2-C"):
        return Candidate(name, "logreg", {"C": float(name[4:])}, 1.0 / float(name[4:]), SIMPLICITY["l2"])
    if name == "lp":
        return Candidate(name, "lp", {}, 0.0, SIMPLICITY["lp"])
    return Candidate(name, name, {}, 0.0, SIMPLICITY["tuned"])


def simplicity_order(candidates) -> list[int]:
    """Rank of each candidate for the one-standard-error rule, simplest first (0).

    L2 heads from the strongest penalty (smallest C), then the linear probe, the blends with an L2 head (smallest
    C first), the blend with the linear probe, NMTune: a linear head before an adapted one, and more
    regularisation before less. Ties keep the given order.

    Parameters
    ----------
    candidates : sequence of Candidate (or of names, as stored in older records)

    Returns
    -------
    list of int
    """
    cands = [c if isinstance(c, Candidate) else _legacy_candidate(str(c)) for c in candidates]
    order = sorted(range(len(cands)), key=lambda i: (cands[i].simplicity, -cands[i].strength))
    rank = [0] * len(cands)
    for r, i in enumerate(order):
        rank[i] = r
    return rank
