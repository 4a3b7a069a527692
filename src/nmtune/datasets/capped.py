"""Capped datasets: ``cap:<n>:<dataset>`` is a fixed stratified subsample (seed 0) of about ``n`` rows.

The protocol applies its per-domain caps *before* encoding through this name, so the feature cache stores
and reuses exactly the capped features and a capped grid never encodes a whole corpus.
"""

from __future__ import annotations

from nmtune.datasets._base import dataset_fingerprint, dataset_splits, load_dataset, register_prefix
from nmtune.datasets.subsample import cap_indices

__all__ = ["capped_name"]


def _split_rest(rest: str) -> tuple[int, str]:
    n, sep, base = rest.partition(":")
    if not sep or not n.isdigit() or int(n) < 1:
        raise ValueError(f"A capped dataset name is 'cap:<n>:<dataset>' with n >= 1; received 'cap:{rest}'.")
    return int(n), base


def _load(rest: str, split: str):
    n, base = _split_rest(rest)
    ds = load_dataset(base, split)
    return ds.subset(cap_indices(ds.labels, n, 0))


def _fingerprint(rest: str) -> str:
    n, base = _split_rest(rest)
    return f"cap{n}-v1:{dataset_fingerprint(base)}"


def capped_name(dataset: str, cap: int | None) -> str:
    """The dataset name of a fixed stratified subsample of about ``cap`` rows (``dataset`` if cap is None)."""
    return dataset if cap is None else f"cap:{int(cap)}:{dataset}"


register_prefix(
    "cap", _load, lambda rest: dataset_splits(_split_rest(rest)[1]), _fingerprint, "cap:<n>:<dataset>"
)
