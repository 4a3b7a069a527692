"""SQLite results store: one file, one row per run, each run committed in one transaction.

The run id (a hash of the run's configuration) is the primary key, so a run is stored at most once;
re-running a
grid skips the ids already ``done``. The database runs in WAL mode with ``synchronous=FULL``: a process
killed at
any moment (even SIGKILL during a commit) leaves the file consistent and loses at most the run in progress.
Only one process (the grid's driver) writes; readers may open the file concurrently.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["ResultsStore", "INDEXED_COLUMNS"]

#: Configuration fields copied into their own indexed columns (the rest stays in the JSON).
INDEXED_COLUMNS = ("encoder", "suite", "task", "method", "selection", "fraction", "seed", "noise")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    encoder TEXT NOT NULL,
    suite TEXT NOT NULL,
    task TEXT NOT NULL,
    method TEXT NOT NULL,
    selection TEXT NOT NULL,
    fraction REAL NOT NULL,
    seed INTEGER NOT NULL,
    noise REAL NOT NULL,
    id_accuracy REAL,
    ood_accuracy REAL,
    fit_seconds REAL,
    finished_at REAL NOT NULL,
    config TEXT NOT NULL,
    record TEXT NOT NULL,
    spectra TEXT
);
CREATE INDEX IF NOT EXISTS runs_grid ON runs (encoder, suite, method, fraction, seed);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_store_path(path: Path, *, create: bool) -> None:
    """Refuse folders, foreign files and (unless ``create``) missing or empty stores, before sqlite touches them."""
    if path.is_dir():
        raise IsADirectoryError(
            f"The results store {str(path)!r} is a folder; give a file path such as {str(path / 'results.sqlite')!r}."
        )
    size = path.stat().st_size if path.exists() else 0
    if size:
        with open(path, "rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                raise ValueError(
                    f"{str(path)!r} is not an nmtune results store (not an SQLite file); point --store / store: "
                    "at the results.sqlite a grid wrote, or at a new path."
                )
    elif not create:
        raise ValueError(
            f"No results store at {str(path)!r} ({'empty file' if path.exists() else 'missing'}); run a grid first "
            "(nmtune run --config ...), then report its store."
        )


class ResultsStore:
    """A results store backed by one SQLite file.

    Parameters
    ----------
    path : str or path-like
        The database file (created with its parent folders when missing).

    Examples
    --------
    >>> store = ResultsStore(tmp / "results.sqlite")  # doctest: +SKIP
    >>> store.put(record); store.done_ids()  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        _check_store_path(self.path, create=create)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"Cannot use {str(self.path)!r} as a results store ({exc}). Give a writable .sqlite path in a "
                "writable folder (store: in the grid YAML, --store on the command line)."
            ) from exc

    # -- writing -------------------------------------------------------------------------------------------
    def put(self, record: dict[str, Any]) -> None:
        """Insert or replace one run record in a single transaction.

        Parameters
        ----------
        record : dict
            As returned by :func:`nmtune.protocol.run_one`: needs ``run_id``, ``config`` and ``status``.
        """
        for key in ("run_id", "config", "status"):
            if key not in record:
                raise ValueError(f"A run record needs the key {key!r}; received keys {sorted(record)}.")
        cfg = record["config"]
        missing = [c for c in INDEXED_COLUMNS if c not in cfg]
        if missing:
            raise ValueError(f"The run config lacks {missing}; received keys {sorted(cfg)}.")
        body = {k: v for k, v in record.items() if k != "spectra"}
        row = (
            record["run_id"],
            record["status"],
            *(cfg[c] for c in INDEXED_COLUMNS),
            record.get("id_accuracy"),
            record.get("ood_accuracy"),
            record.get("fit_seconds"),
            record.get("finished_at", time.time()),
            json.dumps(cfg, sort_keys=True),
            json.dumps(body, sort_keys=True),
            json.dumps(record["spectra"]) if record.get("spectra") is not None else None,
        )
        with self._transaction() as cur:
            cur.execute(f"INSERT OR REPLACE INTO runs VALUES ({', '.join('?' * len(row))})", row)

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (e.g. the grid configuration last run)."""
        with self._transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self_inner):
                conn.execute("BEGIN IMMEDIATE")
                return conn.cursor()

            def __exit__(self_inner, exc_type, exc, tb):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")
                return False

        return _Tx()

    # -- reading -------------------------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        """Run ids whose status is ``done`` (these are skipped when a grid is run again)."""
        return {r[0] for r in self._conn.execute("SELECT run_id FROM runs WHERE status = 'done'")}

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def records(self, *, status: str | None = "done", spectra: bool = False, **where: Any) -> list[dict]:
        """Stored records, optionally filtered on indexed columns (``method="nmtune"``).

        Parameters
        ----------
        status : str or None
            Keep only this status (``None``: all).
        spectra : bool
            Also load the stored singular-value spectra (key ``spectra``).
        **where
            Equality filters on :data:`INDEXED_COLUMNS`.

        Returns
        -------
        list of dict
            In insertion order.
        """
        bad = [k for k in where if k not in INDEXED_COLUMNS]
        if bad:
            raise ValueError(f"Cannot filter on {bad}; filterable columns: {', '.join(INDEXED_COLUMNS)}.")
        clauses, args = [], []
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        for k, v in where.items():
            clauses.append(f"{k} = ?")
            args.append(v)
        sql = "SELECT record, spectra FROM runs" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        out = []
        for body, spec in self._conn.execute(sql + " ORDER BY rowid", args):
            rec = json.loads(body)
            if spectra:
                rec["spectra"] = json.loads(spec) if spec else {}
            out.append(rec)
        return out

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records(status=None))

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        return dict(self._conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when the file is sound)."""
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    def delete(self, run_ids: Iterable[str]) -> int:
        """Remove runs (e.g. to recompute them); returns how many rows were deleted."""
        ids = list(run_ids)
        with self._transaction() as cur:
            return sum(cur.execute("DELETE FROM runs WHERE run_id = ?", (i,)).rowcount for i in ids)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
