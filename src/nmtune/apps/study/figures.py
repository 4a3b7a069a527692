"""Figures of the noisy pre-training study, readable without the text.

Accuracies in %, axes labelled with units, dot plots with intervals (never truncated bars), thin lines joining
the values of one pre-training seed (the pairing the claims rest on), a caption on every figure saying what the
interval is; OOD panels split by shift type; forest plots of the claims and of paired head differences.

Files: ``fig2_lp_vs_gamma.png``, ``fig3_spectrum_vs_gamma.png``, ``fig5_methods_per_gamma.png``,
``fig_ood_vs_lsvr.png``, ``forest_claims.png``, ``forest_heads.png`` and, for image-caption backbones,
``fig_zero_shot.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nmtune._internal.stats import t_interval
from nmtune.exceptions import require

__all__ = ["write_figures", "mean_and_interval", "claim_panels"]

_INTERVAL = "95 % t-interval over the {S} pre-training seeds (unit of replication; test sets held fixed)"


def mean_and_interval(table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a (G, S) table: mean, lower and upper 95 % t-bounds over its finite values (NaN when < 2)."""
    stats = [t_interval(row[np.isfinite(row)]) for row in np.asarray(table, dtype=np.float64)]
    return tuple(np.array([s[i] for s in stats]) for i in range(3))


def _plt():
    matplotlib = require("matplotlib", "plots", "the study figures")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _dots(ax, x, table, *, scale=100.0, color="C0", label=None, offset=0.0, seeds=True):
    """Mean with its interval at each x, and one thin line per seed (paired across x)."""
    t = scale * np.asarray(table, dtype=np.float64)
    if seeds:
        for s in range(t.shape[1]):
            ax.plot(x + offset, t[:, s], color=color, alpha=0.25, lw=0.8)
    m, lo, hi = mean_and_interval(t)
    err = np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)])
    ax.errorbar(x + offset, m, yerr=err, fmt="o", color=color, capsize=3, ms=5, label=label)


def _caption(fig, text: str, lines: int = 1):
    fig.text(0.01, 0.01, text, fontsize=7.5, va="bottom", wrap=True)
    return 0.06 + 0.025 * (lines - 1)


def _save(fig, path: Path, bottom: float) -> Path:
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=120)
    _plt().close(fig)
    return path


def _panels(data):
    """(title, tasks, kind): ID over every task, then OOD per shift type."""
    out = [("ID (every task)", None, "id")]
    for shift in data.shifts():
        out.append((f"OOD: {shift}", data.tasks_of_shift(shift), "ood"))
    return out


def _gamma_axis(ax, data):
    x = 100 * np.asarray(data.gammas)
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel("pre-training noise γ (%)")
    return x


def write_figures(data, out_dir, config, *, verdicts=(), records=()) -> list[Path]:
    """Write the study's figures into ``out_dir``; returns their paths.

    Parameters
    ----------
    data : StudyData
    out_dir : path
    config : StudyConfig
        ``probe``, ``methods``, ``objective``.
    verdicts : sequence of Verdict
        For the forest plot of the claims.
    records : sequence of dict
        The run records (the zero-shot panel shows each test domain once).
    """
    plt = _plt()
    out = Path(out_dir)
    S = len(data.seeds)
    interval = _INTERVAL.format(S=S)
    probe = config.probe
    methods = [m for m in config.methods if m in data.methods]
    paths = []
    panels = _panels(data)

    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
    for ax, (title, tasks, kind) in zip(axes[0], panels):
        x = _gamma_axis(ax, data)
        _dots(ax, x, data.table(probe, f"{kind}_accuracy", tasks=tasks))
        ax.set(title=f"{title}", ylabel=f"{probe.upper()} accuracy (%)")
    fig.suptitle(f"Linear probe ({probe}) accuracy vs pre-training noise", fontsize=10)
    bottom = _caption(fig, f"Dots: mean; bars: {interval}; thin lines: one seed each. Averaged over tasks, "
                           "training fractions and downstream seeds within a seed.")  # fmt: skip
    paths.append(_save(fig, out / "fig2_lp_vs_gamma.png", bottom))

    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
    for ax, metric, name, unit in (
        (axes[0], "id_sve", "SVE of the ID test features", "SVE (nats)"),
        (axes[1], "ood_lsvr", "LSVR of the OOD test features", "LSVR = −log(σ₁ / Σσ) (nats)"),
    ):
        x = _gamma_axis(ax, data)
        _dots(ax, x, data.table(probe, metric), scale=1.0)
        ax.set(title=name, ylabel=unit)
    text = (
        f"Backbone features (no head). Dots: mean; bars: {interval}; thin lines: one seed each. "
        "Higher SVE: flatter spectrum; higher LSVR: smaller share of the top singular value."
    )
    bottom = _caption(fig, text)
    paths.append(_save(fig, out / "fig3_spectrum_vs_gamma.png", bottom))

    fig, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 3.8), squeeze=False)
    width = 100 * (min(np.diff(data.gammas)) if len(data.gammas) > 1 else 0.1) * 0.6
    for ax, (title, tasks, kind) in zip(axes[0], panels):
        x = _gamma_axis(ax, data)
        for i, m in enumerate(methods):
            off = (i - (len(methods) - 1) / 2) * width / max(1, len(methods))
            _dots(
                ax,
                x,
                data.table(m, f"{kind}_accuracy", tasks=tasks),
                color=f"C{i}",
                label=m,
                offset=off,
                seeds=False,
            )
        ax.set(title=title, ylabel="accuracy (%)")
    axes[0][0].legend(fontsize=8, title="head", title_fontsize=8)
    bottom = _caption(
        fig, f"Dots: mean; bars: {interval}. The heads' paired differences are in forest_heads.png."
    )
    paths.append(_save(fig, out / "fig5_methods_per_gamma.png", bottom))

    paths.append(_scatter(plt, data, probe, out / "fig_ood_vs_lsvr.png", verdicts))
    if verdicts:
        paths.append(_forest_claims(verdicts, out / "forest_claims.png", S, config))
    if "nmtune" in methods and len(methods) > 1:
        paths.append(_forest_heads(data, methods, out / "forest_heads.png", S))
    if "zero-shot" in data.methods and records:
        chance = "1 / (classes of the task)" if config.setup == "images" else None
        paths.append(_zero_shot(plt, data, records, out / "fig_zero_shot.png", interval, chance))
    return paths


def _scatter(plt, data, probe, path, verdicts):
    acc, lsvr = 100 * data.table(probe, "ood_accuracy"), data.table(probe, "ood_lsvr")
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    cmap = plt.get_cmap("viridis")
    for i, g in enumerate(data.gammas):
        color = cmap(i / max(1, len(data.gammas) - 1))
        ax.scatter(lsvr[i], acc[i], color=color, s=36, label=f"{100 * g:g} %", edgecolor="k", lw=0.4)
    v = next((v for v in verdicts if v.key == "ood-vs-lsvr-within-g"), None)
    if v is not None and math.isfinite(v.effect):
        ax.set_title(
            f"across models r = {v.details.get('across_models_r', math.nan):+.2f}; "
            f"within γ (partial) r = {v.effect:+.2f}",
            fontsize=9,
        )
    ax.set(xlabel="LSVR of the OOD features, −log(σ₁ / Σσ)", ylabel=f"OOD {probe.upper()} accuracy (%)")
    ax.legend(title="γ", fontsize=8, title_fontsize=8)
    bottom = _caption(fig, "One dot per backbone (noise rate × pre-training seed); colour: γ. The partial correlation "
                           "removes each γ's mean from both axes.", lines=2)  # fmt: skip
    return _save(fig, path, bottom)


def claim_panels(verdicts) -> list[dict]:
    """The forest-plot panels of a study's claims (:func:`nmtune.apps.study.forest.forest_plot`'s ``panels``).

    One panel per unit (accuracy points, slope per unit γ, correlation), one row per claim: effect and interval,
    raw and Holm decisions as the note, filled when decided after Holm.
    """
    groups = [("accuracy", "effect (accuracy points, %)", 100.0), ("per unit gamma", "slope per unit γ", 1.0),
              ("r", "partial correlation r", 1.0)]  # fmt: skip
    panels = []
    for units, xlabel, scale in groups:
        rows = [
            {
                "label": v.claim + (" (the claim: < 0)" if v.direction < 0 else ""),
                "effect": scale * v.effect,
                "lo": scale * v.lo,
                "hi": scale * v.hi,
                "note": f"p {v.p:.3f} ({v.raw}); Holm p {v.p_holm:.2f}: {v.holm}"
                if math.isfinite(v.p)
                else "not testable",
                "strong": v.holm != "inconclusive",
            }
            for v in verdicts
            if v.units == units
        ]
        if rows:
            panels.append({"xlabel": xlabel, "rows": rows})
    return panels


def _forest_claims(verdicts, path, S, config):
    from nmtune.apps.study.forest import forest_plot

    panels = claim_panels(verdicts)
    return forest_plot(
        panels,
        path,
        title=f"The paper's claims in the {config.setup} study ({config.objective})",
        caption="Dots: effect (positive = as the paper says, except where marked); lines: 95 % t-interval over the "
        f"{S} pre-training seeds, with test-sample variance for accuracy claims. Filled: decided after Holm's "
        "correction over the family; open: not.",
    )


def _forest_heads(data, methods, path, S):
    from nmtune.apps.study.forest import forest_plot
    from nmtune.apps.study.summary import UNIT, WITHIN
    from nmtune.report.aggregate import paired_differences

    panels = []
    for kind in ("id", "ood"):
        rows = []
        for base in [m for m in methods if m != "nmtune"]:
            cells = paired_differences(data.rows, "nmtune", base, f"{kind}_accuracy", unit=UNIT, within=WITHIN,
                                       ignore=("encoder",)) or {}  # fmt: skip
            for cell, d in sorted(cells.items(), key=lambda kv: dict(kv[0]).get("pretrain_noise", 0)):
                g = dict(cell).get("pretrain_noise", 0.0)
                label = f"NMTune − {base}, γ = {100 * g:g} %"
                note = f"{d['wins']}/{d['n']} seeds ahead"
                rows.append({"label": label, "effect": 100 * d["mean"], "lo": 100 * d["lo"], "hi": 100 * d["hi"],
                             "note": note})  # fmt: skip
        if rows:
            panels.append({"xlabel": f"{kind.upper()} accuracy difference (points, %)", "rows": rows})
    return forest_plot(
        panels,
        path,
        title="NMTune against the other heads, paired by backbone",
        caption="Per pre-training seed: the difference averaged over tasks, fractions and downstream seeds; lines: "
        f"95 % t-interval over the {S} seeds (test sets held fixed).",
    )


def _zero_shot(plt, data, records, path, interval, chance=None):
    fig, ax = plt.subplots(figsize=(6.4, 3.9))
    x = _gamma_axis(ax, data)
    kinds = {}
    for r in records:
        if r["config"]["method"] == "zero-shot":
            for name, d in r["domains"].items():
                kinds.setdefault(name, set()).add(d["kind"])
    for i, name in enumerate(kinds):
        t = data.domain_table(records, "zero-shot", name)
        off = (i - (len(kinds) - 1) / 2) * 0.35
        _dots(ax, x, t, color=f"C{i}", label=name, offset=off, seeds=False)
    ax.set(title="Zero-shot accuracy: the caption closest to each image", ylabel="zero-shot accuracy (%)")
    ax.set_ylim(0, None)
    ax.legend(fontsize=7, ncol=2, title="test domain", title_fontsize=7)
    chance = chance or "1/62 (1.6 %) on the glyph classes, 10 % on digits"
    text = f"No training data. Dots: mean; bars: {interval}. Chance: {chance}."
    return _save(fig, path, _caption(fig, text))
