"""Suites: named sets of tasks (a train split plus ID / OOD evaluation splits), stored as JSON data files.

Each ``<name>.json`` in this folder is a suite::

    {"name": "digits", "description": "...",
     "tasks": [{"name": "mnist-to-optdigits", "modality": "image",
                "train": {"dataset": "mnist-5k@digits", "split": "train"},
                "evals": [{"name": "optdigits", "dataset": "optdigits@digits", "split": "test",
                           "kind": "ood"}],
                "requires": ["fashion-mnist"]}]}          # optional

Adding a task is adding one entry; adding a suite is adding one file (or passing a path to :func:`get_suite`).
``requires`` names optional data (``"fashion-mnist"``): tasks whose data is not installed are left out and
listed in ``Suite.skipped``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from nmtune.exceptions import unknown_name_error

__all__ = ["DataRef", "Domain", "Task", "Suite", "get_suite", "list_suites"]


@dataclass(frozen=True)
class DataRef:
    """A dataset split: ``load_dataset(dataset, split)``."""

    dataset: str
    split: str


@dataclass(frozen=True)
class Domain:
    """An evaluation split of a task; ``kind`` is ``"id"`` (same distribution as training) or ``"ood"``."""

    name: str
    data: DataRef
    kind: str = "id"


@dataclass(frozen=True)
class Task:
    """Train on ``train``, evaluate on each of ``evals``."""

    name: str
    modality: str
    train: DataRef
    evals: tuple[Domain, ...]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A named set of tasks; ``skipped`` names the tasks left out because their data is not installed."""

    name: str
    tasks: tuple[Task, ...]
    description: str = ""
    skipped: tuple[str, ...] = field(default=())


def _requirement_met(requirement: str) -> bool:
    if requirement == "fashion-mnist":
        from nmtune.datasets.images import fashion_mnist_available

        return fashion_mnist_available()
    raise ValueError(f"Unknown suite requirement {requirement!r}; known: 'fashion-mnist'.")


def _suite_files() -> dict[str, object]:
    folder = resources.files(__name__)
    return {p.name[: -len(".json")]: p for p in folder.iterdir() if p.name.endswith(".json")}


def list_suites() -> list[str]:
    """Names of the built-in suites."""
    return sorted(_suite_files())


def _data_ref(entry: dict, where: str) -> DataRef:
    try:
        return DataRef(str(entry["dataset"]), str(entry["split"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{where} must be {{'dataset': ..., 'split': ...}}; received {entry!r}.") from exc


def _task(entry: dict, where: str) -> Task:
    unknown = set(entry) - {"name", "modality", "train", "evals", "requires"}
    if unknown:
        raise ValueError(
            f"{where}: unknown keys {sorted(unknown)}; allowed: name, modality, train, evals, requires."
        )
    evals = []
    for j, e in enumerate(entry.get("evals", [])):
        kind = e.get("kind", "id")
        if kind not in ("id", "ood"):
            raise ValueError(f"{where}.evals[{j}]: kind must be 'id' or 'ood'; received {kind!r}.")
        evals.append(Domain(str(e.get("name", e.get("dataset"))), _data_ref(e, f"{where}.evals[{j}]"), kind))
    if not evals:
        raise ValueError(f"{where}: a task needs at least one entry in 'evals'.")
    modality = entry.get("modality")
    if modality not in ("text", "image"):
        raise ValueError(f"{where}: modality must be 'text' or 'image'; received {modality!r}.")
    return Task(
        str(entry["name"]), modality, _data_ref(entry.get("train"), f"{where}.train"), tuple(evals),
        tuple(entry.get("requires", ())),
    )  # fmt: skip


def suite_from_dict(data: dict, *, skip_unavailable: bool = True) -> Suite:
    """Build a ``Suite`` from its JSON form (see the module docstring)."""
    name = str(data.get("name", "?"))
    tasks, skipped = [], []
    for i, entry in enumerate(data.get("tasks", [])):
        task = _task(entry, f"suite {name!r} tasks[{i}]")
        if skip_unavailable and not all(_requirement_met(r) for r in task.requires):
            skipped.append(task.name)
            continue
        tasks.append(task)
    return Suite(name, tuple(tasks), str(data.get("description", "")), tuple(skipped))


def get_suite(name: str, *, skip_unavailable: bool = True) -> Suite:
    """Load a suite by name (see :func:`list_suites`) or from a path to a JSON file.

    Parameters
    ----------
    name : str
        A built-in suite name (``"id"``, ``"r8"``, ``"20ng-subgroups"``, ``"digits"``, ``"fashion-c"``) or a
        path ending in ``.json``.
    skip_unavailable : bool
        Leave out tasks whose optional data is not installed (listed in ``Suite.skipped``).

    Returns
    -------
    Suite
    """
    if str(name).endswith(".json") and Path(name).is_file():
        return suite_from_dict(
            json.loads(Path(name).read_text(encoding="utf-8")), skip_unavailable=skip_unavailable
        )
    files = _suite_files()
    if name not in files:
        raise unknown_name_error("suite", name, files)
    return suite_from_dict(
        json.loads(files[name].read_text(encoding="utf-8")), skip_unavailable=skip_unavailable
    )
