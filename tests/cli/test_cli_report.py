"""``nmtune report`` refuses what is not a results store and never creates one."""

import pytest


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
