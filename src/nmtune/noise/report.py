"""The record every noise generator returns: what was asked, what was realised, and where labels went.

Shapes: N samples, K classes. ``counts[k, j]`` is the number of samples whose clean label is ``k`` and whose
noisy label is ``j``; the empirical transition matrix is ``counts`` with each row divided by its sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nmtune.noise._checks import check_labels

__all__ = ["NoiseReport"]


def _readonly(a):
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _json_float(x: float):
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True, eq=False)
class NoiseReport:
    """Realised effect of a noise generator.

    Parameters
    ----------
    kind : str
        Generator name: ``"symmetric"``, ``"pair_flip"``, ``"transition"``, ``"pair_swap"`` or ``"custom"``.
    requested_rate : float
        The ``rate`` argument (NaN when unknown).
    n_samples : int
        N, the number of labels (or pairs).
    n_flipped : int
        Number of labels that differ from the clean ones (for pair swaps: items with ``perm[i] != i``).
    n_classes : int or None
        K (None for pair swaps, which have no classes).
    counts : ndarray of int64, shape (K, K), or None
        ``counts[k, j]`` = number of samples with clean label ``k`` and noisy label ``j``.

    Attributes
    ----------
    realised_rate : float
        ``n_flipped / n_samples``.
    class_counts : ndarray of int64, shape (K,)
        Clean class sizes (row sums of ``counts``).
    per_class_rate : ndarray of float64, shape (K,)
        Fraction of each clean class whose label changed; NaN for classes absent from ``y``.
    transition : ndarray of float64, shape (K, K)
        Empirical ``P(noisy = j | clean = k)``; rows of present classes sum to 1, rows of absent classes
        are 0.
    """

    kind: str
    requested_rate: float
    n_samples: int
    n_flipped: int
    n_classes: int | None = None
    counts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "counts", _readonly(self.counts))
        if self.counts is not None:
            k = self.n_classes
            if self.counts.shape != (k, k):
                raise ValueError(f"counts must have shape (K, K) = ({k}, {k}); received {self.counts.shape}.")
            if int(self.counts.sum()) != self.n_samples:
                raise ValueError(f"counts sum to {int(self.counts.sum())}, not n_samples = {self.n_samples}.")
            off = int(self.counts.sum() - np.trace(self.counts))
            if off != self.n_flipped:
                raise ValueError(f"counts hold {off} off-diagonal entries, not n_flipped = {self.n_flipped}.")

    @classmethod
    def from_labels(cls, y, y_noisy, *, n_classes=None, requested_rate=float("nan"), kind="custom"):
        """Build the report of any pair of clean and noisy label vectors.

        Parameters
        ----------
        y, y_noisy : array-like of int, shape (N,)
            Clean and noisy class indices in ``[0, n_classes)``.
        n_classes : int, optional
            K; inferred as ``max(max(y), max(y_noisy)) + 1`` when omitted.
        requested_rate : float, optional
            The rate that was asked for, recorded as given.
        kind : str, optional
            Name of the generator.

        Returns
        -------
        NoiseReport
        """
        y_arr = np.asarray(y)
        yn_arr = np.asarray(y_noisy)
        if y_arr.shape != yn_arr.shape:
            raise ValueError(
                f"y and y_noisy must have the same shape; received {y_arr.shape} and {yn_arr.shape}."
            )
        if n_classes is None:
            k_y = check_labels(y_arr, min_classes=1)[1]
            k_n = check_labels(yn_arr, min_classes=1)[1]
            n_classes = max(k_y, k_n, 2)
        y_arr, k = check_labels(y_arr, n_classes)
        yn_arr, _ = check_labels(yn_arr, k)
        counts = np.bincount(y_arr * k + yn_arr, minlength=k * k).reshape(k, k)
        return cls(
            kind=kind,
            requested_rate=float(requested_rate),
            n_samples=int(y_arr.size),
            n_flipped=int(np.count_nonzero(y_arr != yn_arr)),
            n_classes=k,
            counts=counts,
        )

    @property
    def realised_rate(self) -> float:
        """Fraction of labels (or pairs) that were changed."""
        return self.n_flipped / self.n_samples if self.n_samples else float("nan")

    @property
    def class_counts(self) -> np.ndarray | None:
        """Clean class sizes, shape (K,)."""
        return None if self.counts is None else self.counts.sum(axis=1)

    @property
    def per_class_rate(self) -> np.ndarray | None:
        """Fraction of each clean class that was relabelled, shape (K,); NaN for absent classes."""
        if self.counts is None:
            return None
        n_k = self.class_counts
        changed = n_k - np.diag(self.counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n_k > 0, changed / np.maximum(n_k, 1), np.nan)

    @property
    def transition(self) -> np.ndarray | None:
        """Empirical transition matrix ``P(noisy = j | clean = k)``, shape (K, K); absent classes: 0 rows."""
        if self.counts is None:
            return None
        n_k = self.class_counts[:, None]
        return self.counts / np.maximum(n_k, 1)

    def to_dict(self, *, transition: str = "dense") -> dict:
        """A JSON-ready dict (NaN written as ``None``).

        Parameters
        ----------
        transition : {"dense", "sparse", "none"}
            How to write the transition matrix: a K x K nested list, a list of ``[from, to, count]``
            triples for the non-zero off-diagonal counts (compact for large K), or not at all.

        Returns
        -------
        dict
        """
        if transition not in ("dense", "sparse", "none"):
            raise ValueError(f"transition must be 'dense', 'sparse' or 'none'; received {transition!r}.")
        out = {
            "kind": self.kind,
            "requested_rate": _json_float(self.requested_rate),
            "realised_rate": _json_float(self.realised_rate),
            "n_samples": self.n_samples,
            "n_flipped": self.n_flipped,
            "n_classes": self.n_classes,
        }
        if self.counts is None:
            return out
        out["class_counts"] = self.class_counts.tolist()
        out["per_class_rate"] = [_json_float(r) for r in self.per_class_rate]
        if transition == "dense":
            out["transition"] = self.transition.tolist()
        elif transition == "sparse":
            off = self.counts.copy()
            np.fill_diagonal(off, 0)
            rows, cols = np.nonzero(off)
            out["flip_counts"] = [[int(r), int(c), int(off[r, c])] for r, c in zip(rows, cols)]
        return out

    def __str__(self) -> str:
        what = "items mis-paired" if self.counts is None else "labels changed"
        req = "" if math.isnan(self.requested_rate) else f" (requested {100 * self.requested_rate:.2f} %)"
        lines = [
            f"NoiseReport[{self.kind}]: {self.n_flipped} of {self.n_samples} {what}, "
            f"realised rate {100 * self.realised_rate:.2f} %{req}"
            + ("" if self.n_classes is None else f", K = {self.n_classes}")
        ]
        if self.counts is not None:
            rates = self.per_class_rate
            present = rates[~np.isnan(rates)]
            lines.append(
                f"  per-class rate over {present.size} present classes: min {100 * present.min():.2f} %, "
                f"mean {100 * present.mean():.2f} %, max {100 * present.max():.2f} %"
            )
            off = self.counts.copy()
            np.fill_diagonal(off, 0)
            top = np.argsort(off, axis=None)[::-1][:5]
            pairs = [
                f"{r}->{c}: {off[r, c]}" for r, c in zip(*np.unravel_index(top, off.shape)) if off[r, c] > 0
            ]
            if pairs:
                lines.append("  most frequent flips (clean->noisy: count): " + ", ".join(pairs))
        return "\n".join(lines)
