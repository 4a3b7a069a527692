"""The unit of replication in the aggregation: nested rows are averaged within their unit, never pooled."""

import pytest

from nmtune.report.aggregate import paired_differences, summarise, unit_means


def _row(method, pseed, hseed, task, acc, gamma=0.1):
    return {
        "encoder": f"g{gamma}_s{pseed}",  # one backbone per (gamma, pre-training seed)
        "suite": "s",
        "method": method,
        "selection": "paper",
        "fraction": 1.0,
        "noise": 0.0,
        "pretrain_noise": gamma,
        "pretrain_seed": pseed,
        "task": task,
        "seed": hseed,
        "id_accuracy": acc,
    }


# pre-training seeds 0 and 1; head seeds 0, 1 nested in each; two tasks
ROWS = [
    _row("lp", 0, 0, "a", 0.50),
    _row("lp", 0, 1, "a", 0.60),
    _row("lp", 0, 0, "b", 0.70),
    _row("lp", 0, 1, "b", 0.80),
    _row("lp", 1, 0, "a", 0.40),
    _row("lp", 1, 1, "a", 0.40),
    _row("lp", 1, 0, "b", 0.60),
    _row("lp", 1, 1, "b", 0.60),
    _row("nm", 0, 0, "a", 0.60),
    _row("nm", 0, 1, "a", 0.60),
    _row("nm", 0, 0, "b", 0.90),
    _row("nm", 0, 1, "b", 0.90),
    _row("nm", 1, 0, "a", 0.40),
    _row("nm", 1, 1, "a", 0.50),
    _row("nm", 1, 0, "b", 0.70),
    _row("nm", 1, 1, "b", 0.60),
]
STUDY = dict(unit="pretrain_seed", within=("task", "seed"), ignore=("encoder",))


def test_unit_means_average_tasks_and_head_seeds_within_each_pretraining_seed():
    values, settings = unit_means([r for r in ROWS if r["method"] == "lp"], "id_accuracy", **STUDY)
    (key,) = values
    assert values[key] == pytest.approx({0: 0.65, 1: 0.50})  # (.5+.6+.7+.8)/4, (.4+.4+.6+.6)/4
    assert settings[key]["pretrain_noise"] == 0.1 and "encoder" not in settings[key]


def test_summary_over_pretraining_seeds_counts_two_units_not_eight_rows():
    (lp,) = [s for s in summarise(ROWS, ("id_accuracy",), **STUDY) if s["method"] == "lp"]
    assert lp["n_seeds"] == 2 and lp["unit"] == "pretrain_seed" and lp["n_tasks"] == 2
    assert lp["id_accuracy_mean"] == pytest.approx(0.575)
    assert lp["id_accuracy_std"] == pytest.approx(0.10606601717798213)  # std(0.65, 0.50), ddof 1


def test_paired_differences_per_pretraining_seed():
    (cell,) = paired_differences(ROWS, "nm", "lp", "id_accuracy", **STUDY).values()
    # seed 0: (.1 + 0 + .2 + .1)/4 = .1; seed 1: (0 + .1 + .1 + 0)/4 = .05
    assert cell["values"] == pytest.approx({0: 0.10, 1: 0.05})
    assert (cell["n"], cell["wins"], cell["unit"]) == (2, 2, "pretrain_seed")
    assert cell["mean"] == pytest.approx(0.075)
    # t(0.975, 1) = 12.706; sd = 0.035355; half-width = 12.706 * 0.035355 / sqrt(2) = 0.31766
    assert cell["hi"] - cell["mean"] == pytest.approx(0.317655, rel=1e-4)


def test_the_default_unit_is_the_head_seed_as_before():
    rows = [dict(r, encoder="one") for r in ROWS if r["pretrain_seed"] == 0]
    (cell,) = paired_differences(rows, "nm", "lp", "id_accuracy").values()
    assert cell["unit"] == "seed" and cell["values"] == pytest.approx({0: 0.15, 1: 0.05})


def test_cells_of_methods_with_params_are_usable_keys():
    rows = [dict(r, params={"batch_size": 128}) if r["method"] == "nm" else r for r in ROWS]
    (cell,) = paired_differences(rows, "nm", "lp", "id_accuracy", **STUDY)
    assert dict(cell)["params"] == (("batch_size", 128),)
