"""Supervised pre-training of a backbone on labels corrupted by symmetric noise.

One function, :func:`pretrain`, runs on one CPU or GPU, or on several processes under ``torchrun`` (DDP: gloo
on CPU, NCCL on CUDA). Under DDP every process draws the same global batch from the shared seed and trains on
its own slice; the loss is scaled so that the averaged gradient is exactly the gradient of the mean loss over
the global batch (with ``norm="group"`` or ``"none"`` the result equals the single-process run up to float
rounding; with BatchNorm the batch statistics are per process, as usual).

The checkpoint is a dict saved with :func:`torch.save` holding the backbone's state dict (the projection
head is
discarded), the config, the noise report, the seed, the clean-test accuracy and the training history.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nmtune._internal.device import resolve_device
from nmtune._internal.files import atomic_path
from nmtune.pretrain.config import PretrainConfig
from nmtune.pretrain.models import Classifier, build_backbone

__all__ = ["pretrain", "load_checkpoint", "prepare_images", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "nmtune-pretrain-v1"


def prepare_images(images) -> torch.Tensor:
    """Images ``(N, H, W)`` in [0, 1] (or uint8) to a normalised tensor ``(N, 1, H, W)``: (x - 0.5) / 0.5."""
    x = torch.as_tensor(np.asarray(images))
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if x.ndim != 3:
        raise ValueError(f"Expected grayscale images of shape (N, H, W); received shape {tuple(x.shape)}.")
    return ((x - 0.5) / 0.5).unsqueeze(1)


def _load_data(config: PretrainConfig):
    from nmtune.datasets import load_dataset, stratified_subset

    train, test = load_dataset(config.dataset, "train"), load_dataset(config.dataset, "test")
    tr = stratified_subset(np.asarray(train.labels), config.n_train, config.subset_seed)
    te = stratified_subset(np.asarray(test.labels), config.n_test, config.subset_seed)
    n_classes = len(train.class_names)
    return (
        np.asarray(train.inputs)[tr],
        np.asarray(train.labels)[tr].astype(np.int64),
        np.asarray(test.inputs)[te],
        np.asarray(test.labels)[te].astype(np.int64),
        n_classes,
    )


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 pixels (zero padding) and horizontal flips; ``x`` is (B, 1, H, W)."""
    b, _, h, w = x.shape
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)  # -1 is black after normalisation
    dy = torch.randint(0, 5, (b,), generator=gen)
    dx = torch.randint(0, 5, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(b, 1, h, w + 4)
    out = torch.gather(padded, 2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(b, 1, h, w)
    out = torch.gather(out, 3, cols)
    flip = torch.rand(b, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def _dist_info() -> tuple[int, int]:
    """(rank, world size), initialising the process group from torchrun's environment when needed."""
    import torch.distributed as dist

    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _resolve_device(device: str, rank: int, world: int) -> torch.device:
    local = int(os.environ.get("LOCAL_RANK", rank)) if world > 1 else None
    return resolve_device(device, local_rank=local)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device, batch_size: int = 512) -> float:
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == y[i : i + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def pretrain(
    config: PretrainConfig,
    *,
    out: str | os.PathLike | None = None,
    backbone: nn.Module | None = None,
    data: tuple | None = None,
    device: str = "auto",
    progress: bool = True,
) -> dict:
    """Pre-train a backbone on noisy labels and return (and optionally save) its checkpoint.

    Parameters
    ----------
    config : PretrainConfig
        What to train; ``config.noise`` is the symmetric noise rate gamma.
    out : path, optional
        Where to save the checkpoint (atomically; only rank 0 writes under DDP).
    backbone : torch.nn.Module, optional
        A custom backbone mapping ``(B, 1, H, W)`` to ``(B, D)`` with ``num_features``; default built from the
        config. A custom backbone is recorded as ``arch="custom:<class name>"`` and must be passed again to
        :func:`nmtune.pretrain.load_pretrained_encoder`.
    data : tuple, optional
        ``(x_train (N, H, W), y_train (N,), x_test (M, H, W), y_test (M,), n_classes)`` instead of loading
        ``config.dataset`` (the subsets ``n_train``/``n_test`` are still applied).
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        Progress bar (rank 0 only).

    Returns
    -------
    dict
        The checkpoint: ``format``, ``state_dict`` (backbone), ``config``, ``noise`` (report dict with
        ``realised_rate``), ``seed``, ``clean_test_accuracy``, ``noisy_train_accuracy``, ``history``,
        ``world_size``, ``wall_time_s``, ``feature_dim``, ``input_shape``.
    """
    t0 = time.perf_counter()
    rank, world = _dist_info()
    dev = _resolve_device(device, rank, world)
    x_train, y_train, x_test, y_test, n_classes, report = _prepare_data(config, data)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(config.seed)
        net = (
            backbone
            if backbone is not None
            else build_backbone(
                config.arch,
                width=config.width,
                depth=config.depth,
                norm=config.norm,
                stem_stride=config.stem_stride,
            )
        )
        model = Classifier(net, n_classes)
    model.to(dev)
    history = _train_loop(model, x_train, y_train, config, dev, rank, world, progress)
    model.cpu()
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().clone() for k, v in model.backbone.state_dict().items()},
        "config": dict(
            config.to_dict(), arch=config.arch if backbone is None else f"custom:{type(net).__name__}"
        ),
        "noise": _jsonable(report.to_dict()),
        "realised_noise_rate": float(report.realised_rate),
        "seed": int(config.seed),
        "clean_test_accuracy": _accuracy(model, x_test, y_test, "cpu"),
        "noisy_train_accuracy": _accuracy(model, x_train, y_train, "cpu"),
        "n_classes": int(n_classes),
        "feature_dim": int(model.backbone.num_features),
        "input_shape": list(x_train.shape[2:]),
        "history": history,
        "world_size": world,
        "wall_time_s": time.perf_counter() - t0,
        "torch_version": str(torch.__version__),
    }
    save_checkpoint(ckpt, out, rank, world)
    return ckpt


def save_checkpoint(ckpt: dict, out, rank: int, world: int) -> None:
    """Save ``ckpt`` atomically to ``out`` (rank 0 only; nothing when ``out`` is None), then wait for all ranks."""
    if out is not None and rank == 0:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            torch.save(ckpt, tmp)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _prepare_data(config: PretrainConfig, data: tuple | None):
    """Images as normalised tensors (N, 1, H, W), noisy training labels, clean test labels, C and the report."""
    from nmtune.noise import symmetric_noise

    if data is None:
        x_tr, y_tr, x_te, y_te, n_classes = _load_data(config)
    else:
        from nmtune.datasets import stratified_subset

        x_tr, y_tr, x_te, y_te, n_classes = data
        tr = stratified_subset(np.asarray(y_tr), config.n_train, config.subset_seed)
        te = stratified_subset(np.asarray(y_te), config.n_test, config.subset_seed)
        x_tr, y_tr = np.asarray(x_tr)[tr], np.asarray(y_tr)[tr]
        x_te, y_te = np.asarray(x_te)[te], np.asarray(y_te)[te]
    y_noisy, report = symmetric_noise(
        np.asarray(y_tr), config.noise, n_classes=n_classes, random_state=config.seed
    )
    x_train, y_train = prepare_images(x_tr), torch.as_tensor(np.asarray(y_noisy), dtype=torch.long)
    x_test, y_test = prepare_images(x_te), torch.as_tensor(np.asarray(y_te), dtype=torch.long)
    return x_train, y_train, x_test, y_test, n_classes, report


def amp_tools(dev: torch.device, amp: bool):
    """(autocast dtype, gradient scaler) of a device: float16 with scaling on CUDA, bfloat16 on CPU."""
    amp_dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16
    return amp_dtype, torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")


def step_bar(total: int, desc: str, progress: bool, rank: int):
    """The tqdm bar over a training run's optimiser steps (rank 0 only)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not progress or rank != 0, leave=False)


def optimiser_step(loss: torch.Tensor, opt, scaler, sched) -> None:
    """One (scaled) backward pass, optimiser step and scheduler step."""
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    sched.step()


def _train_loop(model, x_train, y_train, config: PretrainConfig, dev, rank: int, world: int, progress: bool):
    """SGD (Nesterov, cosine) over global batches, each rank taking its slice; returns the per-epoch history."""
    train_model: nn.Module = model
    if world > 1:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    n = len(x_train)
    steps_per_epoch = max(1, -(-n // config.batch_size))
    total = steps_per_epoch * config.epochs
    opt = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=True,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    amp_dtype, scaler = amp_tools(dev, config.amp)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    bar = step_bar(total, f"pretrain gamma={config.noise:g} seed={config.seed}", progress, rank)
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        loss_sum, seen = 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]  # global batch
            xb = x_train[idx]
            if config.augment:
                xb = _augment(xb, gen)  # same draws on every rank, then sliced
            yb = y_train[idx]
            xb, yb = xb[rank::world].to(dev), yb[rank::world].to(dev)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=config.amp):
                logits = train_model(xb)
                # sum over the local slice / global batch size * world: DDP's gradient mean is the global mean
                loss = F.cross_entropy(logits.float(), yb, reduction="sum") * (world / len(idx))
            optimiser_step(loss, opt, scaler, sched)
            loss_sum += float(loss.detach()) * len(idx) / world
            seen += len(idx)
            bar.update(1)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "lr": sched.get_last_lr()[0]})
    bar.close()
    return history


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`pretrain` (safely: ``weights_only=True``).

    Parameters
    ----------
    path : path
        The ``.pt`` file.

    Returns
    -------
    dict
        The checkpoint (see :func:`pretrain`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No pre-training checkpoint at {str(path)!r}. Create one with "
            f"`nmtune pretrain --dataset fashion-mnist --noise 0.1 --out {path}`."
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not an nmtune pre-training checkpoint (expected format {CHECKPOINT_FORMAT!r}, "
            f"found {ckpt.get('format') if isinstance(ckpt, dict) else type(ckpt).__name__!r})."
        )
    return ckpt
