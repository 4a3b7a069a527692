"""The one process pool: every result once, errors propagate, no worker outlives an early stop."""

from __future__ import annotations

import os
import time

import pytest

from nmtune._internal.pool import imap_processes


def _square_and_pid(x):
    if x == -1:
        raise ValueError("bad item -1")
    if x == -2:
        time.sleep(60)
    return x * x, os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a terminated child that is not yet reaped is a zombie, not a worker
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_every_item_once_and_errors_stop_the_workers():
    out = dict(imap_processes(_square_and_pid, range(7), n_jobs=2))
    assert {k: v[0] for k, v in out.items()} == {i: i * i for i in range(7)}

    pids = []
    with pytest.raises(ValueError, match="bad item -1"):
        for _, (_, pid) in imap_processes(_square_and_pid, [1, 2, -2, -1], n_jobs=2):
            pids.append(pid)
    time.sleep(0.5)
    assert pids and not any(_alive(p) for p in pids)  # the sleeping worker was terminated too


@pytest.mark.slow
def test_stopping_early_terminates_the_workers():
    gen = imap_processes(_square_and_pid, [1, -2, -2, -2], n_jobs=2)
    _, (_, pid) = next(gen)
    gen.close()
    time.sleep(0.5)
    assert not _alive(pid)
