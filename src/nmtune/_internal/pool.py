"""The one process pool of nmtune: spawned workers, bounded submission, no worker outliving its caller."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["imap_processes"]


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
    yielded are the caller's to keep (e.g. stored), nothing keeps running in the background.

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
        n_jobs, mp_context=mp.get_context("spawn"), initializer=initializer, initargs=initargs
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
