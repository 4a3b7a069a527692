"""Micro-batching: gather concurrent embedding requests for a few milliseconds and encode them in one call.

Requests are queued on the event loop; a single worker takes the first waiting request, waits ``max_wait_s``
for more to arrive, concatenates their texts (up to ``max_inputs``) and runs the encoder once in a worker
thread, so the event loop keeps accepting requests while the encoder runs. Results are split back per request.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MicroBatcher"]


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Coalesce concurrent encode calls into batched encoder calls run in one worker thread.

    Parameters
    ----------
    encode_fn : callable
        ``encode_fn(texts: list[str]) -> np.ndarray`` of shape (len(texts), D).
    max_wait_s : float, default 0.002
        How long the worker waits after the first request for others to join its batch.
    max_inputs : int, default 512
        Most texts per encoder call; a single larger request is encoded alone.

    Attributes
    ----------
    stats : dict
        ``requests``, ``inputs`` and ``batches`` counted so far, and ``largest_batch``.
    """

    def __init__(
        self,
        encode_fn: Callable[[list[str]], np.ndarray],
        *,
        max_wait_s: float = 0.002,
        max_inputs: int = 512,
    ):
        self.encode_fn = encode_fn
        self.max_wait_s = float(max_wait_s)
        self.max_inputs = int(max_inputs)
        self.stats = {"requests": 0, "inputs": 0, "batches": 0, "largest_batch": 0}
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nmtune-encode")

    async def submit(self, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` as part of the next batch.

        Parameters
        ----------
        texts : list of str
            The N inputs of one request.

        Returns
        -------
        np.ndarray, shape (N, D), float32
        """
        if self._closing:
            raise RuntimeError("The micro-batcher is shutting down and accepts no new requests.")
        self._ensure_started()
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(list(texts), future))
        self._wakeup.set()
        return await future

    async def aclose(self) -> None:
        """Finish every queued request, then stop the worker and its thread."""
        self._closing = True
        if self._task is not None:
            self._wakeup.set()
            await self._task
        self._executor.shutdown(wait=True)

    def _ensure_started(self) -> None:
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="nmtune-microbatcher")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self.max_wait_s > 0 and not self._closing:
                await asyncio.sleep(self.max_wait_s)  # let concurrent requests join this batch
            batch = self._take_batch()
            if not batch:
                continue
            texts = [t for item in batch for t in item.texts]
            try:
                vectors = await loop.run_in_executor(self._executor, self._encode_checked, texts)
            except Exception as exc:  # the error goes to every request of the batch
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            self._record(batch, len(texts))
            start = 0
            for item in batch:
                stop = start + len(item.texts)
                if not item.future.done():
                    item.future.set_result(vectors[start:stop])
                start = stop

    def _take_batch(self) -> list[_Pending]:
        batch, n = [], 0
        while self._queue:
            item = self._queue[0]
            if item.future.done():  # the caller went away
                self._queue.popleft()
                continue
            if batch and n + len(item.texts) > self.max_inputs:
                break
            batch.append(self._queue.popleft())
            n += len(item.texts)
        return batch

    def _encode_checked(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.encode_fn(texts), dtype=np.float32)  # (N, D)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise RuntimeError(
                f"The encoder returned shape {vectors.shape} for {len(texts)} inputs; "
                f"expected ({len(texts)}, D)."
            )
        return vectors

    def _record(self, batch: list[_Pending], n_inputs: int) -> None:
        self.stats["requests"] += len(batch)
        self.stats["inputs"] += n_inputs
        self.stats["batches"] += 1
        self.stats["largest_batch"] = max(self.stats["largest_batch"], n_inputs)
