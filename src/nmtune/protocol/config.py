"""Configuration of evaluation grids: YAML files into frozen dataclasses.

A grid is the product encoders x suites x methods x selection modes x training fractions x seeds x
downstream label-noise rates (or an explicit list of ``(encoder, suite)`` pairs instead of encoders x suites),
plus any tasks given as feature files (``file_tasks``). Files are read by the one configuration loader
(:mod:`nmtune._internal.config`): unknown keys are errors that name the valid keys, duplicate keys are refused,
numeric strings become numbers, and every method parameter is checked by the head itself when the file loads.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nmtune._internal.config import ConfigError, config_from_mapping, location, read_yaml
from nmtune._internal.config import list_presets as _list_presets
from nmtune._internal.config import preset_path as _preset_path
from nmtune._internal.validation import check_each, check_number
from nmtune.exceptions import unknown_name_error

__all__ = [
    "GridConfig",
    "FileTask",
    "check_method_params",
    "config_from_dict",
    "load_config",
    "list_presets",
    "preset_path",
    "PAPER_FRACTIONS",
    "SELECTION_MODES",
]

#: Training fractions of the paper's downstream protocol (section 2.1).
PAPER_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
#: ``paper``: fixed paper defaults; ``val``: small grid picked on a validation split of the training domain.
SELECTION_MODES = ("paper", "val")
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class FileTask:
    """A task given as feature files: a training file and evaluation files (``file_tasks`` of a grid).

    Each file is a feature file of :func:`nmtune.feature_files.load_feature_file` (``.npy``, ``.npz``,
    ``.csv``, ``.parquet``) holding its labels (``.npz`` key ``y``, a CSV / Parquet label column) or paired with
    a labels file in ``labels``. Relative paths are relative to the configuration file.

    Parameters
    ----------
    name : str
        Task name (unique within the grid's file tasks).
    train : str
        Training features.
    test : str or None
        The in-distribution evaluation file (domain ``test``).
    ood : mapping of str to str
        Out-of-distribution evaluation files by domain name.
    id : mapping of str to str
        Further in-distribution evaluation files by domain name.
    labels : mapping of str to str
        Labels files (``.npy``, ``.txt`` / ``.csv`` one label per line) by domain: ``train``, ``test`` or a
        name of ``ood`` / ``id``; for feature files without labels inside.
    label_column : str or None
        Label column (CSV / Parquet) or key (NPZ) of every file.
    encoder : str
        Recorded with every run as its encoder (e.g. the model that made the features).
    """

    name: str
    train: str
    test: str | None = None
    ood: Mapping[str, str] = field(default_factory=dict)
    id: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    label_column: str | None = None
    encoder: str = "features"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"A file task needs a name; received {self.name!r}.")
        domains = ["test"] if self.test else []
        domains += [*self.id, *self.ood]
        if not domains:
            raise ValueError(
                f"File task {self.name!r} has no evaluation file: give test (in distribution) and/or ood "
                "({name: file})."
            )
        if len(set(domains)) != len(domains) or "train" in domains:
            raise ValueError(
                f"File task {self.name!r}: evaluation domain names must be unique and not 'train'; received "
                f"{domains}."
            )
        unknown = set(self.labels) - {"train", *domains}
        if unknown:
            raise unknown_name_error(
                f"domain of the labels of file task {self.name!r}", sorted(unknown)[0], ["train", *domains]
            )

    def domains(self) -> list[tuple[str, str, str]]:
        """``(name, file, kind)`` of every evaluation domain, ``test`` first."""
        out = [("test", self.test, "id")] if self.test else []
        out += [(n, f, "id") for n, f in self.id.items()]
        out += [(n, f, "ood") for n, f in self.ood.items()]
        return out


@dataclass(frozen=True)
class GridConfig:
    """One evaluation grid (see ``docs/protocol.md``).

    Parameters
    ----------
    encoders, suites : tuple of str
        Encoder and suite names (``nmtune.encoders`` / ``nmtune.suites``); their product is run unless
        ``pairs`` is given.
    pairs : tuple of (str, str)
        Explicit ``(encoder, suite)`` pairs; when non-empty it replaces ``encoders x suites``.
    tasks : tuple of str
        Restrict every suite to these task names (empty: all tasks).
    methods : tuple
        Method names from :func:`nmtune.protocol.list_methods`; an entry may also be ``(name, params)`` with
        ``params`` a tuple of ``(key, value)`` pairs of constructor arguments (YAML: ``{name: nmtune, params:
        {lam: 0.1}}``). Every name and parameter is checked before anything is encoded.
    selection : tuple of str
        Hyper-parameter selection modes, a grid axis: ``"paper"`` and/or ``"val"``.
    fractions : tuple of float
        Fractions of the (capped) training split, in (0, 1].
    seeds : tuple of int
        Seeds; each seeds the training subsample, the label noise, the validation split and the head.
    noise_rates : tuple of float
        Downstream symmetric label-noise rates eta applied to the training labels (App. B.5).
    max_train, max_eval : int or None
        Fixed per-domain caps: a stratified subsample (seed 0, the same for every run) of each training
        split / evaluation split, taken *before* encoding. ``None``: the whole split.
    epochs : int or None
        Overrides the epochs of every neural head (``None``: the method's default).
    min_steps : int or None
        Overrides the minimum optimiser steps of every neural head (``None``: the heads' default; ``0``: exactly
        the paper's epochs).
    val_fraction : float
        Fraction of the training subset held out for selection (``val`` mode and ``logreg``'s C).
    device : str
        Device of the heads (``"cpu"``, ``"cuda"``, ``"auto"``).
    n_jobs : int
        Parallel local worker processes (only the parent writes the store).
    threads_per_run : int
        Torch and BLAS threads of every run, serial or parallel: records do not depend on ``n_jobs``.
    backend : str
        ``"local"`` (processes) or ``"ray"`` (needs ``pip install 'nmtune[ray]'``).
    ray_address : str or None
        Address of a running Ray cluster; ``None`` starts a local instance.
    store : str
        Path of the SQLite results store.
    report_dir : str or None
        Where ``nmtune run`` writes the report afterwards (``None``: no report).
    pretrain_noise : mapping of str to float
        Optional pre-training noise ratio of each encoder (noisy pre-training study); recorded in each run and
        used by the report's figures against the pre-training noise ratio.
    file_tasks : tuple of FileTask
        Tasks given as feature files (your own embeddings); run beside the (encoder, suite) pairs. A file that
        names ``file_tasks`` and none of ``encoders`` / ``suites`` / ``pairs`` runs the file tasks only.
    """

    _config_what = "grid configuration key"

    encoders: tuple[str, ...] = ("minilm",)
    suites: tuple[str, ...] = ("20ng-subgroups",)
    pairs: tuple[tuple[str, str], ...] = ()
    tasks: tuple[str, ...] = ()
    methods: tuple = field(
        default=("lp", "mlp", "nmtune", "logreg"), metadata={"convert": lambda v: _methods(v)}
    )
    selection: tuple[str, ...] = ("paper",)
    fractions: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"convert": lambda v: _seeds(v)})
    noise_rates: tuple[float, ...] = (0.0,)
    max_train: int | None = field(default=None, metadata={"convert": lambda v: _integer("max_train")(v)})
    max_eval: int | None = field(default=None, metadata={"convert": lambda v: _integer("max_eval")(v)})
    epochs: int | None = field(default=None, metadata={"convert": lambda v: _integer("epochs")(v)})
    min_steps: int | None = field(default=None, metadata={"convert": lambda v: _integer("min_steps")(v)})
    val_fraction: float = 0.2
    device: str = "cpu"
    n_jobs: int = field(default=1, metadata={"convert": lambda v: _integer("n_jobs")(v)})
    threads_per_run: int = field(default=1, metadata={"convert": lambda v: _integer("threads_per_run")(v)})
    backend: str = "local"
    ray_address: str | None = None
    store: str = "nmtune-results.sqlite"
    report_dir: str | None = None
    pretrain_noise: Mapping[str, float] = field(default_factory=dict)
    file_tasks: tuple[FileTask, ...] = ()

    def __post_init__(self) -> None:
        for mode in self.selection:
            if mode not in SELECTION_MODES:
                raise unknown_name_error("selection mode", mode, SELECTION_MODES)
        if self.backend not in BACKENDS:
            raise unknown_name_error("backend", self.backend, BACKENDS)
        check_each("fractions", self.fractions, low=0, high=1, low_open=True, hint=" Use 0.1 for 10 %.")
        check_each("noise_rates", self.noise_rates, low=0, high=1, high_open=True, hint=" Use 0.2 for 20 %.")
        check_each("seeds", self.seeds, low=0, integer=True)
        check_number("val_fraction", self.val_fraction, low=0, high=1, low_open=True, high_open=True)
        for name, low in _INT_FIELDS.items():
            check_number(name, getattr(self, name), low=low, integer=True, allow_none=name not in _NOT_NULL)
        from nmtune._internal.device import resolve_device

        resolve_device(self.device)  # unknown names and CUDA without a GPU fail here, before any run starts
        methods = []
        for entry in self.methods:
            entry = _method_entry(entry)
            name, params = method_name_and_params(entry)
            checked = check_method_params(name, params)
            methods.append((name, tuple(checked.items())) if checked else name)
        object.__setattr__(self, "methods", tuple(methods))
        for pair in self.pairs:
            if len(pair) != 2:
                raise ValueError(f"Each entry of pairs must be [encoder, suite]; received {pair!r}.")
        names = [t.name for t in self.file_tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"file_tasks names must be unique; received {names}.")
        if not (self.methods and self.seeds and self.fractions and self.selection and self.noise_rates):
            raise ValueError(
                "methods, seeds, fractions, selection and noise_rates must each name at least one value; "
                f"received methods={self.methods}, seeds={self.seeds}, fractions={self.fractions}, "
                f"selection={self.selection}, noise_rates={self.noise_rates}."
            )

    def encoder_suite_pairs(self) -> tuple[tuple[str, str], ...]:
        """The ``(encoder, suite)`` pairs of the grid, in order."""
        if self.pairs:
            return tuple((str(e), str(s)) for e, s in self.pairs)
        return tuple((e, s) for e in self.encoders for s in self.suites)

    def replace(self, **changes: Any) -> GridConfig:
        """A copy with some fields changed (validated like :func:`config_from_dict`)."""
        return config_from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-friendly dict (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "methods":
                v = [
                    x if isinstance(x, str) else {"name": x[0], "params": dict(x[1])}
                    for x in (_method_entry(e) for e in v)
                ]
            elif f.name == "file_tasks":
                v = [
                    {k: (dict(x) if isinstance(x, Mapping) else x) for k, x in dataclasses.asdict(t).items()}
                    for t in v
                ]
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            elif isinstance(v, Mapping):
                v = dict(v)
            out[f.name] = v
        return out


# integer keys and their lower bounds; those in _NOT_NULL may not be null
_INT_FIELDS = {"epochs": 1, "min_steps": 0, "max_train": 1, "max_eval": 1, "n_jobs": 1, "threads_per_run": 1}
_NOT_NULL = ("n_jobs", "threads_per_run")
PRESETS = "nmtune.configs"


def _method_entry(entry):
    """``"lp"`` stays a name; ``{name: nmtune, params: {lam: 0.1}}`` becomes ``("nmtune", (("lam", 0.1),))``."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return (entry[0], tuple((str(k), _frozen(v)) for k, v in dict(entry[1]).items()))
    shorthand = isinstance(entry, Mapping) and len(entry) == 1 and not ({"name", "params"} & set(entry))
    if shorthand and isinstance(next(iter(entry.values())), Mapping | None):
        ((name, params),) = entry.items()  # {nmtune: {lam: 0.1}}: a name and its params
        entry = {"name": name, "params": params}
    if isinstance(entry, Mapping):
        extra = set(entry) - {"name", "params"}
        if "name" not in entry or extra:
            raise ValueError(
                f"A methods entry is a name or {{name: ..., params: {{...}}}}; received {dict(entry)!r}."
            )
        params = entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError(f"params of method {entry['name']!r} must be a mapping; received {params!r}.")
        return (str(entry["name"]), tuple((str(k), _frozen(v)) for k, v in params.items()))
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):  # to_dict round trip
        return (entry[0], tuple((str(k), _frozen(v)) for k, v in entry[1]))
    raise ValueError(f"A methods entry is a name or {{name: ..., params: {{...}}}}; received {entry!r}.")


def _frozen(value):
    """Lists (from YAML) become tuples, so that a run's parameters are hashable."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def method_name_and_params(entry) -> tuple[str, dict[str, Any]]:
    """``(name, params dict)`` of a :attr:`GridConfig.methods` entry."""
    if isinstance(entry, str):
        return entry, {}
    return entry[0], dict(entry[1])


def _methods(value) -> tuple:
    """The ``methods`` key of a file: each entry checked (name, parameter names and values) with its place.

    A list of names and ``{name: ..., params: {...}}`` entries (``{nmtune: {lam: 0.1}}`` is the same entry), or a
    mapping of names to their params (``{lp: null, nmtune: {lam: 0.1}}``).
    """
    if isinstance(value, Mapping) and all(isinstance(v, Mapping | None) for v in value.values()):
        value = [{"name": k, "params": v} for k, v in value.items()]
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for i, raw in enumerate(items):
        where = (
            location(raw, "name", f"methods[{i}]")
            if isinstance(raw, Mapping)
            else location({}, 0, f"methods[{i}]")
        )
        try:
            entry = _method_entry(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        name, params = method_name_and_params(entry)
        raw_params = raw.get("params") if isinstance(raw, Mapping) else None
        try:
            checked = check_method_params(name, params)
        except (ValueError, TypeError) as exc:
            key = next((k for k in params if _names_param(str(exc), k)), None)
            if key is not None and isinstance(raw_params, Mapping):
                where = location(raw_params, key, f"methods[{i}].params.{key}")
            raise ConfigError(f"{where} ({name}): {exc}") from exc
        out.append((name, tuple(checked.items())) if checked else name)
    return tuple(out)


def _names_param(message: str, key: str) -> bool:
    """Whether an error message is about the parameter ``key`` (``'lam'`` quoted, or ``lam must ...``)."""
    return f"{key!r}" in message or message.startswith(f"{key} ") or f" {key} must" in message


def check_method_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The one validation of a method's parameters: names, values (by the head's own checks), coercion.

    Numeric strings become numbers where the method's default is a number or ``None`` (YAML 1.1 reads ``3e-4``
    as a string); lists become tuples. The estimator is then built with the parameters and its own parameter
    checks run (a head's ``_check_params``, scikit-learn's ``_validate_params`` for every step of a
    pipeline), so ``lam: big`` or ``batch_size: 0`` fail when the grid is loaded, not in every run after the
    features are encoded.

    Parameters
    ----------
    method : str
        A method name (:func:`nmtune.protocol.list_methods`).
    params : mapping or None
        Constructor arguments.

    Returns
    -------
    dict
        The parameters, coerced.

    Raises
    ------
    ValueError
        An unknown method or parameter name (with the valid ones), or a value the head refuses.
    """
    from nmtune.protocol.methods import build_estimator, check_params, get_method

    spec = get_method(method)
    params = dict(params or {})
    check_params(spec, params)
    if not params:
        return {}
    defaults = _param_defaults(spec)
    coerced = {k: _coerce_param(v, defaults.get(k)) for k, v in params.items()}
    estimator = build_estimator(spec, coerced)
    _run_param_checks(estimator)
    return coerced


def _param_defaults(spec) -> dict[str, Any]:
    from nmtune._internal.registry import resolve
    from nmtune.protocol.methods import build_estimator

    if spec.neural:
        return dict(build_estimator(spec, {}).get_params(deep=False))
    sig = inspect.signature(resolve(spec.factory))
    return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


def _coerce_param(value, default):
    """A numeric string as the number the user meant, where the default says the parameter is numeric."""
    if isinstance(value, list | tuple):
        inner = default[0] if isinstance(default, list | tuple) and default else None
        return tuple(_coerce_param(v, inner) for v in value)
    if not isinstance(value, str) or isinstance(default, bool | str):
        return value
    if default is not None and not isinstance(default, numbers.Real):
        return value
    try:
        number = float(value.strip())
    except ValueError:
        return value
    if isinstance(default, numbers.Integral) and number.is_integer():
        return int(number)
    return int(value.strip()) if default is None and value.strip().lstrip("+-").isdigit() else number


def _run_param_checks(estimator) -> None:
    steps = [s for _, s in estimator.steps] if hasattr(estimator, "steps") else [estimator]
    for step in steps:
        check = getattr(step, "_check_params", None) or getattr(step, "_validate_params", None)
        if check is not None:
            check()


def _integer(key: str):
    """The converter of an integer key of a config file (a whole float such as ``3.0`` is accepted)."""

    def convert(value):
        return check_number(
            f"grid key {key!r}",
            value,
            low=_INT_FIELDS[key],
            integer=True,
            whole_floats=True,
            allow_none=key not in _NOT_NULL,
        )

    return convert


def _seeds(value) -> tuple[int, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(check_number("each of seeds", v, low=0, integer=True, whole_floats=True) for v in items)


_RUN_KEYS = ("encoders", "suites", "pairs")


def config_from_dict(data: Mapping[str, Any], *, where: str = "") -> GridConfig:
    """Build a :class:`GridConfig` from a mapping, rejecting unknown keys (the loader of ``_internal.config``).

    Scalars are accepted where a list is expected (``seeds: 0`` means ``seeds: [0]``), numeric strings become
    numbers (``lr: 3e-4``), and a grid of ``file_tasks`` only runs no registered encoder or suite.

    Parameters
    ----------
    data : mapping
        Keys are :class:`GridConfig` field names.
    where : str
        Prefix of errors (the file).

    Returns
    -------
    GridConfig
    """
    if not isinstance(data, Mapping):
        raise TypeError(
            f"A grid configuration must be a mapping of keys to values; received {type(data).__name__}."
        )
    if not data:
        raise ValueError(
            "The grid configuration is empty. Name at least what to run (e.g. encoders and suites, pairs, or "
            "file_tasks), or start from a preset: `nmtune run --config demo` (presets: "
            + ", ".join(list_presets())
            + ")."
        )
    if data.get("file_tasks") and not any(k in data for k in _RUN_KEYS):
        data = _with(data, encoders=(), suites=())
    return config_from_mapping(GridConfig, data, where=where)


def _with(data, **changes):
    """A copy of a mapping read from YAML with some keys added (line numbers kept)."""
    out = type(data)(data) if isinstance(data, dict) else dict(data)
    if hasattr(data, "lines"):
        out.lines = dict(data.lines)
    out.update(changes)
    return out


def load_config(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> GridConfig:
    """Read a grid configuration from a YAML file, or a packaged preset name (see :func:`list_presets`).

    Parameters
    ----------
    path : str or path-like
        A ``.yaml`` file, or the name of a preset such as ``"demo"``.
    overrides : mapping, optional
        Keys that replace the file's (``None``: not given), e.g. from the command line.

    Returns
    -------
    GridConfig
    """
    from nmtune._internal.config import _resolve_source

    p = _resolve_source(path, PRESETS, "grid configuration")
    data = read_yaml(p, "grid configuration")
    if isinstance(data.get("file_tasks"), list):
        data = _with(data, file_tasks=[_relative_to(entry, p.parent) for entry in data["file_tasks"]])
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        data = _with(data, **given)
    return config_from_dict(data, where=str(p))


_FILE_KEYS = ("train", "test")
_FILE_MAPS = ("ood", "id", "labels")


def _relative_to(entry, folder: Path):
    """A ``file_tasks`` entry with its relative paths made relative to the configuration file's folder."""
    if not isinstance(entry, Mapping):
        return entry

    def fix(value):
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            return str(folder / value)
        return str(Path(value).expanduser()) if isinstance(value, str) else value

    out = _with(entry)
    for key in _FILE_KEYS:
        if key in out:
            out[key] = fix(out[key])
    for key in _FILE_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = _with(out[key], **{str(k): fix(v) for k, v in out[key].items()})
    return out


def list_presets() -> list[str]:
    """Names of the grid presets packaged in ``nmtune/configs``."""
    return _list_presets(PRESETS)


def preset_path(name: str) -> Path:
    """Path of a packaged preset."""
    return _preset_path(PRESETS, name, "grid preset")
