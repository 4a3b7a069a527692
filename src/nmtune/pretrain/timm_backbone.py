"""``timm:<name>`` backbones (optional extra ``timm``): random weights, no classifier, rebuilt offline.

Shape convention: images ``(B, C, H, W)`` in, pooled features ``(B, D)`` out, D = the model's
``num_features``. timm imports torchvision; with a CPU-only torch whose torchvision was built for CUDA the
import fails, and the error says so (``pip install 'nmtune[timm]'`` with a matching torchvision).
"""

from __future__ import annotations

from torch import nn

from nmtune.exceptions import require

__all__ = ["TimmBackbone", "build_timm", "backbone_from_timm_spec"]


def _timm():
    return require("timm", "timm", "timm:<name> backbones")


class TimmBackbone(nn.Module):
    """A timm model built with ``pretrained=False, num_classes=0`` (its pooled features).

    Parameters
    ----------
    name : str
        A timm model name, e.g. ``"resnet50"`` or ``"vit_small_patch16_224"``.
    in_channels : int
    image_size : int, optional
        Passed as ``img_size`` to models that take it (vision transformers).
    """

    def __init__(self, name: str, *, in_channels: int = 3, image_size: int | None = None):
        super().__init__()
        timm = _timm()
        if name not in timm.list_models():
            from nmtune.exceptions import unknown_name_error

            raise unknown_name_error("timm model", name, timm.list_models())
        kwargs = {"pretrained": False, "num_classes": 0, "in_chans": int(in_channels)}
        self.image_size = None
        if image_size is not None:
            try:
                self.model = timm.create_model(name, img_size=int(image_size), **kwargs)
                self.image_size = int(image_size)
            except TypeError:  # convolutional models take any size and no img_size argument
                self.model = timm.create_model(name, **kwargs)
        else:
            self.model = timm.create_model(name, **kwargs)
        self.name, self.in_channels = name, int(in_channels)
        self.num_features = int(self.model.num_features)
        self.timm_version = timm.__version__

    def forward(self, x):
        """Pooled features ``(B, num_features)``."""
        return self.model(x)

    def spec(self) -> dict:
        """Name, channels, size and the timm version: rebuilds this backbone offline."""
        return {
            "kind": "timm",
            "arch": f"timm:{self.name}",
            "name": self.name,
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "timm_version": self.timm_version,
        }


def build_timm(rest: str, *, in_channels: int = 3, image_size: int | None = None, **_) -> TimmBackbone:
    """Registry factory of ``timm:<name>``."""
    if not rest:
        raise ValueError("timm:<name> needs a model name, e.g. 'timm:resnet50'.")
    return TimmBackbone(rest, in_channels=in_channels, image_size=image_size)


def backbone_from_timm_spec(spec: dict) -> TimmBackbone:
    """Rebuild an untrained :class:`TimmBackbone` from its spec."""
    return TimmBackbone(spec["name"], in_channels=spec["in_channels"], image_size=spec.get("image_size"))
