"""Pre-training on streamed RGB images: transformers backbones, any input size, exact noise, extraction."""

import numpy as np
import pytest
import torch

from nmtune.pretrain import PretrainConfig, TrainOptions, load_checkpoint, pretrain


def _cfg(root, **kw):
    base = dict(dataset=f"image-folder:{root}?mode=RGB", image_size=32, noise=0.25, epochs=1, batch_size=24,
                n_train=None, n_test=None, width=4)  # fmt: skip
    base.update(kw)
    return PretrainConfig(**base)


@pytest.mark.parametrize(("arch", "dim"), [("hf-resnet18", 512), ("hf-resnet50", 2048), ("hf-vit-s16", 384)])
def test_cli_pretrains_a_transformers_backbone_on_an_rgb_folder(rgb_folder, tmp_path, capsys, arch, dim):
    from nmtune.cli import main
    from nmtune.encoders import get_encoder

    out = tmp_path / "c.pt"
    argv = ["pretrain", "--dataset", f"image-folder:{rgb_folder}?mode=RGB", "--image-size", "32", "--arch", arch,
            "--noise", "0.25", "--epochs", "1", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert f"{arch}, D = {dim}, realised noise 25.00 %" in capsys.readouterr().out
    ck = load_checkpoint(out)
    assert ck["realised_noise_rate"] == 0.25 and ck["noise"]["n_flipped"] == round(0.25 * 72)  # exact count
    assert np.allclose(np.sum(ck["noise"]["transition"], axis=1), 1.0)  # the transition matrix is recorded
    assert (
        ck["preprocessing"]["channels"] == 3
        and ck["input_shape"] == [32, 32]
        and ck["backbone"]["arch"] == arch
    )
    enc = get_encoder(f"pretrained:{out}")
    rgb = np.random.default_rng(0).integers(0, 256, (3, 50, 41, 3), dtype=np.uint8)  # another size
    assert enc.encode(rgb, progress=False).shape == (3, dim)
    assert enc.encode(rgb[..., 0], progress=False).shape == (3, dim)  # grayscale repeated to RGB


@pytest.fixture(scope="module")
def small_ckpt(rgb_folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "s.pt"
    return path, pretrain(_cfg(rgb_folder, noise=0.1), out=path, progress=False, device="cpu")


def test_encoder_features_equal_the_plain_forward_and_streamed_extraction(small_ckpt, rgb_folder):
    from nmtune.datasets.image_sources import open_image_source
    from nmtune.datasets.image_transforms import CROP_RATIO
    from nmtune.pretrain.encoder import load_pretrained_encoder
    from nmtune.pretrain.features import extract_features

    enc = load_pretrained_encoder(small_ckpt[0])
    src = open_image_source(f"image-folder:{rgb_folder}?mode=RGB", "test")
    files = [f"{src.root}/{p.decode()}" for p in src.paths]
    feats = enc.encode(files, batch_size=5, progress=False)
    # slow reference: PIL decode, resize the shorter side to round(32 / 0.875) = 37, central 32 x 32, normalise
    from PIL import Image

    ref = []
    for f in files:
        x = torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1)[None].float()
        x = (
            torch.nn.functional.interpolate(x, size=(37, 37), mode="bilinear", antialias=True)
            .round()
            .clamp(0, 255)
        )
        x = x[:, :, 2:34, 2:34] / 255.0
        mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
        ref.append((x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))
    assert round(32 / CROP_RATIO) == 37
    with torch.no_grad():
        ref = enc.model(torch.cat(ref)).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-5)
    got = extract_features(
        small_ckpt[0], f"image-folder:{rgb_folder}", "test", batch_size=7, workers=0, progress=False
    )
    np.testing.assert_allclose(got.X, feats, rtol=1e-4, atol=1e-5)  # decoded as RGB although the name says L
    assert np.array_equal(got.y, src.labels) and got.class_names == src.class_names


def test_noisy_labels_follow_the_sample_index(small_ckpt, rgb_folder):
    from nmtune.noise import symmetric_noise
    from nmtune.pretrain.data import open_stream_data

    stream = open_stream_data(_cfg(rgb_folder, noise=0.1))
    clean = stream.train.labels[stream.train_rows]
    _, report = symmetric_noise(clean, 0.1, n_classes=len(stream.class_names), random_state=0)
    assert small_ckpt[1]["noise"]["n_flipped"] == report.n_flipped == round(0.1 * len(clean))


def test_gradient_accumulation_equals_the_whole_batch_with_group_norm(rgb_folder):
    cfg = _cfg(rgb_folder, arch="small-resnet", norm="group", epochs=2, batch_size=12, n_train=36, lr=0.1)
    one = pretrain(cfg, progress=False, device="cpu")
    three = pretrain(cfg, progress=False, device="cpu", options=TrainOptions(grad_accum=3, workers=1))
    for k, v in one["state_dict"].items():
        torch.testing.assert_close(three["state_dict"][k], v, rtol=1e-4, atol=1e-5)
    assert three["grad_accum"] == 3


def test_tensorboard_logs_or_says_why_not(rgb_folder, tmp_path, capsys, monkeypatch):
    cfg = _cfg(rgb_folder, arch="small-resnet", batch_size=8, n_train=32)
    opts = TrainOptions(log_dir=str(tmp_path / "tb"), log_every=2)
    if _has_tensorboard():
        pretrain(cfg, progress=False, device="cpu", options=opts)
        assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    import builtins

    real = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    ck = pretrain(cfg, progress=False, device="cpu", options=TrainOptions(log_dir=str(tmp_path / "tb2")))
    assert "TensorBoard logging is off" in capsys.readouterr().err and ck["history"]


def _has_tensorboard():
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True
