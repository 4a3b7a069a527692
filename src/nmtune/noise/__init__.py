"""Label noise with exact flip counts, caption swaps for paired data, and the report of what was realised.

Shapes: N samples, K classes; labels are int arrays of shape (N,) with values in ``[0, K)``. Every generator
takes ``random_state`` (None, int or ``numpy.random.Generator``) and never touches the global RNG.
"""

from nmtune.noise.labels import asymmetric_noise, pair_flip_transition, symmetric_noise
from nmtune.noise.pairs import pair_swap_noise
from nmtune.noise.report import NoiseReport

__all__ = ["NoiseReport", "asymmetric_noise", "pair_flip_transition", "pair_swap_noise", "symmetric_noise"]
