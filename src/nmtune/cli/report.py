"""``nmtune report --store FILE --out DIR``: Markdown/HTML tables and PNG figures from a results store."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="build the report of a results store",
        description="Write report.md, report.html and PNG figures for a results store.",
    )
    p.add_argument("--store", required=True, help="SQLite results store")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-figures", action="store_true", help="tables only (no matplotlib needed)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys
    from pathlib import Path

    from nmtune.report import build_report

    if not Path(args.store).exists():
        raise FileNotFoundError(
            f"No results store at {args.store!r}; run a grid first (nmtune run --config ...)."
        )
    paths = build_report(args.store, args.out, figures=not args.no_figures)
    if paths.skipped:
        print(
            f"nmtune report: {len(paths.skipped)} stored record(s) could not be read and are left out of the report: "
            f"runs {', '.join(paths.skipped)}. Delete them from the store and re-run the grid to recompute them.",
            file=sys.stderr,
        )
    print(f"wrote {paths.markdown}, {paths.html} and {len(paths.figures)} figures")
    return 0
