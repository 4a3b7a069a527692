"""Feature-cache load speed versus recomputation, side by side.

For each (encoder, dataset, split): time a cold extraction (encode + write), a first load in a fresh process
state (memmap open + sha256 verification), and a repeated load (checksum already verified in this process).

Usage: python benchmarks/bench_cache.py [--encoder glove-50] [--dataset 20newsgroups] [--split train]
"""

import argparse
import tempfile
import time

import numpy as np

import nmtune.cache as cache_mod
from nmtune.cache import FeatureCache, get_features
from nmtune.encoders import get_encoder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default="glove-50")
    ap.add_argument("--dataset", default="20newsgroups")
    ap.add_argument("--split", default="train")
    args = ap.parse_args()
    from nmtune.datasets import load_dataset

    load_dataset(args.dataset, args.split)  # parse the corpus first: parsing is not part of either side
    enc = get_encoder(args.encoder)
    with tempfile.TemporaryDirectory() as root:
        cache = FeatureCache(root)
        t0 = time.perf_counter()
        feats = get_features(enc, args.dataset, args.split, cache=cache, progress=False)
        t_compute = time.perf_counter() - t0
        cache_mod._VERIFIED.clear()  # as in a new process: the checksum must be verified again
        t0 = time.perf_counter()
        first = get_features(enc, args.dataset, args.split, cache=cache, progress=False)
        float(np.asarray(first.X).sum())
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = get_features(enc, args.dataset, args.split, cache=cache, progress=False)
        float(np.asarray(again.X).sum())
        t_again = time.perf_counter() - t0
    mb = feats.X.nbytes / 2**20
    print(f"{args.encoder} on {args.dataset} [{args.split}]: X {tuple(feats.X.shape)} float32, {mb:.1f} MiB")
    print(f"{'recompute (encode + write)':<40} {t_compute:9.3f} s")
    print(f"{'load, first in process (+ sha256)':<40} {t_first:9.3f} s   {t_compute / t_first:8.1f}x faster")
    print(f"{'load, checksum already verified':<40} {t_again:9.3f} s   {t_compute / t_again:8.1f}x faster")


if __name__ == "__main__":
    main()
