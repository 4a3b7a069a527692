"""The parts every pre-training loop shares: processes, devices, optimiser, schedule, one accumulated step.

One process or several under ``torchrun`` (DDP: gloo on CPU, NCCL on CUDA; one or several nodes: torchrun's
``--nnodes``/``--rdzv-endpoint``). Each process trains on its slice ``batch[rank::world]`` of the global
batch, split into ``grad_accum`` micro-batches ``slice[k::grad_accum]``; the loss of a micro-batch is its
summed loss times ``world / len(global batch)``, so the summed, DDP-averaged gradient is exactly the gradient
of the mean loss over the global batch.
"""

from __future__ import annotations

import math
import os
from contextlib import nullcontext

import torch
from torch import nn

from nmtune._internal.device import resolve_device

__all__ = [
    "dist_info",
    "run_device",
    "amp_tools",
    "step_bar",
    "optimiser_step",
    "param_groups",
    "make_optimizer",
    "make_scheduler",
    "wrap_model",
    "accumulated_step",
    "micro_batches",
    "sync_buffers",
    "rank_disagreement",
    "to_device_images",
]


def dist_info() -> tuple[int, int]:
    """(rank, world size), initialising the process group from torchrun's environment when needed."""
    import torch.distributed as dist

    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def run_device(device: str, rank: int, world: int) -> torch.device:
    """The device of this process: ``cuda:<LOCAL_RANK>`` under DDP on GPUs."""
    local = int(os.environ.get("LOCAL_RANK", rank)) if world > 1 else None
    return resolve_device(device, local_rank=local)


def amp_tools(dev: torch.device, amp: bool):
    """(autocast dtype, gradient scaler) of a device: float16 with scaling on CUDA, bfloat16 on CPU."""
    amp_dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16
    return amp_dtype, torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")


def step_bar(total: int, desc: str, progress: bool, rank: int, initial: int = 0):
    """The tqdm bar over a training run's optimiser steps (rank 0 only)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, disable=not progress or rank != 0, leave=False)


def optimiser_step(loss: torch.Tensor, opt, scaler, sched) -> None:
    """One (scaled) backward pass, optimiser step and scheduler step."""
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    sched.step()


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and kernels only; biases, norm scales and the temperature are not decayed."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, config) -> torch.optim.Optimizer:
    """The supervised optimiser: SGD with Nesterov momentum, or AdamW.

    SGD decays every parameter (as the supervised runs always have); AdamW decouples the decay and applies
    it to matrices and kernels only.
    """
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=getattr(config, "momentum", 0.9),
            weight_decay=config.weight_decay,
            nesterov=True,
        )
    return torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr)


def make_scheduler(opt, total_steps: int, warmup_steps: int = 0):
    """Cosine decay over ``total_steps`` (``CosineAnnealingLR``), after a linear warm-up when asked."""
    if warmup_steps <= 0:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def wrap_model(model: nn.Module, dev: torch.device, world: int, options) -> nn.Module:
    """The module that trains: channels-last, DDP across processes, ``torch.compile`` as the options ask."""
    if options.channels_last:
        model.to(memory_format=torch.channels_last)
    train_model: nn.Module = model
    if world > 1:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    if options.compile:
        train_model = torch.compile(train_model)
    return train_model


def micro_batches(local, accum: int) -> list:
    """Split this process's slice of the global batch into ``accum`` micro-batches ``local[k::accum]``."""
    return [local] if accum == 1 else [local[k::accum] for k in range(accum)]


def _no_sync(train_model: nn.Module, last: bool):
    inner = getattr(train_model, "_orig_mod", train_model)  # torch.compile wraps the DDP module
    if last or not isinstance(inner, nn.parallel.DistributedDataParallel):
        return nullcontext()
    return inner.no_sync()


def accumulated_step(train_model, parts, loss_of, opt, scaler, sched) -> float:
    """Zero the gradients, back-propagate ``loss_of(part)`` for each micro-batch, then step once.

    Gradients are synchronised across processes on the last micro-batch only. Returns the summed loss.
    """
    opt.zero_grad(set_to_none=True)
    total = 0.0
    for k, part in enumerate(parts):
        with _no_sync(train_model, k == len(parts) - 1):
            loss = loss_of(part)
            scaler.scale(loss).backward()
        total += float(loss.detach())
    scaler.step(opt)
    scaler.update()
    sched.step()
    return total


def sync_buffers(model: nn.Module, world: int) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics) at the end of training."""
    if world > 1:
        import torch.distributed as dist

        for buf in model.buffers():
            dist.broadcast(buf.data, 0)


def rank_disagreement(model: nn.Module, world: int) -> float:
    """Largest difference between processes of per-tensor checksums (sum and sum of squares, float64).

    0.0 means every process ends with the same weights (as DDP must); one process gives 0.0.
    """
    if world == 1:
        return 0.0
    import torch.distributed as dist

    sums = torch.stack(
        [torch.stack([t.double().sum(), t.double().square().sum()]) for t in model.state_dict().values()]
    ).flatten()  # (2 T,)
    dev = next(model.parameters()).device
    gathered = [torch.zeros_like(sums, device=dev) for _ in range(world)]
    dist.all_gather(gathered, sums.to(dev))
    return float(max((g - gathered[0]).abs().max() for g in gathered))


def to_device_images(x: torch.Tensor, dev, mean, std, channels_last: bool = False) -> torch.Tensor:
    """``uint8`` images ``(B, C, S, S)`` to normalised float on ``dev``: ``(x / 255 - mean) / std``."""
    x = x.to(dev, non_blocking=True).float().div_(255.0)
    m = torch.tensor(mean, device=dev).view(1, -1, 1, 1)
    s = torch.tensor(std, device=dev).view(1, -1, 1, 1)
    x = (x - m) / s
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
