"""Source sub-domains ("groups") of dataset rows, for datasets that have them.

A group is the finer domain a row comes from inside its dataset, e.g. the newsgroup of each document of
``20ng-sub:comp-rec:source`` (whose labels are only ``comp`` / ``rec``) or the font family of each image of
``glyphs-id``. Selection on training data uses them to
hold out whole sub-domains (:class:`nmtune.heads.NMTuneCV`). Datasets without sub-domains have none (``None``).

Capped names (``cap:<n>:<dataset>``) have the groups of their rows of ``<dataset>``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["dataset_groups", "register_groups"]

# prefix -> groups_fn(rest, split) -> ndarray of str, shape (N,), aligned with load_dataset's rows
_GROUPS: dict[str, Callable[[str, str], np.ndarray]] = {}


def register_groups(prefix: str, groups_fn: Callable[[str, str], np.ndarray]) -> None:
    """Declare the groups of the datasets named ``"<prefix>:<rest>"``, and of the plain name ``"<prefix>"``.

    Parameters
    ----------
    prefix : str
        A dataset prefix (without the colon), e.g. ``"20ng-sub"``, or a plain dataset name, e.g. ``"glyphs-id"``
        (its ``rest`` is ``""``).
    groups_fn : callable
        ``groups_fn(rest, split) -> ndarray of str, shape (N,)``, row for row as ``load_dataset`` returns them.
    """
    _GROUPS[prefix] = groups_fn


def dataset_groups(name: str, split: str = "train") -> np.ndarray | None:
    """The group of every row of ``load_dataset(name, split)``, or ``None`` when the dataset has none.

    Parameters
    ----------
    name : str
        A dataset name (:func:`nmtune.datasets.list_datasets`), capped or not.
    split : {"train", "test"}
        Which split.

    Returns
    -------
    ndarray of str, shape (N,), or None
    """
    from nmtune.datasets._base import dataset_fingerprint, load_dataset
    from nmtune.datasets.capped import _split_rest
    from nmtune.datasets.subsample import cap_indices

    dataset_fingerprint(name)  # checks the name (with the valid choices) and registers every loader
    prefix, _, rest = name.partition(":")
    if prefix == "cap":
        n, base = _split_rest(rest)
        groups = dataset_groups(base, split)
        if groups is None:
            return None
        return groups[cap_indices(load_dataset(base, split).labels, n, 0)]
    fn = _GROUPS.get(prefix)
    return None if fn is None else np.asarray(fn(rest, split))
