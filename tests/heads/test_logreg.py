"""The logistic-regression heads against their scikit-learn references (a pipeline, GridSearchCV)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nmtune.heads import LogReg, LogRegCV


@pytest.fixture
def task():
    """A noisy 4-class problem where C matters (20 features, 4 informative)."""
    r = np.random.default_rng(3)
    X = r.normal(size=(300, 20)).astype(np.float32)
    y = (X[:, :4] @ r.normal(size=(4, 4)) + 1.5 * r.normal(size=(300, 4))).argmax(1)
    return X[:200], y[:200], X[200:], y[200:]


def _reference(C):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_logreg_is_the_standardised_pipeline(task, C):
    X, y, Xt, _ = task
    head = LogReg(C=C).fit(X, y)
    ref = _reference(C).fit(X.astype(np.float64), y)
    np.testing.assert_array_equal(head.predict(Xt), ref.predict(Xt.astype(np.float64)))
    np.testing.assert_allclose(head.predict_proba(Xt), ref.predict_proba(Xt.astype(np.float64)), rtol=1e-10)
    np.testing.assert_array_equal(head.transform(Xt), Xt)


def test_logreg_on_two_string_classes(task):
    X, y, Xt, _ = task
    names = np.where(y > 1, "yes", "no")
    head = LogReg(C=0.1).fit(X, names)
    assert set(head.predict(Xt)) <= {"yes", "no"} and head.decision_function(Xt).shape == (len(Xt),)


@pytest.mark.parametrize("random_state", [0, 7])
def test_logreg_cv_picks_what_grid_search_picks(task, random_state):
    X, y, Xt, _ = task
    head = LogRegCV(random_state=random_state).fit(X, y)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=random_state).split(X, y))
    grid = GridSearchCV(_reference(1.0), {"logisticregression__C": head.Cs}, cv=folds).fit(
        X.astype(np.float64), y
    )
    assert head.best_params_ == {"C": grid.best_params_["logisticregression__C"]}
    np.testing.assert_allclose(head.cv_results_["mean_test_score"], grid.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(head.cv_results_["rank_test_score"], grid.cv_results_["rank_test_score"])
    np.testing.assert_array_equal(head.predict(Xt), grid.predict(Xt.astype(np.float64)))
    assert head.n_splits_ == 5 and head.best_estimator_.C == head.best_params_["C"]


def test_logreg_cv_takes_folds_and_splitters(task):
    from sklearn.model_selection import GroupKFold

    X, y, _, _ = task
    groups = np.arange(len(y)) % 4
    head = LogRegCV(cv=GroupKFold(4), Cs=(0.1, 1.0)).fit(X, y, groups=groups)
    assert head.n_splits_ == 4
    folds = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(2)]
    assert LogRegCV(cv=folds, Cs=(0.1,)).fit(X, y).n_splits_ == 2


@pytest.mark.parametrize(
    "est,pattern",
    [
        (LogReg(C=0), "C must be"),
        (LogRegCV(Cs=()), "Cs must hold at least one"),
        (LogRegCV(cv=1), "cv must be an integer >= 2"),
        (LogRegCV(cv="x"), "cv must be an int"),
    ],
)
def test_bad_options(task, est, pattern):
    X, y, _, _ = task
    with pytest.raises((ValueError, TypeError), match=pattern):
        est.fit(X, y)


def test_continuous_labels_and_sample_weight_are_refused(task):
    X, y, _, _ = task
    with pytest.raises(ValueError, match="continuous"):
        LogReg().fit(X, y + 0.5)
    with pytest.raises(TypeError, match="resample"):
        LogRegCV().fit(X, y, sample_weight=np.ones(len(y)))
