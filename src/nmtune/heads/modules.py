"""Torch modules of the tuning heads.

``h`` maps frozen features F (B, D) to transformed features Z (B, D); a linear classifier maps Z to logits (B, C).
"""

from __future__ import annotations

import torch
from torch import nn

from nmtune.exceptions import unknown_name_error

__all__ = ["make_transform", "ResidualMLP", "TunedClassifier", "ACTIVATIONS", "ARCHS"]

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "linear": nn.Identity}
ARCHS = ("paper", "authors")
#: Narrowest default hidden layer of the paper MLP: its width is D (the paper), but at least this, so that
#: toy low-dimensional inputs (D = 2 in scikit-learn's checks) do not pass through a ReLU bottleneck. Every real
#: encoder has D >= 50, where the width is D exactly.
MIN_HIDDEN = 16


def _mlp(dim: int, hidden: int, n_layers: int, activation: str) -> nn.Sequential:
    """``n_layers`` Linear layers D -> H -> ... -> D with ``activation`` between them."""
    widths = [dim] + [hidden] * (n_layers - 1) + [dim]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < n_layers - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class ResidualMLP(nn.Module):
    """The authors' public-code transform: ``Z = s ⊙ MLP(F) + F``.

    ``MLP = Linear(D, H) -> BatchNorm1d(H) -> ReLU -> Linear(H, D)`` with H = 4D by default, and a learnable
    per-dimension scale ``s`` initialised to 1.0.
    """

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim)
        )
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, f: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, D)
        """Transform a batch of features."""
        return self.scale * self.mlp(f) + f


def make_transform(
    dim: int, *, hidden_dim: int | None, n_layers: int, activation: str, arch: str
) -> nn.Module:
    """Build the feature transform ``h``.

    Parameters
    ----------
    dim : int
        Input (and output) feature dimension D.
    hidden_dim : int or None
        Hidden width; None means ``max(D, MIN_HIDDEN)`` ("paper") or 4D ("authors").
    n_layers : int
        Number of Linear layers ("paper" architecture only).
    activation : {"relu", "gelu", "linear"}
        Non-linearity between layers ("paper" architecture only).
    arch : {"paper", "authors"}
        ``"paper"``: plain MLP; ``"authors"``: :class:`ResidualMLP`.

    Returns
    -------
    torch.nn.Module
        Maps (B, D) to (B, D).
    """
    if activation not in ACTIVATIONS:
        raise unknown_name_error("activation", activation, ACTIVATIONS)
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= 8:
        raise ValueError(f"n_layers must be an integer from 1 to 8; got {n_layers!r}.")
    if arch == "paper":
        return _mlp(dim, hidden_dim or max(dim, MIN_HIDDEN), n_layers, activation)
    if arch == "authors":
        return ResidualMLP(dim, hidden_dim or 4 * dim)
    raise unknown_name_error("arch", arch, ARCHS)


class TunedClassifier(nn.Module):
    """A feature transform followed by a linear classifier; ``forward`` returns ``(logits, z)``."""

    def __init__(self, transform: nn.Module, dim: int, n_classes: int):
        super().__init__()
        self.transform = transform
        self.classifier = nn.Linear(dim, n_classes)

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, D) -> (B, C), (B, D)
        """Return ``(logits, z)`` for a batch of features."""
        z = self.transform(f)
        return self.classifier(z), z
