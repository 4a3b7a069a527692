"""The scikit-learn estimator shell shared by every head.

``__init__`` only stores arguments; ``fit`` validates them and the data, builds the torch model, trains it and
stores the learned state in attributes ending in ``_``.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from nmtune.exceptions import unknown_name_error

from . import _train
from ._data import FeatureSource, validate_X, validate_y

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """Map ``"auto"`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:N"`` to a :class:`torch.device`, or fail clearly."""
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise unknown_name_error("device", device, DEVICES)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but torch sees no CUDA device (torch {torch.__version__}). "
            "Use device='cpu' or 'auto', or install a CUDA build of torch."
        )
    return torch.device(device)


def _generator(random_state) -> torch.Generator:
    """A CPU torch generator seeded from an int, a numpy Generator/RandomState or None (fresh entropy)."""
    if random_state is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    elif isinstance(random_state, numbers.Integral):
        seed = int(random_state)
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(2**63 - 1))
    elif isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(2**31 - 1))
    else:
        raise ValueError(
            f"random_state must be None, an int or a numpy Generator; got {type(random_state).__name__}."
        )
    return torch.Generator().manual_seed(seed)


def _check_number(name, value, *, low, high=None, integer=False, low_open=False):
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        rng = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what} {rng}; got {value!r}.")


class BaseHead(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Common fit / predict logic; subclasses define the model and the loss."""

    _desc = "head"

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
        _check_number("epochs", self.epochs, low=1, integer=True)
        _check_number("lr", self.lr, low=0, low_open=True)
        _check_number("weight_decay", self.weight_decay, low=0)
        _check_number("batch_size", self.batch_size, low=2, integer=True)
        _check_number("patience", self.patience, low=1, integer=True)
        if self.validation_fraction is not None:
            _check_number("validation_fraction", self.validation_fraction, low=0, high=0.5, low_open=True)
        elif self.early_stopping:
            raise ValueError(
                "early_stopping=True needs a validation split: set validation_fraction (e.g. 0.1)."
            )
        if self.schedule not in _train.SCHEDULES:
            raise unknown_name_error("schedule", self.schedule, _train.SCHEDULES)

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit the head on features ``X`` (N, D) and labels ``y`` (N,); returns ``self``."""
        self._check_params()
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
        self.history_ = _train.train(
            model,
            source,
            y_enc[train_idx],
            self._loss_fn(),
            epochs=self.epochs,
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
    @torch.no_grad()
    def _forward(self, X, want: str) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_X(self, X, reset=False)
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
        return self.fit(X, y).transform(X)

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted head (parameters, classes and weights) to ``path`` with ``torch.save``."""
        check_is_fitted(self, "model_")
        state = {
            "class": type(self).__name__,
            "params": self.get_params(),
            "classes": self.classes_,
            "n_features_in": self.n_features_in_,
            "history": self.history_,
            "state_dict": {k: v.cpu() for k, v in self.model_.state_dict().items()},
        }
        torch.save(state, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def load(path, *, device: str = "cpu") -> BaseHead:
    """Load a head saved with :meth:`BaseHead.save`; predictions equal the saved head's."""
    from nmtune import heads

    state = torch.load(path, map_location="cpu", weights_only=False)
    cls = getattr(heads, state["class"], None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, BaseHead):
        raise ValueError(f"{path} does not hold an nmtune head (class {state.get('class')!r}).")
    est = cls(**{**state["params"], "device": device})
    est.classes_ = state["classes"]
    est.n_features_in_ = state["n_features_in"]
    est.history_ = state["history"]
    est.device_ = resolve_device(device)
    model = est._build_model(est.n_features_in_, len(est.classes_))
    model.load_state_dict(state["state_dict"])
    est.model_ = model.to(est.device_).eval()
    est.n_epochs_ = len(est.history_)
    return est
