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
    with pytest.raises(ValueError, match=r"fractions must be a number > 0 and <= 1; received 10.0\. Use 0.1"):
        config_from_dict({"fractions": [10]})
    with pytest.raises(
        ValueError, match=r"seeds must be an integer >= 0; received 2.5, which has a fraction"
    ):
        config_from_dict({"seeds": [2.5]})  # never truncated to seed 2
    assert config_from_dict({"seeds": [2.0]}).seeds == (2,)
    with pytest.raises(ValueError, match="noise_rates must be a number >= 0 and < 1; received 1.0"):
        GridConfig(noise_rates=(1.0,))
    with pytest.raises(ValueError, match="n_jobs must be an integer >= 1; received 0"):
        GridConfig(n_jobs=0)


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


def test_per_method_params_are_validated_and_reach_the_estimator(tmp_path):
    from nmtune.protocol import example_task, expand_grid, run_one

    cfg = config_from_dict({"methods": ["logreg", {"name": "lp", "params": {"lr": 0.05, "min_steps": 0}}]})
    assert cfg.methods[1] == ("lp", (("lr", 0.05), ("min_steps", 0)))
    assert config_from_dict(cfg.to_dict()) == cfg  # round trip through YAML-like dicts
    specs = expand_grid(cfg.replace(seeds=[0], epochs=1), [example_task(n_train=60)])
    lp = next(s for s in specs if s.method == "lp")
    assert lp.config()["params"] == {"lr": 0.05, "min_steps": 0}
    assert "params" not in next(s for s in specs if s.method == "logreg").config()
    assert run_one(example_task(n_train=60), lp)["status"] == "done"
    with pytest.raises(ValueError, match="Unknown parameter of method 'nmtune' 'lamda'. Did you mean 'lam'"):
        config_from_dict({"methods": [{"name": "nmtune", "params": {"lamda": 0.1}}]})
    with pytest.raises(ValueError, match="Unknown method 'nmtun'"):
        config_from_dict({"methods": [{"name": "nmtun"}]})


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("", "configuration is empty.*--config demo"),
        (
            "epochs: 2.7\nseeds: [0]\n",
            "grid key 'epochs' must be an integer >= 1 or null; received 2.7, which has a fraction",
        ),
        (
            "epochs: five\nseeds: [0]\n",
            "grid key 'epochs' must be an integer >= 1 or null; received str 'five'",
        ),
        ("methods: [lp\nseeds: [0]\n", "is not valid YAML"),
        ("methods: [{nam: lp}]\n", "A methods entry is a name or"),
    ],
)
def test_bad_yaml_configs_name_the_problem(tmp_path, text, pattern):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_config(path)


@pytest.mark.parametrize(
    "grid,pattern",
    [
        ({"encoders": ["glove-50"], "suites": ["r8"], "tasks": ["unknown"]}, "Unknown task .*'reuters-r8'"),
        ({"encoders": ["glov-50"], "suites": ["r8"]}, "Unknown encoder 'glov-50'. Did you mean 'glove-50'"),
        ({"encoders": ["glove-50"], "suites": ["r9"]}, "Unknown suite 'r9'"),
    ],
)
def test_grid_names_are_checked_before_encoding(grid, pattern):
    from nmtune.protocol.feature_tasks import check_grid_names

    with pytest.raises(ValueError, match=pattern):
        check_grid_names(config_from_dict(grid))


def test_text_encoder_on_an_image_suite_is_refused_before_encoding():
    from nmtune.protocol.feature_tasks import suite_feature_tasks

    with pytest.raises(ValueError, match="encodes text inputs but task .* is image"):
        suite_feature_tasks("glove-50", "digits", progress=False)


def test_the_ablations_preset_covers_every_registered_variant():
    from nmtune.protocol.methods import list_methods

    # methods of their own (docs/nmtune-cv.md), including the robust-head heads (not variants of NMTune's loss)
    not_ablations = {"nmtune-cv", "nmtune-cv-1se", "nmtune-cv-ps", "logreg-cv", "logreg-gcv", "logreg-c1"}
    not_ablations |= {"logreg-per-sample", "lpft", "logreg-group-balanced"}
    not_ablations |= {"nmtune-cv-avg", "nmtune-cv-wiseft", "nmtune-cv-path", "nmtune-cv-gb", "nmtune-cv-best"}
    methods = {m if isinstance(m, str) else m[0] for m in load_config("ablations").methods}
    assert set(list_methods()) - not_ablations <= methods
