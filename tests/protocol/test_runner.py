import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nmtune.protocol import RunSpec, expand_grid, get_method, list_methods, run_one
from nmtune.protocol import example_task as digits_task
from nmtune.protocol import runner as runner_mod
from nmtune.protocol.config import GridConfig


def test_run_id_is_a_hash_of_the_config_and_ignores_device():
    a = RunSpec("e", "s", "t", "lp", seed=0)
    assert a.run_id == RunSpec("e", "s", "t", "lp", seed=0, device="cuda").run_id
    assert a.run_id != RunSpec("e", "s", "t", "lp", seed=1).run_id
    assert a.run_id != RunSpec("e", "s", "t", "lp", seed=0, noise=0.1).run_id


def test_logreg_run_records_metrics_and_selects_c_on_train_split():
    task = digits_task()
    rec = run_one(task, RunSpec("pixels", "sk-digits", "digits", "logreg", seed=0))
    assert rec["status"] == "done", rec["error"]
    assert set(rec["domains"]) == {"test", "noisy"}
    d = rec["domains"]["test"]
    # reference: the same pipeline with the selected C, fitted by hand on the same rows
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=rec["selected"]["C"], max_iter=2000))
    ref.fit(task.X_train, task.y_train)
    assert d["accuracy"] == pytest.approx(np.mean(ref.predict(task.evals[0].X) == task.evals[0].y))
    assert d["accuracy"] > 0.85 and rec["id_accuracy"] == d["accuracy"]
    assert rec["ood_accuracy"] == rec["domains"]["noisy"]["accuracy"]
    assert len(rec["selection_scores"]) == 5
    best = max(s["val_accuracy"] for s in rec["selection_scores"])
    assert [s for s in rec["selection_scores"] if s["params"] == rec["selected"]][0]["val_accuracy"] == best
    # SVE/LSVR of the features logreg sees (F itself) match a direct numpy SVD
    s = np.linalg.svd(task.evals[0].X.astype(np.float64), compute_uv=False)
    p = s / s.sum()
    assert d["sve"] == pytest.approx(-(p[p > 0] * np.log(p[p > 0])).sum(), rel=1e-5)
    assert d["lsvr"] == pytest.approx(-np.log(p[0]), rel=1e-5)
    assert rec["spectra"]["test"][0] == pytest.approx(p[0], rel=1e-4)


def test_fraction_and_label_noise_are_applied_and_reported():
    task = digits_task()
    rec = run_one(task, RunSpec("pixels", "sk-digits", "digits", "logreg", fraction=0.5, noise=0.2, seed=3))
    assert rec["status"] == "done", rec["error"]
    assert rec["n_train"] == pytest.approx(150, abs=6)
    nr = rec["noise_report"]
    assert nr["n_flipped"] == round(0.2 * rec["n_train"])
    assert nr["realised_rate"] == pytest.approx(nr["n_flipped"] / rec["n_train"])


class _Standin:
    """LogisticRegression-backed head with transform, standing in for the neural heads."""

    def __init__(self, **kw):
        self.kw = kw
        self.clf = LogisticRegression(C=kw.get("lr", 1.0), max_iter=500)

    def fit(self, X, y):
        self.clf.fit(X, y)
        return self

    def predict(self, X):
        return self.clf.predict(X)

    def transform(self, X):
        return np.asarray(X, dtype=np.float32)[:, : X.shape[1] // 2] * 2.0


def test_transformed_features_are_measured_and_val_grid_is_searched(monkeypatch):
    calls = []

    def fake_build(method, params=None, **kw):
        calls.append(dict(params or {}))
        return _Standin(**dict(params or {}))

    monkeypatch.setattr(runner_mod, "build_estimator", fake_build)
    task = digits_task()
    rec = run_one(task, RunSpec("pixels", "sk-digits", "digits", "mlp", selection="val", seed=0))
    assert rec["status"] == "done", rec["error"]
    n_grid = len(get_method("mlp").candidates("val"))
    assert len(calls) == n_grid + 1 and rec["selected"] in calls[:-1]
    Z = task.evals[0].X[:, :32] * 2.0
    s = np.linalg.svd(Z.astype(np.float64), compute_uv=False)
    assert rec["domains"]["test"]["lsvr"] == pytest.approx(-np.log(s[0] / s.sum()), rel=1e-5)


def test_a_failing_run_is_recorded_not_raised(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner_mod, "build_estimator", broken)
    rec = run_one(digits_task(), RunSpec("pixels", "sk-digits", "digits", "lp"))
    assert rec["status"] == "failed" and "boom" in rec["error"]


def test_expand_grid_counts_and_rejects_unknown_methods():
    cfg = GridConfig(methods=("lp", "logreg"), fractions=(0.5, 1.0), seeds=(0, 1, 2), noise_rates=(0.0, 0.2))
    specs = expand_grid(cfg, [digits_task("a"), digits_task("b")])
    assert len(specs) == 2 * 2 * 2 * 3 * 2 and len({s.run_id for s in specs}) == len(specs)
    with pytest.raises(ValueError, match="Did you mean 'nmtune'"):
        expand_grid(GridConfig(methods=("nmtun",)), [digits_task()])
    assert {"lp", "mlp", "nmtune", "nmtune-authors", "logreg", "nmtune-no-svd", "mlp-linear"} <= set(
        list_methods()
    )
