"""The one process pool of nmtune: spawned workers, bounded submission, no worker outliving its caller."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["imap_processes", "watch_parent"]

_PR_SET_PDEATHSIG = 1


def watch_parent(parent_pid: int, *, interval: float = 0.5, death_signal: bool = True) -> None:
    """End this process as soon as ``parent_pid`` is gone, even when the parent was SIGKILLed.

    A worker blocked in its task queue or in the middle of a task would otherwise run on as an orphan. On Linux
    the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere a daemon thread checks the
    parent every ``interval`` seconds and exits the process when it has changed. The kernel signal follows the
    parent *thread* that started the process, so pass ``death_signal=False`` when that was not the main thread.
    """
    try:  # Linux: immediate
        if not death_signal:
            raise OSError("not armed")
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def _watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=_watch, name="nmtune-parent-watch", daemon=True).start()


def _start_worker(parent_pid: int, from_main: bool, initializer: Callable | None, initargs: tuple) -> None:
    watch_parent(parent_pid, death_signal=from_main)
    if initializer is not None:
        initializer(*initargs)


def imap_processes(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    n_jobs: int,
    initializer: Callable | None = None,
    initargs: tuple = (),
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(item, fn(item))`` for every item, computed in ``n_jobs`` spawned processes, as they finish.

    Workers are started with the ``spawn`` method (torch and ``fork`` do not mix) and run ``initializer``
    once; at most ``2 * n_jobs`` items are in flight, so memory stays flat however many items there are.
    When the caller stops early, or anything raises (an exception in a worker, Ctrl-C, SIGTERM turned into
    ``KeyboardInterrupt``), the workers are terminated before the exception propagates: results already
    yielded are the caller's to keep (e.g. stored), nothing keeps running in the background. When the caller
    is killed outright (SIGKILL, out of memory), every worker ends too (:func:`watch_parent`).

    Parameters
    ----------
    fn : callable
        A picklable, module-level function of one item.
    items : iterable
        Picklable inputs; submitted in order.
    n_jobs : int
        Number of worker processes (>= 1).
    initializer : callable, optional
        Run once in each worker, e.g. to receive large shared inputs or cap its threads.
    initargs : tuple
        Arguments of ``initializer``.

    Yields
    ------
    (item, result)
        In completion order.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(
        n_jobs,
        mp_context=mp.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), threading.current_thread() is threading.main_thread(), initializer, initargs),
    )
    try:
        queue = list(items)[::-1]
        pending: dict = {}
        while queue or pending:
            while queue and len(pending) < 2 * n_jobs:  # bounded submission keeps memory flat
                item = queue.pop()
                pending[pool.submit(fn, item)] = item
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                item = pending.pop(fut)
                yield item, fut.result()
    except BaseException:  # includes GeneratorExit when the caller stops early
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
