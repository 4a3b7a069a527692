"""The pure pieces of NMTuneCV's selection: fold scores (blends included) and the cv_results_ table."""

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier

from nmtune.heads._candidates import Candidate
from nmtune.heads.selection import cv_results, fold_scores


def test_fold_scores_average_the_members_of_a_blend():
    y = np.array([0, 1, 0, 1])
    folds = [(np.array([2, 3]), np.array([0, 1])), (np.array([0, 1]), np.array([2, 3]))]
    a = Candidate("a", "lp", {}, 0.0, 0)
    b = Candidate("b", "lp", {}, 0.0, 0)
    ab = Candidate("a+b", "blend", {}, 0.0, 0, members=("a", "b"))
    probas = {
        ("a", 0): np.array([[0.9, 0.1], [0.6, 0.4]]),  # right, wrong
        ("b", 0): np.array([[0.4, 0.6], [0.1, 0.9]]),  # wrong, right
        ("a", 1): np.array([[0.9, 0.1], [0.2, 0.8]]),
        ("b", 1): np.array([[0.9, 0.1], [0.2, 0.8]]),
    }
    scores = fold_scores([a, b, ab], probas, y, folds)
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(
        scores[:, 0], [0.5, 0.5, 1.0]
    )  # the blend (0.65, 0.35), (0.35, 0.65) gets both
    np.testing.assert_allclose(probas["a+b", 0], [[0.65, 0.35], [0.35, 0.65]])
    np.testing.assert_allclose(scores[:, 1], [1.0, 1.0, 1.0])


def test_cv_results_match_grid_search_cv_on_the_same_scores():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    grid = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3, 4]}, cv=3).fit(X, y)
    ref = grid.cv_results_
    scores = np.stack([ref[f"split{k}_test_score"] for k in range(3)], axis=1)
    ours = cv_results(["d1", "d2", "d3", "d4"], scores, np.ones((4, 3)))
    np.testing.assert_allclose(ours["mean_test_score"], ref["mean_test_score"])
    np.testing.assert_allclose(ours["std_test_score"], ref["std_test_score"])
    for k in range(3):
        np.testing.assert_array_equal(ours[f"split{k}_test_score"], ref[f"split{k}_test_score"])
    assert ours["params"][0] == {"candidate": "d1"} and ours["mean_fit_time"].tolist() == [1.0] * 4


def test_cv_results_rank_ties_in_order():
    ours = cv_results(["a", "b", "c"], [[0.5, 0.7], [0.7, 0.5], [0.8, 0.8]], np.zeros((3, 2)))
    assert ours["rank_test_score"].tolist() == [2, 3, 1]
