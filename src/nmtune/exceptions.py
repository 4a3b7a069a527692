"""Exceptions raised by nmtune.

Every error names what was wrong, what was received and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["NMTuneError", "MissingDependencyError", "TrainingDivergedError", "unknown_name_error", "require"]


class NMTuneError(Exception):
    """Base class of the errors specific to nmtune."""


class MissingDependencyError(ImportError, NMTuneError):
    """An optional dependency is not installed."""


class TrainingDivergedError(ValueError, FloatingPointError, NMTuneError):
    """A head's training loss became NaN or infinite (unscaled features or too large a learning rate)."""


def unknown_name_error(kind: str, received: str, valid: Iterable[str]) -> ValueError:
    """Build a ``ValueError`` for an unknown name, listing the valid ones and a close match.

    Parameters
    ----------
    kind : str
        What the name names, e.g. ``"encoder"``.
    received : str
        The name given.
    valid : iterable of str
        Every accepted name.

    Returns
    -------
    ValueError
        Ready to raise.
    """
    valid = sorted(valid)
    close = difflib.get_close_matches(str(received), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {received!r}.{hint} Valid choices: {', '.join(map(repr, valid))}.")


def require(module: str, extra: str, purpose: str = ""):
    """Import an optional dependency lazily or fail with an install hint.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"matplotlib.pyplot"``.
    extra : str
        The nmtune extra that installs it, e.g. ``"plots"``.
    purpose : str, optional
        What it is needed for, quoted in the error.

    Returns
    -------
    module
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f" for {purpose}" if purpose else ""
        raise MissingDependencyError(
            f"{module!r} is needed{what} but is not installed ({exc}). "
            f"Install it with: pip install 'nmtune[{extra}]'"
        ) from exc
