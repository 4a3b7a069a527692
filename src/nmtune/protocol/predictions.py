"""Per-sample predictions kept with each run record, compactly: one class index per test row.

A run record stores, for every evaluation domain, the predicted class index of each test row and the true
one, each packed as ``"<dtype>:<base64 of zlib-compressed bytes>"`` (``u1`` for fewer than 256 classes, else
``u2`` / ``u4``): about 1-2 bytes per row before compression. With them, two runs evaluated on the same test
set can be compared sample by sample (paired bootstrap, McNemar's test; :mod:`nmtune._internal.stats`).
"""

from __future__ import annotations

import base64
import zlib

import numpy as np

__all__ = ["pack_labels", "unpack_labels", "domain_outcomes"]

_DTYPES = {"u1": np.uint8, "u2": np.uint16, "u4": np.uint32}


def pack_labels(labels) -> str:
    """Pack non-negative integer labels (N,) into a short ASCII string.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Class indices, ``0 <= label < 2**32``.

    Returns
    -------
    str
        ``"<dtype>:<base64>"``; :func:`unpack_labels` inverts it exactly.
    """
    a = np.asarray(labels)
    if a.ndim != 1:
        raise ValueError(f"labels must be one-dimensional (N,); received shape {a.shape}.")
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= 2**32):
        raise ValueError(
            f"labels must be integer class indices in [0, 2**32); received dtype {a.dtype}"
            + (f", range [{a.min()}, {a.max()}]." if np.issubdtype(a.dtype, np.number) else ".")
        )
    top = int(a.max()) if a.size else 0
    code = "u1" if top < 2**8 else "u2" if top < 2**16 else "u4"
    raw = np.ascontiguousarray(a, dtype=np.dtype(_DTYPES[code]).newbyteorder("<")).tobytes()
    return f"{code}:{base64.b64encode(zlib.compress(raw, 9)).decode('ascii')}"


def unpack_labels(packed: str) -> np.ndarray:
    """The int64 array (N,) packed by :func:`pack_labels`."""
    code, sep, body = str(packed).partition(":")
    if not sep or code not in _DTYPES:
        raise ValueError(
            f"Not a packed label string (expected 'u1:...', 'u2:...' or 'u4:...'); received {str(packed)[:20]!r}."
        )
    raw = zlib.decompress(base64.b64decode(body))
    return np.frombuffer(raw, dtype=np.dtype(_DTYPES[code]).newbyteorder("<")).astype(np.int64)


def domain_outcomes(record: dict, domain: str) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` of one evaluation domain of a run record, int64 arrays of shape (N,).

    Raises
    ------
    KeyError
        When the record holds no predictions for ``domain`` (records written before they were stored).
    """
    preds = record.get("predictions") or {}
    if domain not in preds:
        raise KeyError(
            f"Run {record.get('run_id', '?')} has no per-sample predictions for domain {domain!r} "
            f"(it has {sorted(preds) or 'none'}); runs stored before predictions were recorded lack them: "
            "delete and re-run those runs."
        )
    entry = preds[domain]
    return unpack_labels(entry["true"]), unpack_labels(entry["pred"])
