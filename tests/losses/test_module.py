import pytest
import torch

from nmtune.losses import NMTuneLoss, nmtune_regulariser


def test_module_equals_lam_times_functional():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(32, 16, generator=g, dtype=torch.float64)
    z = torch.randn(32, 16, generator=g, dtype=torch.float64, requires_grad=True)
    loss = NMTuneLoss(lam=0.3, cov_weight=0.5, top_k=2)
    out = loss(f, z)
    ref, parts = nmtune_regulariser(f, z, (1.0, 0.5, 1.0), 2)
    assert torch.allclose(out, 0.3 * ref)
    assert set(loss.last_parts) == set(parts)
    (g_mod,) = torch.autograd.grad(out, z)
    (g_ref,) = torch.autograd.grad(0.3 * nmtune_regulariser(f, z, (1.0, 0.5, 1.0), 2)[0], z)
    assert torch.allclose(g_mod, g_ref)


def test_module_lam_zero_is_zero_and_repr_shows_coefficients():
    z = torch.randn(8, 4)
    assert NMTuneLoss(lam=0.0)(z, z).item() == 0.0
    assert "lam=0.01" in repr(NMTuneLoss())


@pytest.mark.parametrize(
    "kwargs", [{"lam": -1.0}, {"lam": float("nan")}, {"svd_weight": "1"}, {"method": "eig"}]
)
def test_module_rejects_bad_coefficients(kwargs):
    with pytest.raises(ValueError, match="received"):
        NMTuneLoss(**kwargs)
