"""One fraction rule: the same fraction of the same task selects the same rows in ``nmtune run`` and in the study."""

import dataclasses

import numpy as np
import pytest

from nmtune.apps.study import load_study_config
from nmtune.apps.study.backbones import prepare_backbones
from nmtune.apps.study.evaluation import backbone_tasks, run_specs
from nmtune.apps.study.setups import study_suite
from nmtune.datasets import stratified_fraction
from nmtune.protocol import expand_grid, run_one
from nmtune.protocol.config import GridConfig
from nmtune.protocol.feature_tasks import config_feature_tasks
from nmtune.protocol.runner import training_rows


@pytest.mark.slow
def test_nmtune_run_and_the_study_select_the_same_rows_and_give_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("NMTUNE_CACHE_DIR", str(tmp_path / "cache"))
    cfg = load_study_config("glyphs-tiny", gammas=[0.0], methods=["lp"], fractions=[0.25], max_train=400)
    (backbone,) = prepare_backbones(cfg, tmp_path / "study", device="cpu", progress=False)
    study_tasks = backbone_tasks(cfg, backbone, study_suite(cfg), tmp_path / "study", progress=False)
    study_specs = {s.task: s for s in run_specs(cfg, study_tasks, backbone)}

    grid = GridConfig(
        encoders=(f"pretrained:{backbone.path}",),
        suites=("noisy-pretrain-glyphs",),
        methods=("lp",),
        fractions=(0.25,),
        seeds=(0,),
        max_train=400,
        max_eval=cfg.max_test,
        epochs=cfg.head_epochs,
        min_steps=cfg.head_min_steps,
        store=str(tmp_path / "run.sqlite"),
    )
    run_tasks = {t.name: t for t in config_feature_tasks(grid, progress=False)}
    run_specs_ = {s.task: s for s in expand_grid(grid, run_tasks.values())}
    assert set(run_tasks) == {t.name for t in study_tasks} == {"glyphs-id", "mnist-5k", "optdigits"}
    for st in study_tasks:
        rt, spec_s, spec_r = run_tasks[st.name], study_specs[st.name], run_specs_[st.name]
        rows_s, rows_r = training_rows(st, spec_s), training_rows(rt, spec_r)
        np.testing.assert_array_equal(rows_s, rows_r)
        np.testing.assert_array_equal(rows_s, stratified_fraction(st.y_train, 0.25, 0))
        np.testing.assert_array_equal(
            st.X_train[rows_s], rt.X_train[rows_r]
        )  # the same images, encoded alike
        np.testing.assert_array_equal(st.y_train[rows_s], rt.y_train[rows_r])
        # the same run on either task gives the same record numbers
        same = dataclasses.replace(spec_s, encoder=rt.encoder, suite=rt.suite)
        a, b = run_one(st, spec_s), run_one(rt, same)
        assert a["status"] == b["status"] == "done", (a["error"], b["error"])
        assert a["domains"] == b["domains"] and a["n_train"] == b["n_train"] == rows_s.size
