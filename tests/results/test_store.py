"""The SQLite results store: records in one transaction, and paths that are not a store refused."""

import os

import pytest

from nmtune.results import ResultsStore


def _record(run_id, method="lp", seed=0):
    cfg = {
        "encoder": "e",
        "suite": "s",
        "task": "t",
        "method": method,
        "selection": "paper",
        "fraction": 1.0,
        "seed": seed,
        "noise": 0.0,
    }
    return {"run_id": run_id, "config": cfg, "status": "done", "id_accuracy": 0.5, "spectra": {"d": [1.0]}}


def test_put_replaces_by_run_id_and_filters(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as st:
        st.put(_record("a"))
        st.put(_record("a", seed=0))
        st.put(_record("b", method="mlp"))
        assert len(st) == 2 and st.done_ids() == {"a", "b"}
        assert [r["run_id"] for r in st.records(method="mlp")] == ["b"]
        assert "spectra" not in st.records()[0] and st.records(spectra=True)[0]["spectra"] == {"d": [1.0]}
        with pytest.raises(ValueError, match="filterable columns"):
            st.records(colour="red")
        with pytest.raises(ValueError, match="needs the key 'config'"):
            st.put({"run_id": "x", "status": "done"})
        assert st.integrity_check() == "ok"
        assert st.delete(["a"]) == 1 and len(st) == 1


@pytest.mark.parametrize("kind", ["folder", "text", "empty", "missing"])
def test_report_refuses_what_is_not_a_store_and_never_creates_one(tmp_path, kind, capsys):
    from nmtune.cli import main

    path = tmp_path / "store.sqlite"
    if kind == "folder":
        path.mkdir()
    elif kind == "text":
        path.write_text("hello, not a database")
    elif kind == "empty":
        path.touch()
    before = path.read_bytes() if path.is_file() else None
    assert main(["report", "--store", str(path), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert {
        "folder": "is a folder",
        "text": "not an nmtune results store",
        "empty": "run a grid first",
        "missing": "run a grid first",
    }[kind] in err
    assert (path.read_bytes() if path.is_file() else None) == before and (kind == "missing") == (
        not path.exists()
    )


def test_an_unwritable_store_folder_is_explained(tmp_path):

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises((ValueError, PermissionError)):
        ResultsStore(ro / "sub" / "r.sqlite")
