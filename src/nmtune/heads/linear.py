"""Linear probing: a C-way linear classifier on frozen features F."""

from __future__ import annotations

import torch
from torch import nn

from .base import DEFAULT_MIN_STEPS_LINEAR, BaseHead
from .registry import register_head


class _Linear(nn.Module):
    def __init__(self, dim: int, n_classes: int):
        super().__init__()
        self.classifier = nn.Linear(dim, n_classes)

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, D) -> (B, C), (B, D)
        return self.classifier(f), f


class LinearProbe(BaseHead):
    """Linear probing (LP) on frozen features, trained with AdamW and a cosine schedule.

    Defaults are the paper's vision setting (App. A.2): lr 0.1, no weight decay, 30 epochs, with one deviation:
    a minimum number of optimiser steps (``min_steps``) so that small training sets are not left unconverged.

    Parameters
    ----------
    epochs : int, default=30
    min_steps : int, default=250
        Minimum number of optimiser steps: ``max(epochs, ceil(min_steps / steps_per_epoch))`` epochs are run and
        the schedule spans them all. ``0`` gives exactly ``epochs`` epochs (the paper's setting).
    lr : float, default=0.1
    weight_decay : float, default=0.0
    batch_size : int, default=256
    schedule : {"cosine", "linear", "constant"}, default="cosine"
        Per-step learning-rate schedule (decays to 0).
    random_state : int, numpy Generator or None, default=None
        Seeds initialisation, shuffling and the validation split; the same int gives identical predictions on CPU
        at the same thread count (``n_threads``).
    device : {"auto", "cpu", "cuda"}, default="auto"
    validation_fraction : float or None, default=None
        Hold out this stratified fraction of the training data and record validation loss/accuracy per epoch.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience`` epochs and restore the best weights.
    patience : int, default=5
    progress : bool, default=False
        Show a progress bar over epochs.
    n_threads : int or None, default=None
        Torch and BLAS threads during fit and predict; None: the cores free now, or ``NMTUNE_NUM_THREADS``
        (:func:`nmtune._internal.threads.pick_threads`).

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
    n_features_in_ : int
    history_ : list of dict
        Per-epoch losses (and validation metrics).
    model_ : torch.nn.Module
    """

    def __init__(
        self,
        *,
        epochs=30,
        min_steps=DEFAULT_MIN_STEPS_LINEAR,
        lr=0.1,
        weight_decay=0.0,
        batch_size=256,
        schedule="cosine",
        random_state=None,
        device="auto",
        validation_fraction=None,
        early_stopping=False,
        patience=5,
        progress=False,
        n_threads=None,
    ):
        self.epochs = epochs
        self.min_steps = min_steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.schedule = schedule
        self.random_state = random_state
        self.device = device
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.progress = progress
        self.n_threads = n_threads

    _identity_transform = True

    def _build_model(self, n_features, n_classes):
        return _Linear(n_features, n_classes)


register_head(
    "lp",
    LinearProbe,
    transforms=False,
    description="linear probe on frozen features F (AdamW lr 0.1, wd 0, cosine, 30 epochs)",
)
