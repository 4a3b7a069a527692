"""One call from settings to a checkpoint: a preset, overrides, the objective, the run options.

``nmtune pretrain`` is :func:`run_pretraining` with the command line's values; Python users may call it the
same way (or build a config and call :func:`nmtune.pretrain.pretrain` directly).
"""

from __future__ import annotations

import dataclasses
import os

from nmtune.pretrain.config import ContrastiveConfig, PretrainConfig, config_from_dict
from nmtune.pretrain.options import TrainOptions

__all__ = ["run_pretraining", "build_run", "OBJECTIVE_ONLY"]

#: Fields that belong to one objective only (the other objective's config would refuse them anyway; the
#: message here names the objective to use).
OBJECTIVE_ONLY = {
    "supervised": ("momentum", "label_smoothing"),
    "contrastive": (
        "text_encoder",
        "text_model",
        "text_hidden",
        "embed_dim",
        "temperature",
        "text_max_length",
    ),
}


def build_run(objective: str | None = None, *, preset=None, options: dict | None = None, **fields):
    """The objective, config and :class:`TrainOptions` of a run, without running it.

    Parameters
    ----------
    objective : {"supervised", "contrastive"}, optional
        Default: the preset's, else ``"supervised"``.
    preset : str or path, optional
        A pre-training preset (:func:`nmtune.pretrain.presets.list_pretrain_presets`) or YAML file.
    options : dict, optional
        :class:`TrainOptions` fields over the preset's ``options``.
    **fields
        Config fields over the preset's ``config`` (``n_train=None``: the whole split).

    Returns
    -------
    tuple
        ``(objective, config, options)``.
    """
    from nmtune.pretrain.presets import load_pretrain_preset

    base = load_pretrain_preset(preset) if preset is not None else None
    objective = objective or (base.objective if base else "supervised")
    if objective not in OBJECTIVE_ONLY:
        raise ValueError(f"objective must be 'supervised' or 'contrastive'; received {objective!r}.")
    given = dict(fields)
    other = "contrastive" if objective == "supervised" else "supervised"
    wrong = [k for k in OBJECTIVE_ONLY[other] if k in given]
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ValueError(
            f"{flags} only applies to --objective {other}; received it with --objective {objective}. "
            f"Drop it, or pass --objective {other}."
        )
    shape = [k for k in ("width", "depth", "norm", "stem_stride") if k in given]
    arch = given.get("arch", (base.config if base else {}).get("arch", "small-resnet"))
    if shape and arch not in ("small-resnet", "resnet"):
        flags = ", ".join("--" + k.replace("_", "-") for k in shape)
        raise ValueError(f"{flags} shape the small-resnet only; received it with --arch {arch}. Drop it.")
    missing = [k for k in (base.required if base else ()) if k not in given]
    if missing:
        raise ValueError(
            f"The preset {base.name!r} needs {', '.join('--' + k.replace('_', '-') for k in missing)}: nothing is "
            "downloaded, point it at your copy (e.g. --dataset 'image-folder:/data/imagenet?mode=RGB')."
        )
    values = dict(base.config if base else {}, **given)
    cls = ContrastiveConfig if objective == "contrastive" else PretrainConfig
    config = config_from_dict(values, cls)
    opts = dict(base.options if base else {}, **{k: v for k, v in (options or {}).items() if v is not None})
    valid = {f.name for f in dataclasses.fields(TrainOptions)}
    unknown = sorted(set(opts) - valid)
    if unknown:
        raise ValueError(f"Unknown run option(s) {unknown}; valid: {', '.join(sorted(valid))}.")
    options = TrainOptions(**opts)
    if objective == "contrastive" and options.grad_accum != 1:
        raise ValueError(
            "--grad-accum only applies to --objective supervised: the contrastive loss couples every image and "
            "caption of the global batch. Use more processes (torchrun) or a smaller --batch-size."
        )
    return objective, config, options


def run_pretraining(
    objective: str | None = None,
    *,
    out: str | os.PathLike,
    preset=None,
    device: str = "auto",
    progress: bool = True,
    options: dict | None = None,
    **fields,
) -> dict:
    """Pre-train as configured and save the checkpoint to ``out`` (see :func:`build_run` for the arguments).

    Returns
    -------
    dict
        The checkpoint (:func:`nmtune.pretrain.pretrain` / :func:`nmtune.pretrain.pretrain_contrastive`).
    """
    objective, config, opts = build_run(objective, preset=preset, options=options, **fields)
    if objective == "contrastive":
        from nmtune.pretrain.contrastive import pretrain_contrastive

        return pretrain_contrastive(config, out=out, device=device, progress=progress, options=opts)
    from nmtune.pretrain.train import pretrain

    return pretrain(config, out=out, device=device, progress=progress, options=opts)
