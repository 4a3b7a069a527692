import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtune.datasets import stratified_fraction, stratified_split

labels_st = st.lists(st.integers(0, 6), min_size=1, max_size=300).map(np.array)


def reference_count(n_c, fraction):
    return n_c if fraction == 1.0 else max(1, math.floor(fraction * n_c + 0.5))


@settings(max_examples=60, deadline=None)
@given(labels_st, st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]), st.integers(0, 2**31 - 1))
def test_per_class_counts_and_every_class_kept(labels, fraction, seed):
    idx = stratified_fraction(labels, fraction, random_state=seed)
    assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
    for c in np.unique(labels):
        assert np.sum(labels[idx] == c) == reference_count(np.sum(labels == c), fraction)


@settings(max_examples=40, deadline=None)
@given(labels_st, st.integers(0, 2**31 - 1))
def test_nested(labels, seed):
    subsets = [set(stratified_fraction(labels, f, random_state=seed)) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    assert all(a <= b for a, b in zip(subsets, subsets[1:]))


def test_seeded_and_different_seeds_differ():
    y = np.repeat(np.arange(4), 50)
    a = stratified_fraction(y, 0.25, random_state=3)
    np.testing.assert_array_equal(a, stratified_fraction(y, 0.25, random_state=3))
    assert not np.array_equal(a, stratified_fraction(y, 0.25, random_state=4))
    assert len(a) == 52  # 12.5 rounds half up to 13 per class


def test_bad_fraction():
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]"):
        stratified_fraction([0, 1], 0.0)
    with pytest.raises(TypeError, match="random_state"):
        stratified_fraction([0, 1], 0.5, random_state="x")


def test_split_partitions_and_stratifies():
    y = np.repeat(np.arange(3), [10, 20, 31])
    tr, te = stratified_split(y, 0.2, random_state=0)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(y)))
    assert np.bincount(y[te]).tolist() == [2, 4, 6]


def test_capped_names_live_in_datasets_and_keep_class_proportions():
    from nmtune.datasets import cap_indices, capped_name, dataset_fingerprint, list_datasets, load_dataset

    assert capped_name("optdigits", None) == "optdigits"
    name = capped_name("optdigits", 300)
    assert name == "cap:300:optdigits"
    assert "cap:<n>:<dataset>" in list_datasets.__globals__["_patterns"]()
    full, capped = load_dataset("optdigits", "train"), load_dataset(name, "train")
    idx = cap_indices(full.labels, 300, 0)
    np.testing.assert_array_equal(capped.labels, full.labels[idx])
    assert abs(len(capped) - 300) <= full.n_classes
    assert dataset_fingerprint(name).startswith("cap300-v1:")
    with pytest.raises(ValueError, match="'cap:<n>:<dataset>' with n >= 1"):
        load_dataset("cap:0:optdigits", "train")


def test_stratified_subset_exact_size_proportional_and_seeded():
    from nmtune.datasets import stratified_subset

    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    idx = stratified_subset(y, 40, 3)
    assert idx.size == 40 and np.all(np.diff(idx) > 0) and idx.dtype == np.int64
    assert np.bincount(y[idx]).tolist() == [20, 12, 6, 2]  # 40 % of every class
    assert np.array_equal(idx, stratified_subset(y, 40, 3))
    assert not np.array_equal(idx, stratified_subset(y, 40, 4))
    assert np.array_equal(stratified_subset(y, None), np.arange(100))
    assert np.array_equal(stratified_subset(y, 500), np.arange(100))
