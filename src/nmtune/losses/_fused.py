"""The NMTune regulariser as one autograd function with a hand-written backward.

Composing :func:`nmtune.losses.consistency_loss`, ``covariance_loss`` and ``singular_value_loss`` under autograd
costs two matrix products for the backward of the shared second-moment matrix, a chain of small element-wise
kernels for the row normalisation and the centring, and an eigenvector back-propagation. Here the gradient is
written in closed form and assembled in one small (S x S) matrix ``M`` applied to ``z`` once:

* singular value term ``L = -(1/k) Σ_{i<k} σ_i / Σ_j σ_j`` with ``σ_i² = λ_i`` the eigenvalues of the
  second-moment matrix (eigenvectors ``V``): ``∂L/∂z = V diag(a_i / σ_i) Vᵀ`` applied to ``z``, where
  ``a_i = ∂L/∂σ_i``; eigenvalues treated as zero get no gradient (as in :mod:`nmtune.losses`);
* covariance term ``(‖G_c‖_F² - Σ_d s_d²) / ((B-1)² D)`` with ``G_c`` the centred Gram matrix and ``s_d`` the
  column sums of squares of the centred batch: ``∂/∂z = 4 (G_c z - z_c ∘ s) / ((B-1)² D)``;
* consistency term on unit rows ``ẑ = z/‖z‖``: ``∂/∂z = (g - ẑ ⟨ẑ, g⟩) / ‖z‖`` with ``g = 2 (ẑ - f̂) / (B D)``.

``S`` is B (``M`` multiplies from the left) when B < D and D otherwise (from the right). Values and gradients are
checked against the autograd composition and against references written from the equations in
``tests/test_losses.py``. No double backward.
"""

from __future__ import annotations

import torch

ZERO_TOL = 10.0  # eigenvalues below ZERO_TOL · eps · λ_max are numerical zeros (shared with nmtune.losses)
_NORM_EPS = 1e-12  # torch.nn.functional.normalize's default


def _unit_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    norm = x.norm(dim=1, keepdim=True)
    clamped = norm.clamp_min(_NORM_EPS)
    return x / clamped, clamped, norm > _NORM_EPS


def _unit_rows_backward(g, unit, clamped, active):
    """Gradient through ``x / max(‖x‖, eps)`` given the gradient ``g`` w.r.t. the unit rows."""
    radial = unit * (unit * g).sum(dim=1, keepdim=True)
    return (g - torch.where(active, radial, torch.zeros_like(radial))) / clamped


def _svd_coefficients(eig: torch.Tensor, top_k: int):
    """Loss value and per-eigenvalue gradient coefficients ``a_i / σ_i`` from ascending eigenvalues."""
    eig = eig.flip(0)
    tol = ZERO_TOL * torch.finfo(eig.dtype).eps * eig[0].clamp_min(0)
    keep = eig > tol
    sigma = torch.where(keep, eig.clamp_min(0).sqrt(), torch.zeros_like(eig))
    total = sigma.sum().clamp_min(torch.finfo(eig.dtype).tiny)
    k = min(int(top_k), eig.shape[0])
    top = sigma[:k].sum() / k
    a = (top / total**2).expand_as(sigma).clone()
    a[:k] -= 1.0 / (k * total)
    coef = torch.where(keep, a / torch.where(keep, sigma, torch.ones_like(sigma)), torch.zeros_like(sigma))
    return -top / total, coef.flip(0)  # coef back in ascending order, aligned with the eigenvectors


class _Regulariser(torch.autograd.Function):
    @staticmethod
    def forward(ctx, f, z, w_mse, w_cov, w_svd, top_k):  # noqa: D102 - see fused_regulariser
        b, d = z.shape
        left = b < d  # second moments on the B x B side
        need_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        mse = cov = svd = z.new_zeros(())
        # gradient pieces: (matrix, operand) pairs meaning matrix @ operand (left) or operand @ matrix (right)
        pieces: list[tuple[torch.Tensor, torch.Tensor]] = []
        saved: dict = {"left": left}
        if w_mse:
            zu, z_norm, z_active = _unit_rows(z)
            fu, f_norm, f_active = _unit_rows(f)
            diff = zu - fu
            mse = diff.pow(2).mean()
            saved["mse"] = (2.0 * w_mse / diff.numel(), diff, zu, z_norm, z_active, fu, f_norm, f_active)
        if w_cov or w_svd:
            moment = z @ z.T if left else z.T @ z
        if w_cov:
            mu = z.mean(dim=0, keepdim=True)
            zc = z - mu
            if left:
                r = moment.mean(dim=1, keepdim=True)
                centred = moment - r - r.T + moment.mean()  # Z_c Z_cᵀ (B, B)
            else:
                centred = moment - b * (mu.T @ mu)  # Z_cᵀ Z_c (D, D)
            s = zc.pow(2).sum(dim=0)  # (D,)
            scale = (b - 1) ** 2 * d
            cov = (centred.pow(2).sum() - s.pow(2).sum()) / scale
            if need_grad:
                c = 4.0 * w_cov / scale
                pieces.append((c * centred, z if left else zc))  # G_c z = G_c z_c on the left
                saved["cov"] = (c, zc, s)
        if w_svd:
            if need_grad:
                eig, vec = torch.linalg.eigh(moment)
            else:
                eig, vec = torch.linalg.eigvalsh(moment), None
            svd, coef = _svd_coefficients(eig, top_k)
            if need_grad:
                pieces.append(((vec * (w_svd * coef)) @ vec.T, z))
        if left and len(pieces) == 2:  # both act on z from the left: one product in the backward
            pieces = [(pieces[0][0] + pieces[1][0], z)]
        if need_grad:
            saved["pieces"] = pieces
            ctx.saved = saved
        total = w_mse * mse + w_cov * cov + w_svd * svd
        mse, cov, svd = mse.detach(), cov.detach(), svd.detach()
        ctx.mark_non_differentiable(mse, cov, svd)
        return total, mse, cov, svd

    @staticmethod
    def backward(ctx, grad_total, *_):  # noqa: D102
        saved = ctx.saved
        grad_z = grad_f = None
        for matrix, operand in saved["pieces"]:
            part = matrix @ operand if saved["left"] else operand @ matrix
            grad_z = part if grad_z is None else grad_z + part
        if "cov" in saved:
            c, zc, s = saved["cov"]
            grad_z = grad_z - c * (zc * s)
        if "mse" in saved:
            scale, diff, zu, z_norm, z_active, fu, f_norm, f_active = saved["mse"]
            g = scale * diff
            part = _unit_rows_backward(g, zu, z_norm, z_active)
            grad_z = part if grad_z is None else grad_z + part
            if ctx.needs_input_grad[0]:
                grad_f = -_unit_rows_backward(g, fu, f_norm, f_active) * grad_total
        if grad_z is not None:
            grad_z = grad_z * grad_total
        return grad_f, grad_z, None, None, None, None


def fused_regulariser(
    f: torch.Tensor, z: torch.Tensor, weights: tuple[float, float, float], top_k: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``w_mse·L_MSE + w_cov·L_COV + w_svd·L_SVD`` with a closed-form backward (inputs already validated).

    Parameters
    ----------
    f : torch.Tensor of shape (B, D)
        Frozen features (cast to ``z``'s dtype).
    z : torch.Tensor of shape (B, D)
        Transformed features; float32 or float64.
    weights : tuple of 3 floats
        Weights of the consistency, covariance and singular value terms; a 0 weight skips the term.
    top_k : int
        Number of leading singular values rewarded.

    Returns
    -------
    total : torch.Tensor
        Scalar weighted sum, differentiable w.r.t. ``z`` (and ``f`` when it requires grad).
    parts : dict of str to torch.Tensor
        The unweighted terms computed (``"mse"``, ``"cov"``, ``"svd"``), detached.
    """
    w_mse, w_cov, w_svd = (float(w) for w in weights)
    total, mse, cov, svd = _Regulariser.apply(f.to(z.dtype), z, w_mse, w_cov, w_svd, int(top_k))
    parts = {
        name: value for name, value, w in (("mse", mse, w_mse), ("cov", cov, w_cov), ("svd", svd, w_svd)) if w
    }
    return total, parts
