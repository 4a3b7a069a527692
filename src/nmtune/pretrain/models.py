"""Backbones for noisy pre-training: a small ResNet for small grayscale images and a linear-head wrapper.

Shape convention: N images, H x W pixels, C classes, D feature dimension. A *backbone* is any
``torch.nn.Module`` mapping images ``(B, channels, H, W)`` to pooled features ``(B, D)`` and exposing
``num_features`` (= D). During pre-training a linear projection head ``D -> C`` sits on top
(:class:`Classifier`); it is discarded afterwards and only the backbone becomes an encoder. The registry of
named architectures (``small-resnet``, ``hf-resnet50``, ...) is :mod:`nmtune.pretrain.architectures`.
"""

from __future__ import annotations

import torch
from torch import nn

from nmtune.exceptions import unknown_name_error

__all__ = ["SmallResNet", "Classifier", "NORMS", "build_small_resnet", "small_resnet_from_spec"]

NORMS = ("batch", "group", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise unknown_name_error("normalisation", kind, NORMS)


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al., 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=norm == "none")
        self.n1 = _norm(norm, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=norm == "none")
        self.n2 = _norm(norm, c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=norm == "none"), _norm(norm, c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.n1(self.conv1(x)))
        out = self.n2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet sized for 28x28 grayscale images.

    Three stages of ``depth`` basic blocks with ``width``, ``2 width`` and ``4 width`` channels (strides 1, 2,
    2), then global average pooling: the pooled features have ``num_features = 4 * width`` dimensions.
    ``depth=1`` gives 7 convolutional layers (a ResNet-8); ``depth=3`` is ResNet-20.

    Parameters
    ----------
    width : int, default=16
        Channels of the first stage.
    depth : int, default=1
        Basic blocks per stage.
    in_channels : int, default=1
        Input channels (1 for grayscale).
    norm : {"batch", "group", "none"}, default="batch"
        Normalisation layer. ``"group"`` makes a mini-batch split across processes (DDP) compute exactly the
        same gradients as one process on the whole batch, which the tests use.
    stem_stride : {1, 2}, default=1
        Stride of the stem convolution. 2 halves the resolution before the first stage, which cuts the
        compute about 4x (a width-32 ResNet-8 with ``stem_stride=2``, D = 128, costs about a fifth of a
        width-32 one at full resolution on 32x32 inputs).
    """

    def __init__(
        self,
        width: int = 16,
        depth: int = 1,
        in_channels: int = 1,
        norm: str = "batch",
        stem_stride: int = 1,
    ):
        super().__init__()
        if width < 1 or depth < 1 or stem_stride not in (1, 2):
            raise ValueError(
                "SmallResNet needs width >= 1, depth >= 1 and stem_stride 1 or 2; received "
                f"width={width}, depth={depth}, stem_stride={stem_stride!r}."
            )
        if norm not in NORMS:
            raise unknown_name_error("normalisation", norm, NORMS)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=stem_stride, padding=1, bias=norm == "none"),
            _norm(norm, width),
            nn.ReLU(),
        )
        stages, c_in = [], width
        for i, c_out in enumerate((width, 2 * width, 4 * width)):
            for j in range(depth):
                stages.append(_BasicBlock(c_in, c_out, 2 if (j == 0 and i > 0) else 1, norm))
                c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.num_features = c_in
        self._spec = {
            "kind": "small-resnet",
            "arch": "small-resnet",
            "width": width,
            "depth": depth,
            "norm": norm,
            "stem_stride": stem_stride,
            "in_channels": in_channels,
        }

    def spec(self) -> dict:
        """What rebuilds this backbone (untrained): ``{"arch": "small-resnet", "width": ..., ...}``."""
        return dict(self._spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, num_features)`` of images ``(B, in_channels, H, W)``."""
        x = self.stages(self.stem(x))  # (B, 4 width, H/(4 stem_stride), W/(4 stem_stride))
        return x.mean(dim=(2, 3))  # (B, D)


class Classifier(nn.Module):
    """A backbone plus the linear projection head used only during pre-training.

    Parameters
    ----------
    backbone : torch.nn.Module
        Maps ``(B, channels, H, W)`` to ``(B, D)``; must expose ``num_features`` (D).
    n_classes : int
        Number of pre-training classes C.
    """

    def __init__(self, backbone: nn.Module, n_classes: int):
        super().__init__()
        dim = getattr(backbone, "num_features", None)
        if not isinstance(dim, int) or dim < 1:
            raise TypeError(
                f"The backbone {type(backbone).__name__} must expose an integer `num_features` (its pooled "
                f"feature dimension D); received {dim!r}. Set `self.num_features = D` in its __init__."
            )
        self.backbone = backbone
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)``."""
        return self.head(self.backbone(x))


def build_small_resnet(
    rest, *, width=16, depth=1, norm="batch", stem_stride=1, in_channels=1, image_size=None
) -> SmallResNet:
    """Registry factory of ``small-resnet`` (``image_size`` is not needed: it takes any size)."""
    return SmallResNet(width=width, depth=depth, in_channels=in_channels, norm=norm, stem_stride=stem_stride)


def small_resnet_from_spec(spec: dict) -> SmallResNet:
    """Rebuild an untrained :class:`SmallResNet` from its :meth:`SmallResNet.spec`."""
    return SmallResNet(**{k: v for k, v in spec.items() if k not in ("arch", "kind")})
