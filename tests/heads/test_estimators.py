"""The heads as scikit-learn estimators: the contract checks, determinism, input kinds, persistence."""

import numpy as np
import pytest
import torch
from _heads_helpers import fast_head, fast_params
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmtune import LinearProbe, MLPTuning, NMTune
from nmtune.heads import get_head, list_heads, load

#: The selecting heads run many fits per check: their contract test is in tests/heads/test_cv.py (slow tier).
SELECTING = {n for n in list_heads() if get_head(n).cls.__name__ == "NMTuneCV"}


def _fast(cls, **kw):
    """Few epochs on tiny data: small batches so that each epoch makes several steps."""
    kw = {"epochs": 8, "min_steps": 0, "batch_size": 32, "random_state": 0, "device": "cpu", **kw}
    if cls is not LinearProbe:
        kw.setdefault("lr", 1e-2)
        kw.setdefault(
            "hidden_dim", 32
        )  # the paper's width D is a bottleneck on the 2-D data of sklearn's checks
    return cls(**kw)


@parametrize_with_checks(
    [
        fast_head(name, **({"epochs": 8} if get_head(name).neural else {}))
        for name in list_heads()
        if name not in SELECTING
    ]
)
def test_sklearn_contract(estimator, check):
    """Every registered head (but the selecting ones, slow) passes scikit-learn's estimator checks."""
    check(estimator)


@pytest.mark.parametrize("name", sorted(set(list_heads()) - SELECTING))
def test_every_head_learns_and_is_deterministic(name, blobs, monkeypatch):
    # a fixed thread count: the automatic one follows the load, and torch's sums differ in the last bits between
    # 1 and 2 threads (LP-FT: 1.5e-8 in the probabilities; once 3e-6 in CI), so a seed repeats a fit only at a
    # fixed count (n_threads or NMTUNE_NUM_THREADS)
    monkeypatch.setenv("NMTUNE_NUM_THREADS", "1")
    X, y, Xt, yt = blobs
    a = fast_head(name, **({"epochs": 20} if get_head(name).neural else {})).fit(X, y)
    assert a.score(Xt, yt) > 0.9
    if "random_state" in fast_params(name):
        b = fast_head(name, **({"epochs": 20} if get_head(name).neural else {})).fit(X, y)
        np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


HEADS = [LinearProbe, MLPTuning, NMTune]


@pytest.mark.parametrize("cls", HEADS)
def test_learns_blobs(cls, blobs):
    X, y, Xt, yt = blobs
    est = _fast(cls, epochs=20).fit(X, y)
    assert est.score(Xt, yt) > 0.95
    assert est.predict_proba(Xt).shape == (len(Xt), 3)
    np.testing.assert_allclose(est.predict_proba(Xt).sum(1), 1.0, rtol=1e-6)
    assert len(est.history_) == 20 and "loss" in est.history_[0]


@pytest.mark.parametrize("cls", HEADS)
def test_same_seed_same_predictions(cls, blobs):
    X, y, Xt, _ = blobs
    a = _fast(cls, epochs=3).fit(X, y).predict_proba(Xt)
    b = _fast(cls, epochs=3).fit(X, y).predict_proba(Xt)
    c = _fast(cls, epochs=3, random_state=1).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_global_rng_untouched(blobs):
    X, y, _, _ = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checks the legacy global RNG
    _fast(NMTune, epochs=2).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    torch.testing.assert_close(torch.rand(3), expected)


def test_string_labels_and_transform(blobs):
    X, y, Xt, _ = blobs
    names = np.array(["cat", "dog", "eel"])[y]
    est = _fast(NMTune, epochs=5).fit(X, names)
    assert set(est.predict(Xt)) <= set(names)
    assert list(est.classes_) == ["cat", "dog", "eel"]
    Z = est.transform(Xt)
    assert Z.shape == Xt.shape and Z.dtype == np.float32
    np.testing.assert_array_equal(_fast(LinearProbe, epochs=1).fit(X, names).transform(Xt), Xt)


@pytest.mark.parametrize("kind", ["float16", "float64", "torch", "memmap"])
def test_input_kinds_give_same_model(kind, blobs, tmp_path):
    X, y, Xt, _ = blobs
    X16 = X.astype(np.float16).astype(np.float32)  # representable in float16 so every kind holds equal values
    ref = _fast(NMTune, epochs=3).fit(X16, y).predict_proba(Xt)
    if kind == "float16":
        Xk = X16.astype(np.float16)
    elif kind == "float64":
        Xk = X16.astype(np.float64)
    elif kind == "torch":
        Xk = torch.from_numpy(X16)
    else:
        Xk = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=X16.shape)
        Xk[:] = X16
        Xk.flush()
        Xk = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_allclose(
        _fast(NMTune, epochs=3).fit(Xk, y).predict_proba(Xt), ref, rtol=1e-5, atol=1e-6
    )


def test_validation_split_and_early_stopping(blobs):
    X, y, _, _ = blobs
    est = _fast(MLPTuning, epochs=200, validation_fraction=0.2, early_stopping=True, patience=2, lr=0.05).fit(
        X, y
    )
    assert est.n_epochs_ < 200
    assert {"val_loss", "val_accuracy"} <= set(est.history_[-1])
    best = min(h["val_loss"] for h in est.history_)
    assert best == pytest.approx(min(h["val_loss"] for h in est.history_[: est.n_epochs_]))


@pytest.mark.parametrize("cls", HEADS)
def test_save_load_identical(cls, blobs, tmp_path):
    X, y, Xt, _ = blobs
    est = _fast(cls, epochs=3).fit(X, y)
    est.save(tmp_path / "head.pt")
    back = load(tmp_path / "head.pt")
    assert type(back) is cls
    np.testing.assert_array_equal(back.predict_proba(Xt), est.predict_proba(Xt))


def test_authors_preset_and_ablation_options(blobs):
    X, y, Xt, yt = blobs
    preset = NMTune.authors_preset(epochs=5, min_steps=0, random_state=0, device="cpu")
    assert (preset.lam, preset.cov_weight, preset.svd_weight, preset.svd_top_k, preset.arch) == (
        1.0,
        0.04,
        0.001,
        5,
        "authors",
    )
    preset.fit(X, y)
    assert preset.model_.transform.mlp[0].out_features == 4 * X.shape[1]
    for kw in (
        {"activation": "linear"},
        {"n_layers": 1},
        {"n_layers": 3},
        {"mse_weight": 0, "svd_weight": 0},
    ):
        assert _fast(NMTune, epochs=10, **kw).fit(X, y).score(Xt, yt) > 0.9


def test_regulariser_changes_the_spectrum(blobs):
    """A large svd weight must raise σ₁'s share of Z compared with plain MLP tuning (same seed)."""
    X, y, _, _ = blobs
    from nmtune.losses import singular_value_loss

    mlp = _fast(MLPTuning, epochs=30).fit(X, y)
    nm = _fast(NMTune, epochs=30, lam=1.0, mse_weight=0, cov_weight=0, svd_weight=5.0).fit(X, y)
    share = lambda est: -singular_value_loss(torch.from_numpy(est.transform(X)).double()).item()  # noqa: E731
    assert share(nm) > share(mlp) + 0.05


@pytest.mark.parametrize("cls", HEADS)
def test_feature_names_out_and_pandas_output(cls, blobs):
    pd = pytest.importorskip("pandas")
    X, y, Xt, _ = blobs
    cols = [f"f{i}" for i in range(X.shape[1])]
    est = _fast(cls, epochs=1).fit(pd.DataFrame(X, columns=cols), y)
    names = est.get_feature_names_out()
    expected = cols if cls is LinearProbe else [f"{cls.__name__.lower()}{i}" for i in range(X.shape[1])]
    assert list(names) == expected
    out = est.set_output(transform="pandas").transform(pd.DataFrame(Xt, columns=cols))
    assert list(out.columns) == expected and out.shape == Xt.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memmaps_of_any_float_dtype_stream_without_a_whole_copy(tmp_path, blobs, dtype, monkeypatch):
    import warnings

    from nmtune.heads import _data

    X, y, Xt, _ = blobs
    path = tmp_path / "X.npy"
    np.save(path, X.astype(dtype))
    mm = np.load(path, mmap_mode="r")
    copies = []
    original = np.ascontiguousarray
    monkeypatch.setattr(
        _data.np, "ascontiguousarray", lambda a, *k, **kw: copies.append(a.shape) or original(a, *k, **kw)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's "NumPy array is not writable"
        est = _fast(MLPTuning, epochs=1).fit(mm, y)
        est.predict(np.load(path, mmap_mode="r"))
    assert (len(X), X.shape[1]) not in copies  # the whole matrix was never materialised
    ref = _fast(MLPTuning, epochs=1).fit(X.astype(dtype), y)
    np.testing.assert_allclose(est.predict_proba(Xt), ref.predict_proba(Xt), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [MLPTuning, NMTune])
def test_default_heads_pass_sklearns_training_check(cls):
    """Default construction (the step budget included) learns sklearn's blobs: no collapse to one class."""
    from sklearn.utils.estimator_checks import check_classifiers_train

    check_classifiers_train(cls.__name__, cls(random_state=0, device="cpu"))
