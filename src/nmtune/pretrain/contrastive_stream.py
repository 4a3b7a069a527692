"""Contrastive pre-training on streamed images (``config.image_size`` set), e.g. WebDataset shards.

Shape convention: N training images, T distinct captions, E the joint embedding dimension.

The captions are the images' own (``.txt`` members of shards, a caption column) or their class names.
Swaps are drawn once over the N positions (:func:`nmtune.noise.pair_swap_noise`, seeded by ``config.seed``).
At the end: the zero-shot accuracy over the class names on the test split (when there is one), and the
accuracy of at most 1,000 training images (a fixed subset) at picking the caption they carry among the
subset's distinct captions; both with the evaluation crop and split between the processes.
"""

from __future__ import annotations

import numpy as np
import torch

from nmtune.pretrain.data import GlobalBatchSampler, open_stream_data
from nmtune.pretrain.engine import rank_disagreement, sync_buffers, to_device_images

__all__ = ["pretrain_contrastive_streamed"]

MAX_TRAIN_EVAL = 1_000


class _StreamBatches:
    """Global batches of streamed images; this process's images arrive normalised on the device."""

    kind = "stream"

    def __init__(self, stream, config, rank, world, dev, options):
        self.stream, self.config, self.rank, self.world, self.dev, self.options = (
            stream, config, rank, world, dev, options
        )  # fmt: skip
        self.n = len(stream.train_rows)
        probe = GlobalBatchSampler(self.n, config.batch_size, config.seed, config.epochs, rank, world)
        self.total_steps, self.steps_per_epoch = probe.total_steps, probe.steps_per_epoch
        self.sampler, self.it = probe, None

    def start(self, step: int) -> None:
        """Open the DataLoader at optimiser step ``step``."""
        from nmtune.pretrain.train_stream import train_loader

        c = self.config
        self.sampler = GlobalBatchSampler(
            self.n, c.batch_size, c.seed, c.epochs, self.rank, self.world, 1, step
        )
        data = self.stream.images("train", train=True, config=c)
        self.it = iter(train_loader(data, self.sampler, self.options.workers, self.dev))

    def batch(self, step_all: int):
        """Global positions ``(B,)`` and this process's images ``(B / W, C, S, S)`` on the device."""
        idx = torch.as_tensor(self.sampler.global_batch(step_all))
        x, _ = next(self.it)
        return idx, to_device_images(x, self.dev, *self.stream.mean_std, self.options.channels_last)

    def state(self) -> dict:
        """Nothing: the position alone places the sampler."""
        return {}

    def load(self, state: dict) -> None:
        """Nothing to restore (see :meth:`state`)."""


@torch.no_grad()
def _embed_images(model, dataset, positions, dev, mean_std, workers) -> torch.Tensor:
    from nmtune.datasets.streaming import eval_loader

    out = []
    for x, _ in eval_loader(dataset, 256, workers, positions):
        e = model.image_projection(model.backbone(to_device_images(x, dev, *mean_std)))
        out.append(torch.nn.functional.normalize(e.float(), dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0, model.image_projection.out_features)


@torch.no_grad()
def _accuracy(model, dataset, positions, targets, text_emb, dev, mean_std, rank, world, workers):
    """Share of ``positions`` whose closest caption row is ``targets`` (counted over all processes)."""
    mine = np.asarray(positions)[rank::world]
    img = _embed_images(model, dataset, mine, dev, mean_std, workers)
    hits = float((img @ text_emb.T).argmax(1).eq(torch.as_tensor(np.asarray(targets)[rank::world])).sum())
    counts = torch.tensor([hits, float(len(mine))], dtype=torch.float64)
    if world > 1:
        import torch.distributed as dist

        counts = counts.to(dev)
        dist.all_reduce(counts)
        counts = counts.cpu()
    return float(counts[0] / counts[1]) if counts[1] else None


def _text_embeddings(model, side, strings) -> torch.Tensor:
    with torch.no_grad():
        return torch.nn.functional.normalize(model.text_projection(side.encode(strings)).float(), dim=1).cpu()


def pretrain_contrastive_streamed(config, out, data, dev, rank, world, progress, options) -> dict:
    """The streamed path of :func:`nmtune.pretrain.pretrain_contrastive` (returns the checkpoint)."""
    from nmtune.noise import pair_swap_noise
    from nmtune.pretrain.checkpoint import CHECKPOINT_FORMAT, jsonable
    from nmtune.pretrain.contrastive_data import text_side
    from nmtune.pretrain.contrastive_loop import init_model, tower_record, train_loop

    stream = open_stream_data(config, data)
    n = len(stream.train_rows)
    if stream.train.captions is not None:
        table, caption_ids = np.unique(stream.train.captions[stream.train_rows], return_inverse=True)
        table = [str(t) for t in table]
    else:
        table, caption_ids = list(stream.class_names), stream.train.labels[stream.train_rows]
    perm, report = pair_swap_noise(n, config.noise, random_state=config.seed)
    assigned = np.asarray(caption_ids)[perm]  # (N,) the caption each image carries
    side = text_side(config, table, dev)
    model = init_model(config, side.dim, stream.channels, stream.size).to(dev)
    batches = _StreamBatches(stream, config, rank, world, dev, options)
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
    model.eval()
    ms, workers = stream.mean_std, options.workers
    test_acc = None
    if stream.test is not None and len(stream.test_rows) and len(stream.class_names) >= 2:
        names = _text_embeddings(model, side, list(stream.class_names))
        test_acc = _accuracy(model, stream.images("test", train=False, config=config), np.arange(len(stream.test_rows)),
                             stream.test.labels[stream.test_rows], names, dev, ms, rank, world, workers)  # fmt: skip
    subset = np.sort(np.random.default_rng(0).permutation(n)[:MAX_TRAIN_EVAL])
    candidates, targets = np.unique(assigned[subset], return_inverse=True)
    carried = _text_embeddings(model, side, [table[int(c)] for c in candidates])
    train_acc = _accuracy(model, stream.images("train", train=False, config=config), subset, targets, carried,
                          dev, ms, rank, world, workers)  # fmt: skip
    disagreement = rank_disagreement(model, world)
    model.cpu()
    return {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().clone() for k, v in model.backbone.state_dict().items()},
        "config": config.to_dict(),
        "backbone": model.backbone.spec() if hasattr(model.backbone, "spec") else None,
        "preprocessing": stream.preprocessing(),
        "noise": jsonable(report.to_dict()),
        "realised_noise_rate": float(report.realised_rate),
        "effective_noise_rate": float(np.mean(assigned != np.asarray(caption_ids))),
        "seed": int(config.seed),
        "n_classes": len(stream.class_names),
        "feature_dim": int(model.backbone.num_features),
        "input_shape": [stream.size, stream.size],
        **tower_record(model, config, side),
        "class_names": list(stream.class_names),
        "n_captions": len(table),
        "zero_shot_test_accuracy": test_acc,
        "clean_test_accuracy": test_acc,
        "noisy_train_accuracy": train_acc,
        "noisy_train_accuracy_n": int(len(subset)),
        "history": history,
        "world_size": world,
        "rank_disagreement": disagreement,
        "torch_version": str(torch.__version__),
    }
