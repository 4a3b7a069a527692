"""Saving and loading fitted heads without pickle: a JSON description plus a dict of tensors.

A head file is ``torch.save({"meta": <JSON str>, "state_dict": {name: Tensor}})`` and is read back with
``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers: loading a file never runs
code from it. ``meta`` holds the format tag and version, the class name (a class of the head registry,
:func:`nmtune.heads.registry.loadable_class`), the constructor parameters, ``classes_``, ``n_features_in_``,
``feature_names_in_`` and what the class adds (``history`` of a torch head, ``cv_results`` of a selecting head...).

A class takes part by defining ``_save_state(self) -> (dict, {name: Tensor})`` (its JSON-able fields and its
tensors) and ``_load_state(self, meta, tensors, device)`` (fill a new instance, built from the saved parameters).
A head made of heads (NMTuneCV and its winner, a blend and its members) saves each part with
:func:`part_state` under a name and reads it with :func:`part_from_state`: a part's tensors are stored under
``<name>/<tensor>``.

Every file is checked in one place (:func:`head_from_state`): the format, the class, the parameters, and that
every floating-point tensor is finite (a head whose weights are NaN is refused, naming the file and the tensor).
"""

from __future__ import annotations

import contextvars
import json
import math
import numbers
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nmtune._internal.files import atomic_path

from .registry import loadable_class

FORMAT = "nmtune-head"
VERSION = 2
#: Format tag of the files written by ``nmtune tune`` (a head plus its run configuration and metrics).
TUNED_FORMAT = "nmtune-tuned-v2"

__all__ = [
    "FORMAT",
    "VERSION",
    "head_state",
    "head_from_state",
    "part_state",
    "part_from_state",
    "json_params",
    "json_params_of",
    "read_state",
    "write_state",
    "check_saveable",
    "check_writable",
    "load",
    "nest",
    "encode_results",
    "decode_results",
    "sub_tensors",
    "TUNED_FORMAT",
]


_SOURCE: contextvars.ContextVar[str] = contextvars.ContextVar("nmtune_head_source", default="<state>")


class HeadFileError(ValueError):
    """A file that is not a valid nmtune head file (a ``ValueError``)."""


def encode_results(results: dict) -> dict:
    """A ``cv_results_`` dict as JSON: arrays become ``{"dtype": str, "values": list}``, lists stay lists."""
    out = {}
    for key, value in results.items():
        if isinstance(value, np.ndarray):
            kind = "object" if value.dtype == object else value.dtype.str
            out[key] = {"dtype": kind, "values": value.tolist()}
        else:
            out[key] = list(value)
    return out


def decode_results(data: dict) -> dict:
    """The inverse of :func:`encode_results`."""
    if not isinstance(data, dict):
        raise ValueError("cv_results is not a mapping")
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = np.array(
                value["values"], dtype=object if value["dtype"] == "object" else value["dtype"]
            )
        else:
            out[key] = list(value)
    return out


def _json_param(name: str, value):
    """A constructor parameter as JSON; random states that are objects are stored as None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if name == "random_state":  # a numpy Generator / RandomState: its state is not part of the model
        return None
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_param(f"{name}[{k!r}]", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_param(f"{name}[{i}]", v) for i, v in enumerate(value)]
    raise TypeError(
        f"Cannot save parameter {name}={value!r}: head files store parameters that are numbers, strings, "
        "lists or dicts of them."
    )


def json_params_of(params: dict) -> dict[str, Any]:
    """Parameters ``{name: value}`` as JSON values (a ``TypeError`` names one that cannot be saved)."""
    return {k: _json_param(k, v) for k, v in params.items()}


def json_params(est) -> dict[str, Any]:
    """The constructor parameters of ``est`` as JSON values (``est._saved_params()`` where a class defines it)."""
    params = est._saved_params() if hasattr(est, "_saved_params") else est.get_params(deep=False)
    return json_params_of(params)


def check_saveable(est) -> None:
    """Raise, before any fitting, when ``est`` has invalid parameters or could not be saved.

    That is: a parameter the head's own checks refuse, a class without a head state, or a parameter that is not
    JSON (other than ``cv``, saved as its number of folds, and ``random_state``).

    Parameters
    ----------
    est : estimator
        An unfitted estimator.
    """
    cls = type(est)
    if hasattr(est, "_check_params"):
        est._check_params()
    if not (hasattr(cls, "_save_state") and loadable_class(cls.__name__) is cls):
        raise TypeError(
            f"{cls.__name__} cannot be saved as a head file: it is not a head of nmtune.heads.list_heads() "
            "(register it with nmtune.heads.register_head and give it _save_state/_load_state)."
        )
    json_params(est)


def _classes_kind(classes: np.ndarray) -> str:
    return {"i": "int", "u": "int", "b": "int", "f": "float"}.get(classes.dtype.kind, "str")


def part_state(est) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The state of one fitted estimator: ``(meta dict, {name: CPU tensor})``.

    Parameters
    ----------
    est : estimator
        A fitted estimator of a loadable class.

    Returns
    -------
    meta : dict
        ``class``, ``params``, ``classes``, ``classes_kind``, ``n_features_in``, ``feature_names_in`` and the
        class's own fields.
    tensors : dict of str to torch.Tensor
    """
    classes = np.asarray(est.classes_)
    meta = {
        "class": type(est).__name__,
        "params": json_params(est),
        "classes": classes.tolist(),
        "classes_kind": _classes_kind(classes),
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": [str(n) for n in getattr(est, "feature_names_in_", [])] or None,
    }
    extra, tensors = est._save_state()
    meta.update(extra)
    return meta, {k: v.detach().cpu().clone() for k, v in tensors.items()}


def index_tensor(indices) -> torch.Tensor:
    """Row indices as an int64 tensor (the folds of a selecting head)."""
    return torch.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))


def nest(prefix: str, meta: dict, tensors: dict) -> tuple[dict, dict]:
    """A part's ``(meta, tensors)`` with its tensors renamed ``<prefix>/<name>`` (to merge into the parent's)."""
    return meta, {f"{prefix}/{k}": v for k, v in tensors.items()}


def sub_tensors(prefix: str, tensors: dict) -> dict:
    """The tensors stored under ``<prefix>/``, with the prefix removed."""
    start = f"{prefix}/"
    return {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}


def head_state(est) -> dict[str, Any]:
    """The saveable state of a fitted head: ``{"meta": str (JSON), "state_dict": {name: CPU tensor}}``."""
    meta, tensors = part_state(est)
    return {"meta": json.dumps({"format": FORMAT, "version": VERSION, **meta}), "state_dict": tensors}


def _not_a_head(path, why: str) -> HeadFileError:
    return HeadFileError(
        f"{str(path)!r} is not an nmtune head file ({why}). Save heads with head.save(path) and load them "
        "with nmtune.heads.load(path)."
    )


def part_from_state(meta, tensors: dict, *, device: str = "cpu", source=None):
    """Rebuild one fitted estimator from :func:`part_state`'s ``(meta, tensors)``; every field is checked.

    ``source`` (quoted in errors) defaults to the file being loaded.
    """
    source = _SOURCE.get() if source is None else source
    if not isinstance(meta, dict):
        raise _not_a_head(source, "a part's description is not a mapping")
    name = meta.get("class")
    cls = loadable_class(name) if isinstance(name, str) else None
    if cls is None:
        raise _not_a_head(source, f"class {name!r} is not a head class of nmtune.heads")
    params = meta.get("params")
    valid = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or not set(params) <= valid:
        unknown = sorted(set(params) - valid) if isinstance(params, dict) else params
        raise _not_a_head(source, f"unknown parameters {unknown!r} for {name}")
    try:
        if "device" in valid:
            params = {**params, "device": device}
        est = cls(**params)
        classes = meta["classes"]
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError(f"classes must be a list of at least 2 labels; got {classes!r}")
        kind = meta.get("classes_kind")
        est.classes_ = np.asarray(classes, dtype={"int": np.int64, "float": np.float64}.get(kind, str))
        est.n_features_in_ = int(meta["n_features_in"])
        if est.n_features_in_ < 1:
            raise ValueError(f"n_features_in must be >= 1; got {est.n_features_in_}")
        if meta.get("feature_names_in"):
            est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        est._load_state(meta, tensors, device)
    except HeadFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _not_a_head(source, f"malformed {name}: {first}") from exc
    return est


def _check_tensors(tensors, source) -> None:
    if not isinstance(tensors, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
    ):
        raise _not_a_head(source, "no weight tensors")
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            kind = "NaN" if bool(torch.isnan(value).any()) else "infinite"
            raise _not_a_head(
                source,
                f"tensor {key!r} holds {kind} values: the head was saved after its training diverged, or the file "
                "was damaged; fit the head again and save it",
            )


def head_from_state(state, *, device: str = "cpu", source="<state>"):
    """Rebuild a fitted head from :func:`head_state`'s dict, checking the file as a whole first."""
    if isinstance(state, dict) and state.get("format") == TUNED_FORMAT:
        raise _not_a_head(
            source,
            "it was written by `nmtune tune`, which stores a head with its run configuration and metrics; load it "
            "with nmtune.apps.tune.load_tuned(path), whose 'estimator' is the head",
        )
    if not isinstance(state, dict) or not isinstance(state.get("meta"), str):
        raise _not_a_head(source, "no JSON description")
    try:
        meta = json.loads(state["meta"])
    except json.JSONDecodeError as exc:
        raise _not_a_head(source, f"unreadable description: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _not_a_head(source, f"format {meta.get('format') if isinstance(meta, dict) else None!r}")
    if meta.get("version") not in (1, VERSION):
        raise _not_a_head(
            source, f"format version {meta.get('version')!r}; this nmtune reads versions up to {VERSION}"
        )
    tensors = state.get("state_dict")
    _check_tensors(tensors, source)
    token = _SOURCE.set(str(source))
    try:
        return part_from_state(meta, tensors, device=device, source=source)
    finally:
        _SOURCE.reset(token)


def read_state(path) -> Any:
    """``torch.load(path, weights_only=True)`` with clear errors for missing, foreign or pickled files."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give the path of a head file.")
    if not path.is_file():
        raise FileNotFoundError(f"No head file at {str(path)!r}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _not_a_head(
            path,
            "it holds pickled Python objects, which nmtune does not load because unpickling can run code; "
            "if it was written by an older nmtune and you trust it, re-save it with this version",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - torch's loader raises KeyError, RuntimeError... on foreign bytes
        raise _not_a_head(
            path, f"unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc


def check_writable(path) -> Path:
    """Raise, naming ``path``, unless a file can be written there: not a folder, in an existing writable folder.

    Parameters
    ----------
    path : path-like
        The file to write.

    Returns
    -------
    pathlib.Path
    """
    import os
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder; give a file path such as {str(path / 'head.pt')!r}."
        )
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"Cannot write {str(path)!r}: the folder {str(folder)!r} {what}. Create it first (mkdir -p)."
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(f"Cannot write {str(path)!r}: the file exists and is read-only.")
    try:  # the one sure test: create (and remove) a file in the folder
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise PermissionError(
            f"Cannot write {str(path)!r}: no file can be created in the folder {str(folder)!r} "
            f"({exc.strerror or exc})."
        ) from exc
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return path


def write_state(state: dict, path) -> None:
    """Write ``state`` with ``torch.save`` atomically (a temporary file in the same folder, then rename).

    The folder is checked first, so that errors name ``path`` rather than the temporary file.
    """
    path = check_writable(path)
    try:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    except OSError as exc:
        raise OSError(exc.errno, f"Cannot write {str(path)!r}: {exc.strerror or exc}") from exc


def load(path, *, device: str = "cpu"):
    """Load a head saved with its ``save(path)`` method; predictions equal the saved head's.

    Only tensors and plain containers are read (``torch.load(weights_only=True)``): a file cannot run code, and
    anything that is not a valid nmtune head file (another format, a class outside the head registry, unknown
    parameters, weights of the wrong shape or not finite) is refused with a ``ValueError`` naming the file.

    Parameters
    ----------
    path : path-like
        The head file.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where torch heads compute after loading.

    Returns
    -------
    estimator
        The fitted head (e.g. :class:`~nmtune.heads.NMTune`, :class:`~nmtune.heads.NMTuneCV`).
    """
    return head_from_state(read_state(path), device=device, source=path)
