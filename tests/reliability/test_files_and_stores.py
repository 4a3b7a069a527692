"""Files others can read, folders in the way, and results stores that are foreign, read-only or damaged.

Permissions come from one place (the atomic write of ``_internal/files.py``); stores from ``ResultsStore``.
Every case is a clear error (naming the path and the fix) or the correct behaviour.
"""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from nmtune._internal.files import atomic_path, atomic_write_text, ensure_folder
from nmtune.cli import main
from nmtune.results import ResultsStore
from nmtune.results.store import CorruptRecordError, ReadOnlyStoreError


def _cli(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def umask():
    """Set the umask for one test and restore it."""
    old = os.umask(0o022)

    def set_(mask):
        os.umask(mask)

    yield set_
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------------------- permissions
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write_text(tmp_path / "a.json", "{}")
    with atomic_path(tmp_path / "b.npy", suffix=".npy") as tmp:
        np.save(tmp, np.arange(3))
    assert _mode(tmp_path / "a.json") == expected and _mode(tmp_path / "b.npy") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "kept.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_head_files_spectra_and_the_feature_cache_are_readable_by_others(tmp_path, umask, blobs, monkeypatch):
    umask(0o022)
    from nmtune.apps.analyze import analyze_feature_file
    from nmtune.cache import FeatureCache, get_features
    from nmtune.heads import LinearProbe

    X, y, _, _ = blobs
    LinearProbe(epochs=1, min_steps=0).fit(X, y).save(tmp_path / "head.pt")
    np.save(tmp_path / "X.npy", X)
    out = analyze_feature_file(tmp_path / "X.npy", tmp_path / "spec", plot=False)
    feats = get_features(
        "glove-50", "cap:40:reuters-r8", "train", cache=FeatureCache(tmp_path / "cache"), progress=False
    )
    entry = feats.record["path"]
    for path in (
        tmp_path / "head.pt",
        out["json"],
        f"{entry}/X.npy",
        f"{entry}/y.npy",
        f"{entry}/record.json",
    ):
        assert _mode(path) == 0o644, path


# --------------------------------------------------------------------------------------- folders in the way
@pytest.mark.parametrize(
    "argv",
    [
        "analyze {d}/X.npy --out {d}/afile",
        "analyze {d}/X.npy --out {d}/afile/sub",
        "extract --encoder glove-50 --dataset cap:40:reuters-r8 --cache-dir {d}/afile",
        "report --store {d}/r.sqlite --out {d}/afile",
    ],
)
def test_a_file_where_a_folder_is_expected(tmp_path, capsys, argv):
    (tmp_path / "afile").write_text("x")
    np.save(tmp_path / "X.npy", np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32))
    with ResultsStore(tmp_path / "r.sqlite") as st:
        st.put(_record("a"))
    code, _, err = _cli(argv.replace("{d}", str(tmp_path)).split(), capsys)
    assert code == 2 and "afile" in err and "is a file" in err and "Errno" not in err, err


def test_ensure_folder_creates_and_explains(tmp_path):
    assert ensure_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError, match="is inside '.*/f', which is a file"):
        ensure_folder(tmp_path / "f" / "g", "report folder")


def test_saving_a_head_into_a_missing_folder_names_the_path_not_a_temp_file(tmp_path, blobs):
    from nmtune.heads import LinearProbe

    X, y, _, _ = blobs
    head = LinearProbe(epochs=1, min_steps=0).fit(X, y)
    with pytest.raises(FileNotFoundError) as info:
        head.save(tmp_path / "missing" / "head.pt")
    assert "missing/head.pt" in str(info.value) and "does not exist" in str(info.value)
    assert ".head.pt." not in str(info.value)


# --------------------------------------------------------------------------------------- stores
def _record(run_id, *, seed=0, done=True):
    cfg = {"encoder": "e", "suite": "s", "task": "t", "method": "lp", "selection": "paper", "fraction": 1.0}
    cfg.update(seed=seed, noise=0.0)
    rec = {"run_id": run_id, "config": cfg, "status": "done" if done else "failed"}
    if done:
        rec["domains"] = {"test": {"kind": "id", "accuracy": 0.5 + seed / 10, "macro_f1": 0.5}}
    return rec


def test_another_applications_sqlite_database_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table users (id int, name text)")
        con.execute("insert into users values (1, 'ann')")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not an nmtune results store.*'users'.*will not add its tables"):
        ResultsStore(path)
    code, _, err = _cli(["run", "--config", "demo", "--store", path], capsys)
    assert code == 2 and "app.sqlite" in err and "not an nmtune results store" in err
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert tables == {"users"} and path.read_bytes() == before


def test_a_database_with_a_foreign_runs_table_or_application_id_is_refused(tmp_path):
    with sqlite3.connect(tmp_path / "runs.sqlite") as con:
        con.execute("create table runs (a int)")
    with pytest.raises(ValueError, match="lacks the columns"):
        ResultsStore(tmp_path / "runs.sqlite")
    with sqlite3.connect(tmp_path / "app.sqlite") as con:
        con.execute("pragma application_id = 1234")
        con.execute("create table meta (key text)")
    with pytest.raises(ValueError, match="another application"):
        ResultsStore(tmp_path / "app.sqlite")


def test_a_store_is_marked_and_an_unmarked_older_store_still_opens(tmp_path):
    with ResultsStore(tmp_path / "new.sqlite") as st:
        st.put(_record("a"))
    with sqlite3.connect(tmp_path / "new.sqlite") as con:
        assert con.execute("pragma application_id").fetchone()[0] == 0x4E4D5455
        con.execute("pragma application_id = 0")  # as written before stores were marked
    with ResultsStore(tmp_path / "new.sqlite") as st:
        assert st.done_ids() == {"a"}


def test_a_read_only_store_reads_and_refuses_writes_clearly(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as st:
        st.put(_record("a"))
    with ResultsStore(path, readonly=True) as st:
        assert st.readonly and st.done_ids() == {"a"} and len(st.records()) == 1
        with pytest.raises(ReadOnlyStoreError, match="read-only.*copy it to a writable place"):
            st.put(_record("b"))


def test_read_only_is_detected_from_the_file_system(tmp_path, monkeypatch):
    import nmtune.results.store as store_module

    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as st:
        st.put(_record("a"))
    monkeypatch.setattr(store_module, "_writable", lambda p: False)
    with ResultsStore(path) as st:
        assert st.readonly and st.done_ids() == {"a"}
    with pytest.raises(ReadOnlyStoreError, match="Cannot create the results store"):
        ResultsStore(tmp_path / "new.sqlite")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_store_in_a_read_only_folder_can_be_reported(tmp_path):  # pragma: no cover - runs as a normal user
    from nmtune.report import build_report

    folder = tmp_path / "ro"
    folder.mkdir()
    with ResultsStore(folder / "r.sqlite") as st:
        st.put(_record("a"))
    folder.chmod(0o555)
    try:
        paths = build_report(folder / "r.sqlite", tmp_path / "rep", figures=False)
        assert paths.markdown.exists()
    finally:
        folder.chmod(0o755)


def test_grid_on_a_read_only_store_runs_nothing_when_everything_is_stored(tmp_path, monkeypatch):
    import nmtune.results.store as store_module
    from nmtune.protocol import example_task, run_grid
    from nmtune.protocol.config import GridConfig

    tasks = [example_task(n_train=60)]
    cfg = GridConfig(methods=("logreg",), seeds=(0,))
    first = run_grid(cfg, tasks=tasks, store=tmp_path / "r.sqlite", progress=False)
    monkeypatch.setattr(store_module, "_writable", lambda p: False)
    again = run_grid(cfg, tasks=tasks, store=tmp_path / "r.sqlite", progress=False)
    assert first.n_done == 1 and again.n_skipped == 1 and again.n_done == 0
    with pytest.raises(ReadOnlyStoreError, match="1 of the grid's 2 runs are not in it"):
        run_grid(cfg.replace(seeds=[0, 1]), tasks=tasks, store=tmp_path / "r.sqlite", progress=False)


def _corrupt(path, run_id, body):
    with sqlite3.connect(path) as con:
        con.execute("update runs set record = ? where run_id = ?", (body, run_id))


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"config": 3}', '{"config": {"encoder": "e"}}'])
def test_a_corrupt_record_names_its_run(tmp_path, body):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as st:
        st.put(_record("good"))
        st.put(_record("bad1", seed=1))
    _corrupt(path, "bad1", body)
    with ResultsStore(path) as st:
        with pytest.raises(CorruptRecordError, match="run 'bad1'.*delete"):
            st.records()
        assert [r["run_id"] for r in st.records(errors="skip")] == ["good"] and st.skipped == ["bad1"]


def test_report_skips_a_corrupt_record_and_says_which(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as st:
        for seed in range(3):
            st.put(_record(f"r{seed}", seed=seed))
    _corrupt(path, "r1", "{truncated")
    code, out, err = _cli(["report", "--store", path, "--out", tmp_path / "rep", "--no-figures"], capsys)
    assert code == 0 and "r1" in err and "could not be read" in err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "r1" in md and "2 finished runs" in md
    _corrupt(path, "r0", "{")
    _corrupt(path, "r2", "{")
    code, _, err = _cli(["report", "--store", path, "--out", tmp_path / "rep2"], capsys)
    assert code == 2 and "unreadable" in err


def test_single_seed_tables_print_na_not_zero_spread(tmp_path):
    from nmtune.report import build_report

    with ResultsStore(tmp_path / "r.sqlite") as st:
        st.put(_record("a"))
    md = build_report(tmp_path / "r.sqlite", tmp_path / "rep", figures=False).markdown.read_text()
    assert "50.00 ± n/a" in md and "± 0.00" not in md


# --------------------------------------------------------------------------------------- your own features
def _files(tmp_path):
    from nmtune.protocol import example_task

    t = example_task(n_train=120)
    names = np.array([f"digit{v}" for v in range(10)])
    np.savez(tmp_path / "train.npz", X=t.X_train, y=names[t.y_train])
    np.save(tmp_path / "test.npy", t.evals[0].X)
    (tmp_path / "test_y.txt").write_text("\n".join(names[t.evals[0].y]) + "\n")
    np.savez(tmp_path / "noisy.npz", X=t.evals[1].X, y=names[t.evals[1].y])
    return t


GRID = """file_tasks:
  - name: digits
    train: train.npz
    test: test.npy
    ood: {noisy: noisy.npz}
    labels: {test: test_y.txt}
methods: [logreg, {name: lp, params: {lr: 1e-1}}]
seeds: [0]
epochs: 2
min_steps: 0
store: out/results.sqlite
report_dir: out/report
"""


def test_nmtune_run_on_your_own_feature_files(tmp_path, capsys, monkeypatch):
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    _files(cfg_dir)
    (cfg_dir / "grid.yaml").write_text(GRID)
    monkeypatch.chdir(
        tmp_path
    )  # feature files: relative to the config file; the store: to the working folder
    code, out, err = _cli(["run", "--config", cfg_dir / "grid.yaml", "--no-progress"], capsys)
    assert code == 0, err
    assert "features  files:" in out and "2 runs done now" in out
    with ResultsStore(tmp_path / "out" / "results.sqlite") as st:
        recs = st.records()
    assert {r["config"]["method"] for r in recs} == {"logreg", "lp"}
    assert set(recs[0]["domains"]) == {"test", "noisy"} and recs[0]["domains"]["noisy"]["kind"] == "ood"
    assert recs[0]["domains"]["test"]["accuracy"] > 0.5
    code, out, _ = _cli(["run", "--config", cfg_dir / "grid.yaml", "--no-progress"], capsys)
    assert code == 0 and "2 already stored" in out
    noisy = np.load(cfg_dir / "noisy.npz")
    np.savez(cfg_dir / "noisy.npz", X=noisy["X"] * 2, y=noisy["y"])
    code, out, _ = _cli(["run", "--config", cfg_dir / "grid.yaml", "--no-progress"], capsys)
    assert code == 0 and "2 runs done now" in out  # a changed file is new data: nothing stale is reused


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (("test: test.npy", "test: nope.npy"), "nope.npy"),
        (("labels: {test: test_y.txt}", "labels: {}"), "holds no labels"),
        (("labels: {test: test_y.txt}", "labels: {tset: test_y.txt}"), "Did you mean 'test'"),
        (("ood: {noisy: noisy.npz}", "ood: {train: noisy.npz}"), "not 'train'"),
        (("    test: test.npy\n    ood: {noisy: noisy.npz}\n", ""), "no evaluation file"),
        (
            ("name: digits", "nam: digits"),
            r"line 2: file_tasks\[0\]: Unknown FileTask key 'nam'. Did you mean 'name'",
        ),
        (
            ("{name: lp, params: {lr: 1e-1}}", "{name: lp, params: {lr: fast}}"),
            r"line 7: methods\[1\].params.lr",
        ),
    ],
)
def test_bad_file_task_configs(tmp_path, capsys, monkeypatch, change, pattern):
    import re

    _files(tmp_path)
    (tmp_path / "grid.yaml").write_text(GRID.replace(*change))
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["run", "--config", tmp_path / "grid.yaml", "--no-progress"], capsys)
    assert code == 2 and re.search(pattern, err), err
    assert not (tmp_path / "out").exists()  # nothing created for a wrong grid


def test_file_task_with_an_unknown_evaluation_class_or_nan_features(tmp_path):
    from nmtune.protocol.config import FileTask
    from nmtune.protocol.file_tasks import file_feature_tasks

    _files(tmp_path)
    (tmp_path / "odd_y.txt").write_text("\n".join(["digit1"] * 199 + ["cat"]) + "\n")
    ft = FileTask(
        "d",
        str(tmp_path / "train.npz"),
        str(tmp_path / "test.npy"),
        labels={"test": str(tmp_path / "odd_y.txt")},
    )
    with pytest.raises(ValueError, match="absent from the training labels: \\['cat'\\]"):
        file_feature_tasks([ft])
    X = np.load(tmp_path / "test.npy")
    X[3, 2] = np.nan
    np.save(tmp_path / "test.npy", X)
    ft = FileTask(
        "d",
        str(tmp_path / "train.npz"),
        str(tmp_path / "test.npy"),
        labels={"test": str(tmp_path / "test_y.txt")},
    )
    with pytest.raises(ValueError, match=r"test.npy.*contain NaN \(first at row 3, column 2\)"):
        file_feature_tasks([ft])


def test_failed_runs_say_why_on_the_console(tmp_path):
    from nmtune.apps.run import run_config
    from nmtune.protocol.config import config_from_dict

    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    y = np.array(
        ["a"] * 39 + ["b"]
    )  # one row of class b: the stratified validation split for C cannot hold it
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "test.npz", X=X, y=y)
    cfg = config_from_dict(
        {
            "file_tasks": [
                {"name": "rare", "train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}
            ],
            "methods": [{"name": "lp", "params": {"validation_fraction": 0.5, "early_stopping": True}}],
            "seeds": [0],
            "epochs": 1,
            "store": str(tmp_path / "f.sqlite"),
        }
    )
    lines = []
    out = run_config(cfg, progress=False, report=False, echo=lines.append)
    text = "\n".join(lines)
    assert out["grid"].n_failed == 1
    assert "1 run(s) failed:" in text and "ValueError" in text and "rare/lp/seed 0" in text


def test_a_damaged_store_file_is_named_with_the_way_out(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as st:
        for i in range(30):
            st.put({**_record(f"r{i}", seed=i), "pad": "x" * 3000})
    data = bytearray(path.read_bytes())
    data[4096:] = b"\x07" * (len(data) - 4096)  # every page after the first overwritten
    path.write_bytes(bytes(data))
    code, _, err = _cli(["report", "--store", path, "--out", tmp_path / "rep", "--no-figures"], capsys)
    assert code == 2 and "r.sqlite" in err and "Traceback" not in err, err
    assert "malformed" in err or "not a database" in err
