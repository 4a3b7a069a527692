"""``nmtune pretrain``: pre-train a backbone on noisy labels or noisy captions and save the checkpoint.

``--objective supervised`` (default): cross-entropy on labels with symmetric noise at rate ``--noise``.
``--objective contrastive``: CLIP-style, images paired with their class names as captions, ``--noise`` of
the captions swapped between images; prints the zero-shot accuracy over the class names on the test split.

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
    p.add_argument("--objective", default="supervised", choices=["supervised", "contrastive"])
    p.add_argument("--dataset", help="default: fashion-mnist (supervised), glyphs-pretrain:300 (contrastive)")
    p.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="gamma, e.g. 0.1: symmetric label noise (supervised) or caption-swap rate (contrastive)",
    )
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
    p.add_argument("--text-encoder", help="contrastive only: frozen caption encoder (default glove-50)")
    p.add_argument("--embed-dim", type=int, help="contrastive only: joint embedding dimension (default 128)")
    p.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


_CONTRASTIVE_ONLY = ("text_encoder", "embed_dim")
_SUPERVISED_ONLY = ("no_augment",)


def _check_combination(args) -> None:
    """Refuse options that the chosen objective would silently ignore."""
    if args.objective == "contrastive":
        bad = [k for k in _SUPERVISED_ONLY if getattr(args, k)]
    else:
        bad = [k for k in _CONTRASTIVE_ONLY if getattr(args, k) is not None]
    if bad:
        flags = ", ".join("--" + k.replace("_", "-") for k in bad)
        other = "supervised" if args.objective == "contrastive" else "contrastive"
        raise ValueError(
            f"{flags} only applies to --objective {other}; received it with --objective "
            f"{args.objective}. Drop it, or pass --objective {other}."
        )


def _run(args) -> int:
    import os

    from nmtune.pretrain import ContrastiveConfig, PretrainConfig, pretrain, pretrain_contrastive

    _check_combination(args)
    fields = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "width": args.width,
        "depth": args.depth,
        "norm": args.norm,
        "stem_stride": args.stem_stride,
        "dataset": args.dataset,
    }
    if args.objective == "contrastive":
        fields.update(text_encoder=args.text_encoder, embed_dim=args.embed_dim)
    else:
        fields["augment"] = False if args.no_augment else None
    values = {k: v for k, v in fields.items() if v is not None}
    for key in ("n_train", "n_test"):
        v = getattr(args, key)
        if v is not None:
            values[key] = None if v == 0 else v
    cls, train = (
        (ContrastiveConfig, pretrain_contrastive)
        if args.objective == "contrastive"
        else (PretrainConfig, pretrain)
    )
    config = cls(noise=args.noise, seed=args.seed, amp=args.amp, **values)
    ckpt = train(config, out=args.out, device=args.device, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        what = (
            f"zero-shot test accuracy {ckpt['zero_shot_test_accuracy']:.4f} over {ckpt['n_classes']} class names"
            if args.objective == "contrastive"
            else f"clean test accuracy {ckpt['clean_test_accuracy']:.4f}"
        )
        print(
            f"saved {args.out}: realised noise {100 * ckpt['realised_noise_rate']:.2f} %, "
            f"{what}, {ckpt['wall_time_s']:.1f} s"
        )
    return 0
