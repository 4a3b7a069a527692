"""Downstream tasks of the noisy pre-training study: fixed, stratified, seeded subsets of real datasets.

A task is a dict: ``name``; ``train`` = (images (N, H, W), labels (N,)); ``domains`` = {name: (kind, images,
labels)} with kind ``"id"`` or ``"ood"``; ``captions`` = the text of each class (for zero-shot evaluation of
image-text models) or ``None``; ``groups`` = the source sub-domain of every training image, shape (N,), or
``None`` (heads that select on held-out sub-domains, ``nmtune-cv``, receive it). Images are in [0, 1] at
their own resolution: the pre-trained encoder resizes them to its input size.

Two set-ups:

- ``"glyphs"`` (default): the backbone is pre-trained on ``glyphs-pretrain`` classes; downstream, ``glyphs-id``
  (62 *new* classes, ASCII ``0-9A-Za-z``, in the pre-training fonts) with the same classes in the held-out font
  families ``glyphs-ood:stix`` and ``glyphs-ood:cm`` as OOD domains; and handwritten digits, MNIST-5k ->
  optdigits and optdigits -> MNIST-5k (printed glyphs to handwriting: both digit sets are OOD for the
  backbone, the other digit set is the task's OOD domain).
- ``"fashion"`` (the first, Fashion-MNIST study): the digit tasks plus Fashion-MNIST's test split halved into
  a train and a test half, with ``fashion-mnist-c:<corruption>:<severity>`` as OOD domains.
"""

from __future__ import annotations

import unicodedata

import numpy as np

__all__ = ["SETUPS", "study_tasks"]

SETUPS = ("glyphs", "fashion")


def _subset(y, n, seed) -> np.ndarray:
    from nmtune.datasets import stratified_subset

    return stratified_subset(np.asarray(y), n, seed)


def _take(ds, n, seed):
    idx = _subset(ds.labels, n, seed)
    return np.asarray(ds.inputs)[idx], np.asarray(ds.labels)[idx]


def _digit_captions(class_names) -> list[str]:
    """``"0"`` -> ``"DIGIT ZERO"``: the Unicode names the glyph classes carry."""
    return [unicodedata.name(str(c)) for c in class_names]


def _digit_tasks(max_train: int, max_test: int, seed: int, size: int | None) -> list[dict]:
    from nmtune.datasets import load_dataset
    from nmtune.datasets.images import resize_images

    mn_tr, mn_te = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    od_tr, od_te = load_dataset("optdigits", "train"), load_dataset("optdigits", "test")

    def resized(pair):
        return (pair[0] if size is None else resize_images(pair[0], size)), pair[1]

    captions = _digit_captions(mn_tr.class_names)
    mn_train, od_train = _take(mn_tr, max_train, seed), resized(_take(od_tr, max_train, seed))
    mn_test, od_test = _take(mn_te, max_test, seed), resized(_take(od_te, max_test, seed))
    return [
        {
            "name": "mnist-5k",
            "train": mn_train,
            "domains": {"mnist-5k": ("id", *mn_test), "optdigits": ("ood", *od_test)},
            "captions": captions,
        },
        {
            "name": "optdigits",
            "train": od_train,
            "domains": {"optdigits": ("id", *od_test), "mnist-5k": ("ood", *mn_test)},
            "captions": captions,
        },
    ]


def _glyph_task(max_train: int, max_test: int, seed: int) -> dict:
    from nmtune.datasets import dataset_groups, load_dataset
    from nmtune.datasets.glyphs import HELD_OUT_FAMILIES

    train = load_dataset("glyphs-id", "train")
    idx = _subset(train.labels, max_train, seed)
    domains = {"glyphs-id": ("id", *_take(load_dataset("glyphs-id", "test"), max_test, seed))}
    for family in HELD_OUT_FAMILIES:
        name = f"glyphs-ood:{family}"
        domains[name] = ("ood", *_take(load_dataset(name, "test"), max_test, seed))
    return {
        "name": "glyphs-id",
        "train": (np.asarray(train.inputs)[idx], np.asarray(train.labels)[idx]),
        "domains": domains,
        "captions": list(train.class_names),
        "groups": np.asarray(dataset_groups("glyphs-id", "train"))[idx],  # the font family of each image
    }


def _fashion_task(max_train: int, max_test: int, seed: int, corruptions) -> dict:
    from sklearn.model_selection import train_test_split

    from nmtune.datasets import load_dataset

    fm = load_dataset("fashion-mnist", "test")
    half_tr, half_te = train_test_split(
        np.arange(len(fm.labels)), test_size=0.5, stratify=fm.labels, random_state=seed
    )
    ftr = half_tr[_subset(fm.labels[half_tr], max_train, seed)]
    fte = half_te[_subset(fm.labels[half_te], max_test, seed)]
    domains = {"fashion-mnist (clean)": ("id", fm.inputs[fte], fm.labels[fte])}
    for c in corruptions:
        corrupted = load_dataset(f"fashion-mnist-c:{c}", "test")
        domains[f"fashion-mnist-c:{c}"] = ("ood", np.asarray(corrupted.inputs)[fte], corrupted.labels[fte])
    return {
        "name": "fashion-mnist",
        "train": (fm.inputs[ftr], fm.labels[ftr]),
        "domains": domains,
        "captions": list(fm.class_names),
    }


def study_tasks(setup: str, *, max_train: int, max_test: int, seed: int, corruptions=()) -> list[dict]:
    """The downstream tasks of a set-up (see the module docstring).

    Parameters
    ----------
    setup : {"glyphs", "fashion"}
        Which study.
    max_train, max_test : int
        Cap on the train / test images of each task and domain (stratified subsets drawn with ``seed``).
    seed : int
        Seed of the subsets.
    corruptions : sequence of str
        ``"<name>:<severity>"`` Fashion-MNIST corruptions (``"fashion"`` set-up only).

    Returns
    -------
    list of dict
        The tasks, each with ``name``, ``train``, ``domains``, ``captions`` and (glyph task only) ``groups``.
    """
    if setup == "glyphs":
        return [_glyph_task(max_train, max_test, seed), *_digit_tasks(max_train, max_test, seed, None)]
    if setup == "fashion":
        return [
            *_digit_tasks(max_train, max_test, seed, 28),
            _fashion_task(max_train, max_test, seed, corruptions),
        ]
    from nmtune.exceptions import unknown_name_error

    raise unknown_name_error("study set-up", setup, SETUPS)
