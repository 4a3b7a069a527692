"""Pre-training presets: packaged YAML files naming the objective, the config fields and the run options.

A preset (``nmtune/configs/pretrain/<name>.yaml``, or any YAML file of the same form) holds ``objective``
(``supervised`` or ``contrastive``), ``config`` (fields of :class:`~nmtune.pretrain.config.PretrainConfig` or
:class:`~nmtune.pretrain.config.ContrastiveConfig`), optional ``options`` (fields of
:class:`~nmtune.pretrain.options.TrainOptions`) and ``required``: fields the user must give (``dataset``:
nothing is downloaded, the user points at their copy).

It is read by the configuration loader of run grids and studies (:mod:`nmtune._internal.config`): duplicate
keys are refused, unknown keys are errors naming the valid ones (with did-you-mean and the line), and the values
of ``config`` and ``options`` are coerced and checked by their dataclasses' field types when the preset is
read (``lr: 3e-4``, which YAML reads as a string, is the number), each error naming the file, line and key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from nmtune._internal.config import config_from_mapping, list_presets, load_config

__all__ = ["PretrainPreset", "load_pretrain_preset", "list_pretrain_presets"]

_PACKAGE = "nmtune.configs.pretrain"
OBJECTIVES = ("supervised", "contrastive")


def _mapping(key: str):
    def convert(value):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"'{key}' must be a mapping of field names to values; received {value!r}.")
        return value

    return convert


@dataclass(frozen=True)
class PretrainPreset:
    """A preset as read: ``objective``, ``config`` and ``options`` dicts, the ``required`` field names.

    ``name`` is the file's stem (not a key of the file).
    """

    _config_what = "key"  # errors read "Unknown key 'x' ..." after the file's name

    objective: str = "supervised"
    config: dict = field(default_factory=dict, metadata={"convert": _mapping("config")})
    options: dict = field(default_factory=dict, metadata={"convert": _mapping("options")})
    required: tuple[str, ...] = ()
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be 'supervised' or 'contrastive'; received {self.objective!r}.")


def list_pretrain_presets() -> list[str]:
    """Names of the packaged pre-training presets."""
    return list_presets(_PACKAGE)


def _typed(values: Mapping, cls, where: str, what: str | None = None) -> dict:
    """``values`` coerced and checked by the fields of ``cls`` (only the keys given; did-you-mean on others)."""
    if not values:
        return {}
    if what is not None:  # the name unknown keys are called by, without touching ``cls`` itself
        cls = type(cls.__name__, (cls,), {"_config_what": what, "__module__": cls.__module__})
    built = config_from_mapping(cls, values, where=where)
    return {key: getattr(built, key) for key in values}


def load_pretrain_preset(name_or_path: str | os.PathLike) -> PretrainPreset:
    """Read a preset by name (:func:`list_pretrain_presets`) or from a YAML file.

    Returns
    -------
    PretrainPreset

    Raises
    ------
    FileNotFoundError
        Neither a file nor a preset name (the presets are listed, with a close match).
    ValueError
        Invalid YAML, an unknown key, or a value its field refuses (naming the file, line and key).
    """
    from nmtune.pretrain.config import ContrastiveConfig, PretrainConfig
    from nmtune.pretrain.options import TrainOptions

    preset = load_config(PretrainPreset, name_or_path, presets_package=_PACKAGE, what="pre-training preset")
    path = Path(name_or_path)
    name = path.stem if path.is_file() else str(name_or_path)
    cls = ContrastiveConfig if preset.objective == "contrastive" else PretrainConfig
    where = str(path) if path.is_file() else f"pre-training preset {name!r}"
    preset = replace(
        preset,
        config=_typed(preset.config, cls, f"{where}: config"),
        options=_typed(preset.options, TrainOptions, f"{where}: options", "run option"),
    )
    object.__setattr__(preset, "name", name)
    return preset
