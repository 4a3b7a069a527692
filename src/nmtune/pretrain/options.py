"""How a pre-training run is executed (not what it learns): workers, accumulation, checkpoints, logging.

These options do not enter the checkpoint's ``config``: two runs that differ only here train the same
model (up to float rounding; with BatchNorm, the batch statistics are per process and per micro-batch).
"""

from __future__ import annotations

from dataclasses import dataclass

from nmtune._internal.validation import check_number

__all__ = ["TrainOptions"]


@dataclass(frozen=True)
class TrainOptions:
    """Execution options of :func:`nmtune.pretrain.pretrain` and :func:`nmtune.pretrain.pretrain_contrastive`.

    Parameters
    ----------
    workers : int, default=0
        DataLoader worker processes decoding streamed images (0: in the training process).
    grad_accum : int, default=1
        Micro-batches per optimiser step: each process's share of the global batch is split into this many
        parts whose gradients are summed before the step (the global batch ``batch_size`` is unchanged).
    channels_last : bool, default=False
        Channels-last memory format for the model and the images (faster convolutions on GPUs).
    compile : bool, default=False
        ``torch.compile`` the model for training.
    checkpoint_every : int, default=0
        Write the training state (model, optimiser, scheduler, scaler, data position, random states) every
        this many optimiser steps to ``<out stem>.state.pt`` (0: never). Needs ``out``.
    resume : bool, default=False
        Continue from that state when it exists (the run then ends with the weights of an uninterrupted
        run); a finished checkpoint with the same config is returned as it is.
    log_dir : str, optional
        TensorBoard folder for loss, learning rate, images/s and noisy-train accuracy (needs the
        ``tensorboard`` package: ``pip install 'nmtune[tensorboard]'``).
    log_every : int, default=10
        Steps between TensorBoard points.
    """

    workers: int = 0
    grad_accum: int = 1
    channels_last: bool = False
    compile: bool = False
    checkpoint_every: int = 0
    resume: bool = False
    log_dir: str | None = None
    log_every: int = 10

    def __post_init__(self):
        check_number("workers", self.workers, low=0, integer=True)
        check_number("grad_accum", self.grad_accum, low=1, integer=True)
        check_number("checkpoint_every", self.checkpoint_every, low=0, integer=True, hint=" (0: never)")
        check_number("log_every", self.log_every, low=1, integer=True)
