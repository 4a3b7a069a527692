import math

import numpy as np
import pytest
from scipy import stats

from nmtune.protocol import example_task, run_grid
from nmtune.protocol.config import GridConfig
from nmtune.report import build_report, paired_differences, results_table, summarise, t_interval, unit_rows
from nmtune.results import ResultsStore


def _row(method, seed, task="t", id_acc=0.5, ood_acc=0.4):
    return {
        "encoder": "e",
        "suite": "s",
        "task": task,
        "selection": "paper",
        "fraction": 1.0,
        "noise": 0.0,
        "seed": seed,
        "method": method,
        "id_accuracy": id_acc,
        "ood_accuracy": ood_acc,
    }


def test_t_interval_matches_scipy():
    v = [0.1, 0.3, -0.05, 0.2]
    m, lo, hi = t_interval(v)
    ref = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert m == pytest.approx(np.mean(v)) and (lo, hi) == pytest.approx(ref)
    assert math.isnan(t_interval([0.2])[1])


def test_summary_averages_tasks_per_seed_then_seeds():
    rows = [
        _row("lp", 0, "a", 0.6),
        _row("lp", 0, "b", 0.8),
        _row("lp", 1, "a", 0.5),
        _row("lp", 1, "b", 0.5),
    ]
    (s,) = summarise(rows)
    assert s["n_seeds"] == 2 and s["n_tasks"] == 2
    assert s["id_accuracy_mean"] == pytest.approx(0.6)
    assert s["id_accuracy_std"] == pytest.approx(np.std([0.7, 0.5], ddof=1))


def test_paired_differences_match_units_and_show_losses():
    rows = [_row("lp", s, ood_acc=0.5) for s in range(6)]
    rows += [_row("nmtune", s, ood_acc=0.5 - 0.01 * (s + 1)) for s in range(6)]
    rows.append(_row("nmtune", 9, ood_acc=0.99))  # no matching baseline unit: ignored
    (cell,) = paired_differences(rows, "nmtune", "lp", "ood_accuracy")
    d = paired_differences(rows, "nmtune", "lp", "ood_accuracy")[cell]
    assert dict(cell)["encoder"] == "e" and dict(cell)["fraction"] == 1.0
    assert d["n"] == 6 and d["mean"] == pytest.approx(-0.035) and d["wins"] == 0 and d["hi"] < 0
    assert d["unit"] == "seed"


def test_settings_that_differ_in_any_field_are_never_merged():
    """Two grids differing only in epochs, in one store: two summary rows, an epochs column, separate pairs."""
    rows = [{**_row("lp", s, id_acc=0.76), "epochs": 5} for s in range(2)]
    rows += [{**_row("lp", s, id_acc=0.9075), "epochs": 50} for s in range(2)]
    summary = summarise(rows)
    assert sorted(round(r["id_accuracy_mean"], 4) for r in summary) == [0.76, 0.9075]
    head, body = results_table(rows)
    assert "epochs" in head and {r[head.index("epochs")] for r in body} == {"5", "50"}
    rows += [{**_row("nmtune", s, id_acc=0.8), "epochs": e} for s in range(2) for e in (5, 50)]
    diffs = paired_differences(rows, "nmtune", "lp", "id_accuracy")
    assert sorted(round(d["mean"], 4) for d in diffs.values()) == [-0.1075, 0.04]


def test_paired_differences_average_tasks_within_a_seed_then_interval_over_seeds():
    rows = []
    for s, (da, db) in enumerate([(0.02, 0.04), (0.00, 0.02), (0.01, 0.05)]):
        for task, d in (("a", da), ("b", db)):
            rows += [_row("lp", s, task, ood_acc=0.5), _row("nmtune", s, task, ood_acc=0.5 + d)]
    (d,) = paired_differences(rows, "nmtune", "lp", "ood_accuracy").values()
    per_seed = [0.03, 0.01, 0.03]
    m, lo, hi = t_interval(per_seed)
    assert (
        d["n"] == 3 and d["n_tasks"] == 2 and d["mean"] == pytest.approx(m) and d["lo"] == pytest.approx(lo)
    )


@pytest.mark.slow
def test_report_from_a_real_grid(tmp_path):
    tasks = [example_task("a", n_train=100), example_task("b", n_train=100, noise_scale=0.5)]
    cfg = GridConfig(methods=("logreg",), fractions=(0.5, 1.0), seeds=(0,))
    run_grid(cfg, tasks=tasks, store=tmp_path / "r.sqlite", progress=False)
    paths = build_report(tmp_path / "r.sqlite", tmp_path / "rep")
    md = paths.markdown.read_text()
    assert "Selection mode(s): paper" in md and "| pixels | sk-digits | logreg | paper | 0.5 |" in md
    rows = unit_rows(ResultsStore(tmp_path / "r.sqlite").records())
    (full,) = [s for s in summarise(rows) if s["fraction"] == 1.0]
    assert f"{100 * full['id_accuracy_mean']:.2f} ± n/a" in md  # one seed: no spread to show, not "± 0.00"
    assert "± 0.00" not in md
    page = paths.html.read_text()
    assert "<table>" in page and "`" not in page  # inline code is rendered, never raw backticks
    assert "<code>paper</code>" in page and "max-width:100%" in page
    assert page.count("<figcaption>") == len(paths.figures) >= 2
    assert "## Per task" in md and "| a | logreg |" in md.replace("| pixels | sk-digits ", "")
    assert "## Run time" in md
    names = {p.name for p in paths.figures}
    assert {"accuracy_vs_fraction_pixels_sk-digits.png", "sve_lsvr_pixels_sk-digits.png"} <= names
    assert "accuracy_vs_noise_pixels_sk-digits.png" not in names  # one noise rate: no such figure
    assert all(p.stat().st_size > 1000 for p in paths.figures)


def test_report_closes_the_store_it_opened_even_when_it_fails(tmp_path, monkeypatch):
    import nmtune.report.build as build

    tasks = [example_task("a", n_train=100)]
    run_grid(
        GridConfig(methods=("logreg",), seeds=(0,)), tasks=tasks, store=tmp_path / "r.sqlite", progress=False
    )
    closed = []
    real_close = ResultsStore.close
    monkeypatch.setattr(ResultsStore, "close", lambda self: (closed.append(self.path), real_close(self)))

    def broken(*args):
        raise RuntimeError("figure backend exploded")

    monkeypatch.setattr(build, "report_figures", broken)
    with pytest.raises(RuntimeError, match="exploded"):
        build_report(tmp_path / "r.sqlite", tmp_path / "rep")
    assert len(closed) == 1


def test_report_of_an_empty_store_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="run a grid first"):
        build_report(tmp_path / "empty.sqlite", tmp_path / "rep")


def test_methods_with_their_own_step_budgets_are_still_paired():
    rows = [{**_row("lp", s, ood_acc=0.5), "min_steps": 250} for s in range(3)]
    rows += [{**_row("nmtune", s, ood_acc=0.52), "min_steps": 1000} for s in range(3)]
    rows += [{**_row("logreg", s, ood_acc=0.49), "min_steps": None} for s in range(3)]
    (cell,) = paired_differences(rows, "nmtune", "lp", "ood_accuracy")
    assert dict(cell)["min_steps"] == 1000 and dict(cell)["baseline_min_steps"] == 250
    assert paired_differences(rows, "nmtune", "logreg", "ood_accuracy")[
        next(iter(paired_differences(rows, "nmtune", "logreg", "ood_accuracy")))
    ]["mean"] == pytest.approx(0.03)
