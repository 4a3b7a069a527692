"""The OpenAI embeddings wire format: request parsing, response building and strict response decoding.

Pure functions shared by the server (:mod:`nmtune.api.server`) and the client (:mod:`nmtune.api.client`).
N inputs, D embedding dimension. Vectors travel either as JSON numbers (``encoding_format="float"``) or as
base64 of little-endian float32 bytes (``encoding_format="base64"``, as the OpenAI API does); both round-trip
float32 values exactly.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmtune.api.errors import ApiResponseError

__all__ = [
    "ENCODING_FORMATS",
    "EmbeddingRequest",
    "WireError",
    "count_tokens",
    "decode_embeddings",
    "embedding_response",
    "error_body",
    "parse_embedding_request",
]

ENCODING_FORMATS = ("float", "base64")


class WireError(ValueError):
    """A request the server rejects; carries the HTTP status and the OpenAI error fields.

    Parameters
    ----------
    status : int
        HTTP status code to answer with.
    message : str
        Human-readable explanation: what was wrong, what was received, how to fix it.
    param : str or None
        The request field at fault.
    code : str or None
        A short machine-readable code.
    """

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict:
        """The OpenAI-style error body of this error."""
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return error_body(self.message, kind=kind, param=self.param, code=self.code)


def error_body(message: str, *, kind: str = "invalid_request_error", param=None, code=None) -> dict:
    """Build an OpenAI-style error body ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True)
class EmbeddingRequest:
    """A validated ``POST /v1/embeddings`` request.

    Attributes
    ----------
    texts : list of str
        The N inputs, in order.
    model : str or None
        The model named by the caller.
    encoding_format : {"float", "base64"}
        How vectors are returned.
    """

    texts: list[str]
    model: str | None
    encoding_format: str


def parse_embedding_request(payload: Any, *, max_batch: int | None = None, dim: int | None = None):
    """Validate a decoded JSON request body.

    Parameters
    ----------
    payload : Any
        The decoded JSON body.
    max_batch : int, optional
        Most inputs accepted in one request; more gives a 413.
    dim : int, optional
        The served dimension; a ``dimensions`` field that differs gives a 400.

    Returns
    -------
    EmbeddingRequest

    Raises
    ------
    WireError
        With status 400 for a malformed request and 413 for too many inputs.
    """
    if not isinstance(payload, dict):
        raise WireError(400, f"The request body must be a JSON object; received {type(payload).__name__}.")
    if "input" not in payload:
        raise WireError(400, "Missing required field 'input' (a string or a list of strings).", param="input")
    raw = payload["input"]
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise WireError(
            400,
            f"'input' must be a string or a non-empty list of strings; received {_describe(raw)}.",
            param="input",
        )
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        tokens = isinstance(texts[bad], int | list)
        hint = " Token arrays are not supported: send the text itself." if tokens else ""
        raise WireError(
            400, f"'input[{bad}]' must be a string; received {_describe(texts[bad])}.{hint}", param="input"
        )
    if max_batch is not None and len(texts) > max_batch:
        raise WireError(
            413,
            f"Too many inputs in one request: received {len(texts)}, this server accepts at most "
            f"{max_batch}. "
            "Split the inputs into smaller batches (the nmtune client does this with batch_size).",
            param="input",
            code="batch_too_large",
        )
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise WireError(400, f"'model' must be a string; received {_describe(model)}.", param="model")
    fmt = payload.get("encoding_format") or "float"
    if fmt not in ENCODING_FORMATS:
        raise WireError(
            400,
            f"'encoding_format' must be one of {ENCODING_FORMATS}; received {fmt!r}.",
            param="encoding_format",
        )
    dims = payload.get("dimensions")
    if dims is not None and dim is not None and dims != dim:
        raise WireError(
            400,
            f"'dimensions' must be {dim} (this model's dimension; truncation is not supported); "
            f"received {dims!r}.",
            param="dimensions",
        )
    return EmbeddingRequest(texts=texts, model=model, encoding_format=fmt)


def count_tokens(texts: list[str]) -> int:
    """Count whitespace-separated tokens, the ``usage`` figure the server reports."""
    return sum(len(t.split()) for t in texts)


def embedding_response(vectors: np.ndarray, *, model: str, encoding_format: str, prompt_tokens: int) -> dict:
    """Build the OpenAI embeddings response body.

    Parameters
    ----------
    vectors : np.ndarray, shape (N, D)
        The embeddings, in input order.
    model : str
        Model name to report.
    encoding_format : {"float", "base64"}
        JSON numbers or base64 of little-endian float32.
    prompt_tokens : int
        Token count to report in ``usage``.

    Returns
    -------
    dict
        ``{"object": "list", "data": [...], "model": ..., "usage": {...}}``.
    """
    vectors = np.ascontiguousarray(vectors, dtype="<f4")  # (N, D)
    if encoding_format == "base64":
        rows = [base64.b64encode(row.tobytes()).decode("ascii") for row in vectors]
    else:
        rows = vectors.tolist()
    data = [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)]
    usage = {"prompt_tokens": int(prompt_tokens), "total_tokens": int(prompt_tokens)}
    return {"object": "list", "data": data, "model": model, "usage": usage}


def decode_embeddings(payload: Any, *, n_expected: int, dim: int | None = None) -> np.ndarray:
    """Decode and validate an embeddings response; never returns partial or non-finite data.

    Parameters
    ----------
    payload : Any
        The decoded JSON response body.
    n_expected : int
        Number of inputs sent; the response must hold exactly one embedding per input.
    dim : int, optional
        Expected dimension D; when None every embedding must merely share one dimension.

    Returns
    -------
    np.ndarray, shape (N, D), float32
        Embeddings ordered by their ``index``.

    Raises
    ------
    ApiResponseError
        On a wrong count, missing/duplicate/out-of-range indices, a wrong or inconsistent dimension,
        non-numeric entries, undecodable base64, or NaN/inf values.
    """
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        got = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ApiResponseError(f"Malformed embeddings response: expected a 'data' list; received {got}.")
    if len(data) != n_expected:
        raise ApiResponseError(
            f"Malformed embeddings response: sent {n_expected} inputs but received {len(data)} embeddings."
        )
    rows: list[np.ndarray | None] = [None] * n_expected
    for pos, item in enumerate(data):
        index = item.get("index") if isinstance(item, dict) else None
        if type(index) is not int or not 0 <= index < n_expected:
            raise ApiResponseError(
                f"Malformed embeddings response: data[{pos}] has index {index!r}; "
                f"expected an integer in [0, {n_expected})."
            )
        if rows[index] is not None:
            raise ApiResponseError(f"Malformed embeddings response: index {index} appears twice.")
        rows[index] = _decode_vector(item.get("embedding"), index)
    dims = {row.shape[0] for row in rows}
    want = dim if dim is not None else rows[0].shape[0]
    if dims != {want} or want == 0:
        raise ApiResponseError(
            f"Malformed embeddings response: expected every embedding to have dimension {want}; "
            f"received dimensions {sorted(dims)}. If the model changed, create a new ApiEncoder (dim=None)."
        )
    with np.errstate(over="ignore"):  # values beyond float32 become inf and are reported below
        out = np.stack(rows).astype(np.float32, copy=False)  # (N, D)
    finite = np.isfinite(out)
    if not finite.all():
        bad = int(np.argwhere(~finite)[0, 0])
        raise ApiResponseError(
            f"Malformed embeddings response: embedding {bad} contains NaN or infinite values."
        )
    return out


def _decode_vector(value: Any, index: int) -> np.ndarray:
    """Decode one embedding (JSON number list or base64 float32) to a 1-D array."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiResponseError(
                f"Malformed embeddings response: embedding {index} is not valid base64."
            ) from exc
        if len(raw) % 4:
            raise ApiResponseError(
                f"Malformed embeddings response: embedding {index} has {len(raw)} bytes, "
                "not a whole number of float32 values."
            )
        return np.frombuffer(raw, dtype="<f4")
    if not isinstance(value, list) or not {type(v) for v in value} <= {float, int}:
        raise ApiResponseError(
            f"Malformed embeddings response: embedding {index} must be a list of numbers or a base64 string; "
            f"received {_describe(value)}."
        )
    return np.asarray(value, dtype=np.float64)


def _describe(value: Any) -> str:
    """Short description of a received value for error messages."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
