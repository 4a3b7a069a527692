"""``nmtune tune``: fit one head on user feature files and save it with its config and metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nmtune.protocol.evaluate import evaluate_domain
from nmtune.protocol.methods import build_estimator, check_params, get_method

__all__ = ["tune_features", "load_tuned", "TUNED_FORMAT"]

TUNED_FORMAT = "nmtune-tuned-v2"


def _read_labels(path) -> np.ndarray:
    from nmtune.feature_files import load_labels_file

    return load_labels_file(path)  # the one reader: missing and continuous labels are errors naming the file


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
    progress: bool = False,
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
    progress : bool
        A progress bar over the epochs of neural heads.

    Returns
    -------
    dict
        ``config``, ``metrics`` (``train`` and optionally ``eval``: accuracy, macro-F1, SVE, LSVR), ``path``,
        ``estimator`` (the fitted head).
    """
    spec = get_method(method)
    check_params(spec, params)
    out = _check_out(out)
    X, y = _load(features, labels, label_column, "training")
    est = build_estimator(spec, params or {}, random_state=seed, device=device, epochs=epochs)
    if progress and "progress" in est.get_params():
        est.set_params(progress=True)
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
    _save(est, config, metrics, out)
    return {"config": config, "metrics": metrics, "path": str(out), "estimator": est}


def _check_out(out) -> Path:
    """The output path, checked before any training: a file path in an existing or creatable folder."""
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(
            f"--out {str(out)!r} is a folder; give a file path such as {str(out / 'head.pt')!r}."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _logreg_state(pipe) -> dict[str, Any]:
    scaler, clf = pipe[0], pipe[-1]
    import torch

    tensors = {
        "mean": torch.from_numpy(np.array(scaler.mean_)),
        "scale": torch.from_numpy(np.array(scaler.scale_)),
        "coef": torch.from_numpy(np.array(clf.coef_)),
        "intercept": torch.from_numpy(np.array(clf.intercept_)),
    }
    classes = np.asarray(clf.classes_)
    meta = {"classes": classes.tolist(), "classes_kind": "int" if classes.dtype.kind in "iub" else "str"}
    return {"meta": json.dumps(meta), "tensors": tensors}


def _logreg_from_state(state, params) -> Any:
    meta = json.loads(state["meta"])
    t = state["tensors"]
    pipe = build_estimator("logreg", params)
    scaler, clf = pipe[0], pipe[-1]
    scaler.mean_, scaler.scale_ = t["mean"].numpy(), t["scale"].numpy()
    scaler.var_ = scaler.scale_**2  # not used by transform
    scaler.n_features_in_ = clf.n_features_in_ = int(scaler.mean_.shape[0])
    scaler.n_samples_seen_ = 0
    clf.coef_, clf.intercept_ = t["coef"].numpy(), t["intercept"].numpy()
    clf.classes_ = np.asarray(meta["classes"], dtype=np.int64 if meta["classes_kind"] == "int" else str)
    clf.n_iter_ = np.zeros(1, dtype=np.int32)
    return pipe


def _save(est, config, metrics, out: Path) -> None:
    """Write ``{"format", "meta" (JSON: config, metrics), "head" | "logreg"}``: tensors and JSON only."""
    from nmtune.heads._persist import head_state, write_state

    body = {"logreg": _logreg_state(est)} if config["method"] == "logreg" else {"head": head_state(est)}
    meta = json.dumps({"config": config, "metrics": metrics})
    write_state({"format": TUNED_FORMAT, "meta": meta, **body}, out)


def load_tuned(path: str | Path, *, device: str = "cpu") -> dict[str, Any]:
    """Load a file written by :func:`tune_features`: ``{"estimator", "config", "metrics"}``.

    The file holds JSON and tensors only and is read with ``torch.load(weights_only=True)``: loading it never
    runs code. Files of the older pickled format are refused with a ``ValueError``.
    """
    from nmtune.heads._persist import head_from_state, read_state

    obj = read_state(path)
    if not isinstance(obj, dict) or obj.get("format") != TUNED_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a head saved by nmtune tune (format {TUNED_FORMAT}); save one with "
            "`nmtune tune FEATURES --out FILE`."
        )
    meta = json.loads(obj["meta"])
    if "logreg" in obj:
        est = _logreg_from_state(obj["logreg"], meta["config"].get("params") or {})
    else:
        est = head_from_state(obj["head"], device=device, source=path)
    return {"estimator": est, "config": meta["config"], "metrics": meta["metrics"]}
