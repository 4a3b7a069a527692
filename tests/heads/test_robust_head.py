"""Issue 24's heads: the per-sample L2 penalty, LP-FT, averaging within one standard error, and the evaluation's
one-pass fast path against each variant's own ``NMTuneCV.fit``."""

import numpy as np
import pytest
from _heads_helpers import CV_BUDGET as BUDGET
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nmtune.heads import LogReg, NMTuneCV, create_head, load
from nmtune.heads.lpft import LPFT, linear_head_weights
from nmtune.heads.persample import WIDE_CS, PerSampleL2, effective_C
from nmtune.heads.selection import average_weights, within_one_se


def _reference_objective_minimiser(X, y, lam):
    """Slow reference: mean cross-entropy + (lam / 2)‖W‖² on standardised X, by scikit-learn with C = 1/(lam n)."""
    Z = StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))
    return LogisticRegression(C=1.0 / (lam * len(y)), max_iter=5000, tol=1e-10).fit(Z, y)


def test_per_sample_penalty_is_one_over_C_n_ref_on_any_number_of_rows(robust_data):
    X, y, _, _ = robust_data
    n_ref = 300  # e.g. the whole training set of which X is a fold
    head = PerSampleL2(C=0.05, n_ref=n_ref).fit(X, y)
    lam = 1.0 / (0.05 * n_ref)
    assert head.penalty_ == pytest.approx(lam) and head.C_ == pytest.approx(effective_C(0.05, n_ref, len(y)))
    ref = _reference_objective_minimiser(X, y, lam)
    np.testing.assert_allclose(head.model_.coef_, ref.coef_, atol=2e-4)
    # without n_ref it is LogReg(C)
    np.testing.assert_allclose(
        PerSampleL2(C=0.05).fit(X, y).predict_proba(X), LogReg(C=0.05).fit(X, y).predict_proba(X), atol=1e-12
    )


def test_nmtune_cv_per_sample_refits_with_the_validated_penalty(robust_data):
    X, y, _, _ = robust_data
    clf = NMTuneCV(penalty="per-sample", Cs=(0.01, 0.1), blend=False, random_state=0, device="cpu",
                   lp_params=BUDGET, nmtune_params=BUDGET)  # fmt: skip
    clf.fit(X, y)
    by_name = {c.name: c for c in clf.candidates_}
    assert by_name["l2ps-C0.01"].params["n_ref"] == len(y)
    # every fold model and the refit of an l2ps candidate apply the same per-sample penalty 1 / (C N)
    for tr, _ in clf.folds_:
        fold_model = by_name["l2ps-C0.01"].build().fit(X[tr], y[tr])
        assert fold_model.penalty_ == pytest.approx(1.0 / (0.01 * len(y)))
        assert fold_model.C_ == pytest.approx(0.01 * len(y) / len(tr))
    refit = by_name["l2ps-C0.01"].build().fit(X, y)
    assert refit.penalty_ == pytest.approx(1.0 / (0.01 * len(y))) and refit.C_ == pytest.approx(0.01)
    if clf.best_params_["candidate"].startswith("l2ps"):
        assert clf.best_estimator_.penalty_ == pytest.approx(1.0 / (clf.best_estimator_.C * len(y)))


def test_lpft_starts_at_the_linear_head_and_its_weights_are_the_linear_heads(robust_data):
    X, y, Xt, _ = robust_data
    lin = LogReg(C=0.01).fit(X, y)
    W, b = linear_head_weights(lin)
    np.testing.assert_allclose(
        np.exp(Xt @ W.T + b) / np.exp(Xt @ W.T + b).sum(1, keepdims=True), lin.predict_proba(Xt), atol=1e-6
    )
    still = LPFT(random_state=0, epochs=1, min_steps=0, lr=1e-12, device="cpu").fit(X, y)
    np.testing.assert_allclose(still.predict_proba(Xt), lin.predict_proba(Xt), atol=1e-5)
    np.testing.assert_allclose(still.transform(Xt), Xt, atol=1e-6)  # s = 0: Z = F
    trained = LPFT(random_state=0, min_steps=50, device="cpu").fit(X, y)
    assert trained.score(X, y) >= lin.score(X, y) - 0.02  # training moves on from the linear head's start


def test_lpft_binary_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    lin = LogReg(C=0.1).fit(X, y)
    W, b = linear_head_weights(lin)
    logits = X @ W.T + b
    np.testing.assert_allclose(
        np.exp(logits) / np.exp(logits).sum(1, keepdims=True), lin.predict_proba(X), atol=1e-10
    )


def test_within_one_se_and_average_weights_against_their_definition():
    scores = np.array([[0.8, 0.9, 0.85], [0.84, 0.86, 0.9], [0.5, 0.6, 0.55]])
    mean = scores.mean(1)
    best = mean.argmax()
    se = scores[best].std(ddof=1) / np.sqrt(3)
    assert list(within_one_se(scores)) == [i for i in range(3) if mean[i] >= mean[best] - se]
    from nmtune.heads.cv import NMTuneCV as _  # noqa: F401 - the candidates module is loaded

    fam = {c.name: c for c in NMTuneCV(Cs=(0.1,), penalty="sum").candidates()}
    w = average_weights([fam["lp"], fam["nmtune+l2-C0.1"], fam["nmtune"]])
    assert w == pytest.approx({"lp": 1 / 3, "nmtune": 1 / 6 + 1 / 3, "l2-C0.1": 1 / 6})
    assert sum(w.values()) == pytest.approx(1.0)


def test_averaging_variant_predicts_the_weighted_mean_and_round_trips(robust_data, tmp_path):
    X, y, Xt, _ = robust_data
    clf = NMTuneCV(selection="average-1se", Cs=(0.01, 0.1), random_state=0, device="cpu",
                   lp_params=BUDGET, nmtune_params=BUDGET).fit(X, y)  # fmt: skip
    names = clf.best_params_["averaged"]
    assert clf.best_params_["candidate"] in names
    fam = {c.name: c for c in clf.candidates_}
    weights = average_weights([fam[n] for n in names])
    slow = sum(
        w * fam[m].build(clf.candidate_seeds_[m]).fit(X, y).predict_proba(Xt) for m, w in weights.items()
    )
    np.testing.assert_allclose(clf.predict_proba(Xt), slow, atol=1e-6)
    clf.save(tmp_path / "avg.pt")
    np.testing.assert_allclose(load(tmp_path / "avg.pt").predict_proba(Xt), clf.predict_proba(Xt), atol=1e-12)


def test_registered_variant_and_params():
    clf = create_head("nmtune-cv-ps", epochs=3)
    assert clf.penalty == "per-sample" and tuple(clf.Cs) == WIDE_CS and clf.nmtune_params == {"epochs": 3}
    names = [c.name for c in NMTuneCV(lpft=True, penalty="per-sample", Cs=(0.1,)).candidates(50)]
    assert names == ["lp", "l2ps-C0.1", "nmtune", "lpft", "nmtune+lp", "nmtune+l2ps-C0.1"]
    with pytest.raises(ValueError, match="penalty must be one of"):
        NMTuneCV(penalty="mean").fit(np.zeros((10, 2)), np.arange(10) % 2)


def test_the_evaluations_one_pass_equals_each_variants_own_fit(robust_data, load_script):
    """The fast path of benchmarks/eval_robust_head.py against the slow reference: every variant's NMTuneCV.fit."""
    X, y, Xt, _ = robust_data
    groups = np.arange(len(y)) % 6 + 10 * y  # two groups per class... and more
    mod = load_script("benchmarks/eval_robust_head.py")
    variants = {v: {**kw, "lp_params": BUDGET, "nmtune_params": BUDGET} for v, kw in mod.VARIANTS.items()}
    res = mod.variant_predictions(X, y, groups, [Xt], seed=3, variants=variants)
    for v, kw in variants.items():
        clf = NMTuneCV(random_state=3, device="cpu", **kw).fit(X, y, groups=groups)
        got = res["variants"][v]
        assert got["pick"] == clf.best_params_["candidate"], v
        assert got["averaged"] == clf.best_params_.get("averaged"), v
        np.testing.assert_allclose(got["proba"][0], clf.predict_proba(Xt), atol=1e-6, err_msg=v)
