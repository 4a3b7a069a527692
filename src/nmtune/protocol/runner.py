"""One run of the protocol on a :class:`~nmtune.protocol.tasks.FeatureTask`: the core, on feature matrices.

A run: take a stratified ``fraction`` of the training split (seeded), corrupt the training labels with
symmetric
noise eta (exact count, :func:`nmtune.noise.symmetric_noise`), select hyper-parameters on a stratified
validation split of the (noisy) training subset when the method asks for it, refit on the whole training
subset,
then on every evaluation domain record accuracy, macro-F1 and the spectrum (SVE, LSVR, RankMe) of the features
the classifier sees: F for ``lp``/``logreg``, ``Z = head.transform(F)`` for MLP/NMTune heads.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nmtune.protocol.evaluate import evaluate_domain
from nmtune.protocol.methods import build_estimator, get_method
from nmtune.protocol.tasks import FeatureTask

__all__ = ["RunSpec", "run_one", "training_rows", "library_versions", "PROTOCOL_VERSION", "GROUP_FOLDS"]

#: Bumped when a change to the protocol makes old results incomparable (it enters every run id).
PROTOCOL_VERSION = 2  # 2: heads train for at least ``min_steps`` optimiser steps
#: Methods whose defaults changed after runs of them were stored: the revision enters their run id, so a store
#: never takes an earlier run for one of the current method. ``nmtune-cv`` 2: the default since issue 24's second
#: pre-registered round (per-sample L2 on the wide grid, the candidates within one SE averaged).
METHOD_REVISIONS = {"nmtune-cv": 2}

#: What a run does with the training rows' groups (source sub-domains) when its method selects on group folds
#: (``nmtune-cv``): ``"require"`` (default) passes them and the run fails, saying so, when group-aware folds
#: are impossible for its training subset; ``"fallback"`` selects on stratified folds in that case (the record
#: says ``group_folds: false``); ``"none"`` never passes groups.
GROUP_FOLDS = ("require", "fallback", "none")


@dataclass(frozen=True)
class RunSpec:
    """The configuration of one run; its hash is the run id.

    Parameters
    ----------
    encoder, suite, task : str
        Which feature task.
    method : str
        Method name (:func:`nmtune.protocol.list_methods`).
    params : tuple of (str, value) pairs
        Constructor arguments fixed for this run (a grid's per-method ``params``); selection may add more.
    selection : {"paper", "val"}
        Hyper-parameter selection mode.
    fraction : float
        Fraction of the training split used.
    seed : int
        Seed of the subsample, the label noise, the validation split and the head.
    noise : float
        Downstream symmetric label-noise rate eta.
    epochs : int or None
        Epoch override of neural heads.
    min_steps : int or None
        Minimum-steps override of neural heads (``None``: the heads' default).
    val_fraction : float
        Held-out fraction of the training subset for selection.
    device : str
        Device of neural heads (not part of the identity: results do not depend on it by design).
    max_train, max_eval : int or None
        Per-domain caps applied when the task was built.
    pretrain_noise : float or None
        Pre-training noise ratio of the encoder, when known.
    group_folds : {"require", "fallback", "none"}
        Group policy of methods that select on group folds (:data:`GROUP_FOLDS`); enters the identity only
        when it is not the default.
    """

    encoder: str
    suite: str
    task: str
    method: str
    params: tuple = ()
    selection: str = "paper"
    fraction: float = 1.0
    seed: int = 0
    noise: float = 0.0
    epochs: int | None = None
    min_steps: int | None = None
    val_fraction: float = 0.2
    device: str = "cpu"
    max_train: int | None = None
    max_eval: int | None = None
    pretrain_noise: float | None = None
    group_folds: str = "require"

    def __post_init__(self) -> None:
        if self.group_folds not in GROUP_FOLDS:
            from nmtune.exceptions import unknown_name_error

            raise unknown_name_error("group_folds policy", self.group_folds, GROUP_FOLDS)

    def config(self) -> dict[str, Any]:
        """The identifying configuration (JSON-serialisable; excludes ``device``)."""
        cfg = asdict(self)
        cfg.pop("device")
        cfg["params"] = {k: v for k, v in self.params}
        if not cfg["params"]:
            cfg.pop("params")  # runs without per-method params keep the identity they always had
        if cfg["group_folds"] == "require":
            cfg.pop("group_folds")  # the default policy keeps the identity runs had before it was an option
        cfg["fraction"] = float(cfg["fraction"])
        cfg["noise"] = float(cfg["noise"])
        cfg["protocol_version"] = PROTOCOL_VERSION
        if self.method in METHOD_REVISIONS:
            cfg["method_revision"] = METHOD_REVISIONS[self.method]
        return cfg

    @property
    def run_id(self) -> str:
        """Hex SHA-256 (first 20 characters) of the canonical JSON of :meth:`config`."""
        blob = json.dumps(self.config(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def task_key(self) -> tuple[str, str, str]:
        """``(encoder, suite, task)``."""
        return (self.encoder, self.suite, self.task)


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    import sklearn
    import torch

    import nmtune

    return {
        "python": platform.python_version(),
        "nmtune": nmtune.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _split_for_selection(y, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation indices of the training subset (classes with < 2 rows stay in train)."""
    rng = np.random.default_rng([seed, 7919])
    fit_idx, val_idx = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_val = int(np.floor(val_fraction * rows.size + 0.5)) if rows.size >= 2 else 0
        n_val = min(n_val, rows.size - 1)
        val_idx.append(rows[:n_val])
        fit_idx.append(rows[n_val:])
    return np.sort(np.concatenate(fit_idx)), np.sort(np.concatenate(val_idx))


def _estimator(method, spec: RunSpec, params: dict):
    """The unfitted estimator of a run: the run's own params, then the candidate's, on the run's seed and budget."""
    return build_estimator(
        method,
        {**dict(spec.params), **params},
        random_state=spec.seed,
        device=spec.device,
        epochs=spec.epochs,
        min_steps=spec.min_steps,
    )


def _select(spec: RunSpec, X, y) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Pick hyper-parameters on a validation split of the training subset; returns (best, all scores)."""
    method = get_method(spec.method)
    candidates = method.candidates(spec.selection)
    if len(candidates) == 1:
        return candidates[0], []
    fit_idx, val_idx = _split_for_selection(y, spec.val_fraction, spec.seed)
    if val_idx.size == 0 or np.unique(y[fit_idx]).size < 2:
        raise ValueError(
            f"Run {spec.task}/{spec.method}: the training subset ({y.size} rows) is too small for a "
            f"validation "
            "split; use a larger fraction or max_train, or selection 'paper'."
        )
    scores = []
    for params in candidates:
        est = _estimator(method, spec, params)
        est.fit(X[fit_idx], y[fit_idx])
        scores.append(
            {"params": params, "val_accuracy": float(np.mean(est.predict(X[val_idx]) == y[val_idx]))}
        )
    best = max(range(len(scores)), key=lambda i: scores[i]["val_accuracy"])  # first best on ties
    return candidates[best], scores


def _takes_groups(est) -> bool:
    """Whether ``est.fit`` has a ``groups`` parameter (group-aware selection, e.g. :class:`NMTuneCV`)."""
    import inspect

    return "groups" in inspect.signature(est.fit).parameters


def run_one(task: FeatureTask, spec: RunSpec) -> dict[str, Any]:
    """Execute one run and return its record (never raises: failures are recorded with ``status="failed"``).

    Parameters
    ----------
    task : FeatureTask
        The features; ``task.key`` must equal ``spec.task_key``.
    spec : RunSpec
        What to run.

    Returns
    -------
    dict
        ``run_id``, ``config``, ``status`` (``"done"`` or ``"failed"``), ``error``, ``domains`` (per
        evaluation
        domain: kind, n, accuracy, macro_f1, sve, lsvr, rankme), ``id_accuracy``/``ood_accuracy`` (means over
        domains of that kind, None when absent), ``fit_seconds``, ``selected``, ``selection_scores``,
        ``n_train``, ``noise_report``, ``spectra`` (normalised singular values per domain), ``predictions``
        (per domain: ``pred`` and ``true`` class index of every test row, packed by
        :func:`nmtune.protocol.predictions.pack_labels`), ``group_folds`` (methods that select on groups, when
        the task has them: whether group folds were used), ``versions``, ``finished_at``.
    """
    record: dict[str, Any] = {
        "run_id": spec.run_id,
        "config": spec.config(),
        "status": "failed",
        "error": None,
        "versions": library_versions(),
    }
    try:
        record.update(_execute(task, spec))
        record["status"] = "done"
    except Exception as exc:  # noqa: BLE001 - a failed run is a result, stored with its traceback
        record["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
    record["finished_at"] = time.time()
    return record


def training_rows(task: FeatureTask, spec: RunSpec) -> np.ndarray:
    """Indices of the training rows a run uses: :func:`nmtune.datasets.stratified_fraction` of the task.

    The one fraction rule of nmtune (``nmtune run`` and the study alike): class ``c`` keeps
    ``max(1, floor(fraction * n_c + 0.5))`` of its rows, drawn with the run's seed, nested across fractions.

    Parameters
    ----------
    task : FeatureTask
        The task (its training labels, shape (N,)).
    spec : RunSpec
        Uses ``fraction`` and ``seed``.

    Returns
    -------
    numpy.ndarray
        int64 sorted row indices, shape (M,).
    """
    from nmtune.datasets import stratified_fraction

    return stratified_fraction(task.y_train, spec.fraction, spec.seed)


def _fit_groups(est, y, groups, spec: RunSpec):
    """The ``groups`` to pass to ``est.fit`` under the run's policy, and whether group folds are used."""
    if spec.group_folds == "none":
        return None, False
    make_folds = getattr(est, "make_folds", None)
    if make_folds is None:
        return groups, True
    try:
        make_folds(y, groups)
    except ValueError as exc:
        if spec.group_folds == "fallback":
            return None, False
        raise ValueError(
            f"Run {spec.task}/{spec.method} (fraction {spec.fraction:g}): group-aware selection folds are "
            f"impossible for this training subset ({exc}). Use a larger fraction, or the group policy "
            "'fallback' (stratified folds where groups cannot be used; the record says so) or 'none'."
        ) from exc
    return groups, True


def _execute(task: FeatureTask, spec: RunSpec) -> dict[str, Any]:
    from nmtune.noise import symmetric_noise
    from nmtune.protocol.predictions import pack_labels

    if task.key != spec.task_key:
        raise ValueError(f"RunSpec is for task {spec.task_key} but received task {task.key}.")
    method = get_method(spec.method)
    idx = training_rows(task, spec)
    X = np.ascontiguousarray(task.X_train[idx], dtype=np.float32)  # (M, D)
    y_clean = np.asarray(task.y_train[idx], dtype=np.int64)
    noise_report = None
    y = y_clean
    if spec.noise > 0:
        y, rep = symmetric_noise(y_clean, spec.noise, n_classes=task.n_classes, random_state=spec.seed)
        noise_report = {
            "requested_rate": float(spec.noise),
            "realised_rate": float(rep.realised_rate),
            "n_flipped": int(rep.n_flipped),
            "n_samples": int(rep.n_samples),
        }
    selected, scores = _select(spec, X, y)
    est = _estimator(method, spec, selected)
    fit_kw, group_folds = {}, None
    if task.groups_train is not None and _takes_groups(est):
        groups = np.asarray(task.groups_train)[idx]  # source sub-domains, for group-aware selection
        fit_kw["groups"], group_folds = _fit_groups(est, y, groups, spec)
    t0 = time.perf_counter()
    est.fit(X, y, **fit_kw)
    fit_seconds = time.perf_counter() - t0
    if hasattr(est, "best_params_"):  # a method that selects on its own (nmtune-cv): what it chose
        selected = {**selected, "inner": dict(est.best_params_), "inner_score": float(est.best_score_)}
    domains, spectra, predictions = {}, {}, {}
    for d in task.evals:
        metrics, spectra[d.name], pred = evaluate_domain(
            est, d.X, d.y, transforms=method.transforms, return_predictions=True
        )
        domains[d.name] = {"kind": d.kind, **metrics}
        predictions[d.name] = {"pred": pack_labels(pred), "true": pack_labels(d.y)}

    def _mean(kind):
        vals = [m["accuracy"] for m in domains.values() if m["kind"] == kind]
        return float(np.mean(vals)) if vals else None

    out = {
        "domains": domains,
        "id_accuracy": _mean("id"),
        "ood_accuracy": _mean("ood"),
        "fit_seconds": fit_seconds,
        "selected": selected,
        "selection_scores": scores,
        "n_train": int(y.shape[0]),
        "noise_report": noise_report,
        "spectra": spectra,
        "task_meta": dict(task.meta),
        "predictions": predictions,
    }
    if group_folds is not None:
        out["group_folds"] = group_folds
    return out
