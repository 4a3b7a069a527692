"""A run stopped right after a periodic checkpoint and resumed ends with the weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from nmtune.pretrain import ContrastiveConfig, PretrainConfig, TrainOptions, pretrain, pretrain_contrastive


class _Killed(Exception):
    pass


def _stop_after_first_state(monkeypatch, modules):
    """Make the first training-state write also end the run, as a kill right after it would."""
    from nmtune.pretrain import resume

    real = resume.save_state

    def save_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise _Killed

    for module in modules:
        monkeypatch.setattr(module, "save_state", save_then_die)


def _same(a, b):
    for part in ("state_dict",) + (("image_projection", "text_projection") if "text_projection" in a else ()):
        for k, v in a[part].items():
            torch.testing.assert_close(b[part][k], v, rtol=0, atol=1e-5)
    assert a["history"] == b["history"]


def _digits():
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    return x[:600], d.target[:600], x[600:700], d.target[600:700], 10


@pytest.mark.parametrize("streamed", [False, True])
def test_supervised_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch, rgb_folder, streamed):
    from nmtune.pretrain import train, train_stream

    if streamed:
        cfg = PretrainConfig(dataset=f"image-folder:{rgb_folder}?mode=RGB", image_size=24, epochs=2, batch_size=16,
                             n_train=None, n_test=None, width=4, noise=0.2)  # fmt: skip
        data = None
    else:
        cfg = PretrainConfig(
            dataset="optdigits", n_train=200, n_test=50, epochs=2, batch_size=32, width=4, noise=0.2
        )
        data = _digits()
    whole = pretrain(cfg, data=data, progress=False, device="cpu")
    out = tmp_path / "c.pt"
    opts = TrainOptions(checkpoint_every=3)
    with monkeypatch.context() as m:
        _stop_after_first_state(m, [train, train_stream])
        with pytest.raises(_Killed):
            pretrain(cfg, data=data, out=out, progress=False, device="cpu", options=opts)
    state = tmp_path / "c.state.pt"
    assert state.is_file() and not out.exists()
    resumed = pretrain(cfg, data=data, out=out, progress=False, device="cpu",
                       options=TrainOptions(checkpoint_every=3, resume=True))  # fmt: skip
    _same(whole, resumed)
    assert out.is_file() and not state.exists()  # the state is removed once the checkpoint is written
    again = pretrain(cfg, data=data, out=out, progress=False, device="cpu", options=TrainOptions(resume=True))
    assert again["wall_time_s"] == resumed["wall_time_s"]  # finished: returned as it is


def test_contrastive_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    from nmtune.pretrain import contrastive_loop

    cfg = ContrastiveConfig(dataset="glyphs-pretrain:12", epochs=2, width=4, batch_size=64, embed_dim=16,
                            text_hidden=None, n_train=192, n_test=48, noise=0.2)  # fmt: skip
    whole = pretrain_contrastive(cfg, progress=False, device="cpu")
    out = tmp_path / "c.pt"
    with monkeypatch.context() as m:
        _stop_after_first_state(m, [contrastive_loop])
        with pytest.raises(_Killed):
            pretrain_contrastive(
                cfg, out=out, progress=False, device="cpu", options=TrainOptions(checkpoint_every=2)
            )
    resumed = pretrain_contrastive(cfg, out=out, progress=False, device="cpu",
                                   options=TrainOptions(checkpoint_every=2, resume=True))  # fmt: skip
    _same(whole, resumed)


def test_a_state_of_another_configuration_is_refused(tmp_path, monkeypatch):
    from nmtune.pretrain import train

    cfg = PretrainConfig(dataset="optdigits", n_train=100, n_test=50, epochs=1, batch_size=16, width=4)
    out = tmp_path / "c.pt"
    with monkeypatch.context() as m:
        _stop_after_first_state(m, [train])
        with pytest.raises(_Killed):
            pretrain(cfg, data=_digits(), out=out, progress=False, options=TrainOptions(checkpoint_every=2))
    other = PretrainConfig(
        dataset="optdigits", n_train=100, n_test=50, epochs=1, batch_size=16, width=4, seed=1
    )
    with pytest.raises(ValueError, match="another configuration"):
        pretrain(other, data=_digits(), out=out, progress=False, options=TrainOptions(resume=True))
    with pytest.raises(ValueError, match="needs `out`"):
        pretrain(cfg, data=_digits(), progress=False, options=TrainOptions(checkpoint_every=2))


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path, rgb_folder):
    """A real SIGKILL of `nmtune pretrain` during training, then the same command with --resume."""
    argv = [sys.executable, "-m", "nmtune", "pretrain", "--dataset", f"image-folder:{rgb_folder}?mode=RGB",
            "--image-size", "24", "--arch", "small-resnet", "--width", "4", "--batch-size", "8", "--epochs", "4",
            "--noise", "0.25", "--n-train", "0", "--n-test", "0", "--no-progress"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    whole, killed = tmp_path / "whole.pt", tmp_path / "killed.pt"
    subprocess.run(argv + ["--out", str(whole)], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(argv + ["--out", str(killed), "--checkpoint-every", "5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    state = tmp_path / "killed.state.pt"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before its first training state; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state.exists() and not killed.exists()
    done = subprocess.run(argv + ["--out", str(killed), "--checkpoint-every", "5", "--resume"], env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    assert "resuming at step" in done.stderr
    a = torch.load(whole, weights_only=True)
    b = torch.load(killed, weights_only=True)
    for k, v in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][k], v, rtol=0, atol=1e-5)
    assert a["history"] == b["history"] and not state.exists()
