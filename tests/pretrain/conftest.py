"""Colour glyph data made at test time: an RGB image folder (train/ and val/) and WebDataset shards."""

from __future__ import annotations

import pytest

from image_data import colour_glyphs, write_folder


@pytest.fixture(scope="session")
def glyph_data():
    return colour_glyphs()


@pytest.fixture(scope="session")
def rgb_folder(tmp_path_factory, glyph_data):
    data, names = glyph_data
    return write_folder(tmp_path_factory.mktemp("rgb") / "glyphs", data, names)


@pytest.fixture(scope="session")
def glyph_shards(tmp_path_factory, glyph_data):
    """WebDataset shards of (image, label, caption = class name), train/ and test/, 20 samples a shard."""
    from nmtune.datasets.shards import write_shards

    data, names = glyph_data
    root = tmp_path_factory.mktemp("wds") / "glyphs"
    for split, (images, labels) in data.items():
        samples = ({"image": im, "label": int(y), "caption": names[y]} for im, y in zip(images, labels))
        write_shards(samples, root / split, per_shard=20)
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    return root
