"""The noisy pre-training study (paper Sec. 2, App. A; Figures 2, 3, 5) at small scale.

For every noise rate gamma and pre-training seed: pre-train (or reuse the checkpoint: resumable), encode the
downstream tasks with the frozen backbone, fit LP / MLP tuning / NMTune heads at the training fractions, and
record accuracy, macro-F1, SVE of the ID test features and LSVR of the OOD test features in one JSON record per
model (``records/g<gamma>_s<seed>.json``; an existing record is reused). Then summarise across seeds, draw the
figures and write the verdicts (:mod:`nmtune.pretrain.verdict`).

Set-ups (:mod:`nmtune.pretrain.tasks`): ``"glyphs"`` (default) pre-trains on many glyph classes and evaluates on
new glyph classes, held-out font families and handwritten digits; ``"fashion"`` is the first, Fashion-MNIST
study. Objectives: ``"supervised"`` (:func:`nmtune.pretrain.pretrain`, symmetric label noise) or
``"contrastive"`` (image-caption pairs with caption swaps, :mod:`nmtune.pretrain.contrastive`; records then
also hold the zero-shot accuracy of every domain).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmtune._internal.files import atomic_write_text, read_yaml_mapping
from nmtune._internal.validation import check_each, check_number
from nmtune.pretrain.config import PretrainConfig, config_from_dict
from nmtune.pretrain.heads_eval import _make_head, evaluate_model, reusable_rows  # noqa: F401 (re-exported)

__all__ = [
    "StudyConfig",
    "run_study",
    "evaluate_model",
    "summarise",
    "load_study_config",
    "list_study_presets",
]


OBJECTIVES = ("supervised", "contrastive")

#: Pre-training defaults of each (set-up, objective), applied before ``StudyConfig.pretrain``. The glyph
#: backbone is a width-32 ResNet-8 with a stride-2 stem (D = 128) trained for 10 epochs on 300 glyph classes
#: (14,400 images) without the trainer's flips (a flipped b is a d): its clean test accuracy falls from 0.991
#: to 0.942 between 0 and 30 % noise (docs/pretrain.md), the size of the paper's ImageNet drop.
PRETRAIN_DEFAULTS = {
    ("fashion", "supervised"): {},
    ("fashion", "contrastive"): {"dataset": "fashion-mnist", "n_train": 6000, "n_test": 2000},
    ("glyphs", "supervised"): {
        "dataset": "glyphs-pretrain:300",
        "n_train": None,
        "n_test": None,
        "epochs": 10,
        "lr": 0.1,
        "width": 32,
        "stem_stride": 2,
        "augment": False,
    },
    ("glyphs", "contrastive"): {},
}


@dataclass(frozen=True)
class StudyConfig:
    """Configuration of ``nmtune study noisy-pretrain``; unknown keys in a YAML file are errors.

    Parameters
    ----------
    setup : {"glyphs", "fashion"}
        Pre-training data and downstream tasks (:mod:`nmtune.pretrain.tasks`); each set-up has its own
        pre-training defaults (:data:`PRETRAIN_DEFAULTS`) that ``pretrain`` overrides.
    objective : {"supervised", "contrastive"}
        Cross-entropy on noisy labels, or CLIP-style training on image-caption pairs with caption swaps.
    gammas : tuple of float
        Pre-training noise rates (fractions): label-flip rates, or caption-swap rates when contrastive.
    seeds : tuple of int
        Pre-training seeds (>= 3 for confidence intervals).
    pretrain : dict
        Overrides of the pre-training config's fields (not ``noise``/``seed``), applied over the set-up's
        defaults.
    fractions : tuple of float
        Fractions of each downstream training set (paper: 0.1, 0.25, 0.5, 0.75, 1.0).
    methods : tuple of str
        Protocol methods (:func:`nmtune.protocol.list_methods`), e.g. ``"lp"``, ``"mlp"``, ``"nmtune"``, ``"logreg"``.
    probe : str
        The method whose accuracy plays "LP" in Figure 2 and claims 1-2 (default ``"lp"``; ``"logreg"`` is a
        linear probe fitted by L-BFGS instead of AdamW).
    head_epochs : int
        Epochs of every head (paper: 30); a head trains for more when ``head_min_steps`` asks for it.
    head_batch_size : int
        Mini-batch size of every head.
    head_min_steps : int
        Minimum number of optimiser steps of every head: ``epochs = max(head_epochs, ceil(head_min_steps /
        steps_per_epoch))``, the cosine schedule spanning them all. The paper's 30 epochs over tasks of tens of
        thousands of images are thousands of steps; over these 100-1,000-image subsets they are 30-120 steps
        and every head, the linear probe included, stops far from convergence. 0 keeps exactly
        ``head_epochs``.
    max_train, max_test : int
        Cap on downstream train / test images per task and domain (stratified, seeded).
    corruptions : tuple of str
        Fashion-MNIST corruptions ``"<name>:<severity>"`` used as OOD domains.
    downstream_seed : int
        Seed of the downstream subsets and of the heads.
    """

    setup: str = "glyphs"
    objective: str = "supervised"
    gammas: tuple = (0.0, 0.05, 0.1, 0.2, 0.3)
    seeds: tuple = (0, 1, 2)
    pretrain: dict = dataclasses.field(default_factory=dict)
    fractions: tuple = (0.1, 0.25, 0.5, 0.75, 1.0)
    methods: tuple = ("lp", "mlp", "nmtune")
    probe: str = "lp"
    head_epochs: int = 30
    head_batch_size: int = 128
    head_min_steps: int = 3000
    max_train: int = 3000
    max_test: int = 2000
    corruptions: tuple = ("gaussian:2", "blur:2", "contrast:2", "rotation:2")
    downstream_seed: int = 0

    def __post_init__(self):
        from nmtune.exceptions import unknown_name_error
        from nmtune.pretrain.tasks import SETUPS
        from nmtune.protocol.methods import get_method

        if self.setup not in SETUPS:
            raise unknown_name_error("study set-up", self.setup, SETUPS)
        if self.objective not in OBJECTIVES:
            raise unknown_name_error("pre-training objective", self.objective, OBJECTIVES)
        for m in self.methods:
            get_method(m)  # an unknown name raises, listing the valid ones
        if self.probe not in self.methods:
            raise ValueError(f"probe {self.probe!r} must be one of the study's methods {list(self.methods)}.")
        if not self.gammas or not self.seeds:
            raise ValueError("The study needs at least one gamma and one seed.")
        for key in ("noise", "seed"):
            if key in self.pretrain:
                raise ValueError(f"Set pre-training {key!r} through `gammas`/`seeds`, not `pretrain`.")
        self.pretrain_config(0.0, 0)  # validates the keys and values early
        for key in ("head_epochs", "head_batch_size", "max_train", "max_test"):
            check_number(key, getattr(self, key), low=1, integer=True)
        check_number(
            "head_min_steps", self.head_min_steps, low=0, integer=True, hint=" (0: exactly head_epochs)"
        )
        check_number("downstream_seed", self.downstream_seed, low=0, integer=True)
        check_each("gammas", self.gammas, low=0, high=1, high_open=True, hint=" Use 0.1 for 10 %.")
        check_each("fractions", self.fractions, low=0, high=1, low_open=True, hint=" Use 0.1 for 10 %.")
        check_each("seeds", self.seeds, low=0, integer=True)

    def pretrain_config(self, gamma: float, seed: int):
        """The pre-training config of one model: the set-up's defaults, then ``pretrain``, then gamma and seed.

        Returns
        -------
        PretrainConfig or ContrastiveConfig
        """
        values = dict(PRETRAIN_DEFAULTS[(self.setup, self.objective)], **self.pretrain)
        values.update(noise=float(gamma), seed=int(seed))
        if self.objective == "contrastive":
            from nmtune.pretrain.contrastive import ContrastiveConfig

            return config_from_dict(values, ContrastiveConfig)
        return config_from_dict(values, PretrainConfig)


def list_study_presets() -> list[str]:
    """Names of the study configurations packaged in ``nmtune/configs/studies``."""
    from importlib import resources

    root = resources.files("nmtune") / "configs" / "studies"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _study_config_path(path: str | os.PathLike) -> Path:
    """A file path as given, or the packaged preset of that name; neither is an error listing the presets."""
    p = Path(path)
    if p.is_file():
        return p
    if str(path) in list_study_presets():
        from importlib import resources

        return Path(str(resources.files("nmtune") / "configs" / "studies" / f"{path}.yaml"))
    raise FileNotFoundError(
        f"No study configuration file {str(path)!r}. Give a YAML file path or a preset name: "
        f"{', '.join(list_study_presets())}."
    )


def load_study_config(path: str | os.PathLike | None = None, **overrides) -> StudyConfig:
    """Read a YAML/JSON study config (a path or a preset name, or the defaults) and apply keyword overrides.

    Parameters
    ----------
    path : str or path-like, optional
        A YAML/JSON file of :class:`StudyConfig` fields, or a preset name (:func:`list_study_presets`:
        ``glyphs-tiny``, ``glyphs-contrastive``, ``glyphs-gpu``, ``fashion``).
    **overrides
        Field values that replace the file's (``None`` values are ignored).

    Returns
    -------
    StudyConfig
    """
    values = {}
    if path is not None:
        values = read_yaml_mapping(_study_config_path(path), "study configuration")
    values.update({k: v for k, v in overrides.items() if v is not None})
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return config_from_dict(values, StudyConfig)


def _tasks(config: StudyConfig) -> list[dict]:
    """Downstream tasks of the config's set-up (:func:`nmtune.pretrain.tasks.study_tasks`)."""
    from nmtune.pretrain.tasks import study_tasks

    return study_tasks(
        config.setup,
        max_train=config.max_train,
        max_test=config.max_test,
        seed=config.downstream_seed,
        corruptions=config.corruptions,
    )


def _model_summary(record: dict) -> dict:
    rows = record["rows"]
    out = {}
    for method in {r["method"] for r in rows}:
        for kind in ("id", "ood"):
            acc = [r["accuracy"] for r in rows if r["method"] == method and r["kind"] == kind]
            out[f"{kind}_{method}"] = float(np.mean(acc)) if acc else float("nan")
        acc = [r["accuracy"] for r in rows if r["method"] == method]
        out[f"all_{method}"] = float(np.mean(acc))
    sp = record["spectra"].values()
    out["sve_id"] = float(np.mean([s["sve"] for s in sp if s["kind"] == "id"]))
    out["lsvr_ood"] = float(np.mean([s["lsvr"] for s in sp if s["kind"] == "ood"]))
    out["clean_test_accuracy"] = record["checkpoint"]["clean_test_accuracy"]
    return out


def summarise(records: list[dict]) -> dict:
    """``summary[key][gamma] -> list over seeds`` (seeds sorted, so paired across gammas)."""
    summary: dict = {}
    for rec in sorted(records, key=lambda r: (r["gamma"], r["seed"])):
        for key, value in _model_summary(rec).items():
            summary.setdefault(key, {}).setdefault(rec["gamma"], []).append(value)
    return summary


def summary_table(summary: dict) -> list[str]:
    """Markdown table: per gamma, mean and 95 % CI half-width over seeds of the main quantities."""
    from nmtune.pretrain.verdict import mean_ci

    keys = [
        k
        for k in (
            "clean_test_accuracy",
            "id_lp",
            "ood_lp",
            "sve_id",
            "lsvr_ood",
            "id_mlp",
            "ood_mlp",
            "id_nmtune",
            "ood_nmtune",
        )
        if k in summary
    ]
    rows = ["| gamma | seeds | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for g in sorted(summary[keys[0]]):
        cells = []
        for k in keys:
            m, lo, hi = mean_ci(summary[k].get(g, []))
            cells.append(f"{m:.4f}" + ("" if not np.isfinite(hi) else f" ± {hi - m:.4f}"))
        rows.append(f"| {100 * g:g} % | {len(summary[keys[0]][g])} | " + " | ".join(cells) + " |")
    return rows


def _evaluate_checkpoint(
    ckpt_path, config: StudyConfig, tasks: list[dict], progress: bool, reuse=None
) -> dict:
    """The record of one pre-trained model (without the study bookkeeping fields).

    ``reuse`` = (encoder fingerprint, rows) of an earlier record of this model: its rows are kept when the
    checkpoint is still the one they were computed with.
    """
    from nmtune.pretrain.encoder import load_pretrained_encoder

    encoder = load_pretrained_encoder(ckpt_path)
    rows = reuse[1] if reuse and reuse[0] == encoder.fingerprint else None
    t0 = time.perf_counter()
    rec = evaluate_model(encoder, tasks, config, progress=progress, reuse=rows)
    rec.update(
        eval_s=time.perf_counter() - t0,
        checkpoint=encoder.checkpoint_info,
        encoder_fingerprint=encoder.fingerprint,
    )
    return rec


_WORKER: dict = {}


def _init_worker(config: StudyConfig, n_threads: int, reuse: dict) -> None:
    from nmtune.protocol.grid import limit_worker_threads

    limit_worker_threads(n_threads)
    _WORKER.clear()
    _WORKER.update(config=config, reuse=reuse)


def _worker_evaluate(ckpt_path: str) -> dict:
    if "tasks" not in _WORKER:  # loaded once per worker process
        _WORKER["tasks"] = _tasks(_WORKER["config"])
    reuse = _WORKER["reuse"].get(ckpt_path)
    return _evaluate_checkpoint(ckpt_path, _WORKER["config"], _WORKER["tasks"], progress=False, reuse=reuse)


def _evaluate_all(todo, config: StudyConfig, n_jobs: int, progress: bool):
    """Yield ``(job, record)`` for every ``(gamma, seed, ckpt_path, rec_path, reuse)`` job, as they finish."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="evaluate models", unit="model", disable=not progress)
    if n_jobs <= 1 or len(todo) <= 1:
        from threadpoolctl import threadpool_limits

        tasks = _tasks(config) if todo else None
        with threadpool_limits(1, user_api="blas"):  # numpy/scipy beside torch's own threads
            for job in todo:
                yield job, _evaluate_checkpoint(job[2], config, tasks, progress, reuse=job[4])
                bar.update()
    else:
        from nmtune._internal.pool import imap_processes

        n_threads = max(1, (os.cpu_count() or 1) // n_jobs)
        by_path = {str(job[2]): job for job in todo}
        reuse = {str(job[2]): job[4] for job in todo if job[4]}
        for path, record in imap_processes(
            _worker_evaluate,
            list(by_path),
            n_jobs=n_jobs,
            initializer=_init_worker,
            initargs=(config, n_threads, reuse),
        ):
            yield by_path[path], record
            bar.update()
    bar.close()


def run_study(
    config: StudyConfig,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    device: str = "auto",
    n_jobs: int = 1,
) -> dict:
    """Run (or resume) the whole study into ``out_dir``; returns the summary, verdicts and correlation.

    First every missing backbone is pre-trained (on ``device``), then every model without a record is evaluated:
    heads on the CPU, in ``n_jobs`` worker processes (each with an equal share of the CPU threads) when
    ``n_jobs > 1``. Each record is written as soon as its model is done, so an interrupted study resumes.

    Writes ``checkpoints/``, ``records/``, ``summary.json``, ``verdict.md`` and the figures
    ``fig2_lp_vs_gamma.png``, ``fig3_spectrum_vs_gamma.png``, ``fig5_methods_per_gamma.png``.
    """
    from nmtune.pretrain.figures import write_figures
    from nmtune.pretrain.verdict import claim_verdicts, correlation, method_differences

    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer; received {n_jobs!r}.")
    out = Path(out_dir)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    (out / "records").mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    cfg_json = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    records, todo = _pretrain_missing(config, out, cfg_json, device, progress)
    for (gamma, seed, _, rec_path, _), rec in _evaluate_all(todo, config, n_jobs, progress):
        rec.update(gamma=float(gamma), seed=int(seed), study_config=cfg_json)
        atomic_write_text(rec_path, json.dumps(rec, default=str))
        records.append(rec)
    summary = summarise(records)
    probe = config.probe
    summary["id_lp"], summary["ood_lp"] = summary[f"id_{probe}"], summary[f"ood_{probe}"]
    verdicts = claim_verdicts(summary)
    ood = [(_model_summary(r)[f"ood_{probe}"], _model_summary(r)["lsvr_ood"]) for r in records]
    corr = correlation([a for a, _ in ood], [b for _, b in ood])
    differences = method_differences(summary, list(config.methods))
    result = {
        "summary": {k: {str(g): v for g, v in d.items()} for k, d in summary.items()},
        "verdicts": [dataclasses.asdict(v) for v in verdicts],
        "ood_lp_vs_lsvr": corr,
        "method_differences": differences,
        "wall_time_s": time.perf_counter() - t_start,
        "config": dataclasses.asdict(config),
    }
    atomic_write_text(out / "summary.json", json.dumps(result, indent=1, default=str))
    atomic_write_text(out / "verdict.md", _verdict_markdown(config, summary, verdicts, corr, differences))
    write_figures(summary, out, config.methods)
    return result


def _pretrain_missing(config: StudyConfig, out: Path, cfg_json: str, device: str, progress: bool):
    """Pre-train every backbone without a valid checkpoint; return (records kept, models left to evaluate).

    A record is kept when it was written under the same study configuration; a checkpoint when its
    pre-training configuration matches. A record written under a configuration that differed only in
    ``methods`` / ``fractions`` lends its rows to the new evaluation (:func:`reusable_rows`).
    """
    from tqdm.auto import tqdm

    from nmtune.pretrain.train import load_checkpoint, pretrain

    if config.objective == "contrastive":
        from nmtune.pretrain.contrastive import pretrain_contrastive as pretrain
    records, todo = [], []
    models = [(g, s) for g in config.gammas for s in config.seeds]
    for gamma, seed in tqdm(models, desc="pre-train", unit="model", disable=not progress):
        rec_path = out / "records" / f"g{gamma:g}_s{seed}.json"
        reuse = None
        if rec_path.is_file():
            rec = json.loads(rec_path.read_text())
            if rec.get("study_config") == cfg_json:
                records.append(rec)
                continue
            rows = reusable_rows(rec, cfg_json)
            reuse = (rec.get("encoder_fingerprint"), rows) if rows else None
        ckpt_path = out / "checkpoints" / f"g{gamma:g}_s{seed}.pt"
        pcfg = config.pretrain_config(gamma, seed)
        if not (ckpt_path.is_file() and load_checkpoint(ckpt_path)["config"] == pcfg.to_dict()):
            pretrain(pcfg, out=ckpt_path, device=device, progress=progress)
        todo.append((gamma, seed, ckpt_path, rec_path, reuse))
    return records, todo


def _verdict_markdown(config: StudyConfig, summary: dict, verdicts, corr: dict, differences) -> str:
    from nmtune.pretrain.verdict import format_ci

    lines = [
        "# Noisy pre-training study: verdicts",
        "",
        "Rules: see nmtune.pretrain.verdict (95 % t-CI over pre-training seeds, paired by seed).",
        f"Linear probe used for 'LP': {config.probe}; methods: {', '.join(config.methods)}.",
        "",
    ]
    lines += [v.to_markdown() for v in verdicts]
    lines += [
        "",
        f"- OOD LP accuracy vs LSVR across {corr['n']} models: Pearson r = {corr['pearson']:+.3f} "
        f"(95 % CI {format_ci(*corr['pearson_ci'], digits=3, why='fewer than 4 models or a constant')}), "
        f"Spearman rho = {corr['spearman']:+.3f}",
    ]
    if differences:
        lines += [
            "",
            "Head against head on the noisy models (descriptive; per-seed mean over gamma > 0 of the accuracy "
            "difference, averaged over tasks, 95 % t-CI over seeds):",
            "",
        ]
        lines += [
            f"- {r['a']} - {r['b']} ({r['kind'].upper()}): {r['mean']:+.4f} {format_ci(*r['ci'])}"
            for r in differences
        ]
    lines += ["", *summary_table(summary)]
    return "\n".join(lines) + "\n"
