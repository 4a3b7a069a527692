"""Pre-training throughput of every registered architecture: images/s of full SGD steps at 64 and 224 px.

A step is what the trainer does: forward, cross-entropy over 1000 classes, backward, SGD (Nesterov) update, on
a synthetic batch already on the device (data loading is left out; see --folder for the decoding workers).
Each architecture gets one untimed warm-up step, then --steps timed ones. Prints the device (CPU model and
threads, or the GPU), the forward FLOPs per image (torch's FLOP counter, multiply-adds counted as 2) and the
steps' images/s. On a GPU: --device cuda --amp --channels-last (bf16/fp16 as the trainer uses them).

Usage:
  PYTHONPATH=src python benchmarks/pretrain_throughput.py [--threads 2] [--steps 3] [--batch-size N]
  PYTHONPATH=src python benchmarks/pretrain_throughput.py --device cuda --amp --channels-last --batch-size 256
  PYTHONPATH=src python benchmarks/pretrain_throughput.py --folder /data/imagenet/train --workers 8  # decoding
"""

import argparse
import platform
import time

import torch
import torch.nn.functional as F

ARCHS = ("small-resnet", "hf-resnet18", "hf-resnet50", "hf-vit-s16")


def _device_name(dev: torch.device, threads: int) -> str:
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)} (torch {torch.__version__}, CUDA {torch.version.cuda})"
    model = platform.processor() or "CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {threads} torch threads (torch {torch.__version__})"


def _flops(model, size: int, dev) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size, device=dev))
    model.train()
    return counter.get_total_flops()


def _measure(arch: str, size: int, args, dev) -> tuple[float, float]:
    from nmtune.pretrain.architectures import build_backbone
    from nmtune.pretrain.models import Classifier

    torch.manual_seed(0)
    model = Classifier(build_backbone(arch, in_channels=3, image_size=size), 1000).to(dev)
    flops = _flops(model, size, dev)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler(dev.type, enabled=args.amp and dev.type == "cuda")
    dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16
    batch = args.batch_size or (32 if size <= 64 else 8)
    x = torch.randn(batch, 3, size, size, device=dev)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device=dev)

    def step():
        with torch.autocast(dev.type, dtype=dtype, enabled=args.amp):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up (allocations, kernel selection)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return flops, batch, args.steps * batch / (time.perf_counter() - t0)


def _decode_rate(folder: str, size: int, workers: int, n: int) -> float:
    """Images/s of the training loader alone (decode, random resized crop, flip) over ``n`` images."""
    from nmtune.datasets.image_sources import open_image_source
    from nmtune.datasets.streaming import StreamedImages

    src = open_image_source(f"image-folder:{folder}?mode=RGB", "train")
    ds = StreamedImages(src, size=size, channels=3, train=True)
    keys = [(i, 0) for i in torch.randperm(len(src))[:n].tolist()]
    batches = [keys[i : i + 64] for i in range(0, len(keys), 64)]
    loader = torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers)
    t0 = time.perf_counter()
    seen = sum(len(b[1]) for b in loader)
    return seen / (time.perf_counter() - t0)


def main() -> None:
    """Print a table of images/s per architecture and size."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch-size", type=int, help="default: 32 at 64 px and below, 8 above")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    p.add_argument("--archs", nargs="+", default=list(ARCHS))
    p.add_argument("--amp", action="store_true")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--folder", help="also time the decoding workers on this image folder (class sub-folders)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    print(f"device: {_device_name(dev, args.threads)}; {args.steps} timed steps, "
          f"amp={args.amp}, channels_last={args.channels_last}")  # fmt: skip
    print(f"{'architecture':<14} {'px':>4} {'batch':>5} {'GFLOPs/img fwd':>15} {'img/s':>9}")
    for arch in args.archs:
        for size in args.sizes:
            flops, batch, rate = _measure(arch, size, args, dev)
            print(f"{arch:<14} {size:>4} {batch:>5} {flops / 1e9:>15.2f} {rate:>9.2f}", flush=True)
    if args.folder:
        for size in args.sizes:
            rate = _decode_rate(args.folder, size, args.workers, 512)
            print(f"loader ({args.workers} workers) {size:>4} px: {rate:.1f} img/s decoded and cropped")


if __name__ == "__main__":
    main()
