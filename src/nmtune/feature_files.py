"""Read and write feature files: ``.npy``, ``.npz``, ``.csv`` and ``.parquet``; read labels files.

Shapes: features X are float32 (N, D); labels y are (N,) (int64 when every label is an integer, else str).

- ``.npy``: a single 2-D array, no labels (opened as a read-only memmap when already float32).
- ``.npz``: features under key ``X`` or ``features``; labels (optional) under ``y`` or ``labels``.
- ``.csv`` (header row required) and ``.parquet``: every column but the label column is a numeric feature
  column. Parquet also accepts a single list-valued feature column (one embedding vector per row).
  The label column is ``label_column`` if given, else a column named ``y``, ``label`` or ``labels`` if
  present. CSV files are UTF-8 (a byte-order mark is fine); the delimiter is ``,``, or ``;`` / tab / ``|``
  when the header uses one of those instead.
- Labels files (:func:`load_labels_file`): ``.npy`` / ``.npz``, or text with one label per line.

Every label goes through :func:`nmtune._internal.validation.check_labels`: missing labels (empty cells,
``None``, ``nan``) and continuous values are errors naming the file, never classes.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from nmtune._internal.files import DELIMITER_NAMES, atomic_path, csv_delimiter, ensure_folder, read_text
from nmtune._internal.validation import check_labels
from nmtune.exceptions import require

__all__ = ["load_feature_file", "load_labels_file", "save_feature_file", "FORMATS"]

FORMATS = (".npy", ".npz", ".csv", ".parquet")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_CHUNK_ROWS = 65536
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


def _labels(values, path, column=None) -> np.ndarray:
    what = f"the labels ({column!r})" if column else "the labels"
    return check_labels(values, what=what, source=str(path))


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
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable .npz archive ({exc}); save it with numpy.savez."
        ) from exc
    with z:
        keys = list(z.files)
        xk = [k for k in _X_KEYS if k in keys]
        if len(xk) != 1:
            raise ValueError(
                f"{str(path)!r} must hold the features under exactly one of the keys {list(_X_KEYS)}; "
                f"keys found: {keys}."
            )
        yk = _pick_label(keys, label_column, path)
        try:
            X = np.asarray(z[xk[0]])
            y = _labels(z[yk], path, yk) if yk else None
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise
            raise ValueError(
                f"{str(path)!r} holds Python objects (an object array); nmtune never unpickles files. Save "
                "numbers and strings: numpy.savez(path, X=X.astype('float32'), y=np.asarray(y).astype(str))."
            ) from exc
    return X, y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path, label_column):
    """Read with a real CSV reader: quoted fields may hold commas (``"cat, big"`` stays one label)."""
    text = read_text(path, "CSV file")
    first = text.split("\n", 1)[0]
    sep = csv_delimiter(first)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    header = rows[0] if rows else None
    if not header or not any(h.strip() for h in header):
        raise ValueError(f"{str(path)!r} is empty; a CSV feature file needs a header row and data rows.")
    if all(_is_number(h) for h in header):
        raise ValueError(f"{str(path)!r} has no header row (its first row is numeric); add column names.")
    header = [h.strip() for h in header]
    unnamed = [i + 1 for i, h in enumerate(header) if not h or h.startswith("Unnamed: ")]
    if unnamed:
        raise ValueError(
            f"{str(path)!r}: column {unnamed[0]} has no name ({header[unnamed[0] - 1]!r}); it is usually the row "
            "index pandas writes by default, which must not become a feature. Save with "
            "DataFrame.to_csv(path, index=False), or name the column and drop it."
        )
    lab = _pick_label(header, label_column, path)
    if lab is not None and header.count(lab) > 1:
        raise ValueError(f"{str(path)!r} has {header.count(lab)} columns named {lab!r}; rename all but one.")
    feat_cols = [i for i, h in enumerate(header) if h != lab]
    body = [r for r in rows[1:] if r and any(c.strip() for c in r)]
    if not body:
        raise ValueError(f"{str(path)!r} has a header but no data rows.")
    if not feat_cols:
        raise ValueError(f"{str(path)!r} has no feature columns besides the label column {lab!r}.")
    X = np.empty((len(body), len(feat_cols)), dtype=np.float32)
    named = f" ({DELIMITER_NAMES[sep]}-separated)" if sep != "," else ""
    for i, row in enumerate(body):
        if len(row) != len(header):
            hint = (
                'quote fields that contain commas ("cat, big").'
                if sep == ","
                else f"quote fields that contain {sep!r}."
            )
            raise ValueError(
                f"{str(path)!r}{named}: row {i + 2} has {len(row)} fields but the header has {len(header)}; {hint}"
            )
        for k, j in enumerate(feat_cols):
            try:
                value = float(row[j])
            except ValueError:
                raise ValueError(_bad_cell(path, i + 2, header[j], row[j], sep)) from None
            if math.isfinite(value) and abs(value) > _FLOAT32_MAX:
                raise ValueError(
                    f"{str(path)!r} row {i + 2}, column {header[j]!r} holds {row[j].strip()}, beyond float32's range "
                    "(3.4e38); features are stored as float32: rescale them (e.g. standardise) first."
                )
            X[i, k] = value
    y = None
    if lab is not None:
        j = header.index(lab)
        y = _labels([row[j].strip() for row in body], path, lab)
    return X, y


def _bad_cell(path, row: int, column: str, cell: str, sep: str) -> str:
    where = f"{str(path)!r} row {row}, column {column!r}"
    if not cell.strip():
        return (
            f"{where} is empty; every feature must be a number. Fill in or drop the row (features with gaps need "
            "imputing first, e.g. sklearn.impute.SimpleImputer)."
        )
    if sep != "," and "," in cell and _is_number(cell.replace(",", ".", 1)):
        return (
            f"{where} holds {cell!r}: a decimal comma. Write numbers with a decimal point (0.5), e.g. re-export "
            "with a '.' decimal separator or pandas.read_csv(path, sep=';', decimal=',').to_csv(new_path)."
        )
    return (
        f"{where} holds {cell!r}, which is not a number: every column except the label column must be numeric. "
        "Name the label column with label_column (CLI: --label-column) and drop other non-numeric columns."
    )


def _load_parquet(path, label_column):
    pq = require("pyarrow.parquet", "data", "Parquet feature files")
    pa = require("pyarrow", "data", "Parquet feature files")
    table = pq.read_table(path)
    index_columns = [n for n in table.column_names if n.startswith("__index_level_")]
    if index_columns:  # pandas' row index, stored beside the data: never a feature
        table = table.drop(index_columns)
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
    y = _labels(table.column(lab).to_pylist(), path, lab) if lab else None
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


def load_feature_file(path, *, label_column: str | None = None, allow_nonfinite: bool = False):
    """Load features (and labels when present) from a ``.npy``, ``.npz``, ``.csv`` or ``.parquet`` file.

    Parameters
    ----------
    path : str or path-like
        The file; the format is chosen by its suffix.
    label_column : str, optional
        Name of the label column (CSV/Parquet) or key (NPZ). Default: ``y``, ``label`` or ``labels`` when
        present, else no labels. Not accepted for ``.npy`` (which holds features only).
    allow_nonfinite : bool, default False
        Accept NaN and infinite features (e.g. to impute them); by default they are an error naming the file, row
        and column.

    Returns
    -------
    X : ndarray of float32, shape (N, D)
        Features (a read-only memmap for a float32 ``.npy``).
    y : ndarray of shape (N,) or None
        Labels: int64 when every label is an integer, else str.
    """
    path = Path(path).expanduser()
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
    if not allow_nonfinite:
        _check_finite(X, path)
    return X, y


def _check_finite(X, path) -> None:
    """A ValueError naming the first NaN or infinity of ``X`` (row and column), read in row chunks."""
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        chunk = np.asarray(X[start : start + _CHUNK_ROWS])
        if chunk.dtype.kind != "f" or np.isfinite(chunk).all():
            continue
        r, c = (int(v) for v in np.argwhere(~np.isfinite(chunk))[0])
        kind = "NaN" if np.isnan(chunk[r, c]) else "infinity"
        raise ValueError(
            f"Features in {str(path)!r} contain {kind} (first at row {start + r}, column {c}); every feature must "
            "be finite (a float32 overflow also gives infinity). Drop or impute those rows (e.g. "
            "sklearn.impute.SimpleImputer) and save the file again."
        )


_LABEL_HEADERS = ("y", "label", "labels", "class", "target")


def load_labels_file(path, *, n_rows: int | None = None) -> np.ndarray:
    """Read a labels file: ``.npy`` (1-D), ``.npz`` (key ``y`` or ``labels``), or text with one label per line.

    Text files are UTF-8 (a byte-order mark is fine); a first line ``y`` / ``label`` / ``labels`` / ``class``
    / ``target`` is a header; an empty line (other than at the end of the file) is a missing label and an
    error, as are ``None`` / ``nan`` and continuous values (:func:`nmtune._internal.validation.check_labels`).

    Parameters
    ----------
    path : str or path-like
        The file.
    n_rows : int, optional
        The number of feature rows the labels belong to; a different count is an error naming both.

    Returns
    -------
    numpy.ndarray of shape (N,)
        int64 when every label is a whole number, else str.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"labels file {str(p)!r} does not exist.")
    if p.is_dir():
        raise IsADirectoryError(f"labels file {str(p)!r} is a folder; give a file with one label per row.")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            raw = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(
                f"labels file {str(p)!r} is not a readable .npy array of numbers or strings ({exc}); save it with "
                "numpy.save(path, np.asarray(y)) (strings: np.asarray(y, dtype=str))."
            ) from exc
    elif suffix == ".npz":
        _, raw = _load_npz_labels(p)
    else:
        lines = read_text(p, "labels file").splitlines()
        while lines and not lines[-1].strip():
            lines.pop()  # a trailing newline or blank lines at the end are not labels
        raw = _text_labels(lines, p)
    y = check_labels(raw, what="the labels", source=str(p))
    if n_rows is not None and len(y) != n_rows:
        raise ValueError(
            f"labels file {str(p)!r} holds {len(y)} labels but the features have {n_rows} rows; they must match "
            "(one label per feature row, in the same order)."
        )
    return y


def _text_labels(lines: list[str], p: Path) -> list[str]:
    """One label per line; a table of several columns gives its label column, or a clear error."""
    if not lines:
        raise ValueError(f"labels file {str(p)!r} holds no labels; write one label per line.")
    sep = csv_delimiter(lines[0])
    rows = list(csv.reader(lines, delimiter=sep))
    widths = {len(r) for r in rows if r}
    if widths == {1} or len(rows) == 1 or sep not in lines[0]:
        if lines[0].strip().lower() in _LABEL_HEADERS:
            lines = lines[1:]
        return [ln.strip() for ln in lines]
    header = [h.strip().lower() for h in rows[0]]
    found = [i for i, h in enumerate(header) if h in _LABEL_HEADERS]
    if len(found) != 1 or len(widths) != 1:
        raise ValueError(
            f"labels file {str(p)!r} holds a table of {max(widths)} columns ({', '.join(rows[0][:5])} ...), not one "
            f"label per line; name its label column one of {', '.join(_LABEL_HEADERS)}, keep that column only, or "
            "give features and labels as one CSV with --label-column."
        )
    return [r[found[0]].strip() for r in rows[1:]]


def _load_npz_labels(path):
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = [k for k in _Y_KEYS if k in z.files]
            if not keys:
                raise ValueError(
                    f"labels file {str(path)!r} has none of the keys {list(_Y_KEYS)}; keys: {z.files}."
                )
            return keys[0], np.asarray(z[keys[0]])
    except (OSError, EOFError) as exc:
        raise ValueError(f"labels file {str(path)!r} is not a readable .npz archive ({exc}).") from exc


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
    ensure_folder(path.parent, "folder of the feature file")
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
