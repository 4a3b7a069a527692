"""NMTuneCV: the estimator contract, its folds, determinism, and what it selects on two synthetic shifts."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from nmtune import NMTuneCV
from nmtune.heads._candidates import simplicity_order
from nmtune.heads.cv import DEFAULT_CS, select_candidate
from nmtune.heads.folds import group_class_folds, selection_folds, stratified_folds

FAST_LP = {"epochs": 20, "min_steps": 0, "batch_size": 32, "lr": 0.05}
FAST_NM = {"epochs": 20, "min_steps": 0, "batch_size": 32, "lr": 1e-2, "hidden_dim": 32}


#: The machinery tests below (names, folds, rules, refit modes) use the pre-issue-24 family: scikit-learn's C on
#: the default grid, the single best candidate (the head nmtune-cv-best); the new default is tested on its own.
CLASSIC = {"penalty": "sum", "Cs": DEFAULT_CS, "selection": "best"}


def _fast(**kw):
    kw = {"lp_params": FAST_LP, "nmtune_params": FAST_NM, "random_state": 0, "device": "cpu", **CLASSIC, **kw}
    return NMTuneCV(**kw)


@parametrize_with_checks(
    [
        _fast(
            cv=2,
            Cs=(0.1, 1.0),
            lp_params={**FAST_LP, "epochs": 5},
            nmtune_params={**FAST_NM, "epochs": 5},
        )
    ]
)
@pytest.mark.slow  # ~45 checks x (folds + refit) fits: minutes on 2 cores; `make test-slow` (and CI) run it
def test_sklearn_contract(estimator, check):
    check(estimator)


# --- folds ----------------------------------------------------------------------------------------------------


def _class_pure_groups(rng, groups_per_class, n_per_group=10):
    """Labels and groups where every group belongs to one class (the 20 Newsgroups sub-group shift)."""
    y, g = [], []
    for c, n_groups in enumerate(groups_per_class):
        for j in range(n_groups):
            y += [c] * n_per_group
            g += [f"c{c}-g{j}"] * n_per_group
    order = rng.permutation(len(y))
    return np.array(y)[order], np.array(g)[order]


def _check_folds(folds, y, groups):
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(y)
        assert set(y[val]) == set(y) and set(y[train]) == set(y)  # every class on both sides
        assert not set(groups[train]) & set(groups[val])  # a group is never split


@pytest.mark.parametrize("groups_per_class", [(3, 2), (2, 2, 2), (4, 2, 3), (6, 6)])
@pytest.mark.parametrize("seed", [0, 1])
def test_group_folds_keep_every_class_and_never_split_a_group(groups_per_class, seed):
    rng = np.random.default_rng(seed)
    y, groups = _class_pure_groups(rng, groups_per_class)
    folds = group_class_folds(y, groups, n_splits=5, random_state=seed)
    assert len(folds) == min(5, max(groups_per_class))
    _check_folds(folds, y, groups)
    validated = set().union(*(set(groups[val]) for _, val in folds))
    assert validated == set(groups)  # every group is held out at least once


def test_group_folds_with_groups_that_hold_every_class():
    rng = np.random.default_rng(0)
    y = np.tile(np.arange(3), 40)
    groups = rng.integers(0, 4, size=len(y))
    folds = group_class_folds(y, groups, n_splits=3, random_state=0)
    _check_folds(folds, y, groups)


def test_group_folds_refuse_a_class_with_one_group():
    y, groups = _class_pure_groups(np.random.default_rng(0), (3, 1))
    with pytest.raises(ValueError, match="at least 2 groups per class.*class 1: 1.*groups=None"):
        group_class_folds(y, groups)


def test_stratified_folds_are_used_without_groups():
    y = np.repeat([0, 1, 2], [10, 10, 3])
    folds = selection_folds(y, None, n_splits=5, random_state=0)
    assert len(folds) == 3  # capped by the smallest class
    for _, val in folds:
        assert set(y[val]) == {0, 1, 2}
    with pytest.raises(ValueError, match="at least 2 samples of every class"):
        stratified_folds(np.array([0, 0, 0, 1]))


# --- the estimator ----------------------------------------------------------------------------------------------


def test_results_and_attributes(blobs):
    X, y, Xt, yt = blobs
    groups = np.arange(len(y)) % 3 + 10 * y  # 3 groups per class
    est = _fast(cv=3, Cs=(0.1,)).fit(X, y, groups=groups)
    names = [p["candidate"] for p in est.cv_results_["params"]]
    assert names == ["lp", "l2-C0.1", "nmtune", "nmtune+lp", "nmtune+l2-C0.1"]
    assert est.n_splits_ == 3 and {"split2_test_score", "rank_test_score"} <= set(est.cv_results_)
    assert est.best_params_ == {"candidate": names[est.best_index_]}
    assert est.best_score_ == est.cv_results_["mean_test_score"].max()
    assert est.score(Xt, yt) > 0.95
    np.testing.assert_allclose(est.predict_proba(Xt).sum(1), 1.0, rtol=1e-6)
    assert est.transform(Xt).shape == Xt.shape


def test_same_seed_same_model(blobs):
    X, y, Xt, _ = blobs
    a, b = _fast(cv=2).fit(X, y), _fast(cv=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    c = _fast(cv=2, random_state=1).fit(X, y)
    assert not all(np.array_equal(fa[1], fc[1]) for fa, fc in zip(a.folds_, c.folds_))


def test_refit_means_what_it_means_in_grid_search(blobs):
    X, y, Xt, yt = blobs
    refitted = _fast(cv=2, Cs=()).fit(X, y)
    assert hasattr(refitted, "best_estimator_") and not hasattr(refitted, "fold_estimators_")
    selection_only = _fast(cv=2, Cs=(), refit=False).fit(X, y)
    assert not hasattr(selection_only, "best_estimator_") and not hasattr(selection_only, "fold_estimators_")
    assert selection_only.best_params_ == refitted.best_params_  # the same selection, no model kept
    for method in ("predict", "predict_proba", "transform"):
        with pytest.raises(NotFittedError, match="refit=False.*best_params_"):
            getattr(selection_only, method)(Xt)
    ensemble = _fast(cv=2, Cs=(), refit="fold-ensemble").fit(X, y)
    assert len(ensemble.fold_estimators_) == 2 and not hasattr(ensemble, "best_estimator_")
    expected = np.mean([m.predict_proba(Xt) for m in ensemble.fold_estimators_], axis=0)
    np.testing.assert_array_equal(ensemble.predict_proba(Xt), expected)
    assert ensemble.score(Xt, yt) > 0.95
    with pytest.raises(ValueError, match="transform needs refit=True"):
        ensemble.transform(Xt)


def test_cv_takes_an_int_a_splitter_or_folds(blobs):
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    X, y, _, _ = blobs
    by_int = _fast(cv=3, Cs=(0.1,), blend=False).fit(X, y)
    folds = [(tr, va) for tr, va in by_int.folds_]
    by_list = _fast(cv=folds, Cs=(0.1,), blend=False).fit(X, y)
    by_gen = _fast(cv=iter(folds), Cs=(0.1,), blend=False).fit(X, y)
    for other in (by_list, by_gen):
        np.testing.assert_array_equal(
            other.cv_results_["mean_test_score"], by_int.cv_results_["mean_test_score"]
        )
        np.testing.assert_array_equal(other.predict_proba(X), by_int.predict_proba(X))
    splitter = StratifiedKFold(4, shuffle=True, random_state=0)
    by_splitter = _fast(cv=splitter, Cs=(0.1,), blend=False).fit(X, y)
    expected = list(splitter.split(X, y))
    assert by_splitter.n_splits_ == 4
    for (a, b), (c, d) in zip(by_splitter.folds_, expected):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    groups = np.arange(len(y)) % 5
    grouped = _fast(cv=GroupKFold(5), Cs=(), blend=False).fit(X, y, groups=groups)  # groups reach split()
    for _, val in grouped.folds_:
        assert len(set(groups[val])) == 1


@pytest.mark.parametrize(
    "cv,pattern",
    [
        ("five", "cv must be an int .*, a scikit-learn splitter"),
        (2.5, "cv must be an integer >= 2"),
        (
            lambda y: [(np.flatnonzero(y != 2), np.flatnonzero(y == 2))],
            r"Fold 0 has no training sample of class\(es\) \[2\]",
        ),
        (
            [(np.arange(140), np.arange(140, 151))],
            r"Fold 0: the validation side holds row 150, outside \[0, 150\)",
        ),
        ([(np.arange(75), np.array([], dtype=int))], "Fold 0: the validation side must be a non-empty"),
        ([], "cv gave no folds"),
    ],
)
def test_bad_cv_is_refused(blobs, cv, pattern):
    X, y, _, _ = blobs
    with pytest.raises((ValueError, TypeError), match=pattern):
        _fast(cv=cv(y) if callable(cv) else cv, Cs=()).fit(X, y)


def test_a_candidate_seed_depends_on_its_name_not_on_the_other_candidates(blobs):
    """Changing Cs must not reseed NMTune: its fold scores and its fitted models are the same."""
    X, y, Xt, _ = blobs
    a = _fast(cv=2, Cs=(0.1,)).fit(X, y)
    b = _fast(cv=2, Cs=(0.01, 0.3, 1.0)).fit(X, y)
    assert a.candidate_seeds_["nmtune"] == b.candidate_seeds_["nmtune"]
    assert a.candidate_seeds_["lp"] == b.candidate_seeds_["lp"]

    def row(est, name):
        index = list(est.cv_results_["param_candidate"]).index(name)
        return [est.cv_results_[f"split{k}_test_score"][index] for k in range(2)]

    assert row(a, "nmtune") == row(b, "nmtune") and row(a, "nmtune+lp") == row(b, "nmtune+lp")
    nm = lambda est: next(c for c in est.candidates_ if c.name == "nmtune")  # noqa: E731
    pa = nm(a).build(a.candidate_seeds_["nmtune"]).fit(X, y).predict_proba(Xt)
    pb = nm(b).build(b.candidate_seeds_["nmtune"]).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(pa, pb)
    c = _fast(cv=2, Cs=(0.1,), random_state=1).fit(X, y)
    assert c.candidate_seeds_["nmtune"] != a.candidate_seeds_["nmtune"]


def test_candidates_are_structured(blobs):
    est = _fast(Cs=(0.3, 0.01))
    cands = {c.name: c for c in est.candidates()}
    assert cands["l2-C0.01"].family == "logreg" and cands["l2-C0.01"].params == {"C": 0.01}
    assert cands["l2-C0.01"].strength == pytest.approx(100.0)
    assert (
        cands["nmtune+l2-C0.3"].members == ("nmtune", "l2-C0.3") and cands["nmtune+l2-C0.3"].family == "blend"
    )
    assert cands["lp"].params["min_steps"] == 0 and cands["nmtune"].family == "nmtune"


def test_progress_bar_counts_every_fit(blobs, monkeypatch):
    import tqdm.auto

    bars = []

    class Recorder(tqdm.auto.tqdm):
        def close(self):
            bars.append((self.desc, self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    X, y, _, _ = blobs
    _fast(cv=2, Cs=(0.1,), blend=False, progress=True).fit(X, y)
    assert ("NMTuneCV", 7, 7) in bars  # 3 candidates x 2 folds, then the refit


def test_set_output_in_a_pipeline_and_sample_weight(blobs):
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, Xt, _ = blobs
    cols = [f"f{i}" for i in range(X.shape[1])]
    pipe = make_pipeline(StandardScaler(), _fast(cv=2, Cs=(0.1,))).set_output(transform="pandas")
    pipe.fit(pd.DataFrame(X, columns=cols), y)
    out = pipe.transform(pd.DataFrame(Xt, columns=cols))
    assert isinstance(out, pd.DataFrame) and out.shape == Xt.shape
    assert list(out.columns) == list(pipe[-1].get_feature_names_out(cols))
    with pytest.raises(TypeError, match="does not take \\['sample_weight'\\].*resample"):
        _fast(cv=2).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    "kw,pattern",
    [
        ({"cv": 1}, "cv must be an integer >= 2; received 1"),
        ({"Cs": (0.1, -1)}, "Cs must hold positive finite numbers"),
        ({"Cs": "abc"}, "Cs must be a sequence of positive numbers"),
        (
            {"selection": "1se"},
            "selection must be one of \\['best', 'one-se', 'average-1se', 'wise-ft', 'average-path'\\]; got '1se'",
        ),
        ({"refit": "folds"}, "refit must be True, False or 'fold-ensemble'; got 'folds'"),
        ({"n_threads": 0}, "n_threads"),
    ],
)
def test_bad_options(blobs, kw, pattern):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match=pattern):
        _fast(**kw).fit(X, y)


def test_bad_groups(blobs):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match="X has 150 samples, groups has 149"):
        _fast().fit(X, y, groups=np.zeros(149))
    with pytest.raises(ValueError, match="at least 2 groups per class"):
        _fast().fit(X, y, groups=y)  # one group per class: no fold could hold a class on both sides


# --- the selection rules ---------------------------------------------------------------------------------------


def test_select_candidate_best_and_one_standard_error():
    scores = [
        [0.920, 0.920, 0.915],  # mean 0.9183: within one SE (0.0067) of the best
        [0.930, 0.910, 0.930],  # mean 0.9233, the best, first of two equal means
        [0.930, 0.910, 0.930],
        [0.880, 0.900, 0.890],  # far below
    ]
    assert select_candidate(scores, [0, 1, 2, 3], "best") == 1
    assert select_candidate(scores, [0, 1, 2, 3], "one-se") == 0  # the simplest within one SE
    assert select_candidate(scores, [3, 2, 1, 0], "one-se") == 2  # candidate 3 is simplest but not within
    assert select_candidate([[0.5], [0.7]], [0, 1], "one-se") == 1  # one fold: no standard error, the best


def test_one_standard_error_rule_properties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = rng.integers(2, 8), rng.integers(2, 6)
        scores = rng.uniform(0.5, 1.0, size=(n, k)).round(2)  # ties happen
        simplicity = list(rng.permutation(n))
        mean = scores.mean(1)
        best = select_candidate(scores, simplicity, "best")
        assert best == int(np.flatnonzero(mean == mean.max())[0])
        pick = select_candidate(scores, simplicity, "one-se")
        se = scores[best].std(ddof=1) / np.sqrt(k)
        within = [i for i in range(n) if mean[i] >= mean[best] - se]
        assert pick in within and simplicity[pick] == min(simplicity[i] for i in within)


def test_simplicity_order_puts_strong_linear_heads_first():
    names = ["lp", "l2-C0.01", "l2-C1", "nmtune", "nmtune+lp", "nmtune+l2-C0.01", "nmtune+l2-C1"]
    ranked = sorted(names, key=lambda n: simplicity_order(names)[names.index(n)])
    assert ranked == ["l2-C0.01", "l2-C1", "lp", "nmtune+l2-C0.01", "nmtune+l2-C1", "nmtune+lp", "nmtune"]


def test_one_se_selection_in_the_estimator(blobs):
    X, y, Xt, yt = blobs
    est = _fast(cv=3, selection="one-se").fit(X, y)
    names = list(est.cv_results_["param_candidate"])
    scores = np.stack([est.cv_results_[f"split{k}_test_score"] for k in range(3)], axis=1)
    assert est.best_index_ == select_candidate(scores, simplicity_order(names), "one-se")
    assert est.best_index_ != select_candidate(scores, simplicity_order(names), "best")  # the rule mattered
    np.testing.assert_array_equal(est.folds_[0][1], est.make_folds(y)[0][1])  # the folds fit selected on
    assert est.best_params_ == {"candidate": names[est.best_index_]}
    assert est.best_score_ == est.cv_results_["mean_test_score"][est.best_index_]
    assert est.score(Xt, yt) > 0.95


# --- what it selects -------------------------------------------------------------------------------------------


def _grouped(X, y, rng, groups_per_class=3):
    return y * 100 + rng.integers(0, groups_per_class, size=len(y))


def test_stays_linear_when_the_classes_are_linearly_separable():
    """Labels are a linear function of the features: the linear probe is optimal and must be chosen."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 8)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    est = _fast(cv=3, Cs=(), blend=False).fit(X, y, groups=_grouped(X, y, rng))
    assert est.best_params_ == {"candidate": "lp"}, est.cv_results_["mean_test_score"]


def test_adapts_when_the_classes_are_not_linearly_separable():
    """XOR labels: no linear head beats chance, so NMTune (alone or blended) must be chosen."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 4)).astype(np.float32)
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    est = _fast(cv=3, nmtune_params={**FAST_NM, "epochs": 60}).fit(X, y, groups=_grouped(X, y, rng))
    assert est.best_params_["candidate"].startswith("nmtune"), est.cv_results_["mean_test_score"]
    assert est.best_score_ > 0.85
