"""A bounded load test: 200 concurrent requests against the server subprocess, all answered correctly."""

import asyncio

import httpx
import numpy as np
import pytest

pytestmark = [pytest.mark.network, pytest.mark.slow]


def test_200_concurrent_requests_are_all_answered_correctly(hash_server, hash_encoder, texts):
    url, key = hash_server
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(texts) - 5, size=200)
    sizes = rng.integers(1, 6, size=200)
    chunks = [texts[s : s + k] for s, k in zip(starts, sizes)]
    before = httpx.get(f"{url}/health").json()["stats"]

    async def run():
        limits = httpx.Limits(max_connections=200)
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as client:
            coros = [
                client.post(f"{url}/v1/embeddings", json={"input": c, "encoding_format": "base64"})
                for c in chunks
            ]
            return await asyncio.wait_for(asyncio.gather(*coros), timeout=120)

    responses = asyncio.run(run())
    from nmtune.api.wire import decode_embeddings

    for chunk, r in zip(chunks, responses):
        assert r.status_code == 200, r.text
        got = decode_embeddings(r.json(), n_expected=len(chunk), dim=32)
        np.testing.assert_array_equal(got, hash_encoder.encode(chunk, progress=False))
    after = httpx.get(f"{url}/health").json()["stats"]
    assert after["requests"] - before["requests"] == 200
    assert after["batches"] - before["batches"] < 200  # concurrent requests shared encoder calls
