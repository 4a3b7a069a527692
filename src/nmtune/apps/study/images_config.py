"""The ``images`` set-up's configuration: ``StudyConfig.images`` and ``pretrain`` checked when a study is read.

:func:`check_images_config` says what was wrong, what was received and how to write it (the forms of a task,
:mod:`nmtune.apps.study.images`); :func:`train_options` turns the pre-training run options into
:class:`nmtune.pretrain.TrainOptions`. Nothing here touches the disk: paths are checked when the study runs
(:func:`nmtune.apps.study.images.check_image_sources`), so a template with placeholder paths still loads.
"""

from __future__ import annotations

import os

__all__ = [
    "STREAMED_PREFIXES",
    "IMAGES_DEFAULTS",
    "check_images_config",
    "train_options",
    "task_names",
    "ood_domains",
]

#: Image sources streamed from disk (:func:`nmtune.datasets.image_sources.open_image_source`).
STREAMED_PREFIXES = ("image-folder", "image-domains", "wds", "hf-images")
IMAGES_DEFAULTS = {"workers": 2, "batch_size": 128, "checkpoint_every": 0, "channels_last": False, "compile": False,
                   "grad_accum": 1}  # fmt: skip
_KEYS = ("tasks", *IMAGES_DEFAULTS)
_TRAIN_KEYS = ("workers", "checkpoint_every", "channels_last", "compile", "grad_accum")
_FOLDER_KEYS = ("name", "train", "ood")
_DOMAIN_KEYS = ("name", "domains", "train", "mode")
_FORMS = (
    "{name: pets, train: 'image-folder:/data/pets?mode=RGB', ood: {sketch: 'image-folder:/data/sketch?mode=RGB'}}"
    " or {name: office, domains: /data/office-home, train: [real]}"
)


def _source_problem(value) -> str | None:
    """Why ``value`` is not a streamed image source name (None when it is one)."""
    if value is None:
        return "it is not set"
    if not isinstance(value, str) or not value:
        return f"it must be a string; received {value!r}"
    prefix, sep, rest = value.partition(":")
    if not sep or prefix not in STREAMED_PREFIXES:
        return (
            f"it must name images on disk, streamed: one of {', '.join(p + ':<path>' for p in STREAMED_PREFIXES)}"
            f"; received {value!r}"
        )
    if not rest.partition("?")[0]:
        return f"a path is needed after {prefix + ':'!r}; received {value!r}"
    return None


def _task_error(i, entry, message: str) -> ValueError:
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"images.tasks[{i}]" + (f" ({name!r})" if isinstance(name, str) else "")
    return ValueError(f"{where}: {message}. A task is {_FORMS}.")


def _check_task(i: int, entry) -> None:
    if not isinstance(entry, dict):
        raise _task_error(i, entry, f"a task must be a mapping; received {entry!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\") or name != name.strip():
        raise _task_error(i, entry, f"'name' must be a non-empty string without '/'; received {name!r}")
    if "domains" in entry:
        unknown = sorted(set(entry) - set(_DOMAIN_KEYS))
        if unknown:
            raise _task_error(
                i,
                entry,
                f"unknown key(s) {unknown} in a domain-collection task; its keys are {list(_DOMAIN_KEYS)}",
            )
        root = entry["domains"]
        if not isinstance(root, str) or not root or root.partition(":")[0] in STREAMED_PREFIXES:
            raise _task_error(
                i,
                entry,
                f"'domains' must be the folder <dir>/<domain>/<class>/<image> itself; received {root!r}",
            )
        train = entry.get("train")
        train = [train] if isinstance(train, str) else train
        if (
            not isinstance(train, list | tuple)
            or not train
            or not all(isinstance(d, str) and d for d in train)
        ):
            raise _task_error(
                i,
                entry,
                f"'train' must name the training domain(s), e.g. [real]; received {entry.get('train')!r}",
            )
        if len(set(train)) != len(train):
            raise _task_error(i, entry, f"'train' names a domain twice: {list(train)}")
        if entry.get("mode", "RGB") not in ("L", "RGB"):
            raise _task_error(i, entry, f"'mode' must be 'RGB' or 'L'; received {entry['mode']!r}")
        return
    unknown = sorted(set(entry) - set(_FOLDER_KEYS))
    if unknown:
        raise _task_error(i, entry, f"unknown key(s) {unknown}; a task's keys are {list(_FOLDER_KEYS)} "
                          f"(or {list(_DOMAIN_KEYS)} for a domain collection)")  # fmt: skip
    if "train" not in entry:
        raise _task_error(i, entry, "it needs 'train' (an image source) or 'domains' (a domain collection)")
    problem = _source_problem(entry["train"])
    if problem:
        raise _task_error(i, entry, f"'train': {problem}")
    ood = entry.get("ood", {})
    if isinstance(ood, list | tuple):
        names = [_ood_name(s) for s in ood]
        if len(set(names)) != len(names):
            raise _task_error(i, entry, f"'ood' lists two sources whose folders share a name ({names}); name "
                              "the domains with a mapping, ood: {name: source, ...}")  # fmt: skip
        ood = dict(zip(names, ood))
    if not isinstance(ood, dict):
        raise _task_error(i, entry, f"'ood' must map domain names to image sources (or list sources); "
                          f"received {entry['ood']!r}")  # fmt: skip
    for key, source in ood.items():
        if str(key) == name:
            raise _task_error(
                i, entry, f"'ood' domain {key!r} has the task's name, which names its ID domain"
            )
        problem = _source_problem(source)
        if problem:
            raise _task_error(i, entry, f"'ood' {key!r}: {problem}")


def _ood_name(source) -> str:
    """A domain name for an OOD source given in a list: the last folder of its path."""
    if not isinstance(source, str):
        return str(source)
    path = source.partition(":")[2].partition("?")[0].rstrip("/\\")
    return os.path.basename(path) or source


def check_images_config(images: dict, pretrain: dict, objective: str) -> dict:
    """Validate the ``images`` set-up's fields; returns ``images`` with its defaults filled in.

    Parameters
    ----------
    images : dict
        ``StudyConfig.images``: ``tasks`` (required), ``workers``, ``batch_size`` and the pre-training run
        options ``checkpoint_every``, ``channels_last``, ``compile``, ``grad_accum`` (:func:`train_options`).
    pretrain : dict
        The pre-training values after the set-up's defaults (``dataset``, ``image_size``).
    objective : str
        ``"supervised"`` or ``"contrastive"``.

    Raises
    ------
    ValueError
        Saying what was wrong, what was received and how to write it.
    """
    from nmtune._internal.validation import check_number

    if not isinstance(images, dict):
        raise ValueError(
            f"images must be a mapping with 'tasks' (and 'workers', 'batch_size'); received {images!r}."
        )
    unknown = sorted(set(images) - set(_KEYS))
    if unknown:
        from nmtune.exceptions import unknown_name_error

        raise ValueError(f"images: {unknown_name_error('key', unknown[0], _KEYS)}")
    dataset = pretrain.get("dataset")
    problem = _source_problem(dataset)
    if problem:
        example = "wds:/data/pairs" if objective == "contrastive" else "image-folder:/data/imagenet?mode=RGB"
        raise ValueError(
            f"The 'images' set-up pre-trains on images streamed from disk: set pretrain.dataset ({problem}), "
            f"e.g. pretrain: {{dataset: {example!r}, arch: hf-resnet18, image_size: 224}}."
        )
    if dataset.startswith("image-domains:"):
        raise ValueError(
            f"pretrain.dataset {dataset!r}: pre-train on an image-folder:, wds: or hf-images: source; a domain "
            "collection is for downstream tasks (images.tasks entries with 'domains')."
        )
    if pretrain.get("image_size") is None:
        raise ValueError(
            "The 'images' set-up streams its images at a fixed size: pretrain.image_size must be an integer "
            "(e.g. 224 for ImageNet-size images, 32 for toy data); received null."
        )
    tasks = images.get("tasks")
    if not isinstance(tasks, list | tuple) or not tasks:
        raise ValueError(
            f"The 'images' set-up needs its downstream tasks: images.tasks must be a non-empty list of tasks, "
            f"each {_FORMS}; received {tasks!r}."
        )
    for i, entry in enumerate(tasks):
        _check_task(i, entry)
    names = [n for e in tasks for n in task_names(e)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"images.tasks: task names must be unique; {twice} appear more than once.")
    out = dict(IMAGES_DEFAULTS, **images)
    check_number("images.workers", out["workers"], low=0, integer=True, hint=" (0: decode in this process)")
    check_number("images.batch_size", out["batch_size"], low=1, integer=True)
    try:
        train_options(out)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"images: {exc}") from exc
    return out


def train_options(images: dict):
    """The pre-training run options of an ``images`` study, with ``resume`` when it writes training states.

    Its ``workers``, ``checkpoint_every``, ``channels_last``, ``compile`` and ``grad_accum``.
    With ``checkpoint_every`` > 0 a study killed during a pre-training continues it from the last training
    state (``<out>/checkpoints/g<gamma>_s<seed>.state.pt``) when the same command runs again.

    Returns
    -------
    TrainOptions
    """
    from nmtune.pretrain import TrainOptions

    for key in ("channels_last", "compile"):
        if not isinstance(images[key], bool):
            raise ValueError(f"{key} must be true or false; received {images[key]!r}.")
    return TrainOptions(resume=images["checkpoint_every"] > 0, **{k: images[k] for k in _TRAIN_KEYS})


def task_names(entry: dict) -> list[str]:
    """The suite's task names of one ``images.tasks`` entry (``<name>-<domain>`` per training domain)."""
    if "domains" in entry:
        train = [entry["train"]] if isinstance(entry["train"], str) else list(entry["train"])
        return [f"{entry['name']}-{d}" for d in train]
    return [entry["name"]]


def ood_domains(entry: dict) -> dict:
    """``{domain name: source}`` of a folder task's ``ood`` (a list is named by the sources' last folders)."""
    ood = entry.get("ood", {})
    return {_ood_name(s): s for s in ood} if isinstance(ood, list | tuple) else dict(ood)
