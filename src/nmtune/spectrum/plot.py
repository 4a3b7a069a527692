"""Spectrum figure in the paper's three groups: the top 20 singular values, values 21-500, and the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmtune.exceptions import require

__all__ = ["plot_spectrum", "prepare_spectra", "GROUPS"]

#: (title, first index, end index) of the three panels, 0-based half-open ranges.
GROUPS = (("top 20", 0, 20), ("21-500", 20, 500), ("501-end", 500, None))


def prepare_spectra(spectra: dict, *, normalize: bool = False) -> dict[str, np.ndarray]:
    """The values :func:`plot_spectrum` draws: float64, sorted descending, divided by the sum if ``normalize``.

    An all-zero spectrum stays zero.

    Parameters
    ----------
    spectra : dict of str to array-like of float, shape (K,)
    normalize : bool

    Returns
    -------
    dict of str to numpy.ndarray, shape (K,)
    """
    if not isinstance(spectra, dict) or not spectra:
        raise ValueError("spectra must be a non-empty dict mapping a name to its singular values.")
    clean = {}
    for name, s in spectra.items():
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"spectrum {name!r} must be a non-empty 1-D array of finite values >= 0.")
        s = np.sort(s)[::-1]
        clean[str(name)] = s / s.sum() if normalize and s.sum() > 0 else s
    return clean


def plot_spectrum(
    spectra: dict, path, title: str | None = None, *, normalize: bool = False, ylabel: str | None = None
) -> Path:
    """Save a PNG with one line per spectrum in up to three panels (top 20, 21-500, rest).

    A panel is drawn only when some spectrum reaches it (no empty "501-end" panel for 500 values or fewer).

    Parameters
    ----------
    spectra : dict of str to array-like of float, shape (K,)
        Name -> singular values (any order; they are sorted descending).
    path : str or path-like
        Where to write the PNG; parent folders are created.
    title : str, optional
        Figure title.
    normalize : bool, default False
        Divide each spectrum by its sum (``p_i = s_i / sum s``, the quantity inside SVE) so that features of
        different scales are comparable.
    ylabel : str, optional
        Label of the value axis; by default ``"s_i / sum s"`` when ``normalize`` else ``"singular value s_i"``
        (pass one when the values were normalised before, e.g. ``"s_i / sum s"``).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    clean = prepare_spectra(spectra, normalize=normalize)
    matplotlib = require("matplotlib", "plots", "spectrum figures")
    matplotlib.use("Agg", force=False)
    plt = require("matplotlib.pyplot", "plots", "spectrum figures")

    longest = max(s.size for s in clean.values())
    groups = [g for g in GROUPS if g[1] < longest]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.7 * len(groups) + 0.6, 4.2), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, (label, a, b) in zip(axes, groups):
        drawn = False
        for name, s in clean.items():
            seg = s[a:b]
            if seg.size == 0:
                continue
            idx = np.arange(a + 1, a + 1 + seg.size)
            ax.plot(idx, seg, marker="o" if seg.size <= 40 else None, markersize=3, linewidth=1.4, label=name)
            drawn = True
        ax.set_title(f"singular values {label}")
        ax.set_xlabel("index i")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if a > 0 and drawn and any(np.any(s[a:b] > 0) for s in clean.values()):
            ax.set_yscale("log")  # the tail spans orders of magnitude; zeros are left out of a log axis
            # values below 1e-9 sigma_1 are rounding-level zeros: keep them from squashing the axis
            floor = 1e-9 * max(float(s[0]) for s in clean.values())
            lowest = min(float(s[a:b][s[a:b] > 0].min()) for s in clean.values() if np.any(s[a:b] > 0))
            if lowest < floor:
                ax.set_ylim(bottom=floor)
        if not drawn:
            ax.text(
                0.5,
                0.5,
                f"no singular values here\n(longest spectrum: {longest})",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
            ax.set_xticks([])
            ax.set_yticks([])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel or ("s_i / sum s" if normalize else "singular value s_i"))
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)
    return out
