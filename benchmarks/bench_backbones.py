"""Training throughput of the pre-training backbones: images per second of SGD steps on 32x32 glyph-sized inputs.

Compares the width-16 ResNet-8 (D = 64), the width-32 one at full resolution (D = 128) and the width-32 one
with a stride-2 stem (D = 128, the glyph study's backbone), side by side in one run.

Usage: PYTHONPATH=src python benchmarks/bench_backbones.py [--threads 2] [--steps 10] [--classes 300]
"""

import argparse
import time

import torch
from torch import nn

from nmtune.pretrain.models import Classifier, SmallResNet

CONFIGS = ((16, 1), (32, 1), (32, 2))  # (width, stem_stride)


def _step(model, opt, x, y) -> None:
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def main() -> None:
    """Time a few warm SGD steps of each backbone and print images per second."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--classes", type=int, default=300)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch_size, 1, 32, 32)
    y = torch.randint(0, args.classes, (args.batch_size,))
    print(f"{'width':>5} {'stem':>4} {'D':>4} {'ms/step':>8} {'img/s':>7}")
    for width, stride in CONFIGS:
        model = Classifier(SmallResNet(width=width, stem_stride=stride), args.classes)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):  # warm-up
            _step(model, opt, x, y)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            _step(model, opt, x, y)
        dt = (time.perf_counter() - t0) / args.steps
        d = model.backbone.num_features
        print(f"{width:>5} {stride:>4} {d:>4} {1000 * dt:>8.0f} {args.batch_size / dt:>7.0f}")


if __name__ == "__main__":
    main()
