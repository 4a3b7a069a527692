"""``nmtune extract`` (fill the feature cache) and ``nmtune cache`` (list, verify or clear it)."""

from __future__ import annotations

import argparse
import json

from nmtune.cli._types import positive_int


def register(subparsers) -> None:
    """Add the ``extract`` and ``cache`` subcommands."""
    p = subparsers.add_parser(
        "extract",
        help="encode a dataset with an encoder and store the features in the cache",
        description="Encode a dataset split (or all splits) and store the features in the on-disk cache "
        "($NMTUNE_CACHE_DIR, else ~/.cache/nmtune). Interrupted extractions resume from finished shards.",
    )
    p.add_argument("--encoder", required=True, help="encoder name, e.g. glove-50, minilm, efficientnet-lite0")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. reuters-r8, mnist-5k@digits")
    p.add_argument("--split", default="all", help="train, test or all (default: all)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        help="rows saved per shard (default: encoder's, or 1024)",
    )
    p.add_argument(
        "--cache-dir", default=None, help="cache folder (default: $NMTUNE_CACHE_DIR or ~/.cache/nmtune)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_run_extract)

    c = subparsers.add_parser("cache", help="list, verify or clear cached features")
    c.add_argument("action", choices=("list", "verify", "clear"))
    c.add_argument("--encoder", default=None, help="clear only this encoder's entries")
    c.add_argument("--dataset", default=None, help="clear only this dataset's entries")
    c.add_argument("--cache-dir", default=None)
    c.add_argument("--json", action="store_true", help="print records as JSON (list)")
    c.set_defaults(func=_run_cache)


def _run_extract(args: argparse.Namespace) -> int:
    from nmtune.cache import FeatureCache, extract

    out = extract(
        args.encoder,
        args.dataset,
        args.split,
        cache=FeatureCache(args.cache_dir),
        batch_size=args.batch_size,
        device=args.device,
        progress=not args.no_progress,
        shard_size=args.shard_size,
    )
    for split, feats in out.items():
        print(f"{args.dataset} [{split}]: X {tuple(feats.X.shape)} -> {feats.record['path']}")
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from nmtune.cache import FeatureCache

    cache = FeatureCache(args.cache_dir)
    if args.action == "list":
        records = cache.records()
        if args.json:
            print(json.dumps(records, indent=2))
        for r in [] if args.json else records:
            shape = str(tuple(r["shape"]))
            print(f"{r['encoder']:<20} {r['dataset']:<32} {r['split']:<6} {shape:<14} {r['created']}")
        if not args.json:
            print(f"{len(records)} entries in {cache.root}")
        return 0
    if args.action == "verify":
        bad = cache.verify()
        for path in bad:
            print(f"corrupted: {path}")
        n = len(list(cache.root.glob("*/record.json"))) if cache.root.is_dir() else 0
        print(f"{n} entries checked, {len(bad)} corrupted")
        return 1 if bad else 0
    removed = cache.clear(encoder=args.encoder, dataset=args.dataset)
    print(f"removed {removed} entries from {cache.root}")
    return 0
