import pytest

from nmtune.protocol.config import GridConfig, config_from_dict, list_presets, load_config


def test_yaml_into_frozen_dataclass(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("methods: [lp, nmtune]\nseeds: 3\nfractions: [0.1, 1]\npairs: [[minilm, r8]]\n")
    cfg = load_config(p)
    assert cfg.methods == ("lp", "nmtune") and cfg.seeds == (3,) and cfg.fractions == (0.1, 1.0)
    assert cfg.encoder_suite_pairs() == (("minilm", "r8"),)
    with pytest.raises(AttributeError):
        cfg.seeds = (1,)


def test_unknown_keys_name_the_valid_keys(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'seeds'.*'noise_rates'"):
        config_from_dict({"seed": [0]})
    p = tmp_path / "bad.yaml"
    p.write_text("method: [lp]\n")
    with pytest.raises(ValueError, match=str(p)):
        load_config(p)


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="Did you mean 'val'"):
        GridConfig(selection=("vall",))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        config_from_dict({"fractions": [10]})


def test_presets_load():
    assert {"demo", "reference-minilm-20ng", "ablations", "downstream-noise"} <= set(list_presets())
    for name in list_presets():
        load_config(name)
    demo = load_config("demo")
    assert set(demo.methods) == {"lp", "mlp", "nmtune", "logreg"} and len(demo.seeds) == 3
    with pytest.raises(FileNotFoundError, match="preset name"):
        load_config("no-such-grid")


def test_bad_device_fails_at_config_time_not_as_failed_runs():
    with pytest.raises(ValueError, match="Unknown device 'gpu'.*Did you mean 'cpu'"):
        GridConfig(device="gpu")
