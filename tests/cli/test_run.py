"""End to end: a tiny real grid (GloVe-50 on R8, capped) through ``nmtune run`` and ``nmtune report``."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from nmtune.cli import main
from nmtune.results import ResultsStore

GRID = """
encoders: [glove-50]
suites: [r8]
methods: [{methods}]
fractions: [0.5, 1.0]
seeds: [0, 1]
max_train: 120
max_eval: 80
epochs: 3
min_steps: 0
store: {store}
report_dir: {report}
"""
METHODS = "lp, nmtune, logreg"  # the heads must import: a broken nmtune.heads fails this test
N_RUNS = 4 * len(METHODS.split(", "))


@pytest.mark.slow
def test_tiny_grid_end_to_end(tmp_path, capsys):
    cfg = tmp_path / "grid.yaml"
    store, report = tmp_path / "out" / "results.sqlite", tmp_path / "out" / "report"
    cfg.write_text(GRID.format(methods=METHODS, store=store, report=report))
    assert main(["run", "--config", str(cfg), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"{N_RUNS} runs done now, 0 already stored, 0 failed" in printed and str(report) in printed
    with ResultsStore(store) as st:
        recs = st.records()
        assert len(recs) == N_RUNS and st.counts() == {"done": N_RUNS}
        for r in recs:
            assert set(r["domains"]) and all(0 <= d["accuracy"] <= 1 for d in r["domains"].values())
            assert r["versions"]["torch"] and r["config"]["max_train"] == 120
            # the cap is applied before encoding: about 120 stratified rows (8 classes, rounding per class)
            assert abs(r["n_train"] - 120 * r["config"]["fraction"]) <= 8
        assert np.mean([r["id_accuracy"] for r in recs]) > 0.5  # R8 is easy even on GloVe means
    cols = [c[1] for c in sqlite3.connect(store).execute("PRAGMA table_info(runs)")]
    assert {"run_id", "config", "method", "seed", "fraction"} <= set(cols)
    md = (report / "report.md").read_text()
    for m in METHODS.split(", "):
        assert f"| glove-50 | r8 | {m} |" in md
    assert (report / "report.html").exists() and list(report.glob("*.png"))
    # a second run resumes: everything is skipped
    assert main(["run", "--config", str(cfg), "--no-progress", "--no-report"]) == 0
    assert f"0 runs done now, {N_RUNS} already stored" in capsys.readouterr().out
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "rep2"), "--no-figures"]) == 0
    assert (tmp_path / "rep2" / "report.md").read_text().count("| glove-50 | r8 |") >= N_RUNS // 2


def test_run_with_an_unknown_key_fails_naming_valid_keys(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("encoder: [glove-50]\n")
    assert main(["run", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'encoders'" in err and "max_train" in err


@pytest.mark.slow
def test_sigterm_during_a_parallel_grid_leaves_no_worker_alive(tmp_path):
    script = tmp_path / "grid.py"
    script.write_text(
        "import sys\n"
        "from nmtune.cli import main\n"
        f"sys.exit(main(['run', '--config', {str(tmp_path / 'g.yaml')!r}, '--no-report', '--no-progress']))\n"
    )
    (tmp_path / "g.yaml").write_text(
        "encoders: [glove-50]\nsuites: [r8]\nmethods: [nmtune]\nseeds: [0, 1, 2, 3, 4, 5]\nmax_train: 200\n"
        f"max_eval: 50\nmin_steps: 20000\nn_jobs: 2\nstore: {tmp_path / 'r.sqlite'}\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    children = []
    while time.time() < deadline and len(children) < 2:  # wait for the worker processes
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
        children = [int(x) for x in out.split()]
        time.sleep(0.5)
    assert children, "the grid never started its workers"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    time.sleep(1)
    alive = [pid for pid in children if os.path.exists(f"/proc/{pid}") and "zombie" not in _state(pid)]
    assert not alive


def _state(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return fh.read().lower()
    except OSError:
        return "zombie"
