"""``nmtune analyze FEATURES...``: spectrum metrics (SVE, LSVR, RankMe) and figure of feature files."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    """Add the ``analyze`` subcommand."""
    p = subparsers.add_parser(
        "analyze",
        help="spectrum metrics and figure of a feature file",
        description="Write spectrum.json (SVE, LSVR, RankMe, singular values) and spectrum.png for a feature "
        "file (.npy, .npz, .csv, .parquet) and print the metrics.",
    )
    p.add_argument(
        "features",
        metavar="FEATURES",
        nargs="+",
        help="feature file(s): .npy, .npz, .csv or .parquet; several are overlaid in one figure",
    )
    p.add_argument(
        "--label-column",
        "--labels-column",  # the older spelling, kept as an alias
        dest="label_column",
        default=None,
        help="label column (CSV/Parquet) or key (NPZ) to exclude",
    )
    p.add_argument("--center", action="store_true", help="subtract the mean of each feature first")
    p.add_argument("--normalize-rows", action="store_true", help="L2-normalise each sample first")
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default: ./<FEATURES stem>-spectrum, ./spectra for several)",
    )
    p.add_argument("--method", default="auto", choices=["auto", "svd", "tsqr", "gram"], help="SVD method")
    p.add_argument("--no-plot", action="store_true", help="skip spectrum.png (no matplotlib needed)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from nmtune.apps.analyze import analyze_feature_files

    default = f"{Path(args.features[0]).stem}-spectrum" if len(args.features) == 1 else "spectra"
    results = analyze_feature_files(
        args.features,
        args.out or default,
        label_column=args.label_column,
        center=args.center,
        normalize_rows=args.normalize_rows,
        method=args.method,
        plot=not args.no_plot,
        progress=True,
    )
    for m in results:
        print(
            f"{m['source']}: N = {m['n_samples']}, D = {m['dim']}, center = {m['center']}, "
            f"normalize_rows = {m['normalize_rows']}"
        )
        for key in ("sve", "lsvr", "rankme", "sigma_1"):
            print(f"  {key:<8} {m[key]:.6g}")
        print(f"wrote {m['json']}")
    if results[0]["png"]:
        print(f"wrote {results[0]['png']}")
    return 0
