"""The study's figures: the files, intervals that are the 95 % t-intervals over seeds, no blank panel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nmtune.apps.study import StudyConfig
from nmtune.apps.study.figures import mean_and_interval, write_figures
from nmtune.apps.study.forest import forest_plot
from nmtune.apps.study.verdict import claim_verdicts

plt = pytest.importorskip("matplotlib.pyplot")


def _values():
    r = np.random.default_rng(0)
    values = {m: {} for m in ("lp", "mlp", "nmtune")}
    spectra = {}
    for g in (0.0, 0.1, 0.3):
        for s in range(3):
            spectra[(g, s)] = (3.0 + g + 0.01 * r.standard_normal(), 1.5 + g + 0.02 * r.standard_normal())
            for i, m in enumerate(values):
                values[m][(g, s)] = (
                    0.9 - 0.1 * g + 0.01 * i + 0.01 * r.standard_normal(),
                    0.6 - 0.2 * g + 0.01 * i,
                )
    return values, spectra


def test_intervals_are_t_intervals_over_seeds():
    table = np.array([[0.80, 0.82, 0.81], [0.70, 0.75, 0.72], [0.5, np.nan, np.nan]])
    m, lo, hi = mean_and_interval(table)
    for i in range(2):
        ref = stats.t.interval(0.95, 2, loc=table[i].mean(), scale=stats.sem(table[i]))
        assert m[i] == pytest.approx(table[i].mean()) and (lo[i], hi[i]) == pytest.approx(ref)
    assert m[2] == 0.5 and np.isnan(lo[2])  # one seed: no interval, not a zero-width one


def test_writes_every_figure_and_none_is_blank(tmp_path, hand_data):
    data, _ = hand_data(*_values())
    cfg = StudyConfig(methods=("lp", "mlp", "nmtune"))
    paths = write_figures(data, tmp_path, cfg, verdicts=claim_verdicts(data))
    assert [p.name for p in paths] == [
        "fig2_lp_vs_gamma.png",
        "fig3_spectrum_vs_gamma.png",
        "fig5_methods_per_gamma.png",
        "fig_ood_vs_lsvr.png",
        "forest_claims.png",
        "forest_heads.png",
    ]
    for p in paths:
        img = plt.imread(p)
        assert img.shape[1] > 600 and img[..., :3].std() > 0.05


def test_forest_plot_draws_rows_without_an_interval(tmp_path):
    rows = [{"label": "a", "effect": 1.0, "lo": -0.5, "hi": 2.5}, {"label": "b", "effect": -1.0}]
    path = forest_plot([{"xlabel": "points", "rows": rows}], tmp_path / "f.png", title="t", caption="c")
    assert plt.imread(path)[..., :3].std() > 0.05
