"""Streamed image sources (folders, domain collections, WebDataset shards, Hugging Face) and their transforms."""

import tarfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from image_data import colour_glyphs, write_folder
from nmtune.datasets.image_sources import MissingSplitError, list_domains, open_image_source
from nmtune.datasets.image_transforms import center_crop, random_resized_crop, resize, to_chw
from nmtune.datasets.shards import write_shards
from nmtune.datasets.streaming import StreamedImages, eval_loader


@pytest.fixture(scope="module")
def data():
    return colour_glyphs(n_classes=3, per_class=5, test_per_class=2)


def test_center_crop_matches_a_plain_resize_then_slice():
    img = torch.randint(0, 256, (3, 40, 60), dtype=torch.uint8)
    out = center_crop(img, 16, crop_ratio=0.8)  # shorter side 20, then the central 16 x 16
    ref = torch.nn.functional.interpolate(img[None].float(), size=(20, 30), mode="bilinear", antialias=True)[
        0
    ]
    ref = ref.round().clamp(0, 255).to(torch.uint8)[:, 2:18, 7:23]
    assert out.dtype == torch.uint8 and torch.equal(out, ref)
    assert torch.equal(center_crop(img[:, :16, :16], 16, crop_ratio=1.0), img[:, :16, :16])  # identity
    assert center_crop(img.float() / 255, 8, crop_ratio=None).shape == (3, 8, 8)  # whole-image resize


@settings(max_examples=25, deadline=None)
@given(h=st.integers(8, 64), w=st.integers(8, 64), size=st.integers(4, 32), seed=st.integers(0, 10**6))
def test_random_resized_crop_is_reproducible_and_has_the_output_size(h, w, size, seed):
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    a = random_resized_crop(img, size, np.random.default_rng(seed))
    b = random_resized_crop(img, size, np.random.default_rng(seed))
    assert a.shape == (3, size, size) and a.dtype == torch.uint8 and torch.equal(a, b)
    whole = random_resized_crop(img, size, np.random.default_rng(seed), scale=(1, 1), ratio=(w / h, w / h),
                                flip=False)  # fmt: skip
    assert torch.equal(whole, resize(img, size, size))  # the whole image: a plain resize


def test_gray_and_rgb_convert_both_ways():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    gray = to_chw(rgb, 1)
    assert gray.shape == (1, 5, 7) and torch.equal(
        gray, torch.from_numpy(rgb).float().mean(2).round().to(torch.uint8)[None]
    )
    assert torch.equal(to_chw(rgb[..., 0], 3), torch.from_numpy(rgb[..., 0])[None].expand(3, -1, -1))


def test_image_folder_with_val_split(tmp_path, data):
    root = write_folder(tmp_path / "f", *data)
    train = open_image_source(f"image-folder:{root}?mode=RGB", "train")
    test = open_image_source(f"image-folder:{root}?mode=RGB", "test")  # read from val/
    assert len(train) == 15 and len(test) == 6 and train.class_names == tuple(sorted(data[1]))
    assert np.array_equal(train.read(0), data[0]["train"][0][0])  # PNG: lossless
    assert train.read(0).shape == (32, 32, 3)
    assert open_image_source(f"image-folder:{root}", "train").read(0).shape == (32, 32)  # grayscale default
    assert open_image_source(f"image-folder:{root}", "test").channels == 1
    assert train.fingerprint() != test.fingerprint()


def test_folder_without_splits_matches_the_in_memory_loader(tmp_path, data):
    from nmtune.datasets import load_dataset

    root = tmp_path / "flat"
    write_folder(root, {"train": data[0]["train"]}, data[1])
    name = f"image-folder:{root / 'train'}"
    for split in ("train", "test"):
        src, ds = open_image_source(name, split), load_dataset(name, split)
        assert np.array_equal(src.labels, ds.labels)
        np.testing.assert_allclose(src.read(0) / 255.0, ds.inputs[0], atol=1e-6)


def test_missing_test_split_is_refused_or_none(tmp_path, data):
    root = tmp_path / "only-train"
    write_folder(root, {"train": data[0]["train"]}, data[1])
    (root / "extra").mkdir()
    with pytest.raises(MissingSplitError, match="val"):
        open_image_source(f"image-folder:{root}", "test")
    assert open_image_source(f"image-folder:{root}", "test", missing_ok=True) is None


def test_domain_collection_shares_its_classes(tmp_path, data):
    (images, labels), names = data[0]["train"], data[1]
    for domain, keep in (("photo", [0, 1, 2]), ("sketch", [1, 2])):  # sketch lacks class 0
        rows = np.isin(labels, keep)
        write_folder(tmp_path / "dom" / domain, {"train": (images[rows], labels[rows])}, names)
        # write_folder puts class folders under train/: move them up one level
        for d in (tmp_path / "dom" / domain / "train").iterdir():
            d.rename(tmp_path / "dom" / domain / d.name)
        (tmp_path / "dom" / domain / "train").rmdir()
    assert list_domains(tmp_path / "dom") == ["photo", "sketch"]
    sketch = open_image_source(f"image-domains:{tmp_path / 'dom'}?domain=sketch&mode=RGB", "all")
    assert sketch.class_names == tuple(sorted(names)) and set(sketch.labels) == {
        sorted(names).index(names[k]) for k in (1, 2)
    }
    with pytest.raises(ValueError, match="Did you mean 'sketch'"):
        open_image_source(f"image-domains:{tmp_path / 'dom'}?domain=sketchh", "all")


def test_webdataset_shards_read_back_exactly(tmp_path, data):
    (images, labels), names = data[0]["train"], data[1]
    samples = [{"image": im, "label": int(y), "caption": f"a {names[y]}"} for im, y in zip(images, labels)]
    shards = write_shards(samples, tmp_path / "w" / "train", per_shard=4)
    assert len(shards) == 4  # 15 samples, 4 a shard
    src = open_image_source(f"wds:{tmp_path / 'w'}", "train")
    assert src.channels == 3 and list(src.labels) == list(labels)
    assert src.class_names == ("0", "1", "2") and src.captions[3] == samples[3]["caption"]
    for i in (0, 5, 14):  # random access by sample index, any order
        assert np.array_equal(src.read(i), images[i])
    assert open_image_source(f"wds:{tmp_path / 'w'}", "test", missing_ok=True) is None
    gz = tmp_path / "z" / "train"
    gz.mkdir(parents=True)
    with tarfile.open(gz / "a.tar", "w:gz") as tf:
        tf.add(shards[0], arcname="x")
    with pytest.raises(ValueError, match="uncompressed"):
        open_image_source(f"wds:{tmp_path / 'z'}", "train")


def test_hugging_face_images_on_disk(tmp_path, data):
    datasets = pytest.importorskip("datasets")
    if not hasattr(
        datasets, "load_from_disk"
    ):  # tests/datasets shadows it when Hugging Face's is not installed
        from nmtune.exceptions import MissingDependencyError

        with pytest.raises(MissingDependencyError, match=r"nmtune\[hf-datasets\]"):
            open_image_source(f"hf-images:{tmp_path / 'hf'}", "train")
        pytest.skip("Hugging Face datasets is not installed (pip install 'nmtune[hf-datasets]')")
    (images, labels), names = data[0]["train"], data[1]
    from PIL import Image

    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    ds = datasets.Dataset.from_dict({"image": [Image.fromarray(i) for i in images], "label": labels.tolist()},
                                    features=features)  # fmt: skip
    datasets.DatasetDict({"train": ds, "test": ds.select(range(3))}).save_to_disk(tmp_path / "hf")
    src = open_image_source(f"hf-images:{tmp_path / 'hf'}", "train")
    assert src.class_names == tuple(names) and np.array_equal(src.read(4), images[4])
    assert len(open_image_source(f"hf-images:{tmp_path / 'hf'}", "test")) == 3


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_batches_do_not_depend_on_the_workers(tmp_path, data, workers):
    root = write_folder(tmp_path / "f", *data)
    src = open_image_source(f"image-folder:{root}?mode=RGB", "train")
    ds = StreamedImages(src, size=16, channels=3, train=True, seed=3)
    keys = [(i, 1) for i in range(len(src))]
    ref = torch.stack([ds[k][0] for k in keys])  # the plain reference: one item at a time
    loader = torch.utils.data.DataLoader(ds, batch_sampler=[keys[:7], keys[7:]], num_workers=workers)
    got = torch.cat([x for x, _ in loader])
    assert torch.equal(got, ref)
    assert not torch.equal(ds[(0, 1)][0], ds[(0, 2)][0])  # another epoch, another crop
    x, pos = next(iter(eval_loader(StreamedImages(src, size=16, channels=3), 4)))
    assert x.shape == (4, 3, 16, 16) and pos.tolist() == [0, 1, 2, 3]
