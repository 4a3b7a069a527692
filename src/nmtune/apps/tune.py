"""``nmtune tune``: fit one head on user feature files and save it with its config and metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from nmtune.protocol.evaluate import evaluate_domain
from nmtune.protocol.methods import build_estimator, get_method

__all__ = ["tune_features", "load_tuned"]


def _read_labels(path) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"labels file {str(p)!r} does not exist.")
    if p.suffix == ".npy":
        return np.load(p, allow_pickle=False)
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    try:
        return np.asarray([int(x) for x in lines], dtype=np.int64)
    except ValueError:
        return np.asarray(lines)


def _load(features, labels, label_column, what):
    from nmtune.feature_files import load_feature_file

    X, y = load_feature_file(features, label_column=label_column)
    if labels is not None:
        y = _read_labels(labels)
    if y is None:
        raise ValueError(
            f"The {what} file {str(features)!r} has no labels; pass a labels file (.npy or one label "
            f"per line) "
            "or store features with labels (.npz keys X/y, or a CSV/Parquet label column)."
        )
    if len(y) != X.shape[0]:
        raise ValueError(f"{what}: {X.shape[0]} feature rows but {len(y)} labels; they must match.")
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def _metrics(est, X, y, transforms: bool) -> dict[str, float]:
    metrics, _ = evaluate_domain(est, X, y, transforms=transforms)
    return metrics


def tune_features(
    features: str | Path,
    *,
    out: str | Path,
    method: str = "nmtune",
    labels: str | Path | None = None,
    label_column: str | None = None,
    eval_features: str | Path | None = None,
    eval_labels: str | Path | None = None,
    params: dict[str, Any] | None = None,
    epochs: int | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Fit a head on a feature file and save ``{"estimator", "config", "metrics"}`` with ``torch.save``.

    Parameters
    ----------
    features : path
        Training features (``.npy``/``.npz``/``.csv``/``.parquet``, see :func:`nmtune.feature_files.load_feature_file`).
    out : path
        Output file (``.pt``).
    method : str
        Any protocol method (``lp``, ``mlp``, ``nmtune``, ``nmtune-authors``, ablations, ``logreg``).
    labels, label_column : optional
        Labels file (``.npy`` or one per line) or the label column/key inside ``features``.
    eval_features, eval_labels : optional
        An evaluation file (labels as for training).
    params : dict, optional
        Constructor arguments of the head (e.g. ``{"lam": 0.1}``).
    epochs, seed, device : optional
        Training options.

    Returns
    -------
    dict
        ``config``, ``metrics`` (``train`` and optionally ``eval``: accuracy, macro-F1, SVE, LSVR), ``path``,
        ``estimator`` (the fitted head).
    """
    spec = get_method(method)
    X, y = _load(features, labels, label_column, "training")
    est = build_estimator(spec, params or {}, random_state=seed, device=device, epochs=epochs)
    t0 = time.perf_counter()
    est.fit(X, y)
    config = {
        "method": method,
        "params": dict(params or {}),
        "epochs": epochs,
        "seed": seed,
        "features": str(features),
        "n_train": int(X.shape[0]),
        "dim": int(X.shape[1]),
        "fit_seconds": time.perf_counter() - t0,
    }
    metrics = {"train": _metrics(est, X, y, spec.transforms)}
    if eval_features is not None:
        Xe, ye = _load(eval_features, eval_labels, label_column, "evaluation")
        metrics["eval"] = _metrics(est, Xe, ye, spec.transforms)
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save({"estimator": est, "config": config, "metrics": metrics, "format": "nmtune-tuned-v1"}, tmp)
    tmp.replace(out)
    return {"config": config, "metrics": metrics, "path": str(out), "estimator": est}


def load_tuned(path: str | Path) -> dict[str, Any]:
    """Load a file written by :func:`tune_features`: ``{"estimator", "config", "metrics"}``.

    Only load files you trust: the estimator is unpickled.
    """
    import torch

    obj = torch.load(Path(path), map_location="cpu", weights_only=False)
    if not isinstance(obj, dict) or obj.get("format") != "nmtune-tuned-v1":
        raise ValueError(f"{str(path)!r} is not a head saved by nmtune tune (format nmtune-tuned-v1).")
    return obj
