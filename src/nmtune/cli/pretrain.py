"""``nmtune pretrain``: pre-train a backbone on noisy labels or noisy captions and save the checkpoint.

``--objective supervised`` (default): cross-entropy on labels with symmetric noise at rate ``--noise``.
``--objective contrastive``: CLIP-style, images paired with their captions (class names, or the ``.txt`` of
WebDataset shards), ``--noise`` of the captions swapped between images; prints the zero-shot accuracy.

Without ``--image-size`` a built-in dataset is trained in memory at its own resolution (the CPU studies).
With ``--image-size N`` images are streamed from disk at N x N, RGB or grayscale:
``image-folder:<dir>?mode=RGB`` (train/ and val/ or test/), ``image-domains:<dir>?domain=<d>``,
``wds:<dir>`` (WebDataset shards), ``hf-images:<dir>`` (``datasets.save_to_disk``).

Several processes: ``torchrun --nproc_per_node 8 -m nmtune pretrain ...`` (DDP, gloo on CPU, NCCL on GPU;
``--nnodes`` for several machines). ``--checkpoint-every STEPS`` writes the training state beside ``--out``;
the same command with ``--resume`` continues a killed run to the weights of an uninterrupted one.
"""

from __future__ import annotations

import argparse

from nmtune.cli._types import positive_int


def _arch(text: str) -> str:
    from nmtune.pretrain.architectures import check_architecture

    try:
        return check_architecture(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; received {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; received {value}")
    return value


def register(subparsers) -> None:
    """Add the ``pretrain`` subcommand."""
    from nmtune.pretrain.architectures import list_architectures

    p = subparsers.add_parser(
        "pretrain",
        help="pre-train a backbone on noisy labels or captions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config", help="a pre-training preset (imagenet-resnet50, imagenet100-resnet18) or YAML file"
    )
    p.add_argument("--objective", choices=["supervised", "contrastive"], help="default: supervised")
    p.add_argument("--dataset", help="default: fashion-mnist (supervised), glyphs-pretrain:300 (contrastive)")
    p.add_argument("--noise", type=float, help="gamma, e.g. 0.1: label noise (supervised) or caption swaps")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", required=True, help="checkpoint path (.pt)")
    p.add_argument(
        "--arch", type=_arch, help="backbone: " + ", ".join(list_architectures()) + " (default small-resnet)"
    )
    p.add_argument(
        "--image-size", type=positive_int, help="stream images from disk at N x N (RGB or grayscale)"
    )
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--n-train", type=int, help="stratified subset of the training split (0 = all)")
    p.add_argument("--n-test", type=int, help="subset of the test split for the clean accuracy (0 = all)")
    p.add_argument("--batch-size", type=positive_int, help="the global batch (all processes together)")
    p.add_argument("--lr", type=float)
    p.add_argument("--optimizer", choices=["sgd", "adamw"])
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--width", type=positive_int, help="small-resnet only")
    p.add_argument("--depth", type=positive_int, help="small-resnet only")
    p.add_argument("--norm", choices=["batch", "group", "none"], help="small-resnet only")
    p.add_argument(
        "--stem-stride", type=int, choices=[1, 2], help="small-resnet only: 2 halves the resolution"
    )
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="training augmentation (--no-augment for glyphs: a flip turns b into d)")  # fmt: skip
    p.add_argument("--no-flip", action="store_true", help="streamed images: random crops without flips")
    p.add_argument("--text-encoder", help="contrastive only: frozen caption encoder (default glove-50)")
    p.add_argument("--text-model", help="contrastive only: trainable transformers text tower (hf-text-tiny, "
                   "hf-text-config:<config.json>)")  # fmt: skip
    p.add_argument("--embed-dim", type=positive_int, help="contrastive only: joint embedding dimension")
    p.add_argument(
        "--amp", action="store_true", default=None, help="mixed precision (float16 on CUDA, bfloat16 on CPU)"
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    run = p.add_argument_group("how it runs (not part of the checkpoint's config)")
    run.add_argument("--workers", type=_non_negative, help="DataLoader processes decoding streamed images")
    run.add_argument("--grad-accum", type=positive_int, help="micro-batches per optimiser step (supervised)")
    run.add_argument("--channels-last", action="store_true", default=None)
    run.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    run.add_argument(
        "--checkpoint-every", type=_non_negative, metavar="STEPS", help="write the training state"
    )
    run.add_argument("--resume", action="store_true", default=None, help="continue from the training state")
    run.add_argument("--log-dir", help="TensorBoard folder (needs the tensorboard package)")
    run.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


_FIELDS = ("dataset", "noise", "seed", "arch", "image_size", "epochs", "batch_size", "lr", "optimizer",
           "weight_decay", "warmup_epochs", "width", "depth", "norm", "stem_stride", "augment", "text_encoder",
           "text_model", "embed_dim", "amp")  # fmt: skip
_OPTIONS = ("workers", "grad_accum", "channels_last", "compile", "checkpoint_every", "resume", "log_dir")


def _run(args) -> int:
    import os

    from nmtune.pretrain.run import run_pretraining

    given = {k: getattr(args, k) for k in _FIELDS if getattr(args, k) is not None}
    if args.no_flip:
        given["flip"] = False
    for key in ("n_train", "n_test"):  # 0 means the whole split (None in the config)
        if getattr(args, key) is not None:
            given[key] = getattr(args, key) or None
    ckpt = run_pretraining(
        args.objective,
        out=args.out,
        preset=args.config,
        device=args.device,
        progress=not args.no_progress,
        options={k: getattr(args, k) for k in _OPTIONS},
        **given,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(_summary(args.out, ckpt))
    return 0


def _summary(out, ckpt: dict) -> str:
    acc = ckpt.get("clean_test_accuracy")
    acc_text = "n/a (no test split)" if acc is None else f"{acc:.4f}"
    if ckpt["config"].get("objective") == "contrastive":
        what = f"zero-shot test accuracy {acc_text} over {ckpt['n_classes']} class names"
    else:
        what = f"clean test accuracy {acc_text}"
    return (
        f"saved {out}: {ckpt['config']['arch']}, D = {ckpt['feature_dim']}, realised noise "
        f"{100 * ckpt['realised_noise_rate']:.2f} %, {what}, {ckpt['wall_time_s']:.1f} s"
    )
