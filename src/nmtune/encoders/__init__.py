"""Frozen feature extractors behind one registry: ``get_encoder(name).encode(inputs) -> (N, D) float32``.

Built-in names: ``minilm``, ``e5-small``, ``glove-50``, ``efficientnet-lite0``; prefixed names ``hf:``,
``st:``, ``timm:``, ``api:``, ``pretrained:``, ``npy:``. See ``docs/encoders.md``.
"""

from .base import Encoder, file_digest, make_fingerprint, state_dict_digest, tree_digest
from .registry import get_encoder, list_encoders, list_prefixes, register_encoder, unregister_encoder

__all__ = [
    "Encoder",
    "get_encoder",
    "list_encoders",
    "list_prefixes",
    "register_encoder",
    "unregister_encoder",
    "file_digest",
    "tree_digest",
    "state_dict_digest",
    "make_fingerprint",
]
