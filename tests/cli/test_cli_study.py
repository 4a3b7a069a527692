"""``nmtune study`` refuses bad options before anything is written."""

from nmtune.cli import main


def test_cli_rejects_a_negative_job_count(tmp_path, capsys):
    argv = ["study", "noisy-pretrain", "--out", str(tmp_path / "s"), "--jobs", "-1", "--no-progress"]
    assert main(argv) == 2
    assert "--jobs must be 0 (one per CPU core) or a positive count; received -1" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # refused before anything is written


def test_cli_methods_override_is_validated(tmp_path, capsys):
    argv = [
        "study",
        "noisy-pretrain",
        "--out",
        str(tmp_path / "s"),
        "--methods",
        "lp",
        "nmtune-cvv",
        "--no-progress",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Unknown method 'nmtune-cvv'" in err and "'nmtune-cv'" in err  # lists the valid names
    argv[argv.index("nmtune-cvv")] = "mlp"
    argv.remove("lp")
    assert main(argv) == 2  # the linear probe of the claims must be among the methods
    assert "probe 'lp' must be one of the study's methods ['mlp']" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
