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
    with pytest.raises(ValueError, match="must be numeric.*--label-column"):
        load_feature_file(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="'nope' not found"):
        load_feature_file(tmp_path / "t.csv", label_column="nope")
    (tmp_path / "h.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="no header row"):
        load_feature_file(tmp_path / "h.csv")
    np.save(tmp_path / "one.npy", np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        load_feature_file(tmp_path / "one.npy")


@pytest.mark.parametrize(
    "content,pattern",
    [
        (b"", "is empty \\(0 bytes\\)"),
        ("truncated", "not a readable .npy"),
        ("reheaded", "not a readable .npy"),
    ],
)
def test_broken_npy_files_are_explained(tmp_path, content, pattern):
    path = tmp_path / "X.npy"
    np.save(path, np.ones((20, 4), dtype=np.float32))
    if content == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif content == "reheaded":
        path.write_bytes(b"\x93NUMPY\x01\x00garbage-header" + path.read_bytes()[30:])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=pattern):
        load_feature_file(path)


@pytest.mark.parametrize("array", [np.array([[1 + 2j, 3j]]), np.array([["a", "b"]], dtype=object)])
def test_object_and_complex_npy_are_refused(tmp_path, array):
    path = tmp_path / "X.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises((TypeError, ValueError), match="real numbers|not a readable"):
        load_feature_file(path)


def test_csv_labels_with_quoted_commas_stay_distinct(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('f0,f1,label\n1,2,"cat, big"\n3,4,"cat, small"\n5,6,dog\n')
    X, y = load_feature_file(path)
    assert X.shape == (3, 2) and list(y) == ["cat, big", "cat, small", "dog"]
