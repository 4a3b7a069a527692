"""No worker outlives its parent: ``nmtune run --jobs 2`` killed with SIGKILL leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest


def _children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _env() -> dict:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {
        **os.environ,
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
    }


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


@pytest.mark.slow
def test_sigkill_of_nmtune_run_leaves_no_worker(tmp_path):
    r = np.random.default_rng(0)
    X = r.standard_normal((400, 32)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "test.npz", X=X[:100], y=y[:100])
    (tmp_path / "grid.yaml").write_text(
        "file_tasks: [{name: t, train: train.npz, test: test.npz}]\n"
        "methods: [mlp, nmtune]\nseeds: [0, 1, 2, 3]\nepochs: 3000\nmin_steps: 0\n"
        f"store: {tmp_path / 'r.sqlite'}\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nmtune",
            "run",
            "--config",
            str(tmp_path / "grid.yaml"),
            "--jobs",
            "2",
            "--no-progress",
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        # the two workers (and multiprocessing's resource tracker) are children of the run
        assert _wait(lambda: len(_children(proc.pid)) >= 3, timeout=180), "the workers never started"
        time.sleep(2)  # let them pick up runs
        workers[:] = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait(lambda: not any(_alive(w) for w in workers), timeout=15), [
            w for w in workers if _alive(w)
        ]
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:  # reparented once the run died: only the pids seen can clean up after a failure
            if _alive(w):
                os.kill(w, signal.SIGKILL)


_ORPHAN = """
import multiprocessing as mp, os, sys, time
from nmtune._internal.pool import watch_parent

def child(parent):
    watch_parent(parent, interval=0.1, death_signal=False)  # the thread alone, as without Linux's signal
    time.sleep(60)

if __name__ == "__main__":
    p = mp.get_context("spawn").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(60)
"""


def test_the_parent_watch_ends_an_orphaned_worker(tmp_path):
    (tmp_path / "orphan.py").write_text(_ORPHAN)
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "orphan.py")], env=_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(proc.stdout.readline())
        time.sleep(1.0)  # the child imports nmtune and starts its watch
        assert _alive(child)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait(lambda: not _alive(child), timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
