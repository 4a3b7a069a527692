"""Checkpoints written before architectures, streaming and resume existed still load, encode and match."""

import numpy as np
import pytest
import torch

from nmtune.pretrain import ContrastiveConfig, PretrainConfig, SmallResNet, config_matches, load_checkpoint

#: The PretrainConfig fields (and defaults) of the earlier format, as its checkpoints carry them.
OLD_SUPERVISED = {"dataset": "glyphs-pretrain:300", "noise": 0.1, "seed": 2, "n_train": None, "n_test": None,
                  "subset_seed": 0, "epochs": 10, "batch_size": 128, "lr": 0.1, "momentum": 0.9,
                  "weight_decay": 5e-4, "augment": False, "arch": "resnet", "width": 4, "depth": 1,
                  "norm": "batch", "stem_stride": 2, "amp": False}  # fmt: skip
OLD_CONTRASTIVE = {"dataset": "glyphs-pretrain:300", "noise": 0.2, "seed": 0, "n_train": None, "n_test": None,
                   "subset_seed": 0, "epochs": 10, "batch_size": 256, "optimizer": "adamw", "lr": 1e-3,
                   "weight_decay": 0.05, "arch": "resnet", "width": 4, "depth": 1, "norm": "batch",
                   "stem_stride": 2, "text_encoder": "glove-50", "text_hidden": 8, "embed_dim": 6,
                   "temperature": 0.07, "amp": False, "objective": "contrastive"}  # fmt: skip


def _old_supervised(path):
    torch.manual_seed(0)
    net = SmallResNet(width=4, stem_stride=2)
    ckpt = {  # exactly the keys the earlier trainer wrote
        "format": "nmtune-pretrain-v1", "state_dict": net.state_dict(), "config": dict(OLD_SUPERVISED),
        "noise": {"kind": "symmetric", "realised_rate": 0.1}, "realised_noise_rate": 0.1, "seed": 2,
        "clean_test_accuracy": 0.5, "noisy_train_accuracy": 0.5, "n_classes": 300, "feature_dim": 16,
        "input_shape": [32, 32], "history": [], "world_size": 1, "wall_time_s": 1.0, "torch_version": "2.13.0",
    }  # fmt: skip
    torch.save(ckpt, path)
    return net.eval()


def test_an_old_supervised_checkpoint_loads_matches_and_encodes_as_before(tmp_path):
    from nmtune.encoders.base import make_fingerprint, state_dict_digest
    from nmtune.pretrain.encoder import load_pretrained_encoder

    net = _old_supervised(tmp_path / "old.pt")
    ckpt = load_checkpoint(tmp_path / "old.pt")
    values = {k: v for k, v in OLD_SUPERVISED.items() if k not in ("noise", "seed")}
    assert config_matches(ckpt["config"], PretrainConfig(**values, noise=0.1, seed=2))
    assert PretrainConfig(**values, noise=0.1, seed=2).to_dict() != ckpt["config"]  # why `==` no longer works
    assert not config_matches(ckpt["config"], PretrainConfig(**values, noise=0.2, seed=2))
    assert not config_matches(ckpt["config"], PretrainConfig(**values, noise=0.1, seed=2, image_size=32))
    assert not config_matches(
        dict(ckpt["config"], brand_new_key=1), PretrainConfig(**values, noise=0.1, seed=2)
    )
    enc = load_pretrained_encoder(tmp_path / "old.pt")
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    from nmtune.datasets.images import resize_images

    with torch.no_grad():
        ref = net(torch.from_numpy((resize_images(x, 32) - 0.5) / 0.5)[:, None]).numpy()
    np.testing.assert_allclose(enc.encode(x, progress=False), ref, rtol=1e-5, atol=1e-6)
    old_fingerprint = make_fingerprint({  # as the earlier encoder computed it: cached features stay valid
        "encoder_class": "PretrainedEncoder", "dim": 16, "kind": "nmtune-pretrained",
        "weights": state_dict_digest(ckpt["state_dict"]), "config": ckpt["config"],
        "preprocessing": {"gray": "mean of RGB", "resize": [32, 32], "normalise": "(x-0.5)/0.5"},
    })  # fmt: skip
    assert enc.fingerprint == old_fingerprint


def test_an_old_contrastive_checkpoint_still_classifies_zero_shot(tmp_path):
    from nmtune.pretrain import zero_shot_predict
    from nmtune.pretrain.towers import build_text_tower

    torch.manual_seed(0)
    net = SmallResNet(width=4, stem_stride=2)
    image_proj, text_proj = torch.nn.Linear(16, 6), build_text_tower(50, 6, 8)
    from nmtune.encoders import get_encoder

    glove = get_encoder("glove-50")
    ckpt = {
        "format": "nmtune-pretrain-v1", "state_dict": net.state_dict(), "config": dict(OLD_CONTRASTIVE),
        "noise": {}, "realised_noise_rate": 0.2, "effective_noise_rate": 0.19, "seed": 0, "n_classes": 2,
        "feature_dim": 16, "input_shape": [32, 32], "image_projection": image_proj.state_dict(),
        "text_projection": text_proj.state_dict(), "text_hidden": 8, "logit_scale": 2.0,
        "text_encoder": {"name": glove.name, "fingerprint": glove.fingerprint}, "class_names": ["a", "b"],
        "history": [], "world_size": 1, "torch_version": "2.13.0", "zero_shot_test_accuracy": 0.5,
        "clean_test_accuracy": 0.5, "noisy_train_accuracy": 0.5, "wall_time_s": 1.0,
    }  # fmt: skip
    torch.save(ckpt, tmp_path / "clip.pt")
    loaded = load_checkpoint(tmp_path / "clip.pt")
    values = {k: v for k, v in OLD_CONTRASTIVE.items() if k not in ("noise", "seed")}
    assert config_matches(loaded["config"], ContrastiveConfig(**values, noise=0.2, seed=0))
    x = np.random.default_rng(0).random((4, 32, 32), dtype=np.float32)
    captions = ["cat", "dog", "tree"]
    with torch.no_grad():
        img = torch.nn.functional.normalize(
            image_proj(net.eval()(torch.from_numpy((x - 0.5) / 0.5)[:, None])), dim=1
        )
        feats = torch.from_numpy(glove.encode(captions, progress=False))
        txt = torch.nn.functional.normalize(text_proj(feats), dim=1)
    assert np.array_equal(
        zero_shot_predict(tmp_path / "clip.pt", x, captions), (img @ txt.T).argmax(1).numpy()
    )


@pytest.mark.parametrize("cls", [PretrainConfig, ContrastiveConfig])
def test_current_configs_match_themselves_and_alias_resnet(cls):
    cfg = cls(arch="resnet")
    assert cfg.arch == "small-resnet" and config_matches(cfg.to_dict(), cfg)
    assert config_matches(dict(cfg.to_dict(), arch="resnet"), cfg)
    assert not config_matches("not a dict", cfg)
