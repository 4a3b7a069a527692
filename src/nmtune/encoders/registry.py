"""Registry and factory of encoders: ``get_encoder(name, **options) -> Encoder``.

Two kinds of names:

- plain names (``"minilm"``, ``"e5-small"``, ``"glove-50"``, ``"efficientnet-lite0"`` and anything added with
  :func:`register_encoder`), built by ``factory(**options)``;
- prefixed names ``"<prefix>:<rest>"`` (``hf:``, ``st:``, ``timm:``, ``npy:`` here; ``api:`` and
  ``pretrained:`` registered by the packages that define them, as entry points of the group
  ``nmtune.encoders``), built by ``factory(rest, **options)``.

Factories are stored as lazy ``"module:function"`` strings, so importing :mod:`nmtune.encoders` imports no
model library; the module is imported when a name is first used.
"""

from __future__ import annotations

from collections.abc import Callable

from nmtune._internal.registry import Registry, resolve

from .base import Encoder

__all__ = ["get_encoder", "list_encoders", "register_encoder", "unregister_encoder", "list_prefixes"]

Factory = Callable[..., Encoder] | str

ENCODERS = Registry("encoder", entry_point_group="nmtune.encoders")

for _name, _factory in {
    "minilm": "nmtune.encoders.text:minilm",
    "e5-small": "nmtune.encoders.e5:e5_small",
    "glove-50": "nmtune.encoders.glove:glove_50",
    "efficientnet-lite0": "nmtune.encoders.efficientnet:efficientnet_lite0",
}.items():
    ENCODERS.register(_name, _factory)
for _prefix, _factory, _pattern in (
    ("hf", "nmtune.encoders.text:hf_encoder", "hf:<path-or-id>"),
    ("st", "nmtune.encoders.text:st_encoder", "st:<path-or-id>"),
    ("timm", "nmtune.encoders.timm_encoder:timm_encoder", "timm:<model-name>"),
    ("npy", "nmtune.encoders.npy:npy_encoder", "npy:<file.npy>"),
):
    ENCODERS.register_prefix(_prefix, _factory, _pattern)


def _check_encoder(enc, name: str):
    missing = [a for a in ("name", "dim", "modality", "fingerprint", "encode") if not hasattr(enc, a)]
    if missing:
        raise TypeError(
            f"The factory of encoder {name!r} returned {type(enc).__name__}, which lacks {missing}; "
            f"a factory must return an nmtune.encoders.Encoder."
        )
    return enc


def list_encoders(*, prefixes: bool = False, filter: str | None = None) -> list[str]:
    """Names accepted by :func:`get_encoder`.

    Parameters
    ----------
    prefixes : bool, default False
        Also list the prefixed forms, e.g. ``"hf:<path-or-id>"``.
    filter : str, optional
        Shell-style pattern the plain names must match, e.g. ``"efficientnet*"``.

    Returns
    -------
    list of str
        Sorted plain names, then (if asked) the prefixed forms.
    """
    return ENCODERS.names(filter) + (ENCODERS.patterns() if prefixes else [])


def list_prefixes() -> list[str]:
    """Prefixes accepted before ``:`` in a name, e.g. ``["api", "hf", ...]``."""
    return ENCODERS.prefixes()


def register_encoder(name: str, factory: Factory, *, overwrite: bool = False) -> None:
    """Add an encoder (or a prefix) to the registry.

    Parameters
    ----------
    name : str
        A plain name (``"my-bert"``; the factory is called as ``factory(**options)``) or a prefix ending in
        ``":"`` (``"mine:"``; ``get_encoder("mine:xyz", **options)`` calls ``factory("xyz", **options)``).
    factory : callable or str
        Returns an :class:`~nmtune.encoders.Encoder`; a ``"module:function"`` string is imported lazily.
    overwrite : bool, default False
        Replace an existing entry instead of raising.
    """
    if not isinstance(name, str) or not name.strip(":"):
        raise ValueError(f"An encoder name must be a non-empty string, got {name!r}.")
    if not (callable(factory) or (isinstance(factory, str) and factory.count(":") == 1)):
        raise TypeError(f"factory must be a callable or a 'module:function' string, got {factory!r}.")
    if name.endswith(":"):
        ENCODERS.register_prefix(name[:-1], factory, overwrite=overwrite)
    else:
        ENCODERS.register(name, factory, overwrite=overwrite)


def unregister_encoder(name: str) -> None:
    """Remove a name (or a prefix ending in ``":"``) added with :func:`register_encoder`."""
    ENCODERS.unregister(name)


def get_encoder(name: str, **options) -> Encoder:
    """Build an encoder by name.

    Parameters
    ----------
    name : str
        A plain name from :func:`list_encoders` or ``"<prefix>:<rest>"`` with a prefix from
        :func:`list_prefixes` (``hf:``, ``st:``, ``timm:``, ``api:``, ``pretrained:``, ``npy:``).
    **options
        Passed to the factory, e.g. ``input_size=64`` for ``efficientnet-lite0`` or ``pooling="cls"``
        for ``hf:``.

    Returns
    -------
    Encoder
        Models load lazily, on the first ``encode``; ``dim`` and ``fingerprint`` are available at once.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"An encoder name must be a string, got {type(name).__name__} ({name!r}).")
    entry, rest = ENCODERS.lookup(name)
    factory = resolve(entry, "encoder factory")
    if rest is None:
        return _check_encoder(factory(**options), name)
    if not rest:
        prefix = name.partition(":")[0]
        raise ValueError(
            f"Encoder name {name!r} has nothing after {prefix + ':'!r}; expected {ENCODERS.pattern(prefix)}."
        )
    return _check_encoder(factory(rest, **options), name)
