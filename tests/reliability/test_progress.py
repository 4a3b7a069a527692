"""Long work shows progress: encoding moves every batch ("k of n" rows), the grid's bar counts estimated cost."""

from __future__ import annotations

import re
import time

import numpy as np

from nmtune.cache import FeatureCache, get_features


class SlowTextEncoder:
    """A real (if simple) text encoder: character histograms, slowed down like a transformer on a CPU."""

    modality = "text"
    name = "slow-chars"
    fingerprint = "slow-chars-v1"
    dim = 8

    def __init__(self):
        self.calls = 0

    def encode(self, inputs, *, batch_size=64, device="cpu", progress=True):
        self.calls += 1
        time.sleep(0.15)
        return np.asarray([[t.count(c) for c in "aeiounst"] for t in inputs], dtype=np.float32)


def test_encoding_a_big_shard_reports_every_batch(tmp_path, capsys):
    enc = SlowTextEncoder()
    feats = get_features(
        enc,
        "cap:300:reuters-r8",
        "train",
        cache=FeatureCache(tmp_path),
        progress=True,
        shard_size=1024,
        batch_size=64,
    )
    err = capsys.readouterr().err
    n = feats.X.shape[0]
    seen = {int(k) for k in re.findall(rf"(\d+)/{n} ", err)}
    assert enc.calls == -(-n // 64)  # one call per batch although the whole split is one shard
    assert len(seen - {0, n}) >= 2, err[-500:]  # intermediate counts were shown, not only 0 and n


def test_run_cost_ranks_runs_like_their_run_time():
    from nmtune.protocol import example_task
    from nmtune.protocol.cost import estimate_run_cost
    from nmtune.protocol.runner import RunSpec

    task = example_task(n_train=400)
    wide = example_task(n_train=400)
    object.__setattr__(wide, "X_train", np.tile(task.X_train, (1, 20)))  # 1,280 features, as EfficientNet's

    def cost(method, t=task, **kw):
        return estimate_run_cost(RunSpec("e", "s", "t", method, **kw), t)

    assert cost("logreg") < cost("lp") < cost("mlp") < cost("nmtune")
    assert cost("mlp", wide) > 20 * cost("mlp")  # measured 89 s vs 1.1 s on one core: width dominates
    assert cost("mlp", selection="val") > 6 * cost("mlp")  # six candidates and the refit
    assert cost("mlp", min_steps=0, epochs=30) < cost("mlp") / 3  # 30 epochs of 2 steps vs 1,000 steps
    assert cost("nmtune-cv") > cost("nmtune")
