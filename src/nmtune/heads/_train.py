"""The mini-batch training loop shared by every head (AdamW, per-step LR schedule, optional early stopping).

Loss terms are accumulated on the device and read once per epoch, so the step itself never synchronises the host
with the device.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nmtune.exceptions import TrainingDivergedError, unknown_name_error

from ._data import FeatureSource

SCHEDULES = ("cosine", "linear", "constant")

# loss_fn(model, f, y) -> (total loss, {term name: detached scalar tensor})
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total_steps: int):
    """A per-step LR schedule: cosine or linear decay to 0, or constant."""
    if schedule not in SCHEDULES:
        raise unknown_name_error("schedule", schedule, SCHEDULES)
    total = max(int(total_steps), 1)
    if schedule == "cosine":
        fn = lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
    elif schedule == "linear":
        fn = lambda step: max(0.0, 1.0 - step / total)  # noqa: E731
    else:
        fn = lambda step: 1.0  # noqa: E731
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)


def make_optimizer(model: nn.Module, *, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with the fused (single-kernel) update where torch supports it for these parameters.

    The fused update is the same algorithm in one pass over memory: several times faster than the per-tensor loop
    on CPU (``benchmarks/bench_heads.py`` heads use it). Unsupported devices or dtypes fall back to the default.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    fusable = bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params
    )
    if fusable:
        try:
            return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
        except (RuntimeError, ValueError):  # an older or restricted build without the fused kernel
            pass
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _diverged(epoch: int, lr: float, source: FeatureSource) -> TrainingDivergedError:
    """The error raised when the training loss becomes NaN or infinite."""
    scale = source.max_abs()
    return TrainingDivergedError(
        f"Training diverged: the loss became NaN or infinite in epoch {epoch + 1} (lr={lr!r}, largest "
        f"|feature| = {scale:.3g}). Standardise the features (e.g. sklearn.preprocessing.StandardScaler) "
        "and/or lower lr."
    )


@torch.no_grad()
def _evaluate(model: nn.Module, source: FeatureSource, y: torch.Tensor, batch_size: int, device) -> dict:
    model.eval()
    loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    for start, f in zip(range(0, len(source), batch_size), source.slices(batch_size, device)):
        yb = y[start : start + len(f)].to(device)
        logits = model(f)[0]
        loss += nn.functional.cross_entropy(logits, yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    model.train()
    n = len(source)
    return {"val_loss": float(loss) / n, "val_accuracy": float(correct) / n}


def train(
    model: nn.Module,
    source: FeatureSource,
    y: np.ndarray,
    loss_fn: LossFn,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    schedule: str,
    device: torch.device,
    generator: torch.Generator,
    val: tuple[FeatureSource, np.ndarray] | None = None,
    early_stopping: bool = False,
    patience: int = 5,
    progress: bool = False,
    desc: str = "fit",
) -> list[dict]:
    """Train ``model`` in place; returns the per-epoch history.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch (B, D) to ``(logits (B, C), z)``; already on ``device``.
    source : FeatureSource
        Training features, N rows.
    y : ndarray of shape (N,)
        Integer labels 0..C-1.
    loss_fn : callable
        ``loss_fn(model, f, y) -> (loss, parts)``.
    val : (FeatureSource, ndarray) or None
        Validation split; when given, ``val_loss`` / ``val_accuracy`` are recorded every epoch, and with
        ``early_stopping`` training stops after ``patience`` epochs without a lower ``val_loss`` and the best weights
        are restored.

    Returns
    -------
    list of dict
        One dict per epoch: ``epoch``, ``lr``, ``loss`` and each loss term (means over samples), plus validation
        metrics when ``val`` is given.
    """
    n = len(source)
    steps_per_epoch = math.ceil(n / batch_size)
    optimizer = make_optimizer(model, lr=lr, weight_decay=weight_decay)
    scheduler = make_scheduler(optimizer, schedule, epochs * steps_per_epoch)
    y_t = torch.as_tensor(y, dtype=torch.long)
    y_val = torch.as_tensor(val[1], dtype=torch.long) if val is not None else None
    history: list[dict] = []
    best = (math.inf, None, -1)  # (val_loss, state, epoch)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=desc, unit="epoch", leave=False)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=generator)
        sums: dict[str, torch.Tensor] = {}
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            if len(idx) < 2 and n >= 2:  # a lone trailing sample: BatchNorm and the covariance need >= 2 rows
                idx = perm[start - 1 : start + 1]
            f = source.rows(idx, device)
            yb = y_t[idx].to(device, non_blocking=True)
            try:
                loss, parts = loss_fn(model, f, yb)
            except torch.linalg.LinAlgError as exc:  # the eigen-solver met NaN/inf: training has diverged
                raise _diverged(epoch, lr, source) from exc
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            for key, value in {"loss": loss.detach(), **parts}.items():
                sums[key] = sums.get(key, 0) + value * len(idx)
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        record.update({k: float(v) / n for k, v in sums.items()})  # one host sync per epoch
        if not math.isfinite(record["loss"]):
            raise _diverged(epoch, lr, source)
        if val is not None:
            record.update(_evaluate(model, val[0], y_val, batch_size, device))
            if record["val_loss"] < best[0]:
                best = (record["val_loss"], copy.deepcopy(model.state_dict()), epoch)
        history.append(record)
        if bar is not None:
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            bar.update()
        if val is not None and early_stopping and epoch - best[2] >= patience:
            break
    if bar is not None:
        bar.close()
    if val is not None and early_stopping and best[1] is not None:
        model.load_state_dict(best[1])
    model.eval()
    return history
