import unicodedata

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")
pytest.importorskip("fontTools")

from scipy.spatial.distance import cdist  # noqa: E402

from nmtune.datasets import _glyph_render as gr  # noqa: E402
from nmtune.datasets import dataset_fingerprint, dataset_splits, load_dataset  # noqa: E402
from nmtune.datasets.glyphs import (  # noqa: E402
    HELD_OUT_FAMILIES,
    MERGE_DISTANCE,
    PRETRAIN_FAMILIES,
    glyph_classes,
    render_glyphs,
)


@pytest.fixture(scope="module")
def classes():
    return glyph_classes()


def _clean(families, code_points):
    """Clean 32 x 32 drawings, (S, C, 1024), by a plain average of each 2 x 2 block."""
    base = gr.base_glyphs(families, code_points).astype(np.float64) / 255.0  # (S, C, 64, 64)
    small = (base[..., ::2, ::2] + base[..., 1::2, ::2] + base[..., ::2, 1::2] + base[..., 1::2, 1::2]) / 4
    return small.reshape(small.shape[0], small.shape[1], -1)


def test_class_lists(classes):
    assert 900 <= len(classes.pretrain) <= 1100
    assert [chr(c) for c in classes.downstream] == sorted(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )
    assert not set(classes.pretrain) & set(classes.downstream)
    kept = set(classes.pretrain) | set(classes.downstream)
    assert not set(classes.dropped) & kept and set(classes.dropped.values()) <= kept
    # the homoglyphs of the issue: Greek and Cyrillic capital A render as Latin A
    assert classes.dropped[0x391] == classes.dropped[0x410] == ord("A")
    for cp in kept:
        assert unicodedata.category(chr(cp)) in ("Lu", "Ll", "Lo", "Nd")


@pytest.mark.slow
def test_every_class_is_non_blank_and_distinct_in_every_style(classes):
    """Reference check of the selection: nearest neighbours by scipy's cdist, not the selection's own code."""
    checks = [(PRETRAIN_FAMILIES, classes.pretrain + classes.downstream)]
    checks += [(family, classes.downstream) for family in HELD_OUT_FAMILIES]
    for families, cps in checks:
        base = gr.base_glyphs(families, cps)  # (S, C, 64, 64): nothing drawn touches the canvas border
        assert not base[..., [0, -1], :].any() and not base[..., :, [0, -1]].any()
        for style in _clean(families, cps):  # (C, 1024)
            norms = np.linalg.norm(style, axis=1)
            assert (style.max(axis=1) > 0.5).all()
            rel = cdist(style, style) / np.maximum(norms[:, None], norms[None, :])
            np.fill_diagonal(rel, np.inf)
            assert rel.min() >= MERGE_DISTANCE


def test_rendering_is_deterministic_and_fresh_caches_agree():
    cps = [ord(c) for c in "aeg"] + [0x3B1, 0x416]
    x1, y1 = render_glyphs(cps, "dejavu-serif", 6, "train")
    gr._glyph.cache_clear()
    gr._font.cache_clear()
    x2, y2 = render_glyphs(cps, "dejavu-serif", 6, "train")
    assert x1.tobytes() == x2.tobytes() and (y1 == y2).all()
    x3, _ = render_glyphs(cps, "dejavu-serif", 6, "test")
    assert not np.array_equal(x1, x3)
    # a class's samples do not depend on the other classes requested
    x4, _ = render_glyphs(cps[2:], "dejavu-serif", 6, "train")
    np.testing.assert_array_equal(x4, x1[12:])
    assert y1.dtype == np.int64 and y1.tolist() == np.repeat(np.arange(5), 6).tolist()


@pytest.mark.parametrize(
    "name, split, n_per_class",
    [("glyphs-id", "train", 48), ("glyphs-id", "test", 24), ("glyphs-ood:stix", "test", 24),
     ("glyphs-ood:cm", "test", 24), ("glyphs-pretrain:60", "test", 12)],
)  # fmt: skip
def test_loaded_sets_shapes_labels_and_distinct_class_means(name, split, n_per_class):
    ds = load_dataset(name, split)
    c = ds.n_classes
    assert ds.modality == "image" and ds.inputs.shape == (c * n_per_class, 32, 32)
    assert ds.inputs.dtype == np.float32 and ds.inputs.min() >= 0 and ds.inputs.max() <= 1
    assert ds.labels.dtype == np.int64 and np.bincount(ds.labels).tolist() == [n_per_class] * c
    assert not ds.inputs.flags.writeable
    means = np.stack([ds.inputs[ds.labels == k].mean(0).ravel() for k in range(c)])
    assert (means.max(axis=1) > 0.3).all()
    d = cdist(means, means)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.5


def test_class_names_and_domains(classes):
    id_train = load_dataset("glyphs-id", "train")
    assert id_train.class_names[0] == "DIGIT ZERO" and "LATIN SMALL LETTER E" in id_train.class_names
    for family in HELD_OUT_FAMILIES:
        name = f"glyphs-ood:{family}"
        assert dataset_splits(name) == ("test",)
        assert load_dataset(name, "test").class_names == id_train.class_names
    sub = load_dataset("glyphs-pretrain:60", "test")
    assert not set(sub.class_names) & set(id_train.class_names)
    names = [unicodedata.name(chr(c)) for c in classes.pretrain]
    assert set(sub.class_names) <= set(names) and len(set(names)) == len(names)


def test_versions_enter_the_fingerprint():
    fp = dataset_fingerprint("glyphs-pretrain")
    assert "matplotlib" in fp and "pillow" in fp
    assert dataset_fingerprint("glyphs-ood:cm") != dataset_fingerprint("glyphs-ood:stix")


def test_bad_requests_fail_clearly():
    with pytest.raises(ValueError, match=r"glyphs-pretrain:<n>.*>= 2"):
        load_dataset("glyphs-pretrain:1", "train")
    with pytest.raises(ValueError, match="from 2 to"):
        load_dataset("glyphs-pretrain:100000", "test")
    with pytest.raises(ValueError, match="at least 2 distinct code points; received 1"):
        render_glyphs([65], "cm", 3)
    with pytest.raises(ValueError, match="n_per_class must be an int >= 1; received 0"):
        render_glyphs([65, 66], "cm", 0)
    with pytest.raises(ValueError, match="no glyph for 1 of the code points \\(U\\+0416"):
        render_glyphs([65, 0x416], "cm", 2)
    with pytest.raises(ValueError, match="Valid choices: 'cm', 'stix'"):
        load_dataset("glyphs-ood:dejavu-sans", "test")
    with pytest.raises(ValueError, match="no split 'train'"):
        load_dataset("glyphs-ood:cm", "train")
