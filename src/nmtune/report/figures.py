"""The report's figures, one function each; every figure returns ``(path, caption)`` or ``None``.

Values are accuracies in % and spectrum metrics as stored; error bars are the sample std over seeds (each
seed first averaged over the suite's tasks) and are drawn only when a setting has two seeds or more.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from nmtune.report.aggregate import summarise

__all__ = ["report_figures"]

_METRICS = ("id_accuracy", "ood_accuracy", "id_sve", "ood_sve", "id_lsvr", "ood_lsvr")


def _plt():
    from nmtune.exceptions import require

    matplotlib = require("matplotlib", "plots", "report figures")
    matplotlib.use("Agg", force=False)
    return require("matplotlib.pyplot", "plots", "report figures")


def _kinds(summ, metric: str) -> list[str]:
    """The domain kinds (``id``, ``ood``) that have a value of ``metric`` somewhere: no empty panels."""
    return [k for k in ("id", "ood") if any(s.get(f"{k}_{metric}_mean") is not None for s in summ)]


def _err(s, key: str):
    return s[f"{key}_std"] if s["n_seeds"] > 1 else None


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _seeds_note(summ) -> str:
    n = sorted({s["n_seeds"] for s in summ})
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
    bars = "error bars: std over seeds" if max(n) > 1 else "one seed, so no error bars"
    return f"{seeds} seed(s) per point; {bars}."


def accuracy_vs(summ, x: str, enc: str, suite: str, path: Path):
    """Accuracy against the training fraction (``x="fraction"``) or the downstream noise (``x="noise"``)."""
    xs = sorted({s[x] for s in summ})
    kinds = _kinds(summ, "accuracy")
    if len(xs) < 2 or not kinds:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds) + 1.6, 3.6), squeeze=False)
    fixed = "noise" if x == "fraction" else "fraction"
    keep = max(s[fixed] for s in summ) if fixed == "fraction" else min(s[fixed] for s in summ)
    for ax, kind in zip(axes[0], kinds):
        for m in sorted({s["method"] for s in summ}):
            pts = sorted(
                (s[x], s[f"{kind}_accuracy_mean"], _err(s, f"{kind}_accuracy"))
                for s in summ
                if s["method"] == m and s[fixed] == keep and s[f"{kind}_accuracy_mean"] is not None
            )
            if pts:
                xv, mu, sd = zip(*pts)
                yerr = None if any(e is None for e in sd) else 100 * np.asarray(sd)
                ax.errorbar(
                    100 * np.asarray(xv), 100 * np.asarray(mu), yerr=yerr, marker="o", capsize=3, label=m
                )
        xlabel = "training fraction (%)" if x == "fraction" else "downstream label noise η (%)"
        ax.set(title=f"{kind.upper()} accuracy", xlabel=xlabel, ylabel="accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"{enc} on {suite}")
    fig.tight_layout()
    at = f"noise η = {100 * keep:g} %" if fixed == "noise" else f"training fraction {100 * keep:g} %"
    what = "training fraction" if x == "fraction" else "downstream label noise (paper App. B.5)"
    caption = f"Accuracy of every method against the {what}, {enc} on {suite}, at {at}. {_seeds_note(summ)}"
    return _save(fig, path), caption


def sve_lsvr_bars(summ, enc: str, suite: str, path: Path):
    """SVE and LSVR of the features each classifier sees, per method, at the largest fraction."""
    full = [s for s in summ if s["fraction"] == max(s["fraction"] for s in summ)]
    full.sort(key=lambda s: (s["noise"], s["method"]))
    metrics = [m for m in ("sve", "lsvr") if _kinds(full, m)]
    if not full or not metrics:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(5.0, 0.55 * len(full) + 2) * len(metrics), 3.9))
    axes = np.atleast_1d(axes)
    labels = [
        s["method"] + (f"\nη={s['noise']:g}" if len({f["noise"] for f in full}) > 1 else "") for s in full
    ]
    for ax, metric in zip(axes, metrics):
        kinds = _kinds(full, metric)
        width = 0.8 / len(kinds)
        x = np.arange(len(full))
        for j, kind in enumerate(kinds):
            vals = [
                np.nan if s[f"{kind}_{metric}_mean"] is None else s[f"{kind}_{metric}_mean"] for s in full
            ]
            errs = [
                np.nan if _err(s, f"{kind}_{metric}") is None else _err(s, f"{kind}_{metric}") for s in full
            ]
            has_err = not all(np.isnan(errs))
            ax.bar(
                x + width * (j - (len(kinds) - 1) / 2),
                vals,
                width=width,
                yerr=errs if has_err else None,
                capsize=2,
                label=kind.upper(),
            )
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ylabel = (
            "SVE = entropy of σi / Σσ" if metric == "sve" else "LSVR = −log(σ1 / Σσ) (lower: σ1 dominates)"
        )
        ax.set(title=metric.upper(), ylabel=ylabel)
        ax.grid(alpha=0.3, axis="y")
    axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="domain")
    fig.suptitle(f"{enc} on {suite}: spectrum of the features the classifier sees")
    fig.tight_layout()
    fraction = 100 * full[0]["fraction"]
    caption = (
        f"SVE and LSVR of the features each classifier sees ({enc} on {suite}, training fraction "
        f"{fraction:g} %): F itself for lp and logreg, the head's output Z for MLP/NMTune heads. "
        f"{_seeds_note(full)}"
    )
    return _save(fig, path), caption


def spectrum_lines(records, enc: str, suite: str, path: Path):
    """Mean normalised spectrum per method over every task and seed (largest fraction, no downstream noise)."""
    mine = [
        r
        for r in records
        if (r["config"]["encoder"], r["config"]["suite"]) == (enc, suite) and r.get("spectra")
    ]
    if not mine:
        return None
    frac = max(r["config"]["fraction"] for r in mine)
    eta = min(r["config"]["noise"] for r in mine)
    by_method = defaultdict(list)
    kinds_seen = set()
    for rec in mine:
        c = rec["config"]
        if c["fraction"] != frac or c["noise"] != eta:
            continue
        doms = rec["domains"]
        want = "ood" if any(d["kind"] == "ood" for d in doms.values()) else "id"
        for name, d in doms.items():
            s = rec["spectra"].get(name)
            if d["kind"] == want and s:
                by_method[c["method"]].append(np.asarray(s, dtype=np.float64))
                kinds_seen.add(want)
    if not by_method:
        return None
    spectra, notes = {}, []
    for m, arrs in sorted(by_method.items()):
        k = min(a.size for a in arrs)
        spectra[m] = np.mean([a[:k] for a in arrs], axis=0)
    if "lp" in spectra and "logreg" in spectra:
        spectra["lp = logreg (both see F)"] = spectra.pop("lp")
        spectra.pop("logreg")
        notes.append("lp and logreg classify the frozen features F, so their spectra coincide (one line).")
    from nmtune.spectrum import plot_spectrum

    kind = "/".join(sorted(kinds_seen)).upper()
    plot_spectrum(
        spectra,
        path,
        title=f"{enc} on {suite}: mean normalised spectrum, {kind} domains",
        ylabel="s_i / Σ s (mean over tasks and seeds)",
    )
    n = len(next(iter(by_method.values())))
    caption = (
        f"Normalised singular values s_i / Σs of the features each classifier sees, averaged over {n} "
        f"{kind} domain evaluations (every task and seed) per method; training fraction {100 * frac:g} %, "
        f"noise η = {100 * eta:g} %. " + " ".join(notes)
    )
    return path, caption


def pretrain_noise_lines(rows, path: Path):
    """Accuracy, SVE and LSVR against the pre-training noise ratio (when a grid varies it)."""
    gammas = sorted({r["pretrain_noise"] for r in rows if r.get("pretrain_noise") is not None})
    if len(gammas) < 2:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
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
                        pts.append((100 * g, float(np.mean(v)) * (100 if metric == "accuracy" else 1)))
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=f"{m} {kind.upper()}")
            ylabel = "accuracy (%)" if metric == "accuracy" else metric.upper()
            ax.set(xlabel="pre-training noise ratio (%)", title=metric.upper(), ylabel=ylabel)
            ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    caption = (
        "Mean over every run of accuracy, SVE and LSVR against the pre-training noise ratio, per method."
    )
    return _save(fig, path), caption


def report_figures(rows, records, out: Path) -> list[tuple[Path, str]]:
    """Every figure of the report, written under ``out``, as ``(path, caption)`` pairs."""
    figs = []
    by_es = defaultdict(list)
    for r in rows:
        by_es[(r["encoder"], r["suite"])].append(r)
    for (enc, suite), rs in by_es.items():
        tag = f"{enc}_{suite}".replace("/", "-").replace(":", "-")
        summ = summarise(rs, _METRICS)
        figs += [
            accuracy_vs(summ, "fraction", enc, suite, out / f"accuracy_vs_fraction_{tag}.png"),
            accuracy_vs(summ, "noise", enc, suite, out / f"accuracy_vs_noise_{tag}.png"),
            sve_lsvr_bars(summ, enc, suite, out / f"sve_lsvr_{tag}.png"),
            spectrum_lines(records, enc, suite, out / f"spectrum_{tag}.png"),
        ]
    figs.append(pretrain_noise_lines(rows, out / "pretrain_noise.png"))
    return [f for f in figs if f is not None]
