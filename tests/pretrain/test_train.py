import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from nmtune.pretrain import PretrainConfig, SmallResNet, load_checkpoint, pretrain


def _digits():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)  # (1797, 8, 8) real optdigits
    return x[:1200], d.target[:1200], x[1200:], d.target[1200:], 10


def _cfg(**kw):
    base = dict(dataset="optdigits", n_train=400, n_test=200, epochs=1, batch_size=64, width=4, augment=False)
    base.update(kw)
    return PretrainConfig(**base)


@pytest.mark.slow
def test_deterministic_and_checkpoint_round_trip(tmp_path):
    data = _digits()
    a = pretrain(_cfg(noise=0.2, seed=3), data=data, out=tmp_path / "a.pt", progress=False, device="cpu")
    b = pretrain(_cfg(noise=0.2, seed=3), data=data, progress=False, device="cpu")
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    c = pretrain(_cfg(noise=0.2, seed=4), data=data, progress=False, device="cpu")
    assert not torch.equal(a["state_dict"]["stem.0.weight"], c["state_dict"]["stem.0.weight"])
    loaded = load_checkpoint(tmp_path / "a.pt")
    assert loaded["realised_noise_rate"] == pytest.approx(0.2)  # exactly round(0.2 * 400) flips
    assert loaded["noise"]["realised_rate"] == pytest.approx(0.2)
    assert loaded["config"]["noise"] == 0.2 and loaded["seed"] == 3
    assert 0.0 <= loaded["clean_test_accuracy"] <= 1.0
    assert "head.weight" not in loaded["state_dict"]  # projection head discarded


@pytest.mark.slow
def test_training_learns_on_clean_labels():
    ck = pretrain(
        _cfg(epochs=8, width=8, n_train=800, batch_size=32), data=_digits(), progress=False, device="cpu"
    )
    assert ck["clean_test_accuracy"] > 0.6  # chance is 0.1
    assert ck["history"][-1]["train_loss"] < ck["history"][0]["train_loss"]


def test_custom_backbone_is_pluggable():
    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 6, 3)
            self.num_features = 6

        def forward(self, x):
            return torch.relu(self.conv(x)).mean(dim=(2, 3))

    ck = pretrain(_cfg(), backbone=Tiny(), data=_digits(), progress=False, device="cpu")
    assert ck["config"]["arch"] == "custom:Tiny" and ck["feature_dim"] == 6


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="noise"):
        PretrainConfig(noise=1.5)
    with pytest.raises(ValueError, match="norm"):
        SmallResNet(norm="layer")
    with pytest.raises(FileNotFoundError, match="nmtune pretrain"):
        load_checkpoint("/nonexistent/ck.pt")


def test_stem_stride_two_halves_the_resolution_and_round_trips_through_a_checkpoint(tmp_path):
    """stem_stride=2 keeps D = 4 width and the encoder rebuilds it from the checkpoint's config."""
    from nmtune.pretrain.encoder import load_pretrained_encoder

    net = SmallResNet(width=4, stem_stride=2)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 16)
    assert net.stem[0].stride == (2, 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 16, 16), dtype=np.float32), np.arange(40) % 4
    cfg = PretrainConfig(n_train=None, n_test=None, epochs=1, width=4, stem_stride=2, augment=False)
    ckpt = pretrain(cfg, data=(x, y, x, y, 4), out=tmp_path / "c.pt", progress=False)
    assert ckpt["config"]["stem_stride"] == 2
    enc = load_pretrained_encoder(tmp_path / "c.pt")
    assert enc.model.stem[0].stride == (2, 2) and enc.encode(x[:3], progress=False).shape == (3, 16)
    with pytest.raises(ValueError, match="stem_stride"):
        PretrainConfig(stem_stride=3)
