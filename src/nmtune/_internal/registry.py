"""One registry design for encoders, datasets and methods.

A :class:`Registry` maps *names* (``"minilm"``) and *prefixes* (``"hf"`` in ``"hf:<path-or-id>"``) to entries.
An entry is whatever the owning package stores (a factory, a ``"module:attr"`` string imported on first use,
a spec record); the registry only looks names up, lists them with an optional shell-style filter and raises a
did-you-mean error for an unknown name. Packages may also be extended from outside through the entry-point
group named by ``entry_point_group`` (``[project.entry-points."nmtune.encoders"]`` in a ``pyproject.toml``):
an entry point named ``"api:"`` registers a prefix, any other name a plain entry; they are read once, on the
first lookup that misses.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nmtune.exceptions import unknown_name_error

__all__ = ["Registry", "Prefix", "import_attr", "resolve"]


@dataclass(frozen=True)
class Prefix:
    """A registered prefix: its entry and the pattern shown to users (e.g. ``"hf:<path-or-id>"``)."""

    entry: Any
    pattern: str


def import_attr(spec: str, what: str = "factory") -> Any:
    """Import ``"module:attr"`` and return the attribute, with an error that names a missing part.

    Parameters
    ----------
    spec : str
        ``"package.module:attribute"``.
    what : str
        What the attribute is, quoted in errors.

    Returns
    -------
    object
        The attribute.
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"A lazy {what} is written 'module:attribute'; received {spec!r}.")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):  # the named module itself is missing
            raise ModuleNotFoundError(
                f"The {what} {spec!r} is not available: module {module!r} is missing from this installation."
            ) from exc
        raise
    try:
        return getattr(mod, attr)
    except AttributeError as exc:
        raise AttributeError(f"The {what} {spec!r} is missing: {module!r} has no {attr!r}.") from exc


def resolve(entry: Any, what: str = "factory") -> Any:
    """``entry`` itself, or the attribute it names when it is a ``"module:attr"`` string."""
    return import_attr(entry, what) if isinstance(entry, str) else entry


class Registry:
    """Names and prefixes of one kind of thing (``kind`` is used in messages, e.g. ``"encoder"``).

    Parameters
    ----------
    kind : str
        What the names name, e.g. ``"encoder"``.
    entry_point_group : str, optional
        Entry-point group read on the first missed lookup (``"nmtune.encoders"``).
    loaders : iterable of callable, optional
        Called once before the first lookup or listing, e.g. to import the modules that register
        themselves.
    """

    def __init__(self, kind: str, *, entry_point_group: str | None = None, loaders: Iterable[Callable] = ()):
        self.kind = kind
        self._names: dict[str, Any] = {}
        self._prefixes: dict[str, Prefix] = {}
        self._group = entry_point_group
        self._loaders = list(loaders)
        self._plugins_loaded = entry_point_group is None

    # ------------------------------------------------------------------ registration
    def register(self, name: str, entry: Any, *, overwrite: bool = False) -> None:
        """Register a plain name (no ``":"``)."""
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(
                f"A plain {self.kind} name is a non-empty string without ':' (':' marks a prefix); "
                f"received {name!r}."
            )
        if name in self._names and not overwrite:
            raise ValueError(f"{self.kind.capitalize()} {name!r} is already registered; pass overwrite=True.")
        self._names[name] = entry

    def register_prefix(self, prefix: str, entry: Any, pattern: str = "", *, overwrite: bool = False) -> None:
        """Register ``prefix`` (without its colon): names ``"<prefix>:<rest>"`` look up ``entry``."""
        if not isinstance(prefix, str) or not prefix or ":" in prefix:
            raise ValueError(f"A {self.kind} prefix is a non-empty string without ':'; received {prefix!r}.")
        if prefix in self._prefixes and not overwrite:
            raise ValueError(
                f"{self.kind.capitalize()} prefix {prefix + ':'!r} is already registered; pass overwrite=True."
            )
        self._prefixes[prefix] = Prefix(entry, pattern or f"{prefix}:<spec>")

    def unregister(self, name: str) -> None:
        """Remove a plain name, or a prefix written with its trailing ``":"``."""
        if name.endswith(":"):
            self._prefixes.pop(name[:-1], None)
        else:
            self._names.pop(name, None)

    # ------------------------------------------------------------------ lookup
    def _ensure_loaded(self) -> None:
        while self._loaders:
            loader = self._loaders.pop(0)  # popped first: a lookup made while it runs must not re-enter it
            try:
                loader()
            except BaseException:
                self._loaders.insert(0, loader)
                raise

    def _load_plugins(self) -> bool:
        if self._plugins_loaded:
            return False
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self._group):
            if ep.name.endswith(":"):
                if ep.name[:-1] not in self._prefixes:
                    self.register_prefix(ep.name[:-1], ep.value, f"{ep.name}<spec>")
            elif ep.name not in self._names:
                self.register(ep.name, ep.value)
        return True

    def find(self, name: str) -> tuple[Any, str | None] | None:
        """``(entry, None)`` for a plain name, ``(entry, rest)`` for a prefixed one, ``None`` if unknown."""
        self._ensure_loaded()
        for _ in range(2):
            if name in self._names:
                return self._names[name], None
            prefix, sep, rest = name.partition(":")
            if sep and prefix in self._prefixes:
                return self._prefixes[prefix].entry, rest
            if not self._load_plugins():
                return None
        return None

    def lookup(self, name: str, *, extra_valid: Iterable[str] = ()) -> tuple[Any, str | None]:
        """Like :meth:`find`, but an unknown name raises a ``ValueError`` listing the valid ones."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"A {self.kind} name must be a non-empty string; received {name!r}.")
        found = self.find(name)
        if found is None:
            raise unknown_name_error(self.kind, name, self.names() + self.patterns() + list(extra_valid))
        return found

    def pattern(self, prefix: str) -> str:
        """The pattern shown for ``prefix`` (e.g. ``"hf:<path-or-id>"``)."""
        return self._prefixes[prefix].pattern

    def names(self, filter: str | None = None) -> list[str]:
        """Sorted plain names, those matching the shell-style ``filter`` (e.g. ``"nmtune-*"``) if given."""
        self._ensure_loaded()
        self._load_plugins()
        names = sorted(self._names)
        return [n for n in names if fnmatch.fnmatchcase(n, filter)] if filter else names

    def prefixes(self) -> list[str]:
        """Sorted prefixes (without the colon)."""
        self._ensure_loaded()
        self._load_plugins()
        return sorted(self._prefixes)

    def patterns(self) -> list[str]:
        """The prefixed forms, e.g. ``["hf:<path-or-id>", ...]``, sorted by prefix."""
        return [self._prefixes[p].pattern for p in self.prefixes()]

    def prefix_items(self) -> list[tuple[str, Any]]:
        """``(prefix, entry)`` of every prefix, sorted by prefix."""
        return [(p, self._prefixes[p].entry) for p in self.prefixes()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None
