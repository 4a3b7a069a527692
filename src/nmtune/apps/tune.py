"""``nmtune tune``: fit one head on user feature files and save it with its config and metrics.

Everything that can fail is checked before the fit: the method and its parameters, that the head can be saved,
that ``out`` can be written, the feature and label files. The file is written once, at the end, atomically.
"""

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
    from nmtune.heads._data import validate_y

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
    if what == "training":
        validate_y(y, X.shape[0])  # the heads' own label checks, before anything is fitted
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
    """Fit a head on a feature file and save it with its configuration and metrics (JSON and tensors).

    Parameters
    ----------
    features : path
        Training features (``.npy``/``.npz``/``.csv``/``.parquet``, see :func:`nmtune.feature_files.load_feature_file`).
    out : path
        Output file (``.pt``); its folder is created if missing. Checked to be writable before the fit.
    method : str
        Any protocol method (:func:`nmtune.protocol.list_methods`): every head of
        :func:`nmtune.heads.list_heads` (``lp``, ``mlp``, ``nmtune``, ``nmtune-cv``, ``logreg``, ...) and the
        ablations.
    labels, label_column : optional
        Labels file (``.npy`` or one per line) or the label column/key inside ``features``.
    eval_features, eval_labels : optional
        An evaluation file (labels as for training).
    params : dict, optional
        Constructor arguments of the head (e.g. ``{"lam": 0.1}``, ``{"n_threads": 1}``).
    epochs, seed, device : optional
        Training options.
    progress : bool
        A progress bar over the epochs (or, for NMTuneCV, the fits).

    Returns
    -------
    dict
        ``config``, ``metrics`` (``train`` and optionally ``eval``: accuracy, macro-F1, SVE, LSVR), ``path``,
        ``estimator`` (the fitted head).
    """
    from nmtune._internal.threads import thread_limit
    from nmtune.heads._persist import check_saveable

    spec = get_method(method)
    check_params(spec, params)
    out = _check_out(out)
    est = build_estimator(spec, params or {}, random_state=seed, device=device, epochs=epochs)
    check_saveable(est)  # a head that could not be saved is refused before the fit
    X, y = _load(features, labels, label_column, "training")
    evaluation = None
    if eval_features is not None:
        evaluation = _load(eval_features, eval_labels, label_column, "evaluation")
    if progress and "progress" in est.get_params():
        est.set_params(progress=True)
    with thread_limit((params or {}).get("n_threads")):
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
        if evaluation is not None:
            metrics["eval"] = _metrics(est, *evaluation, spec.transforms)
    _save(est, config, metrics, out)
    return {"config": config, "metrics": metrics, "path": str(out), "estimator": est}


def _check_out(out) -> Path:
    """The output path, checked before any training: a file that can be created in an existing folder.

    A missing folder is created; a folder path, an unwritable folder or a read-only file is refused, naming the
    path given.
    """
    from nmtune.heads._persist import check_writable

    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(
            f"--out {str(out)!r} is a folder; give a file path such as {str(out / 'head.pt')!r}."
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(
            exc.errno, f"Cannot create the folder {str(out.parent)!r} for --out {str(out)!r}: {exc.strerror}"
        ) from exc
    return check_writable(out)


def _save(est, config, metrics, out: Path) -> None:
    """Write ``{"format", "meta" (JSON: config, metrics), "head" (a head file's state)}``: tensors and JSON only."""
    from nmtune.heads._persist import head_state, write_state

    meta = json.dumps({"config": config, "metrics": metrics})
    write_state({"format": TUNED_FORMAT, "meta": meta, "head": head_state(est)}, out)


def _bad_file(path, why: str) -> ValueError:
    return ValueError(
        f"{str(path)!r} is not a valid file of `nmtune tune` ({why}); write one with `nmtune tune FEATURES --out "
        "FILE` and load it with nmtune.apps.tune.load_tuned(path)."
    )


def _legacy_logreg_head(body, params, path) -> dict:
    """The head state of a logistic regression saved by earlier versions (its four tensors)."""
    from nmtune.heads._persist import FORMAT, VERSION

    if not isinstance(body, dict) or not isinstance(body.get("tensors"), dict):
        raise _bad_file(path, "its logistic regression has no tensors")
    try:
        meta = json.loads(body["meta"])
        tensors = body["tensors"]
        head_meta = {
            "format": FORMAT,
            "version": VERSION,
            "class": "LogReg",
            "params": dict(params),
            "classes": meta["classes"],
            "classes_kind": meta["classes_kind"],
            "n_features_in": int(tensors["mean"].shape[0]),
            "feature_names_in": None,
        }
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise _bad_file(path, f"malformed logistic regression: {exc!r}") from exc
    return {"meta": json.dumps(head_meta), "state_dict": tensors}


def load_tuned(path: str | Path, *, device: str = "cpu") -> dict[str, Any]:
    """Load a file written by :func:`tune_features`: ``{"estimator", "config", "metrics"}``.

    The file holds JSON and tensors only and is read with ``torch.load(weights_only=True)``: loading it never
    runs code. Pickled files, other formats and damaged files (unreadable JSON, missing keys, weights of the wrong
    shape or not finite) are refused with a ``ValueError`` naming the file.
    """
    from nmtune.heads._persist import head_from_state, read_state

    obj = read_state(path)
    if not isinstance(obj, dict) or obj.get("format") != TUNED_FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else None
        hint = (
            " It is a head file: load it with nmtune.heads.load(path)."
            if isinstance(obj, dict) and "state_dict" in obj
            else ""
        )
        raise ValueError(
            f"{str(path)!r} is not a head saved by nmtune tune (format {TUNED_FORMAT}, found {found!r}); save "
            f"one with `nmtune tune FEATURES --out FILE`.{hint}"
        )
    try:
        meta = json.loads(obj["meta"])
        config, metrics = meta["config"], meta["metrics"]
        if not isinstance(config, dict) or not isinstance(metrics, dict):
            raise TypeError("config and metrics must be mappings")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise _bad_file(path, f"unreadable description: {exc!r}") from exc
    if "head" in obj:
        state = obj["head"]
    elif "logreg" in obj:
        state = _legacy_logreg_head(obj["logreg"], config.get("params") or {}, path)
    else:
        raise _bad_file(path, "no head in it")
    est = head_from_state(state, device=device, source=path)
    return {"estimator": est, "config": config, "metrics": metrics}
