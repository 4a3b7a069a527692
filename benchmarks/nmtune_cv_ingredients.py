"""Ingredient ablation of NMTuneCV from the JSONL records of ``eval_nmtune_cv.py --ablation`` (no refitting).

That script was replaced by the ``eval-nmtune-cv`` presets (``nmtune run``), which do not refit every candidate;
its records (and the script itself: ``git show ed26592:benchmarks/eval_nmtune_cv.py``) are what this reads.

Each ``nmtune-cv`` record of an ``--ablation`` run holds every candidate's mean validation score on the training
folds (``cv_scores``) and, for information, its test accuracies when refitted on the whole training split
(``candidate_acc``). Taking an ingredient out of the candidate family is then a re-selection: the candidate with
the best validation score *among the remaining ones* (first in the family's order on ties, as NMTuneCV does),
scored by its test accuracies. Records that hold every fold's score (``cv_folds``) also get the
one-standard-error rule (the simplest candidate within one standard error of the best; simplest = strongest L2
penalty first, then the linear probe, the blends, NMTune), a rule fixed here before it was computed. The folds
and the fits are the same, so the comparison with the full family is paired fit for fit; the unit of the
intervals is the seed (mean over a source's tasks), or the (backbone, seed) pair with ``--pool``, as in
``eval_nmtune_cv.py``. The oracle row picks on test data and is information only.

Given the baseline records too (the same runs' ``lp`` and ``logreg-cv``), a second table per source measures the
issue's goal: OOD accuracy minus the better of the linear probe and tuned logistic regression, ID minus the probe.

Usage: python benchmarks/nmtune_cv_ingredients.py [--pool] RECORDS.jsonl [...]
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np

from nmtune.heads.selection import select_candidate, simplicity_order
from nmtune.report import t_interval


def load_records(paths, pool=False):
    """Records of JSONL files; ``pool``: backbones that differ only in a trailing ``_s<k>`` become one source."""
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()]
    if pool:
        for r in rows:
            pooled = re.sub(r"_s(\d+)$", "_s*", r["source"])
            if pooled != r["source"]:
                r["seed"] = f"{r['source'].rsplit('_s', 1)[1]}/{r['seed']}"  # unit: (backbone, seed)
                r["source"] = pooled
    return rows


#: Candidate subsets: name -> which candidate names stay in the family.
INGREDIENTS = {
    "all candidates (NMTuneCV)": lambda n: True,
    "without the linear probe": lambda n: n not in ("lp", "nmtune+lp"),
    "without the L2 grid": lambda n: not n.startswith(("l2-", "nmtune+l2-")),
    "without the blends": lambda n: "+" not in n,
    "without NMTune (linear heads only)": lambda n: not n.startswith("nmtune"),
    "L2 grid only": lambda n: n.startswith("l2-"),
    "NMTune only": lambda n: n == "nmtune",
    "linear probe only": lambda n: n == "lp",
}


def pick(record, keep):
    """The candidate NMTuneCV's default rule selects from the kept ones (:func:`nmtune.heads.selection.select_candidate`
    on the stored mean scores: the highest, first on ties)."""
    names = [n for n in record["cv_scores"] if keep(n)]
    return names[select_candidate([[record["cv_scores"][n]] for n in names], range(len(names)))]


def one_se_pick(record):
    """NMTuneCV's ``selection="one-se"`` rule (:func:`nmtune.heads.selection.select_candidate`) on fold scores."""
    names = list(record["cv_folds"])
    scores = [record["cv_folds"][n] for n in names]
    return names[select_candidate(scores, simplicity_order(names), "one-se")]


def oracle(record, metric):
    """The candidate with the best test score (information only)."""
    return max(record["cv_scores"], key=lambda n: record["candidate_acc"][n][metric])


def unit_means(records, value):
    """{unit (seed or backbone/seed): mean over a source's tasks of ``value(record)``}."""
    units = {}
    for r in records:
        units.setdefault(r["seed"], []).append(value(r))
    return {u: float(np.mean(v)) for u, v in units.items()}


def per_unit(records, choose, metric):
    """{unit: mean over tasks of the test ``metric`` of the candidate ``choose(record)`` picks}."""
    return unit_means(records, lambda r: r["candidate_acc"][choose(r)][metric])


def table(records, source):
    ref = {
        m: per_unit(records, lambda r: pick(r, INGREDIENTS["all candidates (NMTuneCV)"]), m) for m in METRICS
    }
    lines = [
        f"\n{source}: {len(records)} NMTuneCV fits, {len(ref['ood_acc'])} units; accuracy in %, difference to"
        " the full family paired by unit, mean [95 % t-interval]",
        "| candidates | OOD | OOD minus full | ID | ID minus full | picks |",
        "|---|---|---|---|---|---|",
    ]
    rows = [(name, lambda r, keep=keep: pick(r, keep)) for name, keep in INGREDIENTS.items()]
    if all("cv_folds" in r for r in records):
        rows.append(("all candidates, one-standard-error rule", one_se_pick))
    rows.append(("oracle: best OOD on test (information only)", lambda r: oracle(r, "ood_acc")))
    for name, choose in rows:
        cells = []
        for metric in METRICS:
            vals = per_unit(records, choose, metric)
            d = [vals[u] - ref[metric][u] for u in ref[metric]]
            m, lo, hi = t_interval(d) if len(d) > 1 and np.ptp(d) > 0 else (np.mean(d), np.nan, np.nan)
            ci = f" [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(lo) else ""
            cells += [f"{np.mean(list(vals.values())):.2f}", f"{m:+.2f}{ci}"]
        picks = [choose(r) for r in records]
        counts = ", ".join(
            f"{c} {picks.count(c)}" for c in sorted(set(picks), key=lambda c: (-picks.count(c), c))
        )
        lines.append(f"| {name} | {' | '.join(cells)} | {counts} |")
    return "\n".join(lines)


METRICS = ("ood_acc", "id_acc")


def baseline_units(rows, method, metric):
    """{unit: mean over tasks of ``method``'s ``metric``} from the baseline records of a source."""
    return unit_means([r for r in rows if r["method"] == method and metric in r], lambda r: r[metric])


def goal_table(records, baselines, source):
    """The issue's goal per source: OOD minus the better of ``lp`` and ``logreg-cv`` (the one with the higher
    mean OOD accuracy on this source), ID minus ``lp``; for NMTuneCV's rule and the one-standard-error rule."""
    lp, lcv = (baseline_units(baselines, m, "ood_acc") for m in ("lp", "logreg-cv"))
    if not lp or not lcv:
        return ""
    better, base = (
        ("lp", lp) if np.mean(list(lp.values())) >= np.mean(list(lcv.values())) else ("logreg-cv", lcv)
    )
    lp_id = baseline_units(baselines, "lp", "id_acc")
    rules = [("nmtune-cv", lambda r: pick(r, INGREDIENTS["all candidates (NMTuneCV)"]))]
    if all("cv_folds" in r for r in records):
        rules.append(("nmtune-cv-1se", one_se_pick))
    lines = [
        f"\n{source}: against the goal (the better baseline OOD here: {better}); paired by unit, mean [95 % CI] (wins)",
        f"| rule | OOD minus {better} | ID minus lp |",
        "|---|---|---|",
    ]
    for name, choose in rules:
        cells = []
        for metric, ref in (("ood_acc", base), ("id_acc", lp_id)):
            vals = per_unit(records, choose, metric)
            d = [vals[u] - ref[u] for u in vals if u in ref]
            m, lo, hi = t_interval(d) if len(d) > 1 else (np.mean(d), np.nan, np.nan)
            cells.append(f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}] ({sum(x > 0 for x in d)}/{len(d)})")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", nargs="+", help="JSONL files written by eval_nmtune_cv.py --ablation")
    ap.add_argument("--pool", action="store_true", help="pool backbones <name>_s<k> into one source")
    args = ap.parse_args()
    every = load_records(args.records, args.pool)
    unique = {}  # one record per (source, task, seed); a record with fold scores wins over one without
    for r in every:
        if r["method"] == "nmtune-cv" and "candidate_acc" in r:
            key = (r["source"], r["task"], r["seed"])
            if key not in unique or "cv_folds" in r:
                unique[key] = r
    rows = list(unique.values())
    if not rows:
        raise SystemExit(
            f"No nmtune-cv record with candidate accuracies in {args.records}: run eval_nmtune_cv.py with --ablation."
        )
    full = INGREDIENTS["all candidates (NMTuneCV)"]
    differ = sum(pick(r, full) != r["chosen"] for r in rows)  # the stored scores are rounded to 1e-4
    for source in sorted({r["source"] for r in rows}):
        print(table([r for r in rows if r["source"] == source], source))
        print(
            goal_table(
                [r for r in rows if r["source"] == source],
                [r for r in every if r["source"] == source],
                source,
            )
        )
    print(
        f"\nRe-selection from the stored (rounded) scores differs from NMTuneCV's pick in {differ}/{len(rows)} fits."
    )


if __name__ == "__main__":
    main()
