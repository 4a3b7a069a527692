"""MLP tuning and NMTune: a feature transform h (F -> Z) plus a linear classifier on Z.

NMTune adds the regulariser of :mod:`nmtune.losses` to the cross-entropy (paper Eq. 6):
``L = L_CE + lam · (mse_weight·L_MSE + cov_weight·L_COV + svd_weight·L_SVD)``.
"""

from __future__ import annotations

from torch import nn

from nmtune._internal.validation import check_number
from nmtune.losses import nmtune_regulariser

from .base import DEFAULT_MIN_STEPS, BaseHead
from .modules import TunedClassifier, make_transform
from .registry import register_head

_COMMON_DOC = """
    epochs : int, default=30
    min_steps : int, default=1000
        Minimum number of optimiser steps: ``max(epochs, ceil(min_steps / steps_per_epoch))`` epochs are run and
        the schedule spans them all (the one deviation from the paper's defaults; ``0``: exactly ``epochs``).
    lr : float, default=1e-3
    weight_decay : float, default=1e-4
    batch_size : int, default=256
    schedule : {"cosine", "linear", "constant"}, default="cosine"
    random_state : int, numpy Generator or None, default=None
        The same int gives identical predictions on CPU at the same thread count (``n_threads``).
    device : {"auto", "cpu", "cuda"}, default="auto"
    validation_fraction : float or None, default=None
        Stratified held-out fraction; validation loss/accuracy are recorded per epoch in ``history_``.
    early_stopping : bool, default=False
        Stop after ``patience`` epochs without a lower validation loss; the best weights are restored.
    patience : int, default=5
    progress : bool, default=False
        Show a progress bar over epochs.
    n_threads : int or None, default=None
        Torch and BLAS threads during fit and predict; None: the cores free now, or ``NMTUNE_NUM_THREADS``.
    hidden_dim : int or None, default=None
        Hidden width; None means D (``arch="paper"``; at least 16, for toy inputs of fewer dimensions) or 4D
        (``arch="authors"``).
    n_layers : int, default=2
        Linear layers of the paper MLP (App. B.7 ablates 1-3).
    activation : {"relu", "gelu", "linear"}, default="relu"
        Non-linearity of the paper MLP ("linear": none).
    arch : {"paper", "authors"}, default="paper"
        ``"paper"``: D -> hidden -> D MLP; ``"authors"``: the public code's
        ``Z = s ⊙ MLP(F) + F`` with BatchNorm and a 4D hidden layer.
"""


class MLPTuning(BaseHead):  # noqa: D101 - docstring assembled below (shared parameter list)
    __doc__ = (
        "MLP tuning: train a transform h and a linear classifier on Z = h(F) with cross-entropy only.\n\n"
        "    Parameters\n    ----------" + _COMMON_DOC
    )

    def __init__(
        self,
        *,
        epochs=30,
        min_steps=DEFAULT_MIN_STEPS,
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
        n_layers=2,
        activation="relu",
        arch="paper",
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
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.activation = activation
        self.arch = arch

    def _check_params(self):
        super()._check_params()
        if self.hidden_dim is not None:
            check_number("hidden_dim", self.hidden_dim, low=1, integer=True)
        # arch, activation and n_layers are checked where the transform is built (modules.make_transform)

    def _build_model(self, n_features, n_classes):
        transform = make_transform(
            n_features,
            hidden_dim=self.hidden_dim,
            n_layers=self.n_layers,
            activation=self.activation,
            arch=self.arch,
        )
        return TunedClassifier(transform, n_features, n_classes)


class NMTune(MLPTuning):
    """NMTune: MLP tuning plus consistency, covariance and dominant-singular-value regularisers.

    Parameters
    ----------
    lam : float, default=0.01
        Overall regulariser weight λ (paper: 0.01).
    mse_weight, cov_weight, svd_weight : float, default=1.0
        Per-term weights inside λ (the authors' public code: 1.0, 0.04, 0.001 with ``lam=1``); 0 turns a term off.
    svd_top_k : int, default=1
        1 = the paper's σ₁/Σσ; k > 1 rewards the mean of the top-k normalised singular values.
    svd_method : {"gram", "svd"}, default="gram"
        How mini-batch singular values are computed (see :mod:`nmtune.losses`).
    """

    __doc__ += _COMMON_DOC

    def __init__(
        self,
        *,
        lam=0.01,
        mse_weight=1.0,
        cov_weight=1.0,
        svd_weight=1.0,
        svd_top_k=1,
        svd_method="gram",
        epochs=30,
        min_steps=DEFAULT_MIN_STEPS,
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
        n_layers=2,
        activation="relu",
        arch="paper",
    ):
        super().__init__(
            epochs=epochs,
            min_steps=min_steps,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            schedule=schedule,
            random_state=random_state,
            device=device,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            patience=patience,
            progress=progress,
            n_threads=n_threads,
            hidden_dim=hidden_dim,
            n_layers=n_layers,
            activation=activation,
            arch=arch,
        )
        self.lam = lam
        self.mse_weight = mse_weight
        self.cov_weight = cov_weight
        self.svd_weight = svd_weight
        self.svd_top_k = svd_top_k
        self.svd_method = svd_method

    @classmethod
    def authors_preset(cls, **overrides) -> NMTune:
        """NMTune configured as the authors' public code.

        Residual BatchNorm MLP with 4D hidden units, per-term weights MSE 1.0 / COV 0.04 / SVD 0.001 (``lam=1``) and
        the top-5 singular value term. Keyword arguments override any of these.
        """
        params = dict(lam=1.0, mse_weight=1.0, cov_weight=0.04, svd_weight=0.001, svd_top_k=5, arch="authors")
        params.update(overrides)
        return cls(**params)

    def _check_params(self):
        super()._check_params()
        for name in ("lam", "mse_weight", "cov_weight", "svd_weight"):
            check_number(name, getattr(self, name), low=0)
        check_number("svd_top_k", self.svd_top_k, low=1, integer=True)
        if self.svd_method not in ("gram", "svd"):
            from nmtune.exceptions import unknown_name_error

            raise unknown_name_error("svd_method", self.svd_method, ("gram", "svd"))

    def _loss_fn(self):
        weights = tuple(self.lam * w for w in (self.mse_weight, self.cov_weight, self.svd_weight))
        top_k, method = int(self.svd_top_k), self.svd_method

        def loss(model, f, y):
            logits, z = model(f)
            ce = nn.functional.cross_entropy(logits, y)
            if not any(weights):
                return ce, {"ce": ce.detach()}
            reg, parts = nmtune_regulariser(f, z, weights, top_k, method=method)
            return ce + reg, {"ce": ce.detach(), **parts}

        return loss


def authors_nmtune(**params) -> NMTune:
    """NMTune as in the authors' public code (:meth:`NMTune.authors_preset`); ``params`` override it."""
    return NMTune.authors_preset(**params)


register_head(
    "mlp",
    MLPTuning,
    transforms=True,
    description="2-layer ReLU MLP + linear head, no regulariser (AdamW lr 1e-3, wd 1e-4)",
)
register_head(
    "nmtune", NMTune, transforms=True, description="MLP + NMTune regulariser, lambda = 0.01 (paper, Eq. 6)"
)
register_head(
    "nmtune-authors",
    authors_nmtune,
    cls=NMTune,
    transforms=True,
    description="NMTune as in the authors' code (4D hidden, BatchNorm, residual, weights 1/.04/.001, top-5)",
)
