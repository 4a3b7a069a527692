"""The real glove-50 and minilm encoders served over HTTP equal their in-process output."""

import csv

import numpy as np
import pytest
from _api_helpers import server_process

from nmtune.api import ApiEncoder
from nmtune.cache import FeatureCache, get_features
from nmtune.encoders import get_encoder

pytestmark = [pytest.mark.network, pytest.mark.slow]

TOPICS = {
    0: "goal match team player league coach season score football win stadium",
    1: "cpu memory software compiler linux kernel disk driver program network code",
    2: "rain storm weather cloud wind snow forecast temperature sunny cold winter",
}


def _topic_texts(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    filler = "the a of and it is was this that with for on".split()
    labels = rng.integers(0, 3, size=n)
    texts = []
    for y in labels:
        words = list(rng.choice(TOPICS[int(y)].split(), size=4)) + list(rng.choice(filler, size=4))
        if rng.random() < 0.3:  # some topic words from another class: not trivially separable
            words += list(rng.choice(TOPICS[int((y + 1) % 3)].split(), size=2))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, labels


@pytest.fixture(scope="module")
def glove_server():
    with server_process(["--encoder", "glove-50", "--api-key", "k"], cli=True) as (url, _):
        yield url


def test_glove_over_http_equals_local(glove_server):
    texts, _ = _topic_texts(200)
    texts += ["", "Punctuation only!?", "UPPER case Words", "unknownwordxyz"]
    enc = ApiEncoder(glove_server, api_key="k", batch_size=16, max_concurrency=4)
    assert (enc.model, enc.dim) == ("glove-50", 50)
    np.testing.assert_array_equal(
        enc.encode(texts, progress=False), get_encoder("glove-50").encode(texts, progress=False)
    )


def test_nmtune_on_api_features_equals_nmtune_on_local_features(glove_server, tmp_path):
    texts, labels = _topic_texts(240, seed=1)
    path = tmp_path / "topics.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label", "split"])
        for i, (t, y) in enumerate(zip(texts, labels)):
            w.writerow([t, int(y), "train" if i < 180 else "test"])
    dataset, cache = f"csv:{path}", FeatureCache(tmp_path / "cache")
    api = ApiEncoder(glove_server, api_key="k", batch_size=32)
    local = get_encoder("glove-50")
    feats = {
        name: {
            split: get_features(e, dataset, split, cache=cache, progress=False) for split in ("train", "test")
        }
        for name, e in (("api", api), ("local", local))
    }
    for split in ("train", "test"):
        np.testing.assert_array_equal(np.asarray(feats["api"][split].X), np.asarray(feats["local"][split].X))
    try:
        from nmtune import NMTune
    except ImportError:
        pytest.skip("nmtune.NMTune is not available yet")
    fitted = {}
    for name in ("api", "local"):
        tr = feats[name]["train"]
        head = NMTune(epochs=30, min_steps=0, batch_size=32, lr=1e-2, random_state=0, progress=False)
        fitted[name] = head.fit(np.asarray(tr.X), tr.y)
    X_test = np.asarray(feats["local"]["test"].X)
    np.testing.assert_array_equal(fitted["api"].predict_proba(X_test), fitted["local"].predict_proba(X_test))
    np.testing.assert_array_equal(fitted["api"].transform(X_test), fitted["local"].transform(X_test))
    assert fitted["api"].score(X_test, feats["local"]["test"].y) > 0.5  # it learned something


def test_minilm_over_http_matches_local_on_a_handful_of_texts():
    from nmtune.api.background import serve_in_thread
    from nmtune.api.server import create_app

    texts = [
        "Noisy labels in pre-training shape the feature space.",
        "a cat",
        "",
        "Tuning frozen features",
        "The quick brown fox jumps over the lazy dog, again and again.",
    ]
    local = get_encoder("minilm")
    expected = local.encode(texts, progress=False)
    with serve_in_thread(create_app(local)) as url:
        got = ApiEncoder(url, batch_size=2, max_concurrency=1).encode(texts, progress=False)  # other batches
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
