"""The thread count: explicit > enclosing block > NMTUNE_NUM_THREADS > the free cores; applied and restored."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from nmtune._internal import threads
from nmtune._internal.threads import (
    ENV_VAR,
    available_cores,
    limit_process_threads,
    pick_threads,
    thread_limit,
)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _blas_threads():
    return {info["num_threads"] for info in threadpool_info()}


def test_explicit_counts_win_and_bad_ones_are_refused(monkeypatch):
    assert pick_threads(3) == 3
    monkeypatch.setenv(ENV_VAR, "2")
    assert pick_threads() == 2 and pick_threads(1) == 1
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(ENV_VAR, bad)
        with pytest.raises(ValueError, match=f"environment variable {ENV_VAR}"):
            pick_threads()
    for bad in (0, 2.5, True, "1"):
        with pytest.raises(ValueError, match="n_threads must be a whole number >= 1"):
            pick_threads(bad)


def test_the_automatic_count_leaves_the_busy_cores_alone(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    torch.set_num_threads(8)
    for busy, expected in ((0.0, 8), (2.0, 6), (3.4, 5), (7.6, 1), (20.0, 1)):
        monkeypatch.setattr(threads, "busy_cores", lambda b=busy: b)
        assert pick_threads() == expected, busy
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.0)
    torch.set_num_threads(2)  # a caller (or OMP_NUM_THREADS) asked for fewer: never more than that
    assert pick_threads() == 2


def test_busy_cores_are_read_and_cached():
    first = threads.busy_cores()
    assert first >= 0 and threads.busy_cores() == first  # the second call reuses the scan
    assert 1 <= available_cores()


def test_the_block_applies_the_count_and_restores_it():
    torch.set_num_threads(2)
    with thread_limit(1) as n:
        assert n == 1 and torch.get_num_threads() == 1 and _blas_threads() == {1}
        with thread_limit() as inner:  # a nested automatic block keeps the outer count
            assert inner == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_a_head_computes_with_its_n_threads(monkeypatch):
    from nmtune import LinearProbe

    seen = []
    original = torch.nn.functional.cross_entropy

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return original(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", spy)
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)).astype(np.float32), np.arange(40) % 2
    LinearProbe(epochs=2, min_steps=0, device="cpu", n_threads=1).fit(X, y)
    assert seen and set(seen) == {1} and torch.get_num_threads() == 2


def test_a_worker_process_limit_stays():
    from threadpoolctl import threadpool_limits

    before = max(_blas_threads())
    try:
        assert limit_process_threads(1) == 1 and torch.get_num_threads() == 1 and _blas_threads() == {1}
    finally:
        threadpool_limits(before)
