"""Registry and factory of encoders: ``get_encoder(name, **options) -> Encoder``.

Two kinds of names:

- plain names (``"minilm"``, ``"e5-small"``, ``"glove-50"``, ``"efficientnet-lite0"`` and anything added with
  :func:`register_encoder`), built by ``factory(**options)``;
- prefixed names ``"<prefix>:<rest>"`` (``hf:``, ``st:``, ``timm:``, ``api:``, ``pretrained:``,
  ``npy:``), built by ``factory(rest, **options)``.

Factories are stored as lazy ``"module:function"`` strings, so importing :mod:`nmtune.encoders` imports no
model library; the module is imported when a name is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from nmtune.exceptions import unknown_name_error

from .base import Encoder

__all__ = ["get_encoder", "list_encoders", "register_encoder", "list_prefixes"]

Factory = Callable[..., Encoder] | str

_NAMES: dict[str, Factory] = {
    "minilm": "nmtune.encoders.text:minilm",
    "e5-small": "nmtune.encoders.e5:e5_small",
    "glove-50": "nmtune.encoders.glove:glove_50",
    "efficientnet-lite0": "nmtune.encoders.efficientnet:efficientnet_lite0",
}

# prefix -> factory(rest, **options)
_PREFIXES: dict[str, Factory] = {
    "hf": "nmtune.encoders.text:hf_encoder",
    "st": "nmtune.encoders.text:st_encoder",
    "timm": "nmtune.encoders.timm_encoder:timm_encoder",
    "api": "nmtune.api.client:load_api_encoder",
    "pretrained": "nmtune.pretrain.encoder:load_pretrained_encoder",
    "npy": "nmtune.encoders.npy:npy_encoder",
}

_PREFIX_HELP = {
    "hf": "hf:<path-or-id>",
    "st": "st:<path-or-id>",
    "timm": "timm:<model-name>",
    "api": "api:<model-or-url>",
    "pretrained": "pretrained:<checkpoint>",
    "npy": "npy:<file.npy>",
}


def _resolve(factory: Factory) -> Callable[..., Encoder]:
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):  # the nmtune module itself is missing
            raise ModuleNotFoundError(
                f"The encoder factory {factory!r} is not available: module {module!r} is missing "
                f"from this installation of nmtune."
            ) from exc
        raise
    try:
        return getattr(mod, attr)
    except AttributeError as exc:
        msg = f"The encoder factory {factory!r} is missing: {module!r} has no {attr!r}."
        raise AttributeError(msg) from exc


def _check_encoder(enc, name: str):
    missing = [a for a in ("name", "dim", "modality", "fingerprint", "encode") if not hasattr(enc, a)]
    if missing:
        raise TypeError(
            f"The factory of encoder {name!r} returned {type(enc).__name__}, which lacks {missing}; "
            f"a factory must return an nmtune.encoders.Encoder."
        )
    return enc


def list_encoders(*, prefixes: bool = False) -> list[str]:
    """Names accepted by :func:`get_encoder`.

    Parameters
    ----------
    prefixes : bool, default False
        Also list the prefixed forms, e.g. ``"hf:<path-or-id>"``.

    Returns
    -------
    list of str
        Sorted plain names, then (if asked) the prefixed forms.
    """
    names = sorted(_NAMES)
    if prefixes:
        names += [_PREFIX_HELP.get(p, f"{p}:<spec>") for p in sorted(_PREFIXES)]
    return names


def list_prefixes() -> list[str]:
    """Prefixes accepted before ``:`` in a name, e.g. ``["api", "hf", ...]``."""
    return sorted(_PREFIXES)


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
        table, key = _PREFIXES, name[:-1]
        if ":" in key:
            raise ValueError(f"A prefix may not contain ':' except at its end, got {name!r}.")
    else:
        if ":" in name:
            raise ValueError(f"A plain encoder name may not contain ':' (that marks a prefix), got {name!r}.")
        table, key = _NAMES, name
    if key in table and not overwrite:
        raise ValueError(f"Encoder {name!r} is already registered; pass overwrite=True to replace it.")
    table[key] = factory


def unregister_encoder(name: str) -> None:
    """Remove a name (or a prefix ending in ``":"``) added with :func:`register_encoder`."""
    table, key = (_PREFIXES, name[:-1]) if name.endswith(":") else (_NAMES, name)
    table.pop(key, None)


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
    if name in _NAMES:
        return _check_encoder(_resolve(_NAMES[name])(**options), name)
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _PREFIXES:
        if not rest:
            raise ValueError(
                f"Encoder name {name!r} has nothing after {prefix + ':'!r}; "
                f"expected {_PREFIX_HELP.get(prefix)}."
            )
        return _check_encoder(_resolve(_PREFIXES[prefix])(rest, **options), name)
    raise unknown_name_error("encoder", name, list_encoders(prefixes=True))
