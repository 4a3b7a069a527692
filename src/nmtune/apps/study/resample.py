"""Test-sample variance of the study's accuracy tables: a paired bootstrap over the rows of each fixed test set.

Every backbone, method and fraction of a study is scored on the same test sets, so the spread between
pre-training seeds does not contain the sampling variance of the test images. Here each test set (a domain, the
same rows in every run that evaluates it) is resampled B times with replacement, the same resampled rows for every
run, and every accuracy table (:meth:`nmtune.apps.study.summary.StudyData.table`) is recomputed from the stored
per-sample predictions: a claim's effect over the replicates gives the test-sample variance of its mean.

Shapes: B replicates, G noise rates, S pre-training seeds, N test rows of one domain.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

__all__ = ["accuracy_replicates", "N_BOOT"]

#: Bootstrap replicates of the test-sample variance.
N_BOOT = 1000


def _key(name: str, y: np.ndarray) -> tuple[str, str]:
    return name, hashlib.sha256(np.ascontiguousarray(y, dtype=np.int64).tobytes()).hexdigest()[:16]


def accuracy_replicates(records: list[dict], data, *, n_boot: int = N_BOOT, random_state: int = 0) -> dict:
    """Bootstrap replicates of every (method, kind) accuracy table.

    Parameters
    ----------
    records : list of dict
        The study's run records (with ``predictions``; zero-shot records included).
    data : StudyData
        Gives the gammas, seeds and each backbone's (gamma, seed).
    n_boot : int
        Replicates B.
    random_state : int
        Seed of the resampling (one weight matrix per test set, drawn in a fixed order).

    Returns
    -------
    dict
        ``(method, kind) -> ndarray (B, G, S)`` for kind ``"id"`` and ``"ood"``, each run's value the mean of its
        domains of that kind and each cell the mean of its runs (tasks, fractions, downstream seeds), exactly as
        the point tables; NaN where a cell has no run. With all weights equal to one every replicate equals the
        point table (tested).
    """
    from nmtune._internal.stats import bootstrap_weights
    from nmtune.protocol.predictions import domain_outcomes

    outcomes = []  # (record index, domain, kind, key, correct)
    for i, r in enumerate(records):
        for name, d in r["domains"].items():
            y, pred = domain_outcomes(r, name)
            outcomes.append((i, d["kind"], _key(name, y), (pred == y).astype(np.float32)))
    rng = np.random.default_rng(random_state)
    weights = {
        k: bootstrap_weights(len(c), n_boot, rng) for k, c in sorted({o[2]: o[3] for o in outcomes}.items())
    }
    per_run: dict = defaultdict(list)
    for i, kind, key, correct in outcomes:
        per_run[(i, kind)].append(weights[key] @ correct / correct.size)  # (B,)
    cells: dict = defaultdict(list)
    for (i, kind), accs in per_run.items():
        cfg = records[i]["config"]
        info = data.backbones[cfg["encoder"]]
        cells[(cfg["method"], kind, float(info["gamma"]), int(info["seed"]))].append(np.mean(accs, axis=0))
    out: dict = {}
    for (method, kind, g, s), runs in cells.items():
        arr = out.setdefault((method, kind), np.full((n_boot, len(data.gammas), len(data.seeds)), np.nan))
        arr[:, data.gammas.index(g), data.seeds.index(s)] = np.mean(runs, axis=0)
    return out
