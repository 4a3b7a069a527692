"""``nmtune tune FEATURES --method nmtune --out model.pt``: fit a head on a feature file and save it."""

from __future__ import annotations

import json

from nmtune.cli._types import positive_int


def register(subparsers) -> None:
    """Add the ``tune`` subcommand."""
    p = subparsers.add_parser(
        "tune",
        help="fit a head on a feature file and save it",
        description="Fit LP / MLP / NMTune (or any protocol method) on features "
        "(.npy/.npz/.csv/.parquet) and "
        "save the fitted estimator with its config and metrics (JSON and tensors, never pickled; load with "
        "nmtune.apps.tune.load_tuned).",
    )
    p.add_argument("features", metavar="FEATURES", help="training feature file")
    p.add_argument("--method", default="nmtune", help="method name (default nmtune)")
    p.add_argument("--labels", default=None, help="labels file (.npy or one label per line)")
    p.add_argument("--label-column", default=None, help="label column (CSV/Parquet) or key (NPZ)")
    p.add_argument("--eval", dest="eval_features", default=None, help="evaluation feature file")
    p.add_argument("--eval-labels", default=None, help="labels of the evaluation file")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="head constructor argument, e.g. --param lam=0.1 (repeatable; values parsed as JSON)",
    )
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="output file, e.g. model.pt")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.apps.tune import tune_features

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param takes KEY=VALUE; received {item!r}.")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    out = tune_features(
        args.features,
        out=args.out,
        method=args.method,
        labels=args.labels,
        label_column=args.label_column,
        eval_features=args.eval_features,
        eval_labels=args.eval_labels,
        params=params,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
    )
    print(json.dumps(out["metrics"], indent=2))
    print(f"saved {out['path']}")
    return 0
