"""LP-FT: a residual tuning head started at the strong linear head (``lpft``).

N samples, D features, C classes. The transform is the authors' residual head ``Z = s ⊙ MLP(F) + F``
(:class:`~nmtune.heads.modules.ResidualMLP`) with the scale ``s`` initialised at 0, so that Z = F at the start;
the classifier on Z is initialised from a standardised L2 logistic regression (:class:`~nmtune.heads.LogReg`,
inverse strength ``init_C``) fitted on the same training rows and rewritten for raw features. Training (AdamW,
cross-entropy plus NMTune's regulariser) therefore starts from the linear head's predictions and moves away from
them only as far as the data pulls it: linear probing then fine-tuning (Kumar et al., 2022), on frozen features.
"""

from __future__ import annotations

import numpy as np
import torch

from nmtune._internal.validation import check_number

from .base import DEFAULT_MIN_STEPS_LINEAR
from .logreg import LogReg
from .mlp import NMTune
from .modules import ResidualMLP, TunedClassifier
from .registry import register_head

__all__ = ["LPFT", "linear_head_weights"]


def linear_head_weights(head: LogReg) -> tuple[np.ndarray, np.ndarray]:
    """The weights (C, D) and bias (C,) on raw features of a fitted :class:`LogReg` (standardised inside).

    ``logits = W x + b`` gives the head's class probabilities under a softmax (two classes: ``±z/2``).

    Parameters
    ----------
    head : LogReg
        Fitted.

    Returns
    -------
    W : ndarray of shape (C, D)
    b : ndarray of shape (C,)
    """
    mean, scale = head.scaler_.mean_, head.scaler_.scale_
    coef, intercept = head.model_.coef_, head.model_.intercept_  # (C or 1, D), (C or 1,)
    if coef.shape[0] == 1:  # binary: one score z for class 1; softmax of (-z/2, z/2) is sigmoid(z)
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    W = coef / scale  # (C, D)
    b = intercept - W @ mean  # (C,)
    return W, b


class LPFT(NMTune):
    """LP-FT on frozen features: a residual NMTune head with ``s = 0`` and the classifier of an L2 head.

    Parameters
    ----------
    init_C : float, default=0.01
        Inverse L2 strength of the :class:`LogReg` whose weights start the classifier.
    min_steps : int, default=250
        Minimum optimiser steps (the linear probe's budget: training starts from a fitted linear head).
    hidden_dim : int or None, default=None
        Hidden width of the residual MLP; None: D (the authors use 4D; D keeps the cost of the paper MLP).
    lam, mse_weight, cov_weight, svd_weight, svd_top_k, svd_method, epochs, lr, weight_decay, batch_size,
    schedule, random_state, device, validation_fraction, early_stopping, patience, progress, n_threads
        As :class:`NMTune` (``arch`` is always ``"authors"``, ``n_layers`` and ``activation`` play no part).

    Attributes
    ----------
    init_head_ : LogReg
        The linear head that initialised the classifier (fitted on the training rows).
    """

    def __init__(
        self,
        *,
        init_C=0.01,
        lam=0.01,
        mse_weight=1.0,
        cov_weight=1.0,
        svd_weight=1.0,
        svd_top_k=1,
        svd_method="gram",
        epochs=30,
        min_steps=DEFAULT_MIN_STEPS_LINEAR,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size=256,
        schedule="cosine",
        random_state=None,
        device="auto",
        validation_fraction=None,
        early_stopping=False,
        patience=5,
        progress=False,
        n_threads=None,
        hidden_dim=None,
    ):
        self.init_C = init_C
        self.lam = lam
        self.mse_weight = mse_weight
        self.cov_weight = cov_weight
        self.svd_weight = svd_weight
        self.svd_top_k = svd_top_k
        self.svd_method = svd_method
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
        self.hidden_dim = hidden_dim

    # the residual head of the authors, always: not constructor parameters
    arch = "authors"
    n_layers = 2
    activation = "relu"

    def _check_params(self):
        super()._check_params()
        check_number("init_C", self.init_C, low=0, low_open=True)

    def _fit(self, X, y):
        from ._data import validate_X, validate_y

        Xv = validate_X(self, X, reset=True)
        _, y_enc = validate_y(y, Xv.shape[0])
        self.init_head_ = LogReg(C=self.init_C, n_threads=self.n_threads).fit(np.asarray(Xv), y_enc)
        self._init_weights = linear_head_weights(self.init_head_)
        try:
            return super()._fit(X, y)
        finally:
            del self._init_weights

    def _build_model(self, n_features, n_classes):
        transform = ResidualMLP(n_features, self.hidden_dim or n_features)
        with torch.no_grad():
            transform.scale.zero_()  # Z = F at the start
        model = TunedClassifier(transform, n_features, n_classes)
        init = getattr(self, "_init_weights", None)
        if init is not None:
            W, b = init
            with torch.no_grad():
                model.classifier.weight.copy_(torch.as_tensor(W, dtype=model.classifier.weight.dtype))
                model.classifier.bias.copy_(torch.as_tensor(b, dtype=model.classifier.bias.dtype))
        return model


register_head(
    "lpft",
    LPFT,
    transforms=True,
    description="LP-FT: residual head Z = s*MLP(F) + F with s = 0 at the start, classifier from an L2 head (C 0.01)",
)
