"""The regularisers against slow references written straight from Eq. 3-5 (loops / numpy SVD)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtune.losses import (
    consistency_loss,
    covariance_loss,
    nmtune_regulariser,
    singular_value_loss,
    singular_values_of_batch,
)


def ref_consistency(f, z):
    f = np.asarray(f, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    total = 0.0
    for fi, zi in zip(f, z):
        total += np.sum((fi / max(np.linalg.norm(fi), 1e-12) - zi / max(np.linalg.norm(zi), 1e-12)) ** 2)
    return total / f.size


def ref_covariance(z):
    z = np.asarray(z, dtype=np.float64)
    b, d = z.shape
    mean = z.mean(axis=0)
    cov = np.zeros((d, d))
    for row in z:
        cov += np.outer(row - mean, row - mean)
    cov /= b - 1
    total = 0.0
    for i in range(d):
        for j in range(d):
            if i != j:
                total += cov[i, j] ** 2
    return total / d


def ref_svd(z, top_k=1):
    s = np.linalg.svd(np.asarray(z, dtype=np.float64), compute_uv=False)
    return -np.mean(s[:top_k] / s.sum())


SHAPES = [(8, 5), (5, 8), (16, 16), (3, 12)]


@pytest.mark.parametrize("shape", SHAPES)
def test_values_match_references(shape):
    g = torch.Generator().manual_seed(1)
    f = torch.randn(*shape, generator=g, dtype=torch.float64)
    z = torch.randn(*shape, generator=g, dtype=torch.float64) * 3 + 1
    assert consistency_loss(f, z).item() == pytest.approx(ref_consistency(f, z), rel=1e-12)
    assert covariance_loss(z).item() == pytest.approx(ref_covariance(z), rel=1e-10)
    for k in (1, 3):
        for method in ("gram", "svd"):
            assert singular_value_loss(z, k, method=method).item() == pytest.approx(ref_svd(z, k), rel=1e-9)
    total, parts = nmtune_regulariser(f, z, (0.5, 2.0, 3.0), top_k=2)
    expected = 0.5 * ref_consistency(f, z) + 2.0 * ref_covariance(z) + 3.0 * ref_svd(z, 2)
    assert total.item() == pytest.approx(expected, rel=1e-10)
    assert set(parts) == {"mse", "cov", "svd"}


def test_float32_gram_path_close_to_float64_reference():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(256, 768, generator=g)  # B < D: Gram side, float32
    assert singular_value_loss(z).item() == pytest.approx(ref_svd(z.numpy()), rel=1e-4)
    assert covariance_loss(z).item() == pytest.approx(covariance_loss(z.double()).item(), rel=1e-4)


def test_covariance_reference_on_small_float32():
    z = torch.randn(64, 40)
    assert covariance_loss(z).item() == pytest.approx(ref_covariance(z.numpy()), rel=1e-4)
    z = torch.randn(20, 40)  # Gram side
    assert covariance_loss(z).item() == pytest.approx(ref_covariance(z.numpy()), rel=1e-4)


def _numeric_grad(fn, z, eps=1e-6):
    grad = torch.zeros_like(z)
    flat = z.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = fn(z).item()
        flat[i] = old - eps
        down = fn(z).item()
        flat[i] = old
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
def test_gradients_match_finite_differences(shape):
    g = torch.Generator().manual_seed(3)
    f = torch.randn(*shape, generator=g, dtype=torch.float64)
    fns = {
        "mse": lambda z: consistency_loss(f, z),
        "cov": covariance_loss,
        "svd": lambda z: singular_value_loss(z, 1),
        "svd-top2": lambda z: singular_value_loss(z, 2),
        "sum": lambda z: nmtune_regulariser(f, z, (1.0, 0.3, 2.0))[0],
    }
    for name, fn in fns.items():
        z = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
        fn(z).backward()
        numeric = _numeric_grad(fn, z.detach().clone())
        np.testing.assert_allclose(z.grad.numpy(), numeric.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_gram_gradient_matches_svd_gradient():
    z = torch.randn(32, 96, dtype=torch.float64)
    grads = []
    for method in ("gram", "svd"):
        zz = z.clone().requires_grad_(True)
        singular_value_loss(zz, 5, method=method).backward()
        grads.append(zz.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-8, atol=1e-10)


def _rank_deficient_batches():
    base = torch.randn(4, 32)
    return {
        "B<D": torch.randn(8, 64),
        "duplicated rows": base.repeat(4, 1),
        "constant batch": torch.ones(16, 32) * 0.7,
        "zero batch": torch.zeros(16, 32),
        "repeated singular values": torch.eye(16, 32) * 2.0,
        "rank one": torch.randn(16, 1) @ torch.randn(1, 32),
    }


@pytest.mark.parametrize("name", list(_rank_deficient_batches()))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_finite_on_rank_deficient_batches(name, dtype):
    z0 = _rank_deficient_batches()[name].to(dtype)
    f = torch.randn_like(z0)
    for method in ("gram", "svd"):
        if method == "svd" and name in (
            "zero batch",
            "repeated singular values",
            "constant batch",
            "rank one",
            "duplicated rows",
        ):
            continue  # torch's SVD backward is undefined for repeated singular values; the default path is "gram"
        z = z0.clone().requires_grad_(True)
        total, _ = nmtune_regulariser(f, z, (1.0, 1.0, 1.0), top_k=2, method=method)
        total.backward()
        assert torch.isfinite(total)
        assert torch.isfinite(z.grad).all(), (name, method)


def test_rank_one_value_exact():
    z = torch.randn(64, 1) @ torch.randn(1, 128)
    assert singular_value_loss(z).item() == pytest.approx(-1.0, abs=2e-3)
    assert singular_value_loss(z.double()).item() == pytest.approx(-1.0, abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(2, 12), d=st.integers(1, 12), k=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_property_svd_term_bounds_and_rotation_invariance(b, d, k, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, d, generator=g, dtype=torch.float64)
    value = singular_value_loss(z, k).item()
    assert -1.0 - 1e-12 <= value <= 0.0
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    assert singular_value_loss(z @ q, k).item() == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert singular_value_loss(3.5 * z, k).item() == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert singular_values_of_batch(z).numpy() == pytest.approx(
        np.linalg.svd(z.numpy(), compute_uv=False), rel=1e-7, abs=1e-9
    )


def test_errors():
    with pytest.raises(ValueError, match="same shape"):
        consistency_loss(torch.zeros(4, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="2-D"):
        covariance_loss(torch.zeros(4))
    with pytest.raises(ValueError, match="at least 2 rows"):
        covariance_loss(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="top_k"):
        singular_value_loss(torch.randn(4, 4), 0)
    with pytest.raises(ValueError, match="method"):
        singular_value_loss(torch.randn(4, 4), method="qr")


def test_zero_weights_skip_terms():
    total, parts = nmtune_regulariser(torch.randn(8, 4), torch.randn(8, 4), (0.0, 1.0, 0.0))
    assert set(parts) == {"cov"}


def _composed(f, z, weights, top_k):
    """The regulariser composed from the public per-term functions under autograd."""
    w_mse, w_cov, w_svd = weights
    return (
        w_mse * consistency_loss(f, z)
        + w_cov * covariance_loss(z)
        + w_svd * singular_value_loss(z, top_k, method="svd")
    )


@pytest.mark.parametrize("shape", [(12, 30), (30, 12), (16, 16), (2, 5), (7, 1)])
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (0.5, 0.0, 2.0), (0.0, 3.0, 0.0), (0.0, 0.0, 1.0)])
@pytest.mark.parametrize("top_k", [1, 3])
def test_fused_regulariser_matches_autograd_composition(shape, weights, top_k):
    g = torch.Generator().manual_seed(sum(shape) + top_k)
    f0 = torch.randn(*shape, generator=g, dtype=torch.float64)
    z0 = torch.randn(*shape, generator=g, dtype=torch.float64) * 2 + 0.5
    grads = []
    for fn in (
        lambda f, z: nmtune_regulariser(f, z, weights, top_k)[0],
        lambda f, z: _composed(f, z, weights, top_k),
    ):
        f = f0.clone().requires_grad_(True)
        z = z0.clone().requires_grad_(True)
        value = fn(f, z)
        (value * 1.7).backward()  # a non-unit upstream gradient
        grads.append((value.detach(), z.grad, f.grad))
    (v1, gz1, gf1), (v2, gz2, gf2) = grads
    torch.testing.assert_close(v1, v2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gz1, gz2, rtol=1e-8, atol=1e-11)
    if weights[0]:
        torch.testing.assert_close(gf1, gf2, rtol=1e-8, atol=1e-11)
    with torch.no_grad():  # the eigenvalue-only forward gives the same value
        torch.testing.assert_close(nmtune_regulariser(f0, z0, weights, top_k)[0], v1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", [(5, 9), (9, 5)])
def test_fused_regulariser_gradcheck(shape):
    g = torch.Generator().manual_seed(11)
    f = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    z = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, z: nmtune_regulariser(f, z, (1.0, 0.7, 1.3), 2)[0], (f, z))


def test_fused_regulariser_float32_large_batch_matches_float64_composition():
    g = torch.Generator().manual_seed(5)
    f = torch.randn(256, 768, generator=g)
    z = (torch.randn(256, 768, generator=g) + 0.3).requires_grad_(True)
    total, parts = nmtune_regulariser(f, z, (1.0, 1.0, 1.0))
    total.backward()
    z64 = z.detach().double().requires_grad_(True)
    _composed(f.double(), z64, (1.0, 1.0, 1.0), 1).backward()
    assert total.item() == pytest.approx(
        _composed(f.double(), z64.detach(), (1.0, 1.0, 1.0), 1).item(), rel=1e-5
    )
    np.testing.assert_allclose(
        z.grad.numpy(), z64.grad.numpy(), rtol=1e-3, atol=1e-4 * z64.grad.abs().max().item()
    )
    assert set(parts) == {"mse", "cov", "svd"}


def test_half_precision_input_is_upcast():
    z = torch.randn(8, 16).half().requires_grad_(True)
    total, _ = nmtune_regulariser(torch.randn(8, 16), z, (1.0, 1.0, 1.0))
    total.backward()
    assert (
        total.dtype == torch.float32
        and z.grad.dtype == torch.float16
        and torch.isfinite(z.grad.float()).all()
    )
