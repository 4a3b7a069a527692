"""The ``Dataset`` record and the name registry behind :func:`load_dataset`.

A dataset is addressed by a *name* string and a *split* (``"train"`` or ``"test"``). Names are plain
(``"reuters-r8"``), prefixed (``"csv:reviews.csv"``, ``"20ng-sub:comp-rec:source"``) or carry an image-size
suffix (``"mnist-5k@16"``). The name (plus the split) identifies the data, so the feature cache keys on it.

Shape convention: N samples, C classes; images are float32 in [0, 1] of shape (N, H, W) (grayscale) or
(N, H, W, 3); labels are int64 of shape (N,).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmtune._internal.registry import Registry
from nmtune.exceptions import unknown_name_error

__all__ = [
    "Dataset",
    "load_dataset",
    "list_datasets",
    "dataset_fingerprint",
    "register_dataset",
    "register_prefix",
]

SPLITS = ("train", "test")

_SIZE_SUFFIX = re.compile(r"^(?P<base>.+)@(?P<size>\d+)$")


@dataclass(frozen=True)
class Dataset:
    """One split of a labelled dataset.

    Attributes
    ----------
    name : str
        The name it was loaded under (what :func:`load_dataset` received).
    split : str
        ``"train"`` or ``"test"``.
    inputs : tuple of str or numpy.ndarray
        Texts (tuple of N strings) or images, float32 in [0, 1], shape (N, H, W) or (N, H, W, 3), read-only.
    labels : numpy.ndarray
        int64, shape (N,), values in ``range(len(class_names))``, read-only.
    class_names : tuple of str
        Length C; ``class_names[k]`` names label ``k``.
    modality : str
        ``"text"`` or ``"image"``.
    """

    name: str
    split: str
    inputs: Any
    labels: np.ndarray
    class_names: tuple[str, ...]
    modality: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes C."""
        return len(self.class_names)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """Return the rows ``indices`` (e.g. from :func:`stratified_fraction`) as a new ``Dataset``."""
        idx = np.asarray(indices, dtype=np.int64)
        inputs = (
            tuple(self.inputs[i] for i in idx) if self.modality == "text" else _readonly(self.inputs[idx])
        )
        return Dataset(
            self.name, self.split, inputs, _readonly(self.labels[idx]), self.class_names, self.modality
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


def make_dataset(name, split, inputs, labels, class_names, modality) -> Dataset:
    """Build a ``Dataset`` after checking that the parts agree (internal helper for loaders)."""
    labels = np.asarray(labels, dtype=np.int64)
    if modality == "text":
        inputs = tuple(str(t) for t in inputs)
    else:
        inputs = np.asarray(inputs, dtype=np.float32)
    assert len(inputs) == labels.shape[0], (len(inputs), labels.shape)
    assert labels.size == 0 or (labels.min() >= 0 and labels.max() < len(class_names))
    if modality == "image":
        inputs = _readonly(inputs)
    return Dataset(name, split, inputs, _readonly(labels), tuple(map(str, class_names)), modality)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class _Named:
    loader: Callable[[str], Dataset]  # loader(split) -> Dataset
    splits: tuple[str, ...]
    version: str  # enters the cache key: bump it when a loader's output changes


@dataclass(frozen=True)
class _Prefixed:
    loader: Callable  # loader(rest, split) -> Dataset
    splits_fn: Callable  # splits_fn(rest) -> splits
    fingerprint_fn: Callable  # fingerprint_fn(rest) -> str


def _import_loaders() -> None:
    # Importing a loader module registers its names; Python imports each module once.
    from nmtune.datasets import capped, corruptions, generic, glyphs, halves, images, text  # noqa: F401


DATASETS = Registry("dataset", loaders=[_import_loaders])
_ENUMERATORS: list[Callable[[], list[str]]] = []


def register_dataset(name: str, loader: Callable[[str], Dataset], splits=SPLITS, version: str = "1") -> None:
    """Register a named dataset.

    Parameters
    ----------
    name : str
        The name :func:`load_dataset` will accept.
    loader : callable
        ``loader(split) -> Dataset``; called only with a split from ``splits``.
    splits : tuple of str
        The splits it offers.
    version : str
        Part of the feature-cache key; change it whenever the loader's output changes.
    """
    DATASETS.register(name, _Named(loader, tuple(splits), str(version)), overwrite=True)


def register_prefix(
    prefix: str,
    loader: Callable,
    splits_fn: Callable,
    fingerprint_fn: Callable,
    pattern: str,
    enumerate_fn: Callable[[], list[str]] | None = None,
) -> None:
    """Register a family of datasets named ``"<prefix>:<rest>"`` (like ``csv:<file>`` or ``cap:<n>:<name>``).

    Parameters
    ----------
    prefix : str
        Without the colon.
    loader : callable
        ``loader(rest, split) -> Dataset``.
    splits_fn : callable
        ``splits_fn(rest) -> tuple of str``; raises ``ValueError`` for a malformed ``rest``.
    fingerprint_fn : callable
        ``fingerprint_fn(rest) -> str``, cheap, changing whenever the data changes (a feature-cache key).
    pattern : str
        The form shown to users, e.g. ``"csv:<file>"``.
    enumerate_fn : callable, optional
        Lists the concrete names of the family for :func:`list_datasets` (finite families only).
    """
    DATASETS.register_prefix(prefix, _Prefixed(loader, splits_fn, fingerprint_fn), pattern, overwrite=True)
    if enumerate_fn is not None:
        _ENUMERATORS.append(enumerate_fn)


def list_datasets(filter: str | None = None) -> list[str]:
    """Names :func:`load_dataset` accepts as they are (built-in and derived); see also the generic prefixes.

    The generic, path-taking forms are ``image-folder:<dir>``, ``csv:<file>``, ``parquet:<file>`` and
    ``hf-disk:<dir>``; any image dataset also accepts a ``@<size>`` suffix (square resize).

    Parameters
    ----------
    filter : str, optional
        Shell-style pattern the names must match, e.g. ``"20ng-sub:*"``.
    """
    names = DATASETS.names()
    for enumerate_fn in _ENUMERATORS:
        names.extend(enumerate_fn())
    names = sorted(set(names))
    return [n for n in names if fnmatch.fnmatchcase(n, filter)] if filter else names


def _patterns() -> list[str]:
    return DATASETS.patterns() + ["<image dataset>@<size>"]


def _resolve(name: str):
    """Return (loader(split), splits, fingerprint, resize) for a dataset name."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"A dataset name must be a non-empty string; received {name!r}.")
    size = None
    found = DATASETS.find(name)
    m = _SIZE_SUFFIX.match(name)
    if found is None and m:
        name, size = m.group("base"), int(m.group("size"))
        if not 1 <= size <= 1024:
            raise ValueError(f"Image size suffix must be between 1 and 1024 pixels; received @{size}.")
        found = DATASETS.find(name)
    if found is None:
        raise unknown_name_error("dataset", name, list_datasets() + _patterns())
    entry, rest = found
    if rest is None:
        return entry.loader, entry.splits, f"{name}:v{entry.version}", size
    return (
        (lambda split: entry.loader(rest, split)),
        tuple(entry.splits_fn(rest)),
        entry.fingerprint_fn(rest),
        size,
    )


def _check_split(name: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ValueError(
            f"Dataset {name!r} has no split {split!r}; valid splits: {', '.join(map(repr, splits))}."
        )


def dataset_splits(name: str) -> tuple[str, ...]:
    """The splits offered by dataset ``name`` (e.g. ``("train", "test")``)."""
    return _resolve(name)[1]


def dataset_fingerprint(name: str) -> str:
    """A cheap string that changes when the data behind ``name`` changes (used in feature-cache keys).

    Built-in datasets give their loader version; file-backed ones the path, size and modification time of the
    files. Nothing is loaded.
    """
    _, _, fingerprint, size = _resolve(name)
    return fingerprint if size is None else f"{fingerprint}@{size}"


def load_dataset(name: str, split: str = "train") -> Dataset:
    """Load one split of a dataset by name.

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets` or a generic form: ``image-folder:<dir>``, ``csv:<file>``,
        ``parquet:<file>``, ``hf-disk:<dir>`` (options after ``?``, e.g. ``csv:x.csv?text=body&label=topic``).
        Image datasets take a ``@<size>`` suffix that resizes every image to ``size x size`` (antialiased
        bilinear), e.g. ``"mnist-5k@16"``.
    split : {"train", "test"}
        Which split.

    Returns
    -------
    Dataset
        ``inputs`` (N texts, or float32 images (N, H, W) in [0, 1]), ``labels`` int64 (N,), ``class_names``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or split.
    """
    loader, splits, fingerprint, size = _resolve(name)
    _check_split(name, split, splits)
    return _load_cached(name, split, fingerprint)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, split: str, fingerprint: str) -> Dataset:
    # ``fingerprint`` is part of the memo key so that an edited file behind a generic name is re-read.
    loader, _, _, size = _resolve(name)
    ds = loader(split)
    if size is not None:
        if ds.modality != "image":
            raise ValueError(
                f"The @<size> suffix resizes images, but dataset {name!r} holds {ds.modality}; drop "
                f"'@{size}'."
            )
        from nmtune.datasets.images import resize_images

        return make_dataset(name, split, resize_images(ds.inputs, size), ds.labels, ds.class_names, "image")
    return Dataset(name, split, ds.inputs, ds.labels, ds.class_names, ds.modality)
