"""The ``nmtune-cv`` method in the protocol: it is registered, and a task's groups reach its folds."""

import numpy as np
import pytest

from nmtune.protocol import RunSpec, run_one
from nmtune.protocol.methods import build_estimator, get_method
from nmtune.protocol.tasks import make_task


def _task(groups):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    Xt = rng.normal(size=(40, 6)).astype(np.float32)
    evals = {"test": (Xt, (Xt[:, 0] > 0).astype(int), "id")}
    return make_task("toy", X, y, evals, encoder="e", suite="s", groups_train=groups(y))


def test_the_method_builds_nmtune_cv_and_passes_the_step_budget_to_its_heads():
    spec = get_method("nmtune-cv")
    assert spec.transforms and spec.neural
    est = build_estimator(spec, {"cv": 3}, random_state=4, device="cpu", epochs=2, min_steps=0)
    assert type(est).__name__ == "NMTuneCV" and (est.cv, est.random_state) == (3, 4)
    assert est.lp_params == {"epochs": 2, "min_steps": 0} == est.nmtune_params


def test_run_uses_the_task_groups():
    spec = RunSpec("e", "s", "toy", "nmtune-cv", params=(("cv", 2),), epochs=2, min_steps=0)
    rec = run_one(_task(lambda y: y * 10 + np.arange(len(y)) % 3), spec)
    assert rec["status"] == "done", rec["error"]
    inner = rec["selected"]["inner"]["candidate"]
    assert inner == "lp" or inner.startswith(("l2ps-C", "nmtune")), (
        inner
    )  # the default family (per-sample L2)
    assert rec["selected"]["inner"]["averaged"]  # the default averages the candidates within one SE
    assert 0.5 < rec["selected"]["inner_score"] <= 1.0
    # one group per class: group-aware folds are impossible, and the run says so (the groups reached the fit)
    bad = run_one(_task(lambda y: y.copy()), spec)
    assert bad["status"] == "failed" and "at least 2 groups per class" in bad["error"]


def test_groups_must_match_the_training_rows():
    with pytest.raises(
        ValueError, match=r"groups_train must hold one group per training row, shape \(120,\)"
    ):
        _task(lambda y: y[:-1])


def test_the_changed_default_has_run_ids_of_its_own():
    """Runs of nmtune-cv stored before its default changed are not taken for runs of the current one."""
    import hashlib
    import json

    from nmtune.protocol.runner import METHOD_REVISIONS

    spec = RunSpec("e", "s", "toy", "nmtune-cv")
    cfg = spec.config()
    assert cfg["method_revision"] == METHOD_REVISIONS["nmtune-cv"] == 2
    cfg.pop("method_revision")
    before = hashlib.sha256(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:20]
    assert spec.run_id != before
    assert "method_revision" not in RunSpec("e", "s", "toy", "lp").config()  # other methods keep their ids
