"""Limits of the embedding server, in a module light enough for ``nmtune --help`` to read."""

DEFAULT_MAX_BATCH = 2048  # most inputs in one request
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024  # largest request body
