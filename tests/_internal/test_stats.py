"""The minimum detectable effect: the t-test has exactly the stated power at that effect."""

import math

import numpy as np
import pytest
from scipy import stats

from nmtune._internal.stats import minimum_detectable_effect, t_interval


@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_mde_gives_the_stated_power(n):
    values = np.random.default_rng(n).standard_normal(n)
    mde = minimum_detectable_effect(values, power=0.8)
    sd, df = values.std(ddof=1), n - 1
    crit = stats.t.ppf(0.975, df)
    delta = mde * math.sqrt(n) / sd
    power = stats.nct.sf(crit, df, delta) + stats.nct.cdf(-crit, df, delta)
    assert power == pytest.approx(0.8, abs=1e-6)


def test_mde_by_simulation_at_three_seeds():
    """At the MDE, about 80 % of simulated 3-seed studies reject 0 (the interval excludes 0)."""
    rng = np.random.default_rng(0)
    sd, n = 1.0, 3
    mde = minimum_detectable_effect(np.array([-1.0, 0.0, 1.0]))  # sample sd exactly 1
    hits = 0
    for _ in range(4000):
        _, lo, hi = t_interval(rng.normal(mde, sd, n))
        hits += lo > 0 or hi < 0
    assert 0.77 < hits / 4000 < 0.83


def test_mde_edge_cases():
    assert math.isnan(minimum_detectable_effect([1.0]))
    assert minimum_detectable_effect([0.2, 0.2, 0.2]) == 0.0
    assert minimum_detectable_effect([1.0, 2.0, float("nan"), 3.0]) == minimum_detectable_effect([1, 2, 3])
    # more seeds, same spread: a smaller detectable effect
    assert minimum_detectable_effect([0, 1] * 5) < minimum_detectable_effect([0, 1, 0])
