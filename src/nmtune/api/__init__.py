"""Black-box embedding APIs: an OpenAI-compatible server for nmtune encoders and a robust client encoder.

- :func:`create_app` / :func:`serve` (``nmtune serve``): serve any text encoder at ``POST /v1/embeddings``.
- :class:`ApiEncoder` (``get_encoder("api:http://host:port")``): an embedding endpoint as a feature source.
- :class:`FaultConfig`: seeded fault injection for testing clients.

Needs the ``api`` extra (``pip install 'nmtune[api]'``: fastapi, uvicorn, httpx), imported lazily.
See ``docs/api.md``.
"""

from nmtune.api.client import ApiEncoder, load_api_encoder
from nmtune.api.errors import ApiError, ApiRequestError, ApiResponseError
from nmtune.api.faults import FaultConfig, parse_faults
from nmtune.api.server import create_app, serve

__all__ = [
    "ApiEncoder",
    "ApiError",
    "ApiRequestError",
    "ApiResponseError",
    "FaultConfig",
    "create_app",
    "load_api_encoder",
    "parse_faults",
    "serve",
]
