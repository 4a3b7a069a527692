"""Seeded fault injection for embedding servers: 429s, 500s, dropped connections, slow answers, outages.

:class:`FaultInjectionMiddleware` is a plain ASGI middleware; ``create_app(..., faults=FaultConfig(...))`` and
``nmtune serve --faults "429=0.1,500=0.1,drop=0.05,slow=0.1,seed=0"`` install it. It exists to test clients
(nmtune's own :class:`~nmtune.api.client.ApiEncoder` in the test suite, or any pipeline of yours) against the
failures hosted APIs really produce. Decisions come from one ``random.Random(seed)`` drawn once per request,
so a run with the same seed and the same request order meets the same faults.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass, fields

__all__ = ["FaultConfig", "FaultInjectionMiddleware", "parse_faults"]


@dataclass(frozen=True)
class FaultConfig:
    """Rates and shapes of injected faults.

    Parameters
    ----------
    rate_429 : float
        Fraction of requests answered ``429 Too Many Requests`` (with ``Retry-After`` when ``retry_after_s``).
    rate_500 : float
        Fraction answered ``500 Internal Server Error``.
    rate_drop : float
        Fraction whose connection is dropped mid-response (headers sent, body cut off).
    rate_slow : float
        Fraction answered normally but only after ``slow_s`` seconds (a client timeout shorter than that
        sees a timeout).
    slow_s : float
        Delay of slow answers, seconds.
    retry_after_s : float or None
        ``Retry-After`` value sent with 429s; None sends no header.
    fail_after : int or None
        After this many requests every request gets ``503`` (a lasting outage); None never.
    seed : int
        Seed of the random decisions.
    paths : tuple of str
        Paths that receive faults; other paths (``/health``, ``/v1/models``) pass untouched.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_s: float = 1.0
    retry_after_s: float | None = 0.05
    fail_after: int | None = None
    seed: int = 0
    paths: tuple[str, ...] = ("/v1/embeddings",)

    def __post_init__(self):
        rates = (self.rate_429, self.rate_500, self.rate_drop, self.rate_slow)
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise ValueError(
                f"Fault rates must be >= 0 and sum to at most 1; received 429={self.rate_429}, "
                f"500={self.rate_500}, drop={self.rate_drop}, slow={self.rate_slow}."
            )


_SPEC_KEYS = {
    "429": "rate_429",
    "500": "rate_500",
    "drop": "rate_drop",
    "slow": "rate_slow",
    "slow_s": "slow_s",
    "retry_after": "retry_after_s",
    "fail_after": "fail_after",
    "seed": "seed",
}


def parse_faults(spec: str) -> FaultConfig:
    """Parse ``"429=0.1,500=0.1,drop=0.05,slow=0.1,slow_s=1.5,retry_after=0.2,fail_after=50,seed=0"``.

    Parameters
    ----------
    spec : str
        Comma-separated ``key=value`` pairs; keys as in the example, all optional.

    Returns
    -------
    FaultConfig
    """
    from nmtune.exceptions import unknown_name_error

    values = {}
    types = {f.name: f.type for f in fields(FaultConfig)}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"Fault spec entries look like key=value; received {part!r} in {spec!r}.")
        if key.strip() not in _SPEC_KEYS:
            raise unknown_name_error("fault key", key.strip(), _SPEC_KEYS)
        name = _SPEC_KEYS[key.strip()]
        is_int = name in ("fail_after", "seed")
        try:
            values[name] = int(value) if is_int else float(value)
        except ValueError as exc:
            raise ValueError(f"Fault {key!r} needs a number ({types[name]}); received {value!r}.") from exc
    return FaultConfig(**values)


class FaultInjectionMiddleware:
    """ASGI middleware that injects the faults of a :class:`FaultConfig`.

    Parameters
    ----------
    app : ASGI application
        The wrapped application.
    config : FaultConfig
        What to inject.
    counts : dict, optional
        Dict to count faults in (shared with the caller, e.g. reported by ``/health``); a new one if None.

    Attributes
    ----------
    counts : dict
        How many requests met each fault: ``"429"``, ``"500"``, ``"drop"``, ``"slow"``, ``"outage"``
        and ``"ok"``.
    """

    def __init__(self, app, config: FaultConfig, counts: dict | None = None):
        self.app = app
        self.config = config
        self.counts = {} if counts is None else counts
        for kind in ("429", "500", "drop", "slow", "outage", "ok"):
            self.counts.setdefault(kind, 0)
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self._seen = 0

    def _decide(self) -> str:
        c = self.config
        with self._lock:
            n, self._seen = self._seen, self._seen + 1
            u = self._rng.random()
        if c.fail_after is not None and n >= c.fail_after:
            return "outage"
        rates = (("429", c.rate_429), ("500", c.rate_500), ("drop", c.rate_drop), ("slow", c.rate_slow))
        for kind, rate in rates:
            if u < rate:
                return kind
            u -= rate
        return "ok"

    async def __call__(self, scope, receive, send):
        """Handle one ASGI connection, injecting a fault on the configured paths."""
        if scope["type"] != "http" or scope["path"] not in self.config.paths:
            return await self.app(scope, receive, send)
        kind = self._decide()
        self.counts[kind] += 1
        if kind == "429":
            wait_s = self.config.retry_after_s
            headers = {} if wait_s is None else {"retry-after": f"{wait_s:g}"}
            return await _send_error(
                send, 429, "Rate limit reached (injected fault).", "rate_limit_exceeded", headers
            )
        if kind in ("500", "outage"):
            status = 500 if kind == "500" else 503
            return await _send_error(send, status, f"Injected {kind} fault.", "server_error", {})
        if kind == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"object": "list", "da', "more_body": True})
            return None  # the server closes the connection: the client sees a truncated response
        if kind == "slow":
            await asyncio.sleep(self.config.slow_s)
        return await self.app(scope, receive, send)


async def _send_error(send, status: int, message: str, code: str, headers: dict) -> None:
    kind = "server_error" if status >= 500 else "requests"
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
