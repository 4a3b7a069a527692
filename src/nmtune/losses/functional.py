"""NMTune regularisers (paper Eq. 3-5) as pure tensor functions.

Shapes: ``f`` is a mini-batch of frozen features (B, D), ``z`` the transformed features (B, D) (consistency) or
(B, D') (covariance and singular value terms).

Fast paths
----------
The covariance and singular value terms need second moments of ``z``. A direct implementation forms the D x D
covariance and runs a full SVD per batch. Here both come from one B x B Gram matrix ``G = z zᵀ`` when B < D:

* ``Σ_ij C_ij² = ||Z_cᵀ Z_c||_F² / (B-1)² = ||Z_c Z_cᵀ||_F² / (B-1)²`` (trace identity), and the centred Gram
  ``Z_c Z_cᵀ = G - r 1ᵀ - 1 rᵀ + m`` (``r`` row means of ``G``, ``m`` its mean) costs O(B²);
* the singular values of ``z`` are the square roots of the eigenvalues of ``G`` (symmetric eigen-solver on B x B).

When D <= B the D x D matrices are used instead. The eigenvalue route squares the condition number: eigenvalues
below ``ZERO_TOL · eps(dtype) · λ_max`` are numerical noise and are treated as exact zeros (singular values below
``sqrt(10·eps)·σ₁``: 1.1e-3 σ₁ in float32, 4.7e-8 σ₁ in float64). ``method="svd"`` uses a full SVD instead.
Both are checked against references written straight from the equations in ``tests/losses/test_functional.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nmtune.losses._fused import ZERO_TOL, fused_regulariser

__all__ = [
    "consistency_loss",
    "covariance_loss",
    "singular_value_loss",
    "singular_values_of_batch",
    "nmtune_regulariser",
]


def _check_2d(name: str, t: torch.Tensor) -> None:
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (B, D) tensor; got shape {tuple(t.shape)}.")
    if t.shape[0] < 2:
        raise ValueError(f"{name} needs a mini-batch of at least 2 rows; got {t.shape[0]}.")


def consistency_loss(f: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Consistency between frozen and transformed features (Eq. 3).

    Each row of ``f`` and ``z`` is scaled to unit L2 norm (as in the authors' code), then the mean squared error
    over all B x D entries is returned.

    Parameters
    ----------
    f : torch.Tensor of shape (B, D)
        Frozen pre-trained features.
    z : torch.Tensor of shape (B, D)
        Transformed features.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if f.shape != z.shape:
        raise ValueError(
            f"consistency_loss needs f and z of the same shape; got f {tuple(f.shape)} and z {tuple(z.shape)}. "
            "The transform must map back to the input dimension."
        )
    return F.mse_loss(F.normalize(z, dim=1), F.normalize(f.to(z.dtype), dim=1))


def _gram_side(z: torch.Tensor) -> bool:
    """True when the B x B Gram matrix is the smaller second-moment matrix."""
    return z.shape[0] < z.shape[1]


def _covariance_from_gram(gram: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    b, d = z.shape
    r = gram.mean(dim=1, keepdim=True)  # (B, 1)
    gc = gram - r - r.T + gram.mean()  # centred Gram Z_c Z_cᵀ, (B, B)
    zc = z - z.mean(dim=0, keepdim=True)
    diag = zc.pow(2).sum(dim=0)  # (D,) = (B-1) diag(C)
    return (gc.pow(2).sum() - diag.pow(2).sum()) / ((b - 1) ** 2 * d)


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """Off-diagonal covariance penalty (Eq. 4): ``(1/D) Σ_{i≠j} C(z)_ij²``.

    ``C(z) = (1/(B-1)) Σ_b (z_b - z̄)(z_b - z̄)ᵀ`` is the unbiased mini-batch covariance (D x D).

    Parameters
    ----------
    z : torch.Tensor of shape (B, D)
        Transformed features, B >= 2.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    _check_2d("z", z)
    if _gram_side(z):
        return _covariance_from_gram(z @ z.T, z)
    b, d = z.shape
    zc = z - z.mean(dim=0, keepdim=True)
    cov = zc.T @ zc / (b - 1)  # (D, D)
    return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d


def _sqrt_eigenvalues(moment: torch.Tensor) -> torch.Tensor:
    """Singular values (descending) from a symmetric PSD second-moment matrix, noise eigenvalues set to 0."""
    eig = torch.linalg.eigvalsh(moment).flip(0)  # descending
    tol = ZERO_TOL * torch.finfo(moment.dtype).eps * eig[0].detach().clamp_min(0)
    keep = eig > tol
    # where() with a safe argument keeps sqrt's gradient finite for the dropped eigenvalues
    return torch.where(keep, torch.sqrt(torch.where(keep, eig, torch.ones_like(eig))), torch.zeros_like(eig))


def singular_values_of_batch(z: torch.Tensor, *, method: str = "gram") -> torch.Tensor:
    """Singular values of a mini-batch, descending, differentiable.

    Parameters
    ----------
    z : torch.Tensor of shape (B, D)
        Mini-batch (not centred).
    method : {"gram", "svd"}, default="gram"
        ``"gram"``: eigenvalues of the smaller of ``z zᵀ`` / ``zᵀ z`` (fast; see module notes on accuracy).
        ``"svd"``: ``torch.linalg.svdvals`` (direct).

    Returns
    -------
    torch.Tensor of shape (min(B, D),)
    """
    _check_2d("z", z)
    if method == "svd":
        return torch.linalg.svdvals(z)
    if method != "gram":
        raise ValueError(f"method must be 'gram' or 'svd'; got {method!r}.")
    return _sqrt_eigenvalues(z @ z.T if _gram_side(z) else z.T @ z)


def _svd_term(s: torch.Tensor, top_k: int) -> torch.Tensor:
    k = min(int(top_k), s.shape[0])
    total = s.sum().clamp_min(torch.finfo(s.dtype).tiny)
    return -(s[:k].sum() / k) / total


def _check_top_k(top_k) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer (1 = the paper's σ₁ term); got {top_k!r}.")


def singular_value_loss(z: torch.Tensor, top_k: int = 1, *, method: str = "gram") -> torch.Tensor:
    """Dominant singular value term (Eq. 5): ``-σ₁ / Σ_j σ_j`` of the (uncentred) mini-batch.

    With ``top_k > 1``: minus the mean of the ``top_k`` largest normalised singular values ``σ_i / Σ_j σ_j``
    (the authors' public code uses ``top_k=5``).

    Parameters
    ----------
    z : torch.Tensor of shape (B, D)
        Transformed features.
    top_k : int, default=1
        Number of leading singular values rewarded.
    method : {"gram", "svd"}, default="gram"
        See :func:`singular_values_of_batch`.

    Returns
    -------
    torch.Tensor
        Scalar loss in [-1, 0].
    """
    _check_top_k(top_k)
    return _svd_term(singular_values_of_batch(z, method=method), top_k)


def nmtune_regulariser(
    f: torch.Tensor,
    z: torch.Tensor,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    top_k: int = 1,
    *,
    method: str = "gram",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum ``w_mse·L_MSE + w_cov·L_COV + w_svd·L_SVD`` sharing one second-moment matrix.

    Terms with weight 0 are not computed. With ``method="gram"`` (default) the sum is one autograd function with a
    closed-form backward (:mod:`nmtune.losses._fused`); ``method="svd"`` composes the functions above.
    The paper's objective is ``L_CE + λ·(this with weights (1, 1, 1))``.

    Parameters
    ----------
    f : torch.Tensor of shape (B, D)
        Frozen features.
    z : torch.Tensor of shape (B, D)
        Transformed features.
    weights : tuple of 3 floats, default=(1, 1, 1)
        Weights of the consistency, covariance and singular value terms.
    top_k : int, default=1
        See :func:`singular_value_loss`.
    method : {"gram", "svd"}, default="gram"
        How the singular values are obtained.

    Returns
    -------
    total : torch.Tensor
        Scalar weighted sum.
    parts : dict of str to torch.Tensor
        The unweighted terms computed (``"mse"``, ``"cov"``, ``"svd"``), detached.
    """
    _check_2d("z", z)
    _check_top_k(top_k)
    if method not in ("gram", "svd"):
        raise ValueError(f"method must be 'gram' or 'svd'; got {method!r}.")
    if f.shape != z.shape and weights[0]:
        consistency_loss(f, z)  # raises the shape error
    w_mse, w_cov, w_svd = (float(w) for w in weights)
    if method == "gram" and (w_mse or w_cov or w_svd):
        if z.dtype in (torch.float16, torch.bfloat16):
            z = z.float()  # no half-precision eigen-solver
        return fused_regulariser(f, z, (w_mse, w_cov, w_svd), top_k)
    parts: dict[str, torch.Tensor] = {}
    total = z.new_zeros(())
    if w_mse:
        parts["mse"] = consistency_loss(f, z)
        total = total + w_mse * parts["mse"]
    if w_cov:
        parts["cov"] = covariance_loss(z)
        total = total + w_cov * parts["cov"]
    if w_svd:
        parts["svd"] = _svd_term(singular_values_of_batch(z, method=method), top_k)
        total = total + w_svd * parts["svd"]
    return total, {k: v.detach() for k, v in parts.items()}
