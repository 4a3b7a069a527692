"""The one configuration loader: YAML mappings into frozen dataclasses.

Every configuration of nmtune (evaluation grids, studies, pre-training presets) is a frozen dataclass whose
fields are its keys. This module turns a YAML file, a packaged preset or a plain mapping into such a dataclass,
the same way for all of them:

- **Duplicate keys are refused** (YAML itself keeps the last one silently): the error names the key and both
  lines.
- **Unknown keys are errors** naming the valid keys and a close match (did-you-mean), with the line.
- **Values are coerced per the field's type annotation**, the way users mean them: YAML 1.1 reads ``3e-4`` as
  a string, so a numeric string becomes a number in an ``int`` / ``float`` field (``"1e3"`` -> ``1000`` for an
  ``int``); a whole float (``3.0``) becomes an ``int``; a scalar where a tuple is expected becomes a 1-tuple
  (``seeds: 0`` -> ``(0,)``); lists become tuples; a nested dataclass field is built from its mapping. A value
  that cannot be what the field says is an error naming the key path (``methods[1].params.lr``), its line and
  what was received. A boolean where a string is expected is refused with a hint (YAML reads ``yes`` / ``no``
  / ``on`` / ``off`` as booleans).
- **Field-specific parsing** goes in the field's metadata: ``field(default=..., metadata={"convert": fn})``;
  ``fn(value)`` receives the value after the coercion above (or the raw value when the coercion does not
  apply) and returns the field's value or raises ``ValueError`` / ``TypeError``; the error is prefixed with
  the key and line.
- The dataclass's own ``__post_init__`` checks the values (ranges, names); its errors are prefixed with the
  file.
- **Presets**: a source that is not an existing file is looked up by name among the ``*.yaml`` files of a
  package folder (``presets_package="nmtune.configs"``); an unknown name lists the presets.
- **Overrides** (from the command line) replace the file's values before coercion; ``None`` means "not
  given". :func:`parse_overrides` turns ``["seeds=[0,1]", "lr=3e-4"]`` into a mapping (values read as YAML).

API
---
``load_config(cls, source=None, *, presets_package=None, overrides=None, what=None) -> cls``
    A file path, a preset name, or ``None`` (the defaults, plus overrides).
``config_from_mapping(cls, mapping, *, where="") -> cls``
    A mapping (e.g. from a YAML file, or a ``to_dict()`` round trip); ``where`` prefixes every error.
``read_yaml(path, what="configuration") -> dict``
    A YAML / JSON mapping with duplicate keys refused; :func:`line_of` gives a key's line.
``list_presets(package) -> list[str]``, ``preset_path(package, name) -> Path``
``parse_overrides(items) -> dict``
``coerce(value, annotation, key="value") -> value``
    The type-driven coercion alone.
``location(mapping, key, path) -> str``
    Inside a field converter: the file, line and key path of a nested key, for a :class:`ConfigError`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from nmtune.exceptions import unknown_name_error

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "load_config",
    "config_from_mapping",
    "read_yaml",
    "line_of",
    "location",
    "list_presets",
    "preset_path",
    "parse_overrides",
    "coerce",
]

_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


# ----------------------------------------------------------------------------------------------- YAML reading
class _Lined(dict):
    """A dict read from YAML that remembers the line (1-based) of each key."""

    lines: dict

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {}


def line_of(mapping, key) -> int | None:
    """Line (1-based) of ``key`` in the YAML file ``mapping`` was read from (``None`` when not known)."""
    return getattr(mapping, "lines", {}).get(key)


def _loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys and records the line of every key."""

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        out = _Lined()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            line = key_node.start_mark.line + 1
            if key in out:
                raise ValueError(
                    f"duplicate key {key!r} on lines {out.lines[key]} and {line} (YAML would silently keep the "
                    "last one); remove or merge one of them."
                )
            out[key] = loader.construct_object(value_node, deep=True)
            out.lines[key] = line
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


def read_yaml(path, what: str = "configuration") -> dict:
    """Read a YAML (or JSON) file holding a mapping; every problem is an error naming the file.

    Duplicate keys (at any depth) are refused with both lines; the mappings returned remember the line of
    each key (:func:`line_of`).

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, quoted in errors (e.g. ``"grid configuration"``).

    Returns
    -------
    dict
        ``{}`` for an empty file.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A folder, unreadable text, invalid YAML, a duplicate key, or a document that is not a mapping.
    """
    import yaml

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No {what} file {str(p)!r}.")
    if p.is_dir():
        raise ValueError(f"The {what} file {str(p)!r} is a folder; give a YAML file.")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{p} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 (e.g. `iconv -f latin1 "
            f"-t utf-8 {p.name} > fixed.yaml`)."
        ) from exc
    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        hint = " YAML indents with spaces, never tabs." if "'\\t'" in str(exc) else ""
        raise ValueError(
            f"{p} is not valid YAML: {exc}".replace("\n", " ").replace("<unicode string>", p.name) + hint
        ) from exc
    except ValueError as exc:  # a duplicate key
        raise ValueError(f"{p}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"{p} must hold a mapping of {what} keys to values (key: value lines); received a "
            f"{type(data).__name__}."
        )
    return data


# ----------------------------------------------------------------------------------------------- presets
def _preset_root(package: str):
    try:
        return resources.files(package)
    except (ModuleNotFoundError, TypeError):
        parent, _, name = package.rpartition(".")
        return resources.files(parent) / name


def list_presets(package: str) -> list[str]:
    """Names of the ``*.yaml`` presets in a package folder, e.g. ``list_presets("nmtune.configs")``."""
    root = _preset_root(package)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml") and p.is_file())


def preset_path(package: str, name: str, what: str = "preset") -> Path:
    """Path of the preset ``name`` of ``package`` (an unknown name lists the presets)."""
    names = list_presets(package)
    if name not in names:
        raise unknown_name_error(what, name, names)
    return Path(str(_preset_root(package) / f"{name}.yaml"))


def _resolve_source(source, package: str | None, what: str) -> Path:
    p = Path(source)
    if p.exists():
        return p
    presets = list_presets(package) if package else []
    if str(source) in presets:
        return preset_path(package, str(source))
    import difflib

    close = difflib.get_close_matches(str(source), presets, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    choices = f" or a preset name: {', '.join(presets)}" if presets else ""
    raise FileNotFoundError(f"No {what} file {str(source)!r}.{hint} Give a YAML file path{choices}.")


# ----------------------------------------------------------------------------------------------- coercion
class _Mismatch(ValueError):
    """A value that cannot take the annotated type: ``problem`` says what was expected, ``key`` where."""

    def __init__(self, problem: str, key: str | None = None):
        super().__init__(problem)
        self.problem, self.key = problem, key

    def message(self, key: str) -> str:
        return f"{self.key or key} {self.problem}"


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, Mapping):
        return f"a mapping {dict(value)!r}"
    if isinstance(value, list | tuple):
        return f"a list {list(value)!r}"
    return f"{type(value).__name__} {value!r}"


def _number_from_text(text: str):
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return None


def _to_int(value):
    if isinstance(value, str):
        parsed = _number_from_text(value)
        value = value if parsed is None else parsed
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Mismatch(f"must be an integer; received {_describe(value)}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not math.isfinite(value) or float(value) != int(value):
        raise _Mismatch(
            f"must be an integer; received {value!r}"
            + (", which has a fraction" if math.isfinite(value) else "")
        )
    return int(value)


def _to_float(value):
    if isinstance(value, str) and value.strip().endswith("%"):
        raise _Mismatch(f"must be a number; received str {value!r} (write a fraction: 0.1 for 10 %)")
    if isinstance(value, str):
        parsed = _number_from_text(value)
        value = value if parsed is None else parsed
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Mismatch(f"must be a number; received {_describe(value)}")
    return float(value)


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    raise _Mismatch(f"must be true or false; received {_describe(value)}")


def _to_str(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise _Mismatch(
            f"must be a string; received boolean {value} (YAML reads yes/no/on/off/true/false as booleans: "
            "quote the word)"
        )
    if isinstance(value, numbers.Real):
        return str(value)
    raise _Mismatch(f"must be a string; received {_describe(value)}")


def _items(value, key):
    """A sequence's items; a scalar (or a string) is one item."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping) or isinstance(value, set | frozenset):
        raise _Mismatch(f"must be a list; received {_describe(value)}", key)
    return [value]


def coerce(value, annotation, key: str = "value"):
    """Coerce ``value`` to the type ``annotation`` the way a user writing YAML means it.

    Parameters
    ----------
    value : object
        What was read.
    annotation : type or typing form
        ``int``, ``float``, ``bool``, ``str``, ``X | None``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``,
        ``Mapping[str, X]`` / ``dict[str, X]``, ``Literal[...]``, a dataclass, ``Any``; other forms are passed
        through.
    key : str
        The key path quoted in errors (e.g. ``"methods[1].params.lr"``).

    Returns
    -------
    object

    Raises
    ------
    ValueError
        ``"<key> must be ...; received ..."``.
    """
    try:
        return _coerce(value, annotation, key)
    except _Mismatch as exc:
        raise ValueError(f"{exc.message(key)}.") from None


def _coerce(value, tp, key):
    if tp is Any or tp is object or tp is None:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        first = None
        for option in options:
            try:
                return _coerce(value, option, key)
            except _Mismatch as exc:
                first = first or exc
        if value is None:
            raise _Mismatch("must not be null (received null)", key)
        raise first if first else _Mismatch(f"has an unexpected value {_describe(value)}", key)
    if origin is typing.Literal:
        if value not in args:
            raise _Mismatch(f"must be one of {', '.join(map(repr, args))}; received {_describe(value)}", key)
        return value
    if value is None:
        raise _Mismatch("must not be null (received null)", key)
    scalar = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str}.get(tp)
    if scalar is not None:
        try:
            return scalar(value)
        except _Mismatch as exc:
            exc.key = exc.key or key
            raise
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _Mismatch(f"must be a mapping of {tp.__name__} keys; received {_describe(value)}", key)
        return _build(tp, value, where=_WHERE.get(), path=key)
    if tp is tuple or origin is tuple:
        items = _items(value, key)
        if not args:
            return tuple(items)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(items))
        if len(items) != len(args):
            raise _Mismatch(f"must hold {len(args)} values; received {_describe(value)}", key)
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(items, args)))
    if tp is list or origin is list:
        items = _items(value, key)
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(items)] if args else items
    if tp in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping) or _is_mapping_type(origin):
        if not isinstance(value, Mapping):
            raise _Mismatch(f"must be a mapping (key: value); received {_describe(value)}", key)
        if not args:
            return dict(value)
        kt, vt = args
        return {_coerce(k, kt, key): _coerce(v, vt, f"{key}.{k}") for k, v in value.items()}
    return value


def _is_mapping_type(origin) -> bool:
    return isinstance(origin, type) and issubclass(origin, Mapping)


# ----------------------------------------------------------------------------------------------- building
_WHERE: contextvars.ContextVar[str] = contextvars.ContextVar("nmtune_config_where", default="")


class ConfigError(ValueError):
    """A configuration value refused; the message starts with its file, line and key path."""


class ConfigTypeError(TypeError):
    """A configuration value of the wrong kind; the message starts with its file, line and key path."""


def _location(mapping, key, where: str) -> str:
    line = line_of(mapping, key)
    parts = [where] if where else []
    if line is not None:
        parts.append(f"line {line}")
    return ", ".join(parts)


def location(mapping, key, path: str) -> str:
    """``"<file>, line <n>: <path>"`` for a nested ``key`` of ``mapping``, inside a field converter.

    A converter (``field(metadata={"convert": fn})``) that walks nested mappings raises
    ``ConfigError(f"{location(entry, key, 'methods[1].params.lr')} ...")`` so the error names the file, the line
    and the key path; the loader passes a :class:`ConfigError` on unchanged.
    """
    loc = _location(mapping, key, _WHERE.get())
    return f"{loc}: {path}" if loc else path


def _prefix(loc: str) -> str:
    return f"{loc}: " if loc else ""


def config_from_mapping(cls, mapping, *, where: str = ""):
    """Build the frozen dataclass ``cls`` from a mapping of its field names to values.

    Parameters
    ----------
    cls : type
        A dataclass (frozen by convention).
    mapping : mapping
        Field names to values (as read from YAML: lists for tuples, strings for numbers, ...).
    where : str
        Prefix of every error, e.g. the file the mapping came from.

    Returns
    -------
    cls

    Raises
    ------
    ValueError
        An unknown key (with did-you-mean and line), a value that cannot take its field's type (with the key
        path and line), or what the dataclass's own checks refuse.
    TypeError
        ``mapping`` is not a mapping.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{_prefix(where)}a {cls.__name__} must be built from a mapping of keys to values; received "
            f"{type(mapping).__name__}."
        )
    return _build(cls, mapping, where=where, path="")


def _build(cls, mapping, *, where: str, path: str):
    token = _WHERE.set(where)
    try:
        return _build_here(cls, mapping, where=where, path=path)
    finally:
        _WHERE.reset(token)


def _build_here(cls, mapping, *, where: str, path: str):
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    what = getattr(cls, "_config_what", None) or f"{cls.__name__} key"
    for key, value in mapping.items():
        loc = _location(mapping, key, where)
        name = f"{path}.{key}" if path else str(key)
        if key not in fields:
            err = unknown_name_error(what, key, fields)
            raise ConfigError(f"{_prefix(loc)}{f'{path}: ' if path else ''}{err} Remove or rename it.")
        f = fields[key]
        convert = f.metadata.get("convert")
        try:
            if convert is not None:
                try:
                    value = _coerce(value, hints.get(key, Any), name)
                except _Mismatch:
                    pass  # the field's own converter says what is wrong
                value = convert(value)
            else:
                value = _coerce(value, hints.get(key, Any), name)
        except (ConfigError, ConfigTypeError):
            raise
        except _Mismatch as exc:
            raise ConfigError(f"{_prefix(loc)}{exc.message(name)}.") from None
        except ValueError as exc:
            raise ConfigError(f"{_prefix(loc)}{name}: {exc}") from exc
        except TypeError as exc:
            raise ConfigTypeError(f"{_prefix(loc)}{name}: {exc}") from exc
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (ConfigError, ConfigTypeError):
        raise
    except ValueError as exc:
        raise ConfigError(f"{_prefix(where)}{f'{path}: ' if path else ''}{exc}") from exc
    except TypeError as exc:
        raise ConfigTypeError(f"{_prefix(where)}{f'{path}: ' if path else ''}{exc}") from exc


def load_config(
    cls, source=None, *, presets_package: str | None = None, overrides=None, what: str | None = None
):
    """Read the dataclass ``cls`` from a YAML file, a packaged preset or its defaults, with overrides.

    Parameters
    ----------
    cls : type
        A frozen dataclass.
    source : str or path-like or None
        A YAML / JSON file, the name of a preset in ``presets_package``, or ``None`` for the defaults.
    presets_package : str, optional
        The package folder holding the presets, e.g. ``"nmtune.configs"`` or ``"nmtune.configs.studies"``.
    overrides : mapping, optional
        Values that replace the file's (``None`` values mean "not given" and are ignored), e.g. from the
        command line.
    what : str, optional
        What the file is, quoted in errors (default: the class name).

    Returns
    -------
    cls

    Raises
    ------
    FileNotFoundError
        Neither a file nor a preset (the presets are listed).
    ValueError, TypeError
        As :func:`read_yaml` and :func:`config_from_mapping`, each naming the file.
    """
    what = what or f"{cls.__name__} configuration"
    data: dict = {}
    where = ""
    if source is not None:
        path = _resolve_source(source, presets_package, what)
        data = read_yaml(path, what)
        where = str(path)
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            merged = _Lined(data)
            merged.lines = {k: v for k, v in getattr(data, "lines", {}).items() if k not in given}
            merged.update(given)
            data = merged
    return config_from_mapping(cls, data, where=where)


def parse_overrides(items: Sequence[str]) -> dict:
    """``["key=value", ...]`` (e.g. from ``--set``) into a mapping; each value is read as YAML.

    ``seeds=[0,1]`` gives a list, ``lr=3e-4`` the number 0.0003 once coerced, ``device=cpu`` a string.

    Raises
    ------
    ValueError
        An item without ``=``, an empty key, a repeated key or a value that is not valid YAML.
    """
    import yaml

    out: dict = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"An override is KEY=VALUE (e.g. seeds=[0,1]); received {item!r}.")
        if key in out:
            raise ValueError(f"The override {key!r} is given twice; give it once.")
        try:
            out[key] = yaml.load(text, Loader=_loader()) if text.strip() else ""  # noqa: S506
        except (yaml.YAMLError, ValueError) as exc:
            raise ValueError(
                f"The override {item!r} is not a valid YAML value: {exc}".replace("\n", " ")
            ) from exc
    return out
