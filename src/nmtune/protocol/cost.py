"""A run's relative cost, estimated before it runs: the grid's order (longest first) and its progress bar's ETA.

Runs of one grid differ in cost by orders of magnitude (a logistic regression on 64 features against an MLP
head on 1,280 features for 1,000 optimiser steps). A progress bar that counts runs while the longest run first
predicts the whole grid from its slowest runs (the demo's first ETA was 1 h 12 min for a 22-minute run); the
grid's bar counts estimated cost instead. The estimate, in arbitrary units:

- a neural head: ``steps x rows per step x (D x width) ** 0.6`` per fit (``width`` = D for heads that transform,
  the classes C for the linear probe; NMTune's regulariser adds 30 %), ``steps`` from the head's own ``epochs``,
  ``min_steps`` and ``batch_size`` (:func:`nmtune.heads.base.epochs_for`). The exponent is measured, not
  theoretical: small matrix products run far below the speed of large ones, so a step at D = 1,280 costs about
  4 times one at D = 384, not 11 times;
- logistic regression: ``N x D x C`` per C;
- every candidate of the selection grid is one fit on the training part, plus the refit; NMTuneCV fits its
  candidates on every fold;
- evaluating the evaluation rows, plus a fixed per-run overhead (the spectra, the record: ~0.1 s).

Calibrated on the demo (`nmtune demo --jobs 1`, 108 runs, one thread, machine load 4-11; mean fit time per
run): MLP 17.5 s at D = 384 and 69.7 s at D = 1,280 (1,000 steps of 256 rows), NMTune 1.2-1.7 x MLP, linear
probe 0.3-0.8 s, logistic regression 0.15-0.7 s with its C search. One unit is about 5e-8 s there. Only ratios
matter: the bar's rate (cost done per second) is measured as the grid runs.
"""

from __future__ import annotations

import functools
import math

from nmtune.protocol.methods import build_estimator, get_method
from nmtune.protocol.runner import RunSpec
from nmtune.protocol.tasks import FeatureTask

__all__ = ["estimate_run_cost"]

_LOGREG_PER_C = 1
_CV_FOLDS_TIMES_CANDIDATES = 5 * 8
_EXPONENT = 0.6  # measured: per-step time grows like (D x width) ** 0.6 between D = 64 and 1,280
_REGULARISER = 1.3  # NMTune over MLP tuning, measured 1.2-1.7 x
_RUN_OVERHEAD = 2e6  # units per run: spectra, metrics, the record (~0.1 s)


@functools.lru_cache(maxsize=256)
def _head_budget(method: str, params: tuple) -> tuple[int, int, int, bool]:
    """``(epochs, min_steps, batch_size, has_regulariser)`` of a neural method's head (its defaults + params)."""
    est = build_estimator(method, dict(params))
    p = est.get_params() if hasattr(est, "get_params") else {}
    return (
        int(p.get("epochs") or 30),
        int(p.get("min_steps") or 0),
        int(p.get("batch_size") or 256),
        "lam" in p,
    )


def _fit_cost(spec: RunSpec, n: int, d: int, n_classes: int) -> float:
    method = get_method(spec.method)
    if not method.neural:
        return float(n * d * max(n_classes, 2) * _LOGREG_PER_C)
    if method.family == "nmtune-cv":
        # its linear candidates and NMTune, on every fold: an NMTune-sized fit per candidate and fold
        return _CV_FOLDS_TIMES_CANDIDATES * _neural_cost(spec, "nmtune", (), n, d, n_classes, transforms=True)
    return _neural_cost(spec, spec.method, spec.params, n, d, n_classes, transforms=method.transforms)


def _neural_cost(spec, method, params, n, d, n_classes, *, transforms) -> float:
    epochs, min_steps, batch, regulariser = _head_budget(method, tuple(params))
    if spec.epochs is not None:
        epochs = spec.epochs
    if spec.min_steps is not None:
        min_steps = spec.min_steps
    per_epoch = max(math.ceil(n / batch), 1)
    steps = max(epochs * per_epoch, min_steps)
    rows = min(batch, n)
    width = d if transforms else max(n_classes, 2)
    return float(steps * rows * (d * width) ** _EXPONENT * (_REGULARISER if regulariser else 1.0))


def estimate_run_cost(spec: RunSpec, task: FeatureTask) -> float:
    """The estimated cost of one run in multiply-adds (see the module's docstring); only ratios matter.

    Parameters
    ----------
    spec : RunSpec
        The run.
    task : FeatureTask
        Its task (shapes only).

    Returns
    -------
    float
        Positive.
    """
    method = get_method(spec.method)
    n_all, d = task.X_train.shape
    n = max(int(round(n_all * spec.fraction)), 2)
    c = task.n_classes
    candidates = len(method.candidates(spec.selection))
    fits = _fit_cost(spec, n, d, c)
    if candidates > 1:
        fits += candidates * _fit_cost(spec, max(int(n * (1 - spec.val_fraction)), 2), d, c)
    n_eval = sum(dom.X.shape[0] for dom in task.evals)
    evaluate = n_eval * (d * (d if method.transforms else c)) ** _EXPONENT
    return fits + evaluate + _RUN_OVERHEAD
