"""Names, prefixes, registration and errors of the encoder registry."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from nmtune.encoders import Encoder, get_encoder, list_encoders, list_prefixes, register_encoder
from nmtune.encoders import registry as reg
from nmtune.encoders.registry import unregister_encoder
from nmtune.exceptions import MissingDependencyError


class _Constant(Encoder):
    def __init__(self, value=1.0, name="const"):
        super().__init__(name, 3, "text")
        self.value = value

    def _fingerprint_parts(self):
        return {"value": self.value}

    def _encode_batch(self, batch, device):
        return np.full((len(batch), 3), self.value)


def test_unknown_name_lists_valid_choices():
    with pytest.raises(ValueError) as info:
        get_encoder("minlm")
    msg = str(info.value)
    assert "Did you mean 'minilm'" in msg
    for name in ["minilm", "e5-small", "glove-50", "efficientnet-lite0", "hf:<path-or-id>", "npy:<file.npy>"]:
        assert name in msg


def test_unknown_prefix_and_empty_rest():
    with pytest.raises(ValueError, match="Unknown encoder"):
        get_encoder("nope:thing")
    with pytest.raises(ValueError, match="nothing after 'hf:'"):
        get_encoder("hf:")
    with pytest.raises(TypeError, match="must be a string"):
        get_encoder(3)


def test_prefix_table_names_the_contracted_factories():
    assert list_prefixes() == ["api", "hf", "npy", "pretrained", "st", "timm"]
    table = dict(reg.ENCODERS.prefix_items())
    # the upper packages register their prefixes as entry points; the encoders package never names them
    assert table["api"] == "nmtune.api.client:load_api_encoder"
    assert table["pretrained"] == "nmtune.pretrain.encoder:load_pretrained_encoder"
    assert "nmtune.api" not in Path(reg.__file__).read_text()
    for prefix in ["hf", "st", "timm", "npy"]:  # importing timm_encoder needs no timm
        module, attr = table[prefix].split(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_timm_missing_gives_install_hint():
    pytest.importorskip("torch")
    try:
        import timm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("timm is installed")
    with pytest.raises(MissingDependencyError, match=r"pip install 'nmtune\[timm\]'"):
        get_encoder("timm:resnet18")


def test_register_plain_name_and_prefix():
    register_encoder("const", _Constant)
    register_encoder("const:", lambda rest, **o: _Constant(float(rest), name=f"const:{rest}", **o))
    try:
        assert "const" in list_encoders()
        out = get_encoder("const").encode(["a", "b"], progress=False)
        np.testing.assert_array_equal(out, np.ones((2, 3)))
        enc = get_encoder("const:2.5")
        assert enc.encode(["a"], progress=False)[0, 0] == np.float32(2.5)
        assert enc.fingerprint != get_encoder("const").fingerprint
        with pytest.raises(ValueError, match="already registered"):
            register_encoder("const", _Constant)
        register_encoder("const", _Constant, overwrite=True)
    finally:
        unregister_encoder("const")
        unregister_encoder("const:")
    assert "const" not in list_encoders()


def test_register_rejects_bad_input():
    with pytest.raises(TypeError, match="module:function"):
        register_encoder("x", "not a factory")
    with pytest.raises(ValueError, match="without ':'"):
        register_encoder("a:b", _Constant)
    register_encoder("broken", lambda: object())
    try:
        with pytest.raises(TypeError, match="lacks"):
            get_encoder("broken")
    finally:
        unregister_encoder("broken")


def test_lazy_string_factory():
    register_encoder("glove-alias", "nmtune.encoders.glove:glove_50")
    try:
        assert get_encoder("glove-alias").dim == 50
    finally:
        unregister_encoder("glove-alias")


def test_a_torchvision_built_for_another_torch_gets_the_matching_install(monkeypatch):
    import nmtune.encoders.timm_encoder as te

    def broken(*args):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(te, "require", broken)
    with pytest.raises(MissingDependencyError, match=r"download.pytorch.org/whl/cpu.*torchvision::nms"):
        get_encoder("timm:resnet18")
