"""Argument types shared by the subcommands (argparse turns their ValueError into a usage error)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1, for counts such as --batch-size, --shard-size and --n-jobs."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; received {value}")
    return value
