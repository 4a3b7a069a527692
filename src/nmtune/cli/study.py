"""``nmtune study noisy-pretrain``: the noisy pre-training study (resumable), figures and verdicts."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``study`` subcommand."""
    p = subparsers.add_parser("study", help="run a study (noisy-pretrain)", description=__doc__)
    p.add_argument("name", choices=["noisy-pretrain"])
    p.add_argument(
        "--config",
        help="YAML file of StudyConfig fields (unknown keys are errors), or a preset: glyphs-tiny, "
        "glyphs-contrastive, glyphs-gpu, fashion; templates for your own images (copy, then set the paths): "
        "images-example, imagenet100-resnet18, imagenet-resnet50",
    )
    p.add_argument(
        "--out",
        default="study-noisy-pretrain",
        help="study folder: checkpoints/, features/, results.sqlite (re-running resumes), the report",
    )
    p.add_argument(
        "--setup",
        choices=["glyphs", "fashion", "images"],
        help="override: glyph (default) or Fashion-MNIST study; images: your own images on disk (a --config "
        "naming them, docs/study-images.md)",
    )
    p.add_argument(
        "--objective",
        choices=["supervised", "contrastive"],
        help="override: noisy labels (default) or image-caption pairs with caption swaps",
    )
    p.add_argument("--gammas", type=float, nargs="+", help="override: noise rates, e.g. 0 0.05 0.1 0.2 0.3")
    p.add_argument("--seeds", type=int, nargs="+", help="override: pre-training seeds")
    p.add_argument("--fractions", type=float, nargs="+", help="override: downstream training fractions")
    p.add_argument(
        "--methods",
        nargs="+",
        help="override: head methods, e.g. lp mlp nmtune nmtune-cv (a finished study keeps the heads it has)",
    )
    p.add_argument(
        "--group-folds",
        choices=["require", "fallback", "none"],
        help="override: group policy of heads that select on group folds (nmtune-cv on the glyph task): "
        "require (default; a run fails when its training subset cannot give group folds), fallback "
        "(stratified folds there, recorded) or none",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="only rewrite verdict.md, summary.json and the figures from the folder's results store",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="pre-training device")
    p.add_argument(
        "--jobs",
        "--n-jobs",  # the spelling of `nmtune run`; both work everywhere
        dest="jobs",
        type=int,
        default=0,
        help="worker processes fitting the heads (default 0: one per CPU core; 1: in this process)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import os
    from pathlib import Path

    from nmtune.apps.study import load_study_config, report_study, run_study

    if args.report_only:
        report_study(args.out)
        print((Path(args.out) / "verdict.md").read_text())
        return 0
    if args.jobs < 0:
        raise ValueError(f"--jobs must be 0 (one per CPU core) or a positive count; received {args.jobs}.")
    n_jobs = args.jobs or (os.cpu_count() or 1)
    config = load_study_config(
        args.config,
        setup=args.setup,
        objective=args.objective,
        gammas=args.gammas,
        seeds=args.seeds,
        fractions=args.fractions,
        methods=args.methods,
        group_folds=args.group_folds,
    )
    result = run_study(config, args.out, progress=not args.no_progress, device=args.device, n_jobs=n_jobs)
    print((Path(args.out) / "verdict.md").read_text())
    print(f"wrote {args.out}/ (summary.json, verdict.md, figures) in {result['wall_time_s']:.0f} s")
    return 0
