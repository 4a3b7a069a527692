"""Spectrum analysis of frozen features: singular values of a whole split, SVE, LSVR, RankMe, and figures.

Shapes: X is (N, D) (numpy array, memmap or CPU tensor); singular values have length ``min(N, D)``.
"""

from nmtune.spectrum.metrics import (
    largest_singular_value_ratio,
    metrics_from_singular_values,
    rankme,
    singular_value_entropy,
    spectrum_metrics,
)
from nmtune.spectrum.plot import plot_spectrum
from nmtune.spectrum.svd import singular_values

__all__ = [
    "largest_singular_value_ratio",
    "metrics_from_singular_values",
    "plot_spectrum",
    "rankme",
    "singular_value_entropy",
    "singular_values",
    "spectrum_metrics",
]
