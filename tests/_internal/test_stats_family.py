"""The tests behind the study's verdicts: t-test, Holm, pooled variance, partial correlation, McNemar, bootstrap."""

import math

import numpy as np
import pytest
from scipy import stats

from nmtune._internal.stats import (
    bootstrap_weights,
    holm,
    mcnemar,
    mde_from_se,
    minimum_detectable_effect,
    paired_bootstrap,
    partial_correlation,
    pooled_residual_sd,
    t_test,
)


def test_t_test_is_scipys_one_sample_test_and_adds_extra_variance_to_the_standard_error():
    v = [0.3, 0.1, 0.5, 0.2]
    res = t_test(v)
    ref = stats.ttest_1samp(v, 0.0)
    assert res["p"] == pytest.approx(ref.pvalue) and res["df"] == 3 and res["mean"] == pytest.approx(0.275)
    lo, hi = stats.t.interval(0.95, 3, loc=np.mean(v), scale=stats.sem(v))
    assert (res["lo"], res["hi"]) == pytest.approx((lo, hi))
    wider = t_test(v, extra_variance=0.01)
    assert wider["se"] == pytest.approx(math.sqrt(np.var(v, ddof=1) / 4 + 0.01))
    assert wider["p"] > res["p"]
    assert math.isnan(t_test([0.2])["p"]) and t_test([0.0, 0.0])["p"] == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.03, 0.5 with m = 4: 0.04, max(0.04, 0.06) = 0.06, max(0.06, 0.06) = 0.06, 0.5
    adj = holm([0.03, 0.5, 0.01, 0.02])
    np.testing.assert_allclose(adj, [0.06, 0.5, 0.04, 0.06])
    adj = holm([0.01, float("nan"), 0.04])  # a claim that could not be tested does not count in m
    assert adj[0] == pytest.approx(0.02) and math.isnan(adj[1]) and adj[2] == pytest.approx(0.04)
    assert holm([0.6, 0.7])[1] == 1.0  # capped at 1... and monotone
    assert holm([0.6, 0.7])[0] == 1.0


def test_pooled_residual_sd_of_an_additive_table_by_hand():
    # y = cell effect + unit effect + residual e with e = [[1, -1], [-1, 1]] (rows and columns sum to 0)
    cell, unit = np.array([[0.0], [5.0]]), np.array([[2.0, -3.0]])
    e = np.array([[1.0, -1.0], [-1.0, 1.0]])
    sd, df = pooled_residual_sd(cell + unit + e)
    assert df == 1 and sd == pytest.approx(2.0)  # sum e^2 = 4 over (2-1)(2-1) = 1 df
    assert pooled_residual_sd(cell + unit) == (0.0, 1)
    assert math.isnan(pooled_residual_sd([[1.0, 2.0]])[0])


def test_mde_from_se_matches_the_one_sample_mde():
    v = np.array([0.1, 0.4, 0.2])
    se = v.std(ddof=1) / math.sqrt(3)
    assert mde_from_se(se, 2) == pytest.approx(minimum_detectable_effect(v))
    assert mde_from_se(se, 10) < mde_from_se(se, 2)
    assert math.isnan(mde_from_se(se, 0))


def test_partial_correlation_removes_the_factor():
    # within each group y rises with x, but the groups' means fall: across all the correlation is negative
    x = np.array([0.0, 1, 2, 10, 11, 12])
    y = np.array([10.0, 11, 12.5, 0, 1, 2])
    g = np.array([0, 0, 0, 1, 1, 1])
    assert stats.pearsonr(x, y).statistic < -0.9
    res = partial_correlation(x, y, g)
    rx, ry = x - np.repeat([1, 11], 3), y - np.repeat([11.166666666666666, 1], 3)
    assert res["r"] == pytest.approx(stats.pearsonr(rx, ry).statistic)
    assert res["r"] > 0.98 and res["df"] == 3  # n - G - 1
    t = res["r"] * math.sqrt(3 / (1 - res["r"] ** 2))
    assert res["p"] == pytest.approx(2 * stats.t.sf(t, 3))
    assert res["lo"] < res["r"] < res["hi"]  # Fisher z with se 1/sqrt(n - G - 2) = 1/sqrt(2)
    assert math.isnan(partial_correlation(x[:3], y[:3], g[:3])["lo"])  # df 1: no interval (n - G - 2 = 1 ok)


def test_mcnemar_by_hand():
    a = np.array([1, 1, 1, 1, 1, 0, 1, 0], dtype=bool)
    b = np.array([1, 0, 0, 0, 0, 0, 1, 1], dtype=bool)
    res = mcnemar(a, b)
    assert (res["a_only"], res["b_only"]) == (4, 1)
    assert res["p"] == pytest.approx(0.375)  # 2 * P(X >= 4), X ~ Bin(5, 1/2) = 2 * 6/32
    assert res["difference"] == pytest.approx(3 / 8)
    assert mcnemar(a, a)["p"] == 1.0


def test_bootstrap_weights_and_the_paired_bootstrap():
    w = bootstrap_weights(50, 200, 0)
    assert w.shape == (200, 50) and np.all(w.sum(1) == 50)
    rng = np.random.default_rng(1)
    a = rng.random(400) < 0.8
    b = rng.random(400) < 0.7
    res = paired_bootstrap(a, b, n_boot=2000, random_state=0)
    assert res["difference"] == pytest.approx(a.mean() - b.mean())
    assert res["lo"] < res["difference"] < res["hi"]
    # the standard error of a mean of per-sample differences: sd / sqrt(N)
    assert res["se"] == pytest.approx(np.std(a.astype(float) - b, ddof=1) / 20, rel=0.1)
    same = paired_bootstrap(a, a)
    assert same["lo"] == same["hi"] == 0.0
