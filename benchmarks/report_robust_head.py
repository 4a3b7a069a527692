"""The pre-registered decision of issue 24 from ``benchmarks/eval_robust_head.py``'s records.

Writes ``report.md`` (per-source table, the decision rule of docs/preregistration-robust-head.md applied to each
variant) and ``forest.png`` into the output folder.

    python benchmarks/report_robust_head.py docs/results/robust-head/records-*.jsonl --out docs/results/robust-head
    python benchmarks/report_robust_head.py docs/results/robust-head-2/records-*.jsonl --round 2 \
        --pool-with docs/results/robust-head/records-*.jsonl --out docs/results/robust-head-2

Unit: the task (head seeds, if several, are averaged within the task first). d_t = OOD(variant) − OOD(the
source's better baseline), the better baseline being whichever of ``lp`` and ``logreg-cv`` has the higher mean OOD
accuracy over the source's tasks. Only the public library is used.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from nmtune.report import holm, t_test

BASELINES = ("lp", "logreg-cv")
#: Per pre-registration: the variants decided on (Holm over them), the references, the sources in order, the plan.
ROUNDS = {
    1: {
        "variants": ("V1-ps", "V2-ps-lpft", "V3-ps-avg"),
        "reference": ("nmtune-cv",),
        "sources": ("minilm-20ng", "digits", "fashion-c"),
        "plan": "docs/preregistration-robust-head.md",
        "title": "# Issue 24: pre-registered evaluation of NMTuneCV variants",
        "units": "{n} tasks = units",
        "over": "tasks",
        "unit": "task",
    },
    2: {
        "variants": ("V3-ps-avg", "V4-wiseft", "V5-path", "V6-gb"),
        "reference": ("nmtune-cv", "V1-ps"),
        "sources": ("e5-20ng", "minilm-20ng-full", "glyphs-noisy"),
        "plan": "docs/preregistration-robust-head-2.md",
        "title": "# Issue 24, second round: pre-registered evaluation of NMTuneCV variants",
        "units": "{n} units: 20NG tasks and glyph backbones",
        "over": "units",
        "unit": "task or backbone",
    },
}
VARIANTS = ROUNDS[1]["variants"]
REFERENCE = ROUNDS[1]["reference"]
SOURCE_ORDER = ROUNDS[1]["sources"]


def load_records(paths) -> list[dict]:
    """Every JSON line of ``paths``."""
    out = []
    for p in paths:
        out += [json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
    return out


def task_table(records) -> dict:
    """``{(source, task): {method: {metric: mean over seeds}}}`` for the metrics used below."""
    acc = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in records:
        for m, v in r["methods"].items():
            for key in ("id", "ood", "worst", "oracle_ood", "spearman_val_ood", "fit_seconds"):
                if key in v and v[key] is not None:
                    acc[r["source"], r["task"]][m][key].append(float(v[key]))
            if "pick" in v:
                acc[r["source"], r["task"]][m]["picks"].append(v["pick"])
            if v.get("alpha") is not None:
                acc[r["source"], r["task"]][m]["picks"].append(f"α={v['alpha']:g}")
        acc[r["source"], r["task"]]["_"]["nmtune_seconds"].append(float(r["nmtune_seconds"] or np.nan))
    return {
        k: {m: {key: (vals if key == "picks" else float(np.nanmean(vals))) for key, vals in mv.items()}
            for m, mv in ms.items()}
        for k, ms in acc.items()
    }  # fmt: skip


def analyse(records, round_=1) -> dict:
    """Per-task differences, per-source summaries and the decision of every variant of pre-registration ``round_``."""
    spec = ROUNDS[round_]
    table = task_table(records)
    sources = [s for s in spec["sources"] if any(k[0] == s for k in table)]
    better = {}
    for s in sources:
        tasks = [k for k in table if k[0] == s]
        means = {b: np.mean([table[k][b]["ood"] for k in tasks]) for b in BASELINES}
        better[s] = max(BASELINES, key=lambda b: means[b])
    out = {"sources": sources, "better": better, "table": table, "variants": {}, "spec": spec}
    for v in spec["reference"] + spec["variants"]:
        d, id_lp, regret, rows = [], [], [], {}
        for s in sources:
            tasks = sorted(k for k in table if k[0] == s and v in table[k])
            ds = [table[k][v]["ood"] - table[k][better[s]]["ood"] for k in tasks]
            d += ds
            id_lp += [table[k][v]["id"] - table[k]["lp"]["id"] for k in tasks]
            regret += [table[k][v]["oracle_ood"] - table[k][v]["ood"] for k in tasks]
            rows[s] = {
                "n": len(tasks),
                "d": float(np.mean(ds)),
                "ood_minus_lp": float(np.mean([table[k][v]["ood"] - table[k]["lp"]["ood"] for k in tasks])),
                "id_minus_lp": float(np.mean([table[k][v]["id"] - table[k]["lp"]["id"] for k in tasks])),
                "regret": float(np.mean([table[k][v]["oracle_ood"] - table[k][v]["ood"] for k in tasks])),
                "spearman": float(np.nanmean([table[k][v].get("spearman_val_ood", np.nan) for k in tasks])),
                "worst": float(np.mean([table[k][v]["worst"] for k in tasks])),
                "worst_lp": float(np.mean([table[k]["lp"]["worst"] for k in tasks])),
                "time_ratio": float(
                    np.mean([table[k][v]["fit_seconds"] / table[k]["_"]["nmtune_seconds"] for k in tasks])
                ),
                "picks": sorted({p for k in tasks for p in table[k][v].get("picks", [])}),
                "per_task": {k[1]: float(x) for k, x in zip(tasks, ds)},
            }
        t = t_test(d)
        p_one = t["p"] / 2 if t["mean"] > 0 else 1 - t["p"] / 2
        by_source = t_test([rows[s]["d"] for s in sources])
        out["variants"][v] = {
            "d": d, "t": t, "p_one_sided": p_one, "by_source": by_source, "rows": rows,
            "id_minus_lp": float(np.mean(id_lp)), "regret": float(np.mean(regret)),
        }  # fmt: skip
    adj = holm([out["variants"][v]["p_one_sided"] for v in spec["variants"]])
    for v, a in zip(spec["variants"], adj):
        r = out["variants"][v]
        r["p_holm"] = float(a)
        r["criteria"] = {
            "mean >= +1": r["t"]["mean"] >= 1.0,
            "Holm one-sided p < 0.025": bool(a < 0.025),
            "no source > 1 below LP": all(row["ood_minus_lp"] >= -1.0 for row in r["rows"].values()),
            "ID within 0.5 of LP": r["id_minus_lp"] >= -0.5,
        }
        r["wins"] = all(r["criteria"].values())
    out["winner"] = next((v for v in spec["variants"] if out["variants"][v]["wins"]), None)
    return out


def _fmt(t) -> str:
    if np.isnan(t["lo"]):
        return f"{t['mean']:+.2f} [n/a]"
    return f"{t['mean']:+.2f} [{t['lo']:+.2f}, {t['hi']:+.2f}]"


def markdown(a) -> str:
    """The report as Markdown."""
    spec = a["spec"]
    n_tasks = sum(len([k for k in a["table"] if k[0] == s]) for s in a["sources"])
    lines = [
        spec["title"],
        "",
        f"Sources run: {', '.join(a['sources'])} ({spec['units'].format(n=n_tasks)}). Better baseline per source: "
        + ", ".join(f"{s}: {b}" for s, b in a["better"].items())
        + ". OOD/ID accuracies in %, differences in points.",
        "",
        f"## Decision ({spec['plan']})",
        "",
        f"| variant | mean d over {spec['over']} [95 % t-interval] | one-sided p (Holm) | sources as units | ID − LP | "
        "regret vs oracle | criteria met | wins |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in spec["reference"] + spec["variants"]:
        r = a["variants"][v]
        crit = r.get("criteria")
        met = "reference" if crit is None else " / ".join(("yes" if ok else "no") for ok in crit.values())
        p = f"{r['p_one_sided']:.3f}" + (f" ({r['p_holm']:.3f})" if "p_holm" in r else "")
        lines.append(
            f"| {v} | {_fmt(r['t'])} | {p} | {_fmt(r['by_source'])} | {r['id_minus_lp']:+.2f} | "
            f"{r['regret']:.2f} | {met} | {'**yes**' if r.get('wins') else ('-' if crit is None else 'no')} |"
        )
    lines += [
        "",
        "Criteria, in order: mean d ≥ +1; Holm-adjusted one-sided p < 0.025 (the 95 % interval above 0); no source "
        "more than 1 point below LP OOD; mean ID within 0.5 of LP. "
        + (f"**{a['winner']} wins.**" if a["winner"] else "**No variant wins: the goal is not reached.**"),
        "",
        "## Per source",
        "",
        "| source | method | tasks | OOD − better baseline | OOD − LP | ID − LP | regret vs oracle | "
        "Spearman val~OOD | worst OOD domain/group (LP) | fit time / one NMTune fit | picks |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in a["sources"]:
        for v in spec["reference"] + spec["variants"]:
            row = a["variants"][v]["rows"][s]
            lines.append(
                f"| {s} | {v} | {row['n']} | {row['d']:+.2f} | {row['ood_minus_lp']:+.2f} | {row['id_minus_lp']:+.2f}"
                f" | {row['regret']:.2f} | {row['spearman']:+.2f} | {row['worst']:.1f} ({row['worst_lp']:.1f}) | "
                f"{row['time_ratio']:.1f} | {', '.join(row['picks'])} |"
            )
    lines += ["", "## Per task: OOD accuracy (%)", ""]
    methods = list(BASELINES) + ["logreg-gcv"] + list(spec["reference"] + spec["variants"])
    lines += ["| source | task | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for k in sorted(a["table"], key=lambda k: (spec["sources"].index(k[0]), k[1])):
        row = a["table"][k]
        lines.append(f"| {k[0]} | {k[1]} | " + " | ".join(f"{row[m]['ood']:.2f}" for m in methods) + " |")
    lines += ["", "## Per task: ID accuracy (%)", ""]
    lines += ["| source | task | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for k in sorted(a["table"], key=lambda k: (spec["sources"].index(k[0]), k[1])):
        row = a["table"][k]
        lines.append(f"| {k[0]} | {k[1]} | " + " | ".join(f"{row[m]['id']:.2f}" for m in methods) + " |")
    return "\n".join(lines) + "\n"


def forest(a, path: Path) -> None:
    """Forest plot: per variant, each task's d (dots, by source), the mean with its 95 % t-interval (bar)."""
    spec = a["spec"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(spec["reference"] + spec["variants"])
    colours = {"minilm-20ng": "tab:blue", "digits": "tab:orange", "fashion-c": "tab:green", "e5-20ng": "tab:purple",
               "minilm-20ng-full": "tab:blue", "glyphs-noisy": "tab:red"}  # fmt: skip
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.8 * len(names)))
    for i, v in enumerate(names):
        y = len(names) - 1 - i
        r = a["variants"][v]
        for s in a["sources"]:
            vals = list(r["rows"][s]["per_task"].values())
            ax.scatter(vals, [y + 0.18] * len(vals), s=18, color=colours.get(s, "grey"), alpha=0.8,
                       label=s if i == 0 else None)  # fmt: skip
        t = r["t"]
        if not np.isnan(t["lo"]):
            ax.plot([t["lo"], t["hi"]], [y, y], color="black", lw=2)
        ax.plot(
            [t["mean"]],
            [y],
            "D",
            color="black",
            ms=6,
            label=f"mean over {spec['over']}, 95 % t-interval" if i == 0 else None,
        )
    ax.axvline(0, color="grey", lw=1)
    ax.axvline(1, color="grey", lw=1, ls="--", label="goal: +1 point")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(list(reversed(names)))
    ax.set_xlabel("OOD accuracy minus the source's better baseline (LP or logreg-cv), points")
    ax.set_title(f"NMTuneCV variants, pre-registered sources (unit: {spec['unit']})")
    ax.set_ylim(-0.6, len(names) - 0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def pooled_section(a, earlier) -> str:
    """Markdown: each variant decided in both analyses, its d over the units of both (exploratory)."""
    shared = [v for v in a["spec"]["variants"] if v in earlier["spec"]["variants"]]
    lines = [
        "",
        "## Exploratory: both rounds pooled",
        "",
        "The variants decided in both rounds, their d over the units of both (sources of each round with their own "
        "better baseline). Exploratory: the variant was carried into the second round after the first one's results.",
        "",
        "| variant | units | mean d [95 % t-interval] | two-sided p |",
        "|---|---|---|---|",
    ]
    for v in shared:
        d = earlier["variants"][v]["d"] + a["variants"][v]["d"]
        t = t_test(d)
        lines.append(f"| {v} | {len(d)} | {_fmt(t)} | {t['p']:.3f} |")
    return "\n".join(lines) + "\n"


def write_report(paths, out_dir: Path, round_: int = 1, pool_with=()) -> dict:
    """Write ``report.md``, ``forest.png`` and ``summary.json`` into ``out_dir``; returns the analysis.

    ``pool_with``: records of round 1, for the exploratory pooled section of a later round's report.
    """
    a = analyse(load_records(paths), round_)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(a)
    if pool_with:
        text += pooled_section(a, analyse(load_records(pool_with), 1))
    (out_dir / "report.md").write_text(text)
    forest(a, out_dir / "forest.png")
    summary = {v: {k: r[k] for k in ("t", "p_one_sided", "by_source", "id_minus_lp", "regret")}
               | {"criteria": r.get("criteria"), "wins": r.get("wins")} for v, r in a["variants"].items()}  # fmt: skip
    (out_dir / "summary.json").write_text(json.dumps({"winner": a["winner"], "variants": summary}, indent=1))
    return a


def main() -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, help="which pre-registration")
    parser.add_argument(
        "--pool-with", nargs="+", type=Path, default=(), help="round 1 records (exploratory pool)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/results/robust-head"))
    args = parser.parse_args()
    a = write_report(args.records, args.out, args.round, args.pool_with)
    print((args.out / "report.md").read_text())
    print("winner:", a["winner"])


if __name__ == "__main__":
    main()
