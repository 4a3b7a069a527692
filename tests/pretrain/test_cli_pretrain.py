"""`nmtune pretrain` with bad input, presets, and the one library call behind it."""

import pytest

from nmtune.cli import main


def _err(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_unknown_architecture_lists_the_registry(capsys, tmp_path):
    err = _err(capsys, ["pretrain", "--arch", "hf-resnet-50", "--out", str(tmp_path / "c.pt")])
    assert "Did you mean 'hf-resnet50'" in err and "timm:<name>" in err


def test_inconsistent_options_are_refused_before_training(capsys, tmp_path):
    out = ["--out", str(tmp_path / "c.pt")]
    assert main(["pretrain", "--arch", "hf-resnet18", "--width", "8"] + out) == 2
    assert "shape the small-resnet only" in capsys.readouterr().err
    assert main(["pretrain", "--config", "imagenet-resnet50"] + out) == 2
    assert "needs --dataset" in capsys.readouterr().err
    assert main(["pretrain", "--config", "no-such-preset"] + out) == 2
    assert "imagenet100-resnet18" in capsys.readouterr().err
    assert main(["pretrain", "--image-size", "32", "--dataset", f"image-folder:{tmp_path}/nope"] + out) == 2
    assert "does not exist" in capsys.readouterr().err
    assert "expected a whole number >= 0" in _err(capsys, ["pretrain", "--checkpoint-every", "-1"] + out)


def test_presets_build_their_runs():
    from nmtune.pretrain.presets import list_pretrain_presets
    from nmtune.pretrain.run import build_run

    assert {"imagenet-resnet50", "imagenet100-resnet18"} <= set(list_pretrain_presets())
    objective, cfg, opts = build_run(
        preset="imagenet-resnet50", dataset="image-folder:/data/in1k?mode=RGB", noise=0.1
    )
    assert (
        objective == "supervised" and cfg.arch == "hf-resnet50" and cfg.image_size == 224 and cfg.noise == 0.1
    )
    assert (
        cfg.epochs == 100 and cfg.warmup_epochs == 5 and opts.channels_last and opts.checkpoint_every == 1000
    )
    _, cfg, opts = build_run(
        preset="imagenet100-resnet18", dataset="x", options={"workers": 2}, epochs=1, warmup_epochs=0
    )
    assert cfg.arch == "hf-resnet18" and cfg.epochs == 1 and opts.workers == 2


def test_a_run_file_may_be_any_yaml(tmp_path):
    from nmtune.pretrain.run import build_run

    (tmp_path / "p.yaml").write_text("objective: contrastive\nconfig: {embed_dim: 8}\nbogus: 1\n")
    with pytest.raises(ValueError, match="Unknown key"):
        build_run(preset=tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(
        "objective: contrastive\nconfig: {embed_dim: 8}\noptions: {workerz: 1}\n"
    )
    with pytest.raises(ValueError, match="Unknown run option"):
        build_run(preset=tmp_path / "p.yaml")
