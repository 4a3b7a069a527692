import json
import warnings

import numpy as np
import pytest

from nmtune.cache import FeatureCache, cache_key, extract, get_features
from nmtune.datasets import load_dataset


class PixelEncoder:
    """Test collaborator implementing the Encoder contract: flattened pixels times a fixed projection.

    Counts the rows it encodes and can fail after a given number of calls (to simulate an interruption).
    """

    modality = "image"

    def __init__(self, dim=6, fail_after=None, name="pixels", tag="v1"):
        self.name, self.dim, self.fail_after = name, dim, fail_after
        self.fingerprint = f"pixel-encoder-{dim}-{tag}"
        self.calls, self.rows = 0, 0
        self._W = np.random.default_rng(0).normal(size=(64, dim)).astype(np.float32)

    def encode(self, inputs, *, batch_size=64, device="cpu", progress=True):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated interruption")
        self.calls += 1
        self.rows += len(inputs)
        X = np.asarray(inputs, dtype=np.float32).reshape(len(inputs), -1)
        return X @ self._W


def reference(dataset="optdigits", split="test", dim=6):
    ds = load_dataset(dataset, split)
    return PixelEncoder(dim).encode(ds.inputs), ds.labels


def test_miss_then_hit_matches_direct_encoding(tmp_path):
    cache = FeatureCache(tmp_path)
    enc = PixelEncoder()
    f1 = get_features(enc, "optdigits", "test", cache=cache, progress=False, shard_size=100)
    X_ref, y_ref = reference()
    np.testing.assert_allclose(np.asarray(f1.X), X_ref, rtol=1e-6)
    np.testing.assert_array_equal(f1.y, y_ref)
    assert isinstance(f1.X, np.memmap) and f1.X.dtype == np.float32
    assert enc.calls == 7 and enc.rows == 359  # shards of 100 rows, one call per batch of 64: 3 x 2 + 1
    f2 = get_features(enc, "optdigits", "test", cache=cache, progress=False)
    assert enc.calls == 7  # hit: nothing encoded
    np.testing.assert_array_equal(np.asarray(f2.X), np.asarray(f1.X))
    rec = f2.record
    assert rec["shape"] == [359, 6] and rec["encoder"] == "pixels"
    assert rec["class_names"] == [str(d) for d in range(10)]
    assert not list((tmp_path).glob("*/shards-*"))  # shards removed after the final write


def test_key_depends_on_fingerprint_split_and_preprocessing():
    k = cache_key("a", "optdigits", "train")
    assert k != cache_key("b", "optdigits", "train")
    assert k != cache_key("a", "optdigits", "test")
    assert k != cache_key("a", "optdigits", "train", preprocessing={"resize": 16})
    assert k == cache_key("a", "optdigits", "train", preprocessing=None)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "record", "empty", "classes", "keys"])
def test_corrupted_entry_is_reported_and_recomputed(tmp_path, damage, monkeypatch):
    import nmtune.cache as cache_mod

    cache = FeatureCache(tmp_path)
    enc = PixelEncoder()
    first = get_features(enc, "optdigits", "test", cache=cache, progress=False)
    X_ref = np.array(first.X)
    folder = tmp_path / next(p.name for p in tmp_path.iterdir())
    target = folder / ("record.json" if damage in ("record", "classes", "keys") else "X.npy")
    del first
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[-5] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-40])
    elif damage == "delete":
        target.unlink()
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "classes":  # two class names swapped by hand: the record checksum catches it
        record = json.loads(target.read_text())
        record["class_names"][:2] = record["class_names"][1::-1]
        target.write_text(json.dumps(record))
    elif damage == "keys":
        target.write_text("{}")
    else:
        target.write_text("{not json")
    monkeypatch.setattr(cache_mod, "_VERIFIED", set())  # a new process: nothing verified yet
    calls = enc.calls
    with pytest.warns(UserWarning, match=target.name):
        again = get_features(enc, "optdigits", "test", cache=cache, progress=False)
    assert enc.calls > calls
    np.testing.assert_allclose(np.asarray(again.X), X_ref, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_features(enc, "optdigits", "test", cache=cache, progress=False)


def test_interrupted_extraction_resumes_with_remaining_shards(tmp_path):
    cache = FeatureCache(tmp_path)
    failing = PixelEncoder(fail_after=2)
    with pytest.raises(RuntimeError, match="simulated"):
        get_features(failing, "optdigits", "test", cache=cache, progress=False, shard_size=50)
    shards = sorted(tmp_path.glob("*/shards-50/*.npy"))
    assert len(shards) == 2 and not list(tmp_path.glob("*/record.json"))
    resumed = PixelEncoder()
    out = get_features(resumed, "optdigits", "test", cache=cache, progress=False, shard_size=50)
    assert resumed.calls == 6 and resumed.rows == 359 - 100  # 8 shards in all, 2 already done
    X_ref, _ = reference()
    np.testing.assert_allclose(np.asarray(out.X), X_ref, rtol=1e-6)


def test_preferred_shard_size_of_encoder(tmp_path):
    enc = PixelEncoder()
    enc.preferred_shard_size = 120
    get_features(enc, "optdigits", "test", cache=FeatureCache(tmp_path), progress=False)
    assert enc.calls == 6  # 3 shards of <= 120 rows, 2 batches of 64 each
    rec = json.loads(next(tmp_path.glob("*/record.json")).read_text())
    assert rec["shard_size"] == 120


def test_callable_preprocessing_is_applied_and_keyed(tmp_path):
    cache = FeatureCache(tmp_path)
    enc = PixelEncoder()

    def invert(images):
        return 1.0 - images

    plain = get_features(enc, "optdigits", "test", cache=cache, progress=False)
    inverted = get_features(enc, "optdigits", "test", cache=cache, progress=False, preprocessing=invert)
    ds = load_dataset("optdigits", "test")
    np.testing.assert_allclose(np.asarray(inverted.X), PixelEncoder().encode(1.0 - ds.inputs), rtol=1e-5)
    assert plain.record["key"] != inverted.record["key"]


def test_records_clear_verify_and_extract_all(tmp_path):
    cache = FeatureCache(tmp_path)
    out = extract(PixelEncoder(), "optdigits", "all", cache=cache, progress=False)
    assert set(out) == {"train", "test"} and out["train"].X.shape == (1438, 6)
    get_features(PixelEncoder(name="other", tag="v2"), "optdigits", "test", cache=cache, progress=False)
    assert len(cache.records()) == 3
    assert cache.verify() == []
    x = next(p for p in tmp_path.glob("pixels__*__test__*/X.npy"))
    data = bytearray(x.read_bytes())
    data[-1] ^= 1
    x.write_bytes(bytes(data))
    assert cache.verify() == [str(x.parent)]
    assert cache.clear(encoder="pixels") == 2
    assert [r["encoder"] for r in cache.records()] == ["other"]
    assert cache.clear() == 1 and cache.records() == []


def test_default_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NMTUNE_CACHE_DIR", str(tmp_path / "here"))
    assert FeatureCache().root == tmp_path / "here"


def test_bad_encoder_output_is_an_error(tmp_path):
    class Wrong(PixelEncoder):
        def encode(self, inputs, **kw):
            return np.zeros((len(inputs) - 1, 3), dtype=np.float32)

    with pytest.raises(ValueError, match="returned shape"):
        get_features(Wrong(), "optdigits", "test", cache=FeatureCache(tmp_path), progress=False)


def test_checksum_verified_once_per_process_per_file(tmp_path, monkeypatch):
    import nmtune.cache as cache_mod

    cache = FeatureCache(tmp_path)
    get_features(PixelEncoder(), "optdigits", "test", cache=cache, progress=False)
    monkeypatch.setattr(cache_mod, "_VERIFIED", set())
    hashed = []
    real = cache_mod.sha256_file
    monkeypatch.setattr(
        cache_mod, "sha256_file", lambda path, *a, **k: hashed.append(path.name) or real(path, *a, **k)
    )
    for _ in range(3):
        get_features(PixelEncoder(), "optdigits", "test", cache=cache, progress=False)
    assert sorted(hashed) == ["X.npy", "y.npy"]
