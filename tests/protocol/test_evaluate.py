"""One evaluation path: ``nmtune run`` (run_one) and ``nmtune tune`` report the same metrics for one head."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from nmtune.apps.tune import tune_features
from nmtune.protocol import RunSpec, example_task, run_one
from nmtune.protocol.evaluate import evaluate_domain, macro_f1
from nmtune.spectrum import spectrum_metrics


def test_macro_f1_averages_over_the_true_classes_only():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 0, 3, 3])  # class 2 never predicted, class 3 never true
    expected = f1_score(y_true, y_pred, average="macro", labels=[0, 1, 2], zero_division=0)
    assert macro_f1(y_true, y_pred) == pytest.approx(expected)
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 2 / 3 + 0.0) / 3)


class _Constant:
    """A fitted 'classifier' predicting one class and transforming by a fixed matrix."""

    def __init__(self, label, W):
        self.label, self.W = label, W

    def predict(self, X):
        return np.full(len(X), self.label)

    def transform(self, X):
        return np.asarray(X) @ self.W


def test_evaluate_domain_metrics_and_spectrum_of_the_seen_features(rng):
    X = rng.normal(size=(50, 6)).astype(np.float32)
    y = np.repeat([0, 1], 25)
    W = rng.normal(size=(6, 4))
    m, spectrum = evaluate_domain(_Constant(1, W), X, y, transforms=True)
    ref = spectrum_metrics(X.astype(np.float64) @ W)
    assert m["accuracy"] == 0.5 and m["n"] == 50
    assert m["macro_f1"] == pytest.approx(f1_score(y, np.ones(50), average="macro"))
    assert m["sve"] == pytest.approx(ref["sve"], rel=1e-5) and m["lsvr"] == pytest.approx(
        ref["lsvr"], rel=1e-5
    )
    assert len(spectrum) == 4 and sum(spectrum) == pytest.approx(1.0, abs=1e-4)
    m_lin, _ = evaluate_domain(_Constant(1, W), X, y, transforms=False)
    assert m_lin["sve"] == pytest.approx(spectrum_metrics(X)["sve"], rel=1e-5)


def test_run_and_tune_give_identical_metrics_for_the_same_head(tmp_path):
    task = example_task(n_train=200)
    ood = task.evals[1]
    np.savez(tmp_path / "train.npz", X=task.X_train, y=task.y_train)
    np.save(tmp_path / "ood.npy", ood.X)
    np.save(tmp_path / "ood_y.npy", ood.y)
    tuned = tune_features(
        tmp_path / "train.npz",
        out=tmp_path / "m.pt",
        method="logreg",
        params={"C": 1.0},
        eval_features=tmp_path / "ood.npy",
        eval_labels=tmp_path / "ood_y.npy",
    )
    record = run_one(task, RunSpec(encoder=task.encoder, suite=task.suite, task=task.name, method="logreg"))
    assert record["status"] == "done", record["error"]
    ran = record["domains"][ood.name]
    for key in ("accuracy", "macro_f1", "sve", "lsvr", "rankme"):
        assert tuned["metrics"]["eval"][key] == ran[key], key
