"""The one registry design shared by encoders, datasets and methods."""

from __future__ import annotations

import pytest

from nmtune._internal.registry import Registry, import_attr, resolve


def test_names_prefixes_filter_and_lookup():
    reg = Registry("widget")
    reg.register("alpha", 1)
    reg.register("alpine", 2)
    reg.register_prefix("file", 3, "file:<path>")
    assert reg.names() == ["alpha", "alpine"]
    assert reg.names("alp*") == ["alpha", "alpine"]
    assert reg.names("alph?") == ["alpha"]
    assert reg.lookup("alpha") == (1, None)
    assert reg.lookup("file:a:b") == (3, "a:b")  # only the first colon splits
    assert reg.patterns() == ["file:<path>"]
    assert "alpine" in reg and "beta" not in reg and 3 not in reg


def test_unknown_name_says_did_you_mean_and_lists_patterns():
    reg = Registry("widget")
    reg.register("alpha", 1)
    reg.register_prefix("file", 3, "file:<path>")
    with pytest.raises(ValueError, match=r"Unknown widget 'alpah'\. Did you mean 'alpha'\?.*'file:<path>'"):
        reg.lookup("alpah")
    with pytest.raises(TypeError, match="non-empty string"):
        reg.lookup("")


def test_duplicates_and_bad_names_are_refused():
    reg = Registry("widget")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 2)
    reg.register("a", 2, overwrite=True)
    assert reg.lookup("a") == (2, None)
    with pytest.raises(ValueError, match="without ':'"):
        reg.register("a:b", 1)
    with pytest.raises(ValueError, match="without ':'"):
        reg.register_prefix("x:", 1)
    reg.unregister("a")
    assert "a" not in reg


def test_loaders_run_once_before_the_first_lookup_and_again_after_a_failure():
    calls = []
    reg = Registry("widget", loaders=[lambda: (calls.append(1), reg.register("late", 5))])
    assert reg.lookup("late") == (5, None)
    reg.names()
    assert calls == [1]

    def failing():
        raise RuntimeError("broken plugin")

    reg2 = Registry("widget", loaders=[failing])
    for _ in range(2):  # a failed loader is not silently forgotten
        with pytest.raises(RuntimeError, match="broken plugin"):
            reg2.names()


def test_entry_points_register_the_upper_packages_prefixes():
    from nmtune.encoders.registry import ENCODERS

    table = dict(ENCODERS.prefix_items())
    assert table["api"] == "nmtune.api.client:load_api_encoder"
    assert table["pretrained"] == "nmtune.pretrain.encoder:load_pretrained_encoder"


def test_lazy_entries_name_the_missing_part():
    assert resolve("math:sqrt")(4.0) == 2.0
    assert resolve(len) is len
    with pytest.raises(ModuleNotFoundError, match="module 'nmtune.nope' is missing"):
        import_attr("nmtune.nope:x")
    with pytest.raises(AttributeError, match="'math' has no 'nope'"):
        import_attr("math:nope")
    with pytest.raises(ValueError, match="'module:attribute'"):
        import_attr("math")
