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
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nmtune._internal.files import check_folder_path, ensure_folder

__all__ = ["ResultsStore", "INDEXED_COLUMNS", "ReadOnlyStoreError", "CorruptRecordError"]

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
#: ``PRAGMA application_id`` of an nmtune results store ("NMTU"): marks the file as ours.
APPLICATION_ID = 0x4E4D5455
_OUR_TABLES = {"runs", "meta"}
_RUN_COLUMNS = {"run_id", "status", "config", "record"}


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


def _writable(path: Path) -> bool:
    """Whether the store file (or, for a new one, its nearest existing folder) can be written."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK | os.X_OK)


def _foreign(conn: sqlite3.Connection) -> str | None:
    """Why an existing SQLite file is not an nmtune store (``None`` when it is one or is empty)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id == APPLICATION_ID or not tables:
        return None
    if app_id:
        return f"it belongs to another application (application_id {app_id:#x}; tables {sorted(tables)})"
    if not tables <= _OUR_TABLES:
        return f"it holds tables of another application: {sorted(tables - _OUR_TABLES)}"
    if "runs" in tables:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        if not _RUN_COLUMNS <= columns:
            return f"its table 'runs' lacks the columns {sorted(_RUN_COLUMNS - columns)} of an nmtune store"
    return None  # a store written before stores were marked


class CorruptRecordError(ValueError):
    """A stored run record that cannot be read (edited, truncated or written by something else)."""


def _parse_json(text):
    if not isinstance(text, str | bytes):
        raise TypeError(f"a {type(text).__name__} where JSON text was expected")
    return json.loads(text)


def _parse_record(body) -> dict:
    """A stored record, checked to be a run record (a JSON object with its config)."""
    rec = _parse_json(body)
    if not isinstance(rec, dict) or not isinstance(rec.get("config"), dict):
        raise ValueError("not a run record: a JSON object with a 'config' object was expected")
    missing = [c for c in INDEXED_COLUMNS if c not in rec["config"]]
    if missing:
        raise ValueError(f"its config lacks {missing}")
    return rec


class ReadOnlyStoreError(PermissionError):
    """A write to a results store that can only be read (its file or folder is not writable)."""


class ResultsStore:
    """A results store backed by one SQLite file.

    Parameters
    ----------
    path : str or path-like
        The database file (created with its parent folders when missing).
    create : bool
        Create the store when the file is missing or empty (else an error saying to run a grid first).
    readonly : bool, optional
        Open for reading only. Default: read-only exactly when the file (or its folder) is not writable; reading
        then works (``nmtune report``, a grid whose runs are all stored) and every write raises a
        :class:`ReadOnlyStoreError` saying what to do.

    An SQLite file of another application is refused (nmtune never adds its tables to it): a store is marked
    with ``PRAGMA application_id`` when created.

    Examples
    --------
    >>> store = ResultsStore(tmp / "results.sqlite")  # doctest: +SKIP
    >>> store.put(record); store.done_ids()  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool | None = None):
        self.path = Path(path)
        self.skipped: list[str] = []  # run ids of unreadable records the last records(errors="skip") left out
        _check_store_path(self.path, create=create)
        check_folder_path(self.path.parent, "folder of the results store")
        self.readonly = (not _writable(self.path)) if readonly is None else bool(readonly)
        if self.readonly and not (self.path.exists() and self.path.stat().st_size):
            raise ReadOnlyStoreError(
                f"Cannot create the results store {str(self.path)!r}: its folder is not writable. Give a path in a "
                "writable folder (store: in the grid YAML, --store on the command line)."
            )
        try:
            self._conn = self._open_readonly() if self.readonly else self._open_writable()
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"Cannot use {str(self.path)!r} as a results store ({exc}). Give a writable .sqlite path in a "
                "writable folder (store: in the grid YAML, --store on the command line)."
            ) from exc

    def _open_writable(self) -> sqlite3.Connection:
        ensure_folder(self.path.parent, "folder of the results store")
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            self._refuse_foreign(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_readonly(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        last = None
        for options in ("mode=ro", "mode=ro&immutable=1"):  # immutable: a WAL file cannot be opened beside it
            conn = sqlite3.connect(f"{uri}?{options}", uri=True, timeout=30.0, isolation_level=None)
            try:
                self._refuse_foreign(conn)
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "runs" not in tables:
                    raise ValueError(
                        f"{str(self.path)!r} holds no runs table; it is not an nmtune results store."
                    )
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                last = exc
            except BaseException:
                conn.close()
                raise
        raise sqlite3.DatabaseError(f"cannot open it read-only: {last}")

    def _refuse_foreign(self, conn: sqlite3.Connection) -> None:
        why = _foreign(conn)
        if why:
            raise ValueError(
                f"{str(self.path)!r} is an SQLite database but not an nmtune results store: {why}. nmtune will not "
                "add its tables to it; point --store / store: at a new path (e.g. results.sqlite)."
            )

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

    @contextmanager
    def _transaction(self):
        """One write transaction; a read-only store or an SQLite failure is an ``OSError`` naming the store."""
        if self.readonly:
            raise ReadOnlyStoreError(
                f"The results store {str(self.path)!r} is read-only (the file or its folder is not writable), so "
                "nothing can be stored in it. Make it writable, or copy it to a writable place and point --store / "
                "store: at the copy."
            )
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise OSError(f"Cannot write to the results store {str(self.path)!r}: {exc}.") from exc
        try:
            yield conn.cursor()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise OSError(f"Cannot write to the results store {str(self.path)!r}: {exc}.") from exc

    # -- reading -------------------------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        """Run ids whose status is ``done`` (these are skipped when a grid is run again)."""
        return {r[0] for r in self._query("SELECT run_id FROM runs WHERE status = 'done'")}

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        row = rows[0] if rows else None
        return json.loads(row[0]) if row else default

    def records(
        self, *, status: str | None = "done", spectra: bool = False, errors: str = "raise", **where: Any
    ) -> list[dict]:
        """Stored records, optionally filtered on indexed columns (``method="nmtune"``).

        Parameters
        ----------
        status : str or None
            Keep only this status (``None``: all).
        spectra : bool
            Also load the stored singular-value spectra (key ``spectra``).
        errors : {"raise", "skip"}
            A record that cannot be read (invalid JSON, not a run record) raises a :class:`CorruptRecordError`
            naming its run id, or is skipped and its run id added to :attr:`skipped`.
        **where
            Equality filters on :data:`INDEXED_COLUMNS`.

        Returns
        -------
        list of dict
            In insertion order.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip'; received {errors!r}.")
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
        sql = "SELECT run_id, record, spectra FROM runs" + (
            f" WHERE {' AND '.join(clauses)}" if clauses else ""
        )
        out = []
        self.skipped = []
        for run_id, body, spec in self._query(sql + " ORDER BY rowid", args):
            try:
                rec = _parse_record(body)
                if spectra:
                    rec["spectra"] = _parse_json(spec) if spec else {}
            except (ValueError, TypeError) as exc:
                if errors == "raise":
                    raise CorruptRecordError(
                        f"The record of run {run_id!r} in the results store {str(self.path)!r} cannot be read "
                        f"({exc}). Delete it (ResultsStore(path).delete([{run_id!r}])) and re-run the grid to "
                        "recompute it, or build the report without it (nmtune report skips unreadable records)."
                    ) from exc
                self.skipped.append(str(run_id))
                continue
            out.append(rec)
        return out

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records(status=None))

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM runs")[0][0])

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        return dict(self._query("SELECT status, COUNT(*) FROM runs GROUP BY status"))

    def _query(self, sql: str, args=()) -> list[tuple]:
        """Rows of a read; a damaged database is an ``OSError`` naming the store and what to do."""
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise OSError(
                f"Cannot read the results store {str(self.path)!r} ({exc}). If the file is damaged, check it with "
                "`sqlite3 FILE 'PRAGMA integrity_check'` and recover it (`sqlite3 FILE .recover`), or start a new "
                "store (its runs are recomputed)."
            ) from exc

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
