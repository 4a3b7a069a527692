"""Throughput of an encoder through the embedding server + client versus in-process, side by side.

    .venv/bin/python benchmarks/bench_api.py --encoder glove-50 --n 4000
    .venv/bin/python benchmarks/bench_api.py --encoder minilm --n 128 --truncate 256

The server runs in a subprocess (``nmtune serve --port 0``) on 127.0.0.1, as a real deployment would; the
client is :class:`nmtune.api.ApiEncoder`. Texts are the first N documents of a real dataset (default
reuters-r8, train split). Every API result is checked against the in-process result before timing is reported.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time

import numpy as np


def _start_server(encoder: str, batch_wait_ms: float):
    cmd = [
        sys.executable,
        "-m",
        "nmtune",
        "serve",
        "--encoder",
        encoder,
        "--port",
        "0",
        "--batch-wait-ms",
        str(batch_wait_ms),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            match = re.search(r"at (http://\S+)", proc.stdout.readline())
            if match:
                return proc, match.group(1)
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode}")
    proc.kill()
    raise SystemExit("server did not start in 180 s")


def _best_of(repeats: int, fn):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoder", default="glove-50")
    p.add_argument("--dataset", default="reuters-r8")
    p.add_argument("--n", type=int, default=4000, help="number of texts")
    p.add_argument("--truncate", type=int, default=0, help="cut texts to this many characters (0: keep)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=4, help="client requests in flight")
    p.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    p.add_argument("--batch-wait-ms", type=float, default=2.0)
    args = p.parse_args(argv)

    from nmtune.api import ApiEncoder
    from nmtune.datasets import load_dataset
    from nmtune.encoders import get_encoder

    texts = list(load_dataset(args.dataset, "train").inputs[: args.n])
    if args.truncate:
        texts = [t[: args.truncate] for t in texts]
    encoder = get_encoder(args.encoder)
    encoder.encode(texts[:8], progress=False)  # load the model before timing
    t_local, X_local = _best_of(
        args.repeats, lambda: encoder.encode(texts, batch_size=args.batch_size, progress=False)
    )
    proc, url = _start_server(args.encoder, args.batch_wait_ms)
    rows = []
    try:
        for fmt in ("base64", "float"):
            client = ApiEncoder(
                url, batch_size=args.batch_size, max_concurrency=args.concurrency, encoding_format=fmt
            )
            client.encode(texts[:8], progress=False)  # model resolution, dim probe, warm server
            t_api, X_api = _best_of(args.repeats, lambda c=client: c.encode(texts, progress=False))
            diff = float(np.max(np.abs(X_api - X_local))) if len(texts) else 0.0
            rows.append((f"server+client ({fmt})", t_api, diff))
            client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    mean_chars = np.mean([len(t) for t in texts])
    print(
        f"encoder {args.encoder}, {len(texts)} texts of {args.dataset} (mean {mean_chars:.0f} chars), "
        f"batch {args.batch_size}, concurrency {args.concurrency}, best of {args.repeats}, "
        f"{os.cpu_count()} CPU cores"
    )
    print(f"{'path':<26}{'seconds':>10}{'texts/s':>12}{'ratio':>9}{'max |diff|':>13}")
    print(f"{'in-process encode':<26}{t_local:>10.3f}{len(texts) / t_local:>12.1f}{1.0:>9.2f}{0.0:>13.1e}")
    for name, t, diff in rows:
        print(f"{name:<26}{t:>10.3f}{len(texts) / t:>12.1f}{t_local / t:>9.2f}{diff:>13.1e}")
    print("ratio = API throughput / in-process throughput")
    return 0


if __name__ == "__main__":
    sys.exit(main())
