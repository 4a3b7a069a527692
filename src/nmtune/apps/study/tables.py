"""Markdown tables of a study: verdicts, leads, per-gamma effects, head differences, per-gamma values (in %)."""

from __future__ import annotations

import math

import numpy as np

from nmtune._internal.stats import mcnemar, t_interval

__all__ = [
    "format_effect",
    "verdict_table",
    "per_gamma_table",
    "lead_table",
    "values_table",
    "differences_table",
    "mcnemar_table",
    "mcnemar_rows",
]


def _pt(x: float, digits: int = 2) -> str:
    return "–" if not math.isfinite(x) else f"{x:+.{digits}f}".replace("-", "−")


def format_effect(effect: float, lo: float, hi: float, units: str = "accuracy") -> str:
    """``+1.23 [−0.50, +2.96]``: accuracy in points (x 100), slopes and correlations as they are."""
    scale, digits = (100.0, 2) if units == "accuracy" else (1.0, 2 if units != "r" else 2)
    e = _pt(scale * effect, digits)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{e} (no interval: fewer than 2 seeds)"
    return f"{e} [{_pt(scale * lo, digits)}, {_pt(scale * hi, digits)}]"


def _num(x: float, digits: int = 2) -> str:
    return "–" if not math.isfinite(x) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def verdict_table(verdicts) -> list[str]:
    """One row per claim: effect and CI, p, Holm p, raw and Holm decisions, MDE, the macro-F1 version."""
    rows = [
        "| claim (as the paper states it) | effect [95 % CI] | p | Holm p | decision (raw) | **decision (Holm)** "
        "| MDE (80 %) | macro-F1: effect [95 % CI] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        unit = {"accuracy": " pts", "per unit gamma": " / unit γ", "r": " (r)"}[v.units]
        scale = 100.0 if v.units == "accuracy" else 1.0
        mde = _num(scale * v.mde)
        f1 = (
            "–"
            if v.f1 is None
            else f"{format_effect(v.f1['mean'], v.f1['lo'], v.f1['hi'])} pts, p {_p(v.f1['p'])}"
        )
        rows.append(
            f"| {v.claim} | {format_effect(v.effect, v.lo, v.hi, v.units)}{unit} | {_p(v.p)} | {_p(v.p_holm)} | "
            f"{v.raw} | **{v.holm}** | {mde} | {f1} |"
        )
    return rows


def per_gamma_table(verdict) -> list[str]:
    """The "noise hurts OOD at every gamma" claim, gamma by gamma (accuracy points)."""
    rows = [
        "| γ | OOD(0) − OOD(γ) [95 % CI] | p | decision (raw) | MDE (80 %) | macro-F1 effect |",
        "|---|---|---|---|---|---|",
    ]
    for g, x in verdict.details.get("per_gamma", {}).items():
        rows.append(
            f"| {g} | {format_effect(x['effect'], x['lo'], x['hi'])} | {_p(x['p'])} | {x['raw']} | "
            f"{_num(100 * x['mde'])} | {_pt(100 * x['f1_effect'])} |"
        )
    return rows


def lsvr_section(verdict) -> list[str]:
    """The "OOD accuracy and LSVR" section of ``verdict.md`` for the within-γ claim's verdict.

    The across-model Pearson r (``verdict.details["across_models_r"]``, "–" when missing) beside the partial
    correlation with γ as a factor that the claim is decided on.
    """
    v = verdict
    across = v.details.get("across_models_r", math.nan)
    return [
        "",
        "## OOD accuracy and LSVR",
        "",
        f"Across all {v.n} backbones Pearson r = {format_effect(across, math.nan, math.nan, 'r').split(' (')[0]}; "
        "but LSVR tracks γ, so the claim is tested within γ: the partial correlation with γ as a factor is "
        f"r = {format_effect(v.effect, v.lo, v.hi, 'r')} (Fisher-z 95 % CI; t-test on {max(v.df, 0)} df, "
        f"p {'–' if not math.isfinite(v.p) else f'{v.p:.3f}'}).",
    ]


def lead_table(lead) -> list[str]:
    """Markdown table of the clean model's lead per head: ``lead[head][kind]`` tests, kind ``all``/``id``/``ood``."""
    lines = ["| head | ID+OOD | ID | OOD |", "|---|---|---|---|"]
    for m, tests in lead.items():
        cells = [
            format_effect(tests[k]["mean"], tests[k]["lo"], tests[k]["hi"]) for k in ("all", "id", "ood")
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _cell(values, scale: float = 100.0, digits: int = 1) -> str:
    m, lo, hi = t_interval(values)
    if not math.isfinite(m):
        return "–"
    if not math.isfinite(hi):
        return f"{scale * m:.{digits}f}"
    return f"{scale * m:.{digits}f} ± {scale * (hi - m):.{digits}f}"


def values_table(data, columns) -> list[str]:
    """Per gamma, mean ± 95 % t half-width over seeds of each column.

    Parameters
    ----------
    data : StudyData
    columns : list of (header, table (G, S), scale, digits)
    """
    rows = ["| γ | seeds | " + " | ".join(c[0] for c in columns) + " |", "|---|---|" + "---|" * len(columns)]
    for i, g in enumerate(data.gammas):
        cells = [_cell(tab[i][np.isfinite(tab[i])], scale, digits) for _, tab, scale, digits in columns]
        n = int(np.isfinite(columns[0][1][i]).sum()) if columns else 0
        rows.append(f"| {100 * g:g} % | {n} | " + " | ".join(cells) + " |")
    return rows


def differences_table(rows_by_pair) -> list[str]:
    """Head against head, one row per (pair, kind).

    ``rows_by_pair`` is a list of (label, kind, accuracy cell, macro-F1 cell), each cell one value of
    :func:`nmtune.report.aggregate.paired_differences`.
    """
    out = [
        "| heads | kind | accuracy difference [95 % CI] | seeds ahead | macro-F1 difference [95 % CI] |",
        "|---|---|---|---|---|",
    ]
    for label, kind, acc, f1 in rows_by_pair:
        out.append(
            f"| {label} | {kind.upper()} | {format_effect(acc['mean'], acc['lo'], acc['hi'])} pts | "
            f"{acc['wins']} of {acc['n']} | {format_effect(f1['mean'], f1['lo'], f1['hi'])} pts |"
        )
    return out


def mcnemar_table(pairs) -> list[str]:
    """Per backbone, on its fixed test sets: McNemar's exact test of two heads (rows of :func:`mcnemar_rows`)."""
    from nmtune._internal.stats import holm

    if not pairs:
        return []
    adj = holm([p["p"] for p in pairs])
    out = [
        "| heads | γ | seed | test rows | accuracy difference | only A right | only B right | p | Holm p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p, ph in zip(pairs, adj):
        out.append(
            f"| {p['a']} − {p['b']} | {100 * p['gamma']:g} % | {p['seed']} | {p['n']} | "
            f"{_pt(100 * p['difference'])} pts | {p['a_only']} | {p['b_only']} | {_p(p['p'])} | {_p(ph)} |"
        )
    return out


def mcnemar_rows(
    records, backbones, a: str, b: str, *, kind: str = "ood", fraction: float | None = None
) -> list[dict]:
    """McNemar's test of heads ``a`` and ``b`` on each backbone's test rows of one kind (domains concatenated).

    Only runs at ``fraction`` (default: the largest) and downstream seed 0 enter: one fixed test set per backbone,
    one prediction of each head per row.
    """
    from nmtune.protocol.predictions import domain_outcomes

    runs = [r for r in records if r["config"]["method"] in (a, b) and r["config"]["seed"] == 0]
    if not runs:
        return []
    frac = fraction if fraction is not None else max(r["config"]["fraction"] for r in runs)
    by = {}
    for r in runs:
        c = r["config"]
        if c["fraction"] != frac:
            continue
        for name, d in sorted(r["domains"].items()):
            if d["kind"] == kind:
                y, pred = domain_outcomes(r, name)
                by.setdefault((c["encoder"], c["method"]), {})[(c["task"], name)] = pred == y
    out = []
    for label, info in sorted(backbones.items(), key=lambda kv: (kv[1]["gamma"], kv[1]["seed"])):
        ca, cb = by.get((label, a)), by.get((label, b))
        if not ca or not cb or set(ca) != set(cb):
            continue
        keys = sorted(ca)
        res = mcnemar(np.concatenate([ca[k] for k in keys]), np.concatenate([cb[k] for k in keys]))
        out.append({"a": a, "b": b, "gamma": float(info["gamma"]), "seed": int(info["seed"]),
                    "n": int(sum(ca[k].size for k in keys)), **res})  # fmt: skip
    return out
