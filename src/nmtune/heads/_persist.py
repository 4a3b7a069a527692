"""Saving and loading fitted heads without pickle: a JSON description plus a dict of weight tensors.

A head file is ``torch.save({"meta": <JSON str>, "state_dict": {name: Tensor}})`` and is read back with
``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers: loading a file never runs
code from it. ``meta`` holds the format tag, the class name (one of the heads), the constructor parameters,
``classes_``, ``n_features_in_``, ``feature_names_in_`` and ``history_``.
"""

from __future__ import annotations

import json
import math
import numbers
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nmtune._internal.files import atomic_path

FORMAT = "nmtune-head"
VERSION = 2


def _json_param(name: str, value):
    """A constructor parameter as JSON; random states that are objects are stored as None (with the note)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if name == "random_state":  # a numpy Generator / RandomState: its state is not part of the model
        return None
    raise TypeError(f"Cannot save parameter {name}={value!r}: heads store JSON-serialisable parameters only.")


def head_state(est) -> dict[str, Any]:
    """The saveable state of a fitted head: ``{"meta": str (JSON), "state_dict": {name: CPU tensor}}``."""
    classes = np.asarray(est.classes_)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "class": type(est).__name__,
        "params": {k: _json_param(k, v) for k, v in est.get_params().items()},
        "classes": classes.tolist(),
        "classes_kind": {"i": "int", "u": "int", "b": "int", "f": "float"}.get(classes.dtype.kind, "str"),
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": [str(n) for n in getattr(est, "feature_names_in_", [])] or None,
        "history": est.history_,
    }
    state_dict = {k: v.detach().cpu().clone() for k, v in est.model_.state_dict().items()}
    return {"meta": json.dumps(meta), "state_dict": state_dict}


def _not_a_head(path, why: str) -> ValueError:
    return ValueError(
        f"{str(path)!r} is not an nmtune head file ({why}). Save heads with head.save(path) (nmtune >= 0.1 "
        "format 2: JSON description + weights) and load them with nmtune.heads.load(path)."
    )


def head_from_state(state, *, device: str = "cpu", source="<state>"):
    """Rebuild a fitted head from :func:`head_state`'s dict; every field is checked before use."""
    from nmtune import heads
    from nmtune.heads.base import resolve_device

    if not isinstance(state, dict) or not isinstance(state.get("meta"), str):
        raise _not_a_head(source, "no JSON description")
    try:
        meta = json.loads(state["meta"])
    except json.JSONDecodeError as exc:
        raise _not_a_head(source, f"unreadable description: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _not_a_head(source, f"format {meta.get('format') if isinstance(meta, dict) else None!r}")
    allowed = {"LinearProbe": heads.LinearProbe, "MLPTuning": heads.MLPTuning, "NMTune": heads.NMTune}
    cls = allowed.get(meta.get("class"))
    if cls is None:
        raise _not_a_head(source, f"class {meta.get('class')!r} is not one of {sorted(allowed)}")
    params = meta.get("params")
    valid = set(cls().get_params())
    if not isinstance(params, dict) or not set(params) <= valid:
        unknown = sorted(set(params) - valid) if isinstance(params, dict) else params
        raise _not_a_head(source, f"unknown parameters {unknown!r}")
    weights = state.get("state_dict")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise _not_a_head(source, "no weight tensors")
    est = cls(**{**params, "device": device})
    kind = meta.get("classes_kind")
    est.classes_ = np.asarray(meta["classes"], dtype={"int": np.int64, "float": np.float64}.get(kind, str))
    est.n_features_in_ = int(meta["n_features_in"])
    if meta.get("feature_names_in"):
        est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
    est.history_ = list(meta.get("history") or [])
    est.device_ = resolve_device(device)
    model = est._build_model(est.n_features_in_, len(est.classes_))
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise _not_a_head(source, f"weights do not fit a {cls.__name__}: {str(exc).splitlines()[0]}") from exc
    est.model_ = model.to(est.device_).eval()
    est.n_epochs_ = len(est.history_)
    return est


def read_state(path) -> Any:
    """``torch.load(path, weights_only=True)`` with clear errors for missing, foreign or pickled files."""
    path = Path(path)
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


def write_state(state: dict, path) -> None:
    """Write ``state`` with ``torch.save`` atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder; give a file path such as {str(path / 'head.pt')!r}."
        )
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
