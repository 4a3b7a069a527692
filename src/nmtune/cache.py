"""On-disk feature cache: frozen-encoder features of a dataset split, computed once and memory-mapped after.

An entry is keyed by ``sha256(encoder.fingerprint, dataset name, dataset fingerprint, split, preprocessing)``
and lives in ``<root>/<encoder>__<dataset>__<split>__<key[:16]>/``:

- ``X.npy``: float32 features, shape (N, D), opened with ``mmap_mode="r"``;
- ``y.npy``: int64 labels, shape (N,);
- ``record.json``: shape, dtype, sha256 of both files, encoder name and fingerprint, dataset, split, class
  names, creation time and nmtune version. Written last: an entry without a readable record does not exist.

Every file is written to a temporary name and moved into place with :func:`os.replace` (atomic). The sha256 of
``X.npy`` is verified the first time a process opens an entry (then remembered by path, size and mtime); a
missing, truncated or corrupted file is reported with a warning naming it and the entry is recomputed.

Extraction runs in shards of ``shard_size`` rows (argument, else ``encoder.preferred_shard_size``, else 1024);
each shard is saved atomically to ``shards-<size>/<index>.npy`` as soon as it is encoded, so an interrupted
extraction resumes with the missing shards only. Finished shards are streamed into ``X.npy`` (flat memory)
and then deleted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nmtune._internal.files import atomic_path, atomic_write_text, ensure_folder, sha256_file

__all__ = ["FeatureCache", "Features", "get_features", "extract", "default_cache_dir", "cache_key"]

DEFAULT_SHARD_SIZE = 1024
_VERIFIED: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) whose checksum matched in this process


def default_cache_dir() -> Path:
    """``$NMTUNE_CACHE_DIR`` if set, else ``~/.cache/nmtune`` (or ``$XDG_CACHE_HOME/nmtune``)."""
    env = os.environ.get("NMTUNE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nmtune"


@dataclasses.dataclass(frozen=True)
class Features:
    """Cached features of one dataset split.

    Attributes
    ----------
    X : numpy.ndarray
        float32, shape (N, D), a read-only memmap.
    y : numpy.ndarray
        int64, shape (N,).
    class_names : tuple of str
        Length C.
    record : dict
        The entry's ``record.json`` (shape, checksums, encoder, dataset, split, ...), plus ``"path"``.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    record: dict


def record_digest(record: dict) -> str:
    """SHA-256 of a cache record's content (every field but the digest itself and the folder path)."""
    body = {k: v for k, v in record.items() if k not in ("record_sha256", "path")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _atomic_save(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


def _preprocessing_key(preprocessing) -> Any:
    if preprocessing is None or isinstance(preprocessing, (str, int, float, bool)):
        return preprocessing
    if isinstance(preprocessing, Mapping):
        return {str(k): _preprocessing_key(v) for k, v in sorted(preprocessing.items())}
    if isinstance(preprocessing, (list, tuple)):
        return [_preprocessing_key(v) for v in preprocessing]
    if callable(preprocessing):
        fp = getattr(preprocessing, "fingerprint", None)
        return (
            fp or f"{getattr(preprocessing, '__module__', '?')}.{getattr(preprocessing, '__qualname__', '?')}"
        )
    raise TypeError(
        "preprocessing must be None, a JSON-like description (str, dict, list) or a callable applied to the "
        f"inputs; received {type(preprocessing).__name__}."
    )


def cache_key(encoder_fingerprint: str, dataset: str, split: str, preprocessing=None) -> str:
    """The sha256 hex key of an entry (the dataset's own fingerprint is included, so edited files miss)."""
    from nmtune.datasets import dataset_fingerprint

    payload = {
        "encoder": str(encoder_fingerprint),
        "dataset": dataset,
        "dataset_fingerprint": dataset_fingerprint(dataset),
        "split": split,
        "preprocessing": _preprocessing_key(preprocessing),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "-", str(text)).strip("-")[:limit] or "x"


class FeatureCache:
    """A folder of cached features.

    Parameters
    ----------
    root : str or Path, optional
        Cache folder; default :func:`default_cache_dir` (``$NMTUNE_CACHE_DIR`` or ``~/.cache/nmtune``).
    """

    def __init__(self, root=None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"FeatureCache(root={str(self.root)!r})"

    def entry_dir(self, key: str, encoder_name: str, dataset: str, split: str) -> Path:
        """Folder of the entry with ``key`` (human-readable prefix, key suffix)."""
        return self.root / f"{_slug(encoder_name)}__{_slug(dataset, 60)}__{_slug(split)}__{key[:16]}"

    def _find(self, key: str) -> Path | None:
        if not self.root.is_dir():
            return None
        matches = sorted(self.root.glob(f"*__{key[:16]}"))
        return matches[0] if matches else None

    def load(self, key: str, *, verify: bool = True) -> Features | None:
        """Open the entry ``key`` or return None when it is absent, incomplete or corrupted.

        A corrupted entry (unreadable record, missing or truncated file, checksum mismatch) is reported with a
        ``UserWarning`` naming the file, and removed so that it is recomputed.
        """
        folder = self._find(key)
        if folder is None or not (folder / "record.json").exists():
            return None
        record_path = folder / "record.json"
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            problem = self._check(folder, record, verify=verify)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            problem = (record_path, f"unreadable ({type(exc).__name__}: {exc})")
        if problem is not None:
            path, why = problem
            warnings.warn(
                f"Feature cache file {path} is {why}; recomputing the entry.", UserWarning, stacklevel=3
            )
            record_path.unlink(missing_ok=True)
            for name in ("X.npy", "y.npy"):
                (folder / name).unlink(missing_ok=True)
            return None
        X = np.load(folder / "X.npy", mmap_mode="r")
        y = np.load(folder / "y.npy")
        record = dict(record, path=str(folder))
        return Features(X, y, tuple(record["class_names"]), record)

    @staticmethod
    def _check(folder: Path, record: dict, *, verify: bool):
        if not isinstance(record, dict) or record.get("record_sha256") != record_digest(record):
            why = (
                "without a record checksum (older nmtune)"
                if isinstance(record, dict)
                else "not a JSON object"
            )
            if isinstance(record, dict) and "record_sha256" in record:
                why = "edited or corrupted (record checksum mismatch)"
            return folder / "record.json", why
        for name, field in (("X.npy", "sha256"), ("y.npy", "y_sha256")):
            path = folder / name
            if not path.is_file():
                return path, "missing"
            st = path.stat()
            if name == "X.npy":
                try:
                    X = np.load(path, mmap_mode="r")
                except (ValueError, OSError, EOFError) as exc:
                    return path, f"unreadable ({exc or type(exc).__name__})"
                if list(X.shape) != record["shape"] or str(X.dtype) != record["dtype"]:
                    return path, f"of shape {X.shape} {X.dtype}, expected {record['shape']} {record['dtype']}"
                del X
            stamp = (str(path), st.st_size, st.st_mtime_ns)
            if verify and stamp not in _VERIFIED:
                if sha256_file(path) != record[field]:
                    return path, "corrupted (sha256 checksum mismatch)"
                _VERIFIED.add(stamp)
        return None

    def records(self) -> list[dict]:
        """Records of every complete entry (each with its ``"path"``), sorted by folder name."""
        out = []
        for record_path in sorted(self.root.glob("*/record.json")) if self.root.is_dir() else []:
            try:
                out.append(
                    dict(json.loads(record_path.read_text(encoding="utf-8")), path=str(record_path.parent))
                )
            except (OSError, ValueError):
                continue
        return out

    def clear(self, *, encoder: str | None = None, dataset: str | None = None) -> int:
        """Delete entries (complete or partial) whose encoder / dataset name match; all when both are None.

        Returns
        -------
        int
            Number of entry folders removed.
        """
        if not self.root.is_dir():
            return 0
        removed = 0
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.count("__") >= 3):
            enc, ds = folder.name.split("__")[:2]
            if (encoder is None or enc == _slug(encoder)) and (dataset is None or ds == _slug(dataset, 60)):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def verify(self) -> list[str]:
        """Checksum every entry now (ignoring the per-process memo); returns the folders found corrupted.

        Every folder holding a ``record.json`` is checked: an unreadable or incomplete record counts as
        corrupted (it is not skipped).
        """
        bad = []
        for record_path in sorted(self.root.glob("*/record.json")) if self.root.is_dir() else []:
            folder = record_path.parent
            try:
                record = json.loads(record_path.read_text(encoding="utf-8"))
                problem = self._check_uncached(folder, record)
            except (OSError, ValueError, KeyError, TypeError, EOFError):
                problem = True
            if problem is not None:
                bad.append(str(folder))
        return bad

    def _check_uncached(self, folder: Path, record: dict):
        for path in (folder / "X.npy", folder / "y.npy"):
            _VERIFIED.difference_update({s for s in _VERIFIED if s[0] == str(path)})
        return self._check(folder, record, verify=True)


def _resolve_encoder(encoder):
    if isinstance(encoder, str):
        from nmtune.encoders import get_encoder

        return get_encoder(encoder)
    for attr in ("name", "fingerprint", "encode"):
        if not hasattr(encoder, attr):
            raise TypeError(
                f"encoder must be an encoder name or an object with name, fingerprint and encode(); "
                f"{type(encoder).__name__} has no {attr!r}."
            )
    return encoder


def _encode_shard(encoder, inputs, *, batch_size: int, device: str, expected_rows: int) -> np.ndarray:
    Z = np.asarray(encoder.encode(inputs, batch_size=batch_size, device=device, progress=False))
    if Z.ndim != 2 or Z.shape[0] != expected_rows:
        raise ValueError(
            f"Encoder {encoder.name!r} returned shape {Z.shape} for {expected_rows} inputs; expected (N, D), "
            f"N = {expected_rows}."
        )
    return Z.astype(np.float32, copy=False)


def get_features(
    encoder,
    dataset: str,
    split: str = "train",
    *,
    cache: FeatureCache | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = True,
    shard_size: int | None = None,
    preprocessing: Any = None,
) -> Features:
    """Features of ``dataset``/``split`` under ``encoder``, from the cache or computed (and cached) now.

    Parameters
    ----------
    encoder : Encoder or str
        An object with ``name``, ``fingerprint`` and ``encode(inputs, *, batch_size, device, progress)``, or a
        name for :func:`nmtune.encoders.get_encoder`.
    dataset : str
        A dataset name for :func:`nmtune.datasets.load_dataset`.
    split : str
        ``"train"`` or ``"test"``.
    cache : FeatureCache, optional
        Default ``FeatureCache()``.
    batch_size, device : int, str
        Passed to ``encoder.encode``.
    progress : bool
        Show a progress bar over the rows being encoded.
    shard_size : int, optional
        Rows per saved shard; default ``encoder.preferred_shard_size`` if set, else 1024.
    preprocessing : None, str, dict or callable
        A callable is applied to the dataset inputs before encoding; a callable's ``fingerprint`` (or
        its qualified name) and any str / dict description enter the cache key.

    Returns
    -------
    Features
        ``X`` float32 memmap (N, D), ``y`` int64 (N,), ``class_names``, ``record``.
    """
    encoder = _resolve_encoder(encoder)
    cache = cache if cache is not None else FeatureCache()
    key = cache_key(encoder.fingerprint, dataset, split, preprocessing)
    hit = cache.load(key)
    if hit is not None:
        return hit
    from nmtune.datasets import load_dataset

    ds = load_dataset(dataset, split)
    enc_modality = getattr(encoder, "modality", None)
    if enc_modality and not callable(preprocessing) and enc_modality != ds.modality:
        raise ValueError(
            f"Encoder {encoder.name!r} encodes {enc_modality} inputs but dataset {dataset!r} holds {ds.modality}; "
            f"pick a {ds.modality} encoder (see nmtune.encoders.list_encoders()) or a {enc_modality} dataset."
        )
    inputs = preprocessing(ds.inputs) if callable(preprocessing) else ds.inputs
    folder = cache.entry_dir(key, encoder.name, dataset, split)
    ensure_folder(cache.root, "feature cache folder")
    folder.mkdir(exist_ok=True)
    size = shard_size if shard_size is not None else getattr(encoder, "preferred_shard_size", None)
    size = DEFAULT_SHARD_SIZE if size is None else size
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"shard_size must be a positive number of rows; received {shard_size!r}.")
    size = int(size)
    shard_paths = _extract_shards(
        encoder, inputs, folder / f"shards-{size}", size, batch_size, device, progress
    )
    X_path = folder / "X.npy"
    dim = _concatenate(shard_paths, len(ds), X_path)
    _atomic_save(folder / "y.npy", np.asarray(ds.labels, dtype=np.int64))
    from nmtune import __version__

    record = {
        "key": key,
        "encoder": encoder.name,
        "encoder_fingerprint": encoder.fingerprint,
        "dataset": dataset,
        "split": split,
        "preprocessing": _preprocessing_key(preprocessing),
        "shape": [len(ds), dim],
        "dtype": "float32",
        "sha256": sha256_file(X_path),
        "y_sha256": sha256_file(folder / "y.npy"),
        "class_names": list(ds.class_names),
        "modality": ds.modality,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nmtune_version": __version__,
        "shard_size": size,
    }
    record["record_sha256"] = record_digest(record)
    atomic_write_text(folder / "record.json", json.dumps(record, indent=2))
    for path in (X_path, folder / "y.npy"):  # just hashed while writing: no need to hash again this process
        st = path.stat()
        _VERIFIED.add((str(path), st.st_size, st.st_mtime_ns))
    shutil.rmtree(folder / f"shards-{size}", ignore_errors=True)
    out = cache.load(key)
    assert out is not None, folder
    return out


def _load_shard(path: Path, rows: int) -> bool:
    try:
        arr = np.load(path, mmap_mode="r")
        return arr.ndim == 2 and arr.shape[0] == rows and arr.dtype == np.float32
    except (ValueError, OSError):
        return False


def _extract_shards(encoder, inputs, shard_dir: Path, size, batch_size, device, progress) -> list[Path]:
    from tqdm.auto import tqdm

    shard_dir.mkdir(parents=True, exist_ok=True)
    n = len(inputs)
    bounds = [(start, min(start + size, n)) for start in range(0, n, size)]
    paths = [shard_dir / f"{i:06d}.npy" for i in range(len(bounds))]
    todo = [i for i, (a, b) in enumerate(bounds) if not (paths[i].is_file() and _load_shard(paths[i], b - a))]
    done_rows = n - sum(bounds[i][1] - bounds[i][0] for i in todo)
    # rows per encoder call: one batch, or as many as an encoder sends at once (an API client's concurrency)
    step = batch_size * max(int(getattr(encoder, "max_concurrency", 1) or 1), 1)
    with tqdm(
        total=n, initial=done_rows, disable=not progress, desc=f"encode {encoder.name}", unit="row"
    ) as bar:
        for i in todo:
            a, b = bounds[i]
            parts = []  # one encoder call per batch, so the bar moves every batch ("k of n" rows), not per shard
            for start in range(a, b, step):
                stop = min(start + step, b)
                parts.append(
                    _encode_shard(
                        encoder,
                        inputs[start:stop],
                        batch_size=batch_size,
                        device=device,
                        expected_rows=stop - start,
                    )
                )
                bar.update(stop - start)
            dims = {p.shape[1] for p in parts}
            if len(dims) > 1:
                raise ValueError(
                    f"Encoder {encoder.name!r} returned batches of different widths {sorted(dims)}."
                )
            _atomic_save(paths[i], np.concatenate(parts) if len(parts) > 1 else parts[0])
    return paths


def _concatenate(shard_paths: list[Path], n: int, out_path: Path) -> int:
    """Stream the shards into one ``.npy`` (atomically); returns D."""
    dims = {np.load(p, mmap_mode="r").shape[1] for p in shard_paths}
    if len(dims) > 1:
        raise ValueError(
            f"Shards in {shard_paths[0].parent} disagree on the feature dimension: {sorted(dims)}."
        )
    dim = dims.pop() if dims else 0
    with atomic_path(out_path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
        row = 0
        for p in shard_paths:
            shard = np.load(p, mmap_mode="r")
            out[row : row + shard.shape[0]] = shard
            row += shard.shape[0]
        assert row == n, (row, n)
        out.flush()
        del out
    return dim


def extract(
    encoder, dataset: str, splits=("train", "test"), *, cache: FeatureCache | None = None, **options
) -> dict[str, Features]:
    """Fill the cache for several splits of one dataset (what ``nmtune extract`` runs).

    Parameters
    ----------
    encoder : Encoder or str
        As for :func:`get_features` (a name is resolved once).
    dataset : str
        Dataset name.
    splits : sequence of str or "all"
        Splits to extract; ``"all"`` means every split the dataset offers.
    cache : FeatureCache, optional
        Default ``FeatureCache()``.
    **options
        Passed to :func:`get_features` (batch_size, device, progress, shard_size, preprocessing).

    Returns
    -------
    dict
        ``{split: Features}``.
    """
    from nmtune.datasets import dataset_splits

    encoder = _resolve_encoder(encoder)
    if isinstance(splits, str):
        splits = dataset_splits(dataset) if splits == "all" else (splits,)
    return {s: get_features(encoder, dataset, s, cache=cache, **options) for s in splits}
