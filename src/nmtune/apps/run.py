"""``nmtune run`` and ``nmtune demo``: run a grid configuration, build its report, print the results table.

The demo is the packaged preset ``demo`` (the main job on the embedded default encoders and suites).
"""

from __future__ import annotations

import time
from pathlib import Path

from nmtune.protocol.config import load_config

__all__ = ["run_demo", "run_config"]

# columns of the report's results table left out of the console table (it keeps every setting column)
_NOT_ON_CONSOLE = ("OOD LSVR",)


def run_config(config, *, progress: bool = True, report: bool = True, echo=print) -> dict:
    """Run a grid configuration, build its report and print the results table.

    Parameters
    ----------
    config : GridConfig
        The grid (its ``store`` and ``report_dir`` say where results go).
    progress : bool
        Progress bars.
    report : bool
        Build the report into ``config.report_dir`` (when set).
    echo : callable
        Where the table and paths are printed.

    Returns
    -------
    dict
        ``grid`` (GridResult), ``report`` (ReportPaths or None), ``seconds``.
    """
    from nmtune.protocol.grid import run_grid
    from nmtune.report import build_report, results_table, unit_rows
    from nmtune.results import ResultsStore

    t0 = time.perf_counter()
    result = run_grid(config, progress=progress)
    with ResultsStore(config.store) as st:
        ids = set(result.run_ids)
        records = [r for r in st.records(errors="skip") if r["run_id"] in ids]
        failures = [r for r in st.records(status="failed", errors="skip") if r["run_id"] in ids]
        head, body = results_table(unit_rows(records))
        paths = build_report(st, config.report_dir) if report and config.report_dir else None
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(head)]
    keep = [i for i, name in enumerate(head) if name not in _NOT_ON_CONSOLE]
    echo("  ".join(head[i].ljust(widths[i]) for i in keep))
    for r in body:
        echo("  ".join(r[i].ljust(widths[i]) for i in keep))
    seconds = time.perf_counter() - t0
    echo(
        f"{result.n_done} runs done now, {result.n_skipped} already stored, {result.n_failed} failed; "
        f"{seconds:.0f} s. Results store: {Path(config.store).resolve()}"
    )
    if paths:
        echo(f"Report: {paths.markdown.resolve()} and {paths.html.resolve()} ({len(paths.figures)} figures)")
    if failures:
        echo(_failure_summary(failures))
    return {"grid": result, "report": paths, "seconds": seconds}


def _failure_summary(failures: list[dict]) -> str:
    """The reasons of failed runs, grouped (the whole traceback stays in the store)."""
    reasons: dict[str, list[str]] = {}
    for r in failures:
        first = str(r.get("error") or "unknown error").strip().splitlines()[0]
        cfg = r.get("config", {})
        reasons.setdefault(first, []).append(f"{cfg.get('task')}/{cfg.get('method')}/seed {cfg.get('seed')}")
    lines = [f"{len(failures)} run(s) failed:"]
    for reason, runs in reasons.items():
        more = f" and {len(runs) - 3} more" if len(runs) > 3 else ""
        lines.append(f"  {reason}  ({len(runs)} run(s): {', '.join(runs[:3])}{more})")
    lines.append("Each failed run's traceback is in the store (ResultsStore(path).records(status='failed')).")
    return "\n".join(lines)


def run_demo(
    out_dir: str | Path = "nmtune-demo", *, n_jobs: int | None = None, progress: bool = True, echo=print
) -> dict:
    """Run the demo grid (preset ``demo``) into ``out_dir`` (store ``results.sqlite``, folder ``report``).

    Parameters
    ----------
    out_dir : path
        Output folder.
    n_jobs : int, optional
        Worker processes (default: the preset's).
    progress : bool
        Progress bars.
    echo : callable
        Where the table and paths are printed.

    Returns
    -------
    dict
        As :func:`run_config`.
    """
    out = Path(out_dir)
    cfg = load_config("demo")
    changes = {"store": str(out / "results.sqlite"), "report_dir": str(out / "report")}
    if n_jobs is not None:
        changes["n_jobs"] = n_jobs
    return run_config(cfg.replace(**changes), progress=progress, echo=echo)
