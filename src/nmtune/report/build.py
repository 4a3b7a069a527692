"""Build the Markdown + HTML report and PNG figures from a results store (``nmtune report``)."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmtune.report.aggregate import paired_differences, summarise, unit_rows, varying_fields
from nmtune.results import ResultsStore

__all__ = ["ReportPaths", "build_report", "results_table"]

BASELINES = ("lp", "mlp", "logreg")


@dataclass(frozen=True)
class ReportPaths:
    """Files written by :func:`build_report`."""

    markdown: Path
    html: Path
    figures: tuple[Path, ...]


def _pm(mean, std) -> str:
    if mean is None:
        return "-"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _ci(d) -> str:
    if math.isnan(d["lo"]) or math.isnan(d["hi"]):
        return f"{100 * d['mean']:+.2f} (no CI: 1 seed) ({d['wins']}/{d['n']})"
    return f"{100 * d['mean']:+.2f} [{100 * d['lo']:+.2f}, {100 * d['hi']:+.2f}] ({d['wins']}/{d['n']})"


def _value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


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
                _pm(s["id_accuracy_mean"], s["id_accuracy_std"]),
                _pm(s["ood_accuracy_mean"], s["ood_accuracy_std"]),
                _pm(s["id_macro_f1_mean"], s["id_macro_f1_std"]),
                _pm(s["ood_macro_f1_mean"], s["ood_macro_f1_std"]),
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


def _figures(rows, records, out: Path) -> list[Path]:
    from nmtune.exceptions import require

    plt = require("matplotlib.pyplot", "plots", "report figures")
    paths = []
    by_es = defaultdict(list)
    for r in rows:
        by_es[(r["encoder"], r["suite"])].append(r)
    for (enc, suite), rs in by_es.items():
        tag = f"{enc}_{suite}".replace("/", "-").replace(":", "-")
        fractions = sorted({r["fraction"] for r in rs})
        methods = sorted({r["method"] for r in rs})
        summ = summarise(rs, ("id_accuracy", "ood_accuracy", "ood_sve", "ood_lsvr", "id_sve", "id_lsvr"))
        if len(fractions) > 1:  # accuracy vs training fraction
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
            for ax, kind in zip(axes, ("id", "ood")):
                for m in methods:
                    pts = sorted(
                        (s["fraction"], s[f"{kind}_accuracy_mean"], s[f"{kind}_accuracy_std"])
                        for s in summ
                        if s["method"] == m and s[f"{kind}_accuracy_mean"] is not None
                    )
                    if pts:
                        f, mu, sd = map(np.asarray, zip(*pts))
                        ax.errorbar(100 * f, 100 * mu, yerr=100 * sd, marker="o", capsize=3, label=m)
                ax.set(
                    title=f"{kind.upper()} accuracy", xlabel="training fraction (%)", ylabel="accuracy (%)"
                )
            axes[0].legend(fontsize=8)
            fig.suptitle(f"{enc} on {suite}")
            fig.tight_layout()
            p = out / f"accuracy_vs_fraction_{tag}.png"
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)
        full = [s for s in summ if s["fraction"] == max(fractions)]  # SVE / LSVR per method
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for ax, metric in zip(axes, ("sve", "lsvr")):
            labels = [f"{s['method']}" + (f"\nη={s['noise']:g}" if s["noise"] else "") for s in full]
            x = np.arange(len(full))
            for j, kind in enumerate(("id", "ood")):
                vals = [s[f"{kind}_{metric}_mean"] or 0.0 for s in full]
                ax.bar(x + 0.4 * j - 0.2, vals, width=0.4, label=kind.upper())
            ax.set_xticks(x, labels, rotation=30, fontsize=8)
            ax.set(title=metric.upper() + " of the features the classifier sees")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        p = out / f"sve_lsvr_{tag}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
        spectra = {}  # one spectrum per method: first seed, largest fraction, first OOD (else ID) domain
        for rec in records:
            c = rec["config"]
            if (c["encoder"], c["suite"], c["fraction"], c["noise"]) != (enc, suite, max(fractions), 0.0):
                continue
            if any(k.startswith(f"{c['method']} (") for k in spectra) or not rec.get("spectra"):
                continue
            doms = rec["domains"]
            name = next((n for n in doms if doms[n]["kind"] == "ood"), next(iter(doms)))
            if rec["spectra"].get(name):
                spectra[f"{c['method']} ({c['task']}/{name})"] = np.asarray(rec["spectra"][name])
        if spectra:
            from nmtune.spectrum import plot_spectrum

            p = out / f"spectrum_{tag}.png"
            plot_spectrum(spectra, p, title=f"{enc} on {suite}: normalised singular values")
            paths.append(p)
    gammas = sorted({r["pretrain_noise"] for r in rows if r.get("pretrain_noise") is not None})
    if len(gammas) > 1:  # the pre-training noise study
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
        for m in sorted({r["method"] for r in rows}):
            for ax, metric in zip(axes, ("accuracy", "sve", "lsvr")):
                for kind in ("id", "ood"):
                    pts = []
                    for g in gammas:
                        v = [
                            r[f"{kind}_{metric}"]
                            for r in rows
                            if r["method"] == m
                            and r["pretrain_noise"] == g
                            and r.get(f"{kind}_{metric}") is not None
                        ]
                        if v:
                            pts.append((100 * g, float(np.mean(v))))
                    if pts:
                        ax.plot(*zip(*pts), marker="o", label=f"{m} {kind.upper()}")
                ax.set(xlabel="pre-training noise ratio (%)", title=metric.upper())
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        p = out / "pretrain_noise.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def build_report(
    store: str | Path | ResultsStore, out_dir: str | Path, *, figures: bool = True
) -> ReportPaths:
    """Write ``report.md``, ``report.html`` and PNG figures for every finished run in a store.

    Parameters
    ----------
    store : path or ResultsStore
        The results store.
    out_dir : path
        Output folder (created).
    figures : bool
        Also draw the figures (needs ``nmtune[plots]``).

    Returns
    -------
    ReportPaths
    """
    st = store if isinstance(store, ResultsStore) else ResultsStore(store, create=False)
    records = st.records(spectra=figures)
    n_failed = st.counts().get("failed", 0)
    if not records:
        raise ValueError(f"The results store {st.path} holds no finished run; run a grid first (nmtune run).")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = unit_rows(records)
    figs = _figures(rows, records, out) if figures else []
    head, body = results_table(rows)
    phead, pbody = _paired_table(rows)
    modes = sorted({r["selection"] for r in rows})
    methods = sorted({r["method"] for r in rows})
    intro = [
        f"Results store: `{st.path}` ({len(records)} finished runs, {n_failed} failed).",
        f"Selection mode(s): {', '.join(modes)} (`paper`: fixed paper defaults; `val`: small grid "
        f"picked on a "
        "stratified validation split of the training domain, never a target domain). `logreg` always picks C "
        "on that validation split.",
        f"Methods: {', '.join(methods)}. Baselines for the paired differences: "
        f"{', '.join(b for b in BASELINES if b in methods) or 'none present'}.",
        "Accuracies in %, mean ± sample std over seeds (each seed first averaged over the suite's "
        "tasks). ID/OOD "
        "= mean over the in-/out-of-distribution evaluation domains. Every method and setting stored is "
        "shown.",
        "Runs that differ in any configuration field (besides task and seed) are never averaged together; "
        "fields beyond the first six that vary get their own column.",
        "Paired differences: method − baseline within one setting (runs matched on every configuration field "
        "but the method). Unit of the interval: the seed — per seed the difference is averaged over the "
        "suite's tasks, then a 95 % Student-t interval of the mean over seeds; wins = seeds where the method "
        "is higher.",
    ]
    md = [
        "# nmtune report",
        "",
        *[f"- {x}" for x in intro],
        "",
        "## Results",
        "",
        _md_table(head, body),
        "",
        "## Paired differences",
        "",
        _md_table(phead, pbody) if pbody else "_No matched baseline present._",
        "",
    ]
    if figs:
        md += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs]
    md_path = out / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    css = (
        "body{font-family:sans-serif;max-width:1300px;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}th{background:#eee}"
    )
    page = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>nmtune report</title><style>{css}</style>"
        "</head><body><h1>nmtune report</h1><ul>",
        *[f"<li>{html.escape(x)}</li>" for x in intro],
        "</ul>",
        "<h2>Results</h2>",
        _html_table(head, body),
        "<h2>Paired differences</h2>",
        _html_table(phead, pbody) if pbody else "<p>No matched baseline present.</p>",
    ]
    if figs:
        page += ["<h2>Figures</h2>"] + [
            f"<p><img src='{html.escape(p.name)}' alt='{p.stem}'></p>" for p in figs
        ]
    html_path = out / "report.html"
    html_path.write_text("\n".join(page) + "</body></html>\n", encoding="utf-8")
    if not isinstance(store, ResultsStore):
        st.close()
    return ReportPaths(md_path, html_path, tuple(figs))
