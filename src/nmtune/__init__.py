"""nmtune: Noisy Model Learning on frozen features.

Tuning heads (linear probing, MLP tuning, NMTune) as scikit-learn classifiers, NMTune's regularisers, feature
spectrum analysis, exact label noise, feature sources with an on-disk cache, and the evaluation protocol.
"""

__version__ = "0.1.0"

from nmtune.heads import LinearProbe, MLPTuning, NMTune  # noqa: E402

__all__ = ["LinearProbe", "MLPTuning", "NMTune", "__version__"]
