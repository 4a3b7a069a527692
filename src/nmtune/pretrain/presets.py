"""Pre-training presets: packaged YAML files naming the objective, the config fields and the run options.

A preset (``nmtune/configs/pretrain/<name>.yaml``, or any YAML file of the same form) holds ``objective``
(``supervised`` or ``contrastive``), ``config`` (fields of :class:`~nmtune.pretrain.config.PretrainConfig` or
:class:`~nmtune.pretrain.config.ContrastiveConfig`), optional ``options`` (fields of
:class:`~nmtune.pretrain.options.TrainOptions`) and ``required``: fields the user must give (``dataset``:
nothing is downloaded, the user points at their copy). Unknown keys are errors naming the valid ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from nmtune._internal.files import read_yaml_mapping

__all__ = ["PretrainPreset", "load_pretrain_preset", "list_pretrain_presets"]

_KEYS = {"objective", "config", "options", "required"}


@dataclass(frozen=True)
class PretrainPreset:
    """A preset as read: ``objective``, ``config`` and ``options`` dicts, the ``required`` field names."""

    name: str
    objective: str = "supervised"
    config: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    required: tuple = ()


def _root():
    return resources.files("nmtune") / "configs" / "pretrain"


def list_pretrain_presets() -> list[str]:
    """Names of the packaged pre-training presets."""
    return sorted(p.name[:-5] for p in _root().iterdir() if p.name.endswith(".yaml"))


def load_pretrain_preset(name_or_path: str | os.PathLike) -> PretrainPreset:
    """Read a preset by name (:func:`list_pretrain_presets`) or from a YAML file.

    Returns
    -------
    PretrainPreset
    """
    path = Path(name_or_path)
    if not path.is_file():
        if str(name_or_path) not in list_pretrain_presets():
            raise FileNotFoundError(
                f"No pre-training preset {str(name_or_path)!r}: give a YAML file or one of "
                f"{', '.join(list_pretrain_presets())}."
            )
        path = Path(str(_root() / f"{name_or_path}.yaml"))
    values = read_yaml_mapping(path, "pre-training preset")
    unknown = sorted(set(values) - _KEYS)
    if unknown:
        raise ValueError(f"Unknown key(s) {unknown} in {path}; valid keys: {sorted(_KEYS)}.")
    for key in ("config", "options"):
        if not isinstance(values.get(key, {}), dict):
            raise ValueError(f"{path}: '{key}' must be a mapping of field names to values.")
    return PretrainPreset(
        name=path.stem,
        objective=values.get("objective", "supervised"),
        config=dict(values.get("config") or {}),
        options=dict(values.get("options") or {}),
        required=tuple(values.get("required") or ()),
    )
