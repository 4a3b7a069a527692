"""Every registered head saves and loads (JSON + tensors, never pickled) and predicts identically; bad files are
refused in one place, naming the file and what is wrong."""

import json
import os

import numpy as np
import pytest
import torch
from _heads_helpers import fast_head

from nmtune.heads import list_heads, load
from nmtune.heads._persist import head_state, json_params


@pytest.fixture(scope="module")
def named_blobs():
    r = np.random.default_rng(0)
    centers = r.normal(scale=3.0, size=(3, 8))
    y = np.repeat(np.arange(3), 40)
    X = (centers[y] + r.normal(size=(len(y), 8))).astype(np.float32)
    return X, np.array(["ant", "bee", "cat"])[y]


@pytest.mark.parametrize("name", list_heads())
def test_every_head_round_trips(name, named_blobs, tmp_path):
    X, y = named_blobs
    est = fast_head(name).fit(X, y)
    est.save(tmp_path / "head.pt")
    back = load(tmp_path / "head.pt")
    assert type(back) is type(est) and json_params(back) == json_params(est)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    np.testing.assert_array_equal(back.transform(X), est.transform(X))
    assert list(back.classes_) == ["ant", "bee", "cat"]
    for attr in ("best_params_", "best_index_", "best_score_", "n_splits_"):
        if hasattr(est, attr):
            assert getattr(back, attr) == getattr(est, attr)
    if hasattr(est, "cv_results_"):
        assert set(back.cv_results_) == set(est.cv_results_)
        for key, value in est.cv_results_.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                np.testing.assert_array_equal(back.cv_results_[key], value)
                assert back.cv_results_[key].dtype == value.dtype
            else:
                assert list(back.cv_results_[key]) == list(value)


@pytest.mark.parametrize("refit", [False, "fold-ensemble"])
def test_nmtune_cv_without_a_refit_round_trips(refit, named_blobs, tmp_path):
    X, y = named_blobs
    est = fast_head("nmtune-cv", refit=refit).fit(X, y)
    est.save(tmp_path / "cv.pt")
    back = load(tmp_path / "cv.pt")
    assert back.best_params_ == est.best_params_ and back.refit == refit
    assert [c.name for c in back.candidates_] == [c.name for c in est.candidates_]
    for (a, b), (c, d) in zip(back.folds_, est.folds_):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    if refit:
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    else:
        with pytest.raises(ValueError, match="refit=False.*kept no model"):
            back.predict(X)


def test_a_splitter_as_cv_is_saved_as_its_number_of_folds(named_blobs, tmp_path):
    from sklearn.model_selection import StratifiedKFold

    X, y = named_blobs
    est = fast_head("nmtune-cv", cv=StratifiedKFold(3)).fit(X, y)
    est.save(tmp_path / "cv.pt")
    back = load(tmp_path / "cv.pt")
    assert back.cv == 3 and back.n_splits_ == 3
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def _saved(name, named_blobs, tmp_path, **kw):
    X, y = named_blobs
    est = fast_head(name, **kw).fit(X, y)
    state = head_state(est)
    return est, state


@pytest.mark.parametrize(
    "name,value", [("nmtune", float("nan")), ("logreg", float("inf")), ("nmtune-cv", np.nan)]
)
def test_non_finite_weights_are_refused_naming_the_file_and_tensor(name, value, named_blobs, tmp_path):
    _, state = _saved(name, named_blobs, tmp_path)
    key = next(k for k, v in state["state_dict"].items() if v.is_floating_point())
    state["state_dict"][key] = torch.full_like(state["state_dict"][key], value)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    word = "NaN" if np.isnan(value) else "infinite"
    with pytest.raises(ValueError, match=rf"bad\.pt.*tensor '{key}' holds {word} values"):
        load(path)


def test_a_tuned_file_points_at_its_loader(tmp_path, named_blobs):
    _, state = _saved("logreg", named_blobs, tmp_path)
    torch.save(
        {"format": "nmtune-tuned-v2", "meta": json.dumps({"config": {}, "metrics": {}}), "head": state},
        tmp_path / "t.pt",
    )
    with pytest.raises(ValueError, match=r"t\.pt.*written by `nmtune tune`.*nmtune\.apps\.tune\.load_tuned"):
        load(tmp_path / "t.pt")


def test_damaged_parts_are_refused(tmp_path, named_blobs):
    _, state = _saved("nmtune-cv", named_blobs, tmp_path, Cs=(0.1,))
    meta = json.loads(state["meta"])
    cases = [
        (
            {**meta, "best": {**meta["best"], "class": "subprocess.Popen"}},
            state["state_dict"],
            "is not a head class",
        ),
        ({**meta, "version": 99}, state["state_dict"], "format version 99"),
        ({k: v for k, v in meta.items() if k != "cv_results"}, state["state_dict"], "malformed NMTuneCV"),
        (
            meta,
            {k: v for k, v in state["state_dict"].items() if not k.startswith("folds/0")},
            "malformed NMTuneCV",
        ),
    ]
    _, lr_state = _saved("logreg", named_blobs, tmp_path)
    lr_tensors = {**lr_state["state_dict"], "coef": torch.zeros(2, 8, dtype=torch.float64)}
    cases.append(
        (json.loads(lr_state["meta"]), lr_tensors, r"tensor 'coef' has shape \(2, 8\), expected \(3, 8\)")
    )
    for bad_meta, tensors, pattern in cases:
        torch.save({"meta": json.dumps(bad_meta), "state_dict": tensors}, tmp_path / "bad.pt")
        with pytest.raises(ValueError, match=pattern):
            load(tmp_path / "bad.pt")


def test_saving_into_a_missing_or_unwritable_folder_names_the_path(tmp_path, named_blobs):
    est, _ = _saved("logreg", named_blobs, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"missing/head\.pt'.*folder .*missing' does not exist"):
        est.save(tmp_path / "missing" / "head.pt")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        est.save(tmp_path / "afile" / "head.pt")
    if os.geteuid() != 0:  # root writes into read-only folders
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match=r"ro/head\.pt"):
                est.save(ro / "head.pt")
        finally:
            ro.chmod(0o700)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary file left behind
