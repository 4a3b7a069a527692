"""Fixtures of the robust-head tests (issue 24): one small three-class task with source groups."""

import numpy as np
import pytest


@pytest.fixture
def robust_data():
    """``(X, y, Xt, groups)``: 150 training rows of 6 features, 3 classes; 60 test rows; 3 groups per class."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.4)
    Xt = rng.normal(size=(60, 6)).astype(np.float32)
    groups = np.arange(len(y)) % 3 + 10 * y
    return X, y, Xt, groups
