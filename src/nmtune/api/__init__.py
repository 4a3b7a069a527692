"""Black-box embedding APIs: an OpenAI-compatible server for nmtune encoders and a robust client encoder.

- :func:`create_app` / :func:`serve` (``nmtune serve``): serve any text encoder at ``POST /v1/embeddings``.
- :class:`ApiEncoder` (``get_encoder("api:http://host:port")``): an embedding endpoint as a feature source.
- :class:`FaultConfig`: seeded fault injection for testing clients.

Needs the ``api`` extra (``pip install 'nmtune[api]'``: fastapi, uvicorn, httpx), imported lazily.
See ``docs/api.md``.
"""

import importlib

_LAZY = {
    "ApiEncoder": "nmtune.api.client",
    "load_api_encoder": "nmtune.api.client",
    "ApiError": "nmtune.api.errors",
    "ApiRequestError": "nmtune.api.errors",
    "ApiResponseError": "nmtune.api.errors",
    "FaultConfig": "nmtune.api.faults",
    "parse_faults": "nmtune.api.faults",
    "create_app": "nmtune.api.server",
    "serve": "nmtune.api.server",
}
__all__ = sorted(_LAZY)


def __getattr__(name):  # imported on first use: ``nmtune --help`` reads the server's defaults without httpx
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nmtune.api' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
