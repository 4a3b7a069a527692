"""Features of a pre-trained checkpoint on images streamed from disk, in batches, with bounded memory.

Shape convention: N images, D features, C classes.

:func:`extract_features` opens an image source (``image-folder:``, ``image-domains:``, ``wds:``,
``hf-images:`` or any in-memory dataset name; :func:`nmtune.datasets.image_sources.open_image_source`),
decodes and prepares the images in DataLoader workers exactly as the ``pretrained:<path>`` encoder prepares
them (same decoding mode, resize and crop, normalisation), and writes the (N, D) features batch by batch
into an array (or a ``.npy`` memory map when ``out`` is given). Memory stays at the model plus a few batches,
whatever N is. :func:`domain_sources` lists the domains of a ``<domain>/<class>/<image>`` collection as
source names.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["extract_features", "ExtractedFeatures", "domain_sources"]


@dataclass
class ExtractedFeatures:
    """Features ``X`` (N, D) float32 (array or memmap), labels ``y`` (N,) int64, ``class_names`` (C,)."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    source: str
    split: str


def _encoder(checkpoint):
    from nmtune.pretrain.encoder import PretrainedEncoder, load_pretrained_encoder

    return checkpoint if isinstance(checkpoint, PretrainedEncoder) else load_pretrained_encoder(checkpoint)


def _dataset(encoder, source):
    """The torch dataset preparing ``source``'s images as ``encoder`` prepares them (float for old models)."""
    from nmtune.datasets.streaming import StreamedImages

    pre = encoder.preprocessing
    source = copy.copy(source)
    source.mode = "RGB" if pre["channels"] == 3 else "L"  # decode as the encoder decodes files
    if pre["kind"] == "whole-resize":
        size = int(pre["size"][0])
        return StreamedImages(source, size=size, channels=1, crop_ratio=None, as_float=True)
    return StreamedImages(
        source, size=int(pre["size"]), channels=int(pre["channels"]), crop_ratio=pre["crop_ratio"]
    )


def extract_features(
    checkpoint,
    source,
    split: str = "test",
    *,
    batch_size: int = 128,
    workers: int = 2,
    device: str = "cpu",
    out: str | os.PathLike | None = None,
    progress: bool = True,
) -> ExtractedFeatures:
    """Encode every image of one split of a source with a checkpoint's backbone, streamed from disk.

    Parameters
    ----------
    checkpoint : path or PretrainedEncoder
        A pre-training checkpoint (``pretrained:<path>``).
    source : str or ImageSource
        E.g. ``"image-folder:/data/domainnet/sketch"`` or ``"image-domains:/data/pacs?domain=art"``.
    split : {"train", "test", "all"}, default="test"
    batch_size : int, default=128
    workers : int, default=2
        DataLoader processes decoding the images (0: in this process).
    device : str, default="cpu"
    out : path, optional
        Write the features to this ``.npy`` file (a memory map is returned) instead of an in-memory array.
    progress : bool, default=True

    Returns
    -------
    ExtractedFeatures
        ``X`` equals ``encoder.encode(files)`` of the same images up to float rounding.
    """
    from tqdm.auto import tqdm

    from nmtune.datasets.image_sources import ImageSource, open_image_source
    from nmtune.datasets.streaming import eval_loader

    encoder = _encoder(checkpoint)
    src = source if isinstance(source, ImageSource) else open_image_source(source, split)
    n, dim = len(src), encoder.dim
    if out is not None:
        from numpy.lib.format import open_memmap

        X = open_memmap(os.fspath(out), mode="w+", dtype=np.float32, shape=(n, dim))
    else:
        X = np.empty((n, dim), dtype=np.float32)
    pre = encoder.preprocessing
    mean = torch.tensor(pre["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(pre["std"]).view(1, -1, 1, 1)
    with tqdm(total=n, desc=f"features {src.name}", unit="img", disable=not progress, leave=False) as bar:
        for x, pos in eval_loader(_dataset(encoder, src), batch_size, workers):
            x = x.float() / 255.0 if x.dtype == torch.uint8 else x  # (b, C, S, S) in [0, 1]
            X[pos.numpy()] = encoder.forward_prepared((x - mean) / std, device)
            bar.update(len(pos))
    if out is not None:
        X.flush()
    return ExtractedFeatures(
        X, np.asarray(src.labels, dtype=np.int64), tuple(src.class_names), src.name, split
    )


def domain_sources(root, *, mode: str = "RGB") -> dict[str, str]:
    """``{domain: "image-domains:<root>?domain=<domain>&mode=<mode>"}`` for every domain of a collection."""
    from urllib.parse import urlencode

    from nmtune.datasets.image_sources import list_domains

    return {d: f"image-domains:{root}?{urlencode({'domain': d, 'mode': mode})}" for d in list_domains(root)}
