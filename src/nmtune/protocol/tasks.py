"""Feature tasks: what the protocol's core runs on.

A :class:`FeatureTask` is a training split (features X of shape (N, D), labels y of shape (N,)) plus named
evaluation domains, each ``"id"`` (same distribution as training) or ``"ood"`` (a shifted target domain).
The core
(:mod:`nmtune.protocol.runner`) only sees these matrices; :func:`suite_feature_tasks` is the thin layer that
turns an (encoder, suite) pair into feature tasks through the feature cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["EvalDomain", "FeatureTask", "make_task", "example_task"]

DOMAIN_KINDS = ("id", "ood")


@dataclass(frozen=True, eq=False)
class EvalDomain:
    """One evaluation split.

    Parameters
    ----------
    name : str
        Domain name, e.g. ``"source-test"`` or ``"optdigits"``.
    X : numpy.ndarray, shape (N, D)
        Features (the same encoder as the training split).
    y : numpy.ndarray of int, shape (N,)
        Labels, in the training task's label space.
    kind : {"id", "ood"}
        In-distribution or out-of-distribution.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str = "id"

    def __post_init__(self) -> None:
        if self.kind not in DOMAIN_KINDS:
            raise ValueError(f"Domain {self.name!r}: kind must be 'id' or 'ood'; received {self.kind!r}.")
        _check_xy(self.X, self.y, f"evaluation domain {self.name!r}")


@dataclass(frozen=True, eq=False)
class FeatureTask:
    """A training split plus its evaluation domains, as feature matrices.

    Parameters
    ----------
    name : str
        Task name (unique within its suite).
    X_train : numpy.ndarray, shape (N, D)
        Training features.
    y_train : numpy.ndarray of int, shape (N,)
        Training labels in ``[0, C)``.
    evals : tuple of EvalDomain
        Evaluation domains (at least one).
    class_names : tuple of str
        Names of the C classes (may be empty).
    encoder, suite : str
        Labels recorded with every run (``"features"`` / ``"custom"`` for user features).
    modality : str or None
        ``"text"`` / ``"image"`` when known.
    meta : dict
        Extra facts recorded with every run (caps, cache records, ...).
    groups_train : numpy.ndarray of shape (N,) or None
        Source sub-domain of each training row (e.g. its newsgroup), where the data has one; methods that
        select on held-out sub-domains (``nmtune-cv``) receive it as ``groups``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    evals: tuple[EvalDomain, ...]
    class_names: tuple[str, ...] = ()
    encoder: str = "features"
    suite: str = "custom"
    modality: str | None = None
    meta: dict = field(default_factory=dict)
    groups_train: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_xy(self.X_train, self.y_train, f"training split of task {self.name!r}")
        if self.groups_train is not None and np.shape(self.groups_train) != (self.X_train.shape[0],):
            raise ValueError(
                f"Task {self.name!r}: groups_train must hold one group per training row, shape "
                f"({self.X_train.shape[0]},); received shape {np.shape(self.groups_train)}."
            )
        if not self.evals:
            raise ValueError(f"Task {self.name!r} has no evaluation domain; give at least one EvalDomain.")
        names = [d.name for d in self.evals]
        if len(set(names)) != len(names):
            raise ValueError(f"Task {self.name!r}: evaluation domain names must be unique; received {names}.")
        for d in self.evals:
            if d.X.shape[1] != self.X_train.shape[1]:
                raise ValueError(
                    f"Task {self.name!r}: domain {d.name!r} has {d.X.shape[1]} features but the "
                    f"training split "
                    f"has {self.X_train.shape[1]}; every split must come from the same encoder."
                )

    @property
    def key(self) -> tuple[str, str, str]:
        """``(encoder, suite, name)``: identifies the task within a grid."""
        return (self.encoder, self.suite, self.name)

    @property
    def n_classes(self) -> int:
        """Number of classes C (from ``class_names`` when given, else the labels)."""
        labels = np.concatenate([self.y_train] + [d.y for d in self.evals])
        return max(len(self.class_names), int(labels.max()) + 1)


def _check_xy(X, y, what: str) -> None:
    if getattr(X, "ndim", None) != 2:
        raise ValueError(
            f"Features of the {what} must be a 2-D (N, D) array; received shape "
            f"{getattr(X, 'shape', type(X).__name__)}."
        )
    if getattr(y, "ndim", None) != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"Labels of the {what} must have shape ({X.shape[0]},); received "
            f"{getattr(y, 'shape', type(y).__name__)}."
        )


def make_task(name, X_train, y_train, evals, **kwargs) -> FeatureTask:
    """Build a :class:`FeatureTask` from arrays; ``evals`` maps a domain name to ``(X, y, kind)``.

    Parameters
    ----------
    name : str
        Task name.
    X_train : array-like, shape (N, D)
        Training features.
    y_train : array-like of shape (N,)
        Training labels: integers (kept as they are) or strings (coded 0..C-1 in sorted order, the class
        names then default to them).
    evals : mapping of str to (X, y, kind)
        Evaluation domains (labels like the training labels).
    **kwargs
        Other :class:`FeatureTask` fields (``encoder``, ``suite``, ``class_names``, ...).

    Returns
    -------
    FeatureTask
    """
    y_train, to_codes, class_names = _label_codes(y_train, f"training labels of task {name!r}")
    if class_names and "class_names" not in kwargs:
        kwargs["class_names"] = class_names
    domains = tuple(
        EvalDomain(n, np.asarray(X, dtype=np.float32), to_codes(y, f"labels of domain {n!r}"), kind)
        for n, (X, y, kind) in evals.items()
    )
    return FeatureTask(name, np.asarray(X_train, dtype=np.float32), y_train, domains, **kwargs)


def _label_codes(y_train, what):
    """Checked training labels as int64 codes, a function coding evaluation labels alike, the class names.

    Integer labels are kept as they are; string labels become codes 0..C-1 in sorted order (their names the
    class names), and evaluation labels must be classes of the training split.
    """
    from nmtune._internal.validation import check_labels

    y = check_labels(y_train, what=what)
    if y.dtype.kind == "i":
        return y, lambda v, w: check_labels(v, what=w).astype(np.int64), ()
    classes, codes = np.unique(y, return_inverse=True)

    def to_codes(values, w):
        v = check_labels(values, what=w).astype(str)
        unknown = sorted(set(v.tolist()) - set(classes.tolist()))
        if unknown:
            raise ValueError(f"{w} hold classes absent from the training labels: {unknown[:5]}.")
        return np.searchsorted(classes, v).astype(np.int64)

    return codes.astype(np.int64), to_codes, tuple(str(c) for c in classes)


def example_task(
    name: str = "digits",
    n_train: int = 300,
    *,
    encoder: str = "pixels",
    suite: str = "sk-digits",
    noise_scale: float = 0.35,
) -> FeatureTask:
    """A small real feature task with no encoder: scikit-learn's 8x8 digits as 64 pixel features.

    The ID domain is 200 held-out digits; the OOD domain is the same digits with Gaussian pixel noise (scale
    ``noise_scale``, clipped to [0, 1]). Useful to try the protocol in seconds and in tests.

    Parameters
    ----------
    name : str
        Task name.
    n_train : int
        Training rows (at most 1597).
    encoder, suite : str
        Labels recorded with each run.
    noise_scale : float
        Standard deviation of the pixel noise of the OOD domain.

    Returns
    -------
    FeatureTask
        X of shape (n_train, 64), domains ``"test"`` (id) and ``"noisy"`` (ood).
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    r = np.random.default_rng(0)
    idx = r.permutation(len(y))
    tr, te = idx[:n_train], idx[n_train : n_train + 200]
    shifted = np.clip(X[te] + r.normal(scale=noise_scale, size=X[te].shape), 0, 1).astype(np.float32)
    return make_task(
        name,
        X[tr],
        y[tr],
        {"test": (X[te], y[te], "id"), "noisy": (shifted, y[te], "ood")},
        encoder=encoder,
        suite=suite,
        class_names=tuple(str(i) for i in range(10)),
    )
