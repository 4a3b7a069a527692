"""``nmtune.apps.tune``: every head round-trips through a tuned file; everything is checked before the fit."""

import json
import os

import numpy as np
import pytest
import torch

from nmtune.apps.tune import load_tuned, tune_features
from nmtune.heads import get_head, list_heads


def _tiny(name: str) -> dict:
    """Parameters that keep any head's fit to about a second on 200 rows (the step budget of the torch heads)."""
    spec = get_head(name)
    params = {"min_steps": 0, "batch_size": 32} if spec.neural else {}
    if spec.cls.__name__ == "NMTuneCV":
        params.update(cv=2, Cs=[0.1])
    if spec.cls.__name__ == "LogRegCV":
        params.update(cv=3, Cs=[0.1, 1.0])
    return params


@pytest.mark.parametrize("method", list_heads())
def test_every_head_round_trips_through_a_tuned_file(tmp_path, tune_files, method):
    params = _tiny(method)
    out = tune_features(
        tmp_path / "train.npz",
        out=tmp_path / "m.pt",
        method=method,
        params=params,
        epochs=3,
        eval_features=tmp_path / "test.npy",
        eval_labels=tmp_path / "test_y.npy",
    )
    assert out["config"]["n_train"] == 200 and out["metrics"]["eval"]["accuracy"] > 0.3
    loaded = load_tuned(tmp_path / "m.pt")
    assert loaded["metrics"] == out["metrics"] and loaded["config"]["method"] == method
    assert loaded["config"]["params"] == params
    X = tune_files.evals[1].X
    np.testing.assert_array_equal(out["estimator"].predict(X), loaded["estimator"].predict(X))
    np.testing.assert_array_equal(out["estimator"].predict_proba(X), loaded["estimator"].predict_proba(X))


@pytest.mark.parametrize(
    "method,params",
    [("logreg", {"C": 1.0}), ("nmtune", {"batch_size": 32, "lr": 0.01, "min_steps": 0})],
)
def test_tuned_heads_learn(tmp_path, tune_files, method, params):
    out = tune_features(
        tmp_path / "train.npz",
        out=tmp_path / "m.pt",
        method=method,
        params=params,
        epochs=5,
        eval_features=tmp_path / "test.npy",
        eval_labels=tmp_path / "test_y.npy",
    )
    assert out["metrics"]["eval"]["accuracy"] > 0.6


@pytest.fixture
def no_fit(monkeypatch):
    """Make every fit fail loudly: a check that must come before the fit shows that it did."""
    from sklearn.base import BaseEstimator

    def fail(self, *a, **k):
        raise AssertionError("fit was called")

    for name in list_heads():
        monkeypatch.setattr(get_head(name).cls, "fit", fail)
    monkeypatch.setattr(BaseEstimator, "fit", fail, raising=False)


def test_an_unwritable_out_is_refused_before_the_fit(tmp_path, tune_files, no_fit):
    (tmp_path / "afile").write_text("x")
    kw = {"method": "logreg"}
    with pytest.raises(OSError, match=r"afile.*m\.pt"):
        tune_features(tmp_path / "train.npz", out=tmp_path / "afile" / "m.pt", **kw)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        tune_features(tmp_path / "train.npz", out=tmp_path, **kw)
    if os.geteuid() != 0:  # root may write into read-only folders
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match=r"ro/m\.pt"):
                tune_features(tmp_path / "train.npz", out=ro / "m.pt", **kw)
        finally:
            ro.chmod(0o700)
    assert not (tmp_path / "afile").is_dir()


def test_a_head_that_cannot_be_saved_is_refused_before_the_fit(tmp_path, tune_files, no_fit):
    from sklearn.neighbors import KNeighborsClassifier

    from nmtune.heads import register_head
    from nmtune.heads.registry import HEADS
    from nmtune.protocol.methods import METHODS

    register_head("knn-tune-test", KNeighborsClassifier)
    try:
        with pytest.raises(TypeError, match="KNeighborsClassifier cannot be saved as a head file"):
            tune_features(tmp_path / "train.npz", out=tmp_path / "m.pt", method="knn-tune-test")
    finally:
        HEADS.unregister("knn-tune-test")
        METHODS.unregister("knn-tune-test")
    kw = {"out": tmp_path / "m.pt", "method": "nmtune-cv"}
    with pytest.raises(
        ValueError, match="Cs must be a sequence of positive numbers"
    ):  # the head's own checks
        tune_features(tmp_path / "train.npz", params={"Cs": [object()]}, **kw)
    with pytest.raises(TypeError, match=r"Cannot save parameter nmtune_params\['lam'\]=<object"):
        tune_features(tmp_path / "train.npz", params={"nmtune_params": {"lam": object()}}, **kw)
    assert not list(tmp_path.glob("m.pt"))


def test_continuous_labels_are_refused_before_the_fit(tmp_path, tune_files, no_fit):
    (tmp_path / "y.txt").write_text("\n".join(str(v) for v in np.linspace(0, 1, 200)))
    with pytest.raises(ValueError, match="continuous"):
        tune_features(
            tmp_path / "train.npz", labels=tmp_path / "y.txt", out=tmp_path / "m.pt", method="logreg"
        )


def test_load_tuned_never_unpickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    torch.save({"format": "nmtune-tuned-v1", "estimator": Evil()}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="unpickling can run code"):
        load_tuned(tmp_path / "old.pt")
    assert not (tmp_path / "pwned").exists()


def test_tampered_tuned_files_give_errors_naming_the_file(tmp_path, tune_files):
    tune_features(tmp_path / "train.npz", out=tmp_path / "m.pt", method="logreg")
    good = torch.load(tmp_path / "m.pt", weights_only=True)
    head_meta = json.loads(good["head"]["meta"])
    bad_shape = {**good["head"]["state_dict"], "mean": torch.zeros(3, dtype=torch.float64)}
    cases = {
        "json.pt": ({**good, "meta": "{not json"}, "unreadable description"),
        "keys.pt": ({**good, "meta": json.dumps({"config": {}})}, "unreadable description.*metrics"),
        "nohead.pt": ({k: v for k, v in good.items() if k != "head"}, "no head in it"),
        "shape.pt": ({**good, "head": {**good["head"], "state_dict": bad_shape}}, "tensor 'mean' has shape"),
        "class.pt": (
            {**good, "head": {**good["head"], "meta": json.dumps({**head_meta, "class": "eval"})}},
            "class 'eval' is not a head class",
        ),
        "format.pt": ({**good, "format": "other"}, "not a head saved by nmtune tune"),
    }
    for name, (state, pattern) in cases.items():
        torch.save(state, tmp_path / name)
        with pytest.raises(ValueError, match=rf"{name}.*{pattern}|{pattern}.*"):
            load_tuned(tmp_path / name)
        with pytest.raises(ValueError) as info:
            load_tuned(tmp_path / name)
        assert name in str(info.value)


def test_a_logistic_regression_saved_by_the_earlier_format_still_loads(tmp_path, tune_files):
    """Files of earlier versions stored logreg as four tensors beside the JSON; they load into a LogReg."""
    out = tune_features(tmp_path / "train.npz", out=tmp_path / "new.pt", method="logreg", params={"C": 0.5})
    est = out["estimator"]
    tensors = {
        "mean": torch.from_numpy(est.scaler_.mean_),
        "scale": torch.from_numpy(est.scaler_.scale_),
        "coef": torch.from_numpy(est.model_.coef_),
        "intercept": torch.from_numpy(est.model_.intercept_),
    }
    old = {
        "format": "nmtune-tuned-v2",
        "meta": json.dumps({"config": out["config"], "metrics": out["metrics"]}),
        "logreg": {
            "meta": json.dumps({"classes": est.classes_.tolist(), "classes_kind": "int"}),
            "tensors": tensors,
        },
    }
    torch.save(old, tmp_path / "old.pt")
    X = tune_files.evals[0].X
    np.testing.assert_array_equal(
        load_tuned(tmp_path / "old.pt")["estimator"].predict_proba(X), est.predict_proba(X)
    )
