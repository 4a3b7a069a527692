"""``nmtune study`` refuses bad options before anything is written."""

from nmtune.cli import main


def test_cli_rejects_a_negative_job_count(tmp_path, capsys):
    argv = ["study", "noisy-pretrain", "--out", str(tmp_path / "s"), "--jobs", "-1", "--no-progress"]
    assert main(argv) == 2
    assert "--jobs must be 0 (one per CPU core) or a positive count; received -1" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # refused before anything is written
