"""Draw docs/figures/glyphs.png: sample glyphs of each font family, as the datasets render them.

Top block: downstream classes (``glyphs-id`` in the DejaVu families, ``glyphs-ood:<family>`` in STIX and
Computer Modern), one row per family. Bottom block: pre-training classes (``glyphs-pretrain``), one row per
DejaVu family. Each cell is one augmented 32 x 32 sample (the column's position cycles through the styles:
regular, bold, italic/oblique, bold italic).

Usage: ``PYTHONPATH=src python scripts/figure_glyphs.py [--out docs/figures/glyphs.png]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nmtune.datasets.glyphs import (  # noqa: E402
    HELD_OUT_FAMILIES,
    PRETRAIN_FAMILIES,
    class_name,
    glyph_classes,
    render_glyphs,
)

DOWNSTREAM = "AaBbEeGgQqRr3579"
N_COLUMNS = len(DOWNSTREAM)


def _row(code_points, family, split="test"):
    """One sample per class, the k-th drawn in style k mod S."""
    n = N_COLUMNS
    images, _ = render_glyphs(code_points, family, n, split)
    return [images[k * n + k] for k in range(len(code_points))]


def main(out: Path) -> None:
    """Render the grid and save it to ``out``."""
    classes = glyph_classes()
    down = [ord(c) for c in DOWNSTREAM]
    idx = np.linspace(0, len(classes.pretrain) - 1, N_COLUMNS).round().astype(int)
    pre = [classes.pretrain[i] for i in idx]
    rows = [(f, _row(down, f), down) for f in PRETRAIN_FAMILIES + HELD_OUT_FAMILIES]
    rows += [None]  # spacer holding the second heading
    rows += [(f, _row(pre, f), pre) for f in PRETRAIN_FAMILIES]
    fig, axes = plt.subplots(
        len(rows),
        N_COLUMNS,
        figsize=(N_COLUMNS * 0.9, len(rows) * 1.05),
        gridspec_kw={"height_ratios": [0.35 if row is None else 1 for row in rows]},
    )
    for r, row in enumerate(rows):
        if row is None:
            for ax in axes[r]:
                ax.axis("off")
            heading = f"pre-training classes: glyphs-pretrain ({len(classes.pretrain)} classes, DejaVu only)"
            axes[r, 0].text(-1.6, -0.2, heading, fontsize=11, transform=axes[r, 0].transAxes)
            continue
        family, images, cps = row
        for c, (img, cp) in enumerate(zip(images, cps)):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{chr(cp)} U+{cp:04X}", fontsize=7, pad=2)
        held = "\n(held out)" if family in HELD_OUT_FAMILIES else ""
        axes[r, 0].set_ylabel(family + held, fontsize=9, rotation=0, ha="right", va="center")
    heading = "downstream classes: glyphs-id (DejaVu) and glyphs-ood:<stix|cm> (held-out families)"
    fig.text(0.01, 0.985, heading, fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.995, top=0.95, bottom=0.01, hspace=0.4, wspace=0.08)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}; example class name: {class_name(pre[3])!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures/glyphs.png"))
    main(parser.parse_args().out)
