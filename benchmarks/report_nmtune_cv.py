"""NMTuneCV against its baselines, from the results store of the ``eval-nmtune-cv`` presets (docs/nmtune-cv.md).

Run the grid first (it resumes: runs already in the store are skipped)::

    nmtune run --config eval-nmtune-cv --store nmtune-cv.sqlite --no-report          # 20 Newsgroups
    nmtune run --config eval-nmtune-cv-images --store nmtune-cv.sqlite --no-report   # digits, fashion-c

then ``python benchmarks/report_nmtune_cv.py nmtune-cv.sqlite [more.sqlite ...] [--metric ood_accuracy]``.

Per (encoder, suite): each method's accuracy (%), each seed first averaged over the suite's tasks, then the mean
and 95 % t-interval over seeds (:func:`nmtune.report.summarise` / :func:`nmtune.report.t_interval`); the paired
differences nmtune-cv minus each baseline, matched on task and seed (:func:`nmtune.report.paired_differences`);
NMTuneCV's picks (its ``best_params_``, stored as the run's ``selected.inner``) and its fit time over NMTune's.
Only the public library is used.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import numpy as np

from nmtune.report import paired_differences, t_interval, unit_rows
from nmtune.results import ResultsStore

METHOD = "nmtune-cv"
BASELINES = ("lp", "logreg-c1", "logreg", "logreg-cv", "logreg-gcv", "nmtune", "nmtune-cv-1se")


def _ci(m: float, lo: float, hi: float, sign: str = "") -> str:
    """``m [lo, hi]``, or ``m [n/a]`` for one seed (no interval exists)."""
    if np.isnan(lo):
        return f"{m:{sign}6.2f} [  n/a ]"
    return f"{m:{sign}6.2f} [{lo:{sign}6.2f}, {hi:{sign}6.2f}]"


def _per_seed(rows, metric):
    """``{(encoder, suite): {method: {seed: mean over tasks}}}`` (percent)."""
    acc = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in rows:
        if r.get(metric) is not None:
            acc[r["encoder"], r["suite"]][r["method"]][r["seed"]].append(100.0 * r[metric])
    return {
        k: {m: {s: float(np.mean(v)) for s, v in seeds.items()} for m, seeds in ms.items()}
        for k, ms in acc.items()
    }


def report(records, metric: str = "ood_accuracy") -> str:
    """The text report of run records (``ResultsStore.records()``)."""
    rows = unit_rows(records)
    picks = defaultdict(Counter)
    for rec in records:
        c, inner = rec["config"], (rec.get("selected") or {}).get("inner") or {}
        if c["method"].startswith("nmtune-cv") and "candidate" in inner:
            picks[c["encoder"], c["suite"], c["method"]][inner["candidate"]] += 1
    lines = []
    for (encoder, suite), methods in sorted(_per_seed(rows, metric).items()):
        here = [r for r in rows if r["encoder"] == encoder and r["suite"] == suite]
        n_tasks = len({r["task"] for r in here})
        lines.append(
            f"\n{encoder} x {suite}: {metric} (%), mean over {n_tasks} tasks; mean [95% CI] over seeds"
        )
        fit = {m: np.mean([r["fit_seconds"] for r in here if r["method"] == m]) for m in methods}
        for method in sorted(methods, key=lambda m: (m != METHOD, m)):
            values = list(methods[method].values())
            m, lo, hi = t_interval(values)
            lines.append(f"  {method:<14} {_ci(m, lo, hi)}  seeds {len(values)}  fit {fit[method]:7.1f} s")
        for base in BASELINES:
            diffs = paired_differences(here, METHOD, base, metric) or {}
            for d in diffs.values():
                ci = _ci(100 * d["mean"], 100 * d["lo"], 100 * d["hi"], "+")
                lines.append(
                    f"  {METHOD} - {base:<13} {ci}  wins {d['wins']}/{d['n']} seeds ({d['n_tasks']} tasks)"
                )
        if METHOD in fit and "nmtune" in fit:
            lines.append(f"  fit time {METHOD} / nmtune: {fit[METHOD] / fit['nmtune']:.1f}x")
        for (e, s, method), counts in sorted(picks.items()):
            if (e, s) == (encoder, suite):
                lines.append(f"  {method} picks: {dict(sorted(counts.items()))}")
    return "\n".join(lines) if lines else f"No finished runs with {metric} in these stores."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stores", nargs="+", help="results stores written by nmtune run")
    parser.add_argument("--metric", default="ood_accuracy", help="ood_accuracy (default), id_accuracy, ...")
    args = parser.parse_args()
    records = []
    for path in args.stores:
        store = ResultsStore(path, create=False, readonly=True)
        records += store.records(errors="skip")
        if store.skipped:
            print(f"{path}: skipped unreadable records {store.skipped}")
    print(report(records, args.metric))


if __name__ == "__main__":
    main()
