"""The head registry: names, did-you-mean errors, a head added in one place, and what reads the registry."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from nmtune.heads import HeadSpec, LogReg, NMTune, NMTuneCV, create_head, get_head, list_heads, register_head
from nmtune.heads.cv import DEFAULT_CS, WIDE_CS
from nmtune.heads.registry import HEADS


def test_the_documented_heads_are_registered():
    assert {
        "lp",
        "mlp",
        "nmtune",
        "nmtune-authors",
        "nmtune-cv",
        "nmtune-cv-1se",
        "logreg",
        "logreg-cv",
    } <= set(list_heads())
    assert sorted(list_heads("nmtune-cv*")) == [
        "nmtune-cv",
        "nmtune-cv-1se",
        "nmtune-cv-avg",
        "nmtune-cv-best",
        "nmtune-cv-gb",
        "nmtune-cv-path",
        "nmtune-cv-ps",
        "nmtune-cv-wiseft",
    ]
    assert isinstance(get_head("nmtune"), HeadSpec) and get_head("nmtune").cls is NMTune


def test_create_head_builds_presets_and_passes_parameters():
    assert create_head("nmtune-authors").arch == "authors"
    assert create_head("nmtune-cv-1se").selection == "one-se"
    # the default since issue 24's second pre-registered round; the earlier default keeps a name of its own
    default, best = create_head("nmtune-cv"), create_head("nmtune-cv-best")
    assert (default.selection, default.penalty, tuple(default.Cs)) == ("average-1se", "per-sample", WIDE_CS)
    assert (best.selection, best.penalty, tuple(best.Cs)) == ("best", "sum", DEFAULT_CS)
    assert create_head("nmtune-cv-avg").get_params() == default.get_params()
    assert create_head("nmtune-cv-1se").penalty == "sum" and create_head("nmtune-cv-ps").selection == "best"
    assert create_head("nmtune-cv", epochs=3).nmtune_params == {
        "epochs": 3
    }  # the step budget reaches its heads
    assert create_head("logreg", C=0.5).C == 0.5
    spec = get_head("lp")
    assert (
        spec.neural
        and not spec.transforms
        and get_head("nmtune").transforms
        and not get_head("logreg").neural
    )


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match=r"Unknown head 'nmtun'\. Did you mean 'nmtune'\?.*'logreg-cv'"):
        create_head("nmtun")
    with pytest.raises(
        ValueError, match=r"Unknown parameter of head 'nmtune' 'lamda'\. Did you mean 'lam'\?"
    ):
        create_head("nmtune", lamda=0.1)
    with pytest.raises(ValueError, match=r"parameter of head 'logreg' 'c'.*'C'"):
        create_head("logreg", c=1.0)


class _Centroid(ClassifierMixin, BaseEstimator):
    """A head defined outside the package: nearest class mean."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        self.classes_, y = np.unique(y, return_inverse=True)
        self.means_ = np.stack([X[y == c].mean(0) * (1 - self.shrink) for c in range(len(self.classes_))])
        return self

    def predict(self, X):
        return self.classes_[((X[:, None, :] - self.means_) ** 2).sum(-1).argmin(1)]


def test_a_registered_head_reaches_the_protocol_without_another_edit(blobs):
    from nmtune.protocol.methods import build_estimator, check_params, get_method

    register_head("centroid", _Centroid, description="nearest class mean")
    try:
        assert "centroid" in list_heads()
        X, y, Xt, yt = blobs
        est = build_estimator("centroid", {"shrink": 0.1}, random_state=0, epochs=3)  # no runtime arguments
        assert est.fit(X, y).score(Xt, yt) > 0.9 and get_method("centroid").family == "centroid"
        check_params("centroid", {"shrink": 0.2})
        with pytest.raises(ValueError, match="Did you mean 'shrink'"):
            check_params("centroid", {"shrnk": 0.2})
        assert not get_head("centroid").saveable  # it has no head-file state: nmtune tune refuses it up front
    finally:
        HEADS.unregister("centroid")
        from nmtune.protocol.methods import METHODS

        METHODS.unregister("centroid")


def test_every_protocol_method_family_is_a_head():
    from nmtune.protocol.methods import get_method, list_methods

    assert set(list_heads()) <= set(list_methods())
    for name in list_methods():
        assert get_method(name).family in list_heads(), name


def test_importing_nmtune_loads_no_torch_and_the_heads_stay_lazy():
    code = (
        "import sys, nmtune; assert 'torch' not in sys.modules; "
        "from nmtune import LinearProbe, LogRegCV, create_head; assert 'torch' in sys.modules; "
        "print(create_head('lp').__class__.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "LinearProbe"


def test_the_classes_are_the_registered_ones():
    assert get_head("nmtune-cv").cls is NMTuneCV and get_head("logreg").cls is LogReg
