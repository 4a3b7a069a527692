"""Forest plots: one row per effect (a claim, a pair of heads, a source), its interval and a zero line."""

from __future__ import annotations

import math
from pathlib import Path

from nmtune.exceptions import require

__all__ = ["forest_plot"]


def forest_plot(panels, path, *, title: str, caption: str, width: float = 9.0):
    """Draw one or more forest panels, each with its own x axis (its own units), and save a PNG.

    Parameters
    ----------
    panels : list of dict
        ``{"xlabel": str, "rows": [{"label", "effect", "lo", "hi", "note" (optional, printed at the right),
        "strong" (optional bool: filled marker)}]}``; rows are drawn top to bottom in order. A row without a finite
        interval is drawn as its point alone.
    path : path
        The PNG.
    title : str
        Figure title.
    caption : str
        Text under the figure (what the interval is, the unit of replication).
    width : float
        Figure width in inches; widened when the labels and notes need it, so that the plotting area keeps at
        least about 4 inches (long claim labels and notes otherwise squeeze it to nothing).

    Returns
    -------
    Path
    """
    matplotlib = require("matplotlib", "plots", "the study figures")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [max(1, len(p["rows"])) for p in panels]
    rows_all = [r for p in panels for r in p["rows"]]
    chars = max((len(r["label"]) for r in rows_all), default=0) + max(
        (len(r.get("note", "")) for r in rows_all), default=0
    )
    width = max(width, 4.5 + 0.066 * chars)  # ~0.066 in per character at 8-8.5 pt
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(width, 0.42 * sum(heights) + 1.3 * len(panels) + 0.9),
        gridspec_kw={"height_ratios": heights}, squeeze=False,
    )  # fmt: skip
    for ax, panel in zip(axes[:, 0], panels):
        rows = panel["rows"]
        ys = list(range(len(rows)))[::-1]
        for y, r in zip(ys, rows):
            e, lo, hi = r["effect"], r.get("lo", math.nan), r.get("hi", math.nan)
            if math.isfinite(lo) and math.isfinite(hi):
                ax.plot([lo, hi], [y, y], color="0.25", lw=1.6, solid_capstyle="butt")
            if math.isfinite(e):
                ax.plot(
                    [e],
                    [y],
                    "o",
                    ms=7,
                    color="C0",
                    markerfacecolor="C0" if r.get("strong") else "white",
                    mew=1.6,
                )
        ax.axvline(0.0, color="C3", lw=1, ls="--")
        ax.set_yticks(ys, [r["label"] for r in rows], fontsize=8.5)
        ax.set_xlabel(panel["xlabel"], fontsize=9)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        lo_all = [r.get("lo", r["effect"]) for r in rows] + [r["effect"] for r in rows] + [0.0]
        hi_all = [r.get("hi", r["effect"]) for r in rows] + [r["effect"] for r in rows] + [0.0]
        finite = [v for v in lo_all + hi_all if math.isfinite(v)]
        span = (max(finite) - min(finite)) or 1.0
        ax.set_xlim(min(finite) - 0.05 * span, max(finite) + 0.05 * span)
        notes = [r.get("note", "") for r in rows]
        if any(notes):
            ax2 = ax.twinx()
            ax2.set_ylim(ax.get_ylim())
            ax2.set_yticks(ys, notes, fontsize=8)
            ax2.tick_params(length=0)
        ax.grid(axis="x", color="0.9")
    fig.suptitle(title, fontsize=11)
    fig.text(0.01, 0.005, caption, fontsize=7.5, va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.05 + 0.012 * caption.count("\n"), 1, 0.97))
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
