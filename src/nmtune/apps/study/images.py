"""The ``images`` set-up: the study on your own images on disk, streamed (pre-training and downstream).

Shape convention: N images of a split, D features, C classes.

Pre-training data, architecture and image size are fields of ``StudyConfig.pretrain`` (``dataset`` an image
source streamed from disk, :mod:`nmtune.datasets.image_sources`: ``image-folder:<dir>?mode=RGB``,
``wds:<shards>``, ``hf-images:<dir>``; ``arch`` e.g. ``hf-resnet18``; ``image_size``). The downstream tasks
are ``StudyConfig.images["tasks"]``, a list of entries of one of two forms::

    {name: pets, train: "image-folder:/data/pets?mode=RGB",            # train/ + val/ (or test/)
     ood: {sketch: "image-folder:/data/pets-sketch?mode=RGB"}}          # optional OOD domains (test split)
    {name: office, domains: /data/office-home, train: [real]}           # <domain>/<class>/<image>

A folder task trains on its source's ``train`` split and is evaluated on its ``test`` split (ID) and on the
``test`` split of each ``ood`` source, which must hold the same classes. A domain collection gives one task
per training domain (``<name>-<domain>``): trained on 80 % of that domain, evaluated on the other 20 % (ID)
and on every other domain of the collection (OOD, one evaluation domain per held-out domain, all its
images), as the paper trains on DomainNet *real* or *sketch* and tests on the others.

Features are extracted in batches from disk (:func:`nmtune.pretrain.features.extract_features`: DataLoader
workers decode, the features are written batch by batch into a ``.npy`` memory map), never a whole split in
memory, after the protocol's stratified per-domain caps (``max_train`` / ``max_test``, chosen from the labels
without decoding an image). They are cached in the study folder (``<out>/features``) in the feature cache's
format, keyed by the backbone's fingerprint, the source's own fingerprint, the split and the cap.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from nmtune.apps.study.images_config import ood_domains
from nmtune.datasets.image_sources import ImageSource

__all__ = ["images_suite", "check_image_sources", "image_feature_tasks", "image_zero_shot_predictions"]


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:10]


def images_suite(config):
    """The suite of an ``images`` study: one task per folder task and per training domain of a collection.

    The suite's name, ``noisy-pretrain-images@<digest of the tasks>``, enters every run id, so results of
    other task definitions are never mistaken for these. Domain collections are listed on disk here.

    Returns
    -------
    Suite
    """
    from urllib.parse import urlencode

    from nmtune.datasets.image_sources import list_domains
    from nmtune.exceptions import unknown_name_error
    from nmtune.suites import DataRef, Domain, Suite, Task

    tasks = []
    for entry in config.images["tasks"]:
        if "domains" in entry:
            root, mode = entry["domains"], entry.get("mode", "RGB")
            try:
                domains = list_domains(root)
            except FileNotFoundError as exc:
                raise _missing(f"Task {entry['name']!r}", exc) from exc
            train = [entry["train"]] if isinstance(entry["train"], str) else list(entry["train"])
            for d in train:
                if d not in domains:
                    raise unknown_name_error(
                        f"training domain of {root!r} (task {entry['name']!r})", d, domains
                    )

            def ref(d, split, root=root, mode=mode):
                return DataRef(f"image-domains:{root}?{urlencode({'domain': d, 'mode': mode})}", split)

            for d in train:
                held_out = [Domain(o, ref(o, "all"), "ood") for o in domains if o != d]
                if not held_out:
                    raise ValueError(
                        f"Task {entry['name']!r}: {root!r} holds the one domain {d!r}; a domain collection needs "
                        "held-out domains for OOD evaluation."
                    )
                evals = (Domain(d, ref(d, "test"), "id"), *held_out)
                tasks.append(Task(f"{entry['name']}-{d}", "image", ref(d, "train"), evals))
            continue
        ood = ood_domains(entry)
        evals = (Domain(entry["name"], DataRef(entry["train"], "test"), "id"),)
        evals += tuple(Domain(str(k), DataRef(v, "test"), "ood") for k, v in ood.items())
        tasks.append(Task(entry["name"], "image", DataRef(entry["train"], "train"), evals))
    return Suite(
        f"noisy-pretrain-images@{_digest(list(config.images['tasks']))}",
        tuple(tasks),
        "The study's own image tasks (setup: images)",
    )


def _open(ref, channels: int | None = None):
    from nmtune.datasets.image_sources import open_image_source

    src = open_image_source(ref.dataset, ref.split)
    if channels is not None:
        src = copy.copy(src)
        src.mode = "RGB" if channels == 3 else "L"
    return src


def _missing(what: str, exc: Exception) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what}: {exc} Point the study's configuration at your copy of the data (nothing is downloaded; "
        "docs/study-images.md shows the layouts)."
    )


def check_image_sources(config, suite) -> None:
    """Open the pre-training data and every split of the suite before pre-training (nothing is decoded).

    Opening lists the files and reads shard headers, so a wrong path fails before hours of pre-training.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing folder or split, or an OOD domain whose classes differ from its task's training classes.
    """
    from nmtune.datasets.image_sources import open_image_source

    try:
        open_image_source(config.pretrain["dataset"], "train")
    except FileNotFoundError as exc:
        raise _missing(f"pretrain.dataset {config.pretrain['dataset']!r}", exc) from exc
    for task in suite.tasks:
        try:
            train = _open(task.train)
            sources = [(d, _open(d.data)) for d in task.evals]
        except FileNotFoundError as exc:
            raise _missing(f"Task {task.name!r}", exc) from exc
        for d, src in sources:
            if tuple(src.class_names) != tuple(train.class_names):
                raise ValueError(
                    f"Task {task.name!r}: evaluation domain {d.name!r} ({d.data.dataset}) has classes "
                    f"{list(src.class_names)[:6]}... but the training split has {list(train.class_names)[:6]}...; "
                    "an OOD domain must hold the same class folders (the same names) as the task's training data."
                )


class _Rows(ImageSource):
    """Rows ``rows`` of an image source (a stratified cap), read one at a time."""

    def __init__(self, source, rows):
        self.source, self.rows = source, np.asarray(rows, dtype=np.int64)
        self.name, self.split, self.mode = source.name, source.split, source.mode
        self.labels = np.asarray(source.labels)[self.rows]
        self.class_names = tuple(source.class_names)
        self.captions = None

    def read(self, i: int) -> np.ndarray:
        if self.source.mode != self.mode:  # decode as the encoder decodes (extract_features sets mode)
            self.source = copy.copy(self.source)
            self.source.mode = self.mode
        return self.source.read(int(self.rows[i]))


def _capped(source, cap: int | None):
    """The protocol's fixed stratified cap (seed 0) of a source, chosen from its labels alone."""
    from nmtune.datasets import cap_indices

    rows = cap_indices(source.labels, cap, 0)
    return source if rows.shape[0] == len(source) else _Rows(source, rows)


def _features(encoder, ref, cap, cache, *, label: str, where: str, images: dict, device: str, progress: bool):
    """Cached features of one (capped) split, extracted in batches from disk when missing.

    ``label`` (the backbone's) and ``where`` (task and domain) only name the cache folder.
    """
    from nmtune import __version__
    from nmtune._internal.files import atomic_write_text, sha256_file
    from nmtune.cache import _VERIFIED, record_digest
    from nmtune.pretrain.features import extract_features

    source = _open(ref, encoder.channels)
    identity = {"encoder": encoder.fingerprint, "source": ref.dataset, "data": source.fingerprint(),
                "split": ref.split, "cap": cap, "kind": "streamed-v1"}  # fmt: skip
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    hit = cache.load(key)
    if hit is not None:
        return hit
    capped = _capped(source, cap)
    folder = cache.entry_dir(key, label, f"{where}-cap{cap}", ref.split)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "X.partial.npy"
    got = extract_features(
        encoder, capped, ref.split, batch_size=int(images["batch_size"]), workers=int(images["workers"]),
        device=device, out=partial, progress=progress,
    )  # fmt: skip
    n, dim = got.X.shape
    del got
    os.replace(partial, folder / "X.npy")
    np.save(folder / "y.npy", np.asarray(capped.labels, dtype=np.int64), allow_pickle=False)
    record = {
        "key": key,
        "encoder": encoder.name,
        "encoder_fingerprint": encoder.fingerprint,
        "dataset": ref.dataset,
        "dataset_fingerprint": source.fingerprint(),
        "split": ref.split,
        "cap": cap,
        "streamed": True,
        "batch_size": int(images["batch_size"]),
        "shape": [int(n), int(dim)],
        "dtype": "float32",
        "sha256": sha256_file(folder / "X.npy"),
        "y_sha256": sha256_file(folder / "y.npy"),
        "class_names": list(capped.class_names),
        "modality": "image",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nmtune_version": __version__,
    }
    record["record_sha256"] = record_digest(record)
    atomic_write_text(folder / "record.json", json.dumps(record, indent=2))
    for path in (folder / "X.npy", folder / "y.npy"):
        st = path.stat()
        _VERIFIED.add((str(path), st.st_size, st.st_mtime_ns))
    out = cache.load(key)
    assert out is not None, folder
    return out


def image_feature_tasks(config, backbone, suite, out, *, device: str = "cpu", progress: bool = True):
    """The feature tasks of one backbone on the ``images`` suite, streamed from disk and cached.

    Parameters
    ----------
    config : StudyConfig
        ``max_train`` / ``max_test`` caps, ``images`` (``workers``, ``batch_size``).
    backbone : Backbone
    suite : Suite
        :func:`images_suite`.
    out : path
        The study folder (features in ``<out>/features``).

    Returns
    -------
    list of FeatureTask
    """
    from nmtune.cache import FeatureCache
    from nmtune.pretrain.encoder import load_pretrained_encoder
    from nmtune.protocol.tasks import EvalDomain, FeatureTask

    encoder = load_pretrained_encoder(backbone.path)
    cache = FeatureCache(Path(out) / "features")
    opts = dict(label=backbone.label, images=config.images, device=device, progress=progress)
    tasks = []
    for t in suite.tasks:
        tr = _features(encoder, t.train, config.max_train, cache, where=f"{t.name}.train", **opts)
        evals = []
        for d in t.evals:
            f = _features(encoder, d.data, config.max_test, cache, where=f"{t.name}.{d.name}", **opts)
            evals.append(EvalDomain(d.name, f.X, np.asarray(f.y, dtype=np.int64), d.kind))
        tasks.append(
            FeatureTask(
                name=t.name,
                X_train=tr.X,
                y_train=np.asarray(tr.y, dtype=np.int64),
                evals=tuple(evals),
                class_names=tuple(tr.class_names),
                encoder=backbone.label,
                suite=suite.name,
                modality="image",
                meta={
                    "train_dataset": t.train.dataset,
                    "max_train": config.max_train,
                    "max_eval": config.max_test,
                    "encoder_fingerprint": encoder.fingerprint,
                    "streamed": True,
                },
            )
        )
    return tasks


def image_zero_shot_predictions(config, backbone, evals, texts, *, device: str = "cpu"):
    """``(domain, labels (N,), predictions (N,))`` per evaluation domain of an ``images`` task, read in chunks.

    For :func:`nmtune.apps.study.evaluation.zero_shot_record` (which passes the task's evaluation domains and the
    classes' captions ``texts``): the caption closest to each image, on the same capped rows as the features,
    decoded ``images.batch_size`` images at a time.
    """
    from nmtune.pretrain import load_checkpoint, zero_shot_predict
    from nmtune.pretrain.checkpoint import checkpoint_preprocessing
    from nmtune.pretrain.zero_shot import caption_features

    ckpt = load_checkpoint(backbone.path)
    channels = int(checkpoint_preprocessing(ckpt)["channels"])
    text_features = caption_features(ckpt, texts)
    step = int(config.images["batch_size"])
    for d in evals:
        src = _capped(_open(d.data, channels), config.max_test)
        pred = np.concatenate(
            [
                zero_shot_predict(
                    ckpt,
                    [src.read(i) for i in range(a, min(a + step, len(src)))],
                    texts,
                    device=device,
                    batch_size=step,
                    text_features=text_features,
                )  # fmt: skip
                for a in range(0, len(src), step)
            ]
        )
        yield d, np.asarray(src.labels, dtype=np.int64), pred
