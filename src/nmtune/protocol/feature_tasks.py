"""The thin layer from (encoder, suite) to feature tasks through the feature cache.

Per-domain caps are applied *before* encoding: the dataset name ``cap:<n>:<dataset>``
(:mod:`nmtune.datasets.capped`) is a fixed stratified subsample (seed 0) of about ``n`` rows of ``<dataset>``,
so the cache stores and reuses exactly the capped features and a capped grid never encodes a whole corpus.
"""

from __future__ import annotations

import numpy as np

from nmtune.datasets import capped_name, dataset_groups
from nmtune.protocol.config import GridConfig
from nmtune.protocol.tasks import EvalDomain, FeatureTask

__all__ = ["suite_feature_tasks", "config_feature_tasks"]


def suite_feature_tasks(
    encoder,
    suite,
    *,
    max_train: int | None = None,
    max_eval: int | None = None,
    tasks: tuple[str, ...] = (),
    device: str = "cpu",
    progress: bool = True,
    cache=None,
    label: str | None = None,
) -> list[FeatureTask]:
    """Feature tasks of a suite under an encoder, computed once and cached on disk.

    Parameters
    ----------
    encoder : str or Encoder
        Encoder name (:func:`nmtune.encoders.get_encoder`) or an encoder object.
    suite : str or Suite
        Suite name or path (:func:`nmtune.suites.get_suite`), or a :class:`nmtune.suites.Suite`.
    max_train, max_eval : int, optional
        Per-domain caps (stratified, seed 0) of the training and evaluation splits.
    tasks : tuple of str
        Keep only these task names (empty: all).
    device : str
        Device of the encoder.
    progress : bool
        Progress bars while encoding.
    cache : FeatureCache, optional
        Where features are cached (default: the user cache, :func:`nmtune.cache.default_cache_dir`).
    label : str, optional
        The ``encoder`` label of the tasks (it enters every run id); default the name given (or the encoder
        object's ``name``).

    Returns
    -------
    list of FeatureTask
    """
    from nmtune.cache import get_features
    from nmtune.encoders import get_encoder
    from nmtune.suites import Suite, get_suite

    s = suite if isinstance(suite, Suite) else get_suite(suite)
    suite = s.name
    chosen = [t for t in s.tasks if not tasks or t.name in tasks]
    enc = get_encoder(encoder) if isinstance(encoder, str) else encoder
    encoder = label or (
        encoder if isinstance(encoder, str) else enc.name
    )  # a name stays as the user wrote it
    for t in chosen:
        if t.modality and enc.modality != t.modality:
            raise ValueError(
                f"Encoder {encoder!r} encodes {enc.modality} inputs but task {t.name!r} of suite {suite!r} is "
                f"{t.modality}; pair {t.modality} suites with {t.modality} encoders (see `nmtune.suites` and "
                "`nmtune.encoders.list_encoders()`)."
            )
    out = []
    for t in chosen:
        tr = get_features(
            enc,
            capped_name(t.train.dataset, max_train),
            t.train.split,
            cache=cache,
            device=device,
            progress=progress,
        )
        evals = []
        for d in t.evals:
            f = get_features(
                enc,
                capped_name(d.data.dataset, max_eval),
                d.data.split,
                cache=cache,
                device=device,
                progress=progress,
            )
            evals.append(EvalDomain(d.name, f.X, np.asarray(f.y, dtype=np.int64), d.kind))
        out.append(
            FeatureTask(
                name=t.name,
                X_train=tr.X,
                y_train=np.asarray(tr.y, dtype=np.int64),
                evals=tuple(evals),
                class_names=tuple(tr.class_names),
                encoder=encoder,
                suite=suite,
                modality=t.modality,
                meta={
                    "train_dataset": t.train.dataset,
                    "max_train": max_train,
                    "max_eval": max_eval,
                    "encoder_fingerprint": enc.fingerprint,
                },
                groups_train=dataset_groups(capped_name(t.train.dataset, max_train), t.train.split),
            )
        )
    return out


def check_grid_names(config: GridConfig) -> None:
    """Check every encoder, suite and task name of a grid before anything is encoded (clear, early errors)."""
    from nmtune.encoders import list_encoders, list_prefixes
    from nmtune.exceptions import unknown_name_error
    from nmtune.suites import get_suite

    plain = list_encoders()
    all_tasks: set[str] = set()
    for encoder, suite in config.encoder_suite_pairs():
        prefix, sep, _ = encoder.partition(":")
        if (sep and prefix not in list_prefixes()) or (not sep and encoder not in plain):
            raise unknown_name_error("encoder", encoder, plain + [f"{p}:..." for p in list_prefixes()])
        all_tasks |= {t.name for t in get_suite(suite).tasks}
    for task in config.tasks:
        if task not in all_tasks:
            raise unknown_name_error("task (of the grid's suites)", task, all_tasks)


def config_feature_tasks(config: GridConfig, *, progress: bool = True) -> list[FeatureTask]:
    """Every feature task of a grid configuration's (encoder, suite) pairs.

    Parameters
    ----------
    config : GridConfig
        Uses ``encoder_suite_pairs()``, ``tasks``, ``max_train``, ``max_eval`` and ``device``.
    progress : bool
        Progress bars while encoding.

    Returns
    -------
    list of FeatureTask
    """
    check_grid_names(config)
    out = []
    for encoder, suite in config.encoder_suite_pairs():
        found = suite_feature_tasks(
            encoder,
            suite,
            max_train=config.max_train,
            max_eval=config.max_eval,
            tasks=config.tasks,
            device=config.device,
            progress=progress,
        )
        out.extend(found)
    if config.tasks:
        missing = set(config.tasks) - {t.name for t in out}
        if missing:
            raise ValueError(
                f"Grid names tasks {sorted(missing)} that no suite of the grid has; the suites' "
                f"tasks are {sorted({t.name for t in out})}."
            )
    return out
