"""Labelled downstream datasets addressed by name: ``load_dataset(name, split) -> Dataset``.

See ``docs/datasets.md`` for the built-in names, the derived domain-shift names and the generic loaders.
"""

from nmtune.datasets._base import (
    Dataset,
    dataset_fingerprint,
    dataset_splits,
    list_datasets,
    load_dataset,
    register_dataset,
    register_prefix,
)
from nmtune.datasets.capped import capped_name
from nmtune.datasets.groups import dataset_groups
from nmtune.datasets.subsample import cap_indices, stratified_fraction, stratified_split, stratified_subset

__all__ = [
    "Dataset",
    "load_dataset",
    "list_datasets",
    "dataset_splits",
    "dataset_fingerprint",
    "stratified_fraction",
    "stratified_subset",
    "stratified_split",
    "cap_indices",
    "capped_name",
    "dataset_groups",
    "register_dataset",
    "register_prefix",
]
