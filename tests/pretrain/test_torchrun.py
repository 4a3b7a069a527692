"""`torchrun --nproc_per_node 2` (gloo) with a transformers ResNet on streamed RGB images."""

import os
import subprocess
import sys

import pytest
import torch


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process_with_two_micro_batches(rgb_folder, tmp_path):
    """Rank r trains on batch[r::2]; one process with --grad-accum 2 on batch[k::2]: the same gradients.

    BatchNorm normalises each slice by its own statistics in both runs, so the parameters agree (float rounding
    aside); the running statistics do not (DDP keeps rank 0's, accumulation updates them twice a step).
    """
    from nmtune.pretrain.architectures import build_backbone

    args = ["-m", "nmtune", "pretrain", "--dataset", f"image-folder:{rgb_folder}?mode=RGB", "--image-size", "32",
            "--arch", "hf-resnet18", "--noise", "0.25", "--epochs", "1", "--batch-size", "24", "--lr", "0.05",
            "--device", "cpu", "--no-progress"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    two, one = tmp_path / "two.pt", tmp_path / "one.pt"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    subprocess.run(launcher + args + ["--out", str(two)], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable] + args + ["--out", str(one), "--grad-accum", "2"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    a, b = torch.load(two, weights_only=True), torch.load(one, weights_only=True)
    assert a["world_size"] == 2 and a["rank_disagreement"] == 0.0  # both ranks end with identical tensors
    assert b["world_size"] == 1 and b["grad_accum"] == 2
    params = {name for name, _ in build_backbone("hf-resnet18", in_channels=3).named_parameters()}
    assert params and params <= set(a["state_dict"])
    for k in params:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k], rtol=1e-4, atol=1e-5)
    assert a["realised_noise_rate"] == b["realised_noise_rate"] == 0.25
