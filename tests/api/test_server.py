"""The server in a subprocess over real HTTP on 127.0.0.1: wire format, auth, limits, shutdown."""

import base64
import signal
import threading
import time

import httpx
import numpy as np
import pytest
from _api_helpers import server_process

pytestmark = pytest.mark.network


def _post(url, key, payload, **kw):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/embeddings", json=payload, headers=headers, timeout=30, **kw)


def test_float_and_base64_equal_local_encoder(hash_server, hash_encoder, texts):
    url, key = hash_server
    expected = hash_encoder.encode(texts[:40], progress=False)
    for fmt in ("float", "base64"):
        r = _post(url, key, {"input": texts[:40], "model": "hash-bow", "encoding_format": fmt})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["object"] == "list" and body["model"] == "hash-bow"
        assert [d["index"] for d in body["data"]] == list(range(40))
        assert all(d["object"] == "embedding" for d in body["data"])
        if fmt == "float":
            got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
        else:
            got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in body["data"]])
        np.testing.assert_array_equal(got, expected)
        n_tokens = sum(len(t.split()) for t in texts[:40])
        assert body["usage"] == {"prompt_tokens": n_tokens, "total_tokens": n_tokens}


def test_single_string_input_and_models_and_health(hash_server, hash_encoder):
    url, key = hash_server
    r = _post(url, key, {"input": "the cat runs"})
    assert r.status_code == 200
    np.testing.assert_array_equal(
        np.float32(r.json()["data"][0]["embedding"]), hash_encoder.encode(["the cat runs"], progress=False)[0]
    )
    models = httpx.get(f"{url}/v1/models", headers={"authorization": f"Bearer {key}"}).json()
    assert [m["id"] for m in models["data"]] == ["hash-bow"]
    health = httpx.get(f"{url}/health").json()  # no key needed
    assert health["status"] == "ok" and health["dim"] == 32 and health["stats"]["inputs"] >= 1


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic dGVzdA==", "Bearer"])
def test_missing_or_wrong_key_is_401(hash_server, header):
    url, _ = hash_server
    headers = {} if header is None else {"authorization": header}
    for r in (
        httpx.post(f"{url}/v1/embeddings", json={"input": "x"}, headers=headers),
        httpx.get(f"{url}/v1/models", headers=headers),
    ):
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["code"] == "invalid_api_key" and "Bearer" in err["message"]


def test_too_many_inputs_is_413(hash_server):
    url, key = hash_server
    r = _post(url, key, {"input": ["a"] * 65})
    assert r.status_code == 413
    msg = r.json()["error"]["message"]
    assert "65" in msg and "64" in msg


def test_too_large_body_is_413(hash_server):
    url, key = hash_server
    r = _post(url, key, {"input": ["word " * 20000]})  # ~100 KB > 64 KiB
    assert r.status_code == 413
    assert "65536 bytes" in r.json()["error"]["message"]


def test_body_without_content_length_is_limited(hash_server):
    url, key = hash_server

    def chunks():
        yield b'{"input": ["'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"]}'

    r = httpx.post(f"{url}/v1/embeddings", content=chunks(), headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    "payload, status, fragment",
    [
        ({"model": "hash-bow"}, 400, "Missing required field 'input'"),
        ({"input": []}, 400, "non-empty list"),
        ({"input": [[1, 2, 3]]}, 400, "Token arrays are not supported"),
        ({"input": "x", "encoding_format": "int8"}, 400, "encoding_format"),
        ({"input": "x", "model": "other-model"}, 404, "serves 'hash-bow'"),
        ({"input": "x", "dimensions": 8}, 400, "dimensions"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_requests_get_clear_openai_errors(hash_server, payload, status, fragment):
    url, key = hash_server
    r = _post(url, key, payload)
    assert r.status_code == status
    assert fragment in r.json()["error"]["message"]


def test_invalid_json_is_400(hash_server):
    url, key = hash_server
    r = httpx.post(f"{url}/v1/embeddings", content=b"{not json", headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]


@pytest.mark.slow
def test_sigterm_finishes_request_in_flight(hash_encoder, texts):
    # every embeddings request is held 1.5 s by the 'slow' fault; SIGTERM arrives while one is in flight
    with server_process(["--faults", "slow=1,slow_s=1.5"]) as (url, proc):
        httpx.get(f"{url}/health", timeout=10)
        result = {}

        def call():
            result["r"] = _post(url, None, {"input": texts[:5]})

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        thread.join(timeout=20)
        # uvicorn re-raises SIGTERM after its graceful shutdown: the conventional exit status -15
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        r = result["r"]
        assert r.status_code == 200
        got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
        np.testing.assert_array_equal(got, hash_encoder.encode(texts[:5], progress=False))
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=2)


def test_image_encoders_are_refused(hash_encoder):
    from nmtune.api.server import create_app

    class ImageEncoder:
        name, dim, modality = "img", 8, "image"

    with pytest.raises(ValueError, match="modality 'image'"):
        create_app(ImageEncoder())
    with pytest.raises(ValueError, match="max_batch must be an integer >= 1"):
        create_app(hash_encoder, max_batch=0)


def test_a_client_leaving_mid_body_is_answered_not_logged_as_a_server_error():
    import asyncio

    from starlette.requests import ClientDisconnect

    from nmtune.api.server import _read_limited
    from nmtune.api.wire import WireError

    class Leaving:
        headers = {"content-length": "100"}

        async def stream(self):
            yield b"{"
            raise ClientDisconnect()

    with pytest.raises(WireError, match="disconnected before sending the whole body") as info:
        asyncio.run(_read_limited(Leaving(), 1000))
    assert info.value.status == 400
