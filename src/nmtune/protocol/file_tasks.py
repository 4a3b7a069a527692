"""Feature tasks from feature files: a grid's ``file_tasks`` (your own embeddings in ``nmtune run``).

Each :class:`~nmtune.protocol.config.FileTask` names a training file and evaluation files (``.npy``, ``.npz``,
``.csv``, ``.parquet``; labels inside or in labels files). They become one :class:`FeatureTask` whose labels are
coded 0..C-1 in the sorted order of the training classes (evaluation labels must be training classes). The
task's suite is ``files:<8 hex>``, a digest of the files' bytes and the label column: a run's identity changes
when a file changes, so a re-run never reuses results computed on other data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from nmtune._internal.files import sha256_file
from nmtune._internal.validation import check_labels
from nmtune.protocol.config import FileTask
from nmtune.protocol.tasks import EvalDomain, FeatureTask

__all__ = ["file_feature_tasks", "file_task_digest"]


def _read(path: str, labels: str | None, label_column: str | None, what: str):
    """Features and checked labels of one file (labels from ``labels`` when given)."""
    from nmtune.feature_files import load_feature_file, load_labels_file

    X, y = load_feature_file(path, label_column=label_column)
    if labels is not None:
        y = load_labels_file(labels, n_rows=X.shape[0])
    if y is None:
        raise ValueError(
            f"{path!r} ({what}) holds no labels: store them in it (.npz key y, a CSV / Parquet label column, "
            "label_column: to name it) or give a labels file under labels: in the file task."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{str(path)!r} holds no rows (shape {X.shape}); every split needs samples.")
    return X, check_labels(y, what="the labels", source=str(labels or path))


def file_task_digest(task: FileTask) -> str:
    """SHA-256 hex of every file of ``task`` (features and labels files) and its label column."""
    h = hashlib.sha256()
    paths = [task.train, *(f for _, f, _ in task.domains()), *task.labels.values()]
    for p in paths:
        h.update(sha256_file(p).encode())
    h.update(repr(task.label_column).encode())
    return h.hexdigest()


def _codes(classes: np.ndarray, y: np.ndarray, what: str) -> np.ndarray:
    values = y.astype(str) if classes.dtype.kind != y.dtype.kind else y
    keys = classes.astype(str) if values.dtype.kind != classes.dtype.kind else classes
    unknown = sorted(set(values.tolist()) - set(keys.tolist()), key=str)
    if unknown:
        raise ValueError(
            f"{what} hold classes absent from the training labels: {unknown[:5]}; every evaluation class must "
            f"be a training class ({len(classes)} classes: {classes.tolist()[:10]})."
        )
    return np.searchsorted(keys, values).astype(np.int64)


def file_feature_tasks(file_tasks: Sequence[FileTask]) -> list[FeatureTask]:
    """The :class:`FeatureTask` of every file task (files read now; nothing encoded).

    Parameters
    ----------
    file_tasks : sequence of FileTask
        As in a grid's ``file_tasks``.

    Returns
    -------
    list of FeatureTask
        ``encoder`` = the file task's ``encoder``, ``suite`` = ``files:<digest[:8]>``, ``name`` = its name.
    """
    out = []
    for ft in file_tasks:
        X, y = _read(ft.train, ft.labels.get("train"), ft.label_column, f"training file of task {ft.name!r}")
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"The training labels of task {ft.name!r} ({ft.labels.get('train') or ft.train}) hold one class "
                f"({classes[0]!r}); a classifier needs at least 2."
            )
        evals = []
        for name, path, kind in ft.domains():
            Xe, ye = _read(
                path, ft.labels.get(name), ft.label_column, f"evaluation file {name!r} of task {ft.name!r}"
            )
            if Xe.shape[1] != X.shape[1]:
                raise ValueError(
                    f"Task {ft.name!r}: {path!r} has {Xe.shape[1]} features but the training file {ft.train!r} has "
                    f"{X.shape[1]}; every file of a task must come from the same encoder."
                )
            evals.append(EvalDomain(name, Xe, _codes(classes, ye, f"the labels of {path!r}"), kind))
        digest = file_task_digest(ft)
        out.append(
            FeatureTask(
                name=ft.name,
                X_train=X,
                y_train=codes.astype(np.int64),
                evals=tuple(evals),
                class_names=tuple(str(c) for c in classes),
                encoder=ft.encoder,
                suite=f"files:{digest[:8]}",
                meta={"files_sha256": digest, "train_file": ft.train},
            )
        )
    return out
