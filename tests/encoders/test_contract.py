"""The Encoder contract, checked on every built-in encoder of the registry."""

from __future__ import annotations

import numpy as np
import pytest

from nmtune.encoders import Encoder, get_encoder, list_encoders

# built-in name -> modality of its inputs
BUILTINS = {"minilm": "text", "e5-small": "text", "glove-50": "text", "efficientnet-lite0": "image"}


def test_every_builtin_is_covered():
    assert set(list_encoders()) == set(BUILTINS)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_contract(name, load, samples):
    enc = load(name)
    assert isinstance(enc, Encoder)
    assert enc.name == name and enc.modality == BUILTINS[name]
    X = samples(enc.modality, 8)
    F1 = enc.encode(X, batch_size=5, progress=False)
    assert F1.dtype == np.float32 and F1.shape == (len(X), enc.dim) and F1.flags.c_contiguous
    assert np.isfinite(F1).all()
    # deterministic, and independent of the batch size (padding / batching do not leak into features)
    F2 = enc.encode(X, batch_size=64, progress=False)
    np.testing.assert_allclose(F1, F2, atol=2e-5)
    # rows follow inputs: encoding a reversed subset gives the reversed rows
    sub = X[::-1][:4] if isinstance(X, np.ndarray) else list(X)[::-1][:4]
    np.testing.assert_allclose(enc.encode(sub, progress=False), F1[::-1][:4], atol=2e-5)
    # different inputs give different features
    assert np.abs(F1[0] - F1[1]).max() > 1e-3
    assert enc.encode(X[:0], progress=False).shape == (0, enc.dim)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_fingerprint_stable_across_loads(name, load):
    a = load(name).fingerprint
    b = get_encoder(name).fingerprint  # a fresh instance
    assert a == b and len(a) == 64 and int(a, 16) >= 0


def test_fingerprints_differ_between_encoders_and_preprocessing(load):
    prints = {n: load(n).fingerprint for n in BUILTINS}
    assert len(set(prints.values())) == len(prints)
    assert load("efficientnet-lite0", input_size=64).fingerprint != prints["efficientnet-lite0"]
    assert load("e5-small", mode="query").fingerprint != prints["e5-small"]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_batch_size(bad, load, texts):
    with pytest.raises(ValueError, match="batch_size"):
        load("glove-50").encode(texts[:2], batch_size=bad)


def test_single_string_is_rejected(load):
    with pytest.raises(TypeError, match="wrap it in a list"):
        load("glove-50").encode("just one text")
    with pytest.raises(TypeError, match="item 1"):
        load("glove-50").encode(["ok", 3])


def test_progress_bar_on_long_encodes_only(load, texts, capsys, monkeypatch):
    from nmtune.encoders import base

    enc = load("glove-50")
    enc.encode(texts, progress=False)  # warm up: loads the vocabulary
    capsys.readouterr()
    enc.encode(texts, batch_size=4, progress=True)  # fast: below the delay, no bar
    assert "encode glove-50" not in capsys.readouterr().err
    monkeypatch.setattr(base, "PROGRESS_DELAY_S", 0.0)  # every encode counts as long
    enc.encode(texts, batch_size=4, progress=True)
    assert "encode glove-50" in capsys.readouterr().err
    enc.encode(texts, batch_size=4, progress=False)
    assert "encode glove-50" not in capsys.readouterr().err


def test_encode_resolves_auto_device_before_the_model_sees_it():
    """A grid with ``device: auto`` used to hand "auto" to encoders that call ``torch.device(device)``."""
    import numpy as np
    import torch

    from nmtune.encoders.base import Encoder

    class _Torchy(Encoder):
        def __init__(self):
            super().__init__("torchy", 2, "text")

        def _fingerprint_parts(self):
            return {"kind": "test"}

        def _encode_batch(self, batch, device):
            assert isinstance(device, torch.device) and device.type in ("cpu", "cuda")
            return np.zeros((len(batch), 2), dtype=np.float32)

    assert _Torchy().encode(["a", "b"], device="auto", progress=False).shape == (2, 2)
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        _Torchy().encode(["a"], device="gpu", progress=False)
