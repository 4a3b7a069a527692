"""Caption swaps: a permutation with exactly round(rate * n) mis-paired items."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtune.noise import pair_swap_noise


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_exact_mispairs(n, rate, seed):
    m = math.floor(rate * n + 0.5)
    if m == 1:
        with pytest.raises(ValueError, match="impossible"):
            pair_swap_noise(n, rate, random_state=seed)
        return
    perm, report = pair_swap_noise(n, rate, random_state=seed)
    assert perm.dtype == np.int64 and perm.shape == (n,)
    assert np.array_equal(np.sort(perm), np.arange(n))  # a permutation
    assert int(np.sum(perm != np.arange(n))) == m == report.n_flipped
    assert report.realised_rate == pytest.approx(m / n)
    assert report.kind == "pair_swap" and report.n_classes is None and report.transition is None


def test_every_mispair_is_uniform_over_items():
    """Each item is equally likely to be mis-paired (selection is uniform)."""
    hits = np.zeros(10)
    for seed in range(2000):
        perm, _ = pair_swap_noise(10, 0.3, random_state=seed)
        hits += perm != np.arange(10)
    np.testing.assert_allclose(hits / 2000, 0.3, atol=0.05)


def test_reproducible():
    a, _ = pair_swap_noise(100, 0.2, random_state=5)
    b, _ = pair_swap_noise(100, 0.2, random_state=np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_single_item_message_names_working_rates():
    with pytest.raises(ValueError, match=r"rate < 0\.025 for 0 items or rate >= 0\.075 for 2 items"):
        pair_swap_noise(20, 0.05)
    with pytest.raises(ValueError, match="n=1"):
        pair_swap_noise(1, 1.0)
    perm, report = pair_swap_noise(1, 0.0)
    assert perm.tolist() == [0] and report.n_flipped == 0


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10"])
def test_bad_n(n):
    with pytest.raises(ValueError, match="positive int"):
        pair_swap_noise(n, 0.1)


def test_str_and_dict():
    _, report = pair_swap_noise(50, 0.2, random_state=0)
    assert "10 of 50 items mis-paired" in str(report)
    assert report.to_dict() == {
        "kind": "pair_swap",
        "requested_rate": 0.2,
        "realised_rate": 0.2,
        "n_samples": 50,
        "n_flipped": 10,
        "n_classes": None,
    }
