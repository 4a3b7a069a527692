"""Peak memory of streamed feature extraction: a checkpoint's features of 20,000 images at 224 px, from disk.

1. Writes an image folder of N JPEG images (default 20,000, 20 classes, 224 x 224 RGB, smooth random
   colours) under --root (once; kept for reruns).
2. Trains a checkpoint of --arch (default ``hf-resnet18``; ``small-resnet`` is a width-16 ResNet-8 with a
   stride-2 stem) at 224 px on 20 of them (one step: the weights do not matter, the cost and memory do).
3. In a fresh process, extracts the (N, 512) features with :func:`nmtune.pretrain.extract_features`
   (--workers DataLoader processes decoding, --batch-size images per forward pass, features written to a
   ``.npy`` memory map) while a thread samples the resident memory of the process and of its workers every
   0.2 s. Prints the peak of the process alone, the peak of the sum over the process tree (an upper bound:
   pages shared by the forked workers are counted in each), ``ru_maxrss`` of the process and of its largest
   child, the images/s and the device.

Usage: PYTHONPATH=src python benchmarks/pretrain_extract_memory.py [--root /work/scratch/pretrain/extract20k]
       [--n 20000] [--arch hf-resnet18] [--workers 2] [--batch-size 64] [--threads 2]
"""

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def _write_folder(root: Path, n: int, classes: int = 20, size: int = 224) -> None:
    from PIL import Image

    done = root / ".complete"
    if done.exists():
        return
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for i in range(n):
        folder = root / "train" / f"class{i % classes:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size, size), Image.BICUBIC)
        noise = rng.integers(-12, 13, (size, size, 3))
        arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"{i:06d}.jpg", quality=90)
    done.write_text(f"{n} images in {time.perf_counter() - t0:.0f} s\n")


def _rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status", encoding="utf-8"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def _extract(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from nmtune.pretrain.features import extract_features

    me, peak = os.getpid(), {"self": 0, "tree": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            own = _rss_kib(me)
            tree = own + sum(_rss_kib(c) for c in _children(me))
            peak["self"], peak["tree"] = max(peak["self"], own), max(peak["tree"], tree)
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    feats = extract_features(
        args.ckpt, f"image-folder:{args.root}?mode=RGB", "train", batch_size=args.batch_size,
        workers=args.workers, out=args.features, progress=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    n = feats.X.shape[0]
    finite = bool(np.isfinite(feats.X).all())
    print(
        f"checkpoint {args.ckpt}; features {feats.X.shape} float32 written to {args.features} (finite: {finite})"
    )
    print(f"{n} images in {elapsed:.0f} s: {n / elapsed:.1f} img/s, {args.workers} workers, batch {args.batch_size}, "
          f"{args.threads} torch threads, CPU")  # fmt: skip
    mib = 1024
    print(f"peak resident memory, extraction process alone (sampled): {peak['self'] / mib:.0f} MiB")
    print(f"peak resident memory, process + workers summed (sampled, shared pages counted twice): "
          f"{peak['tree'] / mib:.0f} MiB")  # fmt: skip
    print(f"ru_maxrss: process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mib:.0f} MiB, largest worker "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mib:.0f} MiB")  # fmt: skip


def main() -> None:
    """Generate the folder, a checkpoint, then measure the extraction in a fresh process."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="/work/scratch/pretrain/extract20k")
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--arch", default="hf-resnet18")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--phase", default="all", choices=["all", "extract"])
    p.add_argument("--ckpt")
    p.add_argument("--features")
    args = p.parse_args()
    root = Path(args.root)
    args.ckpt = args.ckpt or str(root / f"{args.arch}-224.pt")
    args.features = args.features or str(root / "features.npy")
    if args.phase == "extract":
        return _extract(args)
    _write_folder(root, args.n)
    print((root / ".complete").read_text().strip(), "(generated once)")
    if not Path(args.ckpt).exists():
        from nmtune.pretrain import PretrainConfig, pretrain

        cfg = PretrainConfig(dataset=f"image-folder:{root}?mode=RGB", arch=args.arch, image_size=224, epochs=1,
                             batch_size=20, n_train=20, n_test=20, width=16, stem_stride=2)  # fmt: skip
        pretrain(cfg, out=args.ckpt, progress=False, device="cpu")
    cmd = [sys.executable, __file__, "--phase", "extract", "--root", str(root), "--ckpt", args.ckpt, "--features",
           args.features, "--workers", str(args.workers), "--batch-size", str(args.batch_size), "--threads",
           str(args.threads)]  # fmt: skip
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
