"""``timm:<model-name>``: any ``timm`` model as a feature extractor (needs ``pip install 'nmtune[timm]'``).

The model is created with ``num_classes=0`` (pooled features, ``dim = model.num_features``) and
``pretrained=True`` by default; weights come from the local cache (``HF_HUB_OFFLINE=1`` by default) or
``pretrained_cfg_overlay=dict(file=...)``. Inputs are preprocessed by the image pipeline of
:mod:`nmtune.encoders.images` with the model's own input size, mean and std and crop fraction.
"""

from __future__ import annotations

import torch

from nmtune.exceptions import MissingDependencyError, require

from .base import Encoder, set_offline_defaults, state_dict_digest
from .images import images_to_tensor, validate_images

__all__ = ["TimmEncoder", "timm_encoder"]


TORCHVISION_HINT = (
    "timm needs a torchvision built for the installed torch {torch}. PyPI's torchvision wheels are built "
    "against the CUDA torch of the same version, so beside a CPU torch ('+cpu') their operators fail to load "
    "('operator torchvision::nms does not exist'; libc10_cuda.so is missing). Install both from PyTorch's "
    "CPU index: pip install torch=={base} torchvision --index-url https://download.pytorch.org/whl/cpu, then "
    "pip install 'nmtune[timm]' -c constraints.txt; on a CUDA machine the PyPI wheels of both work together."
)


def _import_timm():
    """``import timm`` with the install hint, including a torchvision that does not match the torch build."""
    try:
        return require("timm", "timm", "timm: encoders")
    except (RuntimeError, OSError) as exc:  # torchvision's compiled operators failed to register
        base = torch.__version__.split("+")[0]
        raise MissingDependencyError(
            f"{TORCHVISION_HINT.format(torch=torch.__version__, base=base)} ({type(exc).__name__}: {exc})"
        ) from exc


class TimmEncoder(Encoder):
    """A ``timm`` backbone with global pooling.

    Parameters
    ----------
    model_name : str
        A ``timm.list_models()`` name.
    pretrained : bool, default True
        Load pretrained weights.
    input_size : int, optional
        Square input side; default the model's own.
    name : str, optional
        Registry name, default ``"timm:" + model_name``.
    **create_options
        Passed to ``timm.create_model``.
    """

    _unit = "img"

    def __init__(
        self, model_name: str, pretrained: bool = True, input_size=None, name=None, **create_options
    ):
        set_offline_defaults()
        timm = _import_timm()
        model = timm.create_model(model_name, pretrained=pretrained, num_classes=0, **create_options)
        self.model = model.eval()
        cfg = timm.data.resolve_data_config({}, model=self.model)
        super().__init__(name or f"timm:{model_name}", self.model.num_features, "image")
        self.input_size = int(input_size or cfg["input_size"][-1])
        self.crop_fraction = float(cfg.get("crop_pct", 1.0))
        self.mean, self.std = tuple(cfg["mean"]), tuple(cfg["std"])

    def _fingerprint_parts(self) -> dict:
        return {
            "weights": state_dict_digest(self.model.state_dict()),
            "input_size": self.input_size,
            "crop_fraction": self.crop_fraction,
            "mean": self.mean,
            "std": self.std,
        }

    def _validate_inputs(self, inputs):
        return validate_images(inputs, self.name)

    def _encode_batch(self, batch, device):
        if next(self.model.parameters()).device != torch.device(device):
            self.model.to(device)
        x = images_to_tensor(
            batch,
            size=self.input_size,
            crop_fraction=self.crop_fraction,
            mean=self.mean,
            std=self.std,
            device=device,
            name=self.name,
        )
        with torch.inference_mode():
            return self.model(x)  # (B, num_features)


def timm_encoder(model_name: str, **options) -> TimmEncoder:
    """Registry factory of ``timm:<model-name>`` (options as :class:`TimmEncoder`)."""
    return TimmEncoder(model_name, **options)
