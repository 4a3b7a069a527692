"""The ``nmtune`` command line: a thin layer over the Python API.

Each module in this package that defines ``register(subparsers)`` adds one subcommand; the subcommand's
handler (set with ``parser.set_defaults(func=...)``) takes the parsed ``argparse.Namespace`` and returns an exit
code. Adding a command is adding a module: nothing here needs editing.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand found in :mod:`nmtune.cli`."""
    from nmtune import __version__

    parser = argparse.ArgumentParser(
        prog="nmtune", description="Noisy Model Learning: tune frozen features and analyse their spectrum."
    )
    parser.add_argument("--version", action="version", version=f"nmtune {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import signal

    def _on_sigterm(signum, frame):  # a kill ends the command like Ctrl-C: workers stopped, results kept
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(
            f"nmtune {args.command}: interrupted; finished work is kept (re-run to resume).", file=sys.stderr
        )
        return 130
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"nmtune {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
