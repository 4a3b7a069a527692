"""The scikit-learn estimator shell shared by every head.

``__init__`` only stores arguments; ``fit`` validates them and the data, builds the torch model, trains it and
stores the learned state in attributes ending in ``_``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from nmtune._internal.device import resolve_device
from nmtune._internal.threads import thread_limit
from nmtune._internal.validation import check_number, seed_from_random_state
from nmtune.exceptions import unknown_name_error

from . import _train
from ._data import FeatureSource, refuse_fit_params, validate_X, validate_y

# Minimum optimiser steps of the heads (``min_steps``): the paper's 30 epochs are thousands of steps on its
# tens-of-thousands-sample tasks but 30-60 steps on a few hundred samples, where the heads stop unconverged.
# Chosen per head on validation splits of training data only (benchmarks/select_min_steps.py,
# docs/protocol.md): the smallest budget within 0.5 points of the best validation accuracy.
DEFAULT_MIN_STEPS = 1000  # MLP tuning and NMTune
DEFAULT_MIN_STEPS_LINEAR = 250  # the linear probe


def epochs_for(epochs: int, min_steps: int, n_train: int, batch_size: int) -> int:
    """Epochs a head runs: ``max(epochs, ceil(min_steps / steps_per_epoch))``, ``steps_per_epoch = ceil(N / B)``.

    Parameters
    ----------
    epochs : int
        The configured epochs.
    min_steps : int
        Minimum number of optimiser steps (0: exactly ``epochs``).
    n_train : int
        Training rows N.
    batch_size : int
        Mini-batch size B.

    Returns
    -------
    int
    """
    steps_per_epoch = max(-(-int(n_train) // int(batch_size)), 1)
    return max(int(epochs), -(-int(min_steps) // steps_per_epoch))


def _generator(random_state) -> torch.Generator:
    """A CPU torch generator seeded from an int, a numpy Generator/RandomState or None (fresh entropy)."""
    return torch.Generator().manual_seed(seed_from_random_state(random_state))


class BaseHead(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Common fit / predict logic; subclasses define the model and the loss."""

    _desc = "head"
    _identity_transform = False  # LinearProbe: transform(X) is X

    # -- hooks for subclasses -----------------------------------------------------------------------------------
    def _build_model(self, n_features: int, n_classes: int) -> torch.nn.Module:
        raise NotImplementedError

    def _loss_fn(self):
        """``loss(model, f, y) -> (loss, parts)``; the default is cross-entropy alone."""

        def loss(model, f, y):
            ce = torch.nn.functional.cross_entropy(model(f)[0], y)
            return ce, {"ce": ce.detach()}

        return loss

    def _check_params(self) -> None:
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("min_steps", self.min_steps, low=0, integer=True)
        check_number("lr", self.lr, low=0, low_open=True)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number("batch_size", self.batch_size, low=2, integer=True)
        check_number("patience", self.patience, low=1, integer=True)
        if self.validation_fraction is not None:
            check_number("validation_fraction", self.validation_fraction, low=0, high=0.5, low_open=True)
        elif self.early_stopping:
            raise ValueError(
                "early_stopping=True needs a validation split: set validation_fraction (e.g. 0.1)."
            )
        if self.schedule not in _train.SCHEDULES:
            raise unknown_name_error("schedule", self.schedule, _train.SCHEDULES)
        if self.n_threads is not None:
            check_number("n_threads", self.n_threads, low=1, integer=True)

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(self, X, y, **fit_params):
        """Fit the head on features ``X`` (N, D) and labels ``y`` (N,); returns ``self``.

        ``sample_weight`` is not supported (the NMTune regulariser is a batch statistic with no per-sample
        weighting); passing it raises a ``TypeError`` that says what to do instead. Runs with ``n_threads``
        threads (:func:`nmtune._internal.threads.pick_threads`: the cores free now when None).
        """
        refuse_fit_params(self, fit_params)
        self._check_params()
        with thread_limit(self.n_threads):
            return self._fit(X, y)

    def _fit(self, X, y):
        device = resolve_device(self.device)
        X = validate_X(self, X, reset=True)
        self.classes_, y_enc = validate_y(y, X.shape[0])
        gen = _generator(self.random_state)
        val = None
        train_idx = np.arange(X.shape[0])
        if self.validation_fraction is not None:
            seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
            train_idx, val_idx = train_test_split(
                train_idx, test_size=self.validation_fraction, random_state=seed, stratify=y_enc
            )
            val = (FeatureSource(X[np.sort(val_idx)]), y_enc[np.sort(val_idx)])
            train_idx = np.sort(train_idx)
        source = FeatureSource(X if len(train_idx) == X.shape[0] else X[train_idx])
        with torch.random.fork_rng(
            devices=[]
        ):  # parameter init from our generator; the global RNG is restored
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
            model = self._build_model(X.shape[1], len(self.classes_)).to(device)
        self.n_epochs_planned_ = epochs_for(self.epochs, self.min_steps, len(train_idx), self.batch_size)
        self.history_ = _train.train(
            model,
            source,
            y_enc[train_idx],
            self._loss_fn(),
            epochs=self.n_epochs_planned_,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            schedule=self.schedule,
            device=device,
            generator=gen,
            val=val,
            early_stopping=self.early_stopping,
            patience=self.patience,
            progress=self.progress,
            desc=type(self).__name__,
        )
        self.model_ = model
        self.device_ = device
        self.n_epochs_ = len(self.history_)
        return self

    # -- inference ------------------------------------------------------------------------------------------------
    def _forward(self, X, want: str) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_X(self, X, reset=False)
        with thread_limit(getattr(self, "n_threads", None)), torch.no_grad():
            return self._forward_batches(X, want)

    def _forward_batches(self, X, want: str) -> np.ndarray:
        self.model_.eval()
        bs = max(int(self.batch_size), 1024)
        outs = []
        for f in FeatureSource(X).slices(bs, self.device_):
            logits, z = self.model_(f)
            outs.append((logits if want == "logits" else z).float().cpu())
        if not outs:
            width = len(self.classes_) if want == "logits" else self.n_features_in_
            return np.zeros((0, width), dtype=np.float32)
        return torch.cat(outs).numpy()

    def decision_function(self, X) -> np.ndarray:
        """Class scores (logits) of shape (N, C); (N,) for two classes (positive class score minus negative)."""
        logits = self._forward(X, "logits")
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes_``."""
        logits = torch.from_numpy(self._forward(X, "logits")).double()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Predicted labels (N,), drawn from ``classes_``."""
        index = self._forward(X, "logits").argmax(axis=1)
        return self.classes_[index]

    def transform(self, X) -> np.ndarray:
        """Features the classifier sees, float32 (N, D): Z = h(F) (LinearProbe: F itself)."""
        return self._forward(X, "z")

    def fit_transform(self, X, y=None, **fit_params):  # noqa: D102 - TransformerMixin needs y for a classifier
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.fit_transform needs labels y: it is a supervised transform."
            )
        return self.fit(X, y, **fit_params).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of :meth:`transform` (so that ``set_output(transform="pandas")`` works).

        Parameters
        ----------
        input_features : array-like of str or None
            Input feature names; checked against ``feature_names_in_`` when the head saw named columns.

        Returns
        -------
        ndarray of str, shape (D',)
            The input names for :class:`LinearProbe` (its transform is the identity); ``<class>0 ...
            <class>{D'-1}`` (e.g. ``nmtune0``) for heads that transform.
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self, "model_")
        names = _check_feature_names_in(self, input_features)
        if self._identity_transform:
            return names
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_features_in_)], dtype=object)

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted head to ``path``: a JSON description (class, parameters, classes) and the weights.

        The file is read back by :func:`nmtune.heads.load` without unpickling anything
        (``torch.load(weights_only=True)``).
        """
        from ._persist import head_state, write_state

        check_is_fitted(self, "model_")
        write_state(head_state(self), path)

    def _save_state(self) -> tuple[dict, dict]:
        """The head file's fields of a torch head: its training history and the model's weights."""
        return {"history": self.history_}, dict(self.model_.state_dict())

    def _load_state(self, meta: dict, tensors: dict, device: str) -> None:
        """Rebuild the model from the saved weights (their names and shapes must fit this head's model)."""
        self.history_ = list(meta.get("history") or [])
        self.device_ = resolve_device(device)
        model = self._build_model(self.n_features_in_, len(self.classes_))
        try:
            model.load_state_dict(tensors)
        except RuntimeError as exc:
            raise ValueError(
                f"the weights do not fit a {type(self).__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        self.model_ = model.to(self.device_).eval()
        self.n_epochs_ = len(self.history_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
