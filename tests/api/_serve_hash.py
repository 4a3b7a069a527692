"""Serve the tests' HashEncoder: ``python _serve_hash.py --port 0 [--api-key K] [--faults SPEC] ...``."""

import argparse

from _api_helpers import HashEncoder

from nmtune.api.server import serve

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--api-key", default=None)
parser.add_argument("--max-batch", type=int, default=2048)
parser.add_argument("--max-request-bytes", type=int, default=1 << 24)
parser.add_argument("--batch-wait-ms", type=float, default=2.0)
parser.add_argument("--faults", default=None)
parser.add_argument("--dim", type=int, default=32)
args = parser.parse_args()
serve(
    HashEncoder(args.dim),
    port=args.port,
    api_key=args.api_key,
    max_batch=args.max_batch,
    max_request_bytes=args.max_request_bytes,
    batch_wait_ms=args.batch_wait_ms,
    faults=args.faults,
)
