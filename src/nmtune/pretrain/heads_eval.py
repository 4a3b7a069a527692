"""One model of the noisy pre-training study: encode the downstream tasks, fit the heads, score every domain.

A model's record holds one row per (task, fraction, method, domain). Rows of an earlier record whose study
configuration differed only in ``methods`` or ``fractions`` can be reused (:func:`reusable_rows`), so a
finished study gains a method or a fraction without refitting the heads it already has.
"""

from __future__ import annotations

import json
import time

import numpy as np

__all__ = ["evaluate_model", "reusable_rows", "REUSABLE_KEYS"]

#: Study configuration fields whose change leaves the other heads' rows valid.
REUSABLE_KEYS = ("methods", "fractions")


def _make_head(method: str, config):
    """An unfitted head with paper defaults (through the protocol's method registry) and the study's budget.

    Neural heads get ``epochs=head_epochs`` and ``min_steps=head_min_steps``: the head itself runs
    ``max(head_epochs, ceil(head_min_steps / steps_per_epoch))`` epochs (the heads' one step-budget mechanism).
    """
    from nmtune.protocol.methods import build_estimator, get_method

    if not get_method(method).neural:
        return build_estimator(method, {}, random_state=config.downstream_seed, device="cpu")
    return build_estimator(
        method,
        {"batch_size": config.head_batch_size},
        random_state=config.downstream_seed,
        device="cpu",
        epochs=config.head_epochs,
        min_steps=config.head_min_steps,
    )


def _usable_groups(head, y, groups):
    """``groups`` when ``head`` (NMTuneCV) can build group-aware folds from them, else ``None``.

    A small training fraction can leave some class without a sample in some group (e.g. 5 images of a glyph
    class over 3 font families); the group-aware folds then cannot hold every class on both sides, and the
    head selects on stratified folds instead (the row records ``group_folds``).
    """
    try:
        head.make_folds(y, groups)
    except ValueError:
        return None
    return groups


def _without_reusable_keys(cfg_json: str) -> dict:
    cfg = json.loads(cfg_json)
    for key in REUSABLE_KEYS:
        cfg.pop(key, None)
    return cfg


def reusable_rows(record: dict, cfg_json: str) -> list[dict]:
    """Rows of an existing model record that a study with configuration ``cfg_json`` can keep.

    Parameters
    ----------
    record : dict
        A record written by the study (``rows``, ``extra_rows``, ``study_config``, ``encoder_fingerprint``).
    cfg_json : str
        The new study configuration, as the study serialises it.

    Returns
    -------
    list of dict
        Every row of the record (kept and extra) when the two configurations differ at most in
        :data:`REUSABLE_KEYS`; otherwise an empty list (a changed head budget, task cap or seed invalidates
        every row). Zero-shot rows are never reused (they are recomputed, cheaply).
    """
    old = record.get("study_config")
    if not old or _without_reusable_keys(old) != _without_reusable_keys(cfg_json):
        return []
    rows = list(record.get("rows", [])) + list(record.get("extra_rows", []))
    return [r for r in rows if r.get("method") != "zero-shot"]


def evaluate_model(
    encoder, tasks: list[dict], config, *, progress: bool = True, reuse: list[dict] | None = None
) -> dict:
    """Encode every task with ``encoder`` and fit the heads; returns the per-model record (JSON-able).

    Parameters
    ----------
    encoder : PretrainedEncoder
        The frozen backbone.
    tasks : list of dict
        :func:`nmtune.pretrain.tasks.study_tasks`.
    config : StudyConfig
        Fractions, methods and the heads' budget.
    progress : bool
        Show a bar over the head fits.
    reuse : list of dict, optional
        Rows of an earlier record of the same model (:func:`reusable_rows`): a (task, fraction, method)
        found there is copied, not refitted. Rows outside this configuration's methods and fractions are
        returned under ``extra_rows`` (kept in the record, left out of every summary).

    Returns
    -------
    dict
        ``rows`` (one per task, fraction, method and domain), ``spectra`` (SVE / LSVR of each test domain),
        ``extra_rows`` and ``n_reused`` (rows copied from ``reuse``).
    """
    from tqdm.auto import tqdm

    from nmtune.datasets import stratified_subset
    from nmtune.protocol.evaluate import evaluate_domain
    from nmtune.protocol.methods import get_method
    from nmtune.protocol.runner import _takes_groups
    from nmtune.spectrum import spectrum_metrics

    reuse = reuse or []
    have = {(r["task"], float(r["fraction"]), r["method"]) for r in reuse}
    wanted = {(t["name"], float(f), m) for t in tasks for f in config.fractions for m in config.methods}
    rows = [r for r in reuse if (r["task"], float(r["fraction"]), r["method"]) in wanted]
    extra = [r for r in reuse if (r["task"], float(r["fraction"]), r["method"]) not in wanted]
    jobs = [
        (t, f, m)
        for t in tasks
        for f in config.fractions
        for m in config.methods
        if (t["name"], float(f), m) not in have
    ]
    spectra, enc = {}, {}
    for task in tasks:
        enc["train/" + task["name"]] = encoder.encode(task["train"][0], batch_size=256, progress=False)
        for dom, (_, x, _) in task["domains"].items():
            if "test/" + dom not in enc:  # a domain shared by two tasks is encoded once
                enc["test/" + dom] = encoder.encode(x, batch_size=256, progress=False)
    for task in tasks:
        for dom, (kind, _, _) in task["domains"].items():
            if dom not in spectra:
                m = spectrum_metrics(enc["test/" + dom])
                spectra[dom] = {"kind": kind, "sve": float(m["sve"]), "lsvr": float(m["lsvr"])}
    for task, frac, method in tqdm(jobs, desc="heads", disable=not progress, leave=False):
        X, y = enc["train/" + task["name"]], task["train"][1]
        idx = (
            np.arange(len(y))
            if frac >= 1
            else stratified_subset(y, max(10, int(round(frac * len(y)))), config.downstream_seed)
        )
        head = _make_head(method, config)
        fit_kw = {}
        if task.get("groups") is not None and _takes_groups(head):
            fit_kw["groups"] = _usable_groups(head, y[idx], np.asarray(task["groups"])[idx])
        t0 = time.perf_counter()
        head.fit(X[idx], y[idx], **fit_kw)
        fit_s = time.perf_counter() - t0
        epochs = getattr(head, "n_epochs_", None)
        selected = getattr(head, "best_params_", None)
        transforms = get_method(method).transforms
        for dom, (kind, _, yd) in task["domains"].items():
            metrics, _ = evaluate_domain(head, enc["test/" + dom], yd, transforms=transforms)
            row = {
                "task": task["name"],
                "domain": dom,
                "kind": kind,
                "fraction": frac,
                "method": method,
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "head_sve": metrics["sve"],
                "head_lsvr": metrics["lsvr"],
                "fit_s": fit_s,
                "epochs": epochs,
            }
            if selected is not None:
                row["selected"] = {k: str(v) for k, v in selected.items()}
            if "groups" in fit_kw:
                row["group_folds"] = fit_kw["groups"] is not None
            rows.append(row)
    rows += _zero_shot_rows(encoder, tasks)
    return {"rows": rows, "spectra": spectra, "extra_rows": extra, "n_reused": len(reuse) - len(extra)}


def _zero_shot_rows(encoder, tasks: list[dict]) -> list[dict]:
    """Zero-shot accuracy of every domain (method ``"zero-shot"``, fraction 0) for image-text checkpoints.

    Supervised checkpoints have no text tower: no rows.
    """
    info = getattr(encoder, "checkpoint_info", {})
    if info.get("config", {}).get("objective") != "contrastive":
        return []
    from nmtune.pretrain.train import load_checkpoint
    from nmtune.pretrain.zero_shot import caption_features, zero_shot_accuracy

    ckpt = load_checkpoint(encoder.checkpoint_path)  # once per model, captions once per task
    rows = []
    for task in tasks:
        if not task.get("captions"):
            continue
        feats = caption_features(ckpt, task["captions"])
        for dom, (kind, x, yd) in task["domains"].items():
            acc = zero_shot_accuracy(ckpt, x, yd, task["captions"], text_features=feats)
            rows.append(
                {
                    "task": task["name"],
                    "domain": dom,
                    "kind": kind,
                    "fraction": 0.0,
                    "method": "zero-shot",
                    "accuracy": float(acc),
                    "macro_f1": None,
                    "head_sve": None,
                    "head_lsvr": None,
                    "fit_s": 0.0,
                    "epochs": None,
                }
            )
    return rows
