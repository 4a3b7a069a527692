"""A second campaign through the CLI, as a new user with their own files: paths, shapes, values, configs.

A case passes when the command exits with status 2, prints a message holding the expected text on stderr and no
traceback (or, for the ``OK_CASES``, when it succeeds and prints the expected text).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nmtune.cli import main


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("newuser")
    r = np.random.default_rng(0)
    X = r.standard_normal((60, 8)).astype(np.float32)
    y = np.arange(60) % 3
    np.save(d / "X.npy", X)
    np.save(d / "y.npy", y)
    os.symlink(d / "missing.npy", d / "dangling.npy")
    os.symlink(d / "X.npy", d / "link.npy")
    (d / "dir.npy").mkdir()
    np.save(d / "X0.npy", np.zeros((60, 0), np.float32))
    np.save(d / "X16.npy", X.astype(np.float16))
    np.save(d / "Xint.npy", r.integers(0, 5, (60, 8)))
    np.save(d / "X3d.npy", X.reshape(60, 2, 4))
    np.save(d / "Xwide.npy", r.standard_normal((60, 9)).astype(np.float32))
    np.save(d / "y_str.npy", np.array(["a", "b", "c"] * 20))
    Xnan = X.copy()
    Xnan[7, 3] = np.nan
    np.save(d / "X_nan_one.npy", Xnan)
    rows = "".join(f"{i},{i % 7}.5,inf,{i % 2}\n" for i in range(20))
    (d / "inf.csv").write_text("a,b,c,label\n" + rows)
    (d / "huge.csv").write_text("a,b,label\n" + "".join(f"{i}e300,1,{i % 2}\n" for i in range(1, 21)))
    (d / "labels_hdr.txt").write_text("label\n" + "\n".join(["a", "b", "c"] * 20) + "\n")
    (d / "labels_short.txt").write_text("\n".join(["a", "b"] * 10) + "\n")
    (d / "labels_gap.txt").write_text("a\nb\n\nc\n" + "\n".join(["a", "b", "c"] * 19) + "\n")
    cfgs = {
        "tab.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods:\n\t- lp\n",
        "seedstr.yaml": 'encoders: [glove-50]\nsuites: [r8]\nseeds: "0,1"\n',
        "pct.yaml": "encoders: [glove-50]\nsuites: [r8]\nfractions: [10%]\n",
        "storenull.yaml": "encoders: [glove-50]\nsuites: [r8]\nstore:\n",
        "no.yaml": "encoders: [glove-50]\nsuites: [r8]\nselection: [no]\n",
        "dup.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [lp]\nseeds: [0]\nmethods: [mlp]\n",
        "dup_nested.yaml": "pairs: [[glove-50, r8]]\nmethods: [{name: nmtune, params: {lam: 0.1, lam: 1}}]\n",
        "lam_big.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: nmtune, params: {lam: big}}]\n",
        "batch0.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: mlp, params: {batch_size: 0}}]\n",
        "lr_neg.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{lp: {lr: -3e-4}}]\n",
        "logreg_c.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: logreg, params: {C: zero}}]\n",
        "params_list.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: lp, params: [lr, 0.1]}]\n",
        "act.yaml": "encoders: [glove-50]\nsuites: [r8]\nmethods: [{name: mlp, params: {schedule: cosin}}]\n",
        "latin.yaml": "encoders: [glove-50]\nsuites: [r8]\nstore: caf\xe9.sqlite\n",
        "pairs_str.yaml": "pairs: [glove-50, r8]\n",
        "nothing.yaml": "encoders: []\nsuites: []\nmethods: [lp]\n",
        "ft_missing.yaml": "file_tasks: [{name: t, train: nope.npz, test: nope.npz}]\n",
        "ft_dup.yaml": "file_tasks: [{name: t, train: X.npy, test: X.npy}, {name: t, train: X.npy, test: X.npy}]\n",
        "ft_scalar.yaml": "file_tasks: X.npy\n",
    }
    for name, text in cfgs.items():
        data = text.encode("latin-1") if name == "latin.yaml" else text.encode()
        (d / name).write_bytes(data)
    return d


CASES = [
    ("tune {d}/dangling.npy --labels {d}/y.npy --out {d}/m.pt", "does not exist"),
    ("analyze {d}/dangling.npy --no-plot", "dangling.npy"),
    ("analyze {d}/dir.npy", "dir.npy"),
    ("analyze {d}/X0.npy --no-plot", "(60, 0)"),
    ("tune {d}/X0.npy --labels {d}/y.npy --out {d}/m.pt", "0 feature"),
    ("analyze {d}/X3d.npy --no-plot", "2-D"),
    ("analyze {d}/X_nan_one.npy --no-plot --out {d}/o1", "row 7, column 3"),
    ("tune {d}/X_nan_one.npy --labels {d}/y.npy --out {d}/m.pt", "NaN (first at row 7"),
    ("tune {d}/inf.csv --method logreg --out {d}/m.pt", "inf.csv"),
    ("tune {d}/huge.csv --method logreg --out {d}/m.pt", "beyond float32"),
    ("tune {d}/X.npy --labels {d}/labels_short.txt --out {d}/m.pt", "20 labels"),
    ("tune {d}/X.npy --labels {d}/labels_gap.txt --out {d}/m.pt", "missing label"),
    ("tune {d}/X.npy --labels {d}/y.npy --eval {d}/Xwide.npy --eval-labels {d}/y.npy --out {d}/m.pt", "9"),
    ("run --config {d}/tab.yaml", "never tabs"),
    ("run --config {d}/seedstr.yaml", "'0,1'"),
    ("run --config {d}/pct.yaml", "0.1 for 10 %"),
    ("run --config {d}/storenull.yaml", "store must not be null"),
    ("run --config {d}/no.yaml", "quote the word"),
    ("run --config {d}/dup.yaml", "duplicate key 'methods' on lines 3 and 5"),
    ("run --config {d}/dup_nested.yaml", "duplicate key 'lam'"),
    ("run --config {d}/lam_big.yaml", "lam must be a number"),
    ("run --config {d}/batch0.yaml", "batch_size must be an integer >= 2"),
    ("run --config {d}/lr_neg.yaml", "lr must be a number > 0"),
    ("run --config {d}/logreg_c.yaml", "'C' parameter"),
    ("run --config {d}/params_list.yaml", "must be a mapping"),
    ("run --config {d}/act.yaml", "Did you mean 'cosine'"),
    ("run --config {d}/latin.yaml", "not UTF-8"),
    ("run --config {d}/pairs_str.yaml", "pairs[0] must hold 2 values"),
    ("run --config {d}/nothing.yaml", "names nothing to run"),
    ("run --config {d}/ft_missing.yaml", "nope.npz"),
    ("run --config {d}/ft_dup.yaml", "must be unique"),
    ("run --config {d}/ft_scalar.yaml", "file_tasks[0] must be a mapping"),
    ("run --config demo --jobs 0", "jobs"),
    ("run --config dmeo", "Did you mean 'demo'"),
    ("report --store {d}/X.npy --out {d}/rep", "not an SQLite file"),
    ("report --store {d}/dir.npy --out {d}/rep", "is a folder"),
]

OK_CASES = [
    ("analyze {d}/link.npy --no-plot --out {d}/lk", "sve"),
    ("tune {d}/X16.npy --labels {d}/y.npy --method logreg --out {d}/m16.pt", "saved"),
    ("tune {d}/Xint.npy --labels {d}/y.npy --method logreg --out {d}/mi.pt", "saved"),
    ("tune {d}/X.npy --labels {d}/labels_hdr.txt --method logreg --out {d}/mh.pt", "saved"),
    ("tune {d}/X.npy --labels {d}/y_str.npy --method logreg --out {d}/ms.pt", "saved"),
]


def _run(d, template, capsys):
    argv = template.replace("{d}", str(d)).split()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[c[0].replace("{d}/", "") for c in CASES])
def test_new_user_gets_a_clear_error(d, capsys, argv, expected):
    code, _, err = _run(d, argv, capsys)
    assert code == 2, f"exit status {code}; stderr: {err}"
    assert "Traceback" not in err and expected in err, err


@pytest.mark.parametrize(("argv", "expected"), OK_CASES, ids=[c[0].replace("{d}/", "") for c in OK_CASES])
def test_new_user_files_that_just_work(d, capsys, argv, expected):
    code, out, err = _run(d, argv, capsys)
    assert code == 0, err
    assert expected in out
