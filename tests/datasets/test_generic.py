import numpy as np
import pytest

from nmtune.datasets import dataset_fingerprint, load_dataset


@pytest.fixture
def table(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"body": [f"doc {i}" for i in range(40)], "topic": rng.choice(["b", "a"], 40)})
    return frame


def test_csv_with_columns_and_stratified_split(tmp_path, table):
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    name = f"csv:{path}?text=body&label=topic"
    tr, te = load_dataset(name, "train"), load_dataset(name, "test")
    assert tr.class_names == ("a", "b") and len(tr) + len(te) == 40
    assert set(tr.inputs) | set(te.inputs) == set(table.body) and not set(tr.inputs) & set(te.inputs)
    row = table.body.tolist().index(te.inputs[0])
    assert te.class_names[te.labels[0]] == table.topic[row]


def test_parquet_with_split_column_and_missing_column_error(tmp_path, table):
    pytest.importorskip("pyarrow")
    table = table.assign(split=["train"] * 30 + ["test"] * 10)
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    te = load_dataset(f"parquet:{path}?text=body&label=topic", "test")
    assert list(te.inputs) == table.body[30:].tolist()
    with pytest.raises(ValueError, match="no text column 'text'.*text=<column>"):
        load_dataset(f"parquet:{path}?label=topic", "train")


def test_csv_split_placeholder_and_fingerprint_changes(tmp_path, table):
    table[:30].to_csv(tmp_path / "train.csv", index=False)
    table[30:].to_csv(tmp_path / "test.csv", index=False)
    name = f"csv:{tmp_path}/{{split}}.csv?text=body&label=topic"
    assert len(load_dataset(name, "test")) == 10
    before = dataset_fingerprint(name)
    table[30:35].to_csv(tmp_path / "test.csv", index=False)
    assert dataset_fingerprint(name) != before
    assert len(load_dataset(name, "test")) == 5  # memo keyed by fingerprint: the edit is seen


def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            arr = (rng.random((10, 10)) * 255).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.png")
    tr = load_dataset(f"image-folder:{tmp_path}", "train")
    te = load_dataset(f"image-folder:{tmp_path}?size=8", "test")
    assert (
        tr.inputs.shape == (8, 10, 10) and te.inputs.shape == (2, 8, 8) and tr.class_names == ("cat", "dog")
    )
    assert tr.inputs.dtype == np.float32 and 0 <= tr.inputs.min() and tr.inputs.max() <= 1
    first = np.asarray(Image.open(tmp_path / "cat" / "0.png"), dtype=np.float32) / 255
    everything = np.concatenate([tr.inputs, load_dataset(f"image-folder:{tmp_path}", "test").inputs])
    assert sum(np.allclose(first, x) for x in everything) == 1


def test_hf_disk_missing_extra_or_roundtrip(tmp_path):
    import importlib

    try:
        datasets = importlib.import_module("datasets")
    except ImportError:
        datasets = None
    if not hasattr(datasets, "load_from_disk"):  # not installed (or only this tests/datasets folder is found)
        with pytest.raises(ImportError, match=r"nmtune\[hf-datasets\]"):
            load_dataset(f"hf-disk:{tmp_path}", "train")
        return
    ds = datasets.Dataset.from_dict(
        {"text": [f"t{i}" for i in range(20)], "label": [i % 2 for i in range(20)]}
    )
    datasets.DatasetDict({"train": ds, "test": ds.select(range(4))}).save_to_disk(str(tmp_path / "d"))
    assert len(load_dataset(f"hf-disk:{tmp_path / 'd'}", "test")) == 4


def test_bad_option_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="Unknown option"):
        load_dataset(f"csv:{tmp_path}/x.csv?txt=a", "train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(f"csv:{tmp_path}/nope.csv", "train")
