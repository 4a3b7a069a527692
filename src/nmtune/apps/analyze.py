"""Spectrum analysis of feature files: metrics and singular values as JSON, plus the figure (overlaid)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nmtune._internal.files import atomic_write_text, ensure_folder
from nmtune.spectrum.metrics import metrics_from_singular_values
from nmtune.spectrum.svd import singular_values

__all__ = ["analyze_feature_file", "analyze_feature_files"]


def analyze_feature_file(
    path,
    out_dir,
    *,
    label_column: str | None = None,
    center: bool = False,
    normalize_rows: bool = False,
    method: str = "auto",
    plot: bool = True,
    progress: bool = False,
) -> dict:
    """Compute the spectrum of a feature file and write ``spectrum.json`` (and ``spectrum.png``).

    Parameters
    ----------
    path : str or path-like
        Feature file (``.npy``, ``.npz``, ``.csv``, ``.parquet``; see :func:`nmtune.feature_files.load_feature_file`).
    out_dir : str or path-like
        Output folder (created).
    label_column : str, optional
        Label column/key, excluded from the features.
    center, normalize_rows : bool, default False
        Pre-processing, as in :func:`nmtune.spectrum.singular_values`.
    method : str, default "auto"
        Singular-value method.
    plot : bool, default True
        Also write ``spectrum.png`` (needs ``nmtune[plots]``).
    progress : bool, default False
        Progress bar over chunks.

    Returns
    -------
    dict
        The metrics of :func:`nmtune.spectrum.spectrum_metrics` plus ``source``, ``n_labels`` (number of
        distinct labels or None), ``method`` and the paths written (``json``, ``png``).
    """
    out = ensure_folder(out_dir, "output folder (--out)")  # before the work: a file in the way fails now
    metrics, s = _spectrum(path, label_column, center, normalize_rows, method, progress)
    metrics["json"] = _write_json(out / "spectrum.json", metrics, s)
    metrics["png"] = None
    if plot:
        from nmtune.spectrum.plot import plot_spectrum

        title = f"{Path(path).name}: N={metrics['n_samples']}, D={metrics['dim']}{_options(center, normalize_rows)}"
        metrics["png"] = str(plot_spectrum({Path(path).stem: s}, out / "spectrum.png", title=title))
    return metrics


def _spectrum(path, label_column, center, normalize_rows, method, progress) -> tuple[dict, np.ndarray]:
    """Metrics (without output paths) and singular values (K,) of one feature file."""
    from nmtune.feature_files import load_feature_file

    X, y = load_feature_file(path, label_column=label_column)
    s = singular_values(X, center=center, normalize_rows=normalize_rows, method=method, progress=progress)
    metrics = {
        **metrics_from_singular_values(s),
        "n_samples": int(X.shape[0]),
        "dim": int(X.shape[1]),
        "center": bool(center),
        "normalize_rows": bool(normalize_rows),
        "method": method,
        "source": str(path),
        "n_labels": None if y is None else int(np.unique(y).size),
    }
    return metrics, s


def _write_json(path: Path, metrics: dict, s: np.ndarray) -> str:
    atomic_write_text(path, json.dumps({**metrics, "singular_values": s.tolist()}, indent=2))
    return str(path)


def _options(center: bool, normalize_rows: bool) -> str:
    return "".join([", centred" if center else "", ", rows L2-normalised" if normalize_rows else ""])


def analyze_feature_files(
    paths,
    out_dir,
    *,
    label_column: str | None = None,
    center: bool = False,
    normalize_rows: bool = False,
    method: str = "auto",
    plot: bool = True,
    progress: bool = False,
) -> list[dict]:
    """Spectra of several feature files, overlaid in one figure (e.g. one encoder at several noise ratios).

    One file behaves exactly like :func:`analyze_feature_file`. With several, each file gets
    ``spectrum-<stem>.json`` and ``spectrum.png`` overlays them, each divided by its sum (``s_i / sum s``, the
    quantity inside SVE) so that features of different scales compare.

    Parameters
    ----------
    paths : sequence of str or path-like
        Feature files; the same pre-processing applies to all.
    out_dir, label_column, center, normalize_rows, method, plot, progress
        As in :func:`analyze_feature_file`.

    Returns
    -------
    list of dict
        One metrics dict per file, in order (``png`` is the shared figure).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("Give at least one feature file.")
    if len(paths) == 1:
        kw = dict(label_column=label_column, center=center, normalize_rows=normalize_rows, method=method)
        return [analyze_feature_file(paths[0], out_dir, plot=plot, progress=progress, **kw)]
    stems = [p.stem for p in paths]
    names = [f"{i + 1}-{st}" if stems.count(st) > 1 else st for i, st in enumerate(stems)]
    out = ensure_folder(out_dir, "output folder (--out)")
    results, spectra = [], {}
    for path, name in zip(paths, names):
        metrics, spectra[name] = _spectrum(path, label_column, center, normalize_rows, method, progress)
        metrics["json"] = _write_json(out / f"spectrum-{name}.json", metrics, spectra[name])
        metrics["png"] = None
        results.append(metrics)
    if plot:
        from nmtune.spectrum.plot import plot_spectrum

        title = f"{len(paths)} feature files{_options(center, normalize_rows)}"
        png = str(plot_spectrum(spectra, out / "spectrum.png", title=title, normalize=True))
        for m in results:
            m["png"] = png
    return results
