"""Backbones from Hugging Face ``transformers`` configurations, randomly initialised, rebuilt offline.

Shape convention: images ``(B, C, H, W)`` in, pooled features ``(B, D)`` out.

Nothing is downloaded: models are built from configuration objects (``ResNetConfig``, ``ViTConfig``) or a
local ``config.json``, never ``from_pretrained`` with a hub name. The pooled feature is the model's
``pooler_output`` when it has one (ResNet: global average pooling), else the first token of the last hidden
state (ViT's class token after the final layer norm), else the spatial mean of a 4-D last hidden state.

A checkpoint stores the full configuration dict (``spec()["hf_config"]``), so the backbone rebuilds exactly
with the ``transformers`` it was trained with; parameter names may differ between major versions of
``transformers`` (the version is recorded in the spec).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch
from torch import nn

from nmtune.exceptions import require

__all__ = [
    "HFBackbone",
    "hf_preset_config",
    "hf_resnet18",
    "hf_resnet50",
    "hf_vit_s16",
    "build_hf_from_file",
    "backbone_from_hf_spec",
]


def _transformers():
    return require("transformers", "text", "Hugging Face backbones (hf-resnet18, hf-vit-s16, hf-config:)")


def hf_preset_config(name: str, *, in_channels: int = 3, image_size: int | None = None):
    """The ``transformers`` configuration of a preset architecture.

    Parameters
    ----------
    name : {"hf-resnet18", "hf-resnet50", "hf-vit-s16"}
    in_channels : int, default=3
    image_size : int, optional
        The ViT's input size (default 224); ignored by the ResNets, which take any size.

    Returns
    -------
    transformers.PretrainedConfig
    """
    tf = _transformers()
    if name == "hf-resnet18":  # torchvision's resnet18 without its classifier: 11.18 M parameters
        return tf.ResNetConfig(
            num_channels=in_channels,
            embedding_size=64,
            hidden_sizes=[64, 128, 256, 512],
            depths=[2, 2, 2, 2],
            layer_type="basic",
        )
    if name == "hf-resnet50":  # ResNet-50 v1.5 (stride in the 3x3 convolution): 23.51 M parameters
        return tf.ResNetConfig(
            num_channels=in_channels,
            embedding_size=64,
            hidden_sizes=[256, 512, 1024, 2048],
            depths=[3, 4, 6, 3],
            layer_type="bottleneck",
        )
    if name == "hf-vit-s16":  # ViT-S/16 (DeiT-S): 12 layers, 6 heads, width 384, 21.6 M parameters
        return tf.ViTConfig(
            image_size=image_size or 224,
            patch_size=16,
            num_channels=in_channels,
            hidden_size=384,
            num_hidden_layers=12,
            num_attention_heads=6,
            intermediate_size=1536,
            layer_norm_eps=1e-6,
        )
    from nmtune.exceptions import unknown_name_error

    raise unknown_name_error("transformers preset", name, ["hf-resnet18", "hf-resnet50", "hf-vit-s16"])


def _feature_dim(config) -> int | None:
    sizes = getattr(config, "hidden_sizes", None)
    if sizes:
        return int(sizes[-1])
    size = getattr(config, "hidden_size", None)
    return int(size) if size else None


def _model_from_config(config) -> nn.Module:
    tf = _transformers()
    try:
        cls = tf.MODEL_MAPPING[type(config)]
    except KeyError as exc:
        raise ValueError(
            f"transformers has no base model for configuration {type(config).__name__} "
            f"(model_type {getattr(config, 'model_type', '?')!r}); give the config.json of a vision model "
            "such as resnet, vit, convnext, swin or regnet."
        ) from exc
    if "add_pooling_layer" in inspect.signature(cls.__init__).parameters:
        return cls(
            config, add_pooling_layer=False
        )  # a trained pooler head (ViT's tanh dense) is not a feature
    return cls(config)


class HFBackbone(nn.Module):
    """A ``transformers`` vision model as a backbone: ``(B, C, H, W) -> (B, D)``.

    Parameters
    ----------
    config : transformers.PretrainedConfig
        The model's configuration; weights are drawn at random (seed torch's RNG first).
    arch : str
        The registry name recorded in the spec (``"hf-resnet18"``, ``"hf-config:<file>"``).
    """

    def __init__(self, config, *, arch: str):
        super().__init__()
        self.model = _model_from_config(config)
        self.arch = arch
        dim = _feature_dim(config)
        if dim is None:  # no width in the configuration: measure it once
            size = int(getattr(config, "image_size", 224) or 224)
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                was = self.model.training
                self.model.eval()
                dim = int(self._pool(torch.zeros(1, config.num_channels, size, size)).shape[1])
                self.model.train(was)
        self.num_features = dim

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=x)
        pooled = getattr(out, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)  # ResNet: (B, D, 1, 1) -> (B, D)
        hidden = out.last_hidden_state
        return hidden[:, 0] if hidden.ndim == 3 else hidden.mean(dim=(2, 3))  # (B, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, num_features)``."""
        return self._pool(x)

    def spec(self) -> dict:
        """The configuration dict, model type and transformers version: rebuilds this backbone offline."""
        tf = _transformers()
        config = json.loads(self.model.config.to_json_string(use_diff=False))
        return {
            "kind": "hf",
            "arch": self.arch,
            "model_type": self.model.config.model_type,
            "hf_config": config,
            "transformers_version": tf.__version__,
        }


def _config_from_dict(values: dict):
    tf = _transformers()
    values = dict(values)
    model_type = values.pop("model_type", None)
    if not model_type:
        raise ValueError(
            "A transformers configuration needs a 'model_type' (e.g. 'resnet', 'vit'); received keys "
            f"{sorted(values)[:12]}..."
        )
    for key in ("transformers_version", "architectures", "_name_or_path"):
        values.pop(key, None)
    return tf.AutoConfig.for_model(model_type, **values)


def _fit_to_data(config, in_channels: int, image_size: int | None):
    if hasattr(config, "num_channels"):
        config.num_channels = int(in_channels)
    if image_size is not None and hasattr(config, "image_size"):
        config.image_size = int(image_size)
    return config


def _preset_factory(name: str):
    def factory(rest, *, in_channels: int = 3, image_size: int | None = None, **_) -> HFBackbone:
        config = hf_preset_config(name, in_channels=in_channels, image_size=image_size)
        return HFBackbone(config, arch=name)

    factory.__name__ = name.replace("-", "_")
    factory.__doc__ = f"Registry factory of ``{name}`` (random weights)."
    return factory


hf_resnet18 = _preset_factory("hf-resnet18")
hf_resnet50 = _preset_factory("hf-resnet50")
hf_vit_s16 = _preset_factory("hf-vit-s16")


def build_hf_from_file(rest: str, *, in_channels: int = 3, image_size: int | None = None, **_) -> HFBackbone:
    """Registry factory of ``hf-config:<config.json>``: the file's configuration, fitted to the data.

    ``num_channels`` (and ``image_size`` where the configuration has one) are set to the data's.
    """
    path = Path(rest)
    if not path.is_file():
        raise FileNotFoundError(
            f"hf-config:{rest}: no such configuration file. Give the path of a transformers config.json "
            "(e.g. one saved with `ResNetConfig(...).save_pretrained(folder)`)."
        )
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"hf-config:{rest} is not valid JSON: {exc}.") from exc
    config = _fit_to_data(_config_from_dict(values), in_channels, image_size)
    return HFBackbone(config, arch=f"hf-config:{rest}")


def backbone_from_hf_spec(spec: dict) -> HFBackbone:
    """Rebuild an untrained :class:`HFBackbone` from its spec (no file or network access)."""
    return HFBackbone(_config_from_dict(spec["hf_config"]), arch=spec.get("arch", "hf"))
