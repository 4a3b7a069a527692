import dataclasses
import json

import pytest

from nmtune.heads.base import epochs_for
from nmtune.pretrain.study import StudyConfig, _make_head, load_study_config, run_study


def _heads_available() -> bool:
    try:
        from nmtune.heads import LinearProbe, MLPTuning, NMTune  # noqa: F401
    except ImportError:
        return False
    return True


# the paper's heads when present, plus scikit-learn's logistic regression (always available) as a linear probe
METHODS = ("lp", "mlp", "nmtune", "logreg") if _heads_available() else ("logreg",)
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
    probe=METHODS[0],
)


@pytest.mark.slow
def test_tiny_study_end_to_end_and_resume(tmp_path):
    result = run_study(TINY, tmp_path, progress=False, device="cpu")
    for name in (
        "summary.json",
        "verdict.md",
        "fig2_lp_vs_gamma.png",
        "fig3_spectrum_vs_gamma.png",
        "fig5_methods_per_gamma.png",
        "checkpoints/g0_s0.pt",
        "checkpoints/g0.1_s0.pt",
    ):
        assert (tmp_path / name).is_file(), name
    rec = json.loads((tmp_path / "records" / "g0.1_s0.json").read_text())
    assert rec["checkpoint"]["realised_noise_rate"] == pytest.approx(0.1)
    kinds = {(r["kind"], r["method"]) for r in rec["rows"]}
    assert kinds == {(k, m) for k in ("id", "ood") for m in METHODS}
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rec["rows"])
    # 100 rows in batches of 32 are 4 steps an epoch: 12 steps need 3 epochs (more than head_epochs=2)
    assert {r["epochs"] for r in rec["rows"] if r["method"] != "logreg"} == {3}
    domains = {r["domain"] for r in rec["rows"]}
    assert domains == {"mnist-5k", "optdigits", "fashion-mnist (clean)", "fashion-mnist-c:gaussian:1"}
    assert set(rec["spectra"]) == domains
    assert set(result["summary"]["id_lp"]) == {"0.0", "0.1"}
    # one seed: every verdict must be inconclusive (no confidence interval)
    assert {v["verdict"] for v in result["verdicts"]} == {"inconclusive"}
    mtime = (tmp_path / "records" / "g0_s0.json").stat().st_mtime_ns
    again = run_study(TINY, tmp_path, progress=False, device="cpu")  # resumes: nothing recomputed
    assert (tmp_path / "records" / "g0_s0.json").stat().st_mtime_ns == mtime
    assert again["summary"] == result["summary"]


def test_config_validation(tmp_path):
    with pytest.raises(ValueError, match="Valid keys"):
        load_study_config(None, gamas=(0.0,))
    with pytest.raises(ValueError, match="gammas"):
        StudyConfig(pretrain={"noise": 0.1})
    with pytest.raises(ValueError, match="method"):
        StudyConfig(methods=("lp", "svm"))
    path = tmp_path / "s.yaml"
    path.write_text("gammas: [0.0, 0.2]\nseeds: [0, 1, 2]\npretrain: {epochs: 1}\n")
    cfg = load_study_config(path, fractions=[0.5])
    assert cfg.gammas == (0.0, 0.2) and cfg.fractions == (0.5,) and cfg.pretrain_config(0.2, 1).epochs == 1


def test_head_step_budget_is_the_heads_own():
    cfg = StudyConfig(head_epochs=30, head_batch_size=128, head_min_steps=3000)
    head = _make_head("mlp", cfg)
    assert (head.epochs, head.min_steps, head.batch_size) == (30, 3000, 128)
    assert epochs_for(30, 3000, 100, 128) == 3000  # one step an epoch
    assert epochs_for(30, 3000, 1000, 128) == 375  # 8 steps an epoch
    assert epochs_for(30, 3000, 10**6, 128) == 30  # the paper's epochs already give more steps
    assert epochs_for(30, 0, 100, 128) == 30
    for bad in ({"head_min_steps": -1}, {"head_batch_size": 0}, {"head_epochs": 2.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            StudyConfig(**bad)


@pytest.mark.slow
def test_parallel_evaluation_matches_serial(tmp_path):
    import shutil

    cfg = dataclasses.replace(TINY, fractions=(0.5, 1.0))
    serial = run_study(cfg, tmp_path / "serial", progress=False, device="cpu")
    # same checkpoints, no records: only the evaluation runs, in two worker processes
    shutil.copytree(tmp_path / "serial" / "checkpoints", tmp_path / "parallel" / "checkpoints")
    parallel = run_study(cfg, tmp_path / "parallel", progress=False, device="cpu", n_jobs=2)
    for name in ("g0_s0.json", "g0.1_s0.json"):
        a = json.loads((tmp_path / "serial" / "records" / name).read_text())
        b = json.loads((tmp_path / "parallel" / "records" / name).read_text())
        key = lambda r: (r["task"], r["domain"], r["fraction"], r["method"])  # noqa: E731
        rows_a, rows_b = sorted(a["rows"], key=key), sorted(b["rows"], key=key)
        assert [key(r) for r in rows_a] == [key(r) for r in rows_b]
        # one torch thread per worker instead of two: the same fits up to float rounding
        assert [r["accuracy"] for r in rows_a] == pytest.approx([r["accuracy"] for r in rows_b], abs=0.02)
        for dom, spec in a["spectra"].items():
            assert spec["sve"] == pytest.approx(b["spectra"][dom]["sve"], rel=1e-4)
    assert set(parallel["summary"]) == set(serial["summary"])
    with pytest.raises(ValueError, match="n_jobs"):
        run_study(cfg, tmp_path / "bad", n_jobs=0)


TINY_GLYPHS = load_study_config("glyphs-tiny", methods=METHODS, probe=METHODS[0])


@pytest.mark.slow
def test_glyph_study_resumes_after_an_interruption(tmp_path, monkeypatch):
    """Killed while evaluating its second model, the study keeps the first record and both checkpoints."""
    from nmtune.pretrain import study

    real = study._evaluate_checkpoint
    calls = []

    def interrupted(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(study, "_evaluate_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_study(TINY_GLYPHS, tmp_path, progress=False, device="cpu")
    records = sorted(p.name for p in (tmp_path / "records").iterdir())
    assert records == ["g0_s0.json"]  # written as soon as its model was done
    ckpts = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").iterdir()}
    assert set(ckpts) == {"g0_s0.pt", "g0.3_s0.pt"}
    first = (tmp_path / "records" / "g0_s0.json").stat().st_mtime_ns

    monkeypatch.setattr(study, "_evaluate_checkpoint", real)
    result = run_study(TINY_GLYPHS, tmp_path, progress=False, device="cpu")
    assert (tmp_path / "records" / "g0_s0.json").stat().st_mtime_ns == first  # not recomputed
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "checkpoints").iterdir()} == ckpts  # reused
    rec = json.loads((tmp_path / "records" / "g0.3_s0.json").read_text())
    assert rec["checkpoint"]["config"]["dataset"] == "glyphs-pretrain:12"
    assert rec["checkpoint"]["config"]["stem_stride"] == 2 and rec["checkpoint"]["feature_dim"] == 16
    assert {r["domain"] for r in rec["rows"]} == {
        "glyphs-id",
        "glyphs-ood:stix",
        "glyphs-ood:cm",
        "mnist-5k",
        "optdigits",
    }
    assert {r["domain"]: r["kind"] for r in rec["rows"] if r["task"] == "glyphs-id"} == {
        "glyphs-id": "id",
        "glyphs-ood:stix": "ood",
        "glyphs-ood:cm": "ood",
    }
    assert set(result["summary"]["id_lp"]) == {"0.0", "0.3"}
    assert all(v["mde"] != v["mde"] for v in result["verdicts"])  # one seed: no MDE (NaN) either


def test_study_setup_and_objective_are_validated():
    with pytest.raises(ValueError, match="set-up"):
        StudyConfig(setup="imagenet")
    with pytest.raises(ValueError, match="objective"):
        StudyConfig(objective="mae")
    cfg = StudyConfig()
    pcfg = cfg.pretrain_config(0.2, 1)
    assert (pcfg.dataset, pcfg.width, pcfg.stem_stride, pcfg.augment) == ("glyphs-pretrain:300", 32, 2, False)
    assert StudyConfig(setup="fashion").pretrain_config(0.2, 1).dataset == "fashion-mnist"
    assert StudyConfig(pretrain={"epochs": 2}).pretrain_config(0.0, 0).epochs == 2


@pytest.mark.slow
def test_contrastive_glyph_study_records_zero_shot_accuracy(tmp_path):
    """The contrastive objective pre-trains image-caption models and adds a zero-shot row per domain."""
    config = load_study_config("glyphs-tiny", objective="contrastive", gammas=[0.0], methods=["lp"])
    result = run_study(config, tmp_path, progress=False, device="cpu")
    rec = json.loads((tmp_path / "records" / "g0_s0.json").read_text())
    assert rec["checkpoint"]["config"]["objective"] == "contrastive"
    zero = {r["domain"]: r for r in rec["rows"] if r["method"] == "zero-shot"}
    assert set(zero) == {"glyphs-id", "glyphs-ood:stix", "glyphs-ood:cm", "mnist-5k", "optdigits"}
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["fraction"] == 0.0 for r in zero.values())
    assert {"id_zero-shot", "ood_zero-shot", "id_lp"} <= set(result["summary"])


def test_study_presets_load_and_a_bad_name_lists_them(tmp_path):
    from nmtune.pretrain.study import list_study_presets

    assert {"glyphs-tiny", "glyphs-gpu", "glyphs-contrastive", "fashion"} <= set(list_study_presets())
    for name in list_study_presets():
        load_study_config(name).pretrain_config(0.3, 0)  # every preset is a valid config
    with pytest.raises(FileNotFoundError, match="glyphs-tiny"):
        load_study_config("glyphs-huge")


def test_nmtune_cv_head_gets_the_study_budget():
    """``nmtune-cv`` in a study: its LP and NMTune candidates get the study's batch size and step budget."""
    head = _make_head("nmtune-cv", load_study_config("glyphs-tiny", methods=["lp", "nmtune-cv"]))
    for key in ("lp_params", "nmtune_params"):
        assert head.get_params()[key] == {"epochs": 2, "min_steps": 6, "batch_size": 64}


def test_reusable_rows_only_across_methods_and_fractions():
    """Rows survive a change of methods or fractions; any other change (budget, caps, seed) voids them all."""
    from nmtune.pretrain.heads_eval import reusable_rows

    def cfg_json(**kw):
        return json.dumps(
            dataclasses.asdict(load_study_config("glyphs-tiny", **kw)), sort_keys=True, default=str
        )

    rows = [
        {"task": "t", "fraction": 1.0, "method": "lp"},
        {"task": "t", "fraction": 0.0, "method": "zero-shot"},
    ]
    record = {"study_config": cfg_json(methods=["lp"]), "rows": rows, "extra_rows": []}
    assert reusable_rows(record, cfg_json(methods=["lp", "nmtune"], fractions=[0.5, 1.0])) == rows[:1]
    assert reusable_rows(record, cfg_json(methods=["lp"], head_min_steps=7)) == []
    assert reusable_rows(record, cfg_json(methods=["lp"], max_train=50)) == []
    assert reusable_rows({"rows": rows}, cfg_json()) == []  # no configuration recorded


@pytest.mark.slow
def test_a_finished_study_gains_a_method_without_refitting(tmp_path, monkeypatch):
    """Adding nmtune-cv keeps the LP rows as they were, passes the glyph font families as groups, and
    dropping the method again keeps its rows in the record (``extra_rows``), out of the summary."""
    from nmtune.heads import NMTuneCV

    # the whole glyphs-id training split (16 images per class and font family); 5 % leaves some class
    # without an image in some family: no group-aware folds there, the head falls back to stratified ones
    base = load_study_config(
        "glyphs-tiny", gammas=[0.0], methods=["lp"], fractions=[0.05, 1.0], max_train=3000
    )
    run_study(base, tmp_path, progress=False, device="cpu")
    path = tmp_path / "records" / "g0_s0.json"
    before = json.loads(path.read_text())

    seen = []
    real_fit = NMTuneCV.fit

    def spy(self, X, y, groups=None):
        seen.append(None if groups is None else sorted(set(groups)))
        return real_fit(self, X, y, groups=groups)

    monkeypatch.setattr(NMTuneCV, "fit", spy)
    more = dataclasses.replace(base, methods=("lp", "nmtune-cv"))
    result = run_study(more, tmp_path, progress=False, device="cpu")
    after = json.loads(path.read_text())
    lp = lambda rec: [r for r in rec["rows"] if r["method"] == "lp"]  # noqa: E731
    assert lp(after) == lp(before)  # copied, fit times included: not refitted
    assert after["n_reused"] == len(lp(before))
    cv_rows = [r for r in after["rows"] if r["method"] == "nmtune-cv"]
    assert {r["task"] for r in cv_rows} == {"glyphs-id", "mnist-5k", "optdigits"}
    assert all("candidate" in r["selected"] for r in cv_rows)
    folds = {(r["task"], r["fraction"]): r.get("group_folds") for r in cv_rows}
    assert folds[("glyphs-id", 1.0)] is True and folds[("glyphs-id", 0.05)] is False
    assert folds[("mnist-5k", 1.0)] is None  # digit tasks: no sub-domains
    assert seen == [None, ["dejavu-mono", "dejavu-sans", "dejavu-serif"], None, None, None, None]
    assert "ood_nmtune-cv" in result["summary"]

    run_study(base, tmp_path, progress=False, device="cpu")  # back to LP only
    again = json.loads(path.read_text())
    assert {r["method"] for r in again["rows"]} == {"lp"}
    assert {r["method"] for r in again["extra_rows"]} == {"nmtune-cv"}
    assert lp(again) == lp(before)
