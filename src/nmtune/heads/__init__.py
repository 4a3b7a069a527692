"""Tuning heads on frozen features: linear probing, MLP tuning and NMTune (scikit-learn classifiers)."""

from .base import BaseHead, load
from .cv import NMTuneCV
from .linear import LinearProbe
from .mlp import MLPTuning, NMTune

__all__ = ["BaseHead", "LinearProbe", "MLPTuning", "NMTune", "NMTuneCV", "load"]
