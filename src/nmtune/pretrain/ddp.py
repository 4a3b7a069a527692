"""Multi-process pre-training on one machine without ``torchrun``: spawn ``world_size`` DDP processes.

``torchrun --nproc_per_node N -m nmtune pretrain ...`` is the usual launcher; :func:`spawn_pretrain` does the
same from Python (gloo on CPU) and returns every rank's checkpoint, which the tests use to check that all
ranks
end with identical weights.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

__all__ = ["spawn_pretrain"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world_size, port, config, data, folder, backend, options=None):
    import torch
    import torch.distributed as dist

    from nmtune.pretrain.config import ContrastiveConfig
    from nmtune.pretrain.contrastive import pretrain_contrastive
    from nmtune.pretrain.train import pretrain

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size)
    )
    torch.set_num_threads(1)
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        train = pretrain_contrastive if isinstance(config, ContrastiveConfig) else pretrain
        ckpt = train(config, data=data, device="cpu", progress=False, options=options)
        torch.save(ckpt, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def spawn_pretrain(
    config, world_size: int = 2, *, data=None, backend: str = "gloo", options=None
) -> list[dict]:
    """Pre-train with ``world_size`` local DDP processes and return each rank's checkpoint.

    Parameters
    ----------
    config : PretrainConfig or ContrastiveConfig
        A ``ContrastiveConfig`` runs :func:`nmtune.pretrain.pretrain_contrastive` instead.
    world_size : int, default=2
    data : tuple, optional
        As in :func:`nmtune.pretrain.pretrain` (or ``pretrain_contrastive``).
    backend : str, default="gloo"
    options : TrainOptions, optional
        Execution options of every process (e.g. ``grad_accum``).

    Returns
    -------
    list of dict
        Checkpoints of ranks 0 .. world_size - 1.
    """
    import torch
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(
            _worker,
            args=(world_size, _free_port(), config, data, folder, backend, options),
            nprocs=world_size,
            join=True,
        )
        return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=True) for r in range(world_size)]
