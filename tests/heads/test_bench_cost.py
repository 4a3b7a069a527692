"""benchmarks/bench_nmtune_cv_cost.py's per-step profile: the split covers the whole fit and finds the eigh."""

import numpy as np
import pytest


@pytest.fixture
def bench(load_script):
    return load_script("benchmarks/bench_nmtune_cv_cost.py")


def test_step_profile_splits_the_whole_fit_and_finds_the_singular_value_term(bench, capsys):
    X, y = bench._data(64, 24, 3)
    parts = {name: bench._step_profile(name, X, y, 1, epochs=2, min_steps=6) for name in ("nmtune", "mlp")}
    for p in parts.values():
        assert p["steps"] == 6  # 64 rows in one batch of 256: 6 epochs of one step
        split = [v for k, v in p.items() if k not in ("wall", "steps")]
        assert np.isclose(sum(split), p["wall"])
        assert p["matrix products"] > 0
    assert parts["nmtune"]["eigh (singular value term)"] > 0  # the regulariser's eigen-decomposition
    assert parts["mlp"]["eigh (singular value term)"] == 0
    assert "ms/step" in capsys.readouterr().out


def test_kernel_timings_cover_the_step_and_the_batched_folds(bench, capsys):
    times = bench._kernels(16, 1, batch=8, k=2, repeats=2)
    assert "fused regulariser forward + backward" in times
    assert "eigh of 2 Gram matrices, one batched call" in times and "2 layer products, one bmm" in times
    assert all(t > 0 for t in times.values())
    assert "torch eigh 8x8 float32" in capsys.readouterr().out
