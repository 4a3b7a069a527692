"""The text side of contrastive pre-training: the caption table and what the text tower reads.

Shape convention: T distinct captions, K captions in a batch, F frozen text features, L bytes per caption.

Every training image carries the id of a caption in the table (its class name, or its own caption for
image-caption data). A frozen text encoder encodes the table once, ``(T, F)``; a trainable ``transformers``
tower reads the captions' UTF-8 bytes, tokenised per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["TextSide", "caption_table", "text_side"]


def caption_table(captions) -> list[str]:
    """The captions as a list of str (the table the caption ids index)."""
    return [str(c) for c in captions]


@dataclass
class TextSide:
    """What the text tower reads.

    Attributes
    ----------
    dim : int
        F, the frozen features' width (1 for a trainable tower, which does not use it).
    inputs : callable
        ``inputs(ids (K,) int64) -> tensor on the device``: frozen features ``(K, F)`` or byte ids ``(K, L)``.
    encode : callable
        ``encode(list of str) -> tensor on the device``, the same for captions outside the table.
    frozen_features : ndarray of shape (T, F) or None
    encoder_record : dict or None
        ``{"name", "fingerprint"}`` of the frozen encoder.
    """

    dim: int
    inputs: Callable
    encode: Callable
    frozen_features: np.ndarray | None
    encoder_record: dict | None


def text_side(config, table: list[str], dev) -> TextSide:
    """The text side of ``config`` (frozen ``text_encoder`` or trainable ``text_model``) over ``table``."""
    if config.text_model is not None:
        from nmtune.pretrain.towers import tokenize_bytes

        def tokens(strings):
            return tokenize_bytes(strings, config.text_max_length).to(dev)

        return TextSide(1, lambda ids: tokens([table[int(i)] for i in ids]), tokens, None, None)
    from nmtune.encoders import get_encoder

    encoder = get_encoder(config.text_encoder)

    def encode(strings):
        return torch.from_numpy(np.asarray(encoder.encode(list(strings), progress=False), dtype=np.float32))

    features = encode(table)  # (T, F)
    on_device = features.to(dev)
    return TextSide(
        int(features.shape[1]),
        lambda ids: on_device[ids.to(dev)],
        lambda strings: encode(strings).to(dev),
        features.numpy(),
        {"name": encoder.name, "fingerprint": encoder.fingerprint},
    )
