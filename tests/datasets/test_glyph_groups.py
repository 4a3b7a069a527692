"""Groups of the glyph datasets: the font family (and style) of every row, as rendered."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")
pytest.importorskip("fontTools")

from nmtune.datasets import _glyph_render as gr  # noqa: E402
from nmtune.datasets import dataset_groups, load_dataset  # noqa: E402
from nmtune.datasets.glyphs import PRETRAIN_FAMILIES, glyph_classes, glyph_styles, row_styles  # noqa: E402


@pytest.fixture(scope="module")
def id_test():
    return load_dataset("glyphs-id", "test")


def test_glyphs_id_groups_are_the_families_in_equal_counts_and_deterministic():
    groups = dataset_groups("glyphs-id", "train")
    labels = load_dataset("glyphs-id", "train").labels
    assert groups.shape == labels.shape == (62 * 48,)
    names, counts = np.unique(groups, return_counts=True)
    assert sorted(names) == sorted(PRETRAIN_FAMILIES) and set(counts) == {62 * 16}
    for c in range(62):  # every class in every family, 48 / 3 each
        assert set(np.unique(groups[labels == c], return_counts=True)[1]) == {16}
    np.testing.assert_array_equal(groups, dataset_groups("glyphs-id", "train"))
    styles = glyph_styles("glyphs-id", "train")
    assert len(np.unique(styles)) == 12 and set(np.unique(styles, return_counts=True)[1]) == {62 * 4}
    np.testing.assert_array_equal([s.split(":")[0] for s in styles], groups)


def test_styles_line_up_with_the_rendering(id_test):
    """Each row is closest to the clean drawing of its own style far more often than under any misalignment."""
    X = np.asarray(id_test.inputs, dtype=np.float64).reshape(len(id_test), -1)  # (N, 1024)
    y = id_test.labels
    clean = np.stack([gr.reduce2(s.astype(np.float32) / 255.0) for s in gr.base_glyphs(
        PRETRAIN_FAMILIES, glyph_classes().downstream)]).reshape(12, 62, -1)  # (S, C, 1024)  # fmt: skip
    nearest = ((X[None] - clean[:, y]) ** 2).sum(-1).argmin(0)  # (N,) style index
    order = {f"{f}:{s.rsplit('.', 1)[0]}": k for k, (f, s) in enumerate(
        (f, s) for f in PRETRAIN_FAMILIES for s in gr.FAMILIES[f])}  # fmt: skip
    style = np.array([order[s] for s in glyph_styles("glyphs-id", "test")])
    hits = [np.mean(nearest == (style + shift) % 12) for shift in range(12)]
    assert hits[0] > 0.3 and hits[0] > 2 * max(hits[1:])
    # the same class looks different in another family: class means per family are nearest their own family
    groups = dataset_groups("glyphs-id", "test")
    own = 0
    for c in range(62):
        for f, family in enumerate(PRETRAIN_FAMILIES):
            mean = X[(y == c) & (groups == family)].mean(0)
            dist = [((mean - clean[4 * g : 4 * g + 4, c].mean(0)) ** 2).sum() for g in range(3)]
            own += int(np.argmin(dist) == f)
    assert own >= 0.8 * 62 * 3


def test_other_glyph_names_and_bad_splits():
    assert set(dataset_groups("glyphs-ood:cm", "test")) == {"cm"}
    assert len(np.unique(glyph_styles("glyphs-ood:cm", "test"))) == 5
    assert dataset_groups("cap:124:glyphs-id", "train").shape == (124,)
    assert row_styles("stix", 2, 5).tolist()[:5] == [
        "stix:STIXGeneral", "stix:STIXGeneralBol", "stix:STIXGeneralItalic", "stix:STIXGeneralBolIta",
        "stix:STIXGeneral",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="splits"):
        glyph_styles("glyphs-ood:cm", "train")
