"""Figures of the noisy pre-training study (analogues of the paper's Figures 2, 3 and 5), with 95 % CIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmtune.apps.study.verdict import mean_ci
from nmtune.exceptions import require

__all__ = ["write_figures"]


def _series(table: dict):
    gammas = sorted(table)
    stats = [mean_ci(table[g]) for g in gammas]
    m = np.array([s[0] for s in stats])
    lo = np.array([s[1] for s in stats])
    hi = np.array([s[2] for s in stats])
    return 100 * np.array(gammas), m, np.nan_to_num(m - lo), np.nan_to_num(hi - m)


def _line(ax, table, label):
    x, m, el, eh = _series(table)
    ax.errorbar(x, m, yerr=[el, eh], marker="o", capsize=3, label=label)


def write_figures(summary: dict, out_dir, methods=("lp", "mlp", "nmtune")) -> list[Path]:
    """Write ``fig2_lp_vs_gamma.png``, ``fig3_spectrum_vs_gamma.png`` and ``fig5_methods_per_gamma.png``.

    Parameters
    ----------
    summary : dict
        ``summary[key][gamma] -> values over seeds`` from :func:`nmtune.pretrain.study.summarise`.
    out_dir : path
        Folder for the PNG files.
    methods : sequence of str
        The heads of Figure 5, in this order (those without a ``id_<method>`` summary are left out).

    Returns
    -------
    list of Path
        The files written.
    """
    matplotlib = require("matplotlib", "plots", "the study figures")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, title in ((axes[0], "id_lp", "ID"), (axes[1], "ood_lp", "OOD")):
        if key in summary:
            _line(ax, summary[key], "LP")
        ax.set(title=f"{title} LP accuracy", xlabel="pre-training noise (%)", ylabel="accuracy")
    fig.tight_layout()
    paths.append(out / "fig2_lp_vs_gamma.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, title in (
        (axes[0], "sve_id", "SVE (ID features)"),
        (axes[1], "lsvr_ood", "LSVR (OOD features)"),
    ):
        if key in summary:
            _line(ax, summary[key], title)
        ax.set(title=title, xlabel="pre-training noise (%)")
    fig.tight_layout()
    paths.append(out / "fig3_spectrum_vs_gamma.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, kind in zip(axes, ("id", "ood")):
        shown = [m for m in methods if f"{kind}_{m}" in summary]
        gammas = sorted(summary.get(f"{kind}_lp", {}))
        width = 0.8 / max(len(shown), 1)
        for i, m in enumerate(shown):
            _, mean, el, eh = _series(summary[f"{kind}_{m}"])
            ax.bar(np.arange(len(gammas)) + i * width, mean, width, yerr=[el, eh], capsize=2, label=m.upper())
        ax.set_xticks(
            np.arange(len(gammas)) + width * (len(shown) - 1) / 2, [f"{100 * g:g}%" for g in gammas]
        )
        ax.set(title=f"{kind.upper()} accuracy per method", xlabel="pre-training noise", ylabel="accuracy")
        if shown:
            lo = min(min(summary[f"{kind}_{m}"][g]) for m in shown for g in gammas)
            ax.set_ylim(max(0.0, lo - 0.05), None)
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "fig5_methods_per_gamma.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
