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

__all__ = [
    "unit_rows",
    "unit_means",
    "summarise",
    "paired_differences",
    "t_interval",
    "setting_fields",
    "varying_fields",
]

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
        # a method's revision (protocol.runner.METHOD_REVISIONS) is part of its run id, not a setting to group on
        row = {k: v for k, v in c.items() if k != "method_revision"}
        row.update({k: c.get(k) for k in (*MATCH, "method", "pretrain_noise")})
        for kind in ("id", "ood"):
            for key in ("accuracy", "macro_f1", "sve", "lsvr"):
                row[f"{kind}_{key}"] = _mean_of(r["domains"], kind, key)
        row["fit_seconds"] = r.get("fit_seconds")
        rows.append(row)
    return rows


def _hashable(value):
    """A value usable in a dict key: mappings become sorted tuples of pairs, lists tuples (recursively)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _grouping(rows: list[dict], exclude) -> tuple[str, ...]:
    """Setting fields of ``rows`` (GROUP first, then the others sorted) minus ``exclude``."""
    keys = {k for r in rows for k in r if k not in METRICS and k not in exclude}
    return (*[k for k in GROUP if k in keys], *sorted(keys - set(GROUP)))


def unit_means(
    rows: list[dict], metric: str, *, unit: str = "seed", within=("task",), ignore=()
) -> tuple[dict, dict]:
    """One value of ``metric`` per (setting, unit of replication): the mean of the unit's rows.

    Parameters
    ----------
    rows : list of dict
        :func:`unit_rows` (or rows with the same fields, e.g. extra study fields).
    metric : str
        A field of the rows (rows where it is None are left out).
    unit : str, default="seed"
        The field that names the unit of replication.
    within : tuple of str, default=("task",)
        Fields averaged within a unit (never units themselves: tasks, head seeds nested in a unit, ...).
    ignore : tuple of str, default=()
        Fields that neither define a setting nor a unit (e.g. an encoder label that differs per unit).

    Returns
    -------
    values : dict
        ``setting key -> {unit value: mean over the unit's rows}``; a setting key is a tuple of the JSON forms
        of the setting fields' values.
    settings : dict
        ``setting key -> {field: value}``.
    """
    fields = _grouping(rows, {unit, *within, *ignore})
    per: dict = defaultdict(lambda: defaultdict(list))
    settings: dict = {}
    for r in rows:
        if r.get(metric) is None:
            continue
        g = tuple(json_key(r.get(k)) for k in fields)
        settings[g] = {k: r.get(k) for k in fields}
        per[g][r.get(unit)].append(float(r[metric]))
    return {g: {u: float(np.mean(v)) for u, v in units.items()} for g, units in per.items()}, settings


def summarise(
    rows: list[dict],
    metrics=("id_accuracy", "ood_accuracy"),
    *,
    unit: str = "seed",
    within=("task",),
    ignore=(),
) -> list[dict]:
    """Mean +- std over units of replication per setting (the whole configuration except task and seed).

    Each unit's value is first averaged over its rows (by default: a seed's value over the suite's tasks);
    std is the sample std over units (0 for one unit).

    Parameters
    ----------
    rows : list of dict
        :func:`unit_rows`.
    metrics : sequence of str
        Fields to summarise.
    unit, within, ignore
        As :func:`unit_means` (default: the seed is the unit, tasks are averaged within it).

    Returns
    -------
    list of dict
        Setting fields, ``n_seeds`` (the number of units), ``n_tasks``, ``unit`` and ``<metric>_mean`` /
        ``<metric>_std`` per metric.
    """
    fields = _grouping(rows, {unit, *within, *ignore})
    groups: dict = defaultdict(list)
    values: dict = {}
    for r in rows:
        g = tuple(json_key(r.get(k)) for k in fields)
        values[g] = {k: r.get(k) for k in fields}
        groups[g].append(r)
    out = []
    for g in sorted(groups):
        rs = groups[g]
        row = dict(values[g])
        row["n_seeds"] = len({json_key(r.get(unit)) for r in rs})
        row["n_tasks"] = len({r.get("task") for r in rs})
        row["unit"] = unit
        for m in metrics:
            per_unit = next(iter(unit_means(rs, m, unit=unit, within=within, ignore=ignore)[0].values()), {})
            seed_vals = list(per_unit.values())
            row[f"{m}_mean"] = float(np.mean(seed_vals)) if seed_vals else None
            row[f"{m}_std"] = (
                float(np.std(seed_vals, ddof=1)) if len(seed_vals) > 1 else (0.0 if seed_vals else None)
            )
        out.append(row)
    return out


#: Configuration fields that belong to a method (its variant), not to the setting two methods are compared in.
METHOD_FIELDS = ("method", "min_steps", "params")


def paired_differences(
    rows: list[dict],
    method: str,
    baseline: str,
    metric: str,
    *,
    unit: str = "seed",
    within=("task",),
    ignore=(),
) -> dict | None:
    """Mean of ``metric(method) - metric(baseline)`` within each setting, with a 95 % t-interval over units.

    Runs are matched on every configuration field except the method's own (its name, step budget and
    per-method params): same task, seed, fraction, noise, epochs, caps, ... Per unit of replication the matched
    differences are averaged (by default: per seed over the tasks); the interval is a Student-t interval of the
    mean over units (NaN bounds with one unit). Returns None when nothing matches.

    Parameters
    ----------
    rows : list of dict
        :func:`unit_rows`.
    method, baseline : str
        The two methods.
    metric : str
        The field compared.
    unit : str, default="seed"
        The field naming the unit of replication (the noisy pre-training study: the pre-training seed).
    within : tuple of str, default=("task",)
        Fields whose differences are averaged within a unit (tasks; in the study also fractions, head seeds).
    ignore : tuple of str, default=()
        Fields matched on but not part of the setting (e.g. an encoder label that differs per unit).

    Returns
    -------
    dict or None
        Mapping ``cell -> {"n", "n_tasks", "mean", "lo", "hi", "wins", "unit", "values"}``; ``cell`` is a tuple
        of ``(field, value)`` pairs: the setting, the method's variant fields and the baseline's (prefixed
        ``baseline_``). ``n`` is the number of units, ``wins`` the units where the method is higher, ``unit``
        the unit's field name and ``values`` the per-unit mean difference (``{unit value: d}``).
    """
    fields = [k for k in _grouping(rows, {"task", "seed"}) if k not in METHOD_FIELDS]
    variant = [k for k in METHOD_FIELDS[1:] if any(k in r for r in rows)]
    match = (*fields, "task", "seed")
    cell_fields = [k for k in fields if k not in {unit, *within, *ignore}]
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
                *((k, _hashable(r.get(k))) for k in cell_fields),
                *((k, _hashable(r.get(k))) for k in variant),
                *((f"baseline_{k}", _hashable(b.get(k))) for k in variant),
            )
            cell = tuple(json_key(v) for _, v in items)
            cells[cell] = items
            per_cell[cell][r.get(unit)].append(r[metric] - b[metric])
            tasks[cell].add(r["task"])
    if not per_cell:
        return None
    out = {}
    for cell in sorted(per_cell):
        values = {u: float(np.mean(v)) for u, v in per_cell[cell].items()}  # one value per unit
        d = list(values.values())
        m, lo, hi = t_interval(d)
        out[cells[cell]] = {
            "n": len(d),
            "n_tasks": len(tasks[cell]),
            "mean": m,
            "lo": lo,
            "hi": hi,
            "wins": int(sum(x > 0 for x in d)),
            "unit": unit,
            "values": values,
        }
    return out
