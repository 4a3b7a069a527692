"""Contrastive (CLIP-style) pre-training of a backbone on image-caption pairs with swapped captions.

Shape convention: N training images, C classes, D backbone features, F frozen text features, E joint
embedding dimension, T distinct captions.

Captions: the name of each image's class (``"LATIN SMALL LETTER E WITH ACUTE"``), or, for image-caption data
(WebDataset shards with ``.txt`` members, ``hf-images:...&caption=COL``), each image's own caption. Caption
noise at rate gamma gives exactly ``round(gamma * N)`` images the caption of another image
(:func:`nmtune.noise.pair_swap_noise`, by sample position, so every process and a resumed run agree); a swap
between two images of the same caption leaves the pair correct, so the *effective* rate (images whose caption
changed) is slightly lower and is recorded too.

Two towers meet in an E-dimensional space (:mod:`nmtune.pretrain.towers`): the image tower is the backbone
(any architecture of :mod:`nmtune.pretrain.architectures`) plus a linear ``D -> E``; the text tower is a
small MLP over a frozen text encoder's features of each distinct caption (encoded once), or a trainable
``transformers`` text model (``text_model``). The loss is :func:`nmtune.losses.contrastive.clip_loss` with a
learnable temperature. Under ``torchrun`` (DDP) every process embeds its slice of the global batch and the
image embeddings are all-gathered with their gradients, so the loss spans the global batch (which is also
why gradient accumulation, splitting that batch, is refused here).

The checkpoint has the format of :func:`nmtune.pretrain.pretrain` (``state_dict`` is the backbone alone), so
``get_encoder("pretrained:<path>")`` loads it unchanged; the towers and the temperature are stored beside it
for zero-shot classification (:mod:`nmtune.pretrain.zero_shot`).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from nmtune.datasets.subsample import stratified_subset
from nmtune.pretrain.checkpoint import check_run, finished_checkpoint, save_checkpoint
from nmtune.pretrain.config import ContrastiveConfig
from nmtune.pretrain.contrastive_data import caption_table, text_side
from nmtune.pretrain.contrastive_loop import (
    MAX_LOGIT_SCALE,
    MemoryBatches,
    detached,
    init_model,
    tower_record,
    train_loop,
)
from nmtune.pretrain.engine import dist_info, run_device, sync_buffers
from nmtune.pretrain.options import TrainOptions
from nmtune.pretrain.resume import state_path
from nmtune.pretrain.towers import ContrastiveModel, build_text_tower

__all__ = [
    "pretrain_contrastive",
    "ContrastiveModel",
    "build_text_tower",
    "ContrastiveConfig",
    "MAX_LOGIT_SCALE",
]


def _load_data(config: ContrastiveConfig, data):
    """Subsets of the split(s) as arrays plus the class names (the captions)."""
    if data is None:
        from nmtune.datasets import load_dataset

        train, test = load_dataset(config.dataset, "train"), load_dataset(config.dataset, "test")
        data = (train.inputs, train.labels, test.inputs, test.labels, list(train.class_names))
    x_tr, y_tr, x_te, y_te, class_names = _check_data(data)
    tr = stratified_subset(np.asarray(y_tr), config.n_train, config.subset_seed)
    te = stratified_subset(np.asarray(y_te), config.n_test, config.subset_seed)
    return (
        np.asarray(x_tr)[tr],
        np.asarray(y_tr)[tr].astype(np.int64),
        np.asarray(x_te)[te],
        np.asarray(y_te)[te].astype(np.int64),
        [str(c) for c in class_names],
    )


def _check_data(data):
    x_tr, y_tr, x_te, y_te, class_names = data
    if isinstance(class_names, int | np.integer) or len(class_names) < 2:
        raise ValueError(
            "data must be (x_train, y_train, x_test, y_test, class_names) with at least 2 class names (the "
            f"captions); received {class_names!r} as the last item."
        )
    return x_tr, y_tr, x_te, y_te, class_names


def pretrain_contrastive(
    config: ContrastiveConfig,
    *,
    out: str | os.PathLike | None = None,
    data: tuple | None = None,
    device: str = "auto",
    progress: bool = True,
    options: TrainOptions | None = None,
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
    options : TrainOptions, optional
        Workers, channels-last, compile, periodic checkpoints, resume, TensorBoard (no gradient accumulation).

    Returns
    -------
    dict
        The checkpoint: as :func:`nmtune.pretrain.pretrain` (``format``, ``state_dict`` = backbone,
        ``config``, ``backbone``, ``preprocessing``, ``noise``, ``realised_noise_rate``, ``seed``,
        ``clean_test_accuracy``, ``noisy_train_accuracy``, ``history``, ``world_size``, ``wall_time_s``,
        ``feature_dim``, ``input_shape``, ``n_classes``) plus ``effective_noise_rate``, ``image_projection``,
        ``text_projection``, ``text_hidden``, ``text_tower`` (spec of a trainable tower, else ``None``),
        ``logit_scale``, ``text_encoder`` (``name``, ``fingerprint``; ``None`` with a trainable tower),
        ``class_names`` and ``zero_shot_test_accuracy`` (= ``clean_test_accuracy``: zero-shot over the class
        names on the clean test split). ``noisy_train_accuracy`` is the zero-shot accuracy on the training
        images against their assigned (possibly swapped) captions.
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
        from nmtune.pretrain.contrastive_stream import pretrain_contrastive_streamed

        ckpt = pretrain_contrastive_streamed(config, out, data, dev, rank, world, progress, options)
    else:
        ckpt = _pretrain_memory(config, out, data, dev, rank, world, progress, options)
    ckpt["wall_time_s"] = time.perf_counter() - t0
    save_checkpoint(ckpt, out, rank, world)
    if out is not None and rank == 0:
        state_path(out).unlink(missing_ok=True)
    return ckpt


def _pretrain_memory(config, out, data, dev, rank, world, progress, options) -> dict:
    from nmtune.noise import pair_swap_noise
    from nmtune.pretrain.checkpoint import CHECKPOINT_FORMAT, jsonable, legacy_preprocessing
    from nmtune.pretrain.train import prepare_images
    from nmtune.pretrain.zero_shot import zero_shot_predict

    x_tr, y_tr, x_te, y_te, class_names = _load_data(config, data)
    perm, report = pair_swap_noise(len(y_tr), config.noise, random_state=config.seed)
    assigned = y_tr[perm]  # (N,) the class whose name image i carries
    side = text_side(config, caption_table(class_names), dev)
    model = init_model(config, side.dim, 1, x_tr.shape[-1]).to(dev)
    batches = MemoryBatches(prepare_images(x_tr), config, rank, world, dev)  # (N, 1, H, W)
    history = train_loop(
        model,
        batches,
        torch.as_tensor(assigned),
        side.inputs,
        config,
        dev,
        rank,
        world,
        progress,
        options,
        out,
    )
    sync_buffers(model, world)
    model.cpu().eval()
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": detached(model.backbone),
        "config": config.to_dict(),
        "backbone": model.backbone.spec() if hasattr(model.backbone, "spec") else None,
        "preprocessing": legacy_preprocessing(x_tr.shape[1:]),
        "noise": jsonable(report.to_dict()),
        "realised_noise_rate": float(report.realised_rate),
        "effective_noise_rate": float(np.mean(assigned != y_tr)),
        "seed": int(config.seed),
        "n_classes": len(class_names),
        "feature_dim": int(model.backbone.num_features),
        "input_shape": list(x_tr.shape[1:]),
        **tower_record(model, config, side),
        "class_names": list(class_names),
        "history": history,
        "world_size": world,
        "torch_version": str(torch.__version__),
    }
    zs = dict(text_features=side.frozen_features)
    test_pred = zero_shot_predict(ckpt, x_te, class_names, **zs)
    train_pred = zero_shot_predict(ckpt, x_tr, class_names, **zs)
    ckpt["zero_shot_test_accuracy"] = float(np.mean(test_pred == y_te)) if len(y_te) else 0.0
    ckpt["clean_test_accuracy"] = ckpt["zero_shot_test_accuracy"]
    ckpt["noisy_train_accuracy"] = float(np.mean(train_pred == assigned))
    return ckpt
