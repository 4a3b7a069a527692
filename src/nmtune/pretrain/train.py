"""Supervised pre-training of a backbone on labels corrupted by symmetric noise.

One function, :func:`pretrain`, runs on one CPU or GPU, or on several processes under ``torchrun`` (DDP: gloo
on CPU, NCCL on CUDA; see :mod:`nmtune.pretrain.engine` for the exact global-batch arithmetic). With the
loss scaled so that the averaged gradient is the gradient of the mean loss over the global batch, a run with
``norm="group"`` or ``"none"`` equals the single-process run up to float rounding; with BatchNorm the batch
statistics are per process (and per micro-batch), as usual.

Two data paths:

- ``config.image_size`` is ``None`` (the CPU studies): the dataset is loaded into memory as grayscale
  tensors ``(N, 1, H, W)`` normalised as ``(x - 0.5) / 0.5``, augmented by random 2-pixel shifts and flips;
  this path is bit-for-bit the one the earlier checkpoints were trained with.
- ``config.image_size`` is set: images are streamed from disk (:mod:`nmtune.pretrain.train_stream`).

The checkpoint is a dict saved with :func:`torch.save` holding the backbone's state dict (the projection
head is discarded), the config, the backbone's spec (what rebuilds it offline), the preprocessing, the noise
report, the seed, the clean-test accuracy and the training history.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nmtune.pretrain.architectures import backbone_spec, init_classifier
from nmtune.pretrain.checkpoint import (
    CHECKPOINT_FORMAT,
    check_run,
    checkpoint_config,
    finished_checkpoint,
    jsonable,
    legacy_preprocessing,
    load_checkpoint,
    save_checkpoint,
)
from nmtune.pretrain.config import PretrainConfig
from nmtune.pretrain.engine import (
    accumulated_step,
    amp_tools,
    dist_info,
    make_optimizer,
    make_scheduler,
    micro_batches,
    optimiser_step,
    rank_disagreement,
    run_device,
    step_bar,
    sync_buffers,
    wrap_model,
)
from nmtune.pretrain.options import TrainOptions
from nmtune.pretrain.resume import capture_rng, load_state, note, restore_rng, save_state, state_path
from nmtune.pretrain.tb_log import TrainLog

__all__ = [
    "pretrain",
    "load_checkpoint",
    "save_checkpoint",
    "prepare_images",
    "CHECKPOINT_FORMAT",
    "amp_tools",
    "step_bar",
    "optimiser_step",
]

_dist_info, _resolve_device, _jsonable = dist_info, run_device, jsonable  # earlier private names


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


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device, batch_size: int = 512) -> float:
    was = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(x[i : i + batch_size].to(device))
            correct += int((logits.argmax(1).cpu() == y[i : i + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)


def pretrain(
    config: PretrainConfig,
    *,
    out: str | os.PathLike | None = None,
    backbone: nn.Module | None = None,
    data: tuple | None = None,
    device: str = "auto",
    progress: bool = True,
    options: TrainOptions | None = None,
) -> dict:
    """Pre-train a backbone on noisy labels and return (and optionally save) its checkpoint.

    Parameters
    ----------
    config : PretrainConfig
        What to train; ``config.noise`` is the symmetric noise rate gamma.
    out : path, optional
        Where to save the checkpoint (atomically; only rank 0 writes under DDP).
    backbone : torch.nn.Module, optional
        A custom backbone mapping ``(B, C, H, W)`` to ``(B, D)`` with ``num_features``; default built from the
        config. A custom backbone without ``spec()`` is recorded as ``arch="custom:<class name>"`` and must be
        passed again to :func:`nmtune.pretrain.load_pretrained_encoder`.
    data : tuple, optional
        ``(x_train (N, H, W[, 3]), y_train (N,), x_test (M, H, W[, 3]), y_test (M,), n_classes)`` instead of
        loading ``config.dataset`` (the subsets ``n_train``/``n_test`` are still applied).
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        Progress bar (rank 0 only).
    options : TrainOptions, optional
        Workers, gradient accumulation, channels-last, compile, periodic checkpoints, resume, TensorBoard.

    Returns
    -------
    dict
        The checkpoint: ``format``, ``state_dict`` (backbone), ``config``, ``backbone`` (spec),
        ``preprocessing``, ``noise`` (report dict with ``realised_rate`` and the transition matrix),
        ``realised_noise_rate``, ``seed``, ``clean_test_accuracy``, ``noisy_train_accuracy``, ``history``,
        ``world_size``, ``rank_disagreement``, ``wall_time_s``, ``feature_dim``, ``input_shape``.
    """
    options = options or TrainOptions()
    t0 = time.perf_counter()
    rank, world = dist_info()
    done = finished_checkpoint(out, config, options, rank)
    if done is not None:
        return done
    check_run(out, options, rank)
    dev = run_device(device, rank, world)
    if config.image_size is not None:
        from nmtune.pretrain.train_stream import pretrain_streamed

        ckpt = pretrain_streamed(config, out, backbone, data, dev, rank, world, progress, options)
    else:
        ckpt = _pretrain_memory(config, out, backbone, data, dev, rank, world, progress, options)
    ckpt["wall_time_s"] = time.perf_counter() - t0
    save_checkpoint(ckpt, out, rank, world)
    if out is not None and rank == 0:
        state_path(out).unlink(missing_ok=True)
    return ckpt


def _pretrain_memory(config, out, backbone, data, dev, rank, world, progress, options) -> dict:
    x_train, y_train, x_test, y_test, n_classes, report = _prepare_data(config, data)
    model = init_classifier(config, backbone, n_classes, 1, x_train.shape[-1])
    model.to(dev)
    history = _train_loop(model, x_train, y_train, config, dev, rank, world, progress, options, out)
    sync_buffers(model, world)
    disagreement = rank_disagreement(model, world)
    model.cpu()
    return {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().clone() for k, v in model.backbone.state_dict().items()},
        "config": checkpoint_config(config, backbone, model.backbone),
        "backbone": backbone_spec(model.backbone),
        "preprocessing": legacy_preprocessing(x_train.shape[2:]),
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
        "rank_disagreement": disagreement,
        "torch_version": str(torch.__version__),
    }


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


def _train_loop(model, x_train, y_train, config, dev, rank, world, progress, options, out):
    """SGD (Nesterov, cosine) over global batches, each rank taking its slice; returns the per-epoch history."""
    train_model = wrap_model(model, dev, world, options)
    n = len(x_train)
    steps_per_epoch = max(1, -(-n // config.batch_size))
    total = steps_per_epoch * config.epochs
    opt = make_optimizer(model, config)
    sched = make_scheduler(opt, total, round(config.warmup_epochs * steps_per_epoch))
    amp_dtype, scaler = amp_tools(dev, config.amp)
    gen = torch.Generator().manual_seed(config.seed)
    history, start, order, loss_sum, seen = [], 0, None, 0.0, 0
    state = load_state(state_path(out), config, "supervised-memory") if options.resume and out else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        gen.set_state(state["generator"])
        restore_rng(state["rng"])
        history, start, order = list(state["history"]), int(state["step"]), state["order"]
        loss_sum, seen = float(state["running"][0]), int(state["running"][1])
        note(f"resuming at step {start} of {total}.", rank)
    log = TrainLog(options.log_dir, rank, options.log_every)
    bar = step_bar(total, f"pretrain gamma={config.noise:g} seed={config.seed}", progress, rank, start)
    smoothing = {"label_smoothing": config.label_smoothing} if config.label_smoothing else {}
    model.train()
    for step_all in range(start, total):
        epoch, step = divmod(step_all, steps_per_epoch)
        if step == 0:
            order = torch.randperm(n, generator=gen)
            loss_sum, seen = 0.0, 0
        idx = order[step * config.batch_size : (step + 1) * config.batch_size]  # global batch
        xb = x_train[idx]
        if config.augment:
            xb = _augment(xb, gen)  # same draws on every rank, then sliced
        xl, yl = xb[rank::world], y_train[idx][rank::world]
        hits, size = [0, 0], len(idx)

        def loss_of(part, xl=xl, yl=yl, size=size, hits=hits):
            xp, yp = (xl, yl) if part is None else (xl[part], yl[part])
            xp, yp = xp.to(dev), yp.to(dev)
            if options.channels_last:
                xp = xp.contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=config.amp):
                logits = train_model(xp)
                # sum over the slice / global batch size * world: DDP's gradient mean is the global mean
                loss = F.cross_entropy(logits.float(), yp, reduction="sum", **smoothing) * (world / size)
            hits[0] += int((logits.detach().argmax(1) == yp).sum())
            hits[1] += len(yp)
            return loss

        parts = (
            [None] if options.grad_accum == 1 else micro_batches(torch.arange(len(xl)), options.grad_accum)
        )
        loss_value = accumulated_step(train_model, parts, loss_of, opt, scaler, sched)
        loss_sum += loss_value * len(idx) / world
        seen += len(idx)
        bar.update(1)
        log.update(step_all + 1, loss=loss_value * world / len(idx), images=len(idx),
                   lr=sched.get_last_lr()[0], correct=hits[0], seen=hits[1])  # fmt: skip
        if step == steps_per_epoch - 1:
            history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "lr": sched.get_last_lr()[0]})
        if (
            options.checkpoint_every
            and (step_all + 1) % options.checkpoint_every == 0
            and step_all + 1 < total
        ):
            save_state(state_path(out), {
                "kind": "supervised-memory", "config": config.to_dict(), "step": step_all + 1,
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "scaler": scaler.state_dict(), "generator": gen.get_state(), "rng": capture_rng(),
                "order": order, "history": history, "running": [loss_sum, seen], "world_size": world,
            }, rank, world)  # fmt: skip
    bar.close()
    log.close()
    return history
