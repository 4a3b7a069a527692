"""Exact label noise: counts, no self-flips, reports consistent with the labels (property tests)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtune.noise import NoiseReport, asymmetric_noise, pair_flip_transition, symmetric_noise

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def labelled(draw, max_k=1000, max_n=3000):
    k = draw(st.integers(2, max_k))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    y = np.random.default_rng(seed).integers(0, k, size=n)
    rate = draw(st.floats(0.0, 1.0))
    return y, k, rate, seed


def _reference_report(y, y_noisy, k):
    """Slow, loop-based reference for the report fields."""
    counts = np.zeros((k, k), dtype=np.int64)
    for a, b in zip(y, y_noisy):
        counts[a, b] += 1
    per_class = []
    for c in range(k):
        members = [i for i in range(len(y)) if y[i] == c]
        per_class.append(sum(y_noisy[i] != c for i in members) / len(members) if members else math.nan)
    return counts, np.array(per_class)


def _check_report(report, y, y_noisy, k, rate):
    m = math.floor(rate * y.size + 0.5)
    counts, per_class = _reference_report(y, y_noisy, k)
    assert report.n_samples == y.size
    assert report.n_flipped == int(np.sum(y != y_noisy))
    assert report.realised_rate == pytest.approx(report.n_flipped / y.size)
    assert report.requested_rate == rate
    assert report.n_classes == k
    np.testing.assert_array_equal(report.counts, counts)
    np.testing.assert_allclose(report.per_class_rate, per_class, equal_nan=True)
    t = report.transition
    assert t.shape == (k, k)
    present = report.class_counts > 0
    np.testing.assert_allclose(t[present].sum(axis=1), 1.0, atol=1e-12)
    assert np.all(t[~present] == 0)
    return m


@SETTINGS
@given(labelled())
def test_symmetric_exact_count_no_self_flip(case):
    y, k, rate, seed = case
    y_noisy, report = symmetric_noise(y, rate, n_classes=k, random_state=seed)
    m = _check_report(report, y, y_noisy, k, rate)
    assert report.n_flipped == m  # every selected label really changes: no self-flips
    assert y_noisy.dtype == np.int64 and y_noisy.shape == y.shape
    assert y_noisy.min() >= 0 and y_noisy.max() < k


@SETTINGS
@given(labelled())
def test_pair_flip_exact_count_and_targets(case):
    y, k, rate, seed = case
    y_noisy, report = asymmetric_noise(y, rate, n_classes=k, random_state=seed)
    m = _check_report(report, y, y_noisy, k, rate)
    assert report.n_flipped == m and report.kind == "pair_flip"
    changed = y != y_noisy
    np.testing.assert_array_equal(y_noisy[changed], (y[changed] + 1) % k)


@st.composite
def transitions(draw):
    k = draw(st.integers(2, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    t = r.random((k, k)) * (r.random((k, k)) < 0.5)
    if draw(st.booleans()):
        np.fill_diagonal(t, 0.0)
    empty = t.sum(axis=1) == 0
    t[empty, (np.flatnonzero(empty) + 1) % k] = 1.0
    t /= t.sum(axis=1, keepdims=True)
    n = draw(st.integers(1, 2000))
    return r.integers(0, k, size=n), k, t, draw(st.floats(0.0, 1.0)), seed


@SETTINGS
@given(transitions())
def test_transition_matrix_noise(case):
    y, k, t, rate, seed = case
    y_noisy, report = asymmetric_noise(y, rate, transition=t, random_state=seed)
    m = _check_report(report, y, y_noisy, k, rate)
    assert report.n_flipped <= m
    if np.all(np.diag(t) == 0):
        assert report.n_flipped == m
    # every change follows an edge of the user matrix
    changed = y != y_noisy
    assert np.all(t[y[changed], y_noisy[changed]] > 0)


def test_transition_follows_matrix_in_distribution():
    k, n = 4, 40_000
    y = np.arange(n) % k
    t = np.array(
        [[0.0, 0.5, 0.5, 0.0], [0.2, 0.0, 0.0, 0.8], [0.0, 0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3, 0.0]]
    )
    _, report = asymmetric_noise(y, 1.0, transition=t, random_state=0)
    assert report.n_flipped == n
    np.testing.assert_allclose(report.transition, t, atol=0.02)


def test_transition_with_diagonal_realised_rate_below_rate():
    y = np.arange(10_000) % 5
    t = np.full((5, 5), 0.2)  # keeps 20 % of the selected labels
    _, report = asymmetric_noise(y, 0.5, transition=t, random_state=1)
    assert report.realised_rate == pytest.approx(0.5 * 0.8, abs=0.02)


def test_pair_flip_matrix_equals_default():
    y = np.random.default_rng(0).integers(0, 7, size=500)
    a, ra = asymmetric_noise(y, 0.3, random_state=3)
    b, rb = asymmetric_noise(y, 0.3, transition=pair_flip_transition(7), random_state=3)
    np.testing.assert_array_equal(ra.counts, rb.counts)
    assert ra.n_flipped == rb.n_flipped == 150


def test_symmetric_uniform_over_other_classes():
    k, n = 5, 50_000
    y = np.zeros(n, dtype=int)
    y_noisy, report = symmetric_noise(y, 1.0, n_classes=k, random_state=0)
    assert report.n_flipped == n
    np.testing.assert_allclose(report.transition[0, 1:], 0.25, atol=0.01)


def test_many_classes_flip_exactly_unlike_truncating_generators():
    """1000 classes, 5 %: per-class-pair truncation would flip ~0 labels; this flips exactly 5 %."""
    y = np.repeat(np.arange(1000), 10)
    for rate in (0.05, 0.1, 0.2, 0.3):
        _, report = symmetric_noise(y, rate, random_state=0)
        assert report.n_flipped == round(rate * y.size)


def test_rounding_half_up_and_edges():
    y = np.arange(10) % 2
    assert symmetric_noise(y, 0.25, random_state=0)[1].n_flipped == 3  # 2.5 -> 3
    assert symmetric_noise(y, 0.0, random_state=0)[1].n_flipped == 0
    assert symmetric_noise(y, 1.0, random_state=0)[1].n_flipped == 10


def test_reproducible_and_global_rng_untouched():
    y = np.arange(300) % 3
    state = np.random.get_state()  # noqa: NPY002
    a, _ = symmetric_noise(y, 0.4, random_state=7)
    b, _ = symmetric_noise(y, 0.4, random_state=np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, symmetric_noise(y, 0.4, random_state=8)[0])
    after = np.random.get_state()  # noqa: NPY002
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_input_labels_not_modified():
    y = np.arange(50) % 5
    y0 = y.copy()
    symmetric_noise(y, 0.5, random_state=0)
    asymmetric_noise(y, 0.5, random_state=0)
    assert np.array_equal(y, y0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"rate": -0.1}, ValueError, "rate must be a number >= 0 and <= 1; received -0.1"),
        ({"rate": 20}, ValueError, "percentage"),
        ({"rate": float("nan")}, ValueError, "rate must be a finite number; received nan"),
        ({"rate": "0.1"}, TypeError, "number"),
        ({"rate": 0.1, "n_classes": 1}, ValueError, "n_classes must be >= 2"),
        ({"rate": 0.1, "n_classes": 3}, ValueError, r"\[0, 3\)"),
        ({"rate": 0.1, "random_state": "seed"}, TypeError, "random_state must be None"),
        ({"rate": 0.1, "random_state": -1}, ValueError, "non-negative"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        symmetric_noise(np.arange(5), **kwargs)


def test_bad_labels():
    with pytest.raises(ValueError, match="1-D"):
        symmetric_noise(np.zeros((3, 2), dtype=int), 0.1)
    with pytest.raises(ValueError, match="empty"):
        symmetric_noise(np.array([], dtype=int), 0.1)
    with pytest.raises(TypeError, match="return_inverse"):
        symmetric_noise(np.array(["a", "b"]), 0.1)
    with pytest.raises(ValueError, match="non-integer"):
        symmetric_noise(np.array([0.0, 1.5]), 0.1)
    with pytest.raises(ValueError, match="negative"):
        symmetric_noise(np.array([0, -1, 2]), 0.1)
    with pytest.raises(ValueError, match="Pass n_classes"):
        symmetric_noise(np.zeros(4, dtype=int), 0.1)
    y, _ = symmetric_noise(np.array([0.0, 1.0, 2.0]), 1.0, random_state=0)  # integral floats are fine
    assert y.dtype == np.int64


def test_bad_transition():
    y = np.arange(6) % 3
    with pytest.raises(ValueError, match="square"):
        asymmetric_noise(y, 0.1, transition=np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="sum to 1"):
        asymmetric_noise(y, 0.1, transition=np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        asymmetric_noise(y, 0.1, transition=[[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="n_classes = 4"):
        asymmetric_noise(y, 0.1, n_classes=4, transition=np.eye(3))
    with pytest.raises(ValueError, match="transition is 2 x 2 but the labels hold class 2"):
        asymmetric_noise(y, 0.1, transition=np.eye(2))


def test_report_to_dict_is_json_and_str_readable():
    y = np.array([0, 0, 1, 1, 2, 2, 4, 4])  # class 3 absent
    y_noisy, report = symmetric_noise(y, 0.5, n_classes=5, random_state=0)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["n_flipped"] == 4 and d["n_classes"] == 5 and d["kind"] == "symmetric"
    assert d["per_class_rate"][3] is None
    assert len(d["transition"]) == 5 and d["transition"][3] == [0.0] * 5
    sparse = report.to_dict(transition="sparse")
    assert sum(c for _, _, c in sparse["flip_counts"]) == 4 and "transition" not in sparse
    assert "transition" not in report.to_dict(transition="none")
    text = str(report)
    assert "4 of 8 labels changed" in text and "50.00 %" in text and "K = 5" in text
    with pytest.raises(ValueError, match="dense"):
        report.to_dict(transition="full")


def test_report_is_frozen_and_readonly():
    _, report = symmetric_noise(np.arange(20) % 4, 0.5, random_state=0)
    with pytest.raises(AttributeError):
        report.n_flipped = 0
    with pytest.raises(ValueError):
        report.counts[0, 0] = 5


def test_report_from_arbitrary_labels():
    report = NoiseReport.from_labels([0, 1, 2, 2], [0, 2, 2, 0])
    assert report.n_flipped == 2 and report.n_classes == 3 and math.isnan(report.requested_rate)
    np.testing.assert_allclose(report.per_class_rate, [0, 1, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        NoiseReport.from_labels([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="n_flipped"):
        NoiseReport(
            kind="x", requested_rate=0.1, n_samples=2, n_flipped=0, n_classes=2, counts=[[1, 1], [0, 0]]
        )


def test_a_transition_smaller_than_the_classes_is_explained():
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match="transition is 2 x 2 but the labels hold class 2.*3 x 3"):
        asymmetric_noise(y, 0.2, transition=np.eye(2), random_state=0)
