"""Results store: SQLite, one row per run, crash-safe and resumable."""

from nmtune.results.store import INDEXED_COLUMNS, ResultsStore

__all__ = ["INDEXED_COLUMNS", "ResultsStore"]
