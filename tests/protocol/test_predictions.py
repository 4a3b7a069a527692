"""Per-sample predictions in run records, the group policy of a run and the one fraction rule."""

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtune.datasets import stratified_fraction
from nmtune.protocol import RunSpec, run_one
from nmtune.protocol import example_task as digits_task
from nmtune.protocol.predictions import domain_outcomes, pack_labels, unpack_labels
from nmtune.protocol.runner import training_rows
from nmtune.protocol.tasks import make_task


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=300))
def test_pack_and_unpack_are_inverse(values):
    a = np.asarray(values, dtype=np.int64)
    packed = pack_labels(a)
    assert packed.isascii() and packed[:2] in ("u1", "u2", "u4")
    np.testing.assert_array_equal(unpack_labels(packed), a)


def test_packing_is_compact_and_refuses_what_is_not_a_label():
    y = np.random.default_rng(0).integers(0, 62, size=2000)
    assert pack_labels(y).startswith("u1:") and len(pack_labels(y)) < 2000 * 1.4  # ~1 byte a row, compressed
    assert pack_labels(np.arange(300)).startswith("u2:")
    for bad in (np.array([-1, 2]), np.array([0.5]), np.zeros((2, 2), dtype=int)):
        with pytest.raises(ValueError, match="labels"):
            pack_labels(bad)
    with pytest.raises(ValueError, match="packed label string"):
        unpack_labels("x9:abc")


def test_a_run_records_the_prediction_of_every_test_row():
    task = digits_task()
    rec = run_one(task, RunSpec("pixels", "sk-digits", "digits", "logreg", seed=0))
    assert rec["status"] == "done", rec["error"]
    for d in task.evals:
        y, pred = domain_outcomes(rec, d.name)
        np.testing.assert_array_equal(y, d.y)
        assert rec["domains"][d.name]["accuracy"] == pytest.approx(np.mean(pred == y))  # the same predictions
    with pytest.raises(KeyError, match="no per-sample predictions"):
        domain_outcomes({"run_id": "x", "predictions": {}}, "test")


def test_training_rows_are_the_stratified_fraction_of_the_run_seed():
    task = digits_task(n_train=400)
    spec = RunSpec("pixels", "sk-digits", "digits", "lp", fraction=0.25, seed=3)
    rows = training_rows(task, spec)
    np.testing.assert_array_equal(rows, stratified_fraction(task.y_train, 0.25, 3))
    counts = np.bincount(task.y_train[rows], minlength=10)
    full = np.bincount(task.y_train, minlength=10)
    np.testing.assert_array_equal(counts, np.maximum(1, np.floor(0.25 * full + 0.5)).astype(int))


def _group_task(groups):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    Xt = rng.normal(size=(40, 6)).astype(np.float32)
    evals = {"test": (Xt, (Xt[:, 0] > 0).astype(int), "id")}
    return make_task("toy", X, y, evals, encoder="e", suite="s", groups_train=groups(y))


def test_group_policy_require_fails_fallback_uses_stratified_folds_and_says_so():
    impossible = _group_task(lambda y: y.copy())  # one group per class: no group fold holds both classes
    base = dict(params=(("cv", 2),), epochs=2, min_steps=0)
    bad = run_one(impossible, RunSpec("e", "s", "toy", "nmtune-cv", **base))
    assert bad["status"] == "failed"
    assert "group-aware selection folds are impossible" in bad["error"] and "'fallback'" in bad["error"]
    ok = run_one(impossible, RunSpec("e", "s", "toy", "nmtune-cv", group_folds="fallback", **base))
    assert ok["status"] == "done", ok["error"]
    assert ok["group_folds"] is False
    assert ok["config"]["group_folds"] == "fallback"
    possible = _group_task(lambda y: y * 10 + np.arange(len(y)) % 3)
    rec = run_one(possible, RunSpec("e", "s", "toy", "nmtune-cv", **base))
    assert rec["status"] == "done" and rec["group_folds"] is True
    none = run_one(possible, RunSpec("e", "s", "toy", "nmtune-cv", group_folds="none", **base))
    assert none["group_folds"] is False


def test_the_default_group_policy_keeps_run_ids_and_a_bad_policy_lists_the_valid_ones():
    spec = RunSpec("e", "s", "t", "lp")
    assert "group_folds" not in spec.config()
    assert spec.run_id != RunSpec("e", "s", "t", "lp", group_folds="fallback").run_id
    with pytest.raises(ValueError, match="require"):
        RunSpec("e", "s", "t", "lp", group_folds="sometimes")


def test_run_ids_are_those_of_runs_stored_before_the_group_policy_existed():
    # computed with the code before ``group_folds`` and predictions were added: stores keep resuming
    spec = RunSpec("minilm", "20ng-subgroups", "comp-rec", "nmtune-cv", seed=1, min_steps=1000, max_train=400,
                   max_eval=300)  # fmt: skip

    cfg = spec.config()
    assert (
        cfg.pop("method_revision") == 2
    )  # nmtune-cv's default changed since: its runs have new ids on purpose
    blob = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(blob).hexdigest()[:20] == "1fb9012093c4755ec481"
