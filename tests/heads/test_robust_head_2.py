"""The second robust-head round: logit-space interpolation (wise-ft), averaging along the L2 path (average-path),
group-balanced L2 heads, each against a slow reference, and the evaluation's fast path for them."""

import numpy as np
import pytest
from _heads_helpers import CV_BUDGET as BUDGET
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nmtune.heads import NMTuneCV, create_head, load
from nmtune.heads.persample import GroupBalancedL2, PerSampleL2, group_balance_weights
from nmtune.heads.selection import PATH_CS, WISE_ALPHAS, combine, fold_scores, mix_probas


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_mix_probas_in_logit_space_is_the_softmax_of_the_mixed_logits():
    rng = np.random.default_rng(1)
    z1, z2 = rng.normal(size=(2, 20, 4)) * 3
    for a in (0.0, 0.3, 1.0):
        got = mix_probas([_softmax(z1), _softmax(z2)], [1 - a, a], "logit")
        np.testing.assert_allclose(got, _softmax((1 - a) * z1 + a * z2), atol=1e-12)
    np.testing.assert_allclose(
        mix_probas([_softmax(z1), _softmax(z2)], [3, 1]),
        0.75 * _softmax(z1) + 0.25 * _softmax(z2),
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="space must be one of"):
        mix_probas([_softmax(z1)], [1], "log")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60))
def test_group_balance_weights_give_every_group_the_same_total(groups):
    groups = np.array(groups)
    w = group_balance_weights(groups)
    totals = [w[groups == g].sum() for g in np.unique(groups)]
    np.testing.assert_allclose(totals, totals[0])
    assert w.sum() == pytest.approx(len(groups)) and (w > 0).all()


def test_group_balanced_l2_equals_fitting_with_the_small_group_replicated(robust_data):
    """Slow reference: group sizes 2:1, so balancing is the small group's rows twice (same per-sample penalty)."""
    X, y, _, _ = robust_data
    groups = (np.arange(len(y)) % 3 == 0).astype(int)  # 100 rows in group 0, 50 in group 1
    head = GroupBalancedL2(C=0.05, n_ref=150).fit(X, y, groups=groups)
    rep = np.concatenate([np.flatnonzero(groups == 0), np.repeat(np.flatnonzero(groups == 1), 2)])
    Xr, yr = np.asarray(X, np.float64)[rep], y[rep]  # 200 rows, every group 100
    lam = 1.0 / (0.05 * 150)  # the per-sample penalty; scikit-learn's C on 200 equally weighted rows
    Z = StandardScaler().fit_transform(Xr)
    ref = LogisticRegression(C=1.0 / (lam * len(yr)), max_iter=5000, tol=1e-10).fit(Z, yr)
    np.testing.assert_allclose(head.model_.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(head.scaler_.mean_, Xr.mean(0), atol=1e-10)
    assert head.penalty_ == pytest.approx(lam)
    # without groups it is the per-sample head
    np.testing.assert_allclose(
        GroupBalancedL2(C=0.05, n_ref=150).fit(X, y).predict_proba(X),
        PerSampleL2(C=0.05, n_ref=150).fit(X, y).predict_proba(X),
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="one entry per row"):
        GroupBalancedL2().fit(X, y, groups=groups[:-1])


def test_wise_ft_combination_against_its_definition(robust_data):
    X, y, _, _ = robust_data
    fam = NMTuneCV(penalty="per-sample", Cs=(0.01, 0.1), blend=False).candidates(len(y))
    rng = np.random.default_rng(2)
    folds = [(np.arange(150)[k::3], np.setdiff1d(np.arange(150), np.arange(150)[k::3])) for k in range(3)]
    probas = {
        (c.name, k): rng.dirichlet(np.ones(3), size=len(va)) for c in fam for k, (_, va) in enumerate(folds)
    }
    scores = fold_scores(fam, dict(probas), y, folds)
    combo = combine("wise-ft", fam, scores, probas, y, folds)
    l2 = max(["l2ps-C0.01", "l2ps-C0.1"], key=lambda n: scores[[c.name for c in fam].index(n)].mean())
    acc = np.array(
        [
            [
                np.mean(
                    _softmax((1 - a) * np.log(probas[l2, k]) + a * np.log(probas["nmtune", k])).argmax(1)
                    == y[va]
                )
                for k, (_, va) in enumerate(folds)
            ]
            for a in WISE_ALPHAS
        ]
    )
    best = acc.mean(1).argmax()
    se = acc[best].std(ddof=1) / np.sqrt(3)
    alpha = min(a for a, m in zip(WISE_ALPHAS, acc.mean(1)) if m >= acc.mean(1)[best] - se)
    assert combo.params["alpha"] == alpha and combo.params["interpolated"] == [l2, "nmtune"]
    assert combo.space == "logit" and sum(combo.weights.values()) == pytest.approx(1.0)
    assert combo.weights.get("nmtune", 0.0) == pytest.approx(alpha)
    assert combo.score == pytest.approx(acc[WISE_ALPHAS.index(alpha)].mean())


@pytest.mark.parametrize("forced", [None, 2])
def test_nmtune_cv_wise_ft_predicts_the_interpolation_and_round_trips(
    robust_data, tmp_path, monkeypatch, forced
):
    X, y, Xt, _ = robust_data
    if forced is not None:  # an interior weight (α = 1/2), whatever these folds would choose
        import nmtune.heads.selection as selection

        monkeypatch.setattr(selection, "select_alpha", lambda scores: forced)
    clf = NMTuneCV(selection="wise-ft", penalty="per-sample", Cs=(0.01, 0.1), random_state=0, device="cpu",
                   lp_params=BUDGET, nmtune_params=BUDGET).fit(X, y)  # fmt: skip
    alpha = clf.best_params_["alpha"]
    assert forced is None or alpha == WISE_ALPHAS[forced]
    l2, _ = clf.best_params_["interpolated"]
    fam = {c.name: c for c in clf.candidates_}
    p_l2 = fam[l2].build().fit(X, y).predict_proba(Xt)
    p_nm = fam["nmtune"].build(clf.candidate_seeds_["nmtune"]).fit(X, y).predict_proba(Xt)
    slow = _softmax((1 - alpha) * np.log(p_l2) + alpha * np.log(p_nm))
    np.testing.assert_allclose(clf.predict_proba(Xt), slow, atol=1e-5)
    assert clf.best_score_ == pytest.approx(clf.best_params_["alpha_scores"][WISE_ALPHAS.index(alpha)])
    clf.save(tmp_path / "w.pt")
    np.testing.assert_allclose(load(tmp_path / "w.pt").predict_proba(Xt), clf.predict_proba(Xt), atol=1e-12)


def test_nmtune_cv_average_path_averages_the_l2_path(robust_data, tmp_path):
    X, y, Xt, _ = robust_data
    clf = create_head("nmtune-cv-path", random_state=0, device="cpu", epochs=2, min_steps=10).fit(X, y)
    fam = {c.name: c for c in clf.candidates_}
    path = [n for n, c in fam.items() if n.startswith("l2ps") and PATH_CS[0] <= c.params["C"] <= PATH_CS[1]]
    assert clf.best_params_["averaged"] == path == ["l2ps-C0.003", "l2ps-C0.01", "l2ps-C0.03", "l2ps-C0.1"]
    slow = np.mean([fam[n].build().fit(X, y).predict_proba(Xt) for n in path], axis=0)
    np.testing.assert_allclose(clf.predict_proba(Xt), slow, atol=1e-10)
    clf.save(tmp_path / "p.pt")
    np.testing.assert_allclose(load(tmp_path / "p.pt").predict_proba(Xt), slow, atol=1e-10)


def test_group_balanced_candidates_get_the_groups_of_their_rows(robust_data):
    X, y, Xt, groups = robust_data
    clf = create_head("nmtune-cv-gb", random_state=0, device="cpu", epochs=2, min_steps=10, blend=False)
    clf.fit(X, y, groups=groups)
    fam = {c.name: c for c in clf.candidates_}
    assert [n for n in fam if n.startswith("l2")] == [
        f"l2gb-C{c:g}" for c in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1)
    ]
    # the fold score of an l2gb candidate is that of the head fitted with the fold's groups (not unweighted)
    i = list(fam).index("l2gb-C0.01")
    tr, va = clf.folds_[0]
    weighted = GroupBalancedL2(C=0.01, n_ref=len(y)).fit(X[tr], y[tr], groups=groups[tr])
    assert clf.cv_results_["split0_test_score"][i] == pytest.approx(np.mean(weighted.predict(X[va]) == y[va]))


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"selection": "wise-ft", "Cs": ()}, "wise-ft"),
        ({"selection": "average-path", "Cs": (0.3, 1.0)}, "average-path"),
        ({"group_balance": True, "penalty": "sum"}, "needs penalty='per-sample'"),
    ],
)
def test_bad_combinations_are_refused(robust_data, kw, pattern):
    X, y, _, _ = robust_data
    with pytest.raises(ValueError, match=pattern):
        NMTuneCV(**kw).fit(X, y)


def test_the_evaluations_one_pass_equals_every_round_2_variant(robust_data, load_script):
    X, y, Xt, groups = robust_data
    mod = load_script("benchmarks/eval_robust_head.py")
    names = mod.ROUNDS[2]["variants"]
    variants = {v: {**mod.ALL_VARIANTS[v], "lp_params": BUDGET, "nmtune_params": BUDGET} for v in names}
    res = mod.variant_predictions(X, y, groups, [Xt], seed=3, variants=variants)
    for v, kw in variants.items():
        clf = NMTuneCV(random_state=3, device="cpu", **kw).fit(X, y, groups=groups)
        got = res["variants"][v]
        assert got["pick"] == clf.best_params_["candidate"], v
        assert got["averaged"] == clf.best_params_.get("averaged"), v
        assert got["alpha"] == clf.best_params_.get("alpha"), v
        np.testing.assert_allclose(got["proba"][0], clf.predict_proba(Xt), atol=1e-6, err_msg=v)


def test_glyph_source_needs_its_checkpoints(load_script, tmp_path):
    mod = load_script("benchmarks/eval_robust_head.py")
    with pytest.raises(SystemExit, match="needs --checkpoints"):
        mod._encoders("glyphs-noisy", None)
    with pytest.raises(SystemExit, match="does not exist"):
        mod._encoders("glyphs-noisy", tmp_path)
    for g, k in mod.GLYPH_BACKBONES:
        (tmp_path / f"g{g}_s{k}.pt").write_bytes(b"")
    pairs = mod._encoders("glyphs-noisy", tmp_path)
    assert [s for _, s in pairs] == [f"@g{g}_s{k}" for g in ("0.05", "0.1", "0.2") for k in (0, 1)]
    assert pairs[0][0] == f"pretrained:{tmp_path.resolve()}/g0.05_s0.pt"


def _record(source, task, oods, ids=None):
    methods = {}
    for m, ood in oods.items():
        methods[m] = {"id": (ids or {}).get(m, 90.0), "ood": ood, "worst": ood - 5, "oracle_ood": ood + 1,
                      "spearman_val_ood": 0.1, "fit_seconds": 2.0, "pick": "lp"}  # fmt: skip
    return {"source": source, "task": task, "seed": 0, "nmtune_seconds": 1.0, "methods": methods}


def test_round_2_report_applies_the_pre_registered_rule(load_script, tmp_path):
    """Hand-built records: V3 is 2 points above LP (the better baseline) on every unit, the others are level."""
    from scipy.stats import ttest_1samp

    rep = load_script("benchmarks/report_robust_head.py")
    rng = np.random.default_rng(0)
    records, noise = [], rng.normal(0, 0.5, size=18)
    variants = ("nmtune-cv", "V1-ps", "V3-ps-avg", "V4-wiseft", "V5-path", "V6-gb")
    for u, (source, task) in enumerate((s, f"t{i}") for s in rep.ROUNDS[2]["sources"] for i in range(6)):
        oods = {"lp": 60.0, "logreg-cv": 59.0, "logreg-gcv": 58.0}
        oods |= {v: 60.0 + noise[u] + (2.0 if v == "V3-ps-avg" else 0.0) for v in variants}
        records.append(_record(source, task, oods, ids={"V5-path": 89.0}))
    path = tmp_path / "records.jsonl"
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in records))
    from pathlib import Path

    round_1 = sorted(Path(__file__).parents[2].glob("docs/results/robust-head/records-*.jsonl"))
    a = rep.write_report([path], tmp_path / "out", round_=2, pool_with=round_1)
    assert a["better"] == {s: "lp" for s in rep.ROUNDS[2]["sources"]}
    raw = [ttest_1samp(noise + (2.0 if v == "V3-ps-avg" else 0.0), 0, alternative="greater").pvalue
           for v in rep.ROUNDS[2]["variants"]]  # fmt: skip
    order = np.argsort(raw)
    holm = np.empty(4)
    holm[order] = np.minimum(1, np.maximum.accumulate([(4 - i) * raw[j] for i, j in enumerate(order)]))
    for v, p_raw, p_holm in zip(rep.ROUNDS[2]["variants"], raw, holm):
        r = a["variants"][v]
        assert r["p_one_sided"] == pytest.approx(p_raw) and r["p_holm"] == pytest.approx(p_holm)
    assert a["variants"]["V3-ps-avg"]["t"]["mean"] == pytest.approx(2.0 + noise.mean())
    assert a["winner"] == "V3-ps-avg" and not a["variants"]["V4-wiseft"]["wins"]
    assert not a["variants"]["V5-path"]["criteria"]["ID within 0.5 of LP"]  # 1 point below LP in ID
    text = (tmp_path / "out" / "report.md").read_text()
    assert "second round" in text and "18 units" in text and "**V3-ps-avg wins.**" in text
    d1 = rep.analyse(rep.load_records(round_1), 1)["variants"]["V3-ps-avg"]["d"]
    pooled = rep.t_test(d1 + a["variants"]["V3-ps-avg"]["d"])
    assert f"| V3-ps-avg | 27 | {rep._fmt(pooled)} |" in text  # the only variant decided in both rounds
