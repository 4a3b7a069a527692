"""SVE, LSVR, RankMe: references from the definitions and property tests (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nmtune.spectrum import (
    largest_singular_value_ratio,
    rankme,
    singular_value_entropy,
    singular_values,
    spectrum_metrics,
)

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def feature_matrices(draw):
    n = draw(st.integers(2, 60))
    d = draw(st.integers(2, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    X = r.normal(size=(n, d)) * r.uniform(0.1, 10, size=d) + r.normal(size=d)
    return X, seed


def test_metrics_match_definitions():
    s = np.array([4.0, 2.0, 1.0, 1.0, 0.0])
    p = s / 8.0
    sve = -sum(x * math.log(x) for x in p if x > 0)
    assert singular_value_entropy(s) == pytest.approx(sve, rel=1e-12)
    assert largest_singular_value_ratio(s) == pytest.approx(-math.log(0.5), rel=1e-12)
    q = p + 1e-7
    assert rankme(s) == pytest.approx(math.exp(-sum(x * math.log(x) for x in q)), rel=1e-12)
    assert rankme(s, eps=0) == pytest.approx(math.exp(sve), rel=1e-12)


def test_extremes():
    assert singular_value_entropy([3.0, 0, 0]) == 0.0
    assert largest_singular_value_ratio([3.0, 0, 0]) == 0.0
    assert singular_value_entropy(np.ones(10)) == pytest.approx(math.log(10))
    assert largest_singular_value_ratio(np.ones(10)) == pytest.approx(math.log(10))
    assert rankme(np.ones(10), eps=0) == pytest.approx(10)


@SETTINGS
@given(feature_matrices(), st.booleans(), st.booleans())
def test_sorted_nonnegative_and_rotation_invariant(case, center, normalize_rows):
    X, seed = case
    s = singular_values(X, center=center, normalize_rows=normalize_rows)
    assert s.shape == (min(X.shape),)
    assert np.all(s >= 0) and np.all(np.diff(s) <= 0)
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(X.shape[1], X.shape[1])))
    s_rot = singular_values(X @ q, center=center, normalize_rows=normalize_rows)
    np.testing.assert_allclose(s_rot, s, rtol=1e-7, atol=1e-9 * s[0])
    a = spectrum_metrics(X, center=center, normalize_rows=normalize_rows)
    b = spectrum_metrics(X @ q, center=center, normalize_rows=normalize_rows)
    for key in ("sve", "lsvr", "rankme", "sigma_1"):
        assert a[key] == pytest.approx(b[key], rel=1e-7)


@SETTINGS
@given(
    arrays(np.float64, st.integers(1, 50), elements=st.floats(0, 1e6, allow_subnormal=False)),
    st.floats(1e-3, 1e3),
)
def test_scale_invariance(s, c):
    if s.sum() <= 0:
        with pytest.raises(ValueError, match="all singular values are zero"):
            singular_value_entropy(s)
        return
    assert singular_value_entropy(s * c) == pytest.approx(singular_value_entropy(s), abs=1e-9)
    assert largest_singular_value_ratio(s * c) == pytest.approx(largest_singular_value_ratio(s), abs=1e-9)
    assert 0 <= singular_value_entropy(s) <= math.log(s.size) + 1e-12
    assert 0 <= largest_singular_value_ratio(s) <= singular_value_entropy(s) + 1e-9  # -log p_max <= H(p)


def test_spectrum_metrics_dict():
    X = np.random.default_rng(0).normal(size=(40, 6))
    m = spectrum_metrics(X, center=True)
    assert set(m) == {"sve", "lsvr", "rankme", "sigma_1", "n_samples", "dim", "center", "normalize_rows"}
    assert m["n_samples"] == 40 and m["dim"] == 6 and m["center"] is True and m["normalize_rows"] is False
    s = singular_values(X, center=True)
    assert m["sve"] == pytest.approx(singular_value_entropy(s)) and m["sigma_1"] == pytest.approx(s[0])


def test_bad_spectra():
    for bad in ([], [[1.0]], [1.0, -1.0], [np.nan, 1.0], [0.0, 0.0]):
        with pytest.raises(ValueError):
            singular_value_entropy(bad)
    with pytest.raises(ValueError, match="eps"):
        rankme([1.0], eps=-1)
