"""Configuration of evaluation grids: YAML files into frozen dataclasses.

A grid is the product encoders x suites x methods x selection modes x training fractions x seeds x
downstream label-noise rates (or an explicit list of ``(encoder, suite)`` pairs instead of encoders x suites).
Unknown keys are errors that name the valid keys, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nmtune._internal.files import read_yaml_mapping
from nmtune._internal.validation import check_each, check_number
from nmtune.exceptions import unknown_name_error

__all__ = [
    "GridConfig",
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
    """

    encoders: tuple[str, ...] = ("minilm",)
    suites: tuple[str, ...] = ("20ng-subgroups",)
    pairs: tuple[tuple[str, str], ...] = ()
    tasks: tuple[str, ...] = ()
    methods: tuple = ("lp", "mlp", "nmtune", "logreg")
    selection: tuple[str, ...] = ("paper",)
    fractions: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = (0, 1, 2)
    noise_rates: tuple[float, ...] = (0.0,)
    max_train: int | None = None
    max_eval: int | None = None
    epochs: int | None = None
    min_steps: int | None = None
    val_fraction: float = 0.2
    device: str = "cpu"
    n_jobs: int = 1
    threads_per_run: int = 1
    backend: str = "local"
    ray_address: str | None = None
    store: str = "nmtune-results.sqlite"
    report_dir: str | None = None
    pretrain_noise: Mapping[str, float] = field(default_factory=dict)

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
        from nmtune.protocol.methods import check_params, get_method

        for entry in self.methods:
            name, params = method_name_and_params(_method_entry(entry))
            get_method(name)
            check_params(name, params)
        for pair in self.pairs:
            if len(pair) != 2:
                raise ValueError(f"Each entry of pairs must be [encoder, suite]; received {pair!r}.")
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
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            elif isinstance(v, Mapping):
                v = dict(v)
            out[f.name] = v
        return out


_TUPLE_FIELDS = {
    "encoders": str,
    "suites": str,
    "tasks": str,
    "selection": str,
    "fractions": float,
    "seeds": lambda v: check_number("each of seeds", v, low=0, integer=True, whole_floats=True),
    "noise_rates": float,
}

# integer keys and their lower bounds; those in _NOT_NULL may not be null
_INT_FIELDS = {"epochs": 1, "min_steps": 0, "max_train": 1, "max_eval": 1, "n_jobs": 1, "threads_per_run": 1}
_NOT_NULL = ("n_jobs", "threads_per_run")


def _integer(key: str, value):
    """An integer key of a config file (a whole float such as ``3.0`` is accepted); the message names it."""
    return check_number(
        f"grid key {key!r}",
        value,
        low=_INT_FIELDS[key],
        integer=True,
        whole_floats=True,
        allow_none=key not in _NOT_NULL,
    )


def _method_entry(entry):
    """``"lp"`` stays a name; ``{name: nmtune, params: {lam: 0.1}}`` becomes ``("nmtune", (("lam", 0.1),))``."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return (entry[0], tuple((str(k), v) for k, v in dict(entry[1]).items()))
    if isinstance(entry, Mapping):
        extra = set(entry) - {"name", "params"}
        if "name" not in entry or extra:
            raise ValueError(
                f"A methods entry is a name or {{name: ..., params: {{...}}}}; received {dict(entry)!r}."
            )
        params = entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError(f"params of method {entry['name']!r} must be a mapping; received {params!r}.")
        return (str(entry["name"]), tuple((str(k), v) for k, v in params.items()))
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):  # to_dict round trip
        return (entry[0], tuple((str(k), v) for k, v in entry[1]))
    raise ValueError(f"A methods entry is a name or {{name: ..., params: {{...}}}}; received {entry!r}.")


def method_name_and_params(entry) -> tuple[str, dict[str, Any]]:
    """``(name, params dict)`` of a :attr:`GridConfig.methods` entry."""
    if isinstance(entry, str):
        return entry, {}
    return entry[0], dict(entry[1])


def config_from_dict(data: Mapping[str, Any]) -> GridConfig:
    """Build a :class:`GridConfig` from a mapping, rejecting unknown keys.

    Scalars are accepted where a list is expected (``seeds: 0`` means ``seeds: [0]``).

    Parameters
    ----------
    data : mapping
        Keys are :class:`GridConfig` field names.

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
            "The grid configuration is empty. Name at least what to run (e.g. encoders and suites, or pairs), "
            "or start from a preset: `nmtune run --config demo` (presets: " + ", ".join(list_presets()) + ")."
        )
    valid = [f.name for f in dataclasses.fields(GridConfig)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in valid:
            err = unknown_name_error("grid configuration key", key, valid)
            raise ValueError(f"{err} Remove or rename it.")
        if key in _TUPLE_FIELDS:
            items = value if isinstance(value, list | tuple) else [value]
            try:
                value = tuple(_TUPLE_FIELDS[key](v) for v in items)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Grid key {key!r} has a wrong-typed value {value!r} ({exc})") from exc
        elif key == "methods":
            value = tuple(_method_entry(v) for v in (value if isinstance(value, list | tuple) else [value]))
        elif key in _INT_FIELDS:
            value = _integer(key, value)
        elif key == "pairs":
            value = tuple(tuple(str(x) for x in p) for p in (value or ()))
        elif key == "pretrain_noise":
            value = {str(k): float(v) for k, v in (value or {}).items()}
        kwargs[key] = value
    return GridConfig(**kwargs)


def load_config(path: str | Path) -> GridConfig:
    """Read a grid configuration from a YAML file, or a packaged preset name (see :func:`list_presets`).

    Parameters
    ----------
    path : str or path-like
        A ``.yaml`` file, or the name of a preset such as ``"demo"``.

    Returns
    -------
    GridConfig
    """
    p = Path(path)
    if not p.exists():
        presets = list_presets()
        if str(path) in presets:
            p = preset_path(str(path))
        else:
            raise FileNotFoundError(
                f"No grid configuration file {str(path)!r}. Give a YAML file path or a preset name: "
                f"{', '.join(presets)}."
            )
    data = read_yaml_mapping(p, "grid configuration")
    try:
        return config_from_dict(data)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"In {p}: {exc}") from exc


def list_presets() -> list[str]:
    """Names of the grid presets packaged in ``nmtune/configs``."""
    root = resources.files("nmtune") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    """Path of a packaged preset."""
    if name not in list_presets():
        raise unknown_name_error("grid preset", name, list_presets())
    return Path(str(resources.files("nmtune") / "configs" / f"{name}.yaml"))
