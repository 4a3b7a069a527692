"""The one configuration loader: YAML mappings into frozen dataclasses (nmtune._internal.config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from nmtune._internal.config import (
    ConfigError,
    coerce,
    config_from_mapping,
    line_of,
    list_presets,
    load_config,
    parse_overrides,
    preset_path,
    read_yaml,
)


@dataclass(frozen=True)
class Inner:
    depth: int = 1
    name: str = "a"


@dataclass(frozen=True)
class Sample:
    lr: float = 1e-3
    epochs: int | None = None
    seeds: tuple[int, ...] = (0,)
    name: str = "x"
    flag: bool = False
    weights: Mapping[str, float] = field(default_factory=dict)
    inner: Inner = Inner()
    pairs: tuple[tuple[str, str], ...] = ()
    width: int = field(default=4, metadata={"convert": lambda v: int(v) * 2})

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0; received {self.lr}.")


def _write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_numeric_strings_and_scalars_are_coerced_as_users_mean_them():
    cfg = config_from_mapping(
        Sample,
        {
            "lr": "3e-4",
            "epochs": "1e3",
            "seeds": 2,
            "weights": {"a": "1"},
            "inner": {"depth": "4"},
            "pairs": [["a", "b"]],
        },
    )
    assert cfg == Sample(
        lr=3e-4, epochs=1000, seeds=(2,), weights={"a": 1.0}, inner=Inner(4), pairs=(("a", "b"),)
    )
    assert isinstance(cfg.epochs, int) and isinstance(cfg.lr, float)
    assert config_from_mapping(Sample, {"epochs": 3.0, "flag": "yes"}) == Sample(epochs=3, flag=True)


def test_yaml_1_1_exponent_without_dot_is_read_as_a_number(tmp_path):
    # PyYAML (YAML 1.1) reads 3e-4 as the string '3e-4'; the loader gives the float the user meant
    p = _write(tmp_path, "lr: 3e-4\nseeds: [0, 1]\n")
    assert read_yaml(p)["lr"] == "3e-4"
    assert load_config(Sample, p).lr == pytest.approx(3e-4)


@pytest.mark.parametrize(
    ("mapping", "pattern"),
    [
        ({"lr": "fast"}, r"lr must be a number; received str 'fast'"),
        ({"epochs": 2.5}, r"epochs must be an integer; received 2.5, which has a fraction"),
        ({"seeds": [0, "x"]}, r"seeds\[1\] must be an integer; received str 'x'"),
        ({"name": True}, r"name must be a string; received boolean True .*quote the word"),
        ({"inner": {"depth": "z"}}, r"inner.depth must be an integer"),
        (
            {"inner": {"dept": 1}},
            r"inner: Unknown Inner key 'dept'. Did you mean 'depth'",
        ),
        ({"inner": 3}, r"inner must be a mapping of Inner keys"),
        ({"weights": {"a": "q"}}, r"weights.a must be a number"),
        ({"weights": [1]}, r"weights must be a mapping"),
        ({"pairs": [["a"]]}, r"pairs\[0\] must hold 2 values"),
        ({"lrr": 1}, r"Unknown Sample key 'lrr'. Did you mean 'lr'"),
        ({"lr": None}, r"lr must not be null"),
        ({"lr": -1}, r"lr must be > 0; received -1.0"),
        ({"seeds": {"a": 1}}, r"seeds must be a list"),
    ],
)
def test_bad_values_name_the_key_path(mapping, pattern):
    with pytest.raises(ValueError, match=pattern):
        config_from_mapping(Sample, mapping, where="f.yaml")


def test_errors_name_the_file_and_line(tmp_path):
    p = _write(tmp_path, "lr: 0.1\nseeds: [0]\n\nepochz: 3\n")
    with pytest.raises(
        ConfigError, match=rf"{p}, line 4: Unknown Sample key 'epochz'. Did you mean 'epochs'"
    ):
        load_config(Sample, p)
    p = _write(tmp_path, "lr: 0.1\ninner:\n  depth: deep\n")
    with pytest.raises(ValueError, match=r"line 3: inner.depth must be an integer; received str 'deep'"):
        load_config(Sample, p)


@pytest.mark.parametrize(
    "text",
    ["lr: 0.1\nseeds: [0]\nlr: 0.2\n", "inner:\n  depth: 1\n  depth: 2\n", "a: {x: 1, x: 2}\n"],
)
def test_duplicate_keys_are_refused_with_their_lines(tmp_path, text):
    p = _write(tmp_path, text)
    with pytest.raises(ValueError, match=r"duplicate key '(lr|depth|x)' on lines \d+ and \d+"):
        read_yaml(p)


def test_read_yaml_records_lines_and_handles_bom_and_empty_files(tmp_path):
    data = read_yaml(_write(tmp_path, "\ufeffa: 1\n\nb:\n  c: 2\n"))
    assert data == {"a": 1, "b": {"c": 2}} and line_of(data, "b") == 3 and line_of(data["b"], "c") == 4
    assert read_yaml(_write(tmp_path, "")) == {}
    with pytest.raises(ValueError, match="not UTF-8 text.*iconv"):
        read_yaml(_latin1(tmp_path))
    with pytest.raises(ValueError, match="must hold a mapping"):
        read_yaml(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(FileNotFoundError, match="No configuration file"):
        read_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="is a folder"):
        read_yaml(tmp_path)


def _latin1(tmp_path):
    p = tmp_path / "latin.yaml"
    p.write_bytes("name: café\n".encode("latin-1"))
    return p


def test_field_converters_receive_the_value_and_errors_name_the_key():
    assert config_from_mapping(Sample, {"width": "3"}).width == 6
    with pytest.raises(ValueError, match=r"width: invalid literal"):
        config_from_mapping(Sample, {"width": "three"})


def test_presets_by_name_and_defaults_and_overrides(tmp_path):
    assert {"demo", "reference-minilm-20ng"} <= set(list_presets("nmtune.configs"))
    assert "glyphs-tiny" in list_presets("nmtune.configs.studies")
    assert preset_path("nmtune.configs", "demo").name == "demo.yaml"
    with pytest.raises(FileNotFoundError, match="Did you mean 'demo'.*preset name: ablations, demo"):
        load_config(Sample, "dem", presets_package="nmtune.configs")
    assert load_config(Sample) == Sample()
    over = parse_overrides(["seeds=[1, 2]", "lr=3e-4", "name=cpu"])
    assert load_config(Sample, None, overrides={**over, "epochs": None}) == Sample(
        seeds=(1, 2), lr=3e-4, name="cpu"
    )
    p = _write(tmp_path, "lr: 0.5\nseeds: 4\n")
    assert load_config(Sample, p, overrides={"seeds": [7]}) == Sample(lr=0.5, seeds=(7,))


@pytest.mark.parametrize(
    ("items", "pattern"),
    [
        (["seeds"], "KEY=VALUE"),
        (["=3"], "KEY=VALUE"),
        (["a=1", "a=2"], "twice"),
        (["a=[1"], "not a valid YAML"),
    ],
)
def test_bad_overrides(items, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_overrides(items)


def test_coerce_alone():
    assert coerce("5", int | None) == 5 and coerce(None, int | None) is None
    assert coerce(["1", 2], tuple[float, ...]) == (1.0, 2.0)
    with pytest.raises(ValueError, match=r"^n must be an integer"):
        coerce("x", int, "n")


def test_a_mapping_is_required():
    with pytest.raises(TypeError, match="must be built from a mapping"):
        config_from_mapping(Sample, ["lr"])
