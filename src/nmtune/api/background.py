"""Run an ASGI app under uvicorn in a background thread (notebooks, tests, benchmarks)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from nmtune.api.server import bind_socket
from nmtune.exceptions import require

__all__ = ["serve_in_thread"]


@contextmanager
def serve_in_thread(app, *, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 20.0):
    """Serve ``app`` on a free port in a daemon thread for the duration of a ``with`` block.

    Parameters
    ----------
    app : ASGI application
        E.g. from :func:`nmtune.api.server.create_app`.
    host : str, default "127.0.0.1"
        Interface to bind.
    port : int, default 0
        Port; 0 picks a free one.
    startup_timeout_s : float, default 20
        How long to wait for the server to start.

    Yields
    ------
    str
        The base URL, e.g. ``"http://127.0.0.1:54321"``.
    """
    uvicorn = require("uvicorn", "api", "the embedding server")
    sock = bind_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="nmtune-serve")
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"The background server at {url} did not start within {startup_timeout_s} s.")
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
