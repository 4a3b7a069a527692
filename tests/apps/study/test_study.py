"""The noisy pre-training study as a workflow on the protocol: runs in a results store, resumable."""

import dataclasses
import json

import numpy as np
import pytest

from nmtune.apps.study import (
    StudyConfig,
    check_study_folder,
    list_study_presets,
    load_study_config,
    run_study,
)
from nmtune.apps.study.evaluation import run_specs
from nmtune.apps.study.run import study_store_path
from nmtune.datasets.images import fashion_mnist_available
from nmtune.heads.base import epochs_for
from nmtune.protocol.methods import build_estimator
from nmtune.results import ResultsStore

METHODS = ("lp", "mlp", "nmtune", "logreg")
TINY = StudyConfig(
    setup="fashion",
    gammas=(0.0, 0.1),
    seeds=(0,),
    pretrain={"n_train": 300, "n_test": 100, "epochs": 1, "width": 4},
    fractions=(1.0,),
    head_epochs=2,
    head_batch_size=32,
    head_min_steps=12,
    max_train=100,
    max_test=100,
    corruptions=("gaussian:1",),
    methods=METHODS,
    probe="lp",
)
needs_fashion = pytest.mark.skipif(
    not fashion_mnist_available(), reason="dataset-fashion-mnist not installed (make data)"
)
# logreg selects C on a validation split: 124 glyph images are 2 per class, too few for one
TINY_GLYPHS = load_study_config("glyphs-tiny", methods=METHODS[:3])


def _records(folder):
    with ResultsStore(study_store_path(folder), create=False) as st:
        return st.records(status=None)


@pytest.mark.slow
@needs_fashion
def test_tiny_study_end_to_end_and_resume(tmp_path):
    result = run_study(TINY, tmp_path, progress=False, device="cpu")
    for name in (
        "summary.json",
        "verdict.md",
        "results.sqlite",
        "checkpoints/g0_s0.pt",
        "checkpoints/g0.1_s0.pt",
    ):
        assert (tmp_path / name).is_file(), name
    records = _records(tmp_path)
    assert {r["status"] for r in records} == {"done"}
    assert len(records) == 2 * 3 * len(METHODS)  # backbones x tasks x methods (one fraction, one head seed)
    assert {r["config"]["pretrain_noise"] for r in records} == {0.0, 0.1}
    assert all(0.0 <= d["accuracy"] <= 1.0 for r in records for d in r["domains"].values())
    assert all(set(r["predictions"]) == set(r["domains"]) for r in records)  # per-sample predictions kept
    # 100 rows in batches of 32 are 4 steps an epoch: 12 steps need 3 epochs (more than head_epochs=2)
    assert {r["config"]["epochs"] for r in records if r["config"]["method"] != "logreg"} == {2}
    assert {r["config"]["min_steps"] for r in records if r["config"]["method"] != "logreg"} == {12}
    domains = {d for r in records for d in r["domains"]}
    assert domains == {"mnist-5k", "optdigits", "fashion-mnist (clean)", "fashion-mnist-c:gaussian:1"}
    assert {r["config"]["suite"] for r in records} == {"noisy-pretrain-fashion+gaussian:1"}
    assert result["gammas"] == [0.0, 0.1] and result["unit"] == "pre-training seed"
    assert (
        {v["raw"] for v in result["verdicts"]} == {v["holm"] for v in result["verdicts"]} == {"inconclusive"}
    )
    for name in ("fig2_lp_vs_gamma.png", "forest_claims.png", "forest_heads.png"):
        assert (tmp_path / name).is_file(), name
    text = (tmp_path / "verdict.md").read_text()
    assert "Unit of replication: the pre-training seed" in text and "Holm" in text and "macro-F1" in text
    stamps = {r["run_id"]: r["finished_at"] for r in records}
    again = run_study(TINY, tmp_path, progress=False, device="cpu")  # resumes: nothing recomputed
    assert {r["run_id"]: r["finished_at"] for r in _records(tmp_path)} == stamps
    assert again["verdicts"] == result["verdicts"] and again["per_seed"] == result["per_seed"]


def test_config_validation(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'gammas'"):
        load_study_config(None, gamas=(0.0,))
    with pytest.raises(ValueError, match="lines 1 and 2"):  # the one loader: duplicate keys name both lines
        path = tmp_path / "dup.yaml"
        path.write_text("gammas: [0.0]\ngammas: [0.1]\n")
        load_study_config(path)
    with pytest.raises(ValueError, match="gammas"):
        StudyConfig(pretrain={"noise": 0.1})
    with pytest.raises(ValueError, match="method"):
        StudyConfig(methods=("lp", "svm"))
    with pytest.raises(ValueError, match="linear method"):
        StudyConfig(methods=("mlp", "lp"), probe="mlp")
    with pytest.raises(ValueError, match="fallback"):
        StudyConfig(group_folds="maybe")
    path = tmp_path / "s.yaml"
    path.write_text("gammas: [0.0, 0.2]\nseeds: [0, 1, 2]\npretrain: {epochs: 1}\ndownstream_seed: 3\n")
    cfg = load_study_config(path, fractions=[0.5])
    assert cfg.gammas == (0.0, 0.2) and cfg.fractions == (0.5,) and cfg.pretrain_config(0.2, 1).epochs == 1
    assert cfg.downstream_seeds == (3,)  # the earlier single-seed key still reads


class _Backbone:
    gamma, label = 0.1, "pretrained:g0.1_s0@x"


class _Task:
    encoder, suite, name = "pretrained:g0.1_s0@x", "noisy-pretrain-glyphs", "glyphs-id"


def test_runs_carry_the_study_budget_and_the_heads_use_it():
    cfg = StudyConfig(head_epochs=30, head_batch_size=128, head_min_steps=3000, downstream_seeds=(0, 1))
    specs = run_specs(cfg, [_Task()], _Backbone())
    assert len(specs) == 3 * 5 * 2  # methods x fractions x downstream seeds
    mlp = next(s for s in specs if s.method == "mlp")
    assert (mlp.epochs, mlp.min_steps, dict(mlp.params), mlp.pretrain_noise) == (
        30,
        3000,
        {"batch_size": 128},
        0.1,
    )
    head = build_estimator(mlp.method, dict(mlp.params), epochs=mlp.epochs, min_steps=mlp.min_steps)
    assert (head.epochs, head.min_steps, head.batch_size) == (30, 3000, 128)
    assert epochs_for(30, 3000, 100, 128) == 3000  # one step an epoch
    assert epochs_for(30, 3000, 1000, 128) == 375  # 8 steps an epoch
    for bad in ({"head_min_steps": -1}, {"head_batch_size": 0}, {"head_epochs": 2.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            StudyConfig(**bad)


def test_nmtune_cv_runs_get_the_study_budget_and_the_group_policy():
    cfg = load_study_config("glyphs-tiny", methods=["lp", "nmtune-cv"], group_folds="fallback")
    spec = next(s for s in run_specs(cfg, [_Task()], _Backbone()) if s.method == "nmtune-cv")
    assert spec.group_folds == "fallback" and spec.config()["group_folds"] == "fallback"
    head = build_estimator(spec.method, dict(spec.params), epochs=spec.epochs, min_steps=spec.min_steps)
    for key in ("lp_params", "nmtune_params"):
        assert head.get_params()[key] == {"epochs": 2, "min_steps": 6, "batch_size": 64}


def test_study_setup_and_objective_are_validated():
    with pytest.raises(ValueError, match="set-up"):
        StudyConfig(setup="imagenet")
    with pytest.raises(ValueError, match="objective"):
        StudyConfig(objective="mae")
    pcfg = StudyConfig().pretrain_config(0.2, 1)
    assert (pcfg.dataset, pcfg.width, pcfg.stem_stride, pcfg.augment) == ("glyphs-pretrain:300", 32, 2, False)
    assert StudyConfig(setup="fashion").pretrain_config(0.2, 1).dataset == "fashion-mnist"


def test_study_presets_load_and_a_bad_name_lists_them():
    assert {"glyphs-tiny", "glyphs-gpu", "glyphs-contrastive", "fashion"} <= set(list_study_presets())
    for name in list_study_presets():
        load_study_config(name).pretrain_config(0.3, 0)  # every preset is a valid config
    with pytest.raises(FileNotFoundError, match="glyphs-tiny"):
        load_study_config("glyphs-huge")


def test_a_folder_of_the_earlier_study_is_refused_with_how_to_rerun_it(tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "g0_s0.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match=r"earlier nmtune.*mv .*records .*records-v1.*checkpoints"):
        check_study_folder(tmp_path)
    with pytest.raises(ValueError, match="earlier nmtune"):
        run_study(TINY, tmp_path, progress=False)
    (tmp_path / "records").rename(tmp_path / "records-v1")
    check_study_folder(tmp_path)  # moved aside: accepted


@pytest.mark.slow
@needs_fashion
def test_parallel_evaluation_gives_the_same_records(tmp_path):
    import shutil

    cfg = dataclasses.replace(TINY, fractions=(0.5, 1.0), methods=("lp", "nmtune"))
    run_study(cfg, tmp_path / "serial", progress=False, device="cpu")
    shutil.copytree(tmp_path / "serial" / "checkpoints", tmp_path / "parallel" / "checkpoints")
    run_study(cfg, tmp_path / "parallel", progress=False, device="cpu", n_jobs=2)
    a = {r["run_id"]: r for r in _records(tmp_path / "serial")}
    b = {r["run_id"]: r for r in _records(tmp_path / "parallel")}
    assert set(a) == set(b)
    for rid in a:  # one thread per run in both: identical numbers and predictions
        assert a[rid]["domains"] == b[rid]["domains"] and a[rid]["predictions"] == b[rid]["predictions"]
    with pytest.raises(ValueError, match="n_jobs"):
        run_study(cfg, tmp_path / "bad", n_jobs=0)


@pytest.mark.slow
def test_glyph_study_resumes_after_an_interruption(tmp_path, monkeypatch):
    """Killed during its second run, the study keeps the first run and both checkpoints."""
    from nmtune.protocol import grid

    real = grid.run_one
    calls = []

    def interrupted(task, spec):
        calls.append(spec.run_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task, spec)

    monkeypatch.setattr(grid, "run_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_study(TINY_GLYPHS, tmp_path, progress=False, device="cpu", n_jobs=1)
    first = _records(tmp_path)
    assert [r["run_id"] for r in first] == calls[:1]  # stored as soon as it was done
    ckpts = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").iterdir()}
    assert set(ckpts) == {"g0_s0.pt", "g0.3_s0.pt"}

    monkeypatch.setattr(grid, "run_one", real)
    result = run_study(TINY_GLYPHS, tmp_path, progress=False, device="cpu", n_jobs=1)
    after = {r["run_id"]: r for r in _records(tmp_path)}
    assert after[calls[0]]["finished_at"] == first[0]["finished_at"]  # not recomputed
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").iterdir()} == ckpts  # reused
    assert len(after) == 2 * 3 * 3
    glyph = [r for r in after.values() if r["config"]["task"] == "glyphs-id"]
    assert {d: v["kind"] for d, v in glyph[0]["domains"].items()} == {
        "glyphs-id": "id",
        "glyphs-ood:stix": "ood",
        "glyphs-ood:cm": "ood",
    }
    assert result["gammas"] == [0.0, 0.3]


@pytest.mark.slow
def test_contrastive_glyph_study_records_zero_shot_accuracy(tmp_path):
    """The contrastive objective pre-trains image-caption models and adds a zero-shot record per task."""
    config = load_study_config("glyphs-tiny", objective="contrastive", gammas=[0.0], methods=["lp"])
    result = run_study(config, tmp_path, progress=False, device="cpu")
    zero = [r for r in _records(tmp_path) if r["config"]["method"] == "zero-shot"]
    assert {r["config"]["task"] for r in zero} == {"glyphs-id", "mnist-5k", "optdigits"}
    assert all(r["config"]["fraction"] == 0.0 and r["n_train"] == 0 for r in zero)
    doms = {d for r in zero for d in r["domains"]}
    assert doms == {"glyphs-id", "glyphs-ood:stix", "glyphs-ood:cm", "mnist-5k", "optdigits"}
    for r in zero:
        for name, d in r["domains"].items():
            from nmtune.protocol.predictions import domain_outcomes

            y, pred = domain_outcomes(r, name)
            assert d["accuracy"] == pytest.approx(np.mean(y == pred)) and 0 <= d["macro_f1"] <= 1
    assert {"id_accuracy_zero-shot", "ood_accuracy_zero-shot", "id_accuracy_lp"} <= set(result["per_seed"])
    assert "fig_zero_shot.png" in result["figures"]


@pytest.mark.slow
def test_a_study_gains_a_method_without_refitting_and_the_group_policy_is_explicit(tmp_path):
    """Adding nmtune-cv keeps the LP runs; at 5 % the glyph task's font families cannot give group folds:
    the default policy fails those runs and says how to proceed, 'fallback' selects on stratified folds."""
    base = load_study_config(
        "glyphs-tiny", gammas=[0.0], methods=["lp"], fractions=[0.05, 1.0], max_train=3000
    )
    run_study(base, tmp_path, progress=False, device="cpu")
    lp = {r["run_id"]: r["finished_at"] for r in _records(tmp_path)}
    more = dataclasses.replace(base, methods=("lp", "nmtune-cv"))
    with pytest.raises(RuntimeError, match=r"(?s)runs failed.*group-aware selection folds are impossible"):
        run_study(more, tmp_path, progress=False, device="cpu")
    fallback = dataclasses.replace(more, group_folds="fallback")
    result = run_study(fallback, tmp_path, progress=False, device="cpu")
    records = _records(tmp_path)
    assert {r["run_id"]: r["finished_at"] for r in records if r["run_id"] in lp} == lp  # not refitted
    cv = [r for r in records if r["config"]["method"] == "nmtune-cv" and r["status"] == "done"]
    folds = {(r["config"]["task"], r["config"]["fraction"]): r.get("group_folds") for r in cv}
    assert folds[("glyphs-id", 1.0)] is True and folds[("glyphs-id", 0.05)] is False
    assert folds[("mnist-5k", 1.0)] is None  # digit tasks: no sub-domains
    assert "ood_accuracy_nmtune-cv" in result["per_seed"]
