"""``run_study``: pre-train what is missing, run every head through the protocol into the study's store, report.

A study folder holds ``checkpoints/`` (one backbone per noise rate and pre-training seed), ``features/`` (the
feature cache of its backbones), ``results.sqlite`` (a :class:`~nmtune.results.ResultsStore`: one record per
protocol run, written as soon as the run is done; re-running skips what it holds, so an interrupted study
resumes and a study gains a method or a fraction without refitting the others) and the report: ``verdict.md``,
``summary.json`` and the figures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["run_study", "report_study", "study_store_path", "check_study_folder"]

_STORE = "results.sqlite"


def study_store_path(out: str | os.PathLike) -> Path:
    """``<out>/results.sqlite``."""
    return Path(out) / _STORE


def check_study_folder(out: str | os.PathLike) -> None:
    """Refuse a folder written by an earlier nmtune (per-model JSON records), saying how to re-run it.

    Raises
    ------
    ValueError
        When ``<out>/records/`` holds JSON records and there is no results store.
    """
    out = Path(out)
    old = out / "records"
    if old.is_dir() and any(old.glob("*.json")) and not study_store_path(out).exists():
        raise ValueError(
            f"{str(out)!r} holds a study written by an earlier nmtune (one JSON record per model in records/); "
            f"this version keeps a study's results in {str(study_store_path(out))!r} and cannot read those "
            f"records. Its backbones can be reused: move the old records aside (mv {old} {old}-v1) and run the "
            "same command again; checkpoints/ whose pre-training configuration matches are kept and only the "
            "heads are evaluated again."
        )


def run_study(
    config,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    device: str = "auto",
    n_jobs: int = 1,
) -> dict:
    """Run (or resume) the whole study into ``out_dir``; returns the summary (as written to ``summary.json``).

    First every missing backbone is pre-trained (on ``device``); then each backbone's feature tasks are encoded
    (cached in ``<out>/features``) and every protocol run the store does not hold is executed: heads on the CPU,
    one thread each, in ``n_jobs`` worker processes (:func:`nmtune.protocol.execute`). Image-caption
    backbones also get their zero-shot records. Then the report is written (:func:`report_study`).

    Parameters
    ----------
    config : StudyConfig
        The study.
    out_dir : path
        The study folder (created; re-running resumes).
    progress : bool
        Progress bars.
    device : str
        Device of pre-training and encoding.
    n_jobs : int
        Worker processes fitting the heads.

    Returns
    -------
    dict
        The contents of ``summary.json``.

    Raises
    ------
    RuntimeError
        When runs failed (they are stored with their error; the report is not written). Re-running retries them.
    """
    from nmtune.apps.study.backbones import prepare_backbones
    from nmtune.apps.study.evaluation import backbone_tasks, run_specs, zero_shot_record, zero_shot_spec
    from nmtune.apps.study.setups import study_suite
    from nmtune.protocol.grid import execute
    from nmtune.results import ResultsStore

    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer; received {n_jobs!r}.")
    out = Path(out_dir)
    check_study_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if config.setup == "images":  # missing folders and mismatched classes fail before hours of training
        from nmtune.apps.study.images import check_image_sources

        check_image_sources(config, study_suite(config))
    backbones = prepare_backbones(config, out, device=device, progress=progress)
    suite = study_suite(config)
    enc_device = "cpu" if device == "auto" else device
    with ResultsStore(study_store_path(out)) as store:
        store.set_meta("study_config", config.to_dict())
        store.set_meta("backbones", {b.label: b.info for b in backbones})
        tasks, specs, ids = [], [], []
        done = store.done_ids()
        for b in backbones:
            b_tasks = backbone_tasks(config, b, suite, out, device=enc_device, progress=progress)
            tasks += b_tasks
            specs += run_specs(config, b_tasks, b)
            if config.objective == "contrastive":
                for task in b_tasks:
                    ids.append(zero_shot_spec(config, b, task).run_id)
                    if ids[-1] not in done:
                        store.put(zero_shot_record(config, b, task, suite))
        result = execute(specs, tasks, store, n_jobs=n_jobs, progress=progress, threads_per_run=1)
        store.set_meta("study_run_ids", [*result.run_ids, *ids])
        failed = [r for r in store.records(status="failed") if r["run_id"] in set(result.run_ids)]
    if failed:
        lines = [f"{r['config']['task']}/{r['config']['method']} {r['config']['encoder']}: {r['error'].splitlines()[0]}"
                 for r in failed[:5]]  # fmt: skip
        raise RuntimeError(
            f"{len(failed)} of {result.n_total} runs failed (stored with their errors in {study_store_path(out)}; "
            "re-running the study retries them):\n  " + "\n  ".join(lines)
        )
    summary = report_study(out, config=config)
    summary["wall_time_s"] = time.perf_counter() - t0
    return summary


def report_study(out_dir: str | os.PathLike, *, config=None) -> dict:
    """Write ``summary.json``, ``verdict.md`` and the figures of a study folder from its results store.

    Parameters
    ----------
    out_dir : path
        A study folder whose ``results.sqlite`` a :func:`run_study` wrote.
    config : StudyConfig, optional
        Default: the configuration stored with the results.

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    from nmtune.apps.study.config import load_study_config
    from nmtune.apps.study.report import write_report
    from nmtune.apps.study.summary import StudyData, study_rows
    from nmtune.results import ResultsStore

    out = Path(out_dir)
    check_study_folder(out)
    if not study_store_path(out).is_file():
        raise FileNotFoundError(
            f"No study results in {str(out)!r} (no {_STORE}); run the study into it first: "
            f"nmtune study noisy-pretrain --out {out} [--config ...]."
        )
    with ResultsStore(study_store_path(out), create=False) as store:
        if config is None:
            config = load_study_config(None, **store.get_meta("study_config", {}))
        ids = set(store.get_meta("study_run_ids", []))
        backbones = store.get_meta("backbones", {})
        records = [r for r in store.records() if r["run_id"] in ids]
    data = StudyData(study_rows(records, backbones), backbones)
    return write_report(data, records, config, out)
