"""Pure wire-format, retry-policy and fault-spec functions."""

import base64
import email.utils
import random

import numpy as np
import pytest

from nmtune.api.errors import ApiResponseError
from nmtune.api.faults import FaultConfig, parse_faults
from nmtune.api.retry import backoff_delay, is_retryable_status, parse_retry_after
from nmtune.api.wire import WireError, decode_embeddings, embedding_response, parse_embedding_request


@pytest.mark.parametrize("fmt", ["float", "base64"])
def test_response_round_trips_float32_exactly(fmt, rng):
    X = rng.normal(size=(7, 13)).astype(np.float32)
    X[0, 0] = np.float32(1e-38)  # extremes survive both encodings
    X[1, 1] = np.float32(3.4e38)
    body = embedding_response(X, model="m", encoding_format=fmt, prompt_tokens=5)
    np.testing.assert_array_equal(decode_embeddings(body, n_expected=7, dim=13), X)


def test_base64_is_little_endian_float32_like_openai():
    body = embedding_response(
        np.array([[1.0, -2.5]], np.float32), model="m", encoding_format="base64", prompt_tokens=1
    )
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert raw == np.array([1.0, -2.5], dtype="<f4").tobytes()


def test_decode_sorts_by_index(rng):
    X = rng.normal(size=(4, 3)).astype(np.float32)
    body = embedding_response(X, model="m", encoding_format="float", prompt_tokens=0)
    body["data"].reverse()
    np.testing.assert_array_equal(decode_embeddings(body, n_expected=4), X)


def _body(rows, indices=None):
    indices = range(len(rows)) if indices is None else indices
    return {"data": [{"index": i, "embedding": r} for i, r in zip(indices, rows)]}


@pytest.mark.parametrize(
    "body, n, dim, fragment",
    [
        ({"error": "x"}, 1, None, "expected a 'data' list"),
        ([1, 2], 1, None, "expected a 'data' list"),
        (_body([[1.0, 2.0]]), 2, None, "sent 2 inputs but received 1"),
        (_body([[1.0], [2.0]], [0, 0]), 2, None, "appears twice"),
        (_body([[1.0], [2.0]], [0, 2]), 2, None, "index 2"),
        (_body([[1.0], [2.0]], [0, True]), 2, None, "index True"),
        (_body([[1.0], [2.0]], [0, "1"]), 2, None, "index '1'"),
        (_body([[1.0, 2.0], [2.0]]), 2, None, "dimension"),
        (_body([[1.0, 2.0]]), 1, 3, "dimension 3"),
        (_body([[]]), 1, None, "dimension 0"),
        (_body([["1.0", 2.0]]), 1, None, "list of numbers"),
        (_body([[True, 2.0]]), 1, None, "list of numbers"),
        (_body([[None, 2.0]]), 1, None, "list of numbers"),
        (_body([[[1.0], [2.0]]]), 1, None, "list of numbers"),
        (_body([{"a": 1}]), 1, None, "list of numbers"),
        (_body([[float("nan"), 2.0]]), 1, None, "NaN or infinite"),
        (_body([[1e39, 2.0]]), 1, None, "NaN or infinite"),  # overflows float32
        (_body(["not base64!!"]), 1, None, "not valid base64"),
        (_body([base64.b64encode(b"abcde").decode()]), 1, None, "whole number of float32"),
        (_body([base64.b64encode(np.array([np.inf], "<f4").tobytes()).decode()]), 1, None, "NaN or infinite"),
    ],
)
def test_malformed_responses_are_clear_errors(body, n, dim, fragment):
    with pytest.raises(ApiResponseError, match="Malformed embeddings response") as info:
        decode_embeddings(body, n_expected=n, dim=dim)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "payload, status, fragment",
    [
        ("text", 400, "JSON object"),
        ({}, 400, "Missing required field"),
        ({"input": 3}, 400, "string or a non-empty list"),
        ({"input": ["a", 3]}, 400, "'input[1]'"),
        ({"input": ["a"] * 5}, 413, "at most 4"),
        ({"input": "a", "model": 3}, 400, "'model'"),
        ({"input": "a", "encoding_format": "f16"}, 400, "encoding_format"),
        ({"input": "a", "dimensions": 3}, 400, "'dimensions' must be 8"),
    ],
)
def test_request_validation(payload, status, fragment):
    with pytest.raises(WireError) as info:
        parse_embedding_request(payload, max_batch=4, dim=8)
    assert info.value.status == status and fragment in info.value.message
    assert set(info.value.body()["error"]) == {"message", "type", "param", "code"}


def test_request_defaults():
    req = parse_embedding_request({"input": "a b", "dimensions": 8}, max_batch=4, dim=8)
    assert req.texts == ["a b"] and req.encoding_format == "float" and req.model is None


def test_full_jitter_backoff_stays_in_its_window():
    rng = random.Random(0)
    for attempt in range(1, 12):
        window = min(4.0, 0.1 * 2 ** (attempt - 1))
        draws = [backoff_delay(attempt, base_s=0.1, cap_s=4.0, rng=rng) for _ in range(200)]
        assert 0 <= min(draws) and max(draws) <= window
        assert max(draws) > 0.5 * window  # it spreads over the whole window
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(0, base_s=0.1, cap_s=1.0, rng=rng)


def test_retry_after_forms():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert parse_retry_after({"retry-after": "-1"}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0


def test_retryable_statuses():
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (200, 400, 401, 403, 404, 413, 422))


def test_fault_spec_parsing():
    cfg = parse_faults("429=0.1, 500=0.2,drop=0.05,slow=0.1,slow_s=1.5,retry_after=0.2,fail_after=7,seed=3")
    assert cfg == FaultConfig(
        rate_429=0.1,
        rate_500=0.2,
        rate_drop=0.05,
        rate_slow=0.1,
        slow_s=1.5,
        retry_after_s=0.2,
        fail_after=7,
        seed=3,
    )
    with pytest.raises(ValueError, match="Did you mean '429'"):
        parse_faults("428=0.1")
    with pytest.raises(ValueError, match="key=value"):
        parse_faults("drop")
    with pytest.raises(ValueError, match="sum to at most 1"):
        parse_faults("429=0.6,500=0.6")
    with pytest.raises(ValueError, match="needs a number"):
        parse_faults("seed=abc")
