"""Errors of the embedding API client and server."""

from __future__ import annotations

from nmtune.exceptions import NMTuneError

__all__ = ["ApiError", "ApiResponseError", "ApiRequestError"]


class ApiError(NMTuneError, RuntimeError):
    """An embedding API could not be reached or kept failing until the retry budget ran out."""


class ApiResponseError(ApiError, ValueError):
    """An embedding API answered with a malformed response (wrong count, index, dimension or values)."""


class ApiRequestError(ApiError, ValueError):
    """An embedding API rejected a request with a non-retryable status (400, 401, 403, 404, 413, 422, ...).

    Attributes
    ----------
    status_code : int
        The HTTP status of the rejection.
    """

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code
