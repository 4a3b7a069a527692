"""``nmtune --help`` stays fast: building the parser imports neither numpy, torch nor scikit-learn."""

import subprocess
import sys


def test_building_the_parser_imports_no_torch_or_sklearn():
    code = (
        "import sys; from nmtune.cli import build_parser; build_parser(); "
        "heavy = sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib', 'numpy', 'httpx') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_top_level_heads_are_still_importable_lazily():
    import nmtune

    assert nmtune.NMTune.__name__ == "NMTune"
    assert "NMTune" in dir(nmtune)


def test_counts_must_be_positive_on_the_command_line(capsys):
    import pytest

    from nmtune.cli import main

    for argv in (
        ["extract", "--encoder", "glove-50", "--dataset", "reuters-r8", "--shard-size", "0"],
        ["run", "--config", "demo", "--n-jobs", "-1"],
        ["tune", "x.npz", "--out", "m.pt", "--epochs", "two"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "expected a whole number >= 1" in capsys.readouterr().err


def test_cache_refuses_a_zero_shard_size(tmp_path):
    import pytest

    from nmtune.cache import FeatureCache, get_features
    from nmtune.encoders import get_encoder

    with pytest.raises(ValueError, match="shard_size must be a positive number of rows; received 0"):
        get_features(
            get_encoder("glove-50"), "reuters-r8", "test", cache=FeatureCache(tmp_path), shard_size=0
        )
