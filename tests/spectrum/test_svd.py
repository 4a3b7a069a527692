"""Streaming singular values against numpy.linalg.svd (the slow reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _reference import svd_reference as _reference

from nmtune.spectrum import singular_values


def _graded(n, d, seed=0, low=-6):
    """Features with singular values spread over 10^0 .. 10^low, plus a large offset (hard for centring)."""
    r = np.random.default_rng(seed)
    u, _ = np.linalg.qr(r.normal(size=(n, min(n, d))))
    v, _ = np.linalg.qr(r.normal(size=(d, min(n, d))))
    s = np.logspace(0, low, min(n, d))
    return (u * s) @ v.T + 5.0


OPTIONS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize(("center", "normalize_rows"), OPTIONS)
@pytest.mark.parametrize("shape", [(600, 48), (48, 600), (64, 64)])
@pytest.mark.parametrize("method", ["svd", "tsqr"])
def test_exact_methods_match_numpy_to_1e6_relative(shape, method, center, normalize_rows):
    """svd and tsqr: every singular value above 1e-9 sigma_1 within 1e-6 relative (graded spectrum)."""
    X = _graded(*shape)
    ref = _reference(X, center, normalize_rows)
    s = singular_values(X, center=center, normalize_rows=normalize_rows, method=method, chunk_size=37)
    assert s.shape == (min(shape),)
    keep = ref > 1e-9 * ref[0]  # below that both are at the level of rounding (eps * sigma_1)
    np.testing.assert_allclose(s[keep], ref[keep], rtol=1e-6)
    np.testing.assert_allclose(s, ref, rtol=0, atol=1e-12 * ref[0])


@pytest.mark.parametrize(("center", "normalize_rows"), OPTIONS)
def test_gram_accuracy_is_relative_to_sigma_1(center, normalize_rows):
    """gram: every value within 1e-9 sigma_1 (the refined small ones included; see test_fast_gram.py)."""
    X = _graded(800, 60)
    ref = _reference(X, center, normalize_rows)
    s = singular_values(X, center=center, normalize_rows=normalize_rows, method="gram", chunk_size=100)
    np.testing.assert_allclose(s, ref, rtol=0, atol=1e-9 * ref[0])
    top = ref > 1e-3 * ref[0]
    np.testing.assert_allclose(s[top], ref[top], rtol=1e-6)


def test_gram_refinement_recovers_the_small_values(monkeypatch):
    """Without the projected second pass the Gram loses values near 1e-7 sigma_1; with it they are exact."""
    import nmtune.spectrum.svd as svd_mod

    X = _graded(500, 40, low=-7)
    ref = _reference(X)
    tsqr = singular_values(X, method="tsqr")
    gram = singular_values(X, method="gram")
    assert np.max(np.abs(tsqr - ref) / ref) < 1e-6
    assert np.max(np.abs(gram - ref) / ref) < 1e-4
    np.testing.assert_allclose(gram, ref, rtol=0, atol=1e-11 * ref[0])
    monkeypatch.setattr(svd_mod, "_REFINE_BELOW", 0.0)
    unrefined = singular_values(X, method="gram")
    assert np.max(np.abs(unrefined - ref) / ref) > 1e-3


@pytest.mark.parametrize(("center", "normalize_rows"), OPTIONS)
@pytest.mark.parametrize("method", ["tsqr", "gram"])
def test_memmap_is_streamed_and_exact(tmp_path, center, normalize_rows, method):
    X = _graded(1500, 32, low=-4).astype(np.float32)
    path = tmp_path / "X.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    ref = _reference(X, center, normalize_rows)
    s = singular_values(mm, center=center, normalize_rows=normalize_rows, chunk_size=128, method=method)
    if method == "tsqr":
        np.testing.assert_allclose(s, ref, rtol=1e-6)
    else:  # the Gram is accurate relative to sigma_1 (the +5 offset makes sigma_1 large)
        np.testing.assert_allclose(s, ref, rtol=0, atol=1e-9 * ref[0])


def test_auto_is_the_gram_path():
    X = _graded(900, 30, low=-3)
    np.testing.assert_array_equal(singular_values(X), singular_values(X, method="gram"))
    ref = _reference(X)
    np.testing.assert_allclose(singular_values(X), ref, rtol=0, atol=1e-11 * ref[0])


def test_dtypes_and_tensors():
    X = np.random.default_rng(1).normal(size=(50, 8))
    ref = _reference(X.astype(np.float16))
    np.testing.assert_allclose(singular_values(X.astype(np.float16)), ref, rtol=1e-9)
    np.testing.assert_allclose(singular_values(torch.from_numpy(X)), _reference(X), rtol=1e-9)
    np.testing.assert_allclose(
        singular_values((X * 10).astype(int)), _reference((X * 10).astype(int)), rtol=1e-9
    )


def test_rank_deficient_and_zero_rows():
    X = np.zeros((10, 4))
    X[:5, 0] = 1.0
    s = singular_values(X, normalize_rows=True, method="tsqr", chunk_size=3)
    np.testing.assert_allclose(s, [np.sqrt(5), 0, 0, 0], atol=1e-12)
    s = singular_values(np.ones((7, 3)), center=True, method="tsqr", chunk_size=2)
    np.testing.assert_allclose(s, 0, atol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        singular_values(np.ones(5))
    with pytest.raises(ValueError, match="at least one"):
        singular_values(np.ones((0, 5)))
    X = np.ones((6, 2))
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="row 4"):
        singular_values(X, method="tsqr", chunk_size=2)
    with pytest.raises(ValueError, match="Did you mean 'tsqr'"):
        singular_values(np.ones((3, 2)), method="tsq")
    with pytest.raises(ValueError, match="chunk_size"):
        singular_values(np.ones((3, 2)), chunk_size=0)
    with pytest.raises(TypeError, match="numeric"):
        singular_values(np.array([["a", "b"]]))
