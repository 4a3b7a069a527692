"""Held-out halves: ``test-half:<dataset>`` splits the test split of ``<dataset>`` into a train and a test half.

For a downstream task whose training data must not overlap a backbone's pre-training data: the Fashion-MNIST
study pre-trains on Fashion-MNIST's train split and evaluates on its test split, halved (stratified, seed 0,
:func:`nmtune.datasets.stratified_split`): ``test-half:fashion-mnist`` split ``train`` is one half, split
``test`` the other. Datasets whose test split has the same labels in the same order (the corrupted
``fashion-mnist-c:<corruption>:<severity>`` sets) are halved into the same rows, so
``test-half:fashion-mnist-c:blur:2`` split ``test`` holds the blurred versions of the images of
``test-half:fashion-mnist`` split ``test``.
"""

from __future__ import annotations

from nmtune.datasets._base import dataset_fingerprint, dataset_splits, load_dataset, register_prefix
from nmtune.datasets.subsample import stratified_split

__all__: list[str] = []

_SPLITS = ("train", "test")


def _check(rest: str) -> str:
    if not rest:
        raise ValueError("A held-out half is named 'test-half:<dataset>', e.g. 'test-half:fashion-mnist'.")
    if "test" not in dataset_splits(rest):
        raise ValueError(
            f"'test-half:{rest}' needs a dataset with a test split; {rest!r} has {dataset_splits(rest)}."
        )
    return rest


def _load(rest: str, split: str):
    ds = load_dataset(_check(rest), "test")
    train, test = stratified_split(ds.labels, 0.5, random_state=0)
    return ds.subset(train if split == "train" else test)


def _splits(rest: str) -> tuple[str, ...]:
    _check(rest)
    return _SPLITS


def _fingerprint(rest: str) -> str:
    return f"test-half-v1:{dataset_fingerprint(_check(rest))}"


register_prefix("test-half", _load, _splits, _fingerprint, "test-half:<dataset>")
