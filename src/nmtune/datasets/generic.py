"""Generic loaders for a user's own data: image folders, CSV / Parquet tables, Hugging Face datasets on disk.

Names (options after ``?``, ``&``-separated):

- ``image-folder:<dir>``: images in class sub-folders ``<dir>/<class>/<file>``; if ``<dir>/train`` and
  ``<dir>/test`` exist they are the splits, otherwise a fixed stratified 80 / 20 split (seed 0). Images
  are read with Pillow (extra ``vision``) as grayscale unless ``?mode=RGB``, and resized to ``?size=N``
  (default: the first image's size).
- ``csv:<file>`` / ``parquet:<file>``: options ``text=<column>`` (default ``text``), ``label=<column>``
  (default ``label``), ``split=<column>`` (default ``split`` when present, holding ``train`` / ``test``).
  Without a split column, a ``{split}`` placeholder in the path names one file per split, else a stratified
  80 / 20 split.
- ``hf-disk:<dir>``: ``datasets.load_from_disk`` (extra ``hf-datasets``); a ``DatasetDict`` gives its splits,
  a single ``Dataset`` is split 80 / 20. Options ``text=``, ``label=`` (defaults ``text``, ``label``).

Labels are mapped to ``range(C)`` in sorted order of their values (class names are the values as strings, or
the ``ClassLabel`` names of a Hugging Face dataset).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from nmtune._internal.files import csv_delimiter, read_text
from nmtune._internal.validation import check_labels, encode_labels
from nmtune.datasets._base import SPLITS, make_dataset, register_prefix
from nmtune.datasets.subsample import stratified_split
from nmtune.exceptions import MissingDependencyError, require

__all__ = []

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


def _parse(rest: str, allowed: set[str]) -> tuple[str, dict[str, str]]:
    path, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=False))
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(
            f"Unknown option(s) {sorted(unknown)} in {rest!r}; valid options: {sorted(allowed)}."
        )
    if not path:
        raise ValueError(f"A path is needed after the prefix; received {rest!r}.")
    return path, options


def _stat_fingerprint(paths) -> str:
    parts = []
    for p in sorted(set(paths)):
        p = Path(p)
        st = p.stat() if p.exists() else None
        parts.append(f"{p.resolve()}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1}")
    return "|".join(parts)


def _encode_labels(values, source: str = "") -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes 0..C-1 of checked labels (missing and continuous labels refused) and the class names."""
    classes, labels = encode_labels(values, what="the labels", source=source)
    return labels, tuple(str(c) for c in classes)


def _pick(labels: np.ndarray, split: str) -> np.ndarray:
    train, test = stratified_split(labels, 0.2, random_state=0)
    return train if split == "train" else test


# --------------------------------------------------------------------------- image folder


def _image_files(root: Path) -> tuple[list[Path], list[str]]:
    if not root.is_dir():
        raise FileNotFoundError(
            f"Image folder {str(root)!r} does not exist; expected <dir>/<class>/<image files>."
        )
    files, classes = [], []
    for class_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        for f in sorted(class_dir.rglob("*")):
            if f.suffix.lower() in _IMAGE_SUFFIXES:
                files.append(f)
                classes.append(class_dir.name)
    if not files:
        raise FileNotFoundError(f"No images found in class sub-folders of {str(root)!r}.")
    return files, classes


def _load_image_folder(rest: str, split: str):
    path, options = _parse(rest, {"mode", "size"})
    root = Path(path)
    official = (root / "train").is_dir() and (root / "test").is_dir()
    files, names = _image_files(root / "train") if official else _image_files(root)
    class_names = tuple(sorted(set(names)))
    if official:
        files, names = _image_files(root / split)
    labels = np.array([class_names.index(n) for n in names], dtype=np.int64)
    rows = np.arange(len(files)) if official else _pick(labels, split)
    image_mod = require("PIL.Image", "vision", "reading image folders")
    mode = options.get("mode", "L")
    size = int(options["size"]) if "size" in options else None
    images = []
    for i in rows:
        with image_mod.open(files[i]) as im:
            im = im.convert(mode)
            if size is None:
                size = im.size[0]
            if im.size != (size, size):
                im = im.resize((size, size), image_mod.BILINEAR)
            images.append(np.asarray(im, dtype=np.float32) / 255.0)
    return make_dataset(f"image-folder:{rest}", split, np.stack(images), labels[rows], class_names, "image")


def _image_folder_fingerprint(rest: str) -> str:
    path, _ = _parse(rest, {"mode", "size"})
    root = Path(path)
    files = [f for f in root.rglob("*") if f.suffix.lower() in _IMAGE_SUFFIXES] if root.is_dir() else [root]
    return f"image-folder:{rest}:" + _stat_fingerprint(files)


# --------------------------------------------------------------------------- tables


def _read_table(path: str, kind: str):
    pd = require("pandas", "data", f"reading {kind} files")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{kind} file {path!r} does not exist.")
    if kind != "csv":
        return pd.read_parquet(path)
    import io

    text = read_text(path, "CSV file")  # UTF-8 (BOM removed), or an error naming the file and the fix
    sep = csv_delimiter(text.split("\n", 1)[0])
    # every column as text: labels keep their spelling ("007"), empty cells stay empty (refused as labels)
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)


def _column(frame, name: str, role: str, source: str):
    if name not in frame.columns:
        raise ValueError(
            f"{source} has no {role} column {name!r}; columns: {list(frame.columns)}. "
            f"Name it with the option '{role}=<column>' (e.g. '?{role}={frame.columns[0]}')."
        )
    return frame[name]


def _table_loader(kind: str):
    def load(rest: str, split: str):
        path, options = _parse(rest, {"text", "label", "split"})
        text_col, label_col = options.get("text", "text"), options.get("label", "label")
        if "{split}" in path:
            frames = {s: _read_table(path.format(split=s), kind) for s in SPLITS}
            checked = {
                s: check_labels(_column(f, label_col, "label", path).to_numpy(), source=path.format(split=s))
                for s, f in frames.items()
            }
            if len({c.dtype.kind for c in checked.values()}) > 1:
                checked = {s: c.astype(str) for s, c in checked.items()}
            classes = np.unique(np.concatenate(list(checked.values())))
            frame = frames[split]
            labels = np.searchsorted(classes, checked[split])
            return make_dataset(f"{kind}:{rest}", split, _column(frame, text_col, "text", path).astype(str),
                                labels, tuple(map(str, classes)), "text")  # fmt: skip
        frame = _read_table(path, kind)
        labels, class_names = _encode_labels(_column(frame, label_col, "label", path).to_numpy(), path)
        texts = _column(frame, text_col, "text", path).astype(str).to_numpy()
        split_col = options.get("split", "split")
        if split_col in frame.columns:
            rows = np.flatnonzero(frame[split_col].astype(str).to_numpy() == split)
        elif "split" in options:
            _column(frame, split_col, "split", path)
        else:
            rows = _pick(labels, split)
        return make_dataset(f"{kind}:{rest}", split, texts[rows], labels[rows], class_names, "text")

    return load


def _table_fingerprint(kind: str):
    def fingerprint(rest: str) -> str:
        path, _ = _parse(rest, {"text", "label", "split"})
        paths = [path.format(split=s) for s in SPLITS] if "{split}" in path else [path]
        return f"{kind}:{rest}:" + _stat_fingerprint(paths)

    return fingerprint


# --------------------------------------------------------------------------- Hugging Face datasets on disk


def _load_hf_disk(rest: str, split: str):
    path, options = _parse(rest, {"text", "label"})
    datasets = require("datasets", "hf-datasets", "hf-disk: datasets")
    if not hasattr(datasets, "load_from_disk"):  # e.g. a folder named "datasets" shadows the package
        raise MissingDependencyError(
            f"The module 'datasets' found at {getattr(datasets, '__path__', '?')} is not Hugging Face "
            "datasets. Install it with: pip install 'nmtune[hf-datasets]'"
        )
    obj = datasets.load_from_disk(path)
    text_col, label_col = options.get("text", "text"), options.get("label", "label")
    parts = dict(obj) if isinstance(obj, datasets.DatasetDict) else {"all": obj}
    first = next(iter(parts.values()))
    for col in (text_col, label_col):
        if col not in first.column_names:
            raise ValueError(
                f"{path!r} has no column {col!r}; columns: {first.column_names}. Use '?text=…&label=…'."
            )
    feature = first.features[label_col]
    if "all" in parts:
        labels_all, class_names = _encode_labels(first[label_col])
        if hasattr(feature, "names"):
            labels_all, class_names = np.asarray(first[label_col], dtype=np.int64), tuple(feature.names)
        rows = _pick(labels_all, split)
        texts = np.asarray(first[text_col], dtype=object)[rows]
        return make_dataset(f"hf-disk:{rest}", split, texts, labels_all[rows], class_names, "text")
    if split not in parts:
        raise ValueError(f"{path!r} has no split {split!r}; it holds {sorted(parts)}.")
    if hasattr(feature, "names"):
        class_names = tuple(feature.names)
        labels = np.asarray(parts[split][label_col], dtype=np.int64)
    else:
        classes = np.unique(np.concatenate([np.asarray(p[label_col]) for p in parts.values()]))
        class_names = tuple(map(str, classes))
        labels = np.searchsorted(classes, np.asarray(parts[split][label_col]))
    return make_dataset(f"hf-disk:{rest}", split, parts[split][text_col], labels, class_names, "text")


def _hf_fingerprint(rest: str) -> str:
    path, _ = _parse(rest, {"text", "label"})
    root = Path(path)
    files = list(root.rglob("*")) if root.is_dir() else [root]
    return f"hf-disk:{rest}:" + _stat_fingerprint(f for f in files if f.is_file())


register_prefix("image-folder", _load_image_folder, lambda rest: SPLITS, _image_folder_fingerprint,
                 "image-folder:<dir>[?mode=RGB&size=N]")  # fmt: skip
register_prefix("csv", _table_loader("csv"), lambda rest: SPLITS, _table_fingerprint("csv"),
                 "csv:<file>[?text=COL&label=COL&split=COL]")  # fmt: skip
register_prefix("parquet", _table_loader("parquet"), lambda rest: SPLITS, _table_fingerprint("parquet"),
                 "parquet:<file>[?text=COL&label=COL&split=COL]")  # fmt: skip
register_prefix(
    "hf-disk", _load_hf_disk, lambda rest: SPLITS, _hf_fingerprint, "hf-disk:<dir>[?text=COL&label=COL]"
)
