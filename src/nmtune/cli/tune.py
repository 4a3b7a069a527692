"""``nmtune tune FEATURES --method nmtune --out model.pt``: fit a head on a feature file and save it."""

from __future__ import annotations

import argparse
import json
import sys

from nmtune.cli._types import positive_int


class _MethodHelp(argparse._StoreAction):
    """``--method``: its help lists the registered methods when shown (building the parser imports nothing)."""

    @property
    def help(self) -> str:
        from nmtune.protocol.methods import list_methods

        return (
            "method (default nmtune): a head of nmtune.heads.list_heads() or an ablation; one of "
            + ", ".join(list_methods()).replace("%", "%%")
        )

    @help.setter
    def help(self, value) -> None:  # argparse sets it in __init__; the text above is computed when shown
        pass


def register(subparsers) -> None:
    """Add the ``tune`` subcommand."""
    p = subparsers.add_parser(
        "tune",
        help="fit a head on a feature file and save it",
        description="Fit any registered head (LP / MLP / NMTune / NMTuneCV / logistic regression) or protocol "
        "method on features (.npy/.npz/.csv/.parquet) and save the fitted head with its config and metrics "
        "(JSON and tensors, never pickled; load with nmtune.apps.tune.load_tuned). Everything is checked before "
        "the fit: the method and its parameters, that the head can be saved, that --out can be written, the files.",
    )
    p.add_argument("features", metavar="FEATURES", help="training feature file")
    p.add_argument("--method", default="nmtune", metavar="METHOD", action=_MethodHelp)
    p.add_argument("--labels", default=None, help="labels file (.npy or one label per line)")
    p.add_argument("--label-column", default=None, help="label column (CSV/Parquet) or key (NPZ)")
    p.add_argument("--eval", dest="eval_features", default=None, help="evaluation feature file")
    p.add_argument("--eval-labels", default=None, help="labels of the evaluation file")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="head constructor argument, e.g. --param lam=0.1 or --param n_threads=1 (repeatable; values parsed "
        "as JSON)",
    )
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--out", required=True, help="output file, e.g. model.pt (its folder is created if missing)"
    )
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
    try:
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
    except KeyboardInterrupt:
        print(
            f"nmtune tune: interrupted; nothing was saved ({args.out!r} is written only when the fit finishes).",
            file=sys.stderr,
        )
        return 130
    print(json.dumps(out["metrics"], indent=2))
    print(f"saved {out['path']}")
    return 0
