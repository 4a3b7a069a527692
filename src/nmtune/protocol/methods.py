"""The methods of the downstream protocol: a registry of head factories and their selection grids.

Each method is data: a head family, fixed constructor arguments (ablations are fixed arguments), and the small
grid searched in ``val`` selection mode. ``paper`` mode uses the head's defaults (the paper's, method.md
section 1) plus the fixed arguments. ``logreg`` always picks C on a validation split of the training domain.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nmtune._internal.registry import Registry, resolve
from nmtune.exceptions import unknown_name_error

__all__ = [
    "MethodSpec",
    "get_method",
    "list_methods",
    "register_method",
    "register_family",
    "build_estimator",
    "LOGREG_C_GRID",
]

#: Inverse regularisation strengths tried for the ``logreg`` baseline.
LOGREG_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)

_LR_WD_MLP = {"lr": (3e-4, 1e-3, 3e-3), "weight_decay": (1e-4, 1e-2)}
_LR_WD_NMT = {"lr": (1e-3, 3e-3), "weight_decay": (1e-4, 1e-2), "lam": (0.001, 0.01, 0.1)}


@dataclass(frozen=True)
class MethodSpec:
    """One method of the protocol: the estimator it builds and how it is tuned.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"nmtune-no-svd"``.
    family : str
        The family it belongs to (``"lp"``, ``"mlp"``, ``"nmtune"``, ``"nmtune-authors"``, ``"logreg"`` or a
        family added with :func:`register_family`): it gives the default ``factory``, ``neural`` and
        ``transforms``.
    fixed : mapping
        Constructor arguments always passed (the ablation), in both selection modes.
    grid : mapping of str to tuple
        Hyper-parameters searched in ``val`` mode (product of the values).
    transforms : bool, optional
        Whether the classifier sees transformed features ``Z = head.transform(F)`` (MLP/NMTune) rather than F;
        also what makes a run cost ~D^2 per sample. Defaults to the family's.
    description : str
        One line for reports.
    factory : callable or str, optional
        ``factory(**kwargs) -> estimator`` (a ``"module:attr"`` string is imported on first use). Defaults to
        the family's.
    neural : bool, optional
        Whether the estimator is a torch head taking ``random_state``, ``device``, ``epochs`` and
        ``min_steps``. Defaults to the family's.
    """

    name: str
    family: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple] = field(default_factory=dict)
    transforms: bool | None = None
    description: str = ""
    factory: Callable | str | None = None
    neural: bool | None = None

    def __post_init__(self):
        fam = _FAMILIES.get(self.family)
        if fam is None and (self.factory is None or self.neural is None or self.transforms is None):
            raise unknown_name_error("method family", self.family, _FAMILIES)
        for key in ("factory", "neural", "transforms"):
            if getattr(self, key) is None:
                object.__setattr__(self, key, getattr(fam, key))

    def candidates(self, selection: str) -> list[dict[str, Any]]:
        """Hyper-parameter candidates for a selection mode (``[{}]`` when nothing is searched)."""
        if self.family == "logreg":
            return [{"C": c} for c in LOGREG_C_GRID]
        if selection == "paper" or not self.grid:
            return [{}]
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(self.grid[k] for k in keys))]


@dataclass(frozen=True)
class Family:
    """What the methods of one family share: their estimator factory, whether it is neural, and transforms."""

    factory: Callable | str
    neural: bool
    transforms: bool


_FAMILIES: dict[str, Family] = {}
METHODS = Registry("method")


def register_family(name: str, factory: Callable | str, *, neural: bool, transforms: bool) -> None:
    """Add a method family (e.g. a new head class) that :class:`MethodSpec` can name."""
    _FAMILIES[name] = Family(factory, bool(neural), bool(transforms))


def register_method(spec: MethodSpec) -> None:
    """Add (or replace) a method in the registry."""
    METHODS.register(spec.name, spec, overwrite=True)


def get_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` registered under ``name``."""
    return METHODS.lookup(name)[0]


def list_methods(filter: str | None = None) -> list[str]:
    """Names of every registered method (those matching the shell-style ``filter`` if given)."""
    return METHODS.names(filter)


def logistic_regression(C: float = 1.0, max_iter: int = 2000):
    """The ``logreg`` baseline: standardised features, then scikit-learn's ``LogisticRegression``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


def _authors_nmtune(**kwargs):
    from nmtune.heads import NMTune

    return NMTune.authors_preset(**kwargs)


def _nmtune_cv(*, epochs=None, min_steps=None, batch_size=None, **kwargs):
    """:class:`~nmtune.heads.NMTuneCV`; ``epochs`` / ``min_steps`` / ``batch_size`` overrides reach its heads."""
    from nmtune.heads import NMTuneCV

    budget = (("epochs", epochs), ("min_steps", min_steps), ("batch_size", batch_size))
    heads = {k: v for k, v in budget if v is not None}
    if heads:
        for key in ("lp_params", "nmtune_params"):
            kwargs[key] = {**heads, **dict(kwargs.get(key) or {})}
    return NMTuneCV(**kwargs)


def build_estimator(
    method: str | MethodSpec,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int | None = None,
    device: str = "cpu",
    epochs: int | None = None,
    min_steps: int | None = None,
):
    """Build an unfitted estimator for a method.

    Parameters
    ----------
    method : str or MethodSpec
        The method.
    params : mapping, optional
        Selected hyper-parameters (override the fixed arguments and defaults).
    random_state : int, optional
        Seed of the head.
    device : str
        Device of neural heads.
    epochs : int, optional
        Overrides the number of epochs of neural heads.
    min_steps : int, optional
        Overrides the minimum number of optimiser steps of neural heads.

    Returns
    -------
    estimator
        A scikit-learn classifier; neural heads also have ``transform``.
    """
    spec = get_method(method) if isinstance(method, str) else method
    kw = {**dict(spec.fixed), **dict(params or {})}
    if spec.neural:
        kw.update(random_state=random_state, device=device)
        if epochs is not None:
            kw["epochs"] = int(epochs)
        if min_steps is not None:
            kw["min_steps"] = int(min_steps)
    return resolve(spec.factory, f"factory of method {spec.name!r}")(**kw)


def check_params(method: str | MethodSpec, params: Mapping[str, Any] | None) -> None:
    """Raise a ``ValueError`` naming the valid choices when ``params`` holds a name the method does not take.

    Parameters
    ----------
    method : str or MethodSpec
        The method.
    params : mapping or None
        Hyper-parameter names and values (e.g. from ``--param`` or a grid's per-method ``params``).
    """
    if not params:
        return
    spec = get_method(method) if isinstance(method, str) else method
    if spec.neural:
        valid = set(build_estimator(spec, {}).get_params()) - {"random_state", "device"}
    else:
        valid = set(inspect.signature(resolve(spec.factory)).parameters)
    for name in params:
        if name not in valid:
            raise unknown_name_error(f"parameter of method {spec.name!r}", name, valid)


def _add(name, family, fixed=None, grid=None, description=""):
    register_method(
        MethodSpec(name=name, family=family, fixed=fixed or {}, grid=grid or {}, description=description)
    )


register_family("lp", "nmtune.heads:LinearProbe", neural=True, transforms=False)
register_family("mlp", "nmtune.heads:MLPTuning", neural=True, transforms=True)
register_family("nmtune", "nmtune.heads:NMTune", neural=True, transforms=True)
register_family("nmtune-authors", _authors_nmtune, neural=True, transforms=True)
register_family("logreg", logistic_regression, neural=False, transforms=False)
register_family("nmtune-cv", _nmtune_cv, neural=True, transforms=True)


_add(
    "lp",
    "lp",
    grid={"lr": (0.01, 0.1, 1.0), "weight_decay": (0.0, 1e-4)},
    description="linear probe on frozen features F (AdamW lr 0.1, wd 0, cosine, 30 epochs)",
)
_add(
    "mlp",
    "mlp",
    grid=_LR_WD_MLP,
    description="2-layer ReLU MLP + linear head, no regulariser (AdamW lr 1e-3, wd 1e-4)",
)
_add(
    "nmtune", "nmtune", grid=_LR_WD_NMT, description="MLP + NMTune regulariser, lambda = 0.01 (paper, Eq. 6)"
)
_add(
    "nmtune-authors",
    "nmtune-authors",
    grid={k: v for k, v in _LR_WD_NMT.items() if k != "lam"},
    description="NMTune as in the authors' code (4D hidden, BatchNorm, residual, weights 1/.04/.001, top-5)",
)
_add(
    "logreg",
    "logreg",
    description="standardised logistic regression, C picked on a validation split of the training domain",
)
_add(
    "nmtune-cv",
    "nmtune-cv",
    description="NMTuneCV: LP, L2 linear heads (C 0.01-1), NMTune and their blends, picked on group-aware folds",
)
_add(
    "nmtune-cv-1se",
    "nmtune-cv",
    fixed={"selection": "one-se"},
    description="NMTuneCV with the one-standard-error rule: the simplest candidate within one SE of the best",
)
for _term in ("mse", "cov", "svd"):
    _add(
        f"nmtune-no-{_term}",
        "nmtune",
        fixed={f"{_term}_weight": 0.0},
        grid=_LR_WD_NMT,
        description=f"ablation: NMTune without its {_term.upper()} term",
    )
_add(
    "nmtune-top5",
    "nmtune",
    fixed={"svd_top_k": 5},
    grid=_LR_WD_NMT,
    description="NMTune rewarding the mean of the top-5 normalised singular values",
)
for _fam, _grid in (("mlp", _LR_WD_MLP), ("nmtune", _LR_WD_NMT)):
    _add(
        f"{_fam}-linear",
        _fam,
        fixed={"activation": "linear"},
        grid=_grid,
        description=f"ablation: {_fam} without non-linearity (App. B.7)",
    )
    for _n in (1, 3):
        _add(
            f"{_fam}-{_n}layer",
            _fam,
            fixed={"n_layers": _n},
            grid=_grid,
            description=f"ablation: {_fam} with {_n} layer(s) (App. B.7)",
        )
