"""``nmtune run --config grid.yaml``: run (or resume) an evaluation grid, then write its report."""

from __future__ import annotations

from nmtune._internal.config import list_presets
from nmtune.cli._types import positive_int


def register(subparsers) -> None:
    """Add the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run",
        help="run or resume an evaluation grid from a YAML config",
        description="Run every run of a grid that the results store does not hold yet (resumes after an "
        "interruption), print the results table and write the report. --config takes a YAML file or a "
        f"packaged preset ({', '.join(list_presets('nmtune.configs'))}).",
    )
    p.add_argument("--config", required=True, help="YAML grid file or preset name")
    p.add_argument("--store", default=None, help="override the results store path")
    p.add_argument("--report-dir", default=None, help="override the report folder")
    p.add_argument(
        "--n-jobs",
        "--jobs",  # the spelling of `nmtune study`; both work everywhere
        dest="n_jobs",
        type=positive_int,
        default=None,
        help="override the number of worker processes (--jobs is the same option)",
    )
    p.add_argument("--backend", choices=["local", "ray"], default=None, help="override the execution backend")
    p.add_argument("--no-report", action="store_true", help="skip the report")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.apps.run import run_config
    from nmtune.protocol.config import load_config

    cfg = load_config(args.config)
    changes = {
        k: v
        for k, v in {
            "store": args.store,
            "report_dir": args.report_dir,
            "n_jobs": args.n_jobs,
            "backend": args.backend,
        }.items()
        if v is not None
    }
    out = run_config(
        cfg.replace(**changes) if changes else cfg, progress=not args.no_progress, report=not args.no_report
    )
    return 1 if out["grid"].n_failed else 0
