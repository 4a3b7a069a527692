"""API features through the feature cache: written shard by shard, a failed extraction resumes."""

import csv
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from _api_helpers import HashEncoder, make_texts, server_process

from nmtune.api import ApiEncoder, ApiError
from nmtune.cache import FeatureCache, get_features

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _csv_dataset(tmp_path: Path, texts: list[str]) -> str:
    path = tmp_path / "texts.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "split"])
        for i, t in enumerate(texts):
            writer.writerow([t, i % 3, "train"])
    return f"csv:{path}"


def test_failed_extraction_resumes_with_only_the_missing_shards(tmp_path):
    texts = make_texts(100, seed=1)
    dataset = _csv_dataset(tmp_path, texts)
    cache = FeatureCache(tmp_path / "cache")
    options = dict(
        model="hash-bow",
        dim=32,
        batch_size=8,
        max_concurrency=1,
        shard_size=16,
        max_retries=2,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
    )
    # the first server fails for good after 5 requests: 2 shards of 16 rows (2 requests each) get saved
    with server_process(["--faults", "fail_after=5"]) as (url, _):
        port = urlparse(url).port
        with pytest.raises(ApiError, match="HTTP 503"):
            get_features(ApiEncoder(url, **options), dataset, "train", cache=cache, progress=False)
    saved = sorted((tmp_path / "cache").rglob("shards-16/*.npy"))
    assert len(saved) == 2
    # restarted at the same address, a re-run requests only the 68 missing rows: 4 shards of 16 + one of 4
    with server_process([], port=port) as (url2, _):
        assert url2 == url
        enc = ApiEncoder(url, **options)
        feats = get_features(enc, dataset, "train", cache=cache, progress=False)
    assert enc.stats["inputs"] == 68 and enc.stats["requests"] == 4 * 2 + 1
    np.testing.assert_array_equal(np.asarray(feats.X), HashEncoder(32).encode(texts, progress=False))
    np.testing.assert_array_equal(feats.y, np.arange(100) % 3)
    again = ApiEncoder(url, **options)  # server gone: a cache hit needs no request
    np.testing.assert_array_equal(get_features(again, dataset, "train", cache=cache).X, feats.X)
    assert again.stats["requests"] == 0
