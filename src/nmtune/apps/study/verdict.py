"""Verdicts on the paper's noisy pre-training claims, tested as the paper states them, with family-wise control.

Unit of replication: the **pre-training seed** (S seeds). At one seed the backbones of every noise rate share
their initialisation and data order, so contrasts between noise rates (and between methods) are paired by seed;
tasks, fractions and downstream (head) seeds are averaged within each seed first
(:mod:`nmtune.apps.study.summary`), never counted as units. Shapes: G noise rates, S seeds, K cells of a table.

Every claim but one is a **contrast** ``d_s = sum_k c_k y_ks`` of per-seed values ``y`` (K cells x S seeds) whose
sign is the claim (``direction`` +1: ``d > 0`` is the claim). Its test is the two-sided one-sample t-test of the
``d_s`` over seeds (S - 1 df); for accuracy claims the squared standard error also holds the **test-sample
variance** of the mean (a paired bootstrap over the rows of the fixed test sets, :mod:`nmtune.apps.study.resample`),
which the spread between seeds does not contain. The minimum detectable effect (80 % power) uses the residual
variance of the whole table pooled across its cells (:func:`nmtune._internal.stats.pooled_residual_sd`, (K-1)(S-1)
df) instead of the S - 1 df of one contrast.

Decisions, from the p-value and the sign:

- **raw**: p < 0.05 with the claim's sign: *reproduced*; with the opposite sign: *not reproduced (opposite)*;
  the 95 % interval inside (-margin, +margin): *not reproduced (absent)*; otherwise *inconclusive*.
- **Holm**: the same with Holm's adjusted p-value over the study's family of claims (every claim tested here), so
  that the chance of any false "reproduced" or "opposite" in the family stays at 5 %; no equivalence decision.

The claims (paper Sec. 2.2-2.3, 3.2; the rule of each in :data:`RULES`): slight noise (5-10 %) helps ID; noise
hurts OOD at **every** gamma > 0 (intersection-union: the claim's p is the largest per-gamma p); SVE and LSVR rise
(per-seed least-squares slopes); OOD accuracy relates negatively to LSVR **within** a noise rate (partial
correlation with gamma as a factor; the models are the units here); NMTune restores the clean model's lead, as a
**difference in differences** against LP and against MLP tuning; NMTune beats LP and MLP tuning on the noisy
models. Macro-F1 versions of the accuracy claims are reported beside them (not in the family).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nmtune._internal.stats import holm, mde_from_se, partial_correlation, pooled_residual_sd, t_test

__all__ = [
    "Verdict",
    "claim_verdicts",
    "contrast_test",
    "decide",
    "REPRODUCED",
    "NOT_REPRODUCED",
    "OPPOSITE",
    "ABSENT",
    "INCONCLUSIVE",
    "RULES",
    "ALPHA",
]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
OPPOSITE, ABSENT = "not reproduced (opposite)", "not reproduced (absent)"
ALPHA = 0.05
ACC_MARGIN, SLOPE_MARGIN = 0.005, 0.01

#: The tested quantity of each claim (d per pre-training seed; LP = the study's probe; "ID+OOD" = their mean).
RULES = {
    "slight-noise-helps-id": "d = mean(ID LP(5 %), ID LP(10 %)) - ID LP(0)",
    "noise-hurts-ood": "d_g = OOD LP(0) - OOD LP(g) for every g > 0; reproduced only if every d_g > 0 "
    "(p = the largest per-g p)",
    "sve-rises": "d = least-squares slope of the ID features' SVE against g",
    "lsvr-rises": "d = least-squares slope of the OOD features' LSVR against g",
    "ood-vs-lsvr-within-g": "partial correlation of OOD LP accuracy and LSVR over the models, g as a factor "
    "(claim: negative)",
    "nmtune-restores-lead-vs-lp": "DiD = lead(NMTune) - lead(LP), lead(M) = M(0) - mean over g > 0 of M(g), ID+OOD",
    "nmtune-restores-lead-vs-mlp": "DiD = lead(NMTune) - lead(MLP), as above",
    "nmtune-beats-lp-noisy": "d = mean over g > 0 of NMTune(g) - LP(g), OOD",
    "nmtune-beats-mlp-noisy": "d = mean over g > 0 of NMTune(g) - MLP(g), OOD",
}

CLAIMS = {
    "slight-noise-helps-id": "slight pre-training noise (5-10 %) improves ID accuracy (LP)",
    "noise-hurts-ood": "pre-training noise hurts OOD accuracy (LP) at every noise rate",
    "sve-rises": "the SVE of ID features rises with noise",
    "lsvr-rises": "the LSVR of OOD features rises with noise",
    "ood-vs-lsvr-within-g": "OOD accuracy falls as LSVR rises, within a noise rate",
    "nmtune-restores-lead-vs-lp": "NMTune restores the clean model's lead (vs LP)",
    "nmtune-restores-lead-vs-mlp": "NMTune restores the clean model's lead (vs MLP tuning)",
    "nmtune-beats-lp-noisy": "NMTune beats LP on noisy models (OOD)",
    "nmtune-beats-mlp-noisy": "NMTune beats MLP tuning on noisy models (OOD)",
}


@dataclass(frozen=True)
class Verdict:
    """One claim's test: effect (claim's units), 95 % CI, p, raw and Holm decisions, MDE, macro-F1 version.

    ``direction`` is +1 when the claim says the effect is positive, -1 when negative. ``units`` names the scale
    (``"accuracy"``, a fraction; ``"per unit gamma"``; ``"r"``). ``test_variance`` says whether the interval holds
    the test-sample variance. ``f1`` is the same rule on macro-F1 (``effect``, ``lo``, ``hi``, ``p``) or None.
    """

    key: str
    claim: str
    rule: str
    direction: int
    units: str
    effect: float
    lo: float
    hi: float
    p: float
    n: int
    df: int
    raw: str
    mde: float = math.nan
    test_variance: bool = False
    p_holm: float = math.nan
    holm: str = INCONCLUSIVE
    f1: dict | None = None
    details: dict = field(default_factory=dict)


def decide(effect: float, lo: float, hi: float, p: float, direction: int, margin: float | None = None) -> str:
    """The raw decision (module docstring) from a test's effect, interval and p-value."""
    if not (math.isfinite(p) and math.isfinite(effect)):
        return INCONCLUSIVE
    if p < ALPHA:
        return REPRODUCED if effect * direction > 0 else OPPOSITE
    if margin is not None and math.isfinite(lo) and math.isfinite(hi) and -margin < lo and hi < margin:
        return ABSENT
    return INCONCLUSIVE


def contrast_test(table, c, replicates=None) -> dict:
    """Test of the contrast ``d_s = c @ table[:, s]`` over the S seeds.

    Parameters
    ----------
    table : ndarray of shape (K, S)
        Per-seed values of K cells.
    c : ndarray of shape (K,)
        Contrast weights (zero for cells that do not enter).
    replicates : ndarray of shape (B, K, S), optional
        Bootstrap replicates of ``table`` over test samples: their variance of the mean contrast is added to the
        squared standard error.

    Returns
    -------
    dict
        ``d`` (S,), ``mean``, ``lo``, ``hi``, ``p``, ``se``, ``df``, ``n`` (:func:`nmtune._internal.stats.t_test`),
        ``test_var`` and ``mde`` (from the pooled residual variance of ``table``); NaN when a cell the contrast
        uses is missing.
    """
    y, c = np.asarray(table, dtype=np.float64), np.asarray(c, dtype=np.float64)
    used = c != 0
    nan = {"d": np.full(y.shape[1], np.nan), "test_var": math.nan, "mde": math.nan}
    if not used.any() or not np.all(np.isfinite(y[used])):
        return {**t_test([]), **nan}
    d = c[used] @ y[used]
    test_var = 0.0
    if replicates is not None:
        reps = np.asarray(replicates, dtype=np.float64)[:, used]  # (B, K', S)
        means = np.einsum("k,bks->bs", c[used], reps).mean(axis=1)  # (B,)
        test_var = float(np.var(means, ddof=1)) if np.all(np.isfinite(means)) else 0.0
    res = t_test(d, extra_variance=test_var)
    full = y[np.all(np.isfinite(y), axis=1)]  # pool over every complete cell of the table
    sd, _ = pooled_residual_sd(full)
    n = d.size
    mde = (
        mde_from_se(math.sqrt((sd * np.linalg.norm(c)) ** 2 / n + test_var), n - 1)
        if math.isfinite(sd)
        else math.nan
    )
    return {**res, "d": d, "test_var": test_var, "mde": mde}


class _Tables:
    """Per-seed tables (G, S) of the study, with their test-sample bootstrap replicates (B, G, S) when given."""

    def __init__(self, data, probe: str, replicates=None):
        self.data, self.probe, self.reps = data, probe, replicates or {}
        self.gammas = np.asarray(data.gammas, dtype=np.float64)

    def has(self, method: str) -> bool:
        return method in self.data.methods

    def acc(self, method: str, kind: str, metric: str = "accuracy"):
        """(point (G, S), replicates (B, G, S) or None) of ``kind`` in id / ood / all."""
        if kind == "all":
            (a, ra), (b, rb) = self.acc(method, "id", metric), self.acc(method, "ood", metric)
            return (a + b) / 2, (None if ra is None or rb is None else (ra + rb) / 2)
        rep = self.reps.get((method, kind)) if metric == "accuracy" else None
        return self.data.table(method, f"{kind}_{metric}"), rep


def _gamma_vector(gammas, weights: dict) -> np.ndarray:
    c = np.zeros(len(gammas))
    for g, w in weights.items():
        c[list(gammas).index(g)] += w
    return c


def _verdict(key, test, *, direction=1, units="accuracy", margin=ACC_MARGIN, f1=None, **details) -> Verdict:
    return Verdict(
        key,
        CLAIMS[key],
        RULES[key],
        direction,
        units,
        float(test["mean"]),
        float(test["lo"]),
        float(test["hi"]),
        float(test["p"]),
        int(test["n"]),
        int(test["df"]),
        decide(test["mean"], test["lo"], test["hi"], test["p"], direction, margin),
        mde=float(test.get("mde", math.nan)),
        test_variance=bool(test.get("test_var", 0.0)),
        f1=f1,
        details=details,
    )


def _f1(test) -> dict:
    return {k: float(test[k]) for k in ("mean", "lo", "hi", "p")}


def _two_table(t: _Tables, a: str, b: str, kind: str, c_half: np.ndarray, metric: str = "accuracy"):
    (ya, ra), (yb, rb) = t.acc(a, kind, metric), t.acc(b, kind, metric)
    reps = None if ra is None or rb is None else np.concatenate([ra, rb], axis=1)
    return contrast_test(np.vstack([ya, yb]), np.concatenate([c_half, -c_half]), reps)


def claim_verdicts(data, probe: str = "lp", replicates=None) -> list[Verdict]:
    """Every claim the study can test, with Holm's decisions over them (the family).

    Parameters
    ----------
    data : StudyData
        The study's per-seed tables.
    probe : str
        The linear probe playing "LP".
    replicates : dict, optional
        :func:`nmtune.apps.study.resample.accuracy_replicates` (test-sample variance of accuracy claims).

    Returns
    -------
    list of Verdict
        In the order of :data:`CLAIMS`; claims whose methods or noise rates the study lacks are left out.
    """
    t = _Tables(data, probe, replicates)
    gam = list(data.gammas)
    noisy = [g for g in gam if g > 0]
    out = []
    if 0.0 in gam:
        slight = [g for g in (0.05, 0.1) if g in gam]
        if slight:
            c = _gamma_vector(gam, {0.0: -1.0, **{g: 1 / len(slight) for g in slight}})
            y, r = t.acc(probe, "id")
            f1 = _f1(contrast_test(t.acc(probe, "id", "macro_f1")[0], c))
            out.append(_verdict("slight-noise-helps-id", contrast_test(y, c, r), f1=f1))
        if noisy:
            out.append(_noise_hurts_ood(t, gam, noisy))
    if len(gam) >= 2:
        gc = np.asarray(gam) - np.mean(gam)
        slope = gc / (gc**2).sum()
        for key, metric in (("sve-rises", "id_sve"), ("lsvr-rises", "ood_lsvr")):
            test = contrast_test(data.table(probe, metric), slope)
            out.append(_verdict(key, test, units="per unit gamma", margin=SLOPE_MARGIN))
    out.append(_ood_vs_lsvr(t, data, probe))
    if 0.0 in gam and noisy and t.has("nmtune"):
        lead = _gamma_vector(gam, {0.0: 1.0, **{g: -1 / len(noisy) for g in noisy}})
        mean_noisy = _gamma_vector(gam, {g: 1 / len(noisy) for g in noisy})
        for base, key in ((probe, "lp"), ("mlp", "mlp")):
            if not t.has(base):
                continue
            did = _two_table(t, "nmtune", base, "all", lead)
            f1 = _f1(_two_table(t, "nmtune", base, "all", lead, "macro_f1"))
            out.append(_verdict(f"nmtune-restores-lead-vs-{key}", did, f1=f1))
        for base, key in ((probe, "lp"), ("mlp", "mlp")):
            if not t.has(base):
                continue
            test = _two_table(t, "nmtune", base, "ood", mean_noisy)
            f1 = _f1(_two_table(t, "nmtune", base, "ood", mean_noisy, "macro_f1"))
            out.append(_verdict(f"nmtune-beats-{key}-noisy", test, f1=f1))
    return _with_holm([v for v in out if v is not None])


def _noise_hurts_ood(t: _Tables, gam: list, noisy: list) -> Verdict:
    y, r = t.acc(t.probe, "ood")
    yf = t.acc(t.probe, "ood", "macro_f1")[0]
    per = {g: contrast_test(y, _gamma_vector(gam, {0.0: 1.0, g: -1.0}), r) for g in noisy}
    f1 = {g: contrast_test(yf, _gamma_vector(gam, {0.0: 1.0, g: -1.0})) for g in noisy}
    tests = list(per.values())
    if any(not math.isfinite(x["p"]) for x in tests):
        pick = next(x for x in tests if not math.isfinite(x["p"]))
    elif all(x["mean"] > 0 for x in tests):
        pick = max(tests, key=lambda x: x["p"])  # intersection-union: the weakest gamma decides
    else:
        pick = min(tests, key=lambda x: x["mean"] / x["se"] if x["se"] > 0 else -math.inf)
    g_pick = noisy[tests.index(pick)]
    v = _verdict("noise-hurts-ood", pick, f1=_f1(f1[g_pick]), deciding_gamma=g_pick)
    absent = [
        g for g, x in per.items() if decide(x["mean"], x["lo"], x["hi"], x["p"], 1, ACC_MARGIN) == ABSENT
    ]
    raw = v.raw
    if raw == INCONCLUSIVE and absent:
        raw = ABSENT
    per_gamma = {
        f"{100 * g:g}%": {
            "effect": float(x["mean"]),
            "lo": float(x["lo"]),
            "hi": float(x["hi"]),
            "p": float(x["p"]),
            "mde": float(x["mde"]),
            "raw": decide(x["mean"], x["lo"], x["hi"], x["p"], 1, ACC_MARGIN),
            "f1_effect": float(f1[g]["mean"]),
        }
        for g, x in per.items()
    }
    return _replace(v, raw=raw, details={"deciding_gamma": g_pick, "per_gamma": per_gamma})


def _ood_vs_lsvr(t: _Tables, data, probe: str) -> Verdict:
    acc, lsvr = t.acc(probe, "ood")[0], data.table(probe, "ood_lsvr")
    groups = np.repeat(np.asarray(data.gammas), len(data.seeds))
    res = partial_correlation(acc.ravel(), lsvr.ravel(), groups)
    from scipy import stats as st

    q = st.norm.ppf(0.975) + st.norm.ppf(0.8)
    mde = (
        math.tanh(q / math.sqrt(res["n"] - res["n_groups"] - 2))
        if res["n"] - res["n_groups"] - 2 >= 1
        else math.nan
    )
    x, y = acc.ravel(), lsvr.ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    across = float(np.corrcoef(x[keep], y[keep])[0, 1]) if keep.sum() > 2 else math.nan
    test = {
        "mean": res["r"],
        "lo": res["lo"],
        "hi": res["hi"],
        "p": res["p"],
        "n": res["n"],
        "df": res["df"],
        "mde": mde,
    }
    return _verdict(
        "ood-vs-lsvr-within-g",
        test,
        direction=-1,
        units="r",
        margin=None,
        across_models_r=across,
        n_groups=res["n_groups"],
    )


def _replace(v: Verdict, **changes) -> Verdict:
    import dataclasses

    return dataclasses.replace(v, **changes)


def _with_holm(verdicts: list[Verdict]) -> list[Verdict]:
    adjusted = holm([v.p for v in verdicts])
    out = []
    for v, ph in zip(verdicts, adjusted):
        if math.isfinite(ph) and ph < ALPHA:
            decision = REPRODUCED if v.effect * v.direction > 0 else OPPOSITE
        else:
            decision = INCONCLUSIVE
        out.append(_replace(v, p_holm=float(ph), holm=decision))
    return out
