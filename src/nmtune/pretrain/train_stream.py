"""Supervised pre-training on streamed images (``config.image_size`` set): any size, RGB or grayscale.

Shape convention: N training images, B the global batch, C channels, S = ``image_size``, K classes.

Images are decoded and cropped in DataLoader workers (:mod:`nmtune.datasets.streaming`) and arrive as
``uint8`` ``(b, C, S, S)``; normalisation (:data:`nmtune.pretrain.data.NORMALISATION`) runs on the device.
The labels of the N training images are corrupted once, by sample position, with exactly ``round(gamma N)``
flips (:func:`nmtune.noise.symmetric_noise` seeded by ``config.seed``), so every process and a resumed run
see the same noisy labels; the batch order is :class:`nmtune.pretrain.data.GlobalBatchSampler`.

At the end the clean-test accuracy is measured on the test split with the evaluation crop (split between the
processes), and the noisy-train accuracy in evaluation mode on at most 10,000 training images (a fixed
subset) against their noisy labels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nmtune.pretrain.architectures import init_classifier
from nmtune.pretrain.checkpoint import CHECKPOINT_FORMAT, checkpoint_config, jsonable
from nmtune.pretrain.data import GlobalBatchSampler, open_stream_data
from nmtune.pretrain.engine import (
    accumulated_step,
    amp_tools,
    make_optimizer,
    make_scheduler,
    rank_disagreement,
    step_bar,
    sync_buffers,
    to_device_images,
    wrap_model,
)
from nmtune.pretrain.resume import capture_rng, load_state, note, restore_rng, save_state, state_path
from nmtune.pretrain.tb_log import TrainLog

__all__ = ["pretrain_streamed", "stream_accuracy", "train_loader"]

MAX_TRAIN_EVAL = 10_000


def _worker_init(_):
    torch.set_num_threads(1)


def train_loader(dataset, sampler, workers: int, dev) -> torch.utils.data.DataLoader:
    """The training DataLoader (its own generator: the global RNG is left alone)."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=dev.type == "cuda",
        worker_init_fn=_worker_init if workers else None,
        prefetch_factor=4 if workers else None,
        generator=torch.Generator(),
    )


@torch.no_grad()
def stream_accuracy(model, dataset, labels, positions, dev, mean_std, rank, world, batch_size=256, workers=0):
    """Fraction of ``positions`` whose arg-max logit equals ``labels[position]``, split across processes."""
    from nmtune.datasets.streaming import eval_loader

    was = model.training
    model.eval()
    mine = np.asarray(positions)[rank::world]
    correct = torch.zeros(2, dtype=torch.float64)
    for x, pos in eval_loader(dataset, batch_size, workers, mine):
        logits = model(to_device_images(x, dev, *mean_std)).float().cpu()
        correct += torch.tensor([float((logits.argmax(1) == torch.as_tensor(labels)[pos]).sum()), len(pos)])
    if world > 1:
        import torch.distributed as dist

        correct = correct.to(dev)
        dist.all_reduce(correct)
        correct = correct.cpu()
    model.train(was)
    return float(correct[0] / correct[1]) if correct[1] else None


def pretrain_streamed(config, out, backbone, data, dev, rank, world, progress, options) -> dict:
    """The streamed path of :func:`nmtune.pretrain.pretrain` (arguments as there; returns the checkpoint)."""
    from nmtune.noise import symmetric_noise

    stream = open_stream_data(config, data)
    clean = stream.train.labels[stream.train_rows]  # (N,)
    k = len(stream.class_names)
    noisy, report = symmetric_noise(clean, config.noise, n_classes=k, random_state=config.seed)
    model = init_classifier(config, backbone, k, stream.channels, stream.size).to(dev)
    history = _train_loop(
        model, stream, torch.as_tensor(noisy), config, dev, rank, world, progress, options, out
    )
    sync_buffers(model, world)
    mean_std = stream.mean_std
    test_acc = None
    if stream.test is not None and len(stream.test_rows):
        test_labels = stream.test.labels[stream.test_rows]
        test_ds = stream.images("test", train=False, config=config)
        test_acc = stream_accuracy(
            model, test_ds, test_labels, np.arange(len(test_labels)), dev, mean_std, rank, world,
            workers=options.workers,
        )  # fmt: skip
    subset = np.sort(np.random.default_rng(0).permutation(len(noisy))[:MAX_TRAIN_EVAL])
    train_acc = stream_accuracy(
        model, stream.images("train", train=False, config=config), noisy, subset, dev, mean_std, rank, world,
        workers=options.workers,
    )  # fmt: skip
    disagreement = rank_disagreement(model, world)
    model.cpu()
    return {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {key: v.detach().clone() for key, v in model.backbone.state_dict().items()},
        "config": checkpoint_config(config, backbone, model.backbone),
        "backbone": model.backbone.spec() if hasattr(model.backbone, "spec") else None,
        "preprocessing": stream.preprocessing(),
        "noise": jsonable(report.to_dict(transition="dense" if k <= 100 else "sparse")),
        "realised_noise_rate": float(report.realised_rate),
        "seed": int(config.seed),
        "clean_test_accuracy": test_acc,
        "noisy_train_accuracy": train_acc,
        "noisy_train_accuracy_n": int(len(subset)),
        "n_classes": k,
        "class_names": list(stream.class_names),
        "feature_dim": int(model.backbone.num_features),
        "input_shape": [stream.size, stream.size],
        "history": history,
        "world_size": world,
        "grad_accum": options.grad_accum,
        "rank_disagreement": disagreement,
        "torch_version": str(torch.__version__),
    }


def _train_loop(model, stream, labels, config, dev, rank, world, progress, options, out):
    """The optimiser steps over streamed global batches; returns the per-epoch history."""
    n = len(labels)
    sampler0 = GlobalBatchSampler(
        n, config.batch_size, config.seed, config.epochs, rank, world, options.grad_accum
    )
    total, spe = sampler0.total_steps, sampler0.steps_per_epoch
    opt = make_optimizer(model, config)
    sched = make_scheduler(opt, total, round(config.warmup_epochs * spe))
    amp_dtype, scaler = amp_tools(dev, config.amp)
    history, start, loss_sum, seen = [], 0, 0.0, 0
    state = load_state(state_path(out), config, "supervised-stream") if options.resume and out else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"])
        history, start = list(state["history"]), int(state["step"])
        loss_sum, seen = float(state["running"][0]), int(state["running"][1])
        note(f"resuming at step {start} of {total}.", rank)
    train_model = wrap_model(model, dev, world, options)
    sampler = GlobalBatchSampler(
        n, config.batch_size, config.seed, config.epochs, rank, world, options.grad_accum, start_step=start
    )
    batches = iter(
        train_loader(stream.images("train", train=True, config=config), sampler, options.workers, dev)
    )
    mean_std = stream.mean_std
    smoothing = {"label_smoothing": config.label_smoothing} if config.label_smoothing else {}
    log = TrainLog(options.log_dir, rank, options.log_every)
    bar = step_bar(
        total, f"pretrain {config.arch} gamma={config.noise:g} seed={config.seed}", progress, rank, start
    )
    model.train()
    for step_all in range(start, total):
        size = len(sampler.global_batch(step_all))
        parts = [next(batches) for _ in range(options.grad_accum)]
        hits = [0, 0]

        def loss_of(part, size=size, hits=hits):
            x, pos = part
            y = labels[pos].to(dev)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=config.amp):
                logits = train_model(to_device_images(x, dev, *mean_std, options.channels_last))
                loss = F.cross_entropy(logits.float(), y, reduction="sum", **smoothing) * (world / size)
            hits[0] += int((logits.detach().argmax(1) == y).sum())
            hits[1] += len(y)
            return loss

        loss_value = accumulated_step(train_model, parts, loss_of, opt, scaler, sched)
        loss_sum += loss_value * size / world
        seen += size
        bar.update(1)
        log.update(step_all + 1, loss=loss_value * world / size, images=size, lr=sched.get_last_lr()[0],
                   correct=hits[0], seen=hits[1])  # fmt: skip
        if (step_all + 1) % spe == 0:
            history.append(
                {"epoch": (step_all + 1) // spe, "train_loss": loss_sum / seen, "lr": sched.get_last_lr()[0]}
            )
            loss_sum, seen = 0.0, 0
        if (
            options.checkpoint_every
            and (step_all + 1) % options.checkpoint_every == 0
            and step_all + 1 < total
        ):
            save_state(state_path(out), {
                "kind": "supervised-stream", "config": config.to_dict(), "step": step_all + 1,
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "scaler": scaler.state_dict(), "rng": capture_rng(), "history": history,
                "running": [loss_sum, seen], "world_size": world,
            }, rank, world)  # fmt: skip
    bar.close()
    log.close()
    return history
