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


def test_an_unwritable_store_folder_is_explained(tmp_path):

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises((ValueError, PermissionError)):
        ResultsStore(ro / "sub" / "r.sqlite")
