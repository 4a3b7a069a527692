"""npy: precomputed feature arrays."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nmtune.encoders import get_encoder


@pytest.fixture
def array_file(tmp_path, rng):
    X = rng.normal(size=(10, 7))
    path = tmp_path / "feats.npy"
    np.save(path, X)
    return path, X


def test_index_mode(array_file):
    path, X = array_file
    enc = get_encoder(f"npy:{path}")
    assert enc.dim == 7 and enc.n_rows == 10
    out = enc.encode([3, 0, 9], progress=False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X[[3, 0, 9]].astype(np.float32))
    np.testing.assert_allclose(enc.encode(np.arange(10), batch_size=3, progress=False), X, rtol=1e-6)
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        enc.encode([10])
    with pytest.raises(TypeError, match="match='position'"):
        enc.encode(["a", "b"])


def test_position_mode(array_file):
    path, X = array_file
    enc = get_encoder(f"npy:{path}", match="position", modality="image")
    np.testing.assert_allclose(enc.encode([f"t{i}" for i in range(10)], progress=False), X, rtol=1e-6)
    with pytest.raises(ValueError, match="exactly 10 inputs"):
        enc.encode(["a"])


def test_fingerprint_follows_file_content(array_file):
    path, X = array_file
    a = get_encoder(f"npy:{path}").fingerprint
    assert get_encoder(f"npy:{path}").fingerprint == a
    np.save(path, X + 1)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a new mtime even on coarse clocks
    assert get_encoder(f"npy:{path}").fingerprint != a


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        get_encoder(f"npy:{tmp_path / 'missing.npy'}")
    np.save(tmp_path / "x.npy", np.zeros(5))
    with pytest.raises(ValueError, match="2-D"):
        get_encoder(f"npy:{tmp_path / 'x.npy'}")
