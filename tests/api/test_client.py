"""ApiEncoder against the real server and against small scripted servers (errors, retries, limits)."""

import pickle
import socket
import time

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from nmtune.api import ApiEncoder, ApiError, ApiRequestError, ApiResponseError
from nmtune.api.background import serve_in_thread
from nmtune.api.wire import embedding_response
from nmtune.encoders import get_encoder

pytestmark = pytest.mark.network
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout": 10}


def test_encode_equals_local_encoder_in_both_formats(hash_server, hash_encoder, texts):
    url, key = hash_server
    expected = hash_encoder.encode(texts, progress=False)
    for fmt in ("base64", "float"):
        with ApiEncoder(
            url, model="hash-bow", api_key=key, batch_size=16, max_concurrency=3, encoding_format=fmt
        ) as enc:
            got = enc.encode(texts, progress=False)
            assert got.dtype == np.float32 and got.shape == (len(texts), 32)
            np.testing.assert_array_equal(got, expected)
            assert enc.stats["retries"] == 0 and enc.stats["inputs"] == len(texts) + 1  # + the dim probe


def test_contract_attributes_and_registry(hash_server, monkeypatch):
    url, key = hash_server
    monkeypatch.setenv("NMTUNE_API_KEY", key)
    enc = get_encoder(f"api:{url}")  # model from GET /v1/models, dim probed
    assert isinstance(enc, ApiEncoder)
    assert (enc.name, enc.modality, enc.model, enc.dim) == (f"api:{url}", "text", "hash-bow", 32)
    assert enc.preferred_shard_size == 64 * 4 * 2
    assert len(enc.fingerprint) == 64
    same = ApiEncoder(url + "/", model="hash-bow", dim=32)
    assert same.fingerprint == enc.fingerprint and same.stats["requests"] == 0  # nothing probed
    assert ApiEncoder(url, model="other", dim=32).fingerprint != enc.fingerprint
    assert ApiEncoder(url, model="hash-bow", dim=16).fingerprint != enc.fingerprint
    assert ApiEncoder(url + "/v1", model="hash-bow", dim=32).fingerprint != enc.fingerprint
    assert get_encoder(f"api:{url}#hash-bow").model == "hash-bow"
    assert enc.encode([], progress=False).shape == (0, 32)
    clone = pickle.loads(pickle.dumps(enc))
    one = ["the cat"]
    np.testing.assert_array_equal(clone.encode(one, progress=False), enc.encode(one, progress=False))


def test_bare_model_spec_uses_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("NMTUNE_API_BASE_URL", "http://127.0.0.1:9/v1")
    enc = get_encoder("api:text-embedding-3-small", dim=8)
    assert enc.base_url == "http://127.0.0.1:9/v1" and enc.model == "text-embedding-3-small"
    monkeypatch.delenv("NMTUNE_API_BASE_URL")
    assert get_encoder("api:m", dim=8).base_url == "https://api.openai.com/v1"


def test_key_environment_fallbacks(hash_server, monkeypatch, texts):
    url, key = hash_server
    monkeypatch.delenv("NMTUNE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("NMTUNE_API_MODEL", "hash-bow")
    enc = ApiEncoder(url)
    assert enc.model == "hash-bow" and enc.encode(texts[:3], progress=False).shape == (3, 32)
    monkeypatch.setenv("NMTUNE_API_KEY", "wrong")  # takes precedence over OPENAI_API_KEY
    with pytest.raises(ApiRequestError, match="401.*NMTUNE_API_KEY") as info:
        ApiEncoder(url, dim=32).encode(texts[:3], progress=False)
    assert info.value.status_code == 401


def test_413_halves_the_batch(hash_server, hash_encoder, texts):
    url, key = hash_server  # the server takes at most 64 inputs per request
    enc = ApiEncoder(url, model="hash-bow", api_key=key, batch_size=200, dim=32)
    expected = hash_encoder.encode(texts, progress=False)
    np.testing.assert_array_equal(enc.encode(texts, progress=False), expected)
    assert enc.stats["split_batches"] >= 2


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="http:// or https://"):
        ApiEncoder("127.0.0.1:8000")
    with pytest.raises(ValueError, match="batch_size"):
        ApiEncoder("http://x", batch_size=0)
    with pytest.raises(ValueError, match="encoding_format"):
        ApiEncoder("http://x", encoding_format="int8")
    with pytest.raises(TypeError, match="single string"):
        ApiEncoder("http://x", dim=3, model="m").encode("text")
    with pytest.raises(TypeError, match=r"inputs\[1\] is int"):
        ApiEncoder("http://x", dim=3, model="m").encode(["a", 1])


# ---------------------------------------------------------------- scripted servers
def _scripted(handler):
    """An app whose /v1/embeddings answers ``handler(n_call, texts)`` -> (status, body, headers)."""
    app = FastAPI()
    app.state.calls = 0

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        texts = (await request.json())["input"]
        app.state.calls += 1
        status, body, headers = handler(app.state.calls, texts)
        return JSONResponse(body, status_code=status, headers=headers)

    return app


def _ok(texts, dim=4, shift=0.0):
    X = np.arange(len(texts) * dim, dtype=np.float32).reshape(len(texts), dim) + shift
    return 200, embedding_response(X, model="m", encoding_format="base64", prompt_tokens=0), {}


@pytest.mark.parametrize(
    "mangle, fragment",
    [
        (lambda b: b["data"].pop(), "received 2 embeddings"),
        (lambda b: b["data"][1].update(index=0), "appears twice"),
        (lambda b: b["data"][0].update(embedding=[1.0, 2.0, 3.0]), "dimension 4"),
        (lambda b: b["data"][2].update(embedding=[1.0, "x", 2.0, 3.0]), "list of numbers"),
        (lambda b: b["data"][2].update(embedding=[1.0, None, 2.0, 3.0]), "list of numbers"),
    ],
)
def test_malformed_responses_raise_and_are_not_retried(mangle, fragment):
    def handler(n, texts):
        status, body, headers = _ok(texts)
        mangle(body)
        return status, body, headers

    app = _scripted(handler)
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", dim=4, **FAST)
        with pytest.raises(ApiResponseError, match=fragment):
            enc.encode(["a", "b", "c"], progress=False)
    assert app.state.calls == 1


def test_nan_and_non_json_bodies_are_errors():
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse('{"data": [{"index": 0, "embedding": [NaN, 1.0]}]}')

    with serve_in_thread(app) as url:
        with pytest.raises(ApiResponseError, match="NaN or infinite"):
            ApiEncoder(url, model="m", dim=2).encode(["a"], progress=False)

    app2 = FastAPI()

    @app2.post("/v1/embeddings")
    async def html(request: Request):
        from fastapi.responses import HTMLResponse

        return HTMLResponse("<html>proxy login</html>")

    with serve_in_thread(app2) as url:
        with pytest.raises(ApiResponseError, match="not JSON"):
            ApiEncoder(url, model="m", dim=2).encode(["a"], progress=False)


def test_retry_after_is_honoured():
    def handler(n, texts):
        if n <= 2:
            return 429, {"error": {"message": "slow down"}}, {"retry-after": "0.3"}
        return _ok(texts)

    app = _scripted(handler)
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", dim=4, max_concurrency=1, **FAST)
        start = time.monotonic()
        got = enc.encode(["a", "b"], progress=False)
        elapsed = time.monotonic() - start
    np.testing.assert_array_equal(got, np.arange(8, dtype=np.float32).reshape(2, 4))
    assert enc.stats["retries"] == 2 and elapsed >= 0.6  # two waits of 0.3 s, not 10-50 ms backoffs


def test_gives_up_after_max_retries_with_a_clear_error():
    app = _scripted(lambda n, texts: (503, {"error": {"message": "overloaded"}}, {}))
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", dim=4, max_retries=3, **FAST)
        with pytest.raises(ApiError, match=r"Gave up on POST .* after 4 attempts.*HTTP 503: overloaded"):
            enc.encode(["a"], progress=False)
    assert app.state.calls == 4


def test_gives_up_when_retry_after_exceeds_the_budget():
    app = _scripted(lambda n, texts: (429, {"error": {"message": "quota"}}, {"retry-after": "30"}))
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", dim=4, retry_budget_s=2.0, **FAST)
        start = time.monotonic()
        with pytest.raises(ApiError, match="asked to wait 30.0 s"):
            enc.encode(["a"], progress=False)
    assert time.monotonic() - start < 2.0 and app.state.calls == 1


def test_client_errors_are_not_retried():
    app = _scripted(lambda n, texts: (400, {"error": {"message": "input too long"}}, {}))
    with serve_in_thread(app) as url:
        with pytest.raises(ApiRequestError, match="HTTP 400: input too long"):
            ApiEncoder(url, model="m", dim=4, **FAST).encode(["a"], progress=False)
    assert app.state.calls == 1


def test_refused_connections_are_retried_once_the_server_has_answered():
    app = _scripted(lambda n, texts: _ok(texts))
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", max_retries=2, **FAST)
        assert enc.dim == 4  # the server answered once
    with pytest.raises(ApiError, match="after 3 attempts.*ConnectError"):  # then it went away: retried
        enc.encode(["a"], progress=False)


def test_a_failing_batch_stops_the_others_from_retrying():
    def handler(n, texts):
        if texts == ["bad"]:
            return 400, {"error": {"message": "rejected"}}, {}
        return 503, {"error": {"message": "busy"}}, {"retry-after": "20"}

    app = _scripted(handler)
    with serve_in_thread(app) as url:
        enc = ApiEncoder(url, model="m", dim=4, batch_size=1, max_concurrency=2, retry_budget_s=60, **FAST)
        start = time.monotonic()
        with pytest.raises(ApiRequestError, match="rejected"):
            enc.encode(["ok", "bad"], progress=False)
        assert time.monotonic() - start < 10  # not the 20 s the other batch was told to wait


def test_server_reports_encoder_failures_as_500(hash_encoder):
    from nmtune.api.server import create_app

    class Broken:
        name, dim, modality = "broken", 4, "text"

        def encode(self, texts, **kw):
            if texts[0] == "nan":
                return np.full((len(texts), 4), np.nan, np.float32)
            raise RuntimeError("model crashed")

    with serve_in_thread(create_app(Broken())) as url:
        enc = ApiEncoder(url, model="broken", dim=4, max_retries=1, **FAST)
        with pytest.raises(ApiError, match="HTTP 500: The encoder failed: RuntimeError: model crashed"):
            enc.encode(["x"], progress=False)
        with pytest.raises(ApiError, match="NaN or infinite values for input 0"):
            enc.encode(["nan"], progress=False)


def test_a_closed_port_fails_after_two_attempts_with_what_to_do():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    enc = ApiEncoder(f"http://127.0.0.1:{port}/v1", model="m", dim=4)
    with pytest.raises(ApiError, match="never answered.*nmtune serve"):
        enc.encode(["a"], progress=False)
    assert enc.stats["requests"] == 2  # not the whole retry budget
