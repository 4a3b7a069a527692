"""The study's report: ``summary.json``, ``verdict.md`` and the figures, from :class:`StudyData`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from nmtune._internal.files import atomic_write_text

__all__ = ["write_report", "per_seed_summary"]


def per_seed_summary(data, probe: str) -> dict:
    """``summary[key][gamma] -> list over seeds`` (seeds sorted, so paired across gammas).

    Keys: ``{id,ood,all}_{method}`` (accuracy; ``all`` is the mean of ID and OOD), the same with a ``_f1``
    suffix for macro-F1, ``id_lp`` / ``ood_lp`` (the probe's), ``sve_id`` and ``lsvr_ood`` (the backbone's
    features, read from the probe's runs) and ``clean_test_accuracy``.
    """
    out: dict = {}

    def put(key, table):
        out[key] = {g: [float(v) for v in table[i] if np.isfinite(v)] for i, g in enumerate(data.gammas)}

    for m in data.methods:
        for metric, suffix in (("accuracy", ""), ("macro_f1", "_f1")):
            tid, tood = data.table(m, f"id_{metric}"), data.table(m, f"ood_{metric}")
            put(f"id_{m}{suffix}", tid)
            put(f"ood_{m}{suffix}", tood)
            put(f"all_{m}{suffix}", (tid + tood) / 2)
    out["id_lp"], out["ood_lp"] = out[f"id_{probe}"], out[f"ood_{probe}"]
    put("sve_id", data.table(probe, "id_sve"))
    put("lsvr_ood", data.table(probe, "ood_lsvr"))
    put("clean_test_accuracy", data.backbone_table("clean_test_accuracy"))
    return out


def write_report(data, records, config, out: str | Path) -> dict:
    """Write ``summary.json``, ``verdict.md`` and the figures into ``out``; returns the summary dict."""
    from nmtune.apps.study.figures import write_figures
    from nmtune.apps.study.verdict import claim_verdicts, correlation, method_differences, summary_table

    out = Path(out)
    summary = per_seed_summary(data, config.probe)
    verdicts = claim_verdicts(summary)
    ood = data.table(config.probe, "ood_accuracy").ravel()
    lsvr = data.table(config.probe, "ood_lsvr").ravel()
    keep = np.isfinite(ood) & np.isfinite(lsvr)
    corr = correlation(ood[keep], lsvr[keep])
    methods = [m for m in config.methods if m in data.methods]
    differences = method_differences(summary, methods)
    result = {
        "summary": {k: {str(g): v for g, v in d.items()} for k, d in summary.items()},
        "verdicts": [dataclasses.asdict(v) for v in verdicts],
        "ood_lp_vs_lsvr": corr,
        "method_differences": differences,
        "unit": "pre-training seed",
        "n_runs": len(records),
        "config": config.to_dict(),
    }
    atomic_write_text(out / "summary.json", json.dumps(result, indent=1, default=str))
    lines = [
        "# Noisy pre-training study: verdicts",
        "",
        "Rules: see nmtune.apps.study.verdict (95 % t-CI over pre-training seeds, paired by seed).",
        f"Linear probe used for 'LP': {config.probe}; methods: {', '.join(methods)}.",
        "",
        *[v.to_markdown() for v in verdicts],
        "",
        *summary_table(summary),
    ]
    atomic_write_text(out / "verdict.md", "\n".join(lines) + "\n")
    write_figures(summary, out, methods)
    return result
