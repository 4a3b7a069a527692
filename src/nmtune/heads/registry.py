"""The head registry: every head by name, as timm's model registry.

A head is registered next to its class (``register_head("lp", LinearProbe, ...)`` at the end of ``linear.py``);
every public module of this package is imported on the first lookup, so adding a head is adding one file.
:func:`create_head` builds a head by name, :func:`list_heads` lists them; persistence (:func:`nmtune.heads.load`),
the protocol's methods (:mod:`nmtune.protocol.methods`), ``nmtune tune --method`` and the estimator tests read
this registry.

The classes that saved files may name (heads and their parts, e.g. a blend of heads) are known here too:
:func:`loadable` adds one, :func:`loadable_class` finds one by name; a file naming any other class is refused.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmtune._internal.registry import Registry
from nmtune.exceptions import unknown_name_error

__all__ = [
    "HeadSpec",
    "register_head",
    "create_head",
    "list_heads",
    "get_head",
    "loadable",
    "loadable_class",
    "RUNTIME_PARAMS",
]

#: Arguments a caller that runs many heads (the protocol, ``nmtune tune``) sets itself, where a head takes them.
RUNTIME_PARAMS = ("random_state", "device", "epochs", "min_steps")


def _import_head_modules() -> None:
    """Import every public module of this package: each registers the heads it defines."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("_") and info.name != "registry":
            importlib.import_module(f"{__package__}.{info.name}")


HEADS = Registry("head", loaders=[_import_head_modules])
_LOADABLE: dict[str, type] = {}


def _constructor_params(cls) -> set[str]:
    if cls is None:
        return set()
    if hasattr(cls, "_get_param_names"):  # a scikit-learn estimator
        return set(cls._get_param_names())
    return {
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def factory_params(factory: Callable, cls: type | None = None) -> frozenset[str]:
    """The keyword arguments ``factory`` takes: its named parameters, plus ``cls``'s when it has ``**kwargs``.

    Parameters
    ----------
    factory : callable
        A class or a function building an estimator.
    cls : type or None
        The class the function builds.

    Returns
    -------
    frozenset of str
    """
    if isinstance(factory, type):
        return frozenset(_constructor_params(factory))
    params = inspect.signature(factory).parameters.values()
    names = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        names |= _constructor_params(cls)
    return frozenset(names)


@dataclass(frozen=True)
class HeadSpec:
    """One registered head.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"nmtune-cv"``.
    factory : callable
        ``factory(**params) -> unfitted estimator`` (the class itself, or a function such as a preset).
    cls : type or None
        The class it builds (what a saved file names); None when unknown (such a head cannot be saved).
    transforms : bool
        Whether the classifier sees transformed features ``Z = head.transform(F)`` (MLP, NMTune) rather than F.
    neural : bool
        Whether it trains with a step budget (takes ``epochs`` and ``min_steps``).
    description : str
        One line for listings and reports.
    """

    name: str
    factory: Callable[..., Any]
    cls: type | None
    transforms: bool
    neural: bool
    description: str = ""

    @property
    def params(self) -> frozenset[str]:
        """Keyword arguments :meth:`create` accepts."""
        return factory_params(self.factory, self.cls)

    @property
    def saveable(self) -> bool:
        """Whether a fitted head of this kind can be saved (its class implements the head file's state)."""
        return self.cls is not None and hasattr(self.cls, "_save_state") and hasattr(self.cls, "_load_state")

    def create(self, **params):
        """An unfitted head; an unknown argument is refused, naming the valid ones."""
        valid = self.params
        for key in params:
            if key not in valid:
                raise unknown_name_error(f"parameter of head {self.name!r}", key, valid)
        return self.factory(**params)


def loadable(cls: type) -> type:
    """Class decorator: files may name ``cls`` (a head's part that is not itself a registered head)."""
    _LOADABLE[cls.__name__] = cls
    return cls


def loadable_class(name: str) -> type | None:
    """The class a saved file names, if it is a head class or a part registered with :func:`loadable`."""
    HEADS.names()  # imports the head modules, which register their classes
    return _LOADABLE.get(name)


def register_head(
    name: str,
    factory: Callable[..., Any],
    *,
    cls: type | None = None,
    transforms: bool = False,
    neural: bool | None = None,
    description: str = "",
    overwrite: bool = False,
) -> HeadSpec:
    """Add a head to the registry.

    Parameters
    ----------
    name : str
        Registry name (lower case, ``-`` between words).
    factory : callable
        A class, or a function returning an unfitted estimator (then pass ``cls``).
    cls : type or None
        The class ``factory`` builds; defaults to ``factory`` when it is a class.
    transforms : bool, default=False
        Whether the classifier sees ``head.transform(F)`` rather than F.
    neural : bool or None
        Whether it trains with a step budget; None: whether ``factory`` takes ``epochs``.
    description : str
        One line for listings.
    overwrite : bool, default=False
        Replace a head of the same name.

    Returns
    -------
    HeadSpec
    """
    if cls is None and isinstance(factory, type):
        cls = factory
    if neural is None:
        neural = "epochs" in factory_params(factory, cls)
    spec = HeadSpec(name, factory, cls, bool(transforms), bool(neural), description)
    HEADS.register(name, spec, overwrite=overwrite)
    if spec.saveable:
        _LOADABLE[cls.__name__] = cls
    return spec


def get_head(name: str) -> HeadSpec:
    """The :class:`HeadSpec` registered under ``name`` (an unknown name lists the valid ones)."""
    return HEADS.lookup(name)[0]


def create_head(name: str, **params):
    """An unfitted head by registry name, e.g. ``create_head("nmtune", lam=0.1, random_state=0)``.

    Parameters
    ----------
    name : str
        A name from :func:`list_heads`.
    **params
        Constructor arguments of the head.

    Returns
    -------
    estimator
        A scikit-learn classifier.
    """
    return get_head(name).create(**params)


def list_heads(filter: str | None = None) -> list[str]:
    """Sorted names of every registered head (those matching the shell-style ``filter``, e.g. ``"nmtune*"``)."""
    return HEADS.names(filter)
