"""``NMTuneLoss``: the NMTune objective's regulariser as an ``nn.Module`` holding its coefficients.

Shapes: ``f`` frozen features (B, D), ``z`` transformed features (B, D); the output is a scalar tensor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nmtune.losses.functional import nmtune_regulariser

__all__ = ["NMTuneLoss"]


class NMTuneLoss(nn.Module):
    """``lam · (w_mse·L_MSE + w_cov·L_COV + w_svd·L_SVD)`` (paper Eq. 6 without the cross-entropy).

    Add it to the task loss in a custom training loop::

        reg = NMTuneLoss(lam=0.01)
        loss = F.cross_entropy(logits, y) + reg(f, z)

    Parameters
    ----------
    lam : float, default=0.01
        Overall weight λ of the regulariser (the paper's default).
    mse_weight, cov_weight, svd_weight : float, default=1.0
        Weights of the consistency, covariance and singular value terms.
    top_k : int, default=1
        Number of leading singular values rewarded by the singular value term.
    method : {"gram", "svd"}, default="gram"
        How mini-batch singular values are computed (see :func:`nmtune.losses.nmtune_regulariser`).

    Attributes
    ----------
    last_parts : dict of str to torch.Tensor
        The unweighted terms of the last call (detached), for logging.
    """

    def __init__(
        self,
        lam: float = 0.01,
        *,
        mse_weight: float = 1.0,
        cov_weight: float = 1.0,
        svd_weight: float = 1.0,
        top_k: int = 1,
        method: str = "gram",
    ) -> None:
        super().__init__()
        for name, value in (
            ("lam", lam),
            ("mse_weight", mse_weight),
            ("cov_weight", cov_weight),
            ("svd_weight", svd_weight),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number >= 0; received {value!r}.")
            if value < 0:
                raise ValueError(f"{name} must be >= 0; received {value!r}.")
        if method not in ("gram", "svd"):
            raise ValueError(f"method must be 'gram' or 'svd'; received {method!r}.")
        self.lam = float(lam)
        self.weights = (float(mse_weight), float(cov_weight), float(svd_weight))
        self.top_k = top_k
        self.method = method
        self.last_parts: dict[str, torch.Tensor] = {}

    def forward(self, f: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Regulariser value for one mini-batch.

        Parameters
        ----------
        f : torch.Tensor of shape (B, D)
            Frozen features.
        z : torch.Tensor of shape (B, D)
            Transformed features (same shape as ``f``).

        Returns
        -------
        torch.Tensor
            Scalar ``lam`` times the weighted sum.
        """
        if self.lam == 0:
            self.last_parts = {}
            return z.new_zeros(())
        total, parts = nmtune_regulariser(f, z, self.weights, self.top_k, method=self.method)
        self.last_parts = parts
        return self.lam * total

    def extra_repr(self) -> str:
        """Coefficients shown by ``repr``."""
        w = self.weights
        return f"lam={self.lam}, weights=({w[0]}, {w[1]}, {w[2]}), top_k={self.top_k}, method={self.method!r}"
