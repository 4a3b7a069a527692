import numpy as np

from nmtune.cache import FeatureCache, get_features
from nmtune.cli import main
from nmtune.datasets import load_dataset
from nmtune.encoders import get_encoder


def test_extract_glove_fills_cache_and_matches_direct_encoding(tmp_path, capsys):
    root = str(tmp_path / "c")
    rc = main(
        [
            "extract",
            "--encoder",
            "glove-50",
            "--dataset",
            "reuters-r8",
            "--split",
            "test",
            "--cache-dir",
            root,
            "--no-progress",
            "--shard-size",
            "1000",
        ]
    )
    assert rc == 0
    assert "reuters-r8 [test]: X (2189, 50)" in capsys.readouterr().out
    enc = get_encoder("glove-50")
    feats = get_features(enc, "reuters-r8", "test", cache=FeatureCache(root), progress=False)
    texts = load_dataset("reuters-r8", "test").inputs[:40]
    np.testing.assert_allclose(
        np.asarray(feats.X[:40]), enc.encode(list(texts), progress=False), rtol=1e-5, atol=1e-6
    )

    assert main(["cache", "list", "--cache-dir", root]) == 0
    assert "glove-50" in capsys.readouterr().out
    assert main(["cache", "verify", "--cache-dir", root]) == 0
    assert main(["cache", "clear", "--cache-dir", root, "--encoder", "glove-50"]) == 0
    assert FeatureCache(root).records() == []


def test_extract_unknown_dataset_is_a_clean_error(tmp_path, capsys):
    rc = main(["extract", "--encoder", "glove-50", "--dataset", "reuters-r9", "--cache-dir", str(tmp_path)])
    assert rc == 2
    assert "Did you mean 'reuters-r8'" in capsys.readouterr().err


def test_extract_accepts_capped_names(tmp_path, capsys):
    from nmtune.datasets import cap_indices

    assert main(["extract", "--encoder", "glove-50", "--dataset", "cap:40:reuters-r8", "--split", "train",
                 "--cache-dir", str(tmp_path), "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    n = len(cap_indices(load_dataset("reuters-r8", "train").labels, 40))
    assert f"cap:40:reuters-r8 [train]: X ({n}, 50)" in out
