"""The Encoder contract shared by every feature source, with batching, progress and fingerprints.

Shape convention: N inputs, D = ``encoder.dim`` features. ``Encoder.encode`` returns a C-contiguous
``float32`` array of shape (N, D), row ``i`` being the features of input ``i``.

A subclass implements two methods:

- ``_encode_batch(batch, device) -> array (B, D)``: one forward pass on a list of at most
  ``batch_size`` inputs (loading the model on first use);
- ``_fingerprint_parts() -> dict``: what identifies the weights (digests from :func:`file_digest`,
  :func:`tree_digest` or :func:`state_dict_digest`) and the preprocessing, JSON-serialisable.

The fingerprint is computed on first access and cached on the instance; file digests are memoised per
process by (path, size, mtime), so a second encoder on the same weights does not hash them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nmtune._internal.device import resolve_device
from nmtune._internal.files import sha256_file

__all__ = [
    "Encoder",
    "file_digest",
    "tree_digest",
    "state_dict_digest",
    "make_fingerprint",
    "set_offline_defaults",
]

MODALITIES = ("text", "image")
PROGRESS_DELAY_S = 1.0  # the bar appears only when an encode runs longer than this

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def set_offline_defaults() -> None:
    """Default ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` so that nothing contacts a model hub.

    Values already set by the user are kept (``setdefault``); set them to ``0`` before loading to allow
    downloads.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def file_digest(path: str | os.PathLike, *, chunk_size: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file's bytes, memoised per process by (path, size, mtime).

    Parameters
    ----------
    path : str or path-like
        File to hash.
    chunk_size : int, default 4 MiB
        Read size.

    Returns
    -------
    str
        64 hex characters.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    with _DIGESTS_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = sha256_file(real, chunk_size=chunk_size)
    with _DIGESTS_LOCK:
        _DIGESTS[key] = digest
    return digest


def tree_digest(root: str | os.PathLike, *, skip: Sequence[str] = ("README.md", ".gitattributes")) -> str:
    """SHA-256 over every file of a folder (sorted relative paths and their :func:`file_digest`).

    Parameters
    ----------
    root : str or path-like
        Folder, e.g. a Hugging Face model directory.
    skip : sequence of str
        File names ignored (documentation that does not change the vectors).

    Returns
    -------
    str
        64 hex characters.
    """
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file() and q.name not in skip):
        rel = p.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        h.update(f"{rel}\0{file_digest(p)}\n".encode())
    return h.hexdigest()


def state_dict_digest(state_dict) -> str:
    """SHA-256 over a torch state dict: each key, dtype, shape and the tensor's raw bytes, in key order.

    Parameters
    ----------
    state_dict : Mapping[str, torch.Tensor]
        E.g. ``model.state_dict()``.

    Returns
    -------
    str
        64 hex characters.
    """
    import torch

    h = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key].detach().cpu().contiguous()
        h.update(f"{key}\0{t.dtype}\0{tuple(t.shape)}\n".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def make_fingerprint(parts: dict) -> str:
    """Hex digest of a JSON-serialisable description of weights and preprocessing.

    Parameters
    ----------
    parts : dict
        E.g. ``{"kind": "efficientnet-lite0", "weights": file_digest(...), "input_size": 64}``.

    Returns
    -------
    str
        64 hex characters; equal dicts give equal digests (keys are sorted).
    """
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return int(batch_size)


class Encoder:
    """A frozen feature extractor: inputs in, ``float32`` features (N, dim) out.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"minilm"`` or ``"hf:/models/bert"``.
    dim : int
        D, the feature dimension.
    modality : {"text", "image"}
        Text inputs are a sequence of ``str``; image inputs a numpy array (N, H, W) or (N, H, W, 3)
        (``uint8`` or float in [0, 1]) or a sequence of file paths / PIL images.
    fingerprint : str
        Hex digest of the weights and the preprocessing; equal fingerprints mean equal features.
    """

    def __init__(self, name: str, dim: int, modality: str):
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}.")
        self.name = name
        self.dim = int(dim)
        self.modality = modality
        self._fingerprint: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modality={self.modality!r})"

    # ------------------------------------------------------------------ fingerprint
    @property
    def fingerprint(self) -> str:
        """Hex digest of weights + preprocessing (computed on first access, then cached)."""
        if self._fingerprint is None:
            parts = {"encoder_class": type(self).__name__, "dim": self.dim, **self._fingerprint_parts()}
            self._fingerprint = make_fingerprint(parts)
        return self._fingerprint

    def _fingerprint_parts(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ encoding
    def encode(self, inputs, *, batch_size: int = 64, device="cpu", progress: bool = True) -> np.ndarray:
        """Encode inputs into features.

        Parameters
        ----------
        inputs : sequence of str, array (N, H, W) / (N, H, W, 3), or sequence of paths / PIL images
            N inputs of the encoder's modality (see the class docstring).
        batch_size : int, default 64
            Inputs per forward pass.
        device : str or torch.device, default "cpu"
            Where the model runs: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (ignored by encoders
            without a torch model).
        progress : bool, default True
            Show a tqdm bar when the encode runs longer than about a second.

        Returns
        -------
        ndarray of float32, shape (N, dim)
            Row ``i`` holds the features of ``inputs[i]``.
        """
        batch_size = _check_batch_size(batch_size)
        device = resolve_device(device)  # "auto" becomes a real device before any encoder sees it
        items = self._validate_inputs(inputs)
        n = len(items)
        out = np.empty((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        order = self._order(items)
        from tqdm.auto import tqdm

        with tqdm(
            total=n,
            desc=f"encode {self.name}",
            unit=self._unit,
            disable=not progress,
            delay=PROGRESS_DELAY_S,
            leave=False,
        ) as bar:
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                if isinstance(items, np.ndarray):
                    batch = items[idx]
                else:
                    batch = [items[i] for i in idx]
                feats = self._encode_batch(batch, device)
                feats = _to_numpy(feats)
                if feats.shape != (len(idx), self.dim):
                    raise RuntimeError(
                        f"{self.name}: a batch of {len(idx)} inputs gave features of shape {feats.shape}, "
                        f"expected {(len(idx), self.dim)}."
                    )
                out[idx] = feats
                bar.update(len(idx))
        return out

    _unit = "input"

    def _validate_inputs(self, inputs):
        """Return a sequence (list or ndarray) of N inputs or raise a ``TypeError``/``ValueError``."""
        if self.modality == "text":
            return validate_texts(inputs, self.name)
        return inputs if isinstance(inputs, np.ndarray) else list(inputs)

    def _order(self, items) -> np.ndarray:
        """Processing order (a permutation of ``range(N)``); features are written back in input order."""
        return np.arange(len(items))

    def _encode_batch(self, batch, device):  # pragma: no cover - abstract
        raise NotImplementedError


def validate_texts(inputs, name: str) -> list[str]:
    """Check that ``inputs`` is a sequence of ``str`` and return it as a list.

    Parameters
    ----------
    inputs : sequence of str
        N texts.
    name : str
        Encoder name, quoted in errors.

    Returns
    -------
    list of str
        The N texts.
    """
    if isinstance(inputs, str | bytes):
        raise TypeError(f"{name}: encode() takes a sequence of texts, got a single string; wrap it in a list")
    texts = list(inputs)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(
                f"{name}: encode() takes a sequence of str, but item {i} is {type(t).__name__} ({t!r:.60})."
            )
    return texts


def length_order(texts: Sequence[str]) -> np.ndarray:
    """Indices sorting texts by decreasing length (less padding per batch), stable.

    Parameters
    ----------
    texts : sequence of str
        N texts.

    Returns
    -------
    ndarray of int64, shape (N,)
        A permutation of ``range(N)``.
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    return np.argsort(-lengths, kind="stable")


def _to_numpy(feats) -> np.ndarray:
    if not isinstance(feats, np.ndarray):
        feats = feats.detach().to("cpu").float().numpy()
    return np.asarray(feats, dtype=np.float32)
