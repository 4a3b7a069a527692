"""Build the Markdown + HTML report and PNG figures from a results store (``nmtune report``)."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmtune._internal.files import check_folder_path, ensure_folder
from nmtune.report.aggregate import json_key, paired_differences, summarise, unit_rows, varying_fields
from nmtune.report.figures import report_figures
from nmtune.results import ResultsStore

__all__ = ["ReportPaths", "build_report", "results_table"]

BASELINES = ("lp", "mlp", "logreg")


@dataclass(frozen=True)
class ReportPaths:
    """Files written by :func:`build_report`."""

    markdown: Path
    html: Path
    figures: tuple[Path, ...]
    skipped: tuple[str, ...] = ()  # run ids whose stored record could not be read (left out of the report)


def _pm(mean, std, n_seeds: int = 2) -> str:
    """``mean ± std`` in %; with one seed there is no spread to show: ``mean ± n/a``."""
    if mean is None:
        return "-"
    if n_seeds < 2:
        return f"{100 * mean:.2f} ± n/a"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _ci(d) -> str:
    if math.isnan(d["lo"]) or math.isnan(d["hi"]):
        return f"{100 * d['mean']:+.2f} (no CI: 1 seed) ({d['wins']}/{d['n']})"
    return f"{100 * d['mean']:+.2f} [{100 * d['lo']:+.2f}, {100 * d['hi']:+.2f}] ({d['wins']}/{d['n']})"


def _value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in v):
        v = dict(v)  # per-method params, made hashable for the paired table
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_TABLE_METRICS = ("id_accuracy", "ood_accuracy", "id_macro_f1", "ood_macro_f1")


def results_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: accuracy (%) mean ± std over seeds, ID and OOD averages.

    One row per setting (the whole configuration but task and seed); configuration fields that differ between
    settings beyond encoder, suite, method, selection, fraction and noise get a column of their own, so no two
    rows look alike.
    """
    summary = summarise(rows, ("id_accuracy", "ood_accuracy", "id_macro_f1", "ood_macro_f1", "ood_lsvr"))
    extra = list(varying_fields(rows))
    head = [
        "encoder",
        "suite",
        "method",
        "selection",
        "fraction",
        "noise",
        *extra,
        "seeds",
        "tasks",
        "ID acc",
        "OOD acc",
        "ID macro-F1",
        "OOD macro-F1",
        "OOD LSVR",
    ]
    body = []
    for s in summary:
        lsvr = "-" if s["ood_lsvr_mean"] is None else f"{s['ood_lsvr_mean']:.3f}"
        body.append(
            [
                s["encoder"],
                s["suite"],
                s["method"],
                s["selection"],
                f"{s['fraction']:g}",
                f"{s['noise']:g}",
                *[_value(s.get(k)) for k in extra],
                str(s["n_seeds"]),
                str(s["n_tasks"]),
                *[_pm(s[f"{m}_mean"], s[f"{m}_std"], s["n_seeds"]) for m in _TABLE_METRICS],
                lsvr,
            ]
        )
    return head, body


def _paired_table(rows):
    methods = sorted({r["method"] for r in rows})
    extra = list(varying_fields(rows))
    shown = ["encoder", "suite", "selection", "fraction", "noise", *extra]
    vs_shown = [f"baseline_{k}" for k in extra if k in ("min_steps", "params")]
    head = [
        *shown,
        "method",
        "vs",
        *[f"vs {k.removeprefix('baseline_')}" for k in vs_shown],
        "Δ ID acc [95% CI] (wins/seeds)",
        "Δ OOD acc [95% CI] (wins/seeds)",
    ]
    body = []
    for base in [b for b in BASELINES if b in methods]:
        for m in methods:
            if m == base or (m in BASELINES and BASELINES.index(m) < BASELINES.index(base)):
                continue
            d_id = paired_differences(rows, m, base, "id_accuracy") or {}
            d_ood = paired_differences(rows, m, base, "ood_accuracy") or {}
            for cell in sorted(set(d_id) | set(d_ood), key=str):
                values = dict(cell)
                body.append(
                    [
                        *[_value(values.get(k)) for k in shown],
                        m,
                        base,
                        *[_value(values.get(k)) for k in vs_shown],
                        _ci(d_id[cell]) if cell in d_id else "-",
                        _ci(d_ood[cell]) if cell in d_ood else "-",
                    ]
                )
    return head, body


def _md_table(head, body) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _html_table(head, body) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def _per_task_table(rows):
    """ID / OOD accuracy per task: mean ± std over seeds, one row per (setting, task)."""
    extra = list(varying_fields(rows))
    fields = ("encoder", "suite", "task", "method", "selection", "fraction", "noise", *extra)
    per = defaultdict(lambda: defaultdict(list))
    shown = {}
    for r in rows:
        key = tuple(json_key(r.get(k)) for k in fields)
        shown[key] = [_value(r.get(k)) for k in fields]
        for kind in ("id", "ood"):
            if r.get(f"{kind}_accuracy") is not None:
                per[key][kind].append(r[f"{kind}_accuracy"])
        per[key]["seeds"].append(r["seed"])
    head = [
        "encoder",
        "suite",
        "task",
        "method",
        "selection",
        "fraction",
        "noise",
        *extra,
        "seeds",
        "ID acc",
        "OOD acc",
    ]
    body = []
    for key in sorted(per, key=str):
        vals = per[key]
        cells = []
        for kind in ("id", "ood"):
            v = vals.get(kind, [])
            cells.append(
                _pm(float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v)) if v else "-"
            )
        body.append([*shown[key], str(len(set(vals["seeds"]))), *cells])
    return head, body


def _runtime_table(rows):
    """Mean fit time per method and setting, and its ratio to MLP tuning's in the same setting (App. B.6)."""
    times = defaultdict(list)
    for r in rows:
        if r.get("fit_seconds") is not None:
            times[(r["encoder"], r["suite"], r["selection"], r["fraction"], r["noise"], r["method"])].append(
                r["fit_seconds"]
            )
    head = ["encoder", "suite", "selection", "fraction", "noise", "method", "runs", "fit time (s)", "÷ mlp"]
    body = []
    for key in sorted(times, key=str):
        mean = float(np.mean(times[key]))
        ref = times.get((*key[:-1], "mlp"))
        ratio = f"{mean / float(np.mean(ref)):.2f}" if ref else "-"
        body.append([*map(_value, key), str(len(times[key])), f"{mean:.2f}", ratio])
    return head, body


_INTRO = (
    "Selection mode(s): {modes} (`paper`: fixed paper defaults; `val`: small grid picked on a stratified "
    "validation split of the training domain, never a target domain). `logreg` always picks C on that "
    "validation split.",
    "Methods: {methods}. Baselines for the paired differences: {baselines}.",
    "Accuracies in %, mean ± sample std over seeds (each seed first averaged over the suite's tasks; `± n/a`: "
    "one seed, no spread to show). ID/OOD = "
    "mean over the in-/out-of-distribution evaluation domains. Every method and setting stored is shown.",
    "Runs that differ in any configuration field (besides task and seed) are never averaged together; fields "
    "beyond the first six that vary get their own column.",
    "Paired differences: method − baseline within one setting (runs matched on every configuration field but "
    "the method). Unit of the interval: the seed — per seed the difference is averaged over the suite's "
    "tasks, then a 95 % Student-t interval of the mean over seeds; wins = seeds where the method is higher.",
)


def _sections(rows):
    """``(title, caption, (head, body))`` of every table of the report, in order."""
    paired = _paired_table(rows)
    return [
        ("Results", "One row per setting; the spectrum column is the mean OOD LSVR.", results_table(rows)),
        ("Paired differences", "Method − baseline, in accuracy points.", paired),
        ("Per task", "Accuracy per task: mean ± std over seeds.", _per_task_table(rows)),
        (
            "Run time",
            "Mean wall-clock time of one run's fit (hyper-parameter selection included), and its ratio to MLP "
            "tuning in the same setting (the paper's App. B.6 compares NMTune's cost with MLP tuning's).",
            _runtime_table(rows),
        ),
    ]


def _inline_code(text: str) -> str:
    """HTML-escape ``text`` and turn ```code``` spans into ``<code>`` elements."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _markdown(intro, sections, figs) -> str:
    md = ["# nmtune report", "", *[f"- {x}" for x in intro], ""]
    for title, caption, (head, body) in sections:
        md += [f"## {title}", "", caption, "", _md_table(head, body) if body else "_Nothing to show._", ""]
    if figs:
        md += ["## Figures", ""]
        for p, caption in figs:
            md += [f"![{p.stem}]({p.name})", "", f"*{caption}*", ""]
    return "\n".join(md) + "\n"


_CSS = (
    "body{font-family:sans-serif;max-width:1300px;margin:auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;display:block;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}th{background:#eee}"
    "code{background:#f3f3f3;padding:0 3px;border-radius:3px}"
    "figure{margin:1em 0 2em}figure img{max-width:100%;height:auto}figcaption{font-size:13px;color:#333}"
    ".caption{font-size:13px;color:#444}"
)


def _html(intro, sections, figs) -> str:
    page = [
        "<!doctype html><html><head><meta charset='utf-8'><title>nmtune report</title>"
        f"<style>{_CSS}</style></head><body><h1>nmtune report</h1><ul>",
        *[f"<li>{_inline_code(x)}</li>" for x in intro],
        "</ul>",
    ]
    for title, caption, (head, body) in sections:
        page += [f"<h2>{html.escape(title)}</h2>", f"<p class='caption'>{_inline_code(caption)}</p>"]
        page.append(_html_table(head, body) if body else "<p>Nothing to show.</p>")
    if figs:
        page.append("<h2>Figures</h2>")
        for p, caption in figs:
            page.append(
                f"<figure><img src='{html.escape(p.name)}' alt='{html.escape(p.stem)}'>"
                f"<figcaption>{_inline_code(caption)}</figcaption></figure>"
            )
    return "\n".join(page) + "</body></html>\n"


def build_report(
    store: str | Path | ResultsStore, out_dir: str | Path, *, figures: bool = True
) -> ReportPaths:
    """Write ``report.md``, ``report.html`` and PNG figures for every finished run in a store.

    Parameters
    ----------
    store : path or ResultsStore
        The results store (a path is opened read-only in spirit: never created, and closed on return or error).
    out_dir : path
        Output folder (created).
    figures : bool
        Also draw the figures (needs ``nmtune[plots]``).

    Returns
    -------
    ReportPaths
    """
    if isinstance(store, ResultsStore):
        return _build(store, Path(out_dir), figures)
    st = ResultsStore(store, create=False)
    try:
        return _build(st, Path(out_dir), figures)
    finally:
        st.close()


def _build(st: ResultsStore, out: Path, figures: bool) -> ReportPaths:
    check_folder_path(out, "report folder")  # a file in the way fails before anything is read
    records = st.records(spectra=figures, errors="skip")
    skipped = list(st.skipped) + [r["run_id"] for r in records if not isinstance(r.get("domains"), dict)]
    records = [r for r in records if isinstance(r.get("domains"), dict)]
    n_failed = st.counts().get("failed", 0)
    if not records:
        why = f" ({len(skipped)} unreadable record(s) skipped: {', '.join(skipped[:5])})" if skipped else ""
        raise ValueError(
            f"The results store {st.path} holds no finished run{why}; run a grid first (nmtune run)."
        )
    ensure_folder(out, "report folder")
    rows = unit_rows(records)
    figs = report_figures(rows, records, out) if figures else []
    methods = sorted({r["method"] for r in rows})
    fill = {
        "modes": ", ".join(sorted({r["selection"] for r in rows})),
        "methods": ", ".join(methods),
        "baselines": ", ".join(b for b in BASELINES if b in methods) or "none present",
    }
    intro = [f"Results store: `{st.path}` ({len(records)} finished runs, {n_failed} failed)."]
    if skipped:
        intro.append(
            f"{len(skipped)} stored record(s) could not be read and are left out: runs {', '.join(skipped)} "
            "(delete them from the store and re-run the grid to recompute them)."
        )
    intro += [x.format(**fill) for x in _INTRO]
    sections = _sections(rows)
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(_markdown(intro, sections, figs), encoding="utf-8")
    html_path.write_text(_html(intro, sections, figs), encoding="utf-8")
    return ReportPaths(md_path, html_path, tuple(p for p, _ in figs), tuple(skipped))
