"""logreg-gcv: C picked on NMTuneCV's folds (SelectionFolds), checked against GridSearchCV on those folds."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nmtune.heads import NMTuneCV, create_head
from nmtune.heads.folds import SelectionFolds, selection_folds
from nmtune.heads.logreg import LOGREG_CS


@pytest.fixture
def grouped():
    """Two classes, each drawn from 3 sub-domains (groups) with their own shift."""
    r = np.random.default_rng(5)
    y = np.repeat([0, 1], 90)
    groups = np.array([f"{c}-{k}" for c in (0, 1) for k in range(3) for _ in range(30)])
    shift = {g: r.normal(scale=1.5, size=12) for g in np.unique(groups)}
    X = np.stack([r.normal(size=12) + shift[g] + 0.8 * c for c, g in zip(y, groups)]).astype(np.float32)
    return X, y, groups


def test_selection_folds_are_nmtune_cv_folds(grouped):
    X, y, groups = grouped
    for g in (groups, None):
        ours = list(SelectionFolds(3, random_state=7).split(X, y, g))
        ref = NMTuneCV(cv=3, random_state=7).make_folds(y, g)
        assert len(ours) == len(ref) == SelectionFolds(3).get_n_splits()
        for (a, b), (c, d) in zip(ours, ref):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
    for train, val in SelectionFolds(3, random_state=7).split(X, y, groups):
        assert not set(groups[train]) & set(groups[val])  # whole groups held out


def test_logreg_gcv_picks_what_grid_search_picks_on_the_same_folds(grouped):
    X, y, groups = grouped
    head = create_head("logreg-gcv", cv=3, random_state=2).fit(X, y, groups=groups)
    folds = selection_folds(y, groups, 3, 2)
    ref = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        {"logisticregression__C": LOGREG_CS},
        cv=folds,
    ).fit(X.astype(np.float64), y)
    assert head.best_params_["C"] == ref.best_params_["logisticregression__C"]
    np.testing.assert_allclose(head.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    plain = create_head("logreg-cv", cv=3, random_state=2).fit(X, y, groups=groups)
    assert plain.n_splits_ == 3 and head.n_splits_ == 3
    assert not np.allclose(plain.cv_results_["mean_test_score"], head.cv_results_["mean_test_score"])


def test_logreg_c1_is_the_unselected_default_logreg():
    from nmtune.protocol.methods import build_estimator, get_method

    spec = get_method("logreg-c1")
    assert spec.candidates("paper") == [{}] and spec.candidates("val") == [{}]
    est = build_estimator(spec, random_state=0)
    assert type(est).__name__ == "LogReg" and est.C == 1.0
    assert get_method("logreg").candidates("paper") != [{}]  # the protocol's logreg picks C
