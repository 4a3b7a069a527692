"""Aggregation of run records: per-seed summaries, mean +- std over seeds, paired differences with 95 % CIs.

A *unit* is one run's result reduced to its ID average and OOD average accuracy (and macro-F1, SVE, LSVR) over
its evaluation domains. Summaries average units over the tasks of a suite per seed first, then report the
mean and
the sample standard deviation over seeds. Paired differences match two methods on (encoder, suite, task,
selection, fraction, noise, seed) and give a t-interval of the mean difference.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

__all__ = ["unit_rows", "summarise", "paired_differences", "t_interval"]

GROUP = ("encoder", "suite", "method", "selection", "fraction", "noise")
MATCH = ("encoder", "suite", "task", "selection", "fraction", "noise", "seed")


def _mean_of(domains: dict, kind: str, key: str):
    vals = [d[key] for d in domains.values() if d["kind"] == kind and d.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def unit_rows(records: Iterable[dict]) -> list[dict]:
    """One flat row per finished run: configuration fields plus ID/OOD averages of its metrics."""
    rows = []
    for r in records:
        if r.get("status") != "done":
            continue
        c = r["config"]
        row = {k: c.get(k) for k in (*MATCH, "method", "pretrain_noise")}
        for kind in ("id", "ood"):
            for key in ("accuracy", "macro_f1", "sve", "lsvr"):
                row[f"{kind}_{key}"] = _mean_of(r["domains"], kind, key)
        row["fit_seconds"] = r.get("fit_seconds")
        rows.append(row)
    return rows


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of the mean; (mean, nan, nan) for fewer than 2 values."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return (m, m - half, m + half)


def summarise(rows: list[dict], metrics=("id_accuracy", "ood_accuracy")) -> list[dict]:
    """Mean +- std over seeds per (encoder, suite, method, selection, fraction, noise).

    Each seed's value is first averaged over the suite's tasks; std is the sample std over seeds (0 for
    one seed).

    Returns
    -------
    list of dict
        Group fields, ``n_seeds``, ``n_tasks`` and ``<metric>_mean`` / ``<metric>_std`` per metric.
    """
    per_seed: dict = defaultdict(lambda: defaultdict(list))
    tasks: dict = defaultdict(set)
    for r in rows:
        g = tuple(r[k] for k in GROUP)
        per_seed[g][r["seed"]].append(r)
        tasks[g].add(r["task"])
    out = []
    for g in sorted(per_seed, key=lambda x: tuple(str(v) for v in x)):
        row = dict(zip(GROUP, g))
        row["n_seeds"] = len(per_seed[g])
        row["n_tasks"] = len(tasks[g])
        for m in metrics:
            seed_vals = []
            for runs in per_seed[g].values():
                vals = [x[m] for x in runs if x.get(m) is not None]
                if vals:
                    seed_vals.append(float(np.mean(vals)))
            row[f"{m}_mean"] = float(np.mean(seed_vals)) if seed_vals else None
            row[f"{m}_std"] = (
                float(np.std(seed_vals, ddof=1)) if len(seed_vals) > 1 else (0.0 if seed_vals else None)
            )
        out.append(row)
    return out


def paired_differences(rows: list[dict], method: str, baseline: str, metric: str) -> dict | None:
    """Mean of ``metric(method) - metric(baseline)`` over matched units, with a 95 % t-interval.

    Units are matched on (encoder, suite, task, selection, fraction, noise, seed); the result is pooled over
    every matched unit per (encoder, suite). Returns None when nothing matches.

    Returns
    -------
    dict or None
        Mapping ``(encoder, suite) -> {"n", "mean", "lo", "hi", "wins"}`` for the pair.
    """
    index = {tuple(r[k] for k in MATCH): r for r in rows if r["method"] == baseline}
    diffs: dict = defaultdict(list)
    for r in rows:
        if r["method"] != method:
            continue
        b = index.get(tuple(r[k] for k in MATCH))
        if b is not None and r.get(metric) is not None and b.get(metric) is not None:
            diffs[(r["encoder"], r["suite"])].append(r[metric] - b[metric])
    if not diffs:
        return None
    out = {}
    for key, d in sorted(diffs.items()):
        m, lo, hi = t_interval(d)
        out[key] = {"n": len(d), "mean": m, "lo": lo, "hi": hi, "wins": int(sum(x > 0 for x in d))}
    return out
