"""Shared fixtures: seeded RNGs, tiny synthetic data, GPU skipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def blobs():
    """Three well-separated Gaussian classes in 16 dimensions, 150 train / 60 test samples."""
    r = np.random.default_rng(0)
    centers = r.normal(scale=4.0, size=(3, 16))
    y = np.repeat(np.arange(3), 70)
    X = centers[y] + r.normal(size=(len(y), 16))
    idx = r.permutation(len(y))
    X, y = X[idx].astype(np.float32), y[idx]
    return X[:150], y[:150], X[150:], y[150:]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the feature cache of every test out of the user's cache folder."""
    monkeypatch.setenv("NMTUNE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "nmtune-cache"))
    yield


@pytest.fixture
def tune_files(tmp_path):
    """``train.npz`` (X, y), ``test.npy`` and ``test_y.npy`` of a small real task in ``tmp_path``; the task."""
    from nmtune.protocol import example_task

    task = example_task(n_train=200)
    np.savez(tmp_path / "train.npz", X=task.X_train, y=task.y_train)
    np.save(tmp_path / "test.npy", task.evals[0].X)
    np.save(tmp_path / "test_y.npy", task.evals[0].y)
    return task


@pytest.fixture(scope="session")
def load_script():
    """Import a benchmark or script by its path from the repository root, e.g. ``load_script("scripts/x.py")``."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def load(relpath: str):
        path = root / relpath
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
