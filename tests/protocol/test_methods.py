"""The method registry: every method spec carries its factory and whether it is neural."""

from __future__ import annotations

import pytest

from nmtune.protocol.methods import (
    MethodSpec,
    build_estimator,
    check_params,
    get_method,
    list_methods,
    register_family,
    register_method,
)


def test_specs_carry_factory_neural_and_transforms():
    assert get_method("lp").neural and not get_method("lp").transforms
    assert get_method("nmtune-no-svd").neural and get_method("nmtune-no-svd").transforms
    assert not get_method("logreg").neural and not get_method("logreg").transforms
    assert build_estimator("nmtune-no-svd").get_params()["svd_weight"] == 0.0
    assert build_estimator("nmtune-authors").get_params()["arch"] == "authors"
    assert build_estimator("logreg", {"C": 0.5}).C == 0.5
    assert list_methods("nmtune-no-*") == ["nmtune-no-cov", "nmtune-no-mse", "nmtune-no-svd"]


def test_unknown_method_and_family_and_param_name_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown method 'nmtun'\. Did you mean 'nmtune'\?"):
        get_method("nmtun")
    with pytest.raises(ValueError, match="Unknown method family 'svm'"):
        MethodSpec("svm", "svm")
    with pytest.raises(ValueError, match=r"parameter of method 'logreg' 'c'.*'C'"):
        check_params("logreg", {"c": 1.0})
    with pytest.raises(ValueError, match=r"'lamda'\. Did you mean 'lam'\?"):
        check_params("nmtune", {"lamda": 0.1})


def test_a_new_family_needs_no_edit_elsewhere():
    from sklearn.neighbors import KNeighborsClassifier

    register_family("knn", KNeighborsClassifier, neural=False, transforms=False)
    register_method(MethodSpec("knn-3", "knn", fixed={"n_neighbors": 3}))
    try:
        est = build_estimator("knn-3", random_state=0, epochs=3)  # the torch-only arguments are not passed
        assert est.n_neighbors == 3
        check_params("knn-3", {"weights": "distance"})
    finally:
        from nmtune.protocol.methods import METHODS

        METHODS.unregister("knn-3")
