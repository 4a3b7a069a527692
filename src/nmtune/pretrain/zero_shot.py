"""Zero-shot classification with a contrastive checkpoint: predict the caption closest to each image.

Shape convention: N images (H x W), C candidate captions (one per class), E joint embedding dimension.

The images go through the checkpoint's backbone and image projection (preprocessed as by the
``pretrained:<path>`` encoder, :func:`nmtune.pretrain.encoder.prepare_batch`); the captions through its text
tower: the frozen text encoder and the projection over its features, or the trained ``transformers`` tower
over the captions' bytes. The prediction is the caption of highest cosine similarity. The captions need not
be the pre-training ones: ``"DIGIT ZERO" .. "DIGIT NINE"`` for digits.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from nmtune.pretrain.checkpoint import checkpoint_preprocessing, load_checkpoint

__all__ = ["zero_shot_predict", "zero_shot_accuracy", "caption_features"]


def _as_checkpoint(checkpoint) -> dict:
    ckpt = load_checkpoint(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
    missing = [k for k in ("image_projection", "text_projection") if k not in ckpt]
    if not ckpt.get("text_encoder") and not ckpt.get("text_tower"):
        missing.append("text_encoder")
    if missing:
        raise ValueError(
            f"Zero-shot classification needs a contrastive checkpoint (from pretrain_contrastive or "
            f"`nmtune pretrain --objective contrastive`); this one lacks {missing} "
            f"(objective {ckpt.get('config', {}).get('objective', 'supervised')!r})."
        )
    return ckpt


def caption_features(checkpoint, captions) -> np.ndarray:
    """What the checkpoint's text tower reads for ``captions``.

    Frozen features ``(K, F)`` (float32) of its text encoder, or, for a trained ``transformers`` tower, byte
    ids ``(K, L)`` (int64).

    Pass them as ``text_features`` to :func:`zero_shot_predict` to classify several image sets against the
    same captions without encoding them again.
    """
    from nmtune.encoders import get_encoder

    ckpt = _as_checkpoint(checkpoint)
    if ckpt.get("text_tower"):
        from nmtune.pretrain.towers import tokenize_bytes

        return tokenize_bytes([str(c) for c in captions], ckpt["text_tower"]["max_length"]).numpy()
    spec = ckpt["text_encoder"]
    encoder = get_encoder(spec["name"])
    if encoder.fingerprint != spec["fingerprint"]:
        raise ValueError(
            f"The text encoder {spec['name']!r} installed here (fingerprint {encoder.fingerprint[:12]}) differs "
            f"from the one the checkpoint was trained with ({spec['fingerprint'][:12]}); install the same "
            "version of its weights to classify zero-shot with this checkpoint."
        )
    return np.asarray(encoder.encode(list(captions), progress=False), dtype=np.float32)


@torch.no_grad()
def zero_shot_predict(
    checkpoint,
    images,
    captions,
    *,
    device: str = "cpu",
    batch_size: int = 512,
    text_features: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the closest caption for each image.

    Parameters
    ----------
    checkpoint : path or dict
        A contrastive checkpoint (file or loaded dict).
    images : ndarray of shape (N, H, W) or (N, H, W, 3), or a list of image files
        Float in [0, 1] or ``uint8``; prepared as the ``pretrained:`` encoder prepares them.
    captions : sequence of str, length C
        ``captions[k]`` is the text of class k.
    device : str, default="cpu"
    batch_size : int, default=512
    text_features : ndarray, optional
        :func:`caption_features` of ``captions``, when already computed.

    Returns
    -------
    ndarray of int64, shape (N,)
        Predicted class indices in ``0..C-1``.
    """
    from nmtune._internal.device import resolve_device
    from nmtune.pretrain.encoder import backbone_from_checkpoint, prepare_batch
    from nmtune.pretrain.towers import build_text_tower, text_tower_from_spec

    ckpt = _as_checkpoint(checkpoint)
    captions = [str(c) for c in captions]
    if len(captions) < 2:
        raise ValueError(f"Zero-shot classification needs at least 2 captions; received {captions!r}.")
    dev = resolve_device(device)
    feats = caption_features(ckpt, captions) if text_features is None else np.asarray(text_features)
    with torch.random.fork_rng(devices=[]):  # the throw-away initialisation leaves the global RNG alone
        image_proj = torch.nn.Linear(*ckpt["image_projection"]["weight"].T.shape)
        if ckpt.get("text_tower"):
            text_proj = text_tower_from_spec(ckpt["text_tower"])
        else:
            text_proj = build_text_tower(feats.shape[1], image_proj.out_features, ckpt["text_hidden"])
        backbone = backbone_from_checkpoint(ckpt).to(dev)
    image_proj.load_state_dict(ckpt["image_projection"], strict=True)
    text_proj.load_state_dict(ckpt["text_projection"], strict=True)
    image_proj.to(dev), text_proj.to(dev), text_proj.eval()
    text_in = torch.from_numpy(feats if feats.dtype == np.int64 else feats.astype(np.float32)).to(dev)
    t = torch.nn.functional.normalize(text_proj(text_in), dim=1)  # (C, E)
    preprocessing = checkpoint_preprocessing(ckpt)
    items = images if isinstance(images, np.ndarray) else list(images)
    preds = []
    for i in range(0, len(items), batch_size):
        xb = prepare_batch(items[i : i + batch_size], preprocessing, name="zero-shot").to(dev)  # (b, C, S, S)
        e = torch.nn.functional.normalize(image_proj(backbone(xb)), dim=1)  # (b, E)
        preds.append((e @ t.T).argmax(1).cpu())
    return torch.cat(preds).numpy().astype(np.int64) if preds else np.zeros(0, np.int64)


def zero_shot_accuracy(checkpoint, images, labels, captions, *, device: str = "cpu", **options) -> float:
    """Fraction of images whose closest caption is their class's.

    Parameters
    ----------
    checkpoint : path or dict
        A contrastive checkpoint.
    images : ndarray of shape (N, H, W)
        As in :func:`zero_shot_predict`.
    labels : array-like of int, shape (N,)
        True classes, indices into ``captions``.
    captions : sequence of str, length C
    device : str, default="cpu"
    **options
        ``batch_size``, ``text_features`` (see :func:`zero_shot_predict`).

    Returns
    -------
    float
        Accuracy in [0, 1]; chance is 1 / C.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},); received {labels.shape}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(captions)):
        raise ValueError(
            f"labels must index captions (0..{len(captions) - 1}); received values in "
            f"[{labels.min()}, {labels.max()}]."
        )
    pred = zero_shot_predict(checkpoint, images, captions, device=device, **options)
    return float(np.mean(pred == labels)) if len(labels) else 0.0
