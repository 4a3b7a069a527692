"""Helpers of the API tests: a small deterministic text encoder and a subprocess server launcher."""

from __future__ import annotations

import hashlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nmtune.encoders import Encoder

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


class HashEncoder(Encoder):
    """Signed feature hashing of lower-cased word tokens, L2-normalised; identical in every process."""

    def __init__(self, dim: int = 32):
        super().__init__("hash-bow", dim, "text")

    def _fingerprint_parts(self) -> dict:
        return {"kind": "md5-signed-hashing", "tokens": r"[a-z0-9]+"}

    def _encode_batch(self, batch, device):
        out = np.zeros((len(batch), self.dim), dtype=np.float32)  # (B, D)
        for i, text in enumerate(batch):
            for token in re.findall(r"[a-z0-9]+", text.lower()):
                h = int.from_bytes(hashlib.md5(token.encode()).digest()[:8], "little")
                out[i, h % self.dim] += 1.0 if (h >> 40) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        return out


def make_texts(n: int, seed: int = 0) -> list[str]:
    """N short pseudo-sentences over a small vocabulary (deterministic)."""
    words = (
        "the cat dog runs fast slow model noise label tune feature space singular value api server "
        "client batch retry shard cache vector python encode"
    ).split()
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 12)))) for _ in range(n)]


def _python_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(HERE), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def server_process(args: list[str], *, cli: bool = False, port: int = 0, startup_timeout_s: float = 90.0):
    """Start a server subprocess on a free port (or ``port``); yield ``(base_url, process)``, then stop it.

    ``cli=True`` runs ``python -m nmtune serve ARGS``; otherwise ``_serve_hash.py ARGS`` (the HashEncoder).
    The port comes from the server's ready line, so no port is ever guessed.
    """
    script = ["-m", "nmtune", "serve"] if cli else [str(HERE / "_serve_hash.py")]
    cmd = [sys.executable, *script, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_python_env(), text=True)
    try:
        url = _wait_ready(proc, startup_timeout_s)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


def _wait_ready(proc: subprocess.Popen, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            match = re.search(r"at (http://\S+)", line)
            if match:
                return match.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read()[-3000:]}")
    proc.kill()
    raise RuntimeError(f"server did not start within {timeout_s} s")
