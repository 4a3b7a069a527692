"""The Ray backend against a local Ray instance (skipped when the optional ``ray`` extra is not installed)."""

import pytest

from nmtune.protocol import example_task, run_grid
from nmtune.protocol.config import GridConfig
from nmtune.results import ResultsStore


@pytest.mark.slow
def test_ray_backend_matches_local_and_only_the_driver_writes(tmp_path):
    pytest.importorskip("ray", reason="pip install 'nmtune[ray]' to test the Ray backend")
    tasks = [example_task(n_train=120)]
    cfg = GridConfig(methods=("logreg",), seeds=(0, 1), fractions=(0.5, 1.0))
    run_grid(cfg, tasks=tasks, store=tmp_path / "local.sqlite", progress=False)
    res = run_grid(cfg.replace(backend="ray"), tasks=tasks, store=tmp_path / "ray.sqlite", progress=False)
    assert res.n_done == 4 and res.n_failed == 0
    a = {r["run_id"]: r["domains"] for r in ResultsStore(tmp_path / "local.sqlite").records()}
    b = {r["run_id"]: r["domains"] for r in ResultsStore(tmp_path / "ray.sqlite").records()}
    assert a == b
