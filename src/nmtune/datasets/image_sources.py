"""Image sources read one image at a time: folders, domain collections, WebDataset shards, arrays.

Shape convention: N images, C classes. A source knows its N labels (int64, shape (N,)), its class names and,
for image-caption data, N captions, without decoding any image; ``read(i)`` decodes image ``i`` to
``uint8`` ``(H, W)`` (mode ``"L"``) or ``(H, W, 3)`` (mode ``"RGB"``), so DataLoader workers decode and a
split never sits in memory as a whole. Paths are held in one numpy byte-string array (no Python object per
image that worker processes would copy).

Names for :func:`open_image_source` (options after ``?``, ``&``-separated):

- ``image-folder:<dir>[?mode=RGB]``: ImageNet layout ``<dir>/train/<class>/<image>`` with ``<dir>/val``
  or ``<dir>/test`` as the test split; a folder without ``train/`` is split 80 / 20, stratified, seed 0 (as
  :func:`nmtune.datasets.load_dataset` splits it). Grayscale unless ``mode=RGB``.
- ``image-domains:<dir>?domain=<name>[&mode=RGB]``: one domain of a collection ``<dir>/<domain>/<class>/
  <image>`` (DomainNet, PACS, Office-Home); the class names are the union over domains, so labels agree
  between domains; splits ``train`` / ``test`` (80 / 20 of the domain, stratified, seed 0) and ``all``.
  :func:`list_domains` names the domains.
- ``wds:<dir>[?mode=L]``: WebDataset tar shards (:mod:`nmtune.datasets.shards`), RGB unless ``mode=L``.
- ``hf-images:<dir>[?image=COL&label=COL&caption=COL&mode=RGB]``: a Hugging Face ``datasets`` dataset saved
  with ``save_to_disk`` (extra ``hf-datasets``), columns ``image`` and ``label`` by default.
- any other name: :func:`nmtune.datasets.load_dataset` (in memory, e.g. ``glyphs-pretrain:300``), read
  from its arrays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from nmtune._internal.registry import Registry, resolve
from nmtune.datasets.generic import _IMAGE_SUFFIXES, _parse
from nmtune.datasets.image_transforms import decode_image
from nmtune.datasets.subsample import stratified_split
from nmtune.exceptions import MissingDependencyError, require

__all__ = [
    "MissingSplitError",
    "ImageSource",
    "ArraySource",
    "FolderSource",
    "open_image_source",
    "list_domains",
    "register_image_source",
    "IMAGE_SOURCES",
]

MODES = ("L", "RGB")


class MissingSplitError(FileNotFoundError):
    """The dataset exists but has no such split (e.g. training shards without a test split)."""


IMAGE_SOURCES = Registry("image source")


class ImageSource:
    """One split of images readable one at a time.

    Attributes
    ----------
    name, split : str
    labels : ndarray of int64, shape (N,)
    class_names : tuple of str, length C
    mode : {"L", "RGB"}
        What :meth:`read` returns: ``(H, W)`` or ``(H, W, 3)`` ``uint8``.
    captions : ndarray of str, shape (N,), or None
        Image-caption data only.
    """

    name: str
    split: str
    labels: np.ndarray
    class_names: tuple[str, ...]
    mode: str = "RGB"
    captions: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for RGB."""
        return 1 if self.mode == "L" else 3

    def read(self, i: int) -> np.ndarray:  # pragma: no cover - abstract
        """Decode image ``i``: ``uint8`` ``(H, W)`` or ``(H, W, 3)``."""
        raise NotImplementedError

    def fingerprint(self) -> str:  # pragma: no cover - abstract
        """A cheap string that changes when the data changes (for feature caches)."""
        raise NotImplementedError


def _check_mode(mode: str, name: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{name}: mode must be 'L' (grayscale) or 'RGB'; received {mode!r}.")
    return mode


class ArraySource(ImageSource):
    """Images already in memory (float in [0, 1] or ``uint8``), e.g. a built-in dataset."""

    def __init__(self, name, split, images, labels, class_names, captions=None):
        images = np.asarray(images)
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
            raise ValueError(f"{name}: images must be (N, H, W) or (N, H, W, 3); received {images.shape}.")
        self.name, self.split, self.images = name, split, images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = tuple(map(str, class_names))
        self.mode = "L" if images.ndim == 3 else "RGB"
        self.captions = None if captions is None else np.asarray(captions, dtype=str)

    def read(self, i: int) -> np.ndarray:
        """Image ``i`` as ``uint8`` (float images are scaled by 255 and rounded)."""
        x = self.images[i]
        return x if x.dtype == np.uint8 else np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)

    def fingerprint(self) -> str:
        """The dataset name and a digest of the labels and shape."""
        h = hashlib.sha256(self.labels.tobytes() + str(self.images.shape).encode())
        return f"{self.name}:{self.split}:{h.hexdigest()[:16]}"


def _listing(root: Path, class_names=None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Relative paths (bytes array) and labels of ``root/<class>/**/<image>``, sorted."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"Image folder {str(root)!r} does not exist; expected <dir>/<class>/<images>."
        )
    found = sorted(d.name for d in root.iterdir() if d.is_dir())
    class_names = tuple(found) if class_names is None else tuple(class_names)
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise ValueError(
            f"{str(root)!r} holds class folders {unknown[:5]} that the training split lacks; every class "
            f"must be one of the {len(class_names)} training classes."
        )
    paths, labels = [], []
    for k, cls in enumerate(class_names):
        folder = root / cls
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES)
        paths.extend(str(p.relative_to(root)).encode() for p in files)
        labels.extend([k] * len(files))
    if not paths:
        raise FileNotFoundError(f"No images found in class sub-folders of {str(root)!r}.")
    return np.array(paths, dtype=bytes), np.asarray(labels, dtype=np.int64), class_names


def _split_rows(labels: np.ndarray, split: str) -> np.ndarray:
    if split == "all":
        return np.arange(len(labels), dtype=np.int64)
    train, test = stratified_split(labels, 0.2, random_state=0)
    return train if split == "train" else test


class FolderSource(ImageSource):
    """Files ``root/<relative path>`` with labels (see the module docstring for the layouts)."""

    def __init__(self, name, split, root, paths, labels, class_names, mode):
        self.name, self.split, self.root = name, split, str(root)
        self.paths, self.labels, self.class_names = paths, labels, tuple(class_names)
        self.mode = _check_mode(mode, name)

    def read(self, i: int) -> np.ndarray:
        """Decode file ``i``."""
        return decode_image(str(Path(self.root) / self.paths[i].decode()), self.mode)

    def fingerprint(self) -> str:
        """Root, mode and a digest of the listing (relative paths and labels); no file is opened."""
        h = hashlib.sha256(self.paths.tobytes() + self.labels.tobytes())
        return f"folder:{Path(self.root).resolve()}:{self.mode}:{len(self)}:{h.hexdigest()[:16]}"


def _open_folder(rest: str, split: str) -> FolderSource:
    path, options = _parse(rest, {"mode"})
    root, mode = Path(path), options.get("mode", "L")
    name = f"image-folder:{rest}"
    if (root / "train").is_dir():
        _, _, class_names = _listing(root / "train")
        if split == "train":
            sub = root / "train"
        else:
            sub = next((root / s for s in ("val", "test") if (root / s).is_dir()), None)
            if sub is None:
                raise MissingSplitError(
                    f"{name}: no test split; expected {root / 'val'} or {root / 'test'} beside {root / 'train'}."
                )
        paths, labels, _ = _listing(sub, class_names)
        return FolderSource(name, split, sub, paths, labels, class_names, mode)
    paths, labels, class_names = _listing(root)
    rows = _split_rows(labels, split)
    return FolderSource(name, split, root, paths[rows], labels[rows], class_names, mode)


def list_domains(root) -> list[str]:
    """The domains of a collection ``<root>/<domain>/<class>/<image>`` (sorted folder names)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Domain collection {str(root)!r} does not exist.")
    domains = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not domains:
        raise FileNotFoundError(f"{str(root)!r} holds no domain folders (<dir>/<domain>/<class>/<image>).")
    return domains


def _open_domain(rest: str, split: str) -> FolderSource:
    path, options = _parse(rest, {"mode", "domain"})
    root = Path(path)
    domains = list_domains(root)
    domain = options.get("domain")
    if domain not in domains:
        from nmtune.exceptions import unknown_name_error

        raise unknown_name_error(f"domain of {path!r}", str(domain), domains)
    class_names = sorted({c.name for d in domains for c in (root / d).iterdir() if c.is_dir()})
    paths, labels, _ = _listing(root / domain, class_names)
    rows = _split_rows(labels, split)
    mode = options.get("mode", "L")
    return FolderSource(
        f"image-domains:{rest}", split, root / domain, paths[rows], labels[rows], class_names, mode
    )


def _hf_datasets():
    """Hugging Face ``datasets``, or an install hint (also when another module named ``datasets`` shadows it)."""
    datasets = require("datasets", "hf-datasets", "hf-images: datasets")
    if not hasattr(datasets, "load_from_disk"):
        raise MissingDependencyError(
            f"The module 'datasets' found at {getattr(datasets, '__path__', '?')} is not Hugging Face datasets. "
            "Install it with: pip install 'nmtune[hf-datasets]'"
        )
    return datasets


class HFImageSource(ImageSource):
    """A Hugging Face ``datasets`` dataset saved to disk, read row by row (memory-mapped Arrow files)."""

    def __init__(self, name, split, path, split_key, columns, mode):
        self.name, self.split, self.path, self.split_key = name, split, str(path), split_key
        self.image_col, self.label_col, self.caption_col = columns
        self.mode = _check_mode(mode, name)
        table = self._table()
        for col in (self.image_col, self.label_col):
            if col not in table.column_names:
                raise ValueError(
                    f"{name}: no column {col!r}; columns: {table.column_names}. Use ?image=&label=."
                )
        feature = table.features[self.label_col]
        raw = np.asarray(table.with_format("numpy")[self.label_col])
        if hasattr(feature, "names"):
            self.class_names, self.labels = tuple(feature.names), raw.astype(np.int64)
        else:
            classes, self.labels = np.unique(raw, return_inverse=True)
            self.class_names = tuple(map(str, classes))
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.captions = None if self.caption_col is None else np.asarray(table[self.caption_col], dtype=str)
        self._cache = None

    def _table(self):
        datasets = _hf_datasets()
        obj = datasets.load_from_disk(self.path)
        if isinstance(obj, datasets.DatasetDict):
            key = (
                self.split_key if self.split_key in obj else ("validation" if self.split == "test" else None)
            )
            if key not in obj:
                raise ValueError(f"{self.name}: no split {self.split!r}; it holds {sorted(obj)}.")
            return obj[key]
        return obj

    def read(self, i: int) -> np.ndarray:
        """Decode row ``i``'s image (the dataset is opened once per process)."""
        if self._cache is None:
            self._cache = self._table()
        return decode_image(self._cache[int(i)][self.image_col], self.mode)

    def __getstate__(self):
        return dict(self.__dict__, _cache=None)  # workers reopen the memory-mapped files

    def fingerprint(self) -> str:
        """Path, split and the sizes and times of its files."""
        files = sorted(p for p in Path(self.path).rglob("*") if p.is_file())
        stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
        return f"hf-images:{self.path}:{self.split}:{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"


def _open_hf(rest: str, split: str) -> HFImageSource:
    path, options = _parse(rest, {"image", "label", "caption", "mode"})
    columns = (options.get("image", "image"), options.get("label", "label"), options.get("caption"))
    return HFImageSource(f"hf-images:{rest}", split, path, split, columns, options.get("mode", "RGB"))


def register_image_source(prefix: str, opener, pattern: str) -> None:
    """Register ``<prefix>:<rest>`` names: ``opener(rest, split) -> ImageSource``."""
    IMAGE_SOURCES.register_prefix(prefix, opener, pattern, overwrite=True)


register_image_source("image-folder", _open_folder, "image-folder:<dir>[?mode=RGB]")
register_image_source("image-domains", _open_domain, "image-domains:<dir>?domain=<name>[&mode=RGB]")
register_image_source("wds", "nmtune.datasets.shards:open_shards", "wds:<dir>[?mode=L]")
register_image_source("hf-images", _open_hf, "hf-images:<dir>[?image=COL&label=COL&caption=COL&mode=L]")


def open_image_source(name: str, split: str = "train", *, missing_ok: bool = False) -> ImageSource | None:
    """Open one split of an image dataset for streaming (nothing is decoded yet).

    Parameters
    ----------
    name : str
        See the module docstring; names of :func:`nmtune.datasets.load_dataset` are read from memory.
    split : {"train", "test"} (``"all"`` for ``image-domains:``)
    missing_ok : bool, default=False
        Return ``None`` instead of raising :class:`MissingSplitError` when the data has no such split.

    Returns
    -------
    ImageSource or None
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"An image dataset name must be a non-empty string; received {name!r}.")
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all'; received {split!r}.")
    found = IMAGE_SOURCES.find(name)
    if found is not None:
        opener, rest = found
        try:
            return resolve(opener, "image source")(rest, split)
        except MissingSplitError:
            if missing_ok:
                return None
            raise
    from nmtune.datasets import load_dataset

    ds = load_dataset(name, split)
    if ds.modality != "image":
        raise ValueError(f"{name!r} holds {ds.modality}, not images.")
    return ArraySource(name, split, ds.inputs, ds.labels, ds.class_names)
