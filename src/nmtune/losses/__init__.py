"""NMTune's regularisers (paper Eq. 3-5): pure tensor functions and a thin ``nn.Module``.

Shapes: ``f`` is a mini-batch of frozen features (B, D), ``z`` the transformed features (B, D).

- :mod:`nmtune.losses.functional`: ``consistency_loss``, ``covariance_loss``, ``singular_value_loss``,
  ``singular_values_of_batch`` and their weighted sum ``nmtune_regulariser`` (readable autograd versions, plus
  the fused training path).
- :func:`nmtune.losses.contrastive.clip_loss`: symmetric InfoNCE for image-caption batches whose captions repeat
  (images ``(B, E)``, distinct captions ``(K, E)``), used by contrastive pre-training.
- :class:`NMTuneLoss`: the weighted sum as a module holding the coefficients, for users who write their own
  training loop.
"""

from nmtune.losses.contrastive import clip_loss
from nmtune.losses.functional import (
    consistency_loss,
    covariance_loss,
    nmtune_regulariser,
    singular_value_loss,
    singular_values_of_batch,
)
from nmtune.losses.module import NMTuneLoss

__all__ = [
    "NMTuneLoss",
    "clip_loss",
    "consistency_loss",
    "covariance_loss",
    "nmtune_regulariser",
    "singular_value_loss",
    "singular_values_of_batch",
]
