"""An OpenAI-compatible embedding server for any nmtune text encoder.

``create_app(encoder)`` returns a FastAPI application with

- ``POST /v1/embeddings``: OpenAI wire format (``input`` a string or list of strings, ``model``,
  ``encoding_format`` ``"float"`` or ``"base64"``); concurrent requests are micro-batched
  (:class:`~nmtune.api.batcher.MicroBatcher`) and encoded in a worker thread;
- ``GET /v1/models``: the one served model;
- ``GET /health``: liveness plus counters (no authentication).

Optional bearer authentication (401 with an OpenAI-style error body), a limit on inputs per request and on
request bytes (413). ``serve(...)`` runs it under uvicorn; on SIGTERM/SIGINT uvicorn stops accepting
connections and finishes the requests in flight before the process exits.
"""

import hmac
import json
import socket
from contextlib import asynccontextmanager

import numpy as np

from nmtune._internal.validation import check_number
from nmtune.api.batcher import MicroBatcher
from nmtune.api.defaults import DEFAULT_MAX_BATCH, DEFAULT_MAX_REQUEST_BYTES
from nmtune.api.faults import FaultConfig, FaultInjectionMiddleware
from nmtune.api.wire import WireError, count_tokens, embedding_response, error_body, parse_embedding_request
from nmtune.exceptions import require

__all__ = ["create_app", "serve", "bind_socket", "DEFAULT_MAX_BATCH", "DEFAULT_MAX_REQUEST_BYTES"]


def create_app(
    encoder,
    *,
    model_name: str | None = None,
    api_key: str | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    batch_wait_ms: float = 2.0,
    max_batch_inputs: int = 512,
    encode_batch_size: int = 64,
    device: str = "cpu",
    faults: FaultConfig | None = None,
):
    """Build the FastAPI application serving ``encoder``.

    Parameters
    ----------
    encoder : Encoder
        A text encoder: ``encode(texts, batch_size=, device=, progress=) -> (N, D) float32``, ``dim``,
        ``name``.
    model_name : str, optional
        Name reported and accepted as ``model``; defaults to ``encoder.name``. Requests naming another model
        get 404; requests without ``model`` are served.
    api_key : str, optional
        When given, ``/v1/*`` requires ``Authorization: Bearer <api_key>`` (401 otherwise).
    max_batch : int, default 2048
        Most inputs in one request (413 beyond).
    max_request_bytes : int, default 16 MiB
        Largest request body (413 beyond).
    batch_wait_ms : float, default 2.0
        How long concurrent requests are gathered into one encoder call.
    max_batch_inputs : int, default 512
        Most texts per micro-batched encoder call.
    encode_batch_size : int, default 64
        ``batch_size`` passed to ``encoder.encode``.
    device : str, default "cpu"
        ``device`` passed to ``encoder.encode``.
    faults : FaultConfig, optional
        Inject seeded faults (testing aid, see :mod:`nmtune.api.faults`).

    Returns
    -------
    fastapi.FastAPI
        With ``app.state.batcher`` (its ``stats`` count requests, inputs and encoder calls). ``GET /health``
        reports these counts, and the injected faults when ``faults`` is given.
    """
    fastapi = require("fastapi", "api", "the embedding server")
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    if getattr(encoder, "modality", "text") != "text":
        raise ValueError(
            f"The embedding server serves text encoders; {encoder.name!r} has modality {encoder.modality!r}."
        )
    for name, value in (("max_batch", max_batch), ("max_request_bytes", max_request_bytes)):
        check_number(name, value, low=1, integer=True)
    model = model_name or encoder.name
    dim = int(encoder.dim)

    def encode(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, batch_size=encode_batch_size, device=device, progress=False)

    fault_counts: dict = {}
    batcher = MicroBatcher(encode, max_wait_s=batch_wait_ms / 1000.0, max_inputs=max_batch_inputs)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await batcher.aclose()  # uvicorn has finished the requests in flight by now

    app = fastapi.FastAPI(title="nmtune embeddings", lifespan=lifespan)
    app.state.batcher = batcher

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code)

    @app.get("/health")
    async def health():
        report = {"status": "ok", "model": model, "dim": dim, "stats": dict(batcher.stats)}
        if faults is not None:
            report["faults"] = dict(fault_counts)
        return report

    @app.get("/v1/models")
    async def models(request: fastapi.Request):
        if (err := _auth_error(request, api_key)) is not None:
            return _fail(err, {"www-authenticate": "Bearer"})
        card = {"id": model, "object": "model", "created": 0, "owned_by": "nmtune", "dim": dim}
        return {"object": "list", "data": [card]}

    @app.post("/v1/embeddings")
    async def embeddings(request: fastapi.Request):
        if (err := _auth_error(request, api_key)) is not None:
            return _fail(err, {"www-authenticate": "Bearer"})
        try:
            req = await _parse_request(request, max_request_bytes, max_batch, dim, model)
            return JSONResponse(await _embed(batcher, req, model))
        except WireError as exc:
            return _fail(exc)

    if faults is not None:
        app.add_middleware(FaultInjectionMiddleware, config=faults, counts=fault_counts)
    return app


def _fail(exc: WireError, headers: dict | None = None):
    from fastapi.responses import JSONResponse

    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _auth_error(request, api_key: str | None) -> WireError | None:
    """``None`` when the request may pass (no key set, or the right bearer token), else the 401 to answer."""
    if api_key is None:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode()):
        return None
    what = "no Authorization header" if not header else "a wrong key"
    return WireError(
        401,
        f"Incorrect or missing API key: received {what}. Send 'Authorization: Bearer <key>' "
        "(the nmtune client reads api_key=, NMTUNE_API_KEY or OPENAI_API_KEY).",
        code="invalid_api_key",
    )


async def _parse_request(request, max_request_bytes: int, max_batch: int, dim: int, model: str):
    """The validated embedding request; every problem with it is a :class:`WireError` (4xx)."""
    body = await _read_limited(request, max_request_bytes)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WireError(400, f"The request body is not valid JSON ({exc}).") from exc
    req = parse_embedding_request(payload, max_batch=max_batch, dim=dim)
    if req.model is not None and req.model != model:
        raise WireError(
            404,
            f"The model {req.model!r} does not exist here; this server serves {model!r}.",
            param="model",
            code="model_not_found",
        )
    return req


async def _embed(batcher: MicroBatcher, req, model: str) -> dict:
    """Encode the request's texts through the micro-batcher; an encoder failure is a 500 :class:`WireError`."""
    try:
        vectors = await batcher.submit(req.texts)  # (N, D)
    except Exception as exc:  # encoder failure: report it, keep serving
        raise WireError(
            500, f"The encoder failed: {type(exc).__name__}: {exc}", code="encoder_error"
        ) from exc
    if not np.isfinite(vectors).all():
        bad = int(np.argwhere(~np.isfinite(vectors))[0, 0])
        message = f"The encoder produced NaN or infinite values for input {bad}; nothing was returned."
        raise WireError(500, message, code="encoder_error")
    return embedding_response(
        vectors, model=model, encoding_format=req.encoding_format, prompt_tokens=count_tokens(req.texts)
    )


async def _read_limited(request, limit: int) -> bytes:
    """Read the request body, answering 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_big = WireError(
        413,
        f"Request body too large: this server accepts at most {limit} bytes"
        f"{f', received Content-Length {declared}' if declared else ''}. "
        "Send fewer or shorter inputs per request.",
        code="request_too_large",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    from starlette.requests import ClientDisconnect

    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:  # the client left mid-body: nobody to answer, nothing to log as a server error
        raise WireError(
            400, "The client disconnected before sending the whole body.", code="client_disconnect"
        ) from None
    return b"".join(chunks)


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind and listen on ``(host, port)``; ``port=0`` picks a free port (read it from ``getsockname()``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def check_port_free(host: str, port: int) -> None:
    """Raise ``OSError`` naming the port and the fix when ``host:port`` cannot be bound (``port=0`` always can)."""
    import socket

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"A port is an integer from 0 to 65535 (0 picks a free one); received {port!r}.")
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as uvicorn binds: a port in TIME_WAIT after a server stopped is free; one with a listener is not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise OSError(
                f"Cannot listen on {host}:{port} ({exc.strerror or exc}): another program holds the port. Pick "
                "another with --port, or --port 0 for a free one."
            ) from exc


def serve(
    encoder,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    batch_wait_ms: float = 2.0,
    model_name: str | None = None,
    device: str = "cpu",
    faults: FaultConfig | str | None = None,
    graceful_timeout_s: float = 30.0,
    log_level: str = "warning",
) -> None:
    """Serve ``encoder`` over HTTP until SIGINT/SIGTERM (blocking).

    Prints ``nmtune serve: serving MODEL (dim D) at http://HOST:PORT`` on stdout once the socket listens,
    so ``port=0`` can be used and the chosen port read back.

    Parameters
    ----------
    encoder : Encoder or str
        An encoder object or a name for :func:`nmtune.encoders.get_encoder`.
    host, port : str, int
        Where to listen; ``port=0`` picks a free port.
    api_key, max_batch, max_request_bytes, batch_wait_ms, model_name, device
        As in :func:`create_app`.
    faults : FaultConfig or str, optional
        Inject faults (a :class:`FaultConfig` or a spec for :func:`~nmtune.api.faults.parse_faults`).
    graceful_timeout_s : float, default 30
        On shutdown, how long requests in flight may take before connections are closed.
    log_level : str, default "warning"
        uvicorn log level.
    """
    uvicorn = require("uvicorn", "api", "the embedding server")
    check_port_free(host, port)  # before loading the encoder: a busy port fails at once, with what to do
    if isinstance(encoder, str):
        from nmtune.encoders import get_encoder

        encoder = get_encoder(encoder)
    if isinstance(faults, str):
        from nmtune.api.faults import parse_faults

        faults = parse_faults(faults)
    app = create_app(
        encoder,
        model_name=model_name,
        api_key=api_key,
        max_batch=max_batch,
        max_request_bytes=max_request_bytes,
        batch_wait_ms=batch_wait_ms,
        device=device,
        faults=faults,
    )
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"nmtune serve: serving {encoder.name if model_name is None else model_name} (dim {encoder.dim}) "
        f"at http://{shown}:{bound_port}",
        flush=True,
    )
    config = uvicorn.Config(
        app, log_level=log_level, timeout_graceful_shutdown=graceful_timeout_s, lifespan="on"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])  # re-raises SIGTERM/SIGINT after a graceful shutdown
    finally:
        sock.close()
