"""Training state written during a run (``checkpoint_every``) and read back by ``resume``.

The state file ``<out stem>.state.pt`` (beside the checkpoint ``out``) holds everything the next optimiser
step depends on: the whole model (projection heads included), the optimiser, scheduler and gradient-scaler
states, the position in the data (epoch and step), the random states (torch's global generator, CUDA's,
and the loop's own generators) and the history so far. It is written atomically by rank 0 after a barrier,
so a run killed at any moment (even with SIGKILL) leaves the previous state intact; restarted with the same
command plus ``resume``, the run ends with the weights of an uninterrupted run. The file is removed once
the final checkpoint is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from nmtune._internal.files import atomic_path

__all__ = ["state_path", "save_state", "load_state", "capture_rng", "restore_rng", "STATE_FORMAT"]

STATE_FORMAT = "nmtune-pretrain-state-v1"


def state_path(out) -> Path:
    """``c.pt`` -> ``c.state.pt``."""
    out = Path(out)
    return out.with_name(out.stem + ".state.pt")


def capture_rng() -> dict:
    """Torch's global CPU generator state and, with CUDA, every device's."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Set the generators captured by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(path: Path, payload: dict, rank: int, world: int) -> None:
    """Write ``payload`` atomically (rank 0), every process waiting until it is on disk."""
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    if rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(dict(payload, format=STATE_FORMAT), tmp)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def load_state(path: Path, config, kind: str) -> dict | None:
    """The saved state when it exists and belongs to this ``config`` and loop ``kind``; else ``None``.

    A state of another configuration is an error (it would be overwritten otherwise): the message names the
    file to delete or the ``out`` to change.
    """
    from nmtune.pretrain.config import config_matches

    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("kind") != kind:
        raise ValueError(
            f"{str(path)!r} is not a {kind} pre-training state; delete it or choose another --out."
        )
    if not config_matches(state["config"], config):
        raise ValueError(
            f"The training state {str(path)!r} was written for another configuration; resuming it would mix "
            "two runs. Delete it to start over, or run the original command again with --resume."
        )
    return state


def note(message: str, rank: int) -> None:
    """A one-line note on stderr (rank 0)."""
    if rank == 0:
        print(f"nmtune pretrain: {message}", file=sys.stderr, flush=True)
