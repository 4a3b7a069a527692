"""Glyph datasets rendered from the fonts shipped with matplotlib: a class is a code point, a domain a font family.

Shape convention: N samples, C classes; images float32 in [0, 1] of shape (N, 32, 32), white ink on black.

Families (:data:`FAMILIES`): ``dejavu-sans``, ``dejavu-serif`` and ``dejavu-mono`` (4 styles each) are the
*pre-training* families (:data:`PRETRAIN_FAMILIES`); ``stix`` (STIX General, 4 styles) and ``cm`` (Computer
Modern: cmr10, cmb10, cmti10, cmss10, cmtt10) are *held out* (:data:`HELD_OUT_FAMILIES`).

Classes (:func:`glyph_classes`): every code point of Unicode category Lu, Ll, Lo or Nd (letters and digits)
that all 12 DejaVu styles draw (1,348). Two code points whose clean 32 x 32 drawings differ by less than
:data:`MERGE_DISTANCE` in relative L2 norm, ``|a - b| / max(|a|, |b|)``, in any style where both are used, are
one glyph (Latin ``A``, Greek ``Α`` and Cyrillic ``А`` are identical; a capital with a breve or a caron differ
by 5 %); each connected group keeps its lowest code point and the others are dropped, so every label is
exact. Groups holding an ASCII letter or digit are the downstream (ID) classes, all others the pre-training
classes: the two sets are disjoint and no pre-training class looks like a downstream one. The ASCII letters
and digits are the only ones Computer Modern's cmaps map faithfully.

Names (samples per class; styles are cycled, so each style gives the same number +- 1):

- ``glyphs-pretrain``: pre-training classes in the DejaVu families, train 48, test 12.
- ``glyphs-pretrain:<n>``: ``n`` of those classes, evenly spaced in code-point order (quick runs).
- ``glyphs-id``: downstream classes in the DejaVu families, train 48, test 24.
- ``glyphs-ood:<family>``: the downstream classes in a held-out family, test split only, 24.

Groups (:func:`nmtune.datasets.dataset_groups`): the font family of every row (``"dejavu-sans"``, ...), the
source sub-domain that held-out-family selection holds out; :func:`glyph_styles` gives the finer font style of
every row (``"dejavu-sans:DejaVuSans-Bold"``). Both follow from the rendering: rows are class-major and
``render_glyphs`` cycles through the styles.

Class names are the Unicode names (``"LATIN SMALL LETTER E WITH ACUTE"``). Each class draws its augmentation
from a seed of (families, split, code point), so a name always gives bit-identical arrays (for one Pillow,
FreeType and matplotlib; their versions enter the feature-cache key).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from nmtune.datasets._base import make_dataset, register_dataset, register_prefix
from nmtune.datasets._glyph_render import (
    FAMILIES,
    augment,
    base_glyphs,
    covered,
    reduce2,
    sample_seed,
    styles_of,
)
from nmtune.datasets.groups import register_groups

__all__ = [
    "FAMILIES",
    "PRETRAIN_FAMILIES",
    "HELD_OUT_FAMILIES",
    "MERGE_DISTANCE",
    "GlyphClasses",
    "glyph_classes",
    "render_glyphs",
    "row_styles",
    "glyph_styles",
    "class_name",
]

PRETRAIN_FAMILIES = ("dejavu-sans", "dejavu-serif", "dejavu-mono")
HELD_OUT_FAMILIES = ("stix", "cm")
CATEGORIES = ("Lu", "Ll", "Lo", "Nd")
MERGE_DISTANCE = 0.15
_SIZES = {"pretrain": {"train": 48, "test": 12}, "id": {"train": 48, "test": 24}, "ood": {"test": 24}}


@dataclass(frozen=True)
class GlyphClasses:
    """The class lists of the glyph datasets (code points, sorted).

    Attributes
    ----------
    pretrain : tuple of int
        Pre-training classes (``glyphs-pretrain``).
    downstream : tuple of int
        Downstream classes (``glyphs-id`` and every ``glyphs-ood:<family>``).
    dropped : dict of int to int
        Each dropped code point mapped to the kept code point it renders like.
    """

    pretrain: tuple[int, ...]
    downstream: tuple[int, ...]
    dropped: dict


def _close_pairs(clean: np.ndarray, threshold: float) -> np.ndarray:
    """Index pairs (i < j) of rows whose relative L2 distance is below ``threshold``; ``clean`` is (C, D)."""
    x = clean.astype(np.float64)
    sq = np.einsum("cd,cd->c", x, x)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    rel2 = d2 / np.maximum(np.maximum(sq[:, None], sq[None, :]), 1e-12)
    i, j = np.nonzero(np.triu(rel2 < threshold**2, k=1))
    return np.stack([i, j], axis=1)


def _groups(n: int, pairs) -> list[list[int]]:
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for k in range(n):
        groups.setdefault(find(k), []).append(k)
    return list(groups.values())


@functools.cache
def glyph_classes() -> GlyphClasses:
    """Select the pre-training and downstream classes from the fonts (memoised; see the module docstring).

    Returns
    -------
    GlyphClasses
    """
    cands = sorted(cp for cp in covered(PRETRAIN_FAMILIES) if unicodedata.category(chr(cp)) in CATEGORIES)
    held_out = covered(HELD_OUT_FAMILIES)
    downstream = [k for k, cp in enumerate(cands) if cp < 128 and cp in held_out]
    pairs = []
    for families, rows in ((PRETRAIN_FAMILIES, list(range(len(cands)))), (HELD_OUT_FAMILIES, downstream)):
        base = base_glyphs(families, [cands[k] for k in rows])  # (S, C, 64, 64)
        for style in base:
            clean = reduce2(style.astype(np.float32) / 255.0).reshape(len(rows), -1)
            pairs.extend((rows[i], rows[j]) for i, j in _close_pairs(clean, MERGE_DISTANCE))
    is_down = set(downstream)
    pretrain, down, dropped = [], [], {}
    for group in _groups(len(cands), pairs):  # members sorted, so group[0] is the lowest code point
        keep = next((k for k in group if k in is_down), group[0])
        (down if keep in is_down else pretrain).append(cands[keep])
        dropped.update({cands[k]: cands[keep] for k in group if k != keep})
    return GlyphClasses(tuple(sorted(pretrain)), tuple(sorted(down)), dropped)


def class_name(code_point: int) -> str:
    """The Unicode name of a code point, e.g. ``"LATIN SMALL LETTER E WITH ACUTE"``."""
    return unicodedata.name(chr(code_point))


def render_glyphs(
    code_points, families, n_per_class: int, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n_per_class`` augmented samples of each code point, cycling through the families' styles.

    Parameters
    ----------
    code_points : sequence of int, length C
        The classes; label ``k`` is ``code_points[k]``.
    families : str or sequence of str
        Keys of :data:`FAMILIES` whose styles are used.
    n_per_class : int
        Samples per class, at least 1.
    split : str
        Enters the seed: each split draws its own augmentations.

    Returns
    -------
    images : numpy.ndarray
        float32, shape (C * n_per_class, 32, 32), in [0, 1], class-major.
    labels : numpy.ndarray
        int64, shape (C * n_per_class,).
    """
    code_points = [int(c) for c in code_points]
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int | np.integer) or n_per_class < 1:
        raise ValueError(f"n_per_class must be an int >= 1; received {n_per_class!r}.")
    if len(code_points) < 2 or len(set(code_points)) != len(code_points):
        raise ValueError(
            f"A glyph dataset needs at least 2 distinct code points; received {len(code_points)} "
            f"({len(set(code_points))} distinct)."
        )
    base = base_glyphs(families, code_points)  # (S, C, 64, 64)
    styles = np.arange(n_per_class) % base.shape[0]
    key = families if isinstance(families, str) else "+".join(families)
    images = np.empty((len(code_points) * n_per_class, 32, 32), dtype=np.float32)
    for k, cp in enumerate(code_points):
        rng = np.random.default_rng(sample_seed(key, split, cp))
        images[k * n_per_class : (k + 1) * n_per_class] = augment(base[styles, k], rng)
    return images, np.repeat(np.arange(len(code_points), dtype=np.int64), n_per_class)


def row_styles(families, n_classes: int, n_per_class: int) -> np.ndarray:
    """The font style of every row of ``render_glyphs(code_points, families, n_per_class)``.

    Parameters
    ----------
    families : str or sequence of str
        Keys of :data:`FAMILIES`, as passed to :func:`render_glyphs`.
    n_classes : int
        Number of code points C.
    n_per_class : int
        Samples per class.

    Returns
    -------
    numpy.ndarray of str, shape (C * n_per_class,)
        ``"<family>:<font file stem>"``, e.g. ``"dejavu-serif:DejaVuSerif-Bold"``; the family is the part before
        the colon.
    """
    families = (families,) if isinstance(families, str) else tuple(families)
    styles = styles_of(families)  # (S,) font files, family by family
    names = np.array(
        [f"{family}:{style.rsplit('.', 1)[0]}" for family in families for style in FAMILIES[family]]
    )
    assert len(names) == len(styles)
    return np.tile(names[np.arange(n_per_class) % len(styles)], n_classes)


def _layout(name: str, split: str) -> tuple[tuple[str, ...], int, int]:
    """(families, C, samples per class) of a glyph dataset name, e.g. ``"glyphs-ood:cm"``."""
    prefix, _, rest = name.partition(":")
    kind = {"glyphs-ood": "ood", "glyphs-id": "id", "glyphs-pretrain": "pretrain"}.get(prefix)
    if kind is not None and split not in _SIZES[kind]:
        raise ValueError(f"{name!r} has the splits {sorted(_SIZES[kind])}; received split={split!r}.")
    if prefix == "glyphs-ood":
        return (_check_ood(rest),), len(glyph_classes().downstream), _SIZES["ood"]["test"]
    if name == "glyphs-id":
        return PRETRAIN_FAMILIES, len(glyph_classes().downstream), _SIZES["id"][split]
    if prefix == "glyphs-pretrain":
        n = len(_pretrain_subset(rest)) if rest else len(glyph_classes().pretrain)
        return PRETRAIN_FAMILIES, n, _SIZES["pretrain"][split]
    raise ValueError(
        f"Not a glyph dataset: {name!r}. Expected 'glyphs-id', 'glyphs-pretrain', 'glyphs-pretrain:<n>' or "
        "'glyphs-ood:<family>'."
    )


def glyph_styles(name: str, split: str = "train") -> np.ndarray:
    """The font style of every row of ``load_dataset(name, split)`` for a glyph dataset.

    Parameters
    ----------
    name : str
        ``"glyphs-id"``, ``"glyphs-pretrain"``, ``"glyphs-pretrain:<n>"`` or ``"glyphs-ood:<family>"``.
    split : {"train", "test"}
        Which split (``glyphs-ood`` has only ``"test"``).

    Returns
    -------
    numpy.ndarray of str, shape (N,)
        ``"<family>:<font file stem>"`` per row (:func:`row_styles`).
    """
    return row_styles(*_layout(name, split))


def _family_groups(name: str, split: str) -> np.ndarray:
    """The font family of every row: the groups of the glyph datasets."""
    return np.array([s.partition(":")[0] for s in glyph_styles(name, split)])


def _make(name: str, split: str, code_points, families, n_per_class: int):
    images, labels = render_glyphs(code_points, families, n_per_class, split)
    return make_dataset(name, split, images, labels, [class_name(c) for c in code_points], "image")


def _check_subset(rest: str, n_classes: int | None = None) -> int:
    """The ``n`` of ``glyphs-pretrain:<n>``; the upper bound is checked once the classes are known."""
    if not rest.isdigit() or int(rest) < 2 or (n_classes is not None and int(rest) > n_classes):
        upto = f"from 2 to {n_classes} (the number of pre-training classes)" if n_classes else ">= 2"
        raise ValueError(
            f"Malformed name 'glyphs-pretrain:{rest}'. Expected 'glyphs-pretrain:<n>' with n an int {upto}, "
            "e.g. 'glyphs-pretrain:100'; use 'glyphs-pretrain' for all the classes."
        )
    return int(rest)


def _pretrain_subset(rest: str) -> tuple[int, ...]:
    """``n`` pre-training classes evenly spaced in code-point order."""
    classes = glyph_classes().pretrain
    n = _check_subset(rest, len(classes))
    return tuple(classes[i] for i in np.linspace(0, len(classes) - 1, n).round().astype(int))


def _check_ood(rest: str) -> str:
    if rest not in HELD_OUT_FAMILIES:
        from nmtune.exceptions import unknown_name_error

        raise unknown_name_error("held-out font family (glyphs-ood:<family>)", rest, HELD_OUT_FAMILIES)
    return rest


def _version() -> str:
    """Loader version plus the versions that decide the pixels (fonts ship with matplotlib)."""
    versions = []
    for dist in ("matplotlib", "pillow"):
        try:
            versions.append(f"{dist}{metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}-missing")
    return "1-" + "-".join(versions)


def _load_pretrain(split: str):
    return _make(
        "glyphs-pretrain", split, glyph_classes().pretrain, PRETRAIN_FAMILIES, _SIZES["pretrain"][split]
    )


def _load_id(split: str):
    return _make("glyphs-id", split, glyph_classes().downstream, PRETRAIN_FAMILIES, _SIZES["id"][split])


def _load_pretrain_subset(rest: str, split: str):
    classes = _pretrain_subset(rest)
    return _make(f"glyphs-pretrain:{rest}", split, classes, PRETRAIN_FAMILIES, _SIZES["pretrain"][split])


def _load_ood(rest: str, split: str):
    family = _check_ood(rest)
    return _make(f"glyphs-ood:{rest}", split, glyph_classes().downstream, family, _SIZES["ood"]["test"])


register_dataset("glyphs-pretrain", _load_pretrain, version=_version())
register_dataset("glyphs-id", _load_id, version=_version())
register_prefix(
    "glyphs-pretrain",
    _load_pretrain_subset,
    lambda rest: (_check_subset(rest), ("train", "test"))[1],
    lambda rest: f"glyphs-pretrain:{rest}:v{_version()}",
    "glyphs-pretrain:<n classes>",
)
register_prefix(
    "glyphs-ood",
    _load_ood,
    lambda rest: (_check_ood(rest), ("test",))[1],
    lambda rest: f"glyphs-ood:{rest}:v{_version()}",
    "glyphs-ood:<stix|cm>",
    lambda: [f"glyphs-ood:{f}" for f in HELD_OUT_FAMILIES],
)
register_groups("glyphs-id", lambda rest, split: _family_groups("glyphs-id", split))
register_groups(
    "glyphs-pretrain",
    lambda rest, split: _family_groups(f"glyphs-pretrain:{rest}" if rest else "glyphs-pretrain", split),
)
register_groups("glyphs-ood", lambda rest, split: _family_groups(f"glyphs-ood:{rest}", split))
