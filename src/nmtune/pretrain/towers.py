"""The two towers of contrastive pre-training and the module holding them.

Shape convention: B images, K captions, D backbone features, F frozen text features, L bytes per caption, E
joint embedding dimension.

Text towers:

- over a frozen encoder (default): the captions are encoded once by a frozen text encoder (``glove-50``,
  ``minilm``, ...), giving ``(K, F)``; the tower is ``Linear(F, E)`` or ``Linear(F, hidden) -> GELU ->
  Linear(hidden, E)`` (:func:`build_text_tower`);
- a ``transformers`` text model trained from random weights (:class:`HFTextTower`): the captions as UTF-8
  bytes (ids ``byte + 3``; 0 pads, 1 ends, as ByT5, so no vocabulary file is needed), a model such as BERT
  built from its configuration, the mean of its last hidden states over the caption's bytes, then
  ``Linear(H, E)``. Names: ``hf-text-tiny`` (a 2-layer BERT of width 128), ``hf-text-config:<config.json>``.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import torch
from torch import nn

from nmtune._internal.registry import Registry, resolve
from nmtune.exceptions import require

__all__ = [
    "ContrastiveModel",
    "build_text_tower",
    "HFTextTower",
    "TEXT_MODELS",
    "list_text_models",
    "check_text_model",
    "build_text_model",
    "text_tower_from_spec",
    "tokenize_bytes",
    "BYTE_VOCAB",
]

BYTE_VOCAB = 259  # 256 byte values + pad (0), end (1), unknown (2), as ByT5
TEXT_MODELS = Registry("text model")


def build_text_tower(in_dim: int, embed_dim: int, hidden: int | None) -> nn.Module:
    """The text projection over frozen features: ``Linear(F, E)``, or ``Linear(F, hidden) -> GELU -> Linear``."""
    if hidden is None:
        return nn.Linear(in_dim, embed_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))


class ContrastiveModel(nn.Module):
    """Image tower, text tower and the learnable log logit scale, in one module (one DDP wrapper).

    Parameters
    ----------
    backbone : torch.nn.Module
        Maps ``(B, channels, H, W)`` to ``(B, D)`` and exposes ``num_features`` (D).
    text_dim : int
        Dimension F of the frozen text features (unused with ``text_tower``).
    embed_dim : int
        Joint embedding dimension E.
    text_hidden : int or None
        Hidden width of the text MLP (``None``: linear).
    temperature : float
        Initial temperature; ``logit_scale`` starts at ``log(1 / temperature)``.
    text_tower : torch.nn.Module, optional
        A trainable text tower mapping its text inputs to ``(K, E)`` (e.g. :class:`HFTextTower`), instead of
        the projection over frozen features.
    """

    def __init__(
        self,
        backbone: nn.Module,
        text_dim: int,
        embed_dim: int,
        text_hidden,
        temperature: float,
        text_tower: nn.Module | None = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.image_projection = nn.Linear(backbone.num_features, embed_dim)
        self.text_projection = (
            build_text_tower(text_dim, embed_dim, text_hidden) if text_tower is None else text_tower
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def forward(self, images: torch.Tensor, text_inputs: torch.Tensor):
        """Image embeddings ``(B, E)``, text embeddings ``(K, E)`` and the scale ``exp(logit_scale)``.

        ``text_inputs`` are frozen features ``(K, F)`` or, for a trainable tower, byte ids ``(K, L)``.
        """
        return (
            self.image_projection(self.backbone(images)),
            self.text_projection(text_inputs),
            self.logit_scale.exp(),
        )


def tokenize_bytes(texts, max_length: int) -> torch.Tensor:
    """Captions as byte ids ``(K, L)``, int64: ``byte + 3``, then 1 (end), padded with 0 to the longest.

    Parameters
    ----------
    texts : sequence of str
        K captions; each keeps its first ``max_length - 1`` UTF-8 bytes.
    max_length : int
        Upper bound on L.
    """
    rows = [[b + 3 for b in str(t).encode("utf-8")[: max_length - 1]] + [1] for t in texts]
    out = torch.zeros(len(rows), max(map(len, rows), default=1), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def _transformers():
    return require("transformers", "text", "transformers text towers (hf-text-tiny, hf-text-config:)")


class HFTextTower(nn.Module):
    """A ``transformers`` text model over caption bytes, mean-pooled and projected: ``(K, L) -> (K, E)``.

    Parameters
    ----------
    config : transformers.PretrainedConfig
        A text model configuration with ``vocab_size >= 259`` (weights drawn at random).
    embed_dim : int
        E.
    max_length : int
        Bytes per caption (at most the model's ``max_position_embeddings``).
    name : str
        Registry name recorded in the spec.
    """

    def __init__(self, config, *, embed_dim: int, max_length: int, name: str):
        super().__init__()
        tf = _transformers()
        if getattr(config, "vocab_size", 0) < BYTE_VOCAB:
            raise ValueError(
                f"{name}: the text model reads UTF-8 bytes and needs vocab_size >= {BYTE_VOCAB}; its "
                f"configuration has vocab_size={getattr(config, 'vocab_size', None)}."
            )
        positions = getattr(config, "max_position_embeddings", None)
        if positions is not None and max_length > positions:
            raise ValueError(
                f"{name}: text_max_length={max_length} exceeds the model's max_position_embeddings={positions}."
            )
        cls = tf.MODEL_MAPPING[type(config)]
        pooled = "add_pooling_layer" in inspect.signature(cls.__init__).parameters
        self.model = cls(config, add_pooling_layer=False) if pooled else cls(config)
        self.projection = nn.Linear(int(config.hidden_size), embed_dim)
        self.name, self.max_length, self.embed_dim = name, int(max_length), int(embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text embeddings ``(K, E)`` of byte ids ``(K, L)`` (0 = padding)."""
        mask = tokens != 0  # (K, L)
        hidden = self.model(input_ids=tokens, attention_mask=mask.long()).last_hidden_state  # (K, L, H)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (K, H)
        return self.projection(pooled)

    def tokenize(self, texts) -> torch.Tensor:
        """Byte ids ``(K, L)`` of ``texts`` (:func:`tokenize_bytes` at this tower's ``max_length``)."""
        return tokenize_bytes(texts, self.max_length)

    def spec(self) -> dict:
        """Name, configuration dict, lengths: rebuilds this tower (untrained) offline."""
        return {
            "kind": "hf-text",
            "name": self.name,
            "hf_config": json.loads(self.model.config.to_json_string(use_diff=False)),
            "embed_dim": self.embed_dim,
            "max_length": self.max_length,
            "transformers_version": _transformers().__version__,
        }


def _config_from_dict(values: dict):
    values = dict(values)
    model_type = values.pop("model_type", None)
    if not model_type:
        raise ValueError("A transformers text configuration needs a 'model_type' (e.g. 'bert').")
    for key in ("transformers_version", "architectures", "_name_or_path"):
        values.pop(key, None)
    return _transformers().AutoConfig.for_model(model_type, **values)


def _tiny_config(rest, max_length: int):
    return _transformers().BertConfig(
        vocab_size=BYTE_VOCAB,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=512,
        max_position_embeddings=max(128, max_length),
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def _file_config(rest, max_length: int):
    path = Path(rest)
    if not path.is_file():
        raise FileNotFoundError(f"hf-text-config:{rest}: no such transformers config.json.")
    return _config_from_dict(json.loads(path.read_text(encoding="utf-8")))


TEXT_MODELS.register("hf-text-tiny", _tiny_config)
TEXT_MODELS.register_prefix("hf-text-config", _file_config, "hf-text-config:<config.json>")


def list_text_models() -> list[str]:
    """Names accepted as ``text_model``."""
    return TEXT_MODELS.names() + TEXT_MODELS.patterns()


def check_text_model(name: str) -> None:
    """Raise a did-you-mean ``ValueError`` for an unknown ``text_model`` name."""
    TEXT_MODELS.lookup(name)


def build_text_model(name: str, *, embed_dim: int, max_length: int) -> HFTextTower:
    """A trainable text tower by name, with random weights (seed torch's RNG first)."""
    entry, rest = TEXT_MODELS.lookup(name)
    config = resolve(entry, "text model")(rest, max_length)
    return HFTextTower(config, embed_dim=embed_dim, max_length=max_length, name=name)


def text_tower_from_spec(spec: dict) -> HFTextTower:
    """Rebuild an untrained :class:`HFTextTower` from its spec (no file or network access)."""
    return HFTextTower(
        _config_from_dict(spec["hf_config"]),
        embed_dim=spec["embed_dim"],
        max_length=spec["max_length"],
        name=spec["name"],
    )
