"""The grid executor: resume, serial vs parallel records, kills (SIGKILL, SIGTERM) mid-grid."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from nmtune.protocol import example_task, expand_grid, run_grid
from nmtune.protocol.config import GridConfig
from nmtune.results import ResultsStore

GRID = GridConfig(methods=("logreg",), fractions=(0.5, 1.0), seeds=tuple(range(5)))

SCRIPT = """
import sys
from nmtune.protocol.config import GridConfig
from nmtune.protocol import example_task, run_grid
cfg = GridConfig(methods=("logreg",), fractions=(0.5, 1.0), seeds=tuple(range(5)))
run_grid(cfg, tasks=[example_task(n_train=150)], store=sys.argv[1], progress=False)
"""


def test_rerunning_a_grid_skips_finished_runs(tmp_path):
    tasks = [example_task(n_train=120)]
    cfg = GridConfig(methods=("logreg",), seeds=(0, 1))
    first = run_grid(cfg, tasks=tasks, store=tmp_path / "r.sqlite", progress=False)
    assert (first.n_total, first.n_done, first.n_skipped) == (2, 2, 0)
    again = run_grid(cfg.replace(seeds=[0, 1, 2]), tasks=tasks, store=tmp_path / "r.sqlite", progress=False)
    assert (again.n_total, again.n_done, again.n_skipped) == (3, 1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("methods", [("logreg",), ("lp", "mlp", "nmtune")])
def test_parallel_processes_give_the_same_records_as_serial(tmp_path, methods):
    """Bit-identical domains (accuracy, macro-F1, SVE, LSVR, RankMe): every run uses threads_per_run threads."""
    tasks = [example_task(n_train=120)]
    cfg = GridConfig(methods=methods, seeds=(0, 1), epochs=3, min_steps=0)
    run_grid(cfg, tasks=tasks, store=tmp_path / "a.sqlite", progress=False)
    run_grid(cfg.replace(n_jobs=2), tasks=tasks, store=tmp_path / "b.sqlite", progress=False)
    a = {r["run_id"]: r["domains"] for r in ResultsStore(tmp_path / "a.sqlite").records()}
    b = {r["run_id"]: r["domains"] for r in ResultsStore(tmp_path / "b.sqlite").records()}
    assert len(a) == 2 * len(methods) and a == b


@pytest.mark.slow
def test_sigkill_mid_grid_loses_at_most_the_run_in_progress(tmp_path):
    path = tmp_path / "killed.sqlite"
    total = len(expand_grid(GRID, [example_task(n_train=150)]))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path)])
    deadline = time.time() + 120
    n = 0
    try:
        while time.time() < deadline:  # kill once a few runs are committed, while more are in flight
            time.sleep(0.05)
            if path.exists():
                try:
                    n = sqlite3.connect(path, timeout=1).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                except sqlite3.OperationalError:
                    continue
                if n >= 3:
                    break
        assert proc.poll() is None, "the grid finished before it could be killed; make it larger"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with ResultsStore(path) as st:
        assert st.integrity_check() == "ok"
        rows = st._conn.execute("SELECT run_id, status, record FROM runs").fetchall()
        assert 3 <= len(rows) < total
        assert len({r[0] for r in rows}) == len(rows)
        for run_id, status, body in rows:  # every stored row is a complete record
            rec = json.loads(body)
            assert status == "done" and rec["run_id"] == run_id and "domains" in rec
        before = {r[0]: r[2] for r in rows}
    result = run_grid(GRID, tasks=[example_task(n_train=150)], store=path, progress=False)
    assert result.n_skipped == len(before) and result.n_done == total - len(before)
    with ResultsStore(path) as st:
        assert len(st) == total and st.integrity_check() == "ok"
        after = dict(st._conn.execute("SELECT run_id, record FROM runs").fetchall())
    assert all(after[k] == v for k, v in before.items())  # finished runs were not recomputed
