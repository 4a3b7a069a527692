"""Verdicts on the paper's noisy pre-training claims, decided from the numbers by rules fixed in advance.

Inputs are per-model summaries: for each noise rate gamma, one value per pre-training seed (seeds aligned, so
differences between noise rates are paired by seed). Shape convention: S seeds, G noise rates.

Rules (stated before any result is seen, never tuned):

- Every claim is turned into one paired quantity ``d`` per seed whose sign is the claim (``d > 0`` means "as
  the paper says"), and its two-sided 95 % Student-t confidence interval over seeds ``[lo, hi]``.
- ``lo > 0``: **reproduced**. ``hi < 0``: **not reproduced** (the opposite effect is significant).
  ``-margin < lo`` and ``hi < margin``: **not reproduced** (the effect is shown to be smaller than ``margin``,
  i.e. absent). Otherwise, or with fewer than 2 seeds: **inconclusive**.
- Every verdict also carries the minimum detectable effect (MDE) of its test at 80 % power with the seeds
  used, so that "inconclusive" can be read as "too few seeds for an effect of the paper's size" or not.
- Claims that must hold for every gamma > 0 ("always") are reproduced only if reproduced for each gamma, not
  reproduced if any gamma is not reproduced, inconclusive otherwise.

The claims (paper Sec. 2.2-2.3, 3.2): (1) slight noise (5-10 %) helps ID: ``d = mean(ID_LP(5), ID_LP(10)) -
ID_LP(0)``; (2) noise always hurts OOD: ``d_g = OOD_LP(0) - OOD_LP(g)`` for each g > 0; (3) SVE (ID) rises
with
noise: ``d`` = least-squares slope of SVE against gamma; (4) LSVR (OOD) rises: slope of LSVR; (5) NMTune
restores the clean model's lead: ``d = NMTune(0) - mean_g>0 NMTune(g)`` on the ID+OOD average; plus (6) NMTune
beats MLP tuning on the noisy models: ``d = mean_g>0 (NMTune(g) - MLP(g))`` on the OOD average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nmtune._internal.stats import minimum_detectable_effect, t_interval

__all__ = [
    "mean_ci",
    "decide",
    "Verdict",
    "claim_verdicts",
    "correlation",
    "method_differences",
    "REPRODUCED",
    "NOT_REPRODUCED",
    "INCONCLUSIVE",
]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of ``values`` (S,); NaN bounds when S < 2."""
    return t_interval(np.asarray(values, dtype=np.float64).ravel(), level)


def format_ci(lo: float, hi: float, *, digits: int = 4, why: str = "fewer than 2 seeds") -> str:
    """``[lo, hi]`` with signs, or ``(no 95 % CI: <why>)`` when either bound is not finite (never "nan")."""
    if math.isfinite(lo) and math.isfinite(hi):
        return f"[{lo:+.{digits}f}, {hi:+.{digits}f}]"
    return f"(no 95 % CI: {why})"


def decide(lo: float, hi: float, margin: float) -> str:
    """Apply the rule to a confidence interval ``[lo, hi]`` of an effect whose positive sign is the claim."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return INCONCLUSIVE
    if lo > 0:
        return REPRODUCED
    if hi < 0 or (lo > -margin and hi < margin):
        return NOT_REPRODUCED
    return INCONCLUSIVE


@dataclass(frozen=True)
class Verdict:
    """One claim's verdict with its evidence (effect mean and CI, per-gamma details).

    ``mde`` is the minimum detectable effect at 80 % power with the seeds used
    (:func:`nmtune._internal.stats.minimum_detectable_effect`), NaN with fewer than 2 seeds.
    """

    claim: str
    verdict: str
    effect: float
    ci: tuple[float, float]
    rule: str
    details: dict = field(default_factory=dict)
    mde: float = math.nan

    def to_markdown(self) -> str:
        """One bullet line; an interval that cannot be computed is said so, never printed as NaN."""
        extra = "; ".join(f"{k}: {v}" for k, v in self.details.items())
        return f"- **{self.claim}**: {self.verdict.upper()} — {self.evidence()}; rule: {self.rule}" + (
            f"; {extra}" if extra else ""
        )

    def evidence(self) -> str:
        """``effect +x (95 % CI [lo, hi])``, or why there is no effect or interval."""
        lo, hi = self.ci
        if not math.isfinite(self.effect):
            return "no effect estimate (missing results)"
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return f"effect {self.effect:+.4f} {format_ci(lo, hi)}"
        mde = f", MDE {self.mde:.4f}" if math.isfinite(self.mde) else ""
        return f"effect {self.effect:+.4f} (95 % CI {format_ci(lo, hi)}{mde})"


def _arr(table: dict, gamma: float) -> np.ndarray:
    return np.asarray(table[gamma], dtype=np.float64)


def _verdict(claim, d, margin, rule, **details) -> Verdict:
    m, lo, hi = mean_ci(d)
    return Verdict(claim, decide(lo, hi, margin), m, (lo, hi), rule, details, minimum_detectable_effect(d))


def _slopes(table: dict) -> np.ndarray:
    gammas = np.array(sorted(table), dtype=np.float64)
    y = np.stack([_arr(table, g) for g in gammas])  # (G, S)
    gc = gammas - gammas.mean()
    return (gc[:, None] * (y - y.mean(0))).sum(0) / (gc**2).sum()  # (S,) slope per seed


def claim_verdicts(summary: dict, *, acc_margin: float = 0.005, metric_margin: float = 0.01) -> list[Verdict]:
    """Verdicts for the six claims.

    Parameters
    ----------
    summary : dict
        ``summary[key][gamma] -> (S,)`` values per seed, keys ``"id_lp"``, ``"ood_lp"``, ``"sve_id"``,
        ``"lsvr_ood"``, ``"all_nmtune"`` (ID+OOD average accuracy with NMTune), ``"ood_nmtune"``,
        ``"ood_mlp"``; gamma as a fraction (0.05 for 5 %). Missing keys or gammas give "inconclusive".
    acc_margin : float, default=0.005
        Equivalence margin for accuracy differences (0.5 percentage point).
    metric_margin : float, default=0.01
        Equivalence margin for SVE/LSVR slopes (per unit of gamma).

    Returns
    -------
    list of Verdict
    """
    noisy = sorted(g for g in summary.get("id_lp", {}) if g > 0)
    out = [
        _claim_slight_noise(summary, acc_margin),
        _claim_noise_hurts_ood(summary, acc_margin),
        _claim_spectrum_rises(summary, "sve_id", "SVE of ID features rises with noise", metric_margin),
        _claim_spectrum_rises(summary, "lsvr_ood", "LSVR of OOD features rises with noise", metric_margin),
        _claim_clean_leads_with_nmtune(summary, noisy, acc_margin),
    ]
    if "ood_nmtune" in summary and "ood_mlp" in summary and noisy:
        d = np.mean([_arr(summary["ood_nmtune"], g) - _arr(summary["ood_mlp"], g) for g in noisy], axis=0)
        out.append(
            _verdict(
                "NMTune beats MLP tuning on noisy models (OOD)",
                d,
                acc_margin,
                "CI of mean over gamma>0 of NMTune - MLP, OOD average",
            )
        )
    return out


def _claim_slight_noise(summary: dict, acc_margin: float) -> Verdict:
    claim = "slight noise (5-10 %) improves ID LP accuracy"
    try:
        slight = [g for g in (0.05, 0.1) if g in summary["id_lp"]]
        if not slight:
            raise KeyError("no slight noise rate")
        d = np.mean([_arr(summary["id_lp"], g) for g in slight], axis=0) - _arr(summary["id_lp"], 0.0)
    except (KeyError, ValueError):
        return Verdict(claim, INCONCLUSIVE, math.nan, (math.nan, math.nan), "missing gamma 0, 5 % or 10 %")
    return _verdict(
        claim,
        d,
        acc_margin,
        "CI of mean(ID(5%),ID(10%)) - ID(0) per seed",
        gammas_used=[f"{100 * g:g}%" for g in slight],
    )


def _claim_noise_hurts_ood(summary: dict, acc_margin: float) -> Verdict:
    per = {}
    for g in sorted(g for g in summary.get("ood_lp", {}) if g > 0):
        d = _arr(summary["ood_lp"], 0.0) - _arr(summary["ood_lp"], g)
        per[g] = _verdict(f"OOD(0) - OOD({100 * g:g}%)", d, acc_margin, "")
    kinds = [v.verdict for v in per.values()]
    if not kinds:
        overall = INCONCLUSIVE
    elif all(k == REPRODUCED for k in kinds):
        overall = REPRODUCED
    elif NOT_REPRODUCED in kinds:
        overall = NOT_REPRODUCED
    else:
        overall = INCONCLUSIVE
    if per:  # effect and CI of the per-seed mean over gamma > 0 of OOD(0) - OOD(gamma)
        d_all = np.mean([_arr(summary["ood_lp"], 0.0) - _arr(summary["ood_lp"], g) for g in per], axis=0)
        mean_d, lo_d, hi_d = mean_ci(d_all)
        mde = minimum_detectable_effect(d_all)
    else:
        mean_d, lo_d, hi_d, mde = math.nan, math.nan, math.nan, math.nan
    return Verdict(
        "noise always hurts OOD LP accuracy",
        overall,
        mean_d,
        (lo_d, hi_d),
        "every gamma>0: CI of OOD(0) - OOD(gamma) per seed excludes 0 (effect and CI: the per-seed mean "
        "over gammas)",
        {f"{100 * g:g}%": f"{v.evidence()} {v.verdict}" for g, v in per.items()},
        mde,
    )


def _claim_spectrum_rises(summary: dict, key: str, claim: str, metric_margin: float) -> Verdict:
    if len(summary.get(key, {})) < 2:
        return Verdict(claim, INCONCLUSIVE, math.nan, (math.nan, math.nan), "fewer than 2 gammas")
    return _verdict(
        claim, _slopes(summary[key]), metric_margin, "CI of the per-seed least-squares slope against gamma"
    )


def _claim_clean_leads_with_nmtune(summary: dict, noisy: list, acc_margin: float) -> Verdict:
    claim = "with NMTune the clean model leads again"
    if "all_nmtune" not in summary or 0.0 not in summary["all_nmtune"] or not noisy:
        return Verdict(
            claim,
            INCONCLUSIVE,
            math.nan,
            (math.nan, math.nan),
            "needs NMTune results at gamma 0 and gamma > 0",
        )
    d = _arr(summary["all_nmtune"], 0.0) - np.mean([_arr(summary["all_nmtune"], g) for g in noisy], axis=0)
    return _verdict(
        claim, d, acc_margin, "CI of NMTune(0) - mean over gamma>0 of NMTune(gamma), ID+OOD average"
    )


def method_differences(summary: dict, methods) -> list[dict]:
    """Paired differences between every two heads on the noisy models (descriptive, not a claim).

    Parameters
    ----------
    summary : dict
        ``summary[f"{kind}_{method}"][gamma] -> list over seeds`` (seeds aligned across keys).
    methods : sequence of str
        Heads in the order they are compared (``a - b`` for ``a`` after ``b``).

    Returns
    -------
    list of dict
        One dict per (pair, kind in ``("id", "ood")``): ``a``, ``b``, ``kind``, ``mean`` and ``ci`` of the per-seed
        mean over gamma > 0 of accuracy(a) - accuracy(b); pairs missing from ``summary`` are left out.
    """
    rows = []
    for j, a in enumerate(methods):
        for b in methods[:j]:
            for kind in ("id", "ood"):
                ta, tb = summary.get(f"{kind}_{a}"), summary.get(f"{kind}_{b}")
                if ta is None or tb is None:
                    continue
                noisy = [g for g in sorted(ta) if g > 0 and g in tb]
                if not noisy:
                    continue
                d = np.mean([_arr(ta, g) - _arr(tb, g) for g in noisy], axis=0)  # (S,)
                m, lo, hi = mean_ci(d)
                rows.append({"a": a, "b": b, "kind": kind, "mean": m, "ci": (lo, hi), "n_seeds": int(d.size)})
    return rows


def correlation(x, y) -> dict:
    """Pearson and Spearman correlation of two (n,) arrays, with a Fisher-z 95 % CI for Pearson."""
    from scipy import stats

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = x.size
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {
            "n": int(n),
            "pearson": math.nan,
            "pearson_ci": [math.nan, math.nan],
            "spearman": math.nan,
            "pearson_p": math.nan,
        }
    r, p = stats.pearsonr(x, y)
    rho = stats.spearmanr(x, y).statistic
    ci = [math.nan, math.nan]
    if n > 3:
        z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / math.sqrt(n - 3)
        ci = [float(np.tanh(z - 1.96 * se)), float(np.tanh(z + 1.96 * se))]
    return {"n": int(n), "pearson": float(r), "pearson_ci": ci, "spearman": float(rho), "pearson_p": float(p)}


def summary_table(summary: dict) -> list[str]:
    """Markdown table: per gamma, mean and 95 % CI half-width over seeds of the main quantities."""
    keys = [
        k
        for k in (
            "clean_test_accuracy",
            "id_lp",
            "ood_lp",
            "sve_id",
            "lsvr_ood",
            "id_mlp",
            "ood_mlp",
            "id_nmtune",
            "ood_nmtune",
        )
        if k in summary
    ]
    rows = ["| gamma | seeds | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for g in sorted(summary[keys[0]]):
        cells = []
        for k in keys:
            m, lo, hi = mean_ci(summary[k].get(g, []))
            cells.append(f"{m:.4f}" + ("" if not np.isfinite(hi) else f" ± {hi - m:.4f}"))
        rows.append(f"| {100 * g:g} % | {len(summary[keys[0]][g])} | " + " | ".join(cells) + " |")
    return rows
