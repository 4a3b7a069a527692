import numpy as np
import pytest

from nmtune.datasets.corruptions import CORRUPTIONS, corrupt


@pytest.fixture
def images():
    x = np.zeros((6, 28, 28), dtype=np.float32)
    x[:, 8:20, 10:18] = np.linspace(0.3, 1.0, 6)[:, None, None]
    return x


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_deterministic_in_range_and_graded(images, name):
    outs = [corrupt(images, name, s) for s in (1, 2, 3)]
    np.testing.assert_array_equal(outs[0], corrupt(images, name, 1))
    for out in outs:
        assert out.shape == images.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    dist = [np.abs(o - images).mean() for o in outs]
    assert 0 < dist[0] < dist[1] < dist[2]


def test_contrast_reference(images):
    out = corrupt(images, "contrast", 2)
    mean = images.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, mean + 0.4 * (images - mean), atol=1e-6)


def test_bad_arguments(images):
    with pytest.raises(ValueError, match="Did you mean 'blur'"):
        corrupt(images, "blurr", 1)
    with pytest.raises(ValueError, match="severity"):
        corrupt(images, "blur", 4)
