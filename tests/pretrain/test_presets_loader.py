"""Pre-training presets are read by the shared configuration loader (nmtune._internal.config)."""

import pytest

from nmtune._internal.config import ConfigError
from nmtune.pretrain.presets import list_pretrain_presets, load_pretrain_preset


def _write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_packaged_presets_read_with_their_names():
    for name in list_pretrain_presets():
        preset = load_pretrain_preset(name)
        assert preset.name == name and preset.required == ("dataset",) and preset.config["epochs"] == 100


def test_values_are_coerced_by_the_config_fields(tmp_path):
    preset = load_pretrain_preset(
        _write(tmp_path, "config:\n  lr: 3e-4\n  epochs: '2'\noptions: {workers: 1.0}\n")
    )
    assert preset.name == "run" and preset.objective == "supervised"
    assert preset.config == {"lr": 3e-4, "epochs": 2} and isinstance(preset.config["lr"], float)
    assert preset.options == {"workers": 1} and isinstance(preset.options["workers"], int)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("config:\n  lr: 1\n  lr: 2\n", "duplicate key 'lr' on lines 2 and 3"),
        ("objectiv: contrastive\n", r"line 1: Unknown key 'objectiv'. Did you mean 'objective'"),
        ("options: {workerz: 1}\n", "options: Unknown run option 'workerz'. Did you mean 'workers'"),
        ("config:\n  epochs: ten\n", "config: epochs must be an integer; received str 'ten'"),
        ("config: [1]\n", "'config' must be a mapping"),
        ("objective: supervisd\n", "objective must be 'supervised' or 'contrastive'"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, pattern):
    path = _write(tmp_path, text)
    with pytest.raises((ConfigError, ValueError), match=pattern) as info:
        load_pretrain_preset(path)
    assert str(path) in str(info.value)


def test_an_unknown_preset_name_suggests_one():
    with pytest.raises(FileNotFoundError, match="Did you mean 'imagenet-resnet50'"):
        load_pretrain_preset("imagenet-resnet5")
