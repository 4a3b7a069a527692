"""The eval-nmtune-cv presets: methods of the head registry, suites of the suite registry, and their report."""

import pytest

from nmtune.protocol import RunSpec, example_task, run_one
from nmtune.protocol.config import load_config
from nmtune.protocol.methods import list_methods
from nmtune.suites import get_suite, list_suites


@pytest.mark.parametrize("name", ["eval-nmtune-cv", "eval-nmtune-cv-images"])
def test_the_presets_name_registered_methods_and_suites(name):
    config = load_config(name)
    methods = [m if isinstance(m, str) else m[0] for m in config.methods]
    assert set(methods) <= set(list_methods()) and "nmtune-cv" in methods and "logreg-gcv" in methods
    assert set(config.suites) <= set(list_suites())


def test_the_glyph_suite_is_the_font_family_shift():
    (task,) = get_suite("glyphs").tasks
    assert task.train.dataset == "glyphs-id" and task.modality == "image"
    assert [(d.name, d.kind) for d in task.evals] == [("dejavu", "id"), ("stix", "ood"), ("cm", "ood")]


def test_the_report_pairs_seeds_and_counts_the_picks(load_script):
    report = load_script("benchmarks/report_nmtune_cv.py").report
    task = example_task(n_train=120)
    records = []
    for seed in (0, 1):
        for method, params in (
            ("logreg-c1", ()),
            ("nmtune-cv", (("Cs", (0.1,)), ("blend", False), ("cv", 2))),
        ):
            spec = RunSpec(
                "pixels", "sk-digits", task.name, method, seed=seed, params=params, epochs=1, min_steps=0
            )
            rec = run_one(task, spec)
            assert rec["status"] == "done", rec["error"]
            records.append(rec)
    text = report(records)
    assert "pixels x sk-digits: ood_accuracy" in text
    assert "nmtune-cv - logreg-c1" in text and "2 seeds (1 tasks)" in text
    assert "nmtune-cv picks: {" in text
    one_seed = report(records[:2])
    assert "[  n/a ]" in one_seed and "nan" not in one_seed
    assert "No finished runs" in report([])
