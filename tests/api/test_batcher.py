"""Micro-batching: concurrent requests share encoder calls and get exactly their own rows back."""

import asyncio
import threading

import numpy as np
import pytest

from nmtune.api.batcher import MicroBatcher


def test_concurrent_requests_are_batched_and_split_correctly(hash_encoder, texts):
    calls = []

    def encode(batch):
        calls.append(len(batch))
        return hash_encoder.encode(batch, progress=False)

    async def main():
        batcher = MicroBatcher(encode, max_wait_s=0.01, max_inputs=64)
        chunks = [texts[i : i + 1 + i % 5] for i in range(60)]
        results = await asyncio.gather(*(batcher.submit(c) for c in chunks))
        await batcher.aclose()
        return chunks, results, batcher.stats

    chunks, results, stats = asyncio.run(main())
    for chunk, got in zip(chunks, results):
        np.testing.assert_array_equal(got, hash_encoder.encode(chunk, progress=False))  # slow reference
    assert stats["requests"] == 60 and stats["inputs"] == sum(map(len, chunks))
    assert stats["batches"] == len(calls) < 60  # batched, not one call per request
    assert max(calls) <= 64


def test_encoder_errors_reach_every_request_of_the_batch_and_the_worker_survives(hash_encoder):
    fail = threading.Event()
    fail.set()

    def encode(batch):
        if fail.is_set():
            raise RuntimeError("boom")
        return hash_encoder.encode(batch, progress=False)

    async def main():
        batcher = MicroBatcher(encode, max_wait_s=0.01)
        results = await asyncio.gather(*(batcher.submit(["a b"]) for _ in range(3)), return_exceptions=True)
        fail.clear()
        after = await batcher.submit(["a b"])
        await batcher.aclose()
        return results, after

    results, after = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) and "boom" in str(r) for r in results)
    np.testing.assert_array_equal(after, hash_encoder.encode(["a b"], progress=False))


def test_wrong_encoder_shape_is_an_error():
    async def main():
        batcher = MicroBatcher(lambda batch: np.zeros((1, 4)), max_wait_s=0)
        with pytest.raises(RuntimeError, match=r"shape \(1, 4\) for 2 inputs"):
            await batcher.submit(["a", "b"])
        await batcher.aclose()
        with pytest.raises(RuntimeError, match="shutting down"):
            await batcher.submit(["a"])

    asyncio.run(main())
