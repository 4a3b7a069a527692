"""The study's report: ``verdict.md``, ``summary.json`` and the figures, from :class:`StudyData` and the records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nmtune._internal.files import atomic_write_text

__all__ = ["write_report", "leads", "head_differences"]


def leads(data, probe: str, replicates=None) -> dict:
    """The clean model's lead under each head: ``M(0) - mean over g > 0 of M(g)`` per seed, ID+OOD, ID and OOD.

    Returns
    -------
    dict
        ``method -> kind -> contrast test`` (:func:`nmtune.apps.study.verdict.contrast_test`; effect in accuracy).
    """
    from nmtune.apps.study.verdict import _gamma_vector, _Tables, contrast_test

    gam = list(data.gammas)
    noisy = [g for g in gam if g > 0]
    if 0.0 not in gam or not noisy:
        return {}
    lead = _gamma_vector(gam, {0.0: 1.0, **{g: -1 / len(noisy) for g in noisy}})
    t = _Tables(data, probe, replicates)
    out = {}
    for m in (
        probe,
        "mlp",
        "nmtune",
        *[x for x in data.methods if x not in (probe, "mlp", "nmtune", "zero-shot")],
    ):
        if t.has(m):
            out[m] = {}
            for k in ("all", "id", "ood"):
                y, reps = t.acc(m, k)
                out[m][k] = contrast_test(y, lead, reps)
    return out


def head_differences(data, methods) -> list[tuple]:
    """Every head against every other on the noisy models (gamma > 0), ID and OOD, accuracy and macro-F1.

    One paired-difference function, :func:`nmtune.report.aggregate.paired_differences`, with the pre-training
    seed as the unit (tasks, fractions, downstream seeds and the noise rates > 0 averaged within it).
    """
    from nmtune.apps.study.summary import UNIT, WITHIN
    from nmtune.report.aggregate import paired_differences

    rows = [r for r in data.rows if r.get("pretrain_noise", 0) > 0]
    kw = dict(unit=UNIT, within=(*WITHIN, "pretrain_noise"), ignore=("encoder",))
    out = []
    for j, a in enumerate(methods):
        for b in methods[:j]:
            for kind in ("id", "ood"):
                acc = paired_differences(rows, a, b, f"{kind}_accuracy", **kw)
                f1 = paired_differences(rows, a, b, f"{kind}_macro_f1", **kw)
                if acc and f1 and len(acc) == len(f1) == 1:
                    out.append((f"{a} − {b}", kind, next(iter(acc.values())), next(iter(f1.values()))))
    return out


def _json(x):
    if isinstance(x, np.ndarray):
        return [_json(v) for v in x.tolist()]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return _json(x.item())
    return x


def _title(config) -> str:
    return f"Noisy pre-training study: `{config.setup}` set-up, {config.objective} pre-training"


def write_report(data, records, config, out: str | Path, *, replicates=None) -> dict:
    """Write ``summary.json``, ``verdict.md`` and the figures into ``out``; returns the summary dict.

    Parameters
    ----------
    data : StudyData
    records : list of dict
        The study's run records (per-sample predictions for the test-sample variance and McNemar's tests).
    config : StudyConfig
    out : path
    replicates : dict, optional
        Precomputed :func:`nmtune.apps.study.resample.accuracy_replicates` (computed here when None).
    """
    from nmtune.apps.study.figures import write_figures
    from nmtune.apps.study.resample import N_BOOT, accuracy_replicates
    from nmtune.apps.study.tables import (
        differences_table,
        lead_table,
        lsvr_section,
        mcnemar_rows,
        mcnemar_table,
        per_gamma_table,
        values_table,
        verdict_table,
    )
    from nmtune.apps.study.verdict import claim_verdicts

    out = Path(out)
    probe = config.probe
    if replicates is None:
        replicates = accuracy_replicates(records, data)
    verdicts = claim_verdicts(data, probe, replicates)
    lead = leads(data, probe, replicates)
    methods = [m for m in config.methods if m in data.methods]
    diffs = head_differences(data, methods)
    mcn = []
    for base in (probe, "mlp"):
        if "nmtune" in methods and base in methods and base != "nmtune":
            mcn += mcnemar_rows(records, data.backbones, "nmtune", base)
    S = len(data.seeds)
    lines = [
        f"# {_title(config)}: verdicts",
        "",
        f"**Unit of replication: the pre-training seed** (S = {S}: seeds {', '.join(map(str, data.seeds))}). At one "
        f"seed the {len(data.gammas)} backbones (γ = {', '.join(f'{100 * g:g} %' for g in data.gammas)}) share their "
        "initialisation and data order, so differences between noise rates and between heads are paired by seed. "
        f"Within a seed the {len(data.tasks)} tasks ({', '.join(data.tasks)}), the {len(config.fractions)} training "
        f"fractions and the {len(config.downstream_seeds)} downstream (head) seed(s) are averaged first; none is a "
        "unit.",
        "",
        f"**Intervals and tests**: two-sided, 95 %, Student t over the S seeds (S − 1 = {S - 1} df). For accuracy "
        "claims the standard error also holds the test-sample variance (a paired bootstrap over the rows of each "
        f"fixed test set, B = {N_BOOT}, the same resampled rows for every backbone and head); the spectral claims "
        "(SVE, LSVR slopes) and the partial correlation ignore it. MDE: the effect the test detects with 80 % "
        "power, from the residual variance pooled over the whole table (every γ; every γ and both heads for head "
        "comparisons).",
        "",
        f"**Family**: the {len(verdicts)} claims below; the Holm column controls the chance of any false decision "
        "in the family at 5 % (Holm's step-down on the p-values). The raw column uses each p alone (and says "
        "*absent* when the interval lies inside ±0.5 accuracy points, ±0.01 per unit γ for slopes). Accuracy "
        f"effects in points (%); the probe playing “LP” is `{probe}`; heads: {', '.join(methods)}.",
        "",
        *verdict_table(verdicts),
        "",
        "Rules (d per pre-training seed):",
        "",
        *[f"- {v.claim}: {v.rule}." for v in verdicts],
    ]
    by_key = {v.key: v for v in verdicts}
    if lead and "nmtune" in lead:
        lines += ["", "## The clean model's lead, and what NMTune adds to it (difference in differences)", ""]
        lines += [
            "Lead of the clean backbone = accuracy at γ = 0 minus the mean over γ > 0 (points, 95 % CI over seeds "
            "with test-sample variance). The paper's claim is that NMTune restores a lead that noise took away: the "
            "lead under NMTune must exceed the lead under the head it is compared with (the DiD rows above).",
            "",
            *lead_table(lead),
        ]
    if "noise-hurts-ood" in by_key:
        lines += [
            "",
            "## Noise and OOD accuracy, γ by γ (claim: every γ)",
            "",
            *per_gamma_table(by_key["noise-hurts-ood"]),
        ]
    if "ood-vs-lsvr-within-g" in by_key:
        lines += lsvr_section(by_key["ood-vs-lsvr-within-g"])
    if diffs:
        lines += [
            "",
            "## Head against head on the noisy models (descriptive; not in the family)",
            "",
            "Per pre-training seed, the difference averaged over tasks, fractions and γ > 0; 95 % t-interval over "
            "seeds (holding the test sets fixed: without test-sample variance).",
            "",
            *differences_table(diffs),
        ]
    if mcn:
        frac = max(config.fractions)
        lines += [
            "",
            f"## Per backbone, on its fixed test sets (exploratory): McNemar's exact test, OOD rows, fraction {frac:g}",
            "",
            "Each backbone's OOD test rows (its tasks' OOD domains together), one prediction per head and row; Holm "
            "over the rows of this table.",
            "",
            *mcnemar_table(mcn),
        ]
    lines += _value_tables(data, records, config, methods, values_table)
    atomic_write_text(out / "verdict.md", "\n".join(lines) + "\n")
    figures = write_figures(data, out, config, verdicts=verdicts, records=records)
    result = {
        "title": _title(config),
        "unit": "pre-training seed",
        "seeds": list(data.seeds),
        "gammas": list(data.gammas),
        "verdicts": [_json(v.__dict__) for v in verdicts],
        "leads": {
            m: {k: _json({x: t[x] for x in ("mean", "lo", "hi", "p", "d")}) for k, t in d.items()}
            for m, d in lead.items()
        },  # fmt: skip
        "head_differences": [
            {"heads": label, "kind": kind, "accuracy": _json(acc), "macro_f1": _json(f1)}
            for label, kind, acc, f1 in diffs
        ],
        "mcnemar": _json(mcn),
        "per_seed": {
            f"{k}_{m}": _json(data.table(m, k))
            for m in data.methods
            for k in ("id_accuracy", "ood_accuracy", "id_macro_f1", "ood_macro_f1")
        },  # fmt: skip
        "spectra": {
            "sve_id": _json(data.table(probe, "id_sve")),
            "lsvr_ood": _json(data.table(probe, "ood_lsvr")),
        },
        "clean_test_accuracy": _json(data.backbone_table("clean_test_accuracy")),
        "figures": [p.name for p in figures],
        "n_runs": len(records),
        "config": _json(config.to_dict()),
    }
    atomic_write_text(out / "summary.json", json.dumps(result, indent=1))
    return result


def _value_tables(data, records, config, methods, values_table) -> list[str]:
    clean = (
        "zero-shot accuracy, 300 pre-training classes"
        if config.objective == "contrastive"
        else "clean test accuracy"
    )
    if config.setup == "images" and config.objective == "contrastive":  # the study's own caption data
        clean = "zero-shot accuracy, pre-training test split"
    head = [(f"backbone: {clean} (%)", data.backbone_table("clean_test_accuracy"), 100.0, 1)]
    head += [("SVE, ID features (nats)", data.table(config.probe, "id_sve"), 1.0, 3)]
    head += [("LSVR, OOD features (−log σ₁/Σσ)", data.table(config.probe, "ood_lsvr"), 1.0, 3)]
    lines = [
        "",
        "## Values per γ",
        "",
        "Mean ± 95 % t half-width over the pre-training seeds.",
        "",
        *values_table(data, head),
    ]
    cols = []
    for m in methods:
        cols += [
            (f"{m} ID acc", data.table(m, "id_accuracy"), 100.0, 1),
            (f"{m} ID F1", data.table(m, "id_macro_f1"), 100.0, 1),
        ]
    lines += ["", "ID accuracy and macro-F1 (%):", "", *values_table(data, cols)]
    for shift in data.shifts():
        tasks = data.tasks_of_shift(shift)
        cols = []
        for m in methods:
            cols += [
                (f"{m} acc", data.table(m, "ood_accuracy", tasks=tasks), 100.0, 1),
                (f"{m} F1", data.table(m, "ood_macro_f1", tasks=tasks), 100.0, 1),
            ]
        lines += [
            "",
            f"OOD accuracy and macro-F1 (%), shift: {shift} ({', '.join(tasks)}):",
            "",
            *values_table(data, cols),
        ]
    if "zero-shot" in data.methods:
        names = dict.fromkeys(
            n for r in records if r["config"]["method"] == "zero-shot" for n in r["domains"]
        )
        cols = [(name, data.domain_table(records, "zero-shot", name), 100.0, 1) for name in names]
        lines += [
            "",
            "Zero-shot accuracy (%) per test domain (the caption closest to each image; no training data):",
            "",
        ]
        lines += values_table(data, cols)
    return lines
