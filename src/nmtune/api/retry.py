"""Retry policy of the embedding client: which failures to retry and how long to wait (pure functions).

Exponential backoff with full jitter (wait ``uniform(0, min(cap, base * 2**(attempt - 1)))``), replaced by the
server's own ``Retry-After`` / ``retry-after-ms`` when it sends one.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

__all__ = ["RETRYABLE_STATUS", "backoff_delay", "is_retryable_status", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


def is_retryable_status(status: int) -> bool:
    """True for statuses worth retrying: 408, 409, 425, 429 and every 5xx."""
    return status in RETRYABLE_STATUS or status >= 500


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff.

    Parameters
    ----------
    attempt : int
        1 for the first retry, 2 for the second, ...
    base_s, cap_s : float
        Scale of the first wait and the largest possible wait, seconds.
    rng : random.Random
        Source of the jitter.

    Returns
    -------
    float
        Seconds to wait, uniform in ``[0, min(cap_s, base_s * 2**(attempt - 1))]``.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts retries from 1; received {attempt}.")
    return rng.uniform(0.0, min(cap_s, base_s * 2.0 ** min(attempt - 1, 62)))


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks the client to wait, or None.

    Reads ``retry-after-ms`` (milliseconds, as OpenAI sends) first, then ``retry-after`` as seconds or an
    HTTP date. Negative or unparsable values are ignored.

    Parameters
    ----------
    headers : mapping
        Response headers (case-insensitive lookups, e.g. ``httpx.Headers``, or lower-case keys).
    now : float, optional
        Current POSIX time for HTTP dates (defaults to ``time.time()``).

    Returns
    -------
    float or None
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
            return value if value >= 0 else None
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        value = when.timestamp() - (time.time() if now is None else now)
        return max(value, 0.0)
    return value if value >= 0 else None
