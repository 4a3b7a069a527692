"""Bad input gets a clear error: what was wrong, what was received, how to fix it."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from nmtune import LinearProbe, MLPTuning, NMTune


@pytest.fixture
def data(rng):
    X = rng.normal(size=(40, 6)).astype(np.float32)
    y = np.arange(40) % 2
    return X, y


def fit(X, y, **kw):
    return NMTune(epochs=1, min_steps=0, random_state=0, device="cpu", **kw).fit(X, y)


@pytest.mark.parametrize("value,word", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_features(data, value, word):
    X, y = data
    X[3, 2] = value
    with pytest.raises(ValueError, match=rf"contains {word} \(first at row 3, column 2\).*impute"):
        fit(X, y)


def test_length_mismatch(data):
    X, y = data
    with pytest.raises(ValueError, match="X has 40 samples, y has 39 labels"):
        fit(X, y[:-1])


def test_single_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="at least 2 classes.*got 1 class"):
        fit(X, np.zeros(40, dtype=int))


def test_three_d_input(data):
    X, y = data
    with pytest.raises(ValueError, match=r"dim 3.*reshape\(len\(X\), -1\)"):
        fit(X.reshape(40, 3, 2), y)


def test_continuous_labels(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type.*class labels.*0.5"):
        fit(X, np.linspace(0.5, 3.3, 40))


def test_feature_count_changes(data):
    X, y = data
    est = fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but NMTune is expecting 6 features"):
        est.predict(X[:, :5])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform", "decision_function"])
def test_predict_before_fit(data, method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(LinearProbe(), method)(data[0])


def test_unknown_option_names():
    with pytest.raises(TypeError, match="lamda"):
        NMTune(lamda=0.1)
    with pytest.raises(ValueError, match="Invalid parameter 'lamda'.*Valid parameters are"):
        NMTune().set_params(lamda=0.1)


@pytest.mark.parametrize(
    "kw,pattern",
    [
        ({"schedule": "cos"}, "Unknown schedule 'cos'. Did you mean 'cosine'"),
        ({"device": "gpu"}, "Unknown device 'gpu'.*'cuda'"),
        ({"arch": "author"}, "Unknown arch 'author'. Did you mean 'authors'"),
        ({"activation": "tanh"}, "Unknown activation 'tanh'"),
        ({"lr": -1}, "lr must be a number > 0; received -1"),
        ({"epochs": 0}, "epochs must be an integer >= 1; received 0"),
        ({"svd_top_k": 0}, "svd_top_k must be an integer >= 1"),
        ({"early_stopping": True}, "needs a validation split"),
        ({"validation_fraction": 0.9}, "validation_fraction must be a number > 0 and <= 0.5"),
    ],
)
def test_bad_option_values(data, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        NMTune(**{"epochs": 1, "min_steps": 0, "device": "cpu", **kw}).fit(*data)


def test_cuda_without_gpu(data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA device.*device='cpu'"):
        MLPTuning(device="cuda", epochs=1, min_steps=0).fit(*data)


# --- persistence refuses anything that is not a head file, and never unpickles ------------------------------


def test_load_refuses_garbage_truncated_and_pickled_files(tmp_path, data):
    from nmtune.heads import load

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file at all")
    with pytest.raises(ValueError, match="not an nmtune head file"):
        load(garbage)
    head = fit(*data)
    good = tmp_path / "head.pt"
    head.save(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not an nmtune head file"):
        load(truncated)
    pickled = tmp_path / "pickled.pt"
    torch.save({"class": "NMTune", "obj": _Evil()}, pickled)
    with pytest.raises(ValueError, match="unpickling can run code"):
        load(pickled)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(FileNotFoundError, match="No head file"):
        load(tmp_path / "missing.pt")


class _Evil:
    def __reduce__(self):
        return (open, ("pwned", "w"))


def test_load_refuses_a_foreign_class_or_parameters(tmp_path, data):
    import json

    from nmtune.heads import load
    from nmtune.heads._persist import head_state

    state = head_state(fit(*data))
    meta = json.loads(state["meta"])
    for change, word in (({"class": "os.system"}, "class"), ({"params": {"lamda": 1}}, "unknown parameters")):
        bad = {**state, "meta": json.dumps({**meta, **change})}
        torch.save(bad, tmp_path / "bad.pt")
        with pytest.raises(ValueError, match=word):
            load(tmp_path / "bad.pt")


def test_save_into_a_folder_is_refused(tmp_path, data):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        fit(*data).save(tmp_path)


def test_sample_weight_is_refused_with_a_hint(data):
    X, y = data
    with pytest.raises(TypeError, match="resample"):
        NMTune(epochs=1, min_steps=0, device="cpu").fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize("lr", [float("inf"), float("nan")])
def test_non_finite_learning_rate_is_refused(data, lr):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        NMTune(lr=lr, epochs=1, min_steps=0, device="cpu").fit(*data)


@pytest.mark.parametrize("cls", [LinearProbe, MLPTuning, NMTune])
def test_huge_features_are_refused_with_a_hint(data, cls):
    X, y = data
    with pytest.raises(ValueError, match="up to .*e\\+30 in magnitude.*Standardise"):
        cls(epochs=1, min_steps=0, device="cpu").fit(X * np.float32(1e30), y)


def test_divergence_is_reported_not_silent(data):
    from nmtune.exceptions import TrainingDivergedError

    X, y = data
    with pytest.raises(TrainingDivergedError, match="Standardise the features"):
        NMTune(epochs=3, min_steps=0, lr=1e12, device="cpu", random_state=0).fit(X * np.float32(1e12), y)
