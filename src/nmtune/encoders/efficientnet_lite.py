"""EfficientNet-Lite0 in plain torch, with the module names of lukemelas' ``EfficientNet-PyTorch``.

EfficientNet-Lite (Tan & Le, TensorFlow ``efficientnet/lite``) is EfficientNet-B0 made friendly to
integer accelerators: no squeeze-and-excitation, ReLU6 instead of swish, and the stem (32 channels) and
head (1280 channels) kept fixed when scaling. Everything else follows the TF reference:

- convolutions without bias, padded like TF ``"SAME"`` (pad total ``max((ceil(L/s) - 1) s + k - L, 0)``,
  the extra pixel at the bottom/right), computed for every input size;
- BatchNorm with ``eps=1e-3``;
- inputs scaled as ``(x - 0.5) / 0.5`` for ``x`` in [0, 1] (done by the encoder, not here);
- seven stages of mobile inverted bottlenecks (MBConv), below.

The state dict keys (``_conv_stem``, ``_bn0``, ``_blocks.{i}._expand_conv`` ..., ``_conv_head``, ``_bn1``,
``_fc``) match the packaged ImageNet weights, which load with ``strict=True``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EfficientNetLite", "LITE0_STAGES", "efficientnet_lite0_model"]

BN_EPS = 1e-3
BN_MOMENTUM = 0.01

# (repeats, kernel, stride, expand ratio, in channels, out channels), TF block strings
# r1_k3_s11_e1_i32_o16, r2_k3_s22_e6_i16_o24, r2_k5_s22_e6_i24_o40, r3_k3_s22_e6_i40_o80,
# r3_k5_s11_e6_i80_o112, r4_k5_s22_e6_i112_o192, r1_k3_s11_e6_i192_o320 (width = depth = 1.0 for Lite0).
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF ``"SAME"`` padding of one spatial axis: (before, after), the odd pixel going after.

    Parameters
    ----------
    size, kernel, stride, dilation : int
        Input length L, kernel size k, stride s and dilation d.

    Returns
    -------
    tuple of int
        Padding before and after, summing to ``max((ceil(L / s) - 1) s + (k - 1) d + 1 - L, 0)``.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TF ``"SAME"`` padding computed from the input size at every call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        """Pad like TF ``"SAME"`` then convolve."""
        ph = same_padding(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        pw = same_padding(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        if any(ph) or any(pw):
            x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation (the Lite variant).

    expand 1x1 (if ratio != 1) -> BN -> ReLU6 -> depthwise kxk -> BN -> ReLU6 -> project 1x1 -> BN,
    plus the identity when stride is 1 and the channel count is unchanged.
    """

    def __init__(self, kernel: int, stride: int, expand_ratio: int, c_in: int, c_out: int):
        super().__init__()
        hidden = c_in * expand_ratio
        self.expand_ratio = expand_ratio
        self.skip = stride == 1 and c_in == c_out
        if expand_ratio != 1:
            self._expand_conv = Conv2dSame(c_in, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = Conv2dSame(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = Conv2dSame(hidden, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) -> (B, c_out, H/s, W/s)
        """Apply the block."""
        h = x
        if self.expand_ratio != 1:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite backbone + ImageNet classifier.

    Parameters
    ----------
    stages : sequence of tuple
        ``(repeats, kernel, stride, expand_ratio, c_in, c_out)`` per stage; the first block of a stage
        has the stride and ``c_in``, the others stride 1 and ``c_out`` inputs.
    stem_channels, head_channels : int
        32 and 1280 for every Lite model.
    num_classes : int
        1000 for ImageNet.
    dropout : float
        Before the classifier (identity in ``eval()``).
    """

    def __init__(
        self,
        stages=LITE0_STAGES,
        stem_channels: int = 32,
        head_channels: int = 1280,
        num_classes: int = 1000,
        dropout: float = 0.2,
    ):
        super().__init__()
        self._conv_stem = Conv2dSame(3, stem_channels, 3, stride=2, bias=False)
        self._bn0 = _bn(stem_channels)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in stages:
            for r in range(repeats):
                blocks.append(
                    MBConvBlock(kernel, stride if r == 0 else 1, expand, c_in if r == 0 else c_out, c_out)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(stages[-1][-1], head_channels, 1, bias=False)
        self._bn1 = _bn(head_channels)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(head_channels, num_classes)
        self.num_features = head_channels

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 1280)
        """Pooled features after the head convolution (what the encoder returns)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._avg_pooling(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, num_classes)
        """ImageNet logits."""
        return self._fc(self._dropout(self.forward_features(x)))


def efficientnet_lite0_model(state_dict=None) -> EfficientNetLite:
    """Build EfficientNet-Lite0 in ``eval()`` mode, loading ``state_dict`` strictly when given.

    Parameters
    ----------
    state_dict : Mapping[str, torch.Tensor], optional
        Weights with lukemelas-style keys (e.g. the packaged ImageNet weights).

    Returns
    -------
    EfficientNetLite
        4.65 M parameters, 1280 features, 1000 classes.
    """
    model = EfficientNetLite()
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()
