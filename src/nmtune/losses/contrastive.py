"""Symmetric InfoNCE (CLIP) loss for image-caption batches in which several images share one caption.

Shapes: B images in the batch, K distinct captions among them, E embedding dimension.

CLIP (Radford et al., 2021) pairs image ``i`` with caption ``i`` and takes the cross-entropy of the B x B
similarity matrix along both axes. When the captions are class names, several images of a batch carry the same
caption, and the B x B version would count an image's own caption, repeated in other columns, as a negative.
Here each image is compared with the K *distinct* captions of the batch instead:

- image to text: cross-entropy of the image's K logits against its caption;
- text to image: for each caption, cross-entropy of its B logits against the uniform distribution over the
  images carrying it, i.e. ``-(1/n_k) sum_{i: c_i = k} log softmax_i(s * t_k . x_i)``.

The loss is the mean of the two directions (each a mean over its rows). With all captions distinct (K = B) it
is exactly CLIP's loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["clip_loss"]


def clip_loss(
    image_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    caption_ids: torch.Tensor,
    logit_scale: torch.Tensor | float,
) -> torch.Tensor:
    """Symmetric InfoNCE over the distinct captions of a batch (see the module docstring).

    Parameters
    ----------
    image_embeddings : torch.Tensor of shape (B, E)
        Image embeddings; each row is scaled to unit L2 norm here.
    text_embeddings : torch.Tensor of shape (K, E)
        Embeddings of the K distinct captions of the batch; each row is scaled to unit L2 norm here.
    caption_ids : torch.Tensor of shape (B,), integer
        ``caption_ids[i]`` is the row of ``text_embeddings`` that image ``i`` carries; every row in ``0..K-1``
        must be carried by at least one image (``torch.unique(..., return_inverse=True)`` gives such ids).
    logit_scale : torch.Tensor (scalar) or float
        Multiplier ``s = 1 / temperature`` of the cosine similarities (already exponentiated).

    Returns
    -------
    torch.Tensor
        Scalar loss ``(L_image->text + L_text->image) / 2``.
    """
    if image_embeddings.ndim != 2 or text_embeddings.ndim != 2:
        raise ValueError(
            "clip_loss needs image_embeddings (B, E) and text_embeddings (K, E); received shapes "
            f"{tuple(image_embeddings.shape)} and {tuple(text_embeddings.shape)}."
        )
    if image_embeddings.shape[1] != text_embeddings.shape[1]:
        raise ValueError(
            f"clip_loss needs the same embedding dimension E for images and texts; received "
            f"{image_embeddings.shape[1]} and {text_embeddings.shape[1]}."
        )
    b, k = image_embeddings.shape[0], text_embeddings.shape[0]
    ids = torch.as_tensor(caption_ids, device=image_embeddings.device).long()
    if ids.shape != (b,):
        raise ValueError(f"caption_ids must have shape ({b},) (one per image); received {tuple(ids.shape)}.")
    counts = torch.bincount(ids, minlength=k) if b else ids.new_zeros(k)
    if len(counts) != k or bool((counts == 0).any()) or bool((ids < 0).any()):
        raise ValueError(
            f"caption_ids must use every caption row 0..{k - 1} at least once and nothing else; received "
            f"ids in [{int(ids.min()) if b else '-'}, {int(ids.max()) if b else '-'}] with per-caption counts "
            f"{counts.tolist()[:10]}. Build them with torch.unique(captions, return_inverse=True)."
        )
    x = F.normalize(image_embeddings.float(), dim=1)  # (B, E)
    t = F.normalize(text_embeddings.float(), dim=1)  # (K, E)
    logits = logit_scale * (x @ t.T)  # (B, K)
    image_to_text = F.cross_entropy(logits, ids)
    log_p = torch.log_softmax(logits.T, dim=1)  # (K, B): each caption's distribution over the images
    carried = F.one_hot(ids, k).T.to(log_p.dtype)  # (K, B)
    text_to_image = -((carried * log_p).sum(1) / counts.to(log_p.dtype)).mean()
    return 0.5 * (image_to_text + text_to_image)
