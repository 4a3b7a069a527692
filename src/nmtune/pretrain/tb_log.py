"""TensorBoard scalars of a pre-training run (rank 0): loss, learning rate, images/s, noisy-train accuracy.

Needs the ``tensorboard`` package (``pip install 'nmtune[tensorboard]'``); without it the run goes on with a
one-line note and logs nothing.
"""

from __future__ import annotations

import time

__all__ = ["TrainLog"]


class TrainLog:
    """Scalars every ``every`` steps to ``log_dir`` (nothing when ``log_dir`` is None or rank > 0).

    Parameters
    ----------
    log_dir : str or None
    rank : int
    every : int
        Steps between points; the loss and accuracy are averaged over them, images/s measured over them.
    """

    def __init__(self, log_dir, rank: int, every: int = 10):
        self.writer, self.every = None, int(every)
        if log_dir is not None and rank == 0:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(log_dir))
            except ImportError:
                from nmtune.pretrain.resume import note

                note("TensorBoard logging is off: the 'tensorboard' package is not installed "
                     "(pip install 'nmtune[tensorboard]'); training goes on.", rank)  # fmt: skip
        self._reset()

    def _reset(self):
        self._loss, self._correct, self._seen, self._images, self._steps = 0.0, 0, 0, 0, 0
        self._t0 = time.perf_counter()

    def update(self, step: int, *, loss: float, images: int, lr: float, correct: int = 0, seen: int = 0):
        """Record one optimiser step (``step`` counted from 1); writes a point every ``every`` steps.

        ``images`` is the global batch size; ``correct`` / ``seen`` this process's predictions that match
        the (noisy) training labels.
        """
        if self.writer is None:
            return
        self._loss += loss
        self._correct += correct
        self._seen += seen
        self._images += images
        self._steps += 1
        if step % self.every == 0:
            elapsed = max(time.perf_counter() - self._t0, 1e-9)
            self.writer.add_scalar("train/loss", self._loss / self._steps, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/images_per_s", self._images / elapsed, step)
            if self._seen:
                self.writer.add_scalar("train/noisy_accuracy", self._correct / self._seen, step)
            self.writer.flush()
            self._reset()

    def close(self):
        """Flush and close the event file."""
        if self.writer is not None:
            self.writer.close()
