"""The one evaluation of a fitted head on one domain, used by ``nmtune run``, ``nmtune tune`` and the study.

Shapes: X is (N, D) features, y (N,) integer labels; the features the classifier sees are X itself for linear
methods and ``Z = estimator.transform(X)`` (N, D') for heads that transform.
"""

from __future__ import annotations

import numpy as np

__all__ = ["evaluate_domain", "macro_f1", "MAX_SPECTRUM"]

#: Normalised singular values kept per evaluation domain (for spectrum plots).
MAX_SPECTRUM = 1024


def macro_f1(y_true, y_pred) -> float:
    """Macro-averaged F1 over the classes present in ``y_true`` (a class never predicted scores 0).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (N,)
        True and predicted labels.

    Returns
    -------
    float
        In [0, 1]. Classes absent from ``y_true`` but predicted do not enter the average (their precision is
        still lowered by the wrong predictions of the present classes' recall).
    """
    from sklearn.metrics import f1_score

    y_true = np.asarray(y_true)
    return float(
        f1_score(y_true, np.asarray(y_pred), average="macro", labels=np.unique(y_true), zero_division=0)
    )


def evaluate_domain(
    estimator, X, y, *, transforms: bool, max_spectrum: int = MAX_SPECTRUM, return_predictions: bool = False
):
    """Accuracy, macro-F1 and the spectrum (SVE, LSVR, RankMe) of a fitted classifier on one domain.

    Parameters
    ----------
    estimator : fitted classifier
        Has ``predict``; and ``transform`` when ``transforms`` is true.
    X : array-like of shape (N, D)
        Evaluation features.
    y : array-like of shape (N,)
        Evaluation labels.
    transforms : bool
        Whether the spectrum is taken of ``estimator.transform(X)`` (MLP / NMTune heads) or of X itself.
    max_spectrum : int, default=MAX_SPECTRUM
        Number of leading normalised singular values returned.
    return_predictions : bool, default=False
        Also return the predicted labels (N,) (the ones the accuracy was computed from).

    Returns
    -------
    metrics : dict
        ``n``, ``accuracy``, ``macro_f1``, ``sve``, ``lsvr``, ``rankme``.
    spectrum : list of float
        The leading singular values divided by their sum (5 significant digits).
    predictions : numpy.ndarray of shape (N,)
        Only when ``return_predictions``: ``estimator.predict(X)``.
    """
    from nmtune.spectrum import metrics_from_singular_values, singular_values

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    pred = estimator.predict(X)
    seen = estimator.transform(X) if transforms else X  # (N, D')
    s = np.asarray(singular_values(np.asarray(seen)), dtype=np.float64)
    spec = metrics_from_singular_values(s)
    metrics = {
        "n": int(y.shape[0]),
        "accuracy": float(np.mean(np.asarray(pred) == y)) if y.size else float("nan"),
        "macro_f1": macro_f1(y, pred),
        "sve": float(spec["sve"]),
        "lsvr": float(spec["lsvr"]),
        "rankme": float(spec["rankme"]),
    }
    total = s.sum()
    kept = s[:max_spectrum] / total if total > 0 else s[:max_spectrum]
    spectrum = [float(f"{v:.5g}") for v in kept]
    return (metrics, spectrum, np.asarray(pred)) if return_predictions else (metrics, spectrum)
