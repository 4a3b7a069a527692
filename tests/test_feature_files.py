"""Feature files: round trips in every format, label detection, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from nmtune.feature_files import load_feature_file, save_feature_file


@pytest.fixture
def data():
    r = np.random.default_rng(0)
    return r.normal(size=(25, 6)).astype(np.float32), r.integers(0, 3, size=25)


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_round_trip_with_labels(tmp_path, data, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    X, y = data
    path = save_feature_file(tmp_path / f"f{suffix}", X, y)
    X2, y2 = load_feature_file(path)
    assert X2.dtype == np.float32 and X2.shape == X.shape
    np.testing.assert_array_equal(X2, X)
    assert y2.dtype == np.int64
    np.testing.assert_array_equal(y2, y)


def test_npy_is_memmap_without_labels(tmp_path, data):
    X, _ = data
    path = save_feature_file(tmp_path / "f.npy", X)
    X2, y2 = load_feature_file(path)
    assert isinstance(X2, np.memmap) and y2 is None
    np.testing.assert_array_equal(X2, X)
    np.save(tmp_path / "d.npy", X.astype(np.float64))
    X3, _ = load_feature_file(tmp_path / "d.npy")
    assert X3.dtype == np.float32


def test_string_labels_and_named_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b,class\n1,2,"cat"\n3,4.5,dog\n')
    X, y = load_feature_file(path, label_column="class")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4.5]])
    assert y.tolist() == ["cat", "dog"]


def test_npz_alternative_keys(tmp_path, data):
    X, y = data
    np.savez(tmp_path / "a.npz", features=X, labels=y)
    X2, y2 = load_feature_file(tmp_path / "a.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    np.savez(tmp_path / "b.npz", features=X, target=y)
    assert load_feature_file(tmp_path / "b.npz")[1] is None
    np.testing.assert_array_equal(load_feature_file(tmp_path / "b.npz", label_column="target")[1], y)


def test_parquet_list_column(tmp_path, data):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X, y = data
    pq.write_table(pa.table({"embedding": list(X), "label": y}), tmp_path / "e.parquet")
    X2, y2 = load_feature_file(tmp_path / "e.parquet")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_errors(tmp_path, data):
    X, y = data
    with pytest.raises(ValueError, match=r"\.npy, \.npz, \.csv, \.parquet"):
        load_feature_file(tmp_path / "f.txt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_feature_file(tmp_path / "missing.npy")
    np.savez(tmp_path / "bad.npz", data=X)
    with pytest.raises(ValueError, match=r"\['X', 'features'\].*keys found: \['data'\]"):
        load_feature_file(tmp_path / "bad.npz")
    save_feature_file(tmp_path / "f.npy", X)
    with pytest.raises(ValueError, match=r"\.npz"):
        load_feature_file(tmp_path / "f.npy", label_column="y")
    with pytest.raises(ValueError, match="cannot hold labels"):
        save_feature_file(tmp_path / "g.npy", X, y)
    with pytest.raises(ValueError, match="must match"):
        save_feature_file(tmp_path / "g.npz", X, y[:3])
    (tmp_path / "t.csv").write_text("a,b,name\n1,2,x\n")
    with pytest.raises(ValueError, match="must be numeric.*--labels-column"):
        load_feature_file(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="'nope' not found"):
        load_feature_file(tmp_path / "t.csv", label_column="nope")
    (tmp_path / "h.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="no header row"):
        load_feature_file(tmp_path / "h.csv")
    np.save(tmp_path / "one.npy", np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        load_feature_file(tmp_path / "one.npy")
