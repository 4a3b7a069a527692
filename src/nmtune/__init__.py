"""nmtune: Noisy Model Learning on frozen features.

Tuning heads (linear probing, MLP tuning, NMTune, logistic regression, NMTuneCV) as scikit-learn classifiers
(``create_head(name)``, ``list_heads()``), NMTune's regularisers, feature
spectrum analysis, exact label noise, feature sources with an on-disk cache, and the evaluation protocol.

The heads are imported on first use (``from nmtune import NMTune``), so ``import nmtune`` and the command line's
``--help`` do not load torch.
"""

__version__ = "0.1.0"

__all__ = [
    "LinearProbe",
    "MLPTuning",
    "NMTune",
    "NMTuneCV",
    "LogReg",
    "LogRegCV",
    "create_head",
    "list_heads",
    "__version__",
]

_LAZY = {name: "nmtune.heads" for name in __all__ if name != "__version__"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nmtune' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
