import math

import numpy as np
import pytest

from nmtune.apps.study.verdict import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    claim_verdicts,
    correlation,
    decide,
    mean_ci,
)


def test_mean_ci_matches_t_interval_by_hand():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.302653, sd = 1, n = 3
    assert m == 2.0
    assert math.isclose(hi - m, 4.302653 / math.sqrt(3), rel_tol=1e-5)
    assert math.isclose(m - lo, hi - m)
    assert math.isnan(mean_ci([1.0])[1])


def test_decide_rules():
    assert decide(0.01, 0.03, 0.005) == REPRODUCED
    assert decide(-0.03, -0.01, 0.005) == NOT_REPRODUCED
    assert decide(-0.002, 0.003, 0.005) == NOT_REPRODUCED  # effect shown to be below the margin
    assert decide(-0.02, 0.03, 0.005) == INCONCLUSIVE
    assert decide(math.nan, math.nan, 0.005) == INCONCLUSIVE


def _table(values_by_gamma):
    return {g: np.asarray(v, dtype=float) for g, v in values_by_gamma.items()}


def test_claims_on_hand_made_numbers():
    gammas = (0.0, 0.05, 0.1, 0.2, 0.3)
    summary = {
        # ID rises at 5-10 % by ~2 points on every seed
        "id_lp": _table(
            {
                0.0: [0.80, 0.81, 0.79],
                0.05: [0.82, 0.83, 0.81],
                0.1: [0.82, 0.83, 0.81],
                0.2: [0.79, 0.80, 0.78],
                0.3: [0.75, 0.76, 0.74],
            }
        ),
        # OOD falls at every gamma except 5 % where it is a coin flip
        "ood_lp": _table(
            {
                0.0: [0.60, 0.61, 0.59],
                0.05: [0.62, 0.58, 0.60],
                0.1: [0.55, 0.56, 0.54],
                0.2: [0.50, 0.51, 0.49],
                0.3: [0.45, 0.46, 0.44],
            }
        ),
        "sve_id": _table({g: [2.0 + g + e for e in (0.0, 0.01, -0.01)] for g in gammas}),  # slope 1
        "lsvr_ood": _table({g: [1.0 - g + e for e in (0.0, 0.01, -0.01)] for g in gammas}),  # slope -1
        "all_nmtune": _table({g: [0.7, 0.7, 0.7] if g == 0 else [0.71, 0.69, 0.7] for g in gammas}),
    }
    v = {x.claim: x for x in claim_verdicts(summary)}
    assert v["slight noise (5-10 %) improves ID LP accuracy"].verdict == REPRODUCED
    assert math.isclose(v["slight noise (5-10 %) improves ID LP accuracy"].effect, 0.02, abs_tol=1e-9)
    assert v["noise always hurts OOD LP accuracy"].verdict == INCONCLUSIVE  # 5 % is not significant
    assert v["SVE of ID features rises with noise"].verdict == REPRODUCED
    assert math.isclose(v["SVE of ID features rises with noise"].effect, 1.0, abs_tol=1e-9)
    assert v["LSVR of OOD features rises with noise"].verdict == NOT_REPRODUCED
    assert v["with NMTune the clean model leads again"].verdict == INCONCLUSIVE
    text = "\n".join(x.to_markdown() for x in v.values())
    assert "REPRODUCED" in text and "5%" in text


def test_single_seed_is_inconclusive():
    summary = {
        "id_lp": _table({0.0: [0.8], 0.05: [0.9], 0.1: [0.9]}),
        "ood_lp": _table({0.0: [0.8], 0.1: [0.1]}),
    }
    for x in claim_verdicts(summary):
        assert x.verdict == INCONCLUSIVE


def test_correlation_signs():
    x = np.arange(10.0)
    c = correlation(x, -2 * x + 1)
    assert math.isclose(c["pearson"], -1.0) and math.isclose(c["spearman"], -1.0)
    assert math.isnan(correlation([1.0, 2.0], [3.0, 4.0])["pearson"])


def test_method_differences_pairs_seeds_and_skips_the_clean_model():
    from nmtune.apps.study.verdict import method_differences

    summary = {
        "id_lp": {0.0: [0.9, 0.9, 0.9], 0.1: [0.80, 0.82, 0.84], 0.3: [0.70, 0.72, 0.74]},
        "id_mlp": {0.0: [0.1, 0.1, 0.1], 0.1: [0.78, 0.80, 0.82], 0.3: [0.69, 0.70, 0.71]},
        "ood_lp": {0.1: [0.5, 0.5, 0.5]},
    }
    rows = method_differences(summary, ["lp", "mlp"])
    assert len(rows) == 1  # no ood_mlp: the OOD pair is left out
    (row,) = rows
    assert (row["a"], row["b"], row["kind"], row["n_seeds"]) == ("mlp", "lp", "id", 3)
    # per seed: mean of (0.78-0.80, 0.69-0.70), (0.80-0.82, 0.70-0.72), (0.82-0.84, 0.71-0.74)
    per_seed = [-0.015, -0.02, -0.025]
    assert math.isclose(row["mean"], float(np.mean(per_seed)), abs_tol=1e-12)
    m, lo, hi = mean_ci(per_seed)
    assert np.allclose(row["ci"], (lo, hi))


def test_no_verdict_line_ever_prints_a_nan_interval():
    one_seed = {k: {0.0: [0.8], 0.05: [0.81], 0.1: [0.8], 0.3: [0.7]} for k in ("id_lp", "ood_lp", "sve_id")}
    many = {
        k: {g: [0.8 - g + 0.01 * s for s in range(3)] for g in (0.0, 0.1, 0.3)} for k in ("id_lp", "ood_lp")
    }
    for summary in (one_seed, many, {}):
        for v in claim_verdicts(summary):
            assert "nan" not in v.to_markdown().lower(), v.to_markdown()


def test_noise_hurts_ood_claim_carries_the_interval_of_its_effect():
    ood = {g: [0.8 - g * (1 + 0.1 * s) for s in range(4)] for g in (0.0, 0.1, 0.2)}
    v = next(v for v in claim_verdicts({"ood_lp": ood}) if v.claim.startswith("noise always hurts"))
    d = np.mean([np.asarray(ood[0.0]) - np.asarray(ood[g]) for g in (0.1, 0.2)], axis=0)
    m, lo, hi = mean_ci(d)
    assert v.effect == pytest.approx(m) and v.ci == pytest.approx((lo, hi)) and lo > 0
