"""Bad input gets a clear error: what was wrong, what was received, how to fix it."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from nmtune import LinearProbe, MLPTuning, NMTune


@pytest.fixture
def data(rng):
    X = rng.normal(size=(40, 6)).astype(np.float32)
    y = np.arange(40) % 2
    return X, y


def fit(X, y, **kw):
    return NMTune(epochs=1, random_state=0, device="cpu", **kw).fit(X, y)


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
        ({"lr": -1}, "lr must be a number > 0; got -1"),
        ({"epochs": 0}, "epochs must be an integer >= 1; got 0"),
        ({"svd_top_k": 0}, "svd_top_k must be an integer >= 1"),
        ({"early_stopping": True}, "needs a validation split"),
        ({"validation_fraction": 0.9}, "validation_fraction must be a number > 0 and <= 0.5"),
    ],
)
def test_bad_option_values(data, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        NMTune(**{"epochs": 1, "device": "cpu", **kw}).fit(*data)


def test_cuda_without_gpu(data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA device.*device='cpu'"):
        MLPTuning(device="cuda", epochs=1).fit(*data)
