"""One device resolution for heads, encoders and pre-training: ``"auto"`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:N"``."""

from __future__ import annotations

import difflib

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device="auto", *, local_rank: int | None = None):
    """Map a device name to a :class:`torch.device`, or fail with a clear message.

    Parameters
    ----------
    device : str or torch.device, default="auto"
        ``"auto"`` (CUDA when torch sees a GPU, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    local_rank : int, optional
        Under distributed training, ``"cuda"`` / ``"auto"`` on a GPU machine resolve to ``cuda:<local_rank>``
        (and that GPU becomes the current one).

    Returns
    -------
    torch.device
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        close = difflib.get_close_matches(str(device), DEVICES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown device {device!r}.{hint} Valid choices: 'auto', 'cpu', 'cuda', 'cuda:N' (N a GPU index)."
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but torch sees no CUDA device (torch {torch.__version__}). "
                "Use device='cpu' or 'auto', or install a CUDA build of torch."
            )
        if local_rank is not None and device == "cuda":
            torch.cuda.set_device(local_rank)
            return torch.device("cuda", local_rank)
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}. Use 'cuda:N' with N a GPU index.") from exc
