"""``nmtune pretrain``: pre-train a backbone on labels with symmetric noise and save the checkpoint.

Several processes: ``torchrun --nproc_per_node 2 -m nmtune pretrain ...`` (DDP, gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``pretrain`` subcommand."""
    p = subparsers.add_parser(
        "pretrain",
        help="pre-train a small backbone on noisy labels",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--noise", type=float, default=0.0, help="symmetric noise rate gamma, e.g. 0.1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="checkpoint path (.pt)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--n-train", type=int, help="stratified subset of the training split (0 = all)")
    p.add_argument("--n-test", type=int, help="subset of the test split for the clean accuracy (0 = all)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--width", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--norm", choices=["batch", "group", "none"])
    p.add_argument("--stem-stride", type=int, choices=[1, 2], help="2 halves the resolution at the stem")
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="no random shifts and flips (glyphs: a flip turns b into d)",
    )
    p.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.pretrain import PretrainConfig, pretrain

    fields = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "width": args.width,
        "depth": args.depth,
        "norm": args.norm,
        "stem_stride": args.stem_stride,
        "augment": False if args.no_augment else None,
    }
    values = {k: v for k, v in fields.items() if v is not None}
    for key in ("n_train", "n_test"):
        v = getattr(args, key)
        if v is not None:
            values[key] = None if v == 0 else v
    config = PretrainConfig(dataset=args.dataset, noise=args.noise, seed=args.seed, amp=args.amp, **values)
    ckpt = pretrain(config, out=args.out, device=args.device, progress=not args.no_progress)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"saved {args.out}: realised noise {100 * ckpt['realised_noise_rate']:.2f} %, "
            f"clean test accuracy {ckpt['clean_test_accuracy']:.4f}, {ckpt['wall_time_s']:.1f} s"
        )
    return 0
