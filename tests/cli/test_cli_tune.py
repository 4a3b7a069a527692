"""``nmtune tune``: the command line over :func:`nmtune.apps.tune`."""

from nmtune.apps.tune import load_tuned
from nmtune.cli import main


def test_tune_cli_and_missing_labels(tmp_path, tune_files, capsys):
    assert (
        main(
            [
                "tune",
                str(tmp_path / "train.npz"),
                "--method",
                "logreg",
                "--param",
                "C=0.5",
                "--out",
                str(tmp_path / "c.pt"),
            ]
        )
        == 0
    )
    assert '"accuracy"' in capsys.readouterr().out
    assert load_tuned(tmp_path / "c.pt")["config"]["params"] == {"C": 0.5}
    assert (
        main(["tune", str(tmp_path / "test.npy"), "--method", "logreg", "--out", str(tmp_path / "x.pt")]) == 2
    )
    assert "has no labels" in capsys.readouterr().err


def test_tune_refuses_bad_params_and_a_folder_before_training(tmp_path, tune_files, capsys, monkeypatch):
    from nmtune.apps import tune as tune_mod

    fitted = []
    original = tune_mod.build_estimator
    monkeypatch.setattr(tune_mod, "build_estimator", lambda *a, **k: fitted.append(a) or original(*a, **k))
    args = ["tune", str(tmp_path / "train.npz"), "--method", "nmtune", "--no-progress"]
    assert main([*args, "--param", "lamda=0.1", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "'lamda'" in err and "Did you mean 'lam'?" in err
    assert main([*args, "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert not fitted and not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_ctrl_c_during_the_fit_says_nothing_was_saved(tmp_path, tune_files, capsys, monkeypatch):
    from nmtune.heads import LogReg

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(LogReg, "fit", interrupted)
    out = tmp_path / "m.pt"
    code = main(["tune", str(tmp_path / "train.npz"), "--method", "logreg", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130 and "nothing was saved" in err and "kept" not in err and str(out) in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unwritable_out_and_unsaveable_params_fail_before_the_fit(tmp_path, tune_files, capsys, monkeypatch):
    from nmtune.heads import NMTuneCV

    def fail(self, *a, **k):
        raise AssertionError("fit was called")

    monkeypatch.setattr(NMTuneCV, "fit", fail)
    (tmp_path / "afile").write_text("x")
    args = ["tune", str(tmp_path / "train.npz"), "--method", "nmtune-cv", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "afile" / "m.pt")]) == 2
    assert "afile" in capsys.readouterr().err
    assert main([*args, "--param", "cv=-3", "--out", str(tmp_path / "m.pt")]) == 2
    assert "cv must be an integer >= 2" in capsys.readouterr().err


def test_the_help_lists_every_registered_head(capsys):
    import pytest

    from nmtune.heads import list_heads

    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for name in list_heads():
        assert name in shown.replace("- ", "-")
