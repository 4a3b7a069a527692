"""The ``images`` set-up: a study on images on disk (folders, domain collections, WebDataset shards), streamed."""

import json
from pathlib import Path

import numpy as np
import pytest

from image_data import colour_glyphs, write_folder
from nmtune.apps.study import StudyConfig, load_study_config, report_study, run_study
from nmtune.apps.study.run import study_store_path
from nmtune.results import ResultsStore

N_CLASSES = 4
DOMAINS = {  # a domain collection <domain>/<class>/<image>: the same glyphs painted three ways
    "paint": lambda x: x,
    "invert": lambda x: 255 - x,
    "gray": lambda x: np.repeat(x.mean(-1, keepdims=True).astype(np.uint8), 3, axis=-1),
}


def _random_images(per_class: int, test_per_class: int):
    """Random RGB pixels in the shape of :func:`colour_glyphs` (for tests of the layout, not of learning)."""
    rng = np.random.default_rng(0)
    out = {}
    for split, per in (("train", per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(N_CLASSES), per)
        out[split] = (rng.integers(0, 256, (labels.size, 8, 8, 3), dtype=np.uint8), labels)
    return out, [f"class {k}" for k in range(N_CLASSES)]


def make_image_data(root: Path, *, glyphs: bool = True) -> Path:
    """``root/folder`` (train/ + val/, RGB), ``root/domains/<domain>/<class>/`` and ``root/wds`` shards.

    Colour glyphs (``glyphs``; a few seconds to render) or random pixels.
    """
    from PIL import Image

    from nmtune.datasets.shards import write_shards

    make = colour_glyphs if glyphs else (lambda n_classes, **kw: _random_images(**kw))
    data, names = make(n_classes=N_CLASSES, per_class=22, test_per_class=4)
    images, labels = data["train"]
    first = np.concatenate([np.flatnonzero(labels == k)[:12] for k in range(N_CLASSES)])
    rest = np.setdiff1d(np.arange(len(labels)), first)  # 10 more glyphs of each class for the domains
    data = {"train": (images[first], labels[first]), "test": data["test"]}
    write_folder(root / "folder", data, names)
    for domain, paint in DOMAINS.items():
        for i in rest:
            folder = root / "domains" / domain / names[labels[i]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(paint(images[i])).save(folder / f"{i:04d}.png")
    for split, (images, labels) in data.items():  # (image, label, caption) pairs for the contrastive half
        samples = ({"image": im, "label": int(y), "caption": names[y]} for im, y in zip(images, labels))
        write_shards(samples, root / "wds" / split, per_shard=20)
    (root / "wds" / "classes.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.fixture(scope="module")
def image_data(tmp_path_factory):
    return make_image_data(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return make_image_data(tmp_path_factory.mktemp("layout"), glyphs=False)


def _tasks(root):
    return [
        {"name": "glyphs", "train": f"image-folder:{root / 'folder'}?mode=RGB"},
        {"name": "dom", "domains": str(root / "domains"), "train": ["paint"]},
    ]


def _config(root, objective="supervised", **pretrain):
    data = f"image-folder:{root / 'folder'}?mode=RGB" if objective == "supervised" else f"wds:{root / 'wds'}"
    pre = {"dataset": data, "image_size": 32, "epochs": 1, "batch_size": 16, **pretrain}
    if objective == "contrastive":
        pre.update(embed_dim=16, text_hidden=None)
    return StudyConfig(
        setup="images", objective=objective, gammas=(0.0, 0.3), seeds=(0,), pretrain=pre, fractions=(1.0,),
        methods=("lp",), head_epochs=2, head_batch_size=16, head_min_steps=4, max_train=100, max_test=100,
        images={"tasks": _tasks(root), "workers": 0, "batch_size": 10},
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ validation

GOOD_TASKS = {"tasks": [{"name": "pets", "train": "image-folder:/d/pets?mode=RGB"}]}
PRE = {"dataset": "image-folder:/d/in?mode=RGB"}


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"images": GOOD_TASKS}, r"set pretrain.dataset \(it is not set\), e.g. pretrain: \{dataset: 'image-folder"),
        ({"pretrain": {"dataset": "glyphs-pretrain:12"}, "images": GOOD_TASKS},
         r"must name images on disk.*received 'glyphs-pretrain:12'"),
        ({"pretrain": {"dataset": "image-domains:/d/o?domain=a"}, "images": GOOD_TASKS},
         "a domain collection is for downstream tasks"),
        ({"pretrain": dict(PRE, image_size=None), "images": GOOD_TASKS},
         "pretrain.image_size must be an integer.*received null"),
        ({"pretrain": PRE}, r"images.tasks must be a non-empty list.*received None"),
        ({"pretrain": PRE, "images": {"tasks": [{"name": "x", "train": "/d/pets"}]}},
         r"images.tasks\[0\] \('x'\): 'train': it must name images on disk.*received '/d/pets'\. A task is"),
        ({"pretrain": PRE, "images": {"tasks": [{"train": "image-folder:/d/p"}]}}, "'name' must be a non-empty"),
        ({"pretrain": PRE, "images": {"tasks": [{"name": "x", "domains": "/d/o", "train": []}]}},
         r"'train' must name the training domain\(s\), e.g. \[real\]; received \[\]"),
        ({"pretrain": PRE, "images": {"tasks": [{"name": "x", "domains": "/d/o", "train": "a", "ood": []}]}},
         r"unknown key\(s\) \['ood'\] in a domain-collection task"),
        ({"pretrain": PRE, "images": {"tasks": [{"name": "x", "domains": "image-domains:/d/o", "train": "a"}]}},
         "'domains' must be the folder"),
        ({"pretrain": PRE, "images": {"tasks": [{"name": "x", "train": "image-folder:/d/p", "ood": ["wds:/a/s",
          "image-folder:/b/s"]}]}}, "share a name"),  # fmt: skip
        ({"pretrain": PRE, "images": {"tasks": GOOD_TASKS["tasks"] * 2}}, r"unique; \['pets'\]"),
        ({"pretrain": PRE, "images": dict(GOOD_TASKS, worker=2)}, "Did you mean 'workers'"),
        ({"pretrain": PRE, "images": dict(GOOD_TASKS, batch_size=0)}, "images.batch_size"),
        ({"setup": "glyphs", "images": GOOD_TASKS}, "field of the 'images' set-up; this study's setup is 'glyphs'"),
        ({"pretrain": dict(PRE, arch="hf-resnet19"), "images": GOOD_TASKS}, "Did you mean 'hf-resnet18'"),
    ],
)  # fmt: skip
def test_images_config_is_validated_at_load_with_what_was_received(fields, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig(**{"setup": "images", **fields})


def test_a_yaml_study_of_images_names_its_data_architecture_and_size(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "setup: images\npretrain: {dataset: 'wds:/data/shards', arch: hf-resnet50, image_size: 160}\n"
        "objective: contrastive\nimages:\n  tasks:\n    - {name: office, domains: /data/office, train: real}\n"
    )
    cfg = load_study_config(path)
    pcfg = cfg.pretrain_config(0.1, 2)
    assert (pcfg.dataset, pcfg.arch, pcfg.image_size, pcfg.noise, pcfg.seed) == (
        "wds:/data/shards", "hf-resnet50", 160, 0.1, 2,
    )  # fmt: skip
    assert cfg.images["workers"] == 2 and cfg.images["batch_size"] == 128  # defaults filled in
    assert cfg.to_dict()["images"]["tasks"][0]["domains"] == "/data/office"
    path.write_text(path.read_text().replace("train: real", "train: real, mode: CMYK"))
    with pytest.raises(ValueError, match=f"{path}.*'mode' must be 'RGB' or 'L'; received 'CMYK'"):
        load_study_config(path)


def test_the_images_example_preset_loads_and_other_setups_store_no_images_field():
    cfg = load_study_config("images-example")
    pcfg = cfg.pretrain_config(0.3, 0)
    assert (cfg.setup, pcfg.arch, pcfg.image_size) == ("images", "hf-resnet18", 224)
    assert pcfg.dataset.startswith("image-folder:") and len(cfg.images["tasks"]) == 2
    assert "images" not in StudyConfig().to_dict()  # the glyph study's stored configuration is unchanged
    assert "images" not in load_study_config("glyphs-tiny").to_dict()


def test_pretraining_run_options_resume_and_are_checked():
    from nmtune.apps.study.images_config import train_options

    cfg = StudyConfig(setup="images", pretrain=PRE, images=dict(GOOD_TASKS, checkpoint_every=500, workers=4))
    opts = train_options(cfg.images)
    assert (opts.resume, opts.checkpoint_every, opts.workers, opts.channels_last) == (True, 500, 4, False)
    assert not train_options(StudyConfig(setup="images", pretrain=PRE, images=GOOD_TASKS).images).resume
    with pytest.raises(ValueError, match="images: compile must be true or false; received 'yes'"):
        StudyConfig(setup="images", pretrain=PRE, images=dict(GOOD_TASKS, compile="yes"))
    with pytest.raises(ValueError, match="images: grad_accum"):
        StudyConfig(setup="images", pretrain=PRE, images=dict(GOOD_TASKS, grad_accum=0))


@pytest.mark.parametrize("preset", ["imagenet-resnet50", "imagenet100-resnet18"])
def test_gpu_study_presets_train_what_the_pretraining_presets_train(preset):
    """A checkpoint from ``nmtune pretrain --config <preset> --noise g --seed s`` (torchrun) is the study's."""
    from nmtune.pretrain import config_matches
    from nmtune.pretrain.run import build_run

    study = load_study_config(preset)
    assert study.setup == "images" and study.gammas == (0.0, 0.05, 0.1, 0.2, 0.3)
    for gamma, seed in [(0.0, 0), (0.2, 2)]:
        pcfg = study.pretrain_config(gamma, seed)
        _, config, _ = build_run(preset=preset, dataset=pcfg.dataset, noise=gamma, seed=seed)
        assert config_matches(pcfg.to_dict(), config) and config_matches(config.to_dict(), pcfg)


def test_the_suite_has_one_ood_domain_per_held_out_domain_and_checks_sources(layout, tmp_path):
    from nmtune.apps.study.images import check_image_sources
    from nmtune.apps.study.setups import study_suite

    cfg = _config(layout)
    suite = study_suite(cfg)
    assert suite.name.startswith("noisy-pretrain-images@")
    tasks = {t.name: t for t in suite.tasks}
    assert set(tasks) == {"glyphs", "dom-paint"}
    assert [(d.name, d.kind, d.data.split) for d in tasks["dom-paint"].evals] == [
        ("paint", "id", "test"), ("gray", "ood", "all"), ("invert", "ood", "all"),
    ]  # fmt: skip
    assert [(d.name, d.kind, d.data.split) for d in tasks["glyphs"].evals] == [("glyphs", "id", "test")]
    check_image_sources(cfg, suite)  # all present
    # an OOD folder whose classes differ from the task's training classes
    two = (np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 1]))
    write_folder(tmp_path / "other", {"train": two, "test": two}, ["a", "b"])
    bad = {"name": "g", "train": f"image-folder:{layout / 'folder'}?mode=RGB",
           "ood": {"other": f"image-folder:{tmp_path / 'other'}?mode=RGB"}}  # fmt: skip
    cfg2 = StudyConfig(setup="images", pretrain=cfg.pretrain, images={"tasks": [bad]})
    with pytest.raises(ValueError, match="evaluation domain 'other'.*must hold the same class folders"):
        check_image_sources(cfg2, study_suite(cfg2))


def test_missing_data_fails_before_any_pretraining(tmp_path):
    cfg = load_study_config("images-example")
    with pytest.raises(
        FileNotFoundError, match="does not exist. Point the study's configuration at your copy"
    ):
        run_study(cfg, tmp_path / "s", progress=False, device="cpu", n_jobs=1)
    assert not (tmp_path / "s" / "checkpoints").exists()


# ------------------------------------------------------------------------------------------------ end to end


def _streaming_probes(monkeypatch):
    """Refuse loading an on-disk image split into memory; record the batches of feature extraction."""
    import nmtune.datasets
    import nmtune.datasets._base
    import nmtune.datasets.streaming

    batches = []
    for module in (nmtune.datasets, nmtune.datasets._base):
        original = module.load_dataset

        def guarded(name, *args, _original=original, **kwargs):
            base = name.split(":", 2)[2] if name.startswith("cap:") else name
            if base.split(":")[0] in ("image-folder", "image-domains", "wds", "hf-images"):
                raise AssertionError(f"{name} was loaded into memory as a whole")
            return _original(name, *args, **kwargs)

        monkeypatch.setattr(module, "load_dataset", guarded)
    original_loader = nmtune.datasets.streaming.eval_loader

    def recording_loader(dataset, batch_size, *args, **kwargs):
        for x, pos in original_loader(dataset, batch_size, *args, **kwargs):
            batches.append((batch_size, len(dataset), x.shape[0]))
            yield x, pos

    monkeypatch.setattr(nmtune.datasets.streaming, "eval_loader", recording_loader)
    return batches


@pytest.mark.slow
@pytest.mark.parametrize(
    ("objective", "arch"), [("supervised", "hf-resnet18"), ("contrastive", "small-resnet")]
)
def test_a_study_on_an_image_folder_domains_and_shards_runs_end_to_end_streamed(
    image_data, tmp_path, monkeypatch, objective, arch
):
    """Image-folder or WebDataset pre-training, folder + domain-collection tasks, report, resume, report-only."""
    batches = _streaming_probes(monkeypatch)
    extra = {"width": 4} if arch == "small-resnet" else {}
    cfg = _config(image_data, objective, arch=arch, **extra)
    out = tmp_path / "study"
    summary = run_study(cfg, out, progress=False, device="cpu", n_jobs=1)

    # features: extracted in batches of images.batch_size (10) from every split, never a whole split
    records = [json.loads(p.read_text()) for p in (out / "features").glob("*/record.json")]
    assert len(records) == 2 * 6 and all(r["streamed"] and r["batch_size"] == 10 for r in records)
    extraction = [(n, b) for size, n, b in batches if size == 10]  # (pre-training evaluates in batches of 16)
    assert max(b for _, b in extraction) <= 10 and any(n > 10 for n, _ in extraction)
    assert sum(b for _, b in extraction) == sum(r["shape"][0] for r in records)  # every feature row streamed
    # (2 backbones x {glyphs train, glyphs val, paint train, paint test, gray all, invert all})

    with ResultsStore(study_store_path(out), create=False) as store:
        recs = store.records(status=None)
        backbones = store.get_meta("backbones")
    assert all(r["status"] == "done" for r in recs)
    lp = [r for r in recs if r["config"]["method"] == "lp"]
    assert len(lp) == 2 * 2 and {r["config"]["task"] for r in lp} == {"glyphs", "dom-paint"}
    dom = next(r for r in lp if r["config"]["task"] == "dom-paint")
    assert {k: v["kind"] for k, v in dom["domains"].items()} == {
        "paint": "id",
        "gray": "ood",
        "invert": "ood",
    }
    assert dom["domains"]["gray"]["n"] == 4 * 10 and dom["domains"]["paint"]["n"] == 4 * 2
    zero_shot = [r for r in recs if r["config"]["method"] == "zero-shot"]
    assert len(zero_shot) == (4 if objective == "contrastive" else 0)
    assert {b["gamma"] for b in backbones.values()} == {0.0, 0.3}
    dims = {r["shape"][1] for r in records}
    assert (
        dims == {b["feature_dim"] for b in backbones.values()} == ({512} if arch == "hf-resnet18" else {16})
    )
    assert all(
        b["objective"] == objective and b["realised_noise_rate"] is not None for b in backbones.values()
    )

    # the report: summary.json and verdict.md of the images set-up
    saved = json.loads((out / "summary.json").read_text())
    assert saved["gammas"] == [0.0, 0.3] and saved["verdicts"] == summary["verdicts"]
    assert saved["config"]["setup"] == "images" and saved["config"]["images"]["tasks"][1]["train"] == [
        "paint"
    ]
    verdict = (out / "verdict.md").read_text()
    assert f"`images` set-up, {objective} pre-training" in verdict and "glyphs, dom-paint" in verdict
    assert ("zero-shot accuracy, pre-training test split" in verdict) == (objective == "contrastive")
    assert (out / "fig2_lp_vs_gamma.png").is_file()
    ood = verdict.split("OOD accuracy and macro-F1 (%), shift: ")[1:]
    # one filled table per task with OOD domains (the folder task here has none: no empty table for it)
    assert len(ood) == 1 and ood[0].startswith("dom-paint") and "–" not in ood[0].split("\n\n")[1]

    # resume: nothing is pre-trained, extracted or fitted again; --report-only rewrites the same summary
    import nmtune.pretrain

    def refuse(*a, **k):
        raise AssertionError("pre-trained again")

    monkeypatch.setattr(nmtune.pretrain, "pretrain", refuse)
    monkeypatch.setattr(nmtune.pretrain, "pretrain_contrastive", refuse)
    batches.clear()
    again = run_study(cfg, out, progress=False, device="cpu", n_jobs=1)
    assert [b for b in batches if b[0] == 10] == [] and again["verdicts"] == summary["verdicts"]
    with ResultsStore(study_store_path(out), create=False) as store:
        assert len(store.records(status=None)) == len(recs)
    assert report_study(out)["verdicts"] == summary["verdicts"]


def test_cli_setup_images_without_a_study_file_says_what_to_name(tmp_path, capsys):
    from nmtune.cli import main

    argv = ["study", "noisy-pretrain", "--setup", "images", "--out", str(tmp_path / "s"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "The 'images' set-up pre-trains on images streamed from disk: set pretrain.dataset" in err
    assert not (tmp_path / "s").exists()
