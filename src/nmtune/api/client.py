"""``ApiEncoder``: an OpenAI-compatible embedding endpoint as an nmtune text encoder (``api:<base-url>``).

Texts are sent in batches of ``batch_size`` with at most ``max_concurrency`` requests in flight (a thread pool
sharing one ``httpx.Client``). Failures that may pass (429, 5xx, timeouts, refused or dropped connections) are
retried with exponential backoff and full jitter, honouring ``Retry-After``; after ``max_retries`` retries or
``retry_budget_s`` seconds for one batch the client gives up with :class:`~nmtune.api.errors.ApiError`.
Responses are validated strictly (:func:`~nmtune.api.wire.decode_embeddings`): a wrong count, index or
dimension, a non-numeric or non-finite value is an :class:`~nmtune.api.errors.ApiResponseError`.

Settings from the environment when not given as arguments:

- ``NMTUNE_API_MODEL``: the model name (otherwise the one model listed by ``GET /v1/models``);
- ``NMTUNE_API_KEY``, then ``OPENAI_API_KEY``: the bearer token.

The encoder sets ``preferred_shard_size`` so that :func:`nmtune.cache.get_features` saves results in small
shards: an interrupted extraction loses at most one shard and a re-run only requests what is missing.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import numpy as np

from nmtune._internal.validation import check_number
from nmtune.api.errors import ApiError, ApiRequestError, ApiResponseError
from nmtune.api.retry import backoff_delay, is_retryable_status, parse_retry_after
from nmtune.api.wire import ENCODING_FORMATS, decode_embeddings
from nmtune.exceptions import require

__all__ = ["ApiEncoder", "load_api_encoder"]

MODEL_ENV = "NMTUNE_API_MODEL"
BASE_URL_ENVS = ("NMTUNE_API_BASE_URL", "OPENAI_BASE_URL")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENVS = ("NMTUNE_API_KEY", "OPENAI_API_KEY")


class ApiEncoder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint, behind the nmtune Encoder contract.

    Parameters
    ----------
    base_url : str
        Server root (``http://127.0.0.1:8000``) or API root ending in ``/v1`` (``https://api.openai.com/v1``).
    model : str, optional
        Model name sent with each request; default ``$NMTUNE_API_MODEL``, else the single model listed by
        ``GET /v1/models``.
    api_key : str, optional
        Bearer token; default ``$NMTUNE_API_KEY``, else ``$OPENAI_API_KEY``, else none.
    batch_size : int, default 64
        Inputs per request. A 413 answer halves the batch and retries.
    max_concurrency : int, default 4
        Requests in flight at once.
    timeout : float, default 60
        Seconds per request (connect, read, write).
    max_retries : int, default 8
        Retries per batch before giving up.
    retry_budget_s : float, default 120
        Seconds per batch, waits included, before giving up.
    backoff_base_s, backoff_max_s : float, default 0.25 and 16
        Scale and cap of the exponential backoff.
    dim : int, optional
        Embedding dimension D; probed with one request when not given.
    encoding_format : {"base64", "float"}, default "base64"
        Wire encoding; both are exact for float32.
    shard_size : int, optional
        ``preferred_shard_size`` for the feature cache; default ``batch_size * max_concurrency * 2``.
    random_state : int, optional
        Seed of the backoff jitter.

    Attributes
    ----------
    name : str
        ``"api:<base_url>"``.
    modality : str
        ``"text"``.
    stats : dict
        ``requests`` sent, ``retries``, ``inputs`` embedded, ``split_batches`` after 413s.

    Examples
    --------
    >>> enc = ApiEncoder("http://127.0.0.1:8000", model="glove-50")  # doctest: +SKIP
    >>> X = enc.encode(["a first text", "a second one"])              # doctest: +SKIP
    >>> X.shape                                                       # doctest: +SKIP
    (2, 50)
    """

    modality = "text"

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        batch_size: int = 64,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 8,
        retry_budget_s: float = 120.0,
        backoff_base_s: float = 0.25,
        backoff_max_s: float = 16.0,
        dim: int | None = None,
        encoding_format: str = "base64",
        shard_size: int | None = None,
        random_state: int | None = None,
    ):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must start with http:// or https://; received {base_url!r} "
                "(e.g. 'api:http://127.0.0.1:8000' or ApiEncoder('https://api.openai.com/v1'))."
            )
        for name, value in (("batch_size", batch_size), ("max_concurrency", max_concurrency)):
            check_number(name, value, low=1, integer=True)
        for name, value in (("dim", dim), ("shard_size", shard_size)):
            check_number(name, value, low=1, integer=True, allow_none=True)
        for name, value in (
            ("timeout", timeout),
            ("retry_budget_s", retry_budget_s),
            ("backoff_base_s", backoff_base_s),
            ("backoff_max_s", backoff_max_s),
        ):
            check_number(f"{name} (seconds)", value, low=0, low_open=True)
        check_number("max_retries", max_retries, low=0, integer=True)
        if encoding_format not in ENCODING_FORMATS:
            raise ValueError(
                f"encoding_format must be one of {ENCODING_FORMATS}; received {encoding_format!r}."
            )
        self.base_url = base_url.rstrip("/")
        root = self.base_url if self.base_url.endswith("/v1") else f"{self.base_url}/v1"
        self._endpoint = {"embeddings": f"{root}/embeddings", "models": f"{root}/models"}
        self.name = f"api:{self.base_url}"
        self.batch_size = int(batch_size)
        self.max_concurrency = int(max_concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.retry_budget_s = float(retry_budget_s)
        self.backoff_base_s = float(backoff_base_s)
        self.backoff_max_s = float(backoff_max_s)
        self.encoding_format = encoding_format
        self.shard_size = shard_size
        self._model = model or os.environ.get(MODEL_ENV) or None
        self._api_key = api_key or next((os.environ[k] for k in KEY_ENVS if os.environ.get(k)), None)
        self._dim = None if dim is None else int(dim)
        self._rng = random.Random(random_state)
        self._lock = threading.Lock()
        self._client = None
        self.stats = {"requests": 0, "retries": 0, "inputs": 0, "split_batches": 0}
        self._reached = False  # whether the server has answered once (then refused connections are retried)

    # ------------------------------------------------------------------ Encoder contract
    @property
    def model(self) -> str:
        """Model name sent with each request (resolved from ``GET /v1/models`` if needed)."""
        if self._model is None:
            listing = self._request("GET", self._endpoint["models"])
            ids = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)]
            if len(ids) != 1 or not isinstance(ids[0], str):
                raise ValueError(
                    f"No model given and {self._endpoint['models']} lists {len(ids)} models ({ids[:10]}); "
                    f"pass model=... or set {MODEL_ENV}."
                )
            self._model = ids[0]
        return self._model

    @property
    def dim(self) -> int:
        """Embedding dimension D (one probe request when not given)."""
        if self._dim is None:
            self._dim = int(self._embed(["dimension probe"]).shape[1])
        return self._dim

    @property
    def fingerprint(self) -> str:
        """Hex digest of base URL, model and dimension: what identifies these embeddings."""
        key = f"nmtune-api-v1\n{self.base_url}\n{self.model}\n{self.dim}"
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def preferred_shard_size(self) -> int:
        """Rows per feature-cache shard: small, so an interruption loses little."""
        return self.shard_size or self.batch_size * self.max_concurrency * 2

    def encode(
        self,
        inputs: Sequence[str],
        *,
        batch_size: int | None = None,
        device: str = "cpu",
        progress: bool = True,
    ) -> np.ndarray:
        """Embed texts through the API.

        Parameters
        ----------
        inputs : sequence of str
            N texts.
        batch_size : int, optional
            Inputs per request, capped at the encoder's own ``batch_size``.
        device : str
            Ignored (the model runs on the server); accepted for the Encoder contract.
        progress : bool, default True
            Show a progress bar.

        Returns
        -------
        np.ndarray, shape (N, D), float32
            In input order.
        """
        if isinstance(inputs, str | bytes):
            raise TypeError(
                f"{self.name}: encode() takes a sequence of texts, not a single string; wrap it in a list."
            )
        texts = list(inputs)
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(
                f"ApiEncoder encodes text: inputs[{bad}] is {type(texts[bad]).__name__}, not str."
            )
        size = self.batch_size if batch_size is None else max(1, min(int(batch_size), self.batch_size))
        out = np.empty((len(texts), self.dim), dtype=np.float32)  # (N, D)
        if not texts:
            return out
        from tqdm.auto import tqdm

        starts = range(0, len(texts), size)
        abort = threading.Event()  # set on failure or interrupt: other batches stop retrying at once
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="nmtune-api")
        try:
            with tqdm(total=len(texts), unit="text", desc=self.name, disable=not progress) as bar:
                pending = {pool.submit(self._embed, texts[s : s + size], abort): s for s in starts}
                while pending:
                    done, _ = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        start = pending.pop(future)
                        if future.exception() is not None:
                            raise future.exception()
                        block = future.result()
                        out[start : start + len(block)] = block
                        bar.update(len(block))
        finally:
            abort.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return out

    # ------------------------------------------------------------------ HTTP
    def _embed(self, texts: list[str], abort: threading.Event | None = None) -> np.ndarray:
        """One batch -> (len(texts), D); halves the batch on 413; stops retrying once ``abort`` is set."""
        payload = {"input": texts, "model": self.model, "encoding_format": self.encoding_format}
        try:
            body = self._request("POST", self._endpoint["embeddings"], payload, abort)
        except ApiRequestError as exc:
            if exc.status_code != 413 or len(texts) == 1:
                raise
            with self._lock:
                self.stats["split_batches"] += 1
            half = len(texts) // 2
            return np.concatenate([self._embed(texts[:half], abort), self._embed(texts[half:], abort)])
        vectors = decode_embeddings(body, n_expected=len(texts), dim=self._dim)
        with self._lock:
            self.stats["inputs"] += len(texts)
        return vectors

    def _http(self):
        with self._lock:
            if self._client is None:
                httpx = require("httpx", "api", "the embedding API client")
                limits = httpx.Limits(
                    max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency
                )
                self._client = httpx.Client(timeout=self.timeout, limits=limits)
            return self._client

    def _request(
        self, method: str, url: str, payload: dict | None = None, abort: threading.Event | None = None
    ) -> dict:
        """Send one request with retries; returns the decoded JSON body."""
        httpx = require("httpx", "api", "the embedding API client")
        client = self._http()
        headers = {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        started, attempt = time.monotonic(), 0
        while True:
            with self._lock:
                self.stats["requests"] += 1
            retry_after = None
            try:
                response = client.request(method, url, json=payload, headers=headers)
            except httpx.ConnectError as exc:  # nothing listening (refused) or the host unreachable
                last = f"{type(exc).__name__}: {exc or 'no detail'}"
                if not self._reached and attempt >= _CONNECT_TRIES_BEFORE_FIRST_ANSWER - 1:
                    raise ApiError(
                        f"Cannot connect to {url} ({last}) and it never answered: is the server running and "
                        "the URL right? Start one with `nmtune serve --encoder NAME --port PORT`."
                    ) from exc
            except httpx.TransportError as exc:  # timeouts, dropped connections, truncated bodies
                last = f"{type(exc).__name__}: {exc or 'no detail'}"
            else:
                self._reached = True
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ApiResponseError(
                            f"{method} {url} answered {response.status_code} with a body that is not JSON: "
                            f"{response.text[:200]!r}"
                        ) from exc
                message = _error_message(response)
                if not is_retryable_status(response.status_code):
                    raise ApiRequestError(
                        _rejection(method, url, response.status_code, message), response.status_code
                    )
                last = f"HTTP {response.status_code}: {message}"
                retry_after = parse_retry_after(response.headers)
            attempt += 1
            elapsed = time.monotonic() - started
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(
                    attempt, base_s=self.backoff_base_s, cap_s=self.backoff_max_s, rng=self._rng
                )
            )
            if attempt > self.max_retries or elapsed + delay > self.retry_budget_s:
                asked = f" (the server asked to wait {retry_after:.1f} s)" if retry_after is not None else ""
                raise ApiError(
                    f"Gave up on {method} {url} after {attempt} attempts in {elapsed:.1f} s{asked}; "
                    f"last error: {last}. Check that the server is up and not overloaded, or raise "
                    f"max_retries (now {self.max_retries}) / retry_budget_s (now {self.retry_budget_s:g})."
                )
            with self._lock:
                self.stats["retries"] += 1
            if abort is None:
                time.sleep(delay)
            elif abort.wait(delay):
                raise ApiError(f"{method} {url} abandoned: another batch of the same encode() failed.")

    def close(self) -> None:
        """Close the HTTP connections (the encoder reopens them when used again)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        model = self._model or "<from /v1/models>"
        return f"ApiEncoder({self.base_url!r}, model={model!r}, batch_size={self.batch_size})"


#: Connection attempts before giving up on a server that has never answered (a wrong URL or a stopped server
#: fails in well under a second instead of after the whole retry budget).
_CONNECT_TRIES_BEFORE_FIRST_ANSWER = 2


def _error_message(response) -> str:
    """The message of an OpenAI-style error body, else the start of the body."""
    try:
        body = response.json()
        message = body["error"]["message"] if isinstance(body.get("error"), dict) else body.get("detail")
        if message:
            return str(message)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return response.text[:200] or response.reason_phrase


def _rejection(method: str, url: str, status: int, message: str) -> str:
    hints = {
        401: " Pass api_key=... or set NMTUNE_API_KEY (or OPENAI_API_KEY).",
        403: " The key is not allowed to use this model or endpoint.",
        404: " Check the base URL (it should end at the server root or at /v1) and the model name.",
        413: " Lower batch_size (or raise the server's --max-request-bytes / --max-batch).",
    }
    return f"{method} {url} was rejected with HTTP {status}: {message}.{hints.get(status, '')}"


def load_api_encoder(spec: str, **options) -> ApiEncoder:
    """Factory behind ``get_encoder("api:<spec>", **options)``.

    Parameters
    ----------
    spec : str
        ``"http://host:port"`` (model from ``model=``, ``$NMTUNE_API_MODEL`` or ``GET /v1/models``),
        ``"http://host:port#model"``, or a bare model name such as ``"text-embedding-3-small"``, served at
        ``base_url=`` / ``$NMTUNE_API_BASE_URL`` / ``$OPENAI_BASE_URL`` / ``https://api.openai.com/v1``.
    **options
        Keyword arguments of :class:`ApiEncoder`.

    Returns
    -------
    ApiEncoder
    """
    url, sep, model = spec.partition("#") if spec.startswith(("http://", "https://")) else ("", "", spec)
    if sep and "model" in options and options["model"] != model:
        raise ValueError(f"The model is given twice: {model!r} in {spec!r} and model={options['model']!r}.")
    if model:
        options["model"] = model
    if not url:
        url = options.pop("base_url", None) or next(
            (os.environ[k] for k in BASE_URL_ENVS if os.environ.get(k)), DEFAULT_BASE_URL
        )
    options.pop("base_url", None)
    return ApiEncoder(url, **options)
