"""Tuning heads on frozen features: linear probing, MLP tuning, NMTune, logistic regression and NMTuneCV.

Every head is a scikit-learn classifier registered by name: ``create_head("nmtune", lam=0.1)``,
``list_heads()``; a fitted head saves with ``head.save(path)`` and loads with :func:`load`.
"""

from ._persist import load
from .base import BaseHead
from .cv import NMTuneCV
from .linear import LinearProbe
from .logreg import LogReg, LogRegCV
from .mlp import MLPTuning, NMTune
from .registry import HeadSpec, create_head, get_head, list_heads, register_head

__all__ = [
    "BaseHead",
    "LinearProbe",
    "MLPTuning",
    "NMTune",
    "NMTuneCV",
    "LogReg",
    "LogRegCV",
    "HeadSpec",
    "create_head",
    "get_head",
    "list_heads",
    "register_head",
    "load",
]
