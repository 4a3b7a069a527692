"""Test-sample variance from the stored predictions: replicates of the accuracy tables, and McNemar per backbone."""

import numpy as np
import pytest

from nmtune.apps.study import resample
from nmtune.apps.study.summary import StudyData, study_rows
from nmtune.apps.study.tables import mcnemar_rows
from nmtune.protocol.predictions import pack_labels

Y = np.array([0, 1, 2, 3, 0, 1, 2, 3])


def _record(method, gamma, seed, pred_in, pred_out):
    label = f"pretrained:g{gamma:g}_s{seed}@hand"
    doms, preds = {}, {}
    for name, kind, pred in (("in", "id", pred_in), ("out", "ood", pred_out)):
        pred = np.asarray(pred)
        doms[name] = {
            "kind": kind,
            "accuracy": float(np.mean(pred == Y)),
            "macro_f1": 0.5,
            "sve": 1.0,
            "lsvr": 1.0,
        }
        preds[name] = {"pred": pack_labels(pred), "true": pack_labels(Y)}
    cfg = {"encoder": label, "suite": "s", "task": "t", "method": method, "selection": "paper", "fraction": 1.0,
           "seed": 0, "noise": 0.0, "pretrain_noise": gamma}  # fmt: skip
    return {
        "run_id": f"{label}{method}",
        "status": "done",
        "config": cfg,
        "domains": doms,
        "predictions": preds,
    }


def _study():
    right, wrong2 = Y.copy(), Y.copy()
    wrong2[:2] = (Y[:2] + 1) % 4
    records, backbones = [], {}
    for g in (0.0, 0.3):
        for s in (0, 1):
            backbones[f"pretrained:g{g:g}_s{s}@hand"] = {"gamma": g, "seed": s}
            records.append(_record("lp", g, s, wrong2, wrong2 if g else right))
            records.append(_record("nmtune", g, s, right, right))
    return StudyData(study_rows(records, backbones), backbones), records


def test_replicates_with_unit_weights_are_the_point_tables(monkeypatch):
    data, records = _study()
    monkeypatch.setattr(
        "nmtune._internal.stats.bootstrap_weights", lambda n, b, rng=None: np.ones((b, n), dtype=np.float32)
    )
    reps = resample.accuracy_replicates(records, data, n_boot=3)
    for (method, kind), arr in reps.items():
        np.testing.assert_allclose(
            arr, np.broadcast_to(data.table(method, f"{kind}_accuracy"), arr.shape), rtol=1e-6
        )


def test_the_same_rows_are_resampled_for_every_run():
    data, records = _study()
    reps = resample.accuracy_replicates(records, data, n_boot=500, random_state=1)
    lp, nm = reps[("lp", "id")], reps[("nmtune", "id")]
    assert np.all(nm == 1.0)  # always right, whatever the rows
    # LP misses rows 0 and 1 on every backbone: one draw of rows gives one accuracy for all four backbones
    assert np.allclose(lp, lp[:, :1, :1])
    assert lp.std() == pytest.approx(
        np.sqrt(0.75 * 0.25 / 8), rel=0.2
    )  # binomial-like spread of an 8-row mean


def test_mcnemar_per_backbone_on_its_test_rows():
    data, records = _study()
    rows = mcnemar_rows(records, data.backbones, "nmtune", "lp", kind="ood")
    assert [(r["gamma"], r["seed"]) for r in rows] == [(0.0, 0), (0.0, 1), (0.3, 0), (0.3, 1)]
    assert [(r["a_only"], r["b_only"]) for r in rows] == [(0, 0), (0, 0), (2, 0), (2, 0)]
    assert rows[2]["p"] == pytest.approx(0.5) and rows[2]["difference"] == pytest.approx(0.25)
