"""``nmtune cache verify``: every broken entry is counted and reported."""

import pytest

from nmtune.cache import FeatureCache, get_features
from nmtune.encoders import get_encoder


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """One real cache entry (GloVe-50 features of 30 Reuters documents), copied by each test."""
    root = tmp_path_factory.mktemp("cache")
    get_features(
        get_encoder("glove-50"), "cap:30:reuters-r8", "test", cache=FeatureCache(root), progress=False
    )
    return next(p for p in root.iterdir() if p.is_dir())


@pytest.mark.parametrize("damage", ["empty_X", "bad_record", "no_keys"])
def test_cache_verify_counts_and_reports_every_broken_entry(entry, tmp_path, damage, capsys):
    import shutil

    from nmtune.cli import main

    cache = FeatureCache(tmp_path)
    folder = tmp_path / entry.name
    shutil.copytree(entry, folder)
    assert cache.verify() == []
    if damage == "empty_X":
        (folder / "X.npy").write_bytes(b"")
    else:
        (folder / "record.json").write_text("{not json" if damage == "bad_record" else "{}")
    assert cache.verify() == [str(folder)]
    assert main(["cache", "verify", "--cache-dir", str(tmp_path)]) == 1
    assert "1 entries checked, 1 corrupted" in capsys.readouterr().out
