import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from nmtune.pretrain import PretrainConfig, pretrain
from nmtune.pretrain.encoder import load_pretrained_encoder


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    from nmtune.datasets.images import resize_images

    x = resize_images(x, 16)  # pre-train at 16 x 16 so that 8 x 8 and 28 x 28 inputs are resized
    path = tmp_path_factory.mktemp("pt") / "ck.pt"
    cfg = PretrainConfig(dataset="optdigits", noise=0.05, n_train=300, n_test=100, epochs=1, width=4)
    pretrain(
        cfg,
        data=(x[:1200], d.target[:1200], x[1200:], d.target[1200:], 10),
        out=path,
        progress=False,
        device="cpu",
    )
    return path


def test_encoder_contract_matches_a_plain_forward(ckpt_path):
    enc = load_pretrained_encoder(ckpt_path)
    assert enc.modality == "image" and enc.dim == 16 and len(enc.fingerprint) == 64
    imgs = np.random.default_rng(0).random((10, 16, 16), dtype=np.float32)
    feats = enc.encode(imgs, batch_size=3, progress=False)
    assert feats.shape == (10, 16) and feats.dtype == np.float32
    # slow reference: the backbone on the whole batch, normalised by hand
    with torch.no_grad():
        ref = enc.model(torch.from_numpy((imgs - 0.5) / 0.5)[:, None]).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-6)
    # uint8 and RGB inputs give the same features as the float grayscale equivalent
    u8 = (imgs * 255).round().astype(np.uint8)
    np.testing.assert_allclose(
        enc.encode(u8, progress=False), enc.encode(u8 / 255.0, progress=False), atol=1e-5
    )
    rgb = np.repeat(imgs[..., None], 3, axis=3)
    np.testing.assert_allclose(enc.encode(rgb, progress=False), feats, atol=1e-5)


def test_other_resolutions_are_resized(ckpt_path):
    from nmtune.datasets.images import resize_images

    enc = load_pretrained_encoder(ckpt_path)
    big = np.random.default_rng(1).random((4, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(
        enc.encode(big, progress=False), enc.encode(resize_images(big, 16), progress=False), atol=1e-6
    )


def test_registry_prefix_and_options(ckpt_path):
    from nmtune.encoders import get_encoder

    enc = get_encoder(f"pretrained:{ckpt_path}")
    assert enc.fingerprint == load_pretrained_encoder(ckpt_path).fingerprint
    with pytest.raises(ValueError, match="Valid options"):
        load_pretrained_encoder(ckpt_path, colour=True)
