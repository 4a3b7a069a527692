"""``nmtune serve --encoder NAME``: serve an encoder as an OpenAI-compatible embedding endpoint."""

from __future__ import annotations

import os


def register(subparsers) -> None:
    """Add the ``serve`` subcommand."""
    from nmtune.api.defaults import DEFAULT_MAX_BATCH, DEFAULT_MAX_REQUEST_BYTES

    p = subparsers.add_parser(
        "serve",
        help="serve an encoder at POST /v1/embeddings (OpenAI wire format)",
        description="Serve a text encoder over HTTP: POST /v1/embeddings (OpenAI format), GET /v1/models, "
        "GET /health. Concurrent requests are micro-batched. Stop with Ctrl-C or SIGTERM: requests in "
        "flight are finished first. Needs: pip install 'nmtune[api]'.",
    )
    p.add_argument("--encoder", required=True, help="encoder name, e.g. glove-50, minilm, hf:<path>")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' (default: $NMTUNE_SERVE_API_KEY, else no auth)",
    )
    p.add_argument(
        "--max-batch",
        type=int,
        default=DEFAULT_MAX_BATCH,
        help=f"most inputs per request, 413 beyond (default {DEFAULT_MAX_BATCH})",
    )
    p.add_argument(
        "--max-request-bytes",
        type=int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        help=f"largest request body, 413 beyond (default {DEFAULT_MAX_REQUEST_BYTES})",
    )
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=2.0,
        help="how long concurrent requests are gathered into one encoder call (default 2)",
    )
    p.add_argument("--model-name", default=None, help="model name to report (default: the encoder name)")
    p.add_argument("--device", default="cpu", help="device the encoder runs on (default cpu)")
    p.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="testing aid: inject seeded faults, e.g. '429=0.1,500=0.1,drop=0.05,slow=0.1,seed=0'",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.api.server import serve

    serve(
        args.encoder,
        host=args.host,
        port=args.port,
        api_key=args.api_key or os.environ.get("NMTUNE_SERVE_API_KEY") or None,
        max_batch=args.max_batch,
        max_request_bytes=args.max_request_bytes,
        batch_wait_ms=args.batch_wait_ms,
        model_name=args.model_name,
        device=args.device,
        faults=args.faults,
        log_level=args.log_level,
    )
    return 0
