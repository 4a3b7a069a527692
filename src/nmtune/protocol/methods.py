"""The methods of the downstream protocol: heads of the head registry and their selection grids.

Every head of :func:`nmtune.heads.list_heads` is a method of the same name (its *family*); the ablations are
further methods of a family with fixed constructor arguments. A method is data: its family, fixed arguments, and
the small grid searched in ``val`` selection mode. ``paper`` mode uses the head's defaults (the paper's,
method.md section 1) plus the fixed arguments. ``logreg`` always picks C on a validation split of the training
domain. The registry is filled on first use, so importing this module does not import torch.
"""

from __future__ import annotations

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
        The head it builds (a name of :func:`nmtune.heads.list_heads`, e.g. ``"nmtune"``): it gives the default
        ``factory``, ``neural`` and ``transforms``.
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
    select_always : bool, default=False
        Search ``grid`` in ``paper`` mode too (``logreg``: C is always picked on a validation split).
    """

    name: str
    family: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple] = field(default_factory=dict)
    transforms: bool | None = None
    description: str = ""
    factory: Callable | str | None = None
    neural: bool | None = None
    select_always: bool = False

    def __post_init__(self):
        if self.factory is not None and self.neural is not None and self.transforms is not None:
            return
        head = _head(self.family)
        object.__setattr__(self, "factory", self.factory or head.create)
        for key in ("neural", "transforms"):
            if getattr(self, key) is None:
                object.__setattr__(self, key, getattr(head, key))

    @property
    def accepts(self) -> frozenset[str]:
        """Keyword arguments the factory takes (the head's parameters; for a custom factory, its signature)."""
        from nmtune.heads.registry import factory_params

        if _is_head(self.family) and self.factory == _head(self.family).create:
            return _head(self.family).params
        return factory_params(resolve(self.factory, f"factory of method {self.name!r}"))

    def candidates(self, selection: str) -> list[dict[str, Any]]:
        """Hyper-parameter candidates for a selection mode (``[{}]`` when nothing is searched)."""
        if (selection == "paper" and not self.select_always) or not self.grid:
            return [{}]
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(self.grid[k] for k in keys))]


def _is_head(name: str) -> bool:
    from nmtune.heads.registry import HEADS

    return name in HEADS


def _head(family: str):
    """The head registry's spec of a family; an unknown family lists the valid ones."""
    from nmtune.heads.registry import get_head, list_heads

    if not _is_head(family):
        raise unknown_name_error("method family", family, list_heads())
    return get_head(family)


def _sync_heads() -> None:
    """Every registered head as a method of its own name (heads registered later join on the next lookup)."""
    from nmtune.heads.registry import get_head, list_heads

    for name in list_heads():
        if METHODS.find(name) is None:  # a method registered earlier under a head's name is kept
            _add(name, name, grid=_GRIDS.get(name, {}), description=get_head(name).description,
                 select_always=name == "logreg")  # fmt: skip


def _register_defaults() -> None:
    """The heads, then the fixed-strength logistic regression and the ablations (run on the first lookup)."""
    _sync_heads()
    _add("logreg-c1", "logreg", fixed={"C": 1.0},
         description="standardised logistic regression with scikit-learn's default C = 1 (no selection)")  # fmt: skip
    _add_ablations()


METHODS = Registry("method", loaders=[_register_defaults])


def register_family(name: str, factory: Callable | str, *, neural: bool, transforms: bool) -> None:
    """Add a head that methods can name as their family (:func:`nmtune.heads.register_head`)."""
    from nmtune.heads.registry import register_head

    register_head(name, resolve(factory), neural=neural, transforms=transforms, overwrite=True)


def register_method(spec: MethodSpec) -> None:
    """Add (or replace) a method in the registry."""
    METHODS.register(spec.name, spec, overwrite=True)


def get_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` registered under ``name``."""
    _sync_heads()
    return METHODS.lookup(name)[0]


def list_methods(filter: str | None = None) -> list[str]:
    """Names of every registered method (those matching the shell-style ``filter`` if given)."""
    _sync_heads()
    return METHODS.names(filter)


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
    accepts = spec.accepts
    runtime = {"random_state": random_state, "device": device}
    runtime.update({k: int(v) for k, v in (("epochs", epochs), ("min_steps", min_steps)) if v is not None})
    for key, value in runtime.items():
        if spec.neural or key in accepts:  # a neural head takes all four; another head those it has
            kw[key] = value
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
    valid = set(spec.accepts) - {"random_state", "device"}
    for name in params:
        if name not in valid:
            raise unknown_name_error(f"parameter of method {spec.name!r}", name, valid)


def _add(name, family, fixed=None, grid=None, description="", select_always=False):
    spec = MethodSpec(
        name=name, family=family, fixed=fixed or {}, grid=grid or {}, description=description,
        select_always=select_always,
    )  # fmt: skip
    METHODS.register(spec.name, spec, overwrite=True)


#: Grids searched in ``val`` mode, by head (heads not listed are used with their defaults).
_GRIDS = {
    "lp": {"lr": (0.01, 0.1, 1.0), "weight_decay": (0.0, 1e-4)},
    "mlp": _LR_WD_MLP,
    "nmtune": _LR_WD_NMT,
    "nmtune-authors": {k: v for k, v in _LR_WD_NMT.items() if k != "lam"},
    "logreg": {"C": LOGREG_C_GRID},
}


def _add_ablations() -> None:
    for term in ("mse", "cov", "svd"):
        _add(
            f"nmtune-no-{term}",
            "nmtune",
            fixed={f"{term}_weight": 0.0},
            grid=_LR_WD_NMT,
            description=f"ablation: NMTune without its {term.upper()} term",
        )
    _add(
        "nmtune-top5",
        "nmtune",
        fixed={"svd_top_k": 5},
        grid=_LR_WD_NMT,
        description="NMTune rewarding the mean of the top-5 normalised singular values",
    )
    for fam, grid in (("mlp", _LR_WD_MLP), ("nmtune", _LR_WD_NMT)):
        _add(
            f"{fam}-linear",
            fam,
            fixed={"activation": "linear"},
            grid=grid,
            description=f"ablation: {fam} without non-linearity (App. B.7)",
        )
        for n in (1, 3):
            _add(
                f"{fam}-{n}layer",
                fam,
                fixed={"n_layers": n},
                grid=grid,
                description=f"ablation: {fam} with {n} layer(s) (App. B.7)",
            )
