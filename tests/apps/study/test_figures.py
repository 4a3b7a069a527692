"""The study's figures: the three PNGs and error bars that are the 95 % t-intervals over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nmtune.apps.study.figures import _series, write_figures

plt = pytest.importorskip("matplotlib.pyplot")


def _summary():
    r = np.random.default_rng(0)
    gammas = (0.0, 0.1, 0.3)
    out = {}
    for key, base in (("id_lp", 0.9), ("ood_lp", 0.6), ("id_mlp", 0.88), ("ood_mlp", 0.62), ("sve_id", 3.0)):
        out[key] = {g: list(base - 0.2 * g + 0.01 * r.standard_normal(3)) for g in gammas}
    out["lsvr_ood"] = {g: list(1.5 + g + 0.02 * r.standard_normal(3)) for g in gammas}
    return out


def test_error_bars_are_t_intervals_over_seeds():
    table = {0.0: [0.80, 0.82, 0.81], 0.2: [0.70, 0.75, 0.72]}
    x, m, el, eh = _series(table)
    np.testing.assert_allclose(x, [0, 20])
    for g, mean, lo_half, hi_half in zip(table, m, el, eh):
        v = table[g]
        lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
        assert mean == pytest.approx(np.mean(v))
        assert (lo_half, hi_half) == pytest.approx((mean - lo, hi - mean))


def test_one_seed_draws_no_error_bar_instead_of_nan():
    _, _, el, eh = _series({0.0: [0.8], 0.1: [0.7]})
    assert np.all(el == 0) and np.all(eh == 0)


def test_writes_three_nonblank_figures(tmp_path):
    paths = write_figures(_summary(), tmp_path)
    assert [p.name for p in paths] == [
        "fig2_lp_vs_gamma.png",
        "fig3_spectrum_vs_gamma.png",
        "fig5_methods_per_gamma.png",
    ]
    for p in paths:
        img = plt.imread(p)
        assert img.shape[1] > 900 and img[..., :3].std() > 0.05


def test_figure_5_draws_every_method_of_the_study(tmp_path):
    """A study with nmtune-cv gets a bar for it; methods without a summary are left out, not drawn empty."""
    summary = _summary()
    summary["id_nmtune-cv"] = {g: [v + 0.05 for v in vals] for g, vals in summary["id_lp"].items()}
    summary["ood_nmtune-cv"] = {g: [v + 0.05 for v in vals] for g, vals in summary["ood_lp"].items()}
    for d in "abc":
        (tmp_path / d).mkdir()
    default = write_figures(summary, tmp_path / "a")
    more = write_figures(summary, tmp_path / "b", methods=("lp", "mlp", "nmtune", "nmtune-cv"))
    assert np.array_equal(plt.imread(default[0]), plt.imread(more[0]))  # Figure 2 is the probe's alone
    assert not np.array_equal(plt.imread(default[2]), plt.imread(more[2]))  # Figure 5 gained the bars
    write_figures(summary, tmp_path / "c", methods=("lp", "mlp", "nmtune-cv", "logreg"))  # no logreg: skipped
