"""Re-decide a study folder written under the earlier rules, from its stored per-seed summary, with the current rules.

    PYTHONPATH=src .venv/bin/python scripts/reverdict_stored_summary.py docs/results/fashion [--out DIR]

A results folder written before the current verdict rules (``summary.json`` with ``summary[<kind>_<method>][gamma]``
lists over the pre-training seeds, and the old ``verdict.md``) keeps, per backbone, the mean ID and OOD accuracy of
every head, the SVE of the ID features, the LSVR of the OOD features and the clean test accuracy. That is enough for
the current rules (:func:`nmtune.apps.study.verdict.claim_verdicts`: pre-training seed as unit, difference in
differences for the clean lead, intersection-union over gamma, partial correlation within gamma, Holm over the
family) but **not** for three of their parts, which this script leaves out and says so in what it writes:

- no per-sample predictions were stored, so the intervals ignore test-sample variance (no paired bootstrap over
  test rows, no McNemar test);
- no macro-F1 was stored;
- the old summary averaged every (task, fraction, domain) row of a kind with equal weight, so a task with two OOD
  domains (``glyphs-id``: STIX and Computer Modern) weighs twice a task with one; the current study averages each
  run's domains first, then the tasks. "ID+OOD" here is the mean of the ID and OOD values (the current rule).

Writes into ``--out`` (default: the folder itself): ``verdict.md`` (the re-decided verdicts on top, then the old
file, marked as superseded), ``reverdict.json`` and ``forest_claims.png`` / ``forest_heads.png``. Running it twice
on the same folder keeps the old file once (it is read from below the marker when present).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from nmtune.apps.study.figures import claim_panels
from nmtune.apps.study.forest import forest_plot
from nmtune.apps.study.report import leads
from nmtune.apps.study.tables import format_effect, lead_table, lsvr_section, per_gamma_table, verdict_table
from nmtune.apps.study.verdict import claim_verdicts
from nmtune.report import t_test

MARKER = "<!-- old verdict file below -->"
OLD_HEADER = (
    "---\n\n# Superseded: the verdict file as first generated (old rules)\n\n> Kept for the record. Its decisions "
    "use the old rules (no Holm, the clean-lead claim without the difference in differences); the table above "
    "replaces them.\n"
)
_METRICS = {"id_accuracy": "id_{m}", "ood_accuracy": "ood_{m}", "id_sve": "sve_id", "ood_lsvr": "lsvr_ood"}


class StoredSummary:
    """The per-seed tables of an old ``summary.json``, with the interface the verdict rules read.

    Attributes
    ----------
    gammas, seeds : tuple
        Noise rates and pre-training seeds, sorted.
    methods : tuple of str
        Heads present (and ``"zero-shot"`` for image-caption studies).
    """

    def __init__(self, summary: dict):
        self.summary = summary["summary"]
        self.config = summary["config"]
        self.gammas = tuple(sorted(float(g) for g in self.summary["id_lp"]))
        self.seeds = tuple(self.config["seeds"])
        self.methods = tuple(k[3:] for k in self.summary if k.startswith("id_") and k != "id_sve")

    def table(self, method: str, metric: str, **_) -> np.ndarray:
        """Per-seed values (G, S) of ``metric``; NaN for what the old summary does not hold (macro-F1)."""
        key = _METRICS.get(metric, "").format(m=method)
        out = np.full((len(self.gammas), len(self.seeds)), np.nan)
        if key in self.summary:
            for g, values in self.summary[key].items():
                out[self.gammas.index(float(g))] = values
        return out

    def backbone_table(self, key: str) -> np.ndarray:
        """A backbone fact (``clean_test_accuracy``) as (G, S)."""
        out = np.full((len(self.gammas), len(self.seeds)), np.nan)
        for g, values in self.summary.get(key, {}).items():
            out[self.gammas.index(float(g))] = values
        return out


def head_differences(data: StoredSummary, methods) -> list[dict]:
    """Every head against every other on the noisy models: per seed the mean over gamma > 0 of a - b; t over seeds."""
    noisy = [i for i, g in enumerate(data.gammas) if g > 0]
    out = []
    for j, a in enumerate(methods):
        for b in methods[:j]:
            for kind in ("id", "ood"):
                d = (data.table(a, f"{kind}_accuracy") - data.table(b, f"{kind}_accuracy"))[noisy].mean(
                    axis=0
                )
                out.append({"heads": f"{a} − {b}", "kind": kind, **t_test(d), "d": d.tolist()})
    return out


def _forest_claims(verdicts, path: Path, S: int, title: str) -> Path:
    panels = claim_panels(verdicts)
    return forest_plot(
        panels,
        path,
        title=title,
        caption="Re-decided from the stored per-seed summary of an earlier run (old rules at the time). Dots: effect "
        f"(positive = as the paper says, except where marked); lines: 95 % t-interval over the {S} pre-training "
        "seeds, WITHOUT test-sample variance (no per-sample predictions stored).\nFilled: decided after Holm's "
        "correction over the family; open: not.",
    )


def _forest_heads(data: StoredSummary, methods, path: Path) -> Path:
    panels = []
    for kind in ("id", "ood"):
        rows = []
        for base in [m for m in methods if m != "nmtune"]:
            diff = data.table("nmtune", f"{kind}_accuracy") - data.table(base, f"{kind}_accuracy")
            for i, g in enumerate(data.gammas):
                t = t_test(diff[i])
                wins = int((diff[i] > 0).sum())
                rows.append({"label": f"NMTune − {base}, γ = {100 * g:g} %", "effect": 100 * t["mean"],
                             "lo": 100 * t["lo"], "hi": 100 * t["hi"],
                             "note": f"{wins}/{diff.shape[1]} seeds ahead"})  # fmt: skip
        panels.append({"xlabel": f"{kind.upper()} accuracy difference (points, %)", "rows": rows})
    return forest_plot(
        panels,
        path,
        title="NMTune against the other heads, paired by backbone (stored summary of an earlier run)",
        caption="Per pre-training seed: the difference averaged over tasks, fractions and domains (old summary's "
        f"weighting); lines: 95 % t-interval over the {len(data.seeds)} seeds (test sets held fixed: no "
        "test-sample variance).",
    )


def _json(x):
    if isinstance(x, dict):
        return {str(k): _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_json(v) for v in list(x)]
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    return None if isinstance(x, float) and not math.isfinite(x) else x


def reverdict(folder: Path, out: Path) -> dict:
    """Re-decide ``folder``'s stored summary under the current rules; write into ``out``; returns the JSON dict."""
    summary = json.loads((folder / "summary.json").read_text())
    if "summary" not in summary or "id_lp" not in summary.get("summary", {}):
        raise ValueError(f"{folder}/summary.json is not an old-format study summary (no summary.id_lp).")
    data = StoredSummary(summary)
    cfg = data.config
    methods = [m for m in cfg["methods"] if m in data.methods]
    # no macro-F1 was stored: leave the column empty ("–") instead of a NaN test
    verdicts = [dataclasses.replace(v, f1=None) for v in claim_verdicts(data, cfg.get("probe", "lp"))]
    lead = leads(data, cfg.get("probe", "lp"))
    diffs = head_differences(data, methods)
    S = len(data.seeds)
    old = (folder / "verdict.md").read_text()
    old = old.split(MARKER, 1)[1].lstrip("\n") if MARKER in old else old
    while old.startswith(OLD_HEADER):  # a second run keeps the old file and its header once
        old = old.removeprefix(OLD_HEADER).lstrip("\n")
    fracs = ", ".join(f"{f:g}" for f in cfg["fractions"])
    lines = [
        f"# `{folder.name}`: verdicts under the current rules, re-decided from a run under the old rules "
        "(provisional)",
        "",
        "> **Provisional.** This folder's run was made and first decided under the **old rules** (no Holm "
        "correction, the clean-lead claim as NMTune(0) − mean NMTune(γ > 0), pooled MDEs per γ, no macro-F1, no "
        "per-sample predictions). Its checkpoints are not kept and it was not re-run as it was (docs/study.md "
        "lists any smaller re-run). The table below applies the "
        "current rules (`nmtune.apps.study.verdict`) to the per-seed values stored in `summary.json`, with "
        "`scripts/reverdict_stored_summary.py` (command at the end). Missing, because the run did not store them: "
        "**test-sample variance** (no per-sample predictions: the intervals hold the between-seed spread only, so "
        "they are narrower than a re-run's), **macro-F1** (every macro-F1 cell is “–”), McNemar's tests. The old "
        "summary also weighed a task's OOD domains each as one row (a task with two OOD domains counts twice). The "
        "figures `fig2/3/5_*.png` are the old run's (fractions as accuracies, unpaired error bars); "
        "`forest_claims.png` and `forest_heads.png` are drawn from the re-decided values.",
        "",
        f"**Unit of replication: the pre-training seed** (S = {S}: seeds {', '.join(map(str, data.seeds))}); tasks, "
        f"training fractions ({fracs}) and domains are averaged within each seed; none is a unit. Intervals and "
        f"tests: two-sided, 95 %, Student t over the seeds ({S - 1} df). **Family**: the {len(verdicts)} claims "
        "below; the Holm column (Holm's step-down over the family's p-values) is the verdict, the raw column uses "
        "each p alone. Accuracy effects in points (%).",
        "",
        *verdict_table(verdicts),
        "",
        "Rules (d per pre-training seed):",
        "",
        *[f"- {v.claim}: {v.rule}." for v in verdicts],
    ]
    by_key = {v.key: v for v in verdicts}
    if lead:
        lines += [
            "",
            "## The clean model's lead under each head (the DiD rows above are NMTune's lead minus another's)",
            "",
            *lead_table({m: tests for m, tests in lead.items() if m != "zero-shot"}),
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
    lines += [
        "",
        "## Head against head on the noisy models (descriptive; not in the family)",
        "",
        "Per pre-training seed, the mean over γ > 0 of the difference; 95 % t-interval over seeds, no test-sample "
        "variance.",
        "",
        "| heads | kind | difference (points) [95 % CI] | p |",
        "|---|---|---|---|",
        *[
            f"| {d['heads']} | {d['kind'].upper()} | {format_effect(d['mean'], d['lo'], d['hi'])} | "
            f"{d['p']:.3f} |"
            for d in diffs
        ],
        "",
        "Reproduce: `PYTHONPATH=src .venv/bin/python scripts/reverdict_stored_summary.py "
        f"docs/results/{folder.name}`",
        "",
        MARKER,
        "",
        OLD_HEADER,
        old,
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "verdict.md").write_text("\n".join(lines))
    title = f"The paper's claims, {cfg['setup']} set-up ({cfg['objective']}), old run re-decided"
    _forest_claims(verdicts, out / "forest_claims.png", S, title)
    _forest_heads(data, methods, out / "forest_heads.png")
    result = {
        "source": f"{folder.name}/summary.json (old rules)",
        "unit": "pre-training seed",
        "missing": ["test-sample variance", "macro-F1", "McNemar"],
        "verdicts": [v.__dict__ for v in verdicts],
        "head_differences": diffs,
    }
    (out / "reverdict.json").write_text(json.dumps(_json(result), indent=1))
    return {**result, "verdicts": verdicts}


def main(argv=None) -> None:
    """Command line: re-decide one folder and print the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folder", type=Path, help="a results folder with an old-format summary.json and verdict.md"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the folder)")
    args = parser.parse_args(argv)
    result = reverdict(args.folder, args.out or args.folder)
    for v in result["verdicts"]:
        print(f"{v.key:30s} {v.effect:+.4f} [{v.lo:+.4f}, {v.hi:+.4f}] p {v.p:.4f} Holm {v.p_holm:.4f} "
              f"raw: {v.raw}; Holm: {v.holm}")  # fmt: skip


if __name__ == "__main__":
    main()
