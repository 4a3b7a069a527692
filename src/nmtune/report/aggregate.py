"""Aggregation of run records: per-seed summaries, mean +- std over seeds, paired differences with 95 % CIs.

A *unit* is one run's result reduced to its ID average and OOD average accuracy (and macro-F1, SVE, LSVR) over
its evaluation domains. A *setting* is a run's whole configuration except its task and seed: runs that differ
in any configuration field (epochs, min_steps, caps, protocol version, ...) are never averaged together.
Summaries average units over the tasks of a suite per seed first, then report the mean and the sample standard
deviation over seeds. Paired differences compare two methods within one setting (every field but the method
equal): per seed, the difference averaged over the tasks; the 95 % t-interval is over seeds (the unit of the
interval is the seed, tasks being averaged within it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from nmtune._internal.stats import t_interval

__all__ = ["unit_rows", "summarise", "paired_differences", "t_interval", "setting_fields", "varying_fields"]

#: Setting fields every table shows; any other configuration field that varies gets a column of its own.
GROUP = ("encoder", "suite", "method", "selection", "fraction", "noise")
MATCH = ("encoder", "suite", "task", "selection", "fraction", "noise", "seed")
#: Fields of a unit row that are results, not configuration.
METRICS = tuple(f"{k}_{m}" for k in ("id", "ood") for m in ("accuracy", "macro_f1", "sve", "lsvr")) + (
    "fit_seconds",
)
_NOT_SETTING = ("task", "seed")


def setting_fields(rows: list[dict]) -> tuple[str, ...]:
    """Every configuration field of ``rows`` except task and seed: GROUP first, then the others sorted."""
    keys = {k for r in rows for k in r if k not in METRICS and k not in _NOT_SETTING}
    return (*[k for k in GROUP if k in keys], *sorted(keys - set(GROUP)))


def varying_fields(rows: list[dict]) -> tuple[str, ...]:
    """Setting fields outside GROUP whose value differs between rows (they need a column in every table)."""
    return tuple(
        k for k in setting_fields(rows) if k not in GROUP and len({json_key(r.get(k)) for r in rows}) > 1
    )


def _hashable(value):
    """A dict or list as nested tuples (sorted items), so that it can be part of a dict key."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


def json_key(value) -> str:
    """A hashable, order-stable form of a configuration value (lists and dicts included)."""
    import json

    return json.dumps(value, sort_keys=True, default=str)


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
        row = {k: v for k, v in c.items()}
        row.update({k: c.get(k) for k in (*MATCH, "method", "pretrain_noise")})
        for kind in ("id", "ood"):
            for key in ("accuracy", "macro_f1", "sve", "lsvr"):
                row[f"{kind}_{key}"] = _mean_of(r["domains"], kind, key)
        row["fit_seconds"] = r.get("fit_seconds")
        rows.append(row)
    return rows


def summarise(rows: list[dict], metrics=("id_accuracy", "ood_accuracy")) -> list[dict]:
    """Mean +- std over seeds per setting (the whole configuration except task and seed).

    Each seed's value is first averaged over the suite's tasks; std is the sample std over seeds (0 for
    one seed).

    Returns
    -------
    list of dict
        Setting fields, ``n_seeds``, ``n_tasks`` and ``<metric>_mean`` / ``<metric>_std`` per metric.
    """
    fields = setting_fields(rows)
    per_seed: dict = defaultdict(lambda: defaultdict(list))
    tasks: dict = defaultdict(set)
    values: dict = {}
    for r in rows:
        g = tuple(json_key(r.get(k)) for k in fields)
        values[g] = {k: r.get(k) for k in fields}
        per_seed[g][r["seed"]].append(r)
        tasks[g].add(r["task"])
    out = []
    for g in sorted(per_seed):
        row = dict(values[g])
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


#: Configuration fields that belong to a method (its variant), not to the setting two methods are compared in.
METHOD_FIELDS = ("method", "min_steps", "params")


def paired_differences(rows: list[dict], method: str, baseline: str, metric: str) -> dict | None:
    """Mean of ``metric(method) - metric(baseline)`` within each setting, with a 95 % t-interval over seeds.

    Runs are matched on every configuration field except the method's own (its name, step budget and
    per-method params): same task, seed, fraction, noise, epochs, caps, ... Per seed the matched differences are
    averaged over the tasks; the interval is a Student-t interval of the mean over seeds (NaN bounds with one
    seed). Returns None when nothing matches.

    Returns
    -------
    dict or None
        Mapping ``cell -> {"n", "n_tasks", "mean", "lo", "hi", "wins", "unit"}``; ``cell`` is a tuple of
        ``(field, value)`` pairs: the setting, the method's variant fields and the baseline's (prefixed
        ``baseline_``). ``n`` is the number of seeds, ``wins`` the seeds where the method is higher, ``unit``
        ``"seed"``.
    """
    fields = [k for k in setting_fields(rows) if k not in METHOD_FIELDS]
    variant = [k for k in METHOD_FIELDS[1:] if any(k in r for r in rows)]
    match = (*fields, "task", "seed")
    index: dict = defaultdict(list)
    for r in rows:
        if r["method"] == baseline:
            index[tuple(json_key(r.get(k)) for k in match)].append(r)
    per_cell: dict = defaultdict(lambda: defaultdict(list))
    cells: dict = {}
    tasks: dict = defaultdict(set)
    for r in rows:
        if r["method"] != method or r.get(metric) is None:
            continue
        for b in index.get(tuple(json_key(r.get(k)) for k in match), []):
            if b.get(metric) is None:
                continue
            items = (
                *((k, r.get(k)) for k in fields),
                *((k, r.get(k)) for k in variant),
                *((f"baseline_{k}", b.get(k)) for k in variant),
            )
            cell = tuple(json_key(v) for _, v in items)
            cells[cell] = tuple((k, _hashable(v)) for k, v in items)  # per-method params are dicts
            per_cell[cell][r["seed"]].append(r[metric] - b[metric])
            tasks[cell].add(r["task"])
    if not per_cell:
        return None
    out = {}
    for cell in sorted(per_cell):
        d = [float(np.mean(v)) for v in per_cell[cell].values()]  # one value per seed
        m, lo, hi = t_interval(d)
        out[cells[cell]] = {
            "n": len(d),
            "n_tasks": len(tasks[cell]),
            "mean": m,
            "lo": lo,
            "hi": hi,
            "wins": int(sum(x > 0 for x in d)),
            "unit": "seed",
        }
    return out
