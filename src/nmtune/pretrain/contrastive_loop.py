"""The contrastive training loop shared by in-memory and streamed data, and the model's initialisation.

Shape convention: B the global batch, W processes, K distinct captions in a batch, E the joint embedding.
See :mod:`nmtune.pretrain.contrastive` for the method.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nmtune.losses.contrastive import clip_loss
from nmtune.pretrain.config import ContrastiveConfig
from nmtune.pretrain.engine import (
    amp_tools,
    make_scheduler,
    optimiser_step,
    param_groups,
    step_bar,
    wrap_model,
)
from nmtune.pretrain.resume import capture_rng, load_state, note, restore_rng, save_state, state_path
from nmtune.pretrain.tb_log import TrainLog
from nmtune.pretrain.towers import ContrastiveModel

__all__ = ["init_model", "train_loop", "tower_record", "MemoryBatches", "MAX_LOGIT_SCALE", "detached"]

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps 1 / temperature at 100


def _optimizer(model: nn.Module, config: ContrastiveConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)


def _gather_with_grad(local: torch.Tensor, rank: int, world: int, sizes: list[int]) -> torch.Tensor:
    """Concatenate every rank's rows ``(sizes[r], E)`` in rank order, keeping the gradient to each rank's rows.

    Slices may differ in length by one (the last batch), so each is padded to the longest before the gather.
    """
    if world == 1:
        return local
    import torch.distributed.nn.functional as dist_fn

    longest = max(sizes)
    padded = torch.cat([local, local.new_zeros(longest - len(local), local.shape[1])])
    parts = dist_fn.all_gather(padded)  # autograd: the backward sums every rank's gradient into its own slice
    return torch.cat([p[:n] for p, n in zip(parts, sizes)])


def init_model(config: ContrastiveConfig, text_dim: int, in_channels: int, image_size) -> ContrastiveModel:
    """Backbone, projections, text tower and temperature, with weights seeded by ``config.seed``."""
    from nmtune.pretrain.architectures import build_backbone

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(config.seed)
        backbone = build_backbone(
            config.arch,
            width=config.width,
            depth=config.depth,
            norm=config.norm,
            stem_stride=config.stem_stride,
            in_channels=in_channels,
            image_size=image_size,
        )
        tower = None
        if config.text_model is not None:
            from nmtune.pretrain.towers import build_text_model

            tower = build_text_model(
                config.text_model, embed_dim=config.embed_dim, max_length=config.text_max_length
            )
        return ContrastiveModel(
            backbone, text_dim, config.embed_dim, config.text_hidden, config.temperature, tower
        )


def train_loop(model, batches, captions, text_inputs, config, dev, rank, world, progress, options, out):
    """AdamW/SGD with a cosine schedule over global batches; returns the per-epoch history.

    ``batches.batch(step)`` gives the global batch's positions ``(B,)`` and this process's images on the
    device; ``captions`` (N,) the caption id each position carries; ``text_inputs(ids)`` the text tower's
    inputs for caption ids (frozen features or byte ids) on the device.
    """
    if options.grad_accum != 1:
        raise ValueError(
            "Contrastive pre-training contrasts every image with every caption of the global batch, so the batch "
            f"cannot be split into micro-batches; received grad_accum={options.grad_accum}. Use more processes "
            "(torchrun) or a smaller batch_size instead."
        )
    total, spe = batches.total_steps, batches.steps_per_epoch
    opt = _optimizer(model, config)
    sched = make_scheduler(opt, total, round(config.warmup_epochs * spe))
    amp_dtype, scaler = amp_tools(dev, config.amp)
    kind = f"contrastive-{batches.kind}"
    history, start, loss_sum, seen = [], 0, 0.0, 0
    state = load_state(state_path(out), config, kind) if options.resume and out else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        batches.load(state["batches"])
        restore_rng(state["rng"])
        history, start = list(state["history"]), int(state["step"])
        loss_sum, seen = float(state["running"][0]), int(state["running"][1])
        note(f"resuming at step {start} of {total}.", rank)
    train_model = wrap_model(model, dev, world, options)
    batches.start(start)
    log = TrainLog(options.log_dir, rank, options.log_every)
    bar = step_bar(total, f"contrastive gamma={config.noise:g} seed={config.seed}", progress, rank, start)
    model.train()
    for step_all in range(start, total):
        epoch, step = divmod(step_all, spe)
        idx, xb = batches.batch(step_all)  # (B,) global positions, this rank's images
        unique, ids = torch.unique(captions[idx], return_inverse=True)  # (K,), (B,)
        sizes = [len(idx[r::world]) for r in range(world)]
        ids = torch.cat([ids[r::world] for r in range(world)]).to(dev)  # rank order, as gathered
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=config.amp):
            img, txt, scale = train_model(xb, text_inputs(unique))  # (B/world, E), (K, E)
        img = _gather_with_grad(img.float(), rank, world, sizes)  # (B, E), the global batch
        loss = clip_loss(img, txt.float(), ids, scale.float())
        optimiser_step(loss, opt, scaler, sched)
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
        loss_sum += float(loss.detach()) * len(idx)
        seen += len(idx)
        bar.update(1)
        log.update(step_all + 1, loss=float(loss.detach()), images=len(idx), lr=sched.get_last_lr()[0])
        if step == spe - 1:
            history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": loss_sum / seen,
                    "lr": sched.get_last_lr()[0],
                    "temperature": float(torch.exp(-model.logit_scale.detach())),
                }
            )
            loss_sum, seen = 0.0, 0
        if (
            options.checkpoint_every
            and (step_all + 1) % options.checkpoint_every == 0
            and step_all + 1 < total
        ):
            save_state(state_path(out), {
                "kind": kind, "config": config.to_dict(), "step": step_all + 1, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                "batches": batches.state(), "rng": capture_rng(), "history": history,
                "running": [loss_sum, seen], "world_size": world,
            }, rank, world)  # fmt: skip
    bar.close()
    log.close()
    return history


class MemoryBatches:
    """Global batches of in-memory images: a fresh permutation per epoch from one seeded generator."""

    kind = "memory"

    def __init__(self, x_train, config, rank, world, dev):
        self.x, self.n, self.b = x_train, len(x_train), config.batch_size
        self.rank, self.world, self.dev = rank, world, dev
        self.steps_per_epoch = max(1, -(-self.n // self.b))
        self.total_steps = self.steps_per_epoch * config.epochs
        self.gen, self.order = torch.Generator().manual_seed(config.seed), None

    def start(self, step: int) -> None:
        """Nothing to do: the generator state (restored by :meth:`load`) carries the position."""

    def batch(self, step_all: int):
        """Global positions ``(B,)`` and this process's images on the device."""
        step = step_all % self.steps_per_epoch
        if step == 0:
            self.order = torch.randperm(self.n, generator=self.gen)
        idx = self.order[step * self.b : (step + 1) * self.b]  # global batch
        return idx, self.x[idx[self.rank :: self.world]].to(self.dev)

    def state(self) -> dict:
        """The generator state and the epoch's permutation."""
        return {"generator": self.gen.get_state(), "order": self.order}

    def load(self, state: dict) -> None:
        """Restore :meth:`state`."""
        self.gen.set_state(state["generator"])
        self.order = state["order"]


def tower_record(model: ContrastiveModel, config: ContrastiveConfig, side) -> dict:
    """The checkpoint's text-side and projection entries."""
    tower = model.text_projection
    return {
        "image_projection": detached(model.image_projection),
        "text_projection": detached(tower),
        "text_hidden": config.text_hidden,
        "text_tower": tower.spec() if hasattr(tower, "spec") else None,
        "logit_scale": float(model.logit_scale.detach()),
        "text_encoder": side.encoder_record,
    }


def detached(module: nn.Module) -> dict:
    """A copy of the module's state dict, detached from autograd."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
