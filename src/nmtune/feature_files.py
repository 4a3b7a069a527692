"""Read and write feature files: ``.npy``, ``.npz``, ``.csv`` and ``.parquet``.

Shapes: features X are float32 (N, D); labels y are (N,) (int64 when every label is an integer, else str).

- ``.npy``: a single 2-D array, no labels (opened as a read-only memmap when already float32).
- ``.npz``: features under key ``X`` or ``features``; labels (optional) under ``y`` or ``labels``.
- ``.csv`` (header row required) and ``.parquet``: every column but the label column is a numeric feature
  column. Parquet also accepts a single list-valued feature column (one embedding vector per row).
  The label column is ``label_column`` if given, else a column named ``y``, ``label`` or ``labels`` if
  present.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from nmtune._internal.files import atomic_path
from nmtune.exceptions import require

__all__ = ["load_feature_file", "save_feature_file", "FORMATS"]

FORMATS = (".npy", ".npz", ".csv", ".parquet")
_X_KEYS = ("X", "features")
_Y_KEYS = ("y", "labels", "label")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"Unsupported feature file {str(path)!r} (suffix {suffix or 'none'!r}). Accepted formats: "
            f"{', '.join(FORMATS)}."
        )
    return suffix


def _labels(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    try:
        as_float = arr.astype(np.float64)
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            return as_float.astype(np.int64)
    except (TypeError, ValueError):
        pass
    return arr.astype(str)


def _check_xy(X, y, path):
    if X.ndim != 2:
        raise ValueError(f"features in {str(path)!r} must be 2-D (N, D); received shape {X.shape}.")
    if y is not None and len(y) != X.shape[0]:
        raise ValueError(
            f"{str(path)!r} holds {X.shape[0]} feature rows but {len(y)} labels; they must match."
        )


def _pick_label(columns, label_column, path):
    if label_column is not None:
        if label_column not in columns:
            raise ValueError(
                f"label column {label_column!r} not found in {str(path)!r}; columns: {list(columns)[:20]}."
            )
        return label_column
    found = [c for c in _Y_KEYS if c in columns]
    return found[0] if found else None


def _load_npz(path, label_column):
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.files)
        xk = [k for k in _X_KEYS if k in keys]
        if len(xk) != 1:
            raise ValueError(
                f"{str(path)!r} must hold the features under exactly one of the keys {list(_X_KEYS)}; "
                f"keys found: {keys}."
            )
        yk = _pick_label(keys, label_column, path)
        X = np.asarray(z[xk[0]])
        y = _labels(z[yk]) if yk else None
    return X, y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path, label_column):
    """Read with a real CSV reader: quoted fields may hold commas (``"cat, big"`` stays one label)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0] if rows else None
    if not header:
        raise ValueError(f"{str(path)!r} is empty; a CSV feature file needs a header row and data rows.")
    if all(_is_number(h) for h in header):
        raise ValueError(f"{str(path)!r} has no header row (its first row is numeric); add column names.")
    header = [h.strip() for h in header]
    lab = _pick_label(header, label_column, path)
    feat_cols = [i for i, h in enumerate(header) if h != lab]
    body = [r for r in rows[1:] if r]
    X = np.empty((len(body), len(feat_cols)), dtype=np.float32)
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise ValueError(
                f"{str(path)!r}: row {i + 2} has {len(row)} fields but the header has {len(header)}; quote "
                'fields that contain commas ("cat, big").'
            )
        try:
            X[i] = [float(row[j]) for j in feat_cols]
        except ValueError as exc:
            raise ValueError(
                f"{str(path)!r} row {i + 2}: every column except the label column must be numeric ({exc}). Name "
                "the label column with label_column (CLI: --label-column) and drop other non-numeric columns."
            ) from exc
    y = None
    if lab is not None:
        j = header.index(lab)
        y = _labels(np.asarray([row[j].strip() for row in body]))
    return X, y


def _load_parquet(path, label_column):
    pq = require("pyarrow.parquet", "data", "Parquet feature files")
    pa = require("pyarrow", "data", "Parquet feature files")
    table = pq.read_table(path)
    names = table.column_names
    lab = _pick_label(names, label_column, path)
    feats = [n for n in names if n != lab]
    if not feats:
        raise ValueError(f"{str(path)!r} has no feature columns besides the label column {lab!r}.")
    types = {n: table.schema.field(n).type for n in feats}
    list_cols = [n for n, t in types.items() if pa.types.is_list(t) or pa.types.is_fixed_size_list(t)]
    if list_cols:
        if len(feats) != 1:
            raise ValueError(
                f"{str(path)!r}: a list-valued feature column ({list_cols[0]!r}) must be the only feature "
                "column; "
                f"found {feats}."
            )
        X = np.asarray(table.column(feats[0]).to_pylist(), dtype=np.float32)
    else:
        bad = [n for n, t in types.items() if not (pa.types.is_integer(t) or pa.types.is_floating(t))]
        if bad:
            raise ValueError(
                f"{str(path)!r}: feature columns must be numeric; non-numeric columns {bad[:10]}. Name the "
                "label "
                "column with label_column (CLI: --label-column) and drop other non-numeric columns."
            )
        X = np.column_stack([table.column(n).to_numpy().astype(np.float32) for n in feats])
    y = _labels(table.column(lab).to_numpy(zero_copy_only=False)) if lab else None
    return X, y


def _load_npy(path: Path) -> np.ndarray:
    """A 2-D real-valued ``.npy`` (float32 stays a read-only memmap), or a ValueError saying what is wrong."""
    fix = "re-save it with numpy.save(path, X.astype('float32')) or nmtune.feature_files.save_feature_file"
    if path.stat().st_size == 0:
        raise ValueError(f"{str(path)!r} is empty (0 bytes); {fix}.")
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable .npy array ({exc}); {fix}.") from exc
    if X.dtype.kind not in "iuf":
        raise TypeError(
            f"features in {str(path)!r} must be real numbers; received dtype {X.dtype}. Convert them (e.g. "
            "np.abs or .real for complex values) and save as float32."
        )
    if X.dtype != np.float32 and X.ndim == 2:
        X = np.asarray(X, dtype=np.float32)
    return X


def load_feature_file(path, *, label_column: str | None = None):
    """Load features (and labels when present) from a ``.npy``, ``.npz``, ``.csv`` or ``.parquet`` file.

    Parameters
    ----------
    path : str or path-like
        The file; the format is chosen by its suffix.
    label_column : str, optional
        Name of the label column (CSV/Parquet) or key (NPZ). Default: ``y``, ``label`` or ``labels`` when
        present, else no labels. Not accepted for ``.npy`` (which holds features only).

    Returns
    -------
    X : ndarray of float32, shape (N, D)
        Features (a read-only memmap for a float32 ``.npy``).
    y : ndarray of shape (N,) or None
        Labels: int64 when every label is an integer, else str.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.exists():
        raise FileNotFoundError(f"feature file {str(path)!r} does not exist.")
    if suffix == ".npy":
        if label_column is not None:
            raise ValueError(
                "a .npy file holds features only, so label_column does not apply; save features and labels "
                "together as .npz (keys X and y), .csv or .parquet."
            )
        X = _load_npy(path)
        y = None
    elif suffix == ".npz":
        X, y = _load_npz(path, label_column)
    elif suffix == ".csv":
        X, y = _load_csv(path, label_column)
    else:
        X, y = _load_parquet(path, label_column)
    _check_xy(X, y, path)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"features in {str(path)!r} must be numeric; received dtype {X.dtype}.")
    if not isinstance(X, np.memmap):
        X = np.ascontiguousarray(X, dtype=np.float32)
    return X, y


def save_feature_file(path, X, y=None) -> Path:
    """Write features (and labels) in the format given by the suffix; written atomically.

    Parameters
    ----------
    path : str or path-like
        Target ``.npy`` (features only), ``.npz`` (keys ``X``, ``y``), ``.csv`` or ``.parquet`` (columns
        ``f0 .. f{D-1}`` and ``label``).
    X : array-like of float, shape (N, D)
        Features, stored as float32.
    y : array-like of shape (N,), optional
        Labels.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    suffix = _suffix(path)
    X = np.asarray(X, dtype=np.float32)
    y = None if y is None else np.asarray(y)
    _check_xy(X, y, path)
    if suffix == ".npy" and y is not None:
        raise ValueError(
            "a .npy file cannot hold labels; use .npz, .csv or .parquet to save X and y together."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".npy":
            np.save(tmp, X)
        elif suffix == ".npz":
            np.savez(tmp, **({"X": X} if y is None else {"X": X, "y": y}))
        elif suffix == ".csv":
            with open(tmp, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow([f"f{j}" for j in range(X.shape[1])] + ([] if y is None else ["label"]))
                for i, row in enumerate(X):
                    w.writerow([repr(float(v)) for v in row] + ([] if y is None else [y[i]]))
        else:
            pa = require("pyarrow", "data", "Parquet feature files")
            pq = require("pyarrow.parquet", "data", "Parquet feature files")
            cols = {f"f{j}": X[:, j] for j in range(X.shape[1])}
            if y is not None:
                cols["label"] = y
            pq.write_table(pa.table(cols), tmp)
    return path
