"""The study's evaluation: protocol runs on each backbone's feature tasks, plus zero-shot records.

Each backbone's downstream tasks are the study suite's :class:`~nmtune.protocol.tasks.FeatureTask` (encoded once
into the study folder's feature cache, ``<out>/features``, with the protocol's caps), and each (task, method,
fraction, downstream seed) is one protocol run (:func:`nmtune.protocol.run_one`): the same rows, heads,
metrics and per-sample predictions as ``nmtune run``. Image-caption backbones also get one ``zero-shot`` record
per task: the caption closest to each test image (no training data; ``fraction`` 0).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["backbone_tasks", "run_specs", "zero_shot_spec", "zero_shot_record", "ZERO_SHOT"]

ZERO_SHOT = "zero-shot"


def backbone_tasks(config, backbone, suite, out: str | Path, *, device: str = "cpu", progress: bool = True):
    """The feature tasks of one backbone (encoded once, cached in ``<out>/features``).

    Parameters
    ----------
    config : StudyConfig
        ``max_train`` / ``max_test`` caps.
    backbone : Backbone
        The checkpoint and its label.
    suite : Suite
        :func:`nmtune.apps.study.setups.study_suite`.
    out : path
        The study folder.
    device : str
        Device of the encoder.
    progress : bool
        Progress bars while encoding.

    Returns
    -------
    list of FeatureTask
        For the ``images`` set-up, extracted in batches from disk
        (:func:`nmtune.apps.study.images.image_feature_tasks`).
    """
    if config.setup == "images":
        from nmtune.apps.study.images import image_feature_tasks

        return image_feature_tasks(config, backbone, suite, out, device=device, progress=progress)
    from nmtune.cache import FeatureCache
    from nmtune.encoders import get_encoder
    from nmtune.protocol.feature_tasks import suite_feature_tasks

    return suite_feature_tasks(
        get_encoder(f"pretrained:{backbone.path}"),
        suite,
        max_train=config.max_train,
        max_eval=config.max_test,
        device=device,
        progress=progress,
        cache=FeatureCache(Path(out) / "features"),
        label=backbone.label,
    )


def run_specs(config, tasks, backbone) -> list:
    """Every protocol run of one backbone: task x method x fraction x downstream seed.

    Neural heads get the study's budget (``head_epochs``, ``head_min_steps``, ``head_batch_size``); every run
    records the backbone's noise rate (``pretrain_noise``) and the study's group policy.

    Returns
    -------
    list of RunSpec
    """
    from nmtune.protocol.methods import get_method
    from nmtune.protocol.runner import RunSpec

    specs = []
    for task in tasks:
        for method in config.methods:
            neural = get_method(method).neural
            for fraction in config.fractions:
                for seed in config.downstream_seeds:
                    specs.append(
                        RunSpec(
                            encoder=task.encoder,
                            suite=task.suite,
                            task=task.name,
                            method=method,
                            params=(("batch_size", int(config.head_batch_size)),) if neural else (),
                            fraction=float(fraction),
                            seed=int(seed),
                            epochs=int(config.head_epochs) if neural else None,
                            min_steps=int(config.head_min_steps) if neural else None,
                            max_train=int(config.max_train),
                            max_eval=int(config.max_test),
                            pretrain_noise=float(backbone.gamma),
                            group_folds=config.group_folds,
                        )
                    )
    return specs


def zero_shot_spec(config, backbone, task):
    """The identity of a zero-shot record (a :class:`~nmtune.protocol.runner.RunSpec`, method ``"zero-shot"``)."""
    from nmtune.protocol.runner import RunSpec

    return RunSpec(
        encoder=task.encoder,
        suite=task.suite,
        task=task.name,
        method=ZERO_SHOT,
        fraction=0.0,
        seed=0,
        max_train=int(config.max_train),
        max_eval=int(config.max_test),
        pretrain_noise=float(backbone.gamma),
    )


def zero_shot_record(config, backbone, task, suite) -> dict:
    """The zero-shot record of one image-caption backbone on one task (a protocol-shaped run record).

    Every evaluation domain of the task is classified by the caption (:func:`nmtune.apps.study.setups.captions`
    of the task's class names) closest to each image: accuracy, macro-F1 and the per-sample predictions.

    Returns
    -------
    dict
        ``run_id``, ``config`` (method ``"zero-shot"``, fraction 0), ``status``, ``domains``, ``id_accuracy``,
        ``ood_accuracy``, ``predictions``, ``finished_at``.
    """
    from nmtune.apps.study.setups import captions
    from nmtune.protocol.evaluate import macro_f1
    from nmtune.protocol.predictions import pack_labels
    from nmtune.protocol.runner import library_versions

    spec = zero_shot_spec(config, backbone, task)
    texts = captions(task.class_names)
    evals = next(t for t in suite.tasks if t.name == task.name).evals
    if config.setup == "images":  # images decoded a chunk at a time from disk
        from nmtune.apps.study.images import image_zero_shot_predictions

        labelled = image_zero_shot_predictions(config, backbone, evals, texts)
    else:
        labelled = _zero_shot_predictions(config, backbone, evals, texts)
    domains, predictions = {}, {}
    for d, y, pred in labelled:
        domains[d.name] = {
            "kind": d.kind,
            "n": int(y.size),
            "accuracy": float(np.mean(pred == y)),
            "macro_f1": macro_f1(y, pred),
        }
        predictions[d.name] = {"pred": pack_labels(pred), "true": pack_labels(y)}

    def _mean(kind):
        vals = [m["accuracy"] for m in domains.values() if m["kind"] == kind]
        return float(np.mean(vals)) if vals else None

    return {
        "run_id": spec.run_id,
        "config": spec.config(),
        "status": "done",
        "error": None,
        "versions": library_versions(),
        "domains": domains,
        "id_accuracy": _mean("id"),
        "ood_accuracy": _mean("ood"),
        "fit_seconds": 0.0,
        "n_train": 0,
        "predictions": predictions,
        "task_meta": dict(task.meta),
        "finished_at": time.time(),
    }


def _zero_shot_predictions(config, backbone, evals, texts):
    """``(domain, labels (N,), predictions (N,))`` per evaluation domain of a built-in data set, decoded whole."""
    from nmtune.datasets import capped_name, load_dataset
    from nmtune.pretrain import load_checkpoint, zero_shot_predict

    ckpt = load_checkpoint(backbone.path)
    for d in evals:
        ds = load_dataset(capped_name(d.data.dataset, config.max_test), d.data.split)
        yield d, np.asarray(ds.labels, dtype=np.int64), zero_shot_predict(ckpt, np.asarray(ds.inputs), texts)
