"""Forest plot of NMTuneCV against its baselines across every source it was evaluated on (OOD accuracy).

    PYTHONPATH=src .venv/bin/python scripts/forest_nmtune_cv.py [--results docs/results] [--out docs/results/nmtune-cv]

Reads the NMTuneCV records under ``docs/results`` (``nmtune-cv-<source>.jsonl``, written by
``benchmarks/eval_nmtune_cv.py``) and the glyph study with NMTuneCV (``glyphs-nmtune-cv/summary.json``), and draws
one row per (source, baseline): the OOD accuracy difference NMTuneCV minus the baseline, averaged over the source's
tasks within each unit, with its 95 % t-interval over the units. The unit is what was drawn at random: the
**backbone** (pre-training seed) for sources on pre-trained checkpoints (head seeds nested in it are averaged first),
the **head seed** for sources on one fixed encoder (MiniLM, GloVe). No record holds per-sample predictions, so no
interval covers the sampling of the fixed test sets. Writes ``forest_nmtune_cv.png`` and ``forest_nmtune_cv.md``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from nmtune.apps.study.forest import forest_plot
from nmtune.report import t_test

#: (label, files, unit field) per source: the files' records of one source, in the order drawn.
SOURCES = (
    ("MiniLM, 20NG sub-groups", ("nmtune-cv-minilm-20ng-seeds01", "nmtune-cv-minilm-20ng-seeds2",
                                 "nmtune-cv-minilm-20ng-seeds34"), "seed"),
    ("GloVe-50, 20NG sub-groups", ("nmtune-cv-glove-20ng",), "seed"),
    ("glyph fonts, γ = 0", ("nmtune-cv-glyphs-g0",), "checkpoint"),
    ("glyph fonts, γ = 0.3", ("nmtune-cv-glyphs-g0.3",), "checkpoint"),
    ("glyph → handwritten digits, γ = 0", ("nmtune-cv-glyph-digits-g0",), "checkpoint"),
    ("Fashion-MNIST-C, γ = 0", ("nmtune-cv-fashion-c-g0",), "checkpoint"),
)  # fmt: skip
BASELINES = ("lp", "logreg-cv", "nmtune")


def source_differences(records: list[dict], unit: str, baseline: str) -> dict[str, float]:
    """Per unit, the mean over tasks (and nested head seeds) of OOD(nmtune-cv) - OOD(baseline), in points."""
    acc = {(r[unit], r["seed"], r["task"], r["method"]): r["ood_acc"] for r in records}
    per_unit: dict = defaultdict(list)
    for (u, seed, task, method), value in acc.items():
        if method == "nmtune-cv" and (u, seed, task, baseline) in acc:
            per_unit[u].append(value - acc[(u, seed, task, baseline)])
    return {str(u): float(np.mean(v)) for u, v in per_unit.items()}


def _study_rows(summary_path: Path) -> list[dict]:
    if not summary_path.is_file():
        return []
    summary = json.loads(summary_path.read_text())
    rows = []
    for d in summary.get("head_differences", []):
        a, _, b = d["heads"].partition(" − ")
        if a == "nmtune-cv" and d["kind"] == "ood" and b in BASELINES:
            vals = list(d["accuracy"]["values"].values())
            rows.append(("glyph study (fonts + digits), γ > 0", b, [100 * v for v in vals]))
    return rows


def main(argv=None) -> int:
    """Draw the forest plot and write its table; 0 on success."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="docs/results", help="folder of the nmtune-cv-*.jsonl records")
    ap.add_argument("--out", default="docs/results/nmtune-cv", help="output folder")
    args = ap.parse_args(argv)
    res, out = Path(args.results), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []  # (source, baseline, per-unit differences, unit name)
    for label, files, unit in SOURCES:
        records = [json.loads(line) for f in files if (res / f"{f}.jsonl").is_file()
                   for line in (res / f"{f}.jsonl").read_text().splitlines() if line.strip()]  # fmt: skip
        if not records:
            continue
        for b in BASELINES:
            diffs = source_differences(records, unit, b)
            if diffs:
                entries.append(
                    (label, b, list(diffs.values()), "backbone" if unit == "checkpoint" else "head seed")
                )
    for label, b, vals in _study_rows(res / "glyphs-nmtune-cv" / "summary.json"):
        entries.append((label, b, vals, "pre-training seed"))
    panels, table = (
        [],
        [
            "| source | NMTuneCV minus | OOD difference (points) [95 % CI] | units | ahead |",
            "|---|---|---|---|---|",
        ],
    )
    for b in BASELINES:
        rows = []
        for label, base, vals, unit in entries:
            if base != b:
                continue
            t = t_test(vals)
            rows.append({"label": f"{label} ({len(vals)} {unit}s)", "effect": t["mean"], "lo": t["lo"], "hi": t["hi"],
                         "note": f"{sum(v > 0 for v in vals)}/{len(vals)} ahead",
                         "strong": math.isfinite(t["p"]) and t["p"] < 0.05})  # fmt: skip
            ci = f"{t['mean']:+.2f} [{t['lo']:+.2f}, {t['hi']:+.2f}]".replace("-", "−")
            table.append(
                f"| {label} | {b} | {ci} | {len(vals)} {unit}s | {sum(v > 0 for v in vals)}/{len(vals)} |"
            )
        if rows:
            panels.append({"xlabel": f"OOD accuracy, NMTuneCV minus {b} (points, %)", "rows": rows})
    path = forest_plot(
        panels,
        out / "forest_nmtune_cv.png",
        title="NMTuneCV against its baselines, source by source (OOD)",
        caption="Dot: mean over units of the per-unit difference (tasks averaged within a unit); line: 95 % t-interval "
        "over the units (backbones for checkpoint sources, head seeds for the fixed text encoders). Filled: the "
        "interval excludes 0 (no correction across rows). Test sets are fixed; no interval covers their sampling.",
        width=10.5,
    )
    (out / "forest_nmtune_cv.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    print(f"wrote {path} and {out / 'forest_nmtune_cv.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
