import numpy as np
import pytest

from nmtune.apps.tune import load_tuned, tune_features


# The heads' paper defaults (batch 256, lr 1e-3) give one step per epoch on 200 rows; a smaller batch and a
# larger lr let NMTune learn in 5 epochs, so the accuracy check is meaningful and the test stays fast.
@pytest.mark.parametrize(
    "method,params",
    [
        ("logreg", {"C": 1.0}),
        ("nmtune", {"batch_size": 32, "lr": 0.01, "min_steps": 0}),
        ("lp", {"min_steps": 0}),
    ],
)
def test_tune_saves_and_reloads_with_identical_predictions(tmp_path, tune_files, method, params):
    if method != "logreg":
        heads = pytest.importorskip("nmtune.heads", reason="the neural heads are not installed")
        if not hasattr(heads, "NMTune"):
            pytest.skip("nmtune.heads does not export the heads yet")
    task = tune_files
    out = tune_features(
        tmp_path / "train.npz",
        out=tmp_path / "m.pt",
        method=method,
        params=params,
        epochs=5,
        eval_features=tmp_path / "test.npy",
        eval_labels=tmp_path / "test_y.npy",
    )
    assert out["metrics"]["eval"]["accuracy"] > 0.6 and out["config"]["n_train"] == 200
    loaded = load_tuned(tmp_path / "m.pt")
    assert loaded["metrics"] == out["metrics"] and loaded["config"]["method"] == method
    X = task.evals[1].X
    assert np.array_equal(out["estimator"].predict(X), loaded["estimator"].predict(X))
    if hasattr(out["estimator"], "predict_proba"):
        np.testing.assert_array_equal(out["estimator"].predict_proba(X), loaded["estimator"].predict_proba(X))


def test_load_tuned_never_unpickles(tmp_path):
    import torch

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    torch.save({"format": "nmtune-tuned-v1", "estimator": Evil()}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="unpickling can run code"):
        load_tuned(tmp_path / "old.pt")
    assert not (tmp_path / "pwned").exists()
