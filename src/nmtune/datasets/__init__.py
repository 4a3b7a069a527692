"""Labelled downstream datasets addressed by name: ``load_dataset(name, split) -> Dataset``.

See ``docs/datasets.md`` for the built-in names, the derived domain-shift names and the generic loaders.
"""

from nmtune.datasets._base import Dataset, dataset_fingerprint, dataset_splits, list_datasets, load_dataset
from nmtune.datasets.subsample import stratified_fraction, stratified_split

__all__ = [
    "Dataset",
    "load_dataset",
    "list_datasets",
    "dataset_splits",
    "dataset_fingerprint",
    "stratified_fraction",
    "stratified_split",
]
