import numpy as np
import pytest

from nmtune.datasets import dataset_fingerprint, dataset_splits, list_datasets, load_dataset
from nmtune.datasets.images import fashion_mnist_available
from nmtune.datasets.text import subgroup_domains

needs_fashion = pytest.mark.skipif(
    not fashion_mnist_available(), reason="dataset-fashion-mnist not installed"
)


@pytest.mark.parametrize(
    "name, split, n, c, shape",
    [
        ("reuters-r8", "test", 2189, 8, None),
        ("reuters-r52", "test", 2568, 52, None),
        ("mnist-5k", "train", 4000, 10, (28, 28)),
        ("mnist-5k", "test", 1000, 10, (28, 28)),
        ("optdigits", "train", 1438, 10, (8, 8)),
        ("optdigits@digits", "test", 359, 10, (16, 16)),
        ("mnist-5k@12", "test", 1000, 10, (12, 12)),
    ],
)
def test_builtin_sizes_types_and_ranges(name, split, n, c, shape):
    ds = load_dataset(name, split)
    assert len(ds) == n and ds.n_classes == c and ds.labels.dtype == np.int64
    assert set(np.unique(ds.labels)) == set(range(c))
    if shape is None:
        assert ds.modality == "text" and all(isinstance(t, str) and t for t in ds.inputs[:50])
    else:
        assert ds.modality == "image" and ds.inputs.dtype == np.float32 and ds.inputs.shape[1:] == shape
        assert ds.inputs.min() >= 0.0 and ds.inputs.max() <= 1.0 and ds.inputs.max() > 0.5
        assert not ds.inputs.flags.writeable


def test_orange_parsing_matches_a_plain_reading_of_the_file():
    import csv
    import sys

    from nmtune.datasets.text import orange_text_file

    csv.field_size_limit(sys.maxsize)
    with open(orange_text_file("reuters-r8-test"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))[3:]
    rows = [r for r in rows if len(r) >= 2 and r[1].strip()]
    ds = load_dataset("reuters-r8", "test")
    assert len(rows) == len(ds)
    assert [ds.class_names[k] for k in ds.labels[:100]] == [r[0] for r in rows[:100]]
    assert ds.inputs[7] == rows[7][1].strip()


def test_builtin_splits_are_disjoint_and_stratified():
    train, test = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    assert np.bincount(test.labels).tolist() == [100] * 10
    flat_tr = {row.tobytes() for row in train.inputs.reshape(len(train), -1)}
    assert not any(row.tobytes() in flat_tr for row in test.inputs.reshape(len(test), -1))


@pytest.mark.slow
def test_20ng_subgroups_domains_are_disjoint_and_labelled_by_group():
    full = load_dataset("20newsgroups", "test")
    assert len(full) == 7528 and full.n_classes == 20
    domains = subgroup_domains(full.class_names)
    assert domains["comp"]["source"] == (
        "comp.graphics",
        "comp.os.ms-windows.misc",
        "comp.sys.ibm.pc.hardware",
    )
    assert domains["talk"]["target"] == ("talk.politics.misc", "talk.religion.misc")
    src, tgt = (
        load_dataset("20ng-sub:comp-rec:source", "test"),
        load_dataset("20ng-sub:comp-rec:target", "test"),
    )
    assert src.class_names == tgt.class_names == ("comp", "rec")
    assert not set(src.inputs) & set(tgt.inputs)
    expected = sum(np.sum(full.labels == full.class_names.index(g)) for grp in ("comp", "rec")
                   for g in domains[grp]["source"])  # fmt: skip
    assert len(src) == expected


@needs_fashion
def test_fashion_mnist_and_corruptions():
    test = load_dataset("fashion-mnist", "test")
    assert test.inputs.shape == (10000, 28, 28) and np.bincount(test.labels).tolist() == [1000] * 10
    blur = load_dataset("fashion-mnist-c:blur:2", "test")
    np.testing.assert_array_equal(blur.labels, test.labels)
    assert blur.inputs.shape == test.inputs.shape and not np.allclose(blur.inputs, test.inputs)
    with pytest.raises(ValueError, match="valid splits: 'test'"):
        load_dataset("fashion-mnist-c:blur:2", "train")


def test_fashion_missing_names_the_install_command(monkeypatch, tmp_path):
    from nmtune.datasets import images

    monkeypatch.setenv("NMTUNE_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(ImportError, match="apt-get install dataset-fashion-mnist"):
        images._load_fashion_mnist("test")


def test_unknown_names_and_splits_list_valid_ones():
    with pytest.raises(ValueError, match="Did you mean 'reuters-r8'.*csv:<file>"):
        load_dataset("reuters-r9", "train")
    with pytest.raises(ValueError, match="valid splits: 'train', 'test'"):
        load_dataset("optdigits", "validation")
    with pytest.raises(ValueError, match="20ng-sub:<pair>:<domain>"):
        load_dataset("20ng-sub:comp-misc:source", "train")
    with pytest.raises(ValueError, match="severity in 1, 2, 3"):
        load_dataset("fashion-mnist-c:blur:9", "test")
    with pytest.raises(ValueError, match="resizes images"):
        load_dataset("reuters-r8@16", "test")


def test_listing_and_fingerprints():
    names = list_datasets()
    assert {
        "20newsgroups",
        "reuters-r8",
        "mnist-5k",
        "20ng-sub:sci-talk:target",
        "fashion-mnist-c:rotation:3",
    } <= set(names)
    assert dataset_splits("optdigits") == ("train", "test")
    assert dataset_fingerprint("mnist-5k@16") != dataset_fingerprint("mnist-5k")


def test_loads_are_memoised_in_process():
    assert load_dataset("optdigits", "test") is load_dataset("optdigits", "test")
