"""``nmtune demo``: the main job (MiniLM on 20ng-subgroups and R8, EfficientNet-Lite0 on digits)."""

from __future__ import annotations

from nmtune.cli._types import positive_int


def register(subparsers) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="run the main job on the embedded default encoders and suites",
        description="LP, MLP, NMTune and tuned logistic regression, 3 seeds, on MiniLM / 20ng-subgroups "
        "and R8 "
        "and EfficientNet-Lite0 / digits (per-domain caps: see docs/protocol.md). Prints the results "
        "table and "
        "writes the store and report under --out. A second run reuses cached features and stored runs.",
    )
    p.add_argument("--out", default="nmtune-demo", help="output folder (default: ./nmtune-demo)")
    p.add_argument(
        "--n-jobs",
        "--jobs",
        dest="n_jobs",
        type=positive_int,
        default=None,
        help="worker processes (default 2; --jobs is the same option)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.apps.run import run_demo

    out = run_demo(args.out, n_jobs=args.n_jobs, progress=not args.no_progress)
    return 1 if out["grid"].n_failed else 0
