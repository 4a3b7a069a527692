"""Contrastive (CLIP-style) pre-training of a backbone on image-caption pairs with swapped captions.

Shape convention: N training images (H x W, grayscale), C classes, D backbone features, F frozen text features,
E joint embedding dimension.

Each training image is paired with the name of its class as caption (``"LATIN SMALL LETTER E WITH ACUTE"``).
Caption noise at rate gamma gives exactly ``round(gamma * N)`` images the caption of another image
(:func:`nmtune.noise.pair_swap_noise`); a swap between two images of the same class leaves the pair correct,
so the *effective* rate (images whose caption names another class) is slightly lower and is recorded too.

Two towers meet in an E-dimensional space: the image tower is the backbone plus a linear ``D -> E``; the text
tower is a small MLP ``F -> E`` over the frozen text-encoder features of each distinct caption (encoded once).
The loss is :func:`nmtune.losses.contrastive.clip_loss` with a learnable temperature. Under ``torchrun`` (DDP)
every process embeds its slice of the global batch and the image embeddings are all-gathered with their
gradients, so the loss spans the global batch.

The checkpoint has the format of :func:`nmtune.pretrain.pretrain` (``state_dict`` is the backbone alone), so
``get_encoder("pretrained:<path>")`` loads it unchanged; the towers and the temperature are stored beside it
for zero-shot classification (:mod:`nmtune.pretrain.zero_shot`).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from torch import nn

from nmtune.datasets.subsample import stratified_subset
from nmtune.losses.contrastive import clip_loss
from nmtune.pretrain.config import ContrastiveConfig
from nmtune.pretrain.models import build_backbone
from nmtune.pretrain.train import (
    CHECKPOINT_FORMAT,
    _dist_info,
    _jsonable,
    _resolve_device,
    amp_tools,
    optimiser_step,
    prepare_images,
    save_checkpoint,
    step_bar,
)

__all__ = ["pretrain_contrastive", "ContrastiveModel", "build_text_tower", "MAX_LOGIT_SCALE"]

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps 1 / temperature at 100


def build_text_tower(in_dim: int, embed_dim: int, hidden: int | None) -> nn.Module:
    """The text projection: ``Linear(F, E)``, or ``Linear(F, hidden) -> GELU -> Linear(hidden, E)``."""
    if hidden is None:
        return nn.Linear(in_dim, embed_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))


class ContrastiveModel(nn.Module):
    """Image tower, text tower and the learnable log logit scale, in one module (one DDP wrapper).

    Parameters
    ----------
    backbone : torch.nn.Module
        Maps ``(B, 1, H, W)`` to ``(B, D)`` and exposes ``num_features`` (D).
    text_dim : int
        Dimension F of the frozen text features.
    embed_dim : int
        Joint embedding dimension E.
    text_hidden : int or None
        Hidden width of the text MLP (``None``: linear).
    temperature : float
        Initial temperature; ``logit_scale`` starts at ``log(1 / temperature)``.
    """

    def __init__(self, backbone: nn.Module, text_dim: int, embed_dim: int, text_hidden, temperature: float):
        super().__init__()
        self.backbone = backbone
        self.image_projection = nn.Linear(backbone.num_features, embed_dim)
        self.text_projection = build_text_tower(text_dim, embed_dim, text_hidden)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def forward(self, images: torch.Tensor, text_features: torch.Tensor):
        """Image embeddings ``(B, E)``, text embeddings ``(K, E)`` and the scale ``exp(logit_scale)``."""
        return (
            self.image_projection(self.backbone(images)),
            self.text_projection(text_features),
            self.logit_scale.exp(),
        )


def _load_data(config: ContrastiveConfig, data):
    """Subsets of the split(s) as arrays plus the class names (the captions)."""
    if data is None:
        from nmtune.datasets import load_dataset

        train, test = load_dataset(config.dataset, "train"), load_dataset(config.dataset, "test")
        data = (train.inputs, train.labels, test.inputs, test.labels, list(train.class_names))
    x_tr, y_tr, x_te, y_te, class_names = data
    if isinstance(class_names, (int, np.integer)) or len(class_names) < 2:
        raise ValueError(
            "data must be (x_train, y_train, x_test, y_test, class_names) with at least 2 class names (the "
            f"captions); received {class_names!r} as the last item."
        )
    tr = stratified_subset(np.asarray(y_tr), config.n_train, config.subset_seed)
    te = stratified_subset(np.asarray(y_te), config.n_test, config.subset_seed)
    return (
        np.asarray(x_tr)[tr],
        np.asarray(y_tr)[tr].astype(np.int64),
        np.asarray(x_te)[te],
        np.asarray(y_te)[te].astype(np.int64),
        [str(c) for c in class_names],
    )


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and kernels only; biases, norm scales and the temperature are not decayed."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _optimizer(model: nn.Module, config: ContrastiveConfig) -> torch.optim.Optimizer:
    groups = _param_groups(model, config.weight_decay)
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


def _train_loop(model, x_train, captions, text_features, config, dev, rank, world, progress):
    """AdamW/SGD with a cosine schedule over global batches; returns the per-epoch history."""
    train_model: nn.Module = model
    if world > 1:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dev.index] if dev.type == "cuda" else None
        )
    n = len(x_train)
    steps_per_epoch = max(1, -(-n // config.batch_size))
    opt = _optimizer(model, config)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps_per_epoch * config.epochs)
    amp_dtype, scaler = amp_tools(dev, config.amp)
    gen = torch.Generator().manual_seed(config.seed)
    text_features = text_features.to(dev)
    history = []
    bar = step_bar(
        steps_per_epoch * config.epochs,
        f"contrastive gamma={config.noise:g} seed={config.seed}",
        progress,
        rank,
    )
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        loss_sum, seen = 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]  # global batch
            unique, ids = torch.unique(captions[idx], return_inverse=True)  # (K,), (B,)
            sizes = [len(idx[r::world]) for r in range(world)]
            ids = torch.cat([ids[r::world] for r in range(world)]).to(dev)  # rank order, as gathered
            xb = x_train[idx[rank::world]].to(dev)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=config.amp):
                img, txt, scale = train_model(xb, text_features[unique.to(dev)])  # (B/world, E), (K, E)
            img = _gather_with_grad(img.float(), rank, world, sizes)  # (B, E), the global batch
            loss = clip_loss(img, txt.float(), ids, scale.float())
            optimiser_step(loss, opt, scaler, sched)
            with torch.no_grad():
                model.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
            loss_sum += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.update(1)
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss_sum / seen,
                "lr": sched.get_last_lr()[0],
                "temperature": float(torch.exp(-model.logit_scale.detach())),
            }
        )
    bar.close()
    return history


def pretrain_contrastive(
    config: ContrastiveConfig,
    *,
    out: str | os.PathLike | None = None,
    data: tuple | None = None,
    device: str = "auto",
    progress: bool = True,
) -> dict:
    """Pre-train a backbone contrastively on image-caption pairs with swapped captions.

    Parameters
    ----------
    config : ContrastiveConfig
        What to train; ``config.noise`` is the caption-swap rate gamma.
    out : path, optional
        Where to save the checkpoint (atomically; only rank 0 writes under DDP).
    data : tuple, optional
        ``(x_train (N, H, W), y_train (N,), x_test (M, H, W), y_test (M,), class_names (C,))`` instead of
        loading ``config.dataset``; ``class_names[k]`` is the caption of class k. The subsets are still applied.
    device : {"auto", "cpu", "cuda"}, default="auto"
    progress : bool, default=True
        Progress bar (rank 0 only).

    Returns
    -------
    dict
        The checkpoint: as :func:`nmtune.pretrain.pretrain` (``format``, ``state_dict`` = backbone,
        ``config``, ``noise``, ``realised_noise_rate``, ``seed``, ``clean_test_accuracy``,
        ``noisy_train_accuracy``, ``history``, ``world_size``, ``wall_time_s``, ``feature_dim``,
        ``input_shape``, ``n_classes``) plus ``effective_noise_rate``, ``image_projection``,
        ``text_projection``, ``text_hidden``, ``logit_scale``, ``text_encoder`` (``name``, ``fingerprint``),
        ``class_names`` and ``zero_shot_test_accuracy`` (= ``clean_test_accuracy``: zero-shot over the class
        names on the clean test split). ``noisy_train_accuracy`` is the zero-shot accuracy on the training
        images against their assigned (possibly swapped) captions.
    """
    from nmtune.encoders import get_encoder
    from nmtune.noise import pair_swap_noise
    from nmtune.pretrain.zero_shot import zero_shot_predict

    t0 = time.perf_counter()
    rank, world = _dist_info()
    dev = _resolve_device(device, rank, world)
    x_tr, y_tr, x_te, y_te, class_names = _load_data(config, data)
    perm, report = pair_swap_noise(len(y_tr), config.noise, random_state=config.seed)
    assigned = y_tr[perm]  # (N,) the class whose name image i carries
    text_encoder = get_encoder(config.text_encoder)
    text_features = torch.from_numpy(
        np.asarray(text_encoder.encode(class_names, progress=False), dtype=np.float32)
    )  # (C, F)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(config.seed)
        backbone = build_backbone(
            config.arch,
            width=config.width,
            depth=config.depth,
            norm=config.norm,
            stem_stride=config.stem_stride,
        )
        model = ContrastiveModel(
            backbone, text_features.shape[1], config.embed_dim, config.text_hidden, config.temperature
        )
    model.to(dev)
    x_train = prepare_images(x_tr)  # (N, 1, H, W)
    history = _train_loop(
        model, x_train, torch.as_tensor(assigned), text_features, config, dev, rank, world, progress
    )
    model.cpu().eval()
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": _detached(model.backbone),
        "config": config.to_dict(),
        "noise": _jsonable(report.to_dict()),
        "realised_noise_rate": float(report.realised_rate),
        "effective_noise_rate": float(np.mean(assigned != y_tr)),
        "seed": int(config.seed),
        "n_classes": len(class_names),
        "feature_dim": int(backbone.num_features),
        "input_shape": list(x_tr.shape[1:]),
        "image_projection": _detached(model.image_projection),
        "text_projection": _detached(model.text_projection),
        "text_hidden": config.text_hidden,
        "logit_scale": float(model.logit_scale.detach()),
        "text_encoder": {"name": text_encoder.name, "fingerprint": text_encoder.fingerprint},
        "class_names": list(class_names),
        "history": history,
        "world_size": world,
        "torch_version": str(torch.__version__),
    }
    zs = dict(text_features=text_features.numpy())
    test_pred = zero_shot_predict(ckpt, x_te, class_names, **zs)
    train_pred = zero_shot_predict(ckpt, x_tr, class_names, **zs)
    ckpt["zero_shot_test_accuracy"] = float(np.mean(test_pred == y_te)) if len(y_te) else 0.0
    ckpt["clean_test_accuracy"] = ckpt["zero_shot_test_accuracy"]
    ckpt["noisy_train_accuracy"] = float(np.mean(train_pred == assigned))
    ckpt["wall_time_s"] = time.perf_counter() - t0
    save_checkpoint(ckpt, out, rank, world)
    return ckpt


def _detached(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
