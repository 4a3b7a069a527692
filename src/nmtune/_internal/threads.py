"""Thread counts written once: how many threads to compute with, and applying that count to torch and BLAS.

Torch and the BLAS / OpenMP libraries start one thread per core. When other processes already keep some cores
busy, those threads wait on each other (a barrier waits for its slowest thread, which waits for a core): on two
cores beside one busy process an NMTune fit took ten times longer with two threads than with one. So work is
given the cores that are free now, never more than the caller allowed:

1. an explicit count (a head's ``n_threads``) is used as given;
2. inside :func:`thread_limit`, nested calls reuse the count of the enclosing call;
3. the environment variable ``NMTUNE_NUM_THREADS`` (a whole number >= 1) is used as given;
4. otherwise: the cores this process may run on (``os.sched_getaffinity``, a cgroup CPU quota) minus the cores
   other processes keep busy at this moment (their runnable threads, read from ``/proc``; ``os.getloadavg()``
   where ``/proc`` is missing), at least 1, and at most the thread count torch and BLAS already have (so
   ``OMP_NUM_THREADS=1`` or a caller's ``torch.set_num_threads(1)`` is respected).

:func:`thread_limit` applies a count to torch (when it is imported) and to every native thread pool
(threadpoolctl) for the duration of a block and restores the previous counts afterwards;
:func:`limit_process_threads` applies it for the rest of a process (worker processes).
"""

from __future__ import annotations

import contextvars
import math
import numbers
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "available_cores",
    "busy_cores",
    "pick_threads",
    "thread_limit",
    "limit_process_threads",
]

#: Environment variable that fixes the thread count of nmtune's computations.
ENV_VAR = "NMTUNE_NUM_THREADS"

_ACTIVE: contextvars.ContextVar[int | None] = contextvars.ContextVar("nmtune_threads", default=None)
_BUSY_CACHE: list[float] = []  # [time, busy cores] of the last /proc scan
_BUSY_TTL = 1.0  # seconds a scan stays valid: predict calls in a loop do not rescan


def _check_count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a whole number >= 1 (threads) or None (automatic); got {value!r}.")
    return int(value)


def _cgroup_quota() -> int | None:
    """Cores allowed by a cgroup v2 CPU quota (``cpu.max``), rounded up; None without a quota."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota.

    Returns
    -------
    int
        At least 1.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, quota) if quota else cores)


def _runnable_elsewhere() -> int | None:
    """Runnable threads (state R) of every other process, from ``/proc/<pid>/task/<tid>/stat``; None without."""
    proc = Path("/proc")
    if not (proc / "self" / "task").is_dir():
        return None
    own = str(os.getpid())
    count = 0
    for pid in os.listdir(proc):
        if not pid.isdigit() or pid == own:
            continue
        try:
            tasks = os.listdir(proc / pid / "task")
        except OSError:  # the process ended meanwhile
            continue
        for tid in tasks:
            try:
                with open(proc / pid / "task" / tid / "stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            end = stat.rfind(b")")  # the command name may hold spaces and parentheses
            if end >= 0 and stat[end + 2 : end + 3] == b"R":
                count += 1
    return count


def busy_cores() -> float:
    """Cores other processes keep busy now (their runnable threads; the 1-minute load average without ``/proc``).

    A scan is reused for one second.

    Returns
    -------
    float
        0 when nothing can be read.
    """
    now = time.monotonic()
    if _BUSY_CACHE and now - _BUSY_CACHE[0] < _BUSY_TTL:
        return _BUSY_CACHE[1]
    busy = _runnable_elsewhere()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            busy = 0.0
    _BUSY_CACHE[:] = [now, float(busy)]
    return float(busy)


def _current_threads() -> int:
    """The thread count torch (if imported) or else the native pools have now."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    from threadpoolctl import threadpool_info

    counts = [int(info.get("num_threads") or 1) for info in threadpool_info()]
    return max(counts) if counts else available_cores()


def pick_threads(n_threads: int | None = None) -> int:
    """The number of threads to compute with (rules in the module docstring).

    Parameters
    ----------
    n_threads : int or None, default=None
        An explicit count (returned as is), or None for the automatic choice.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        When ``n_threads`` or ``NMTUNE_NUM_THREADS`` is not a whole number >= 1.
    """
    if n_threads is not None:
        return _check_count(n_threads, "n_threads")
    active = _ACTIVE.get()
    if active is not None:
        return active
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = env
        return _check_count(value, f"The environment variable {ENV_VAR} (={env!r})")
    free = available_cores() - math.floor(busy_cores() + 0.5)
    return max(1, min(free, _current_threads()))


@contextmanager
def thread_limit(n_threads: int | None = None) -> Iterator[int]:
    """Run a block with :func:`pick_threads`'s count in torch and the native thread pools; restore them after.

    Parameters
    ----------
    n_threads : int or None, default=None
        An explicit count, or None for the automatic choice (nested blocks reuse the outer block's count).

    Yields
    ------
    int
        The thread count in effect.
    """
    n = pick_threads(n_threads)
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    token = _ACTIVE.set(n)
    try:
        with threadpool_limits(n):
            if torch is not None and before != n:
                torch.set_num_threads(n)
            try:
                yield n
            finally:
                if torch is not None and torch.get_num_threads() != before:
                    torch.set_num_threads(before)
    finally:
        _ACTIVE.reset(token)


def limit_process_threads(n_threads: int) -> int:
    """Set torch's and every native pool's thread count for the rest of this process (a worker's initializer).

    Parameters
    ----------
    n_threads : int
        Whole number >= 1.

    Returns
    -------
    int
        ``n_threads``.
    """
    n = _check_count(n_threads, "n_threads")
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:  # a process that never computes with torch
        torch = None
    if torch is not None:
        torch.set_num_threads(n)
    threadpool_limits(n)
    return n
