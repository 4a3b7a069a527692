"""Compare NMTuneCV with the linear probe, logistic regression and NMTune on real domain shifts.

Sources (encoder x suite); every method sees the training split only, evaluation splits are only scored:

- ``<encoder>-20ng`` (``minilm``, ``e5``, ``glove``): the 20 Newsgroups sub-group shift of the
  ``20ng-subgroups`` suite (6 tasks: comp-rec, ..., sci-talk; source = the first half of each group's newsgroups,
  target = the rest), built here from one encoding of the whole corpus (``cap:<n>:20newsgroups``, stratified by
  newsgroup, seed 0) so that each document is encoded once, and so that the newsgroup of every training document
  is known: it is passed to ``nmtune-cv`` as ``groups``. ID = source newsgroups of the test split, OOD = target
  newsgroups of the test split.
- ``efficientnet-digits``: the ``digits`` suite (MNIST-5k <-> optdigits, both directions), no sub-domains.
- ``efficientnet-fashion-c``: the ``fashion-c`` suite (Fashion-MNIST train -> clean test (ID) and 12 corrupted
  test sets: Gaussian noise, blur, contrast, rotation at severities 1-3; ``ood_acc`` = their mean), no
  sub-domains; ``fashion-c@<checkpoint>``: the same suite on a pre-trained backbone (e.g. the Fashion-MNIST
  study's, pre-trained on Fashion-MNIST images: the ImageNet -> ImageNet-C analogue).
- ``glyphs@<checkpoint>``: a pre-trained glyph backbone (``pretrained:<checkpoint>``) on the font-family shift:
  train on ``glyphs-id`` train (62 classes, 2,976 rows, ``groups`` = the font family of each row: NMTuneCV's
  folds then hold out one whole DejaVu family each), ID = ``glyphs-id`` test, OOD = ``glyphs-ood:stix`` and
  ``glyphs-ood:cm`` (records keep each domain, ``ood-stix_acc`` / ``ood-cm_acc``; ``ood_acc`` is their mean).
- ``glyph-styles@<checkpoint>``: ``glyphs`` with the font *style* of each row as ``groups`` (12 styles dealt
  into 5 folds), to compare with the family groups.
- ``glyph-digits@<checkpoint>``: the same backbone on the ``digits`` suite, no sub-domains.

A source's label in the records is ``<name>@<checkpoint file stem>`` (e.g. ``glyphs@g0_s1``).

Methods: ``lp`` (LinearProbe defaults), ``logreg`` (standardised LogisticRegression, C = 1), ``logreg-cv`` (C
picked by stratified 5-fold CV on the training data from 0.01 ... 100), ``logreg-gcv`` (C picked on the same
group-aware folds as nmtune-cv; = logreg-cv without groups), ``nmtune`` (NMTune defaults), ``nmtune-cv``
(NMTuneCV defaults, ``groups`` where the source has them), and on request ``nmtune-cv-1se`` (the same with
``selection="one-se"``).

Records go to a JSONL file (one line per source, task, method, seed; rerunning skips what is there); the summary
averages each seed over the tasks of a source and gives mean and 95 % t-intervals over seeds, and paired
differences (nmtune-cv minus each baseline). ``--pool`` pools the backbones of one pre-training set-up: sources
whose labels differ only in a trailing ``_s<k>`` (``glyphs@g0_s0``, ``glyphs@g0_s1``, ...) become one
(``glyphs@g0_s*``) whose units are (backbone, seed) pairs. ``--ablation`` refits every fitted candidate of
NMTuneCV on the whole training split after the selection, with the seeds NMTuneCV gives them, and stores their
evaluation accuracies in ``candidate_acc`` (for information only: never used to select anything);
``--ablation-table`` prints them next to the mean validation scores and the picks.

Usage: python benchmarks/eval_nmtune_cv.py --sources minilm-20ng --seeds 0 1 2 --out results.jsonl
       python benchmarks/eval_nmtune_cv.py --sources glyphs@ckpt/g0_s0.pt --ablation --out glyphs.jsonl
       python benchmarks/eval_nmtune_cv.py --summary-only --out seed0.jsonl seed1.jsonl ...
"""

import argparse
import itertools
import json
import re
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nmtune._internal.stats import t_interval
from nmtune.heads import LinearProbe, NMTune, NMTuneCV
from nmtune.heads._candidates import Blend, candidate_family
from nmtune.heads.folds import selection_folds

LOGREG_CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
METHODS = ("lp", "logreg", "logreg-cv", "logreg-gcv", "nmtune", "nmtune-cv", "nmtune-cv-1se")
DEFAULT_METHODS = METHODS[:-1]
BASELINES = ("lp", "logreg", "logreg-cv", "logreg-gcv", "nmtune")


def twenty_ng_tasks(encoder, cap_train, cap_test):
    """The 6 tasks of the sub-group shift: (name, X_train, y_train, groups, {eval: (X, y)})."""
    from nmtune.cache import get_features
    from nmtune.datasets import capped_name
    from nmtune.datasets.text import SUBGROUP_GROUPS, subgroup_domains

    feats = {
        s: get_features(encoder, capped_name("20newsgroups", cap), s, progress=False)
        for s, cap in (("train", cap_train), ("test", cap_test))
    }
    names = feats["train"].class_names
    domains = subgroup_domains(names)
    tasks = []
    for a, b in itertools.combinations(SUBGROUP_GROUPS, 2):

        def rows(split, domain, a=a, b=b):
            f = feats[split]
            ng = np.asarray(f.y)
            label = np.full(len(ng), -1)
            for k, group in enumerate((a, b)):
                for newsgroup in domains[group][domain]:
                    label[ng == names.index(newsgroup)] = k
            keep = np.flatnonzero(label >= 0)
            return np.asarray(f.X[keep], dtype=np.float32), label[keep], ng[keep]

        X, y, groups = rows("train", "source")
        Xi, yi, _ = rows("test", "source")
        Xo, yo, _ = rows("test", "target")
        tasks.append((f"{a}-{b}", X, y, groups, {"id": (Xi, yi), "ood": (Xo, yo)}))
    return tasks


def suite_tasks(encoder, suite, cap_train, cap_test):
    """The tasks of a built-in suite without sub-domains (``digits``, ``fashion-c``), no groups.

    Evaluation keys: ``id``, and ``ood`` for a single OOD domain or ``ood-<domain>`` for several (their mean is
    then ``ood_acc``).
    """
    from nmtune.protocol.feature_tasks import suite_feature_tasks

    out = []
    for t in suite_feature_tasks(encoder, suite, max_train=cap_train, max_eval=cap_test, progress=False):
        n_ood = sum(d.kind == "ood" for d in t.evals)
        evals = {
            (d.kind if d.kind == "id" or n_ood == 1 else f"ood-{d.name}"): (
                np.asarray(d.X, dtype=np.float32),
                np.asarray(d.y),
            )
            for d in t.evals
        }
        out.append((t.name, np.asarray(t.X_train, dtype=np.float32), np.asarray(t.y_train), None, evals))
    return out


def glyph_tasks(encoder, groups_by="family"):
    """The font-family shift: one task, groups = the font family (or style) of every training row."""
    from nmtune.cache import get_features
    from nmtune.datasets import dataset_groups
    from nmtune.datasets.glyphs import glyph_styles

    def feats(name, split):
        f = get_features(encoder, name, split, progress=False)
        return np.asarray(f.X, dtype=np.float32), np.asarray(f.y)

    X, y = feats("glyphs-id", "train")
    # (N,) row for row as the features
    groups = (
        dataset_groups("glyphs-id", "train") if groups_by == "family" else glyph_styles("glyphs-id", "train")
    )
    assert len(groups) == len(y)
    evals = {"id": feats("glyphs-id", "test")}
    for family in ("stix", "cm"):
        evals[f"ood-{family}"] = feats(f"glyphs-ood:{family}", "test")
    return [("fonts", X, y, groups, evals)]


SOURCES = {
    "minilm-20ng": lambda a, _: twenty_ng_tasks("minilm", a.cap_train, a.cap_test),
    "glove-20ng": lambda a, _: twenty_ng_tasks("glove-50", a.cap_train, a.cap_test),
    "e5-20ng": lambda a, _: twenty_ng_tasks("e5-small", a.cap_train, a.cap_test),
    "efficientnet-digits": lambda a, _: suite_tasks(
        "efficientnet-lite0", "digits", a.digits_cap_train, a.digits_cap_test
    ),
    "efficientnet-fashion-c": lambda a, _: suite_tasks(
        "efficientnet-lite0", "fashion-c", a.fashion_cap_train, a.fashion_cap_test
    ),
    "fashion-c": lambda a, ckpt: suite_tasks(
        f"pretrained:{ckpt}", "fashion-c", a.fashion_cap_train, a.fashion_cap_test
    ),
    "glyphs": lambda a, ckpt: glyph_tasks(f"pretrained:{ckpt}"),
    "glyph-styles": lambda a, ckpt: glyph_tasks(f"pretrained:{ckpt}", "style"),
    "glyph-digits": lambda a, ckpt: suite_tasks(
        f"pretrained:{ckpt}", "digits", a.digits_cap_train, a.digits_cap_test
    ),
}
NEEDS_CHECKPOINT = ("glyphs", "glyph-styles", "glyph-digits", "fashion-c")


def parse_source(text):
    """``name`` or ``name@checkpoint`` -> (name, checkpoint or None, record label)."""
    name, _, ckpt = text.partition("@")
    if name not in SOURCES:
        raise SystemExit(
            f"Unknown source {name!r}; choose from {sorted(SOURCES)} (glyph ones as name@ckpt.pt)."
        )
    if (name in NEEDS_CHECKPOINT) != bool(ckpt):
        need = "needs a checkpoint: name@path.pt" if name in NEEDS_CHECKPOINT else "takes no checkpoint"
        raise SystemExit(f"Source {name!r} {need}; received {text!r}.")
    return name, ckpt or None, f"{name}@{Path(ckpt).stem}" if ckpt else name


def accuracies(est, evals):
    """``{<eval>_acc: %}`` plus ``ood_acc`` = the mean over several ``ood-<domain>`` evaluations.

    ``est`` needs ``predict_proba`` and ``classes_`` (the candidates of NMTuneCV have no ``predict``).
    """
    acc = {
        f"{k}_acc": 100.0 * float(np.mean(est.classes_[est.predict_proba(Xe).argmax(1)] == ye))
        for k, (Xe, ye) in evals.items()
    }
    domains = [v for k, v in acc.items() if k.startswith("ood-")]
    if domains and "ood_acc" not in acc:
        acc["ood_acc"] = float(np.mean(domains))
    return acc


def candidate_accuracies(cv_est, X, y, evals):
    """Every fitted candidate of a fitted NMTuneCV refitted on all of (X, y), with NMTuneCV's seeds, scored.

    Information only: these numbers see the evaluation splits and are never used to select anything.
    """
    from nmtune._internal.validation import seed_from_random_state

    family = candidate_family(
        Cs=cv_est.Cs, blend=cv_est.blend, lp_params=cv_est.lp_params, nmtune_params=cv_est.nmtune_params,
        device=cv_est.device,
    )  # fmt: skip
    seed = seed_from_random_state(cv_est.random_state)
    seeds = {
        c.name: int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i, c in enumerate(family)
    }
    classes = cv_est.classes_
    y_enc = np.searchsorted(classes, y)  # NMTuneCV fits its candidates on encoded labels
    fitted = {c.name: c.build(seeds[c.name]).fit(X, y_enc) for c in family if c.build is not None}
    encoded = {k: (Xe, np.searchsorted(classes, ye)) for k, (Xe, ye) in evals.items()}
    out = {}
    for c in family:
        est = Blend.of_fitted([fitted[m] for m in c.members]) if c.members else fitted[c.name]
        out[c.name] = {k: round(v, 3) for k, v in accuracies(est, encoded).items()}
    return out


def logreg(C=1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def build(method, seed, y, groups, cv):
    """(estimator, fit keyword arguments) of a method."""
    if method == "lp":
        return LinearProbe(random_state=seed, device="cpu"), {}
    if method == "logreg":
        return logreg(), {}
    if method in ("logreg-cv", "logreg-gcv"):
        folds = (
            selection_folds(y, groups, cv, seed)
            if method == "logreg-gcv"
            else list(StratifiedKFold(5, shuffle=True, random_state=seed).split(y, y))
        )
        grid = {"logisticregression__C": LOGREG_CS}
        return GridSearchCV(logreg(), grid, cv=folds, n_jobs=1), {}
    if method == "nmtune":
        return NMTune(random_state=seed, device="cpu"), {}
    selection = "one-se" if method == "nmtune-cv-1se" else "best"
    return NMTuneCV(cv=cv, selection=selection, random_state=seed, device="cpu", n_jobs=1), {"groups": groups}


def run(args):
    out = Path(args.out[0])
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["source"], r["task"], r["method"], r["seed"]))
    for text in args.sources:
        name, ckpt, source = parse_source(text)
        tasks = SOURCES[name](args, ckpt)
        for seed in args.seeds:
            for name, X, y, groups, evals in tasks:
                for method in args.methods:
                    if (source, name, method, seed) in done:
                        continue
                    est, kw = build(method, seed, y, groups, args.cv)
                    start = time.perf_counter()
                    est.fit(X, y, **kw)
                    record = {
                        "source": source,
                        "task": name,
                        "method": method,
                        "seed": seed,
                        "n_train": len(y),
                        "fit_s": round(time.perf_counter() - start, 2),
                        **accuracies(est, evals),
                    }
                    if ckpt:
                        record["checkpoint"] = ckpt
                    if method.startswith("nmtune-cv"):
                        record["chosen"] = est.best_params_["candidate"]
                        record["n_splits"] = est.n_splits_
                        record["cv_scores"] = dict(
                            zip(
                                est.cv_results_["param_candidate"],
                                est.cv_results_["mean_test_score"].round(4),
                            )
                        )
                        k = est.n_splits_
                        record["cv_folds"] = {  # per-fold validation accuracy, for other selection rules
                            n: [round(float(est.cv_results_[f"split{i}_test_score"][j]), 4) for i in range(k)]
                            for j, n in enumerate(est.cv_results_["param_candidate"])
                        }
                        if args.ablation:
                            record["candidate_acc"] = candidate_accuracies(est, X, y, evals)
                    if method.startswith("logreg-"):
                        record["chosen"] = est.best_params_["logisticregression__C"]
                    print(json.dumps(record), flush=True)
                    with out.open("a") as f:
                        f.write(json.dumps(record) + "\n")


def load_records(paths, pool=False):
    """Records of JSONL files; ``pool``: backbones that differ only in a trailing ``_s<k>`` become one source."""
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()]
    if pool:
        for r in rows:
            pooled = re.sub(r"_s(\d+)$", "_s*", r["source"])
            if pooled != r["source"]:
                r["seed"] = f"{r['source'].rsplit('_s', 1)[1]}/{r['seed']}"  # unit: (backbone, seed)
                r["source"] = pooled
    return rows


def summary(rows, metric="ood_acc"):
    lines = []
    for source in sorted({r["source"] for r in rows}):
        rs = [r for r in rows if r["source"] == source and metric in r]
        if not rs:
            continue
        tasks = sorted({r["task"] for r in rs})
        table = {}  # (method, seed) -> mean over tasks
        for method in METHODS:
            for seed in sorted({r["seed"] for r in rs}, key=str):
                vals = [r[metric] for r in rs if r["method"] == method and r["seed"] == seed]
                if len(vals) == len(tasks):
                    table[method, seed] = float(np.mean(vals))
        seeds = sorted({s for _, s in table}, key=str)
        lines.append(f"\n{source}: {metric}, mean over {len(tasks)} tasks; mean [95% CI] over seeds {seeds}")
        for method in METHODS:
            v = [table[method, s] for s in seeds if (method, s) in table]
            if v:
                m, lo, hi = t_interval(v) if len(v) > 1 else (v[0], np.nan, np.nan)
                fit = np.mean([r["fit_s"] for r in rs if r["method"] == method])
                lines.append(
                    f"  {method:<11} {m:6.2f} [{lo:6.2f}, {hi:6.2f}]  n={len(v)}  mean fit {fit:7.1f} s"
                )
        for base in BASELINES:
            pairs = [
                (table["nmtune-cv", s], table[base, s])
                for s in seeds
                if ("nmtune-cv", s) in table and (base, s) in table
            ]
            if len(pairs) > 1:
                d = [a - b for a, b in pairs]
                m, lo, hi = t_interval(d)
                wins = sum(x > 0 for x in d)
                lines.append(
                    f"  nmtune-cv - {base:<10} {m:+6.2f} [{lo:+6.2f}, {hi:+6.2f}]  wins {wins}/{len(d)}"
                )
        fits = {m: [r["fit_s"] for r in rs if r["method"] == m] for m in ("nmtune", "nmtune-cv")}
        if all(fits.values()):
            ratio = np.mean(fits["nmtune-cv"]) / np.mean(fits["nmtune"])
            lines.append(f"  fit time nmtune-cv / nmtune: {ratio:.1f}x")
        chosen = [r["chosen"] for r in rs if r["method"] == "nmtune-cv"]
        if chosen:
            counts = {c: chosen.count(c) for c in sorted(set(chosen))}
            lines.append(f"  nmtune-cv picks: {counts}")
    return "\n".join(lines)


def ablation_table(rows):
    """Per source: every candidate's mean validation score (training folds), how often NMTuneCV picked it, and,
    for information only, its test accuracies when refitted on the whole training split (``--ablation``)."""
    lines = []
    for source in sorted({r["source"] for r in rows}):
        rs = [
            r for r in rows if r["source"] == source and r["method"] == "nmtune-cv" and "candidate_acc" in r
        ]
        if not rs:
            continue
        names = list(rs[0]["cv_scores"])
        metrics = [k for k in rs[0]["candidate_acc"][names[0]] if k != "ood_acc"] + ["ood_acc"]
        head = " | ".join(f"{m.removesuffix('_acc')} (test)" for m in metrics)
        lines += [
            f"\n{source}: {len(rs)} NMTuneCV fits; validation = mean over the folds of the training data (%);"
            " test columns: information only, never used for selection",
            f"| candidate | validation | picked | {head} | best OOD (test) |",
        ]
        best_ood = [max(names, key=lambda n: r["candidate_acc"][n]["ood_acc"]) for r in rs]
        for n in names:
            val = 100 * np.mean([r["cv_scores"][n] for r in rs])
            picked = sum(r["chosen"] == n for r in rs)
            tests = " | ".join(f"{np.mean([r['candidate_acc'][n][m] for r in rs]):.2f}" for m in metrics)
            lines.append(f"| {n} | {val:.2f} | {picked} | {tests} | {best_ood.count(n)} |")
        regret = [
            r["candidate_acc"][b]["ood_acc"] - r["candidate_acc"][r["chosen"]]["ood_acc"]
            for r, b in zip(rs, best_ood)
        ]
        lines.append(f"  picks per fit: {[(r['seed'], r['chosen']) for r in rs]}")
        lines.append(
            f"  OOD of the best candidate minus OOD of the pick: mean {np.mean(regret):.2f}, max {np.max(regret):.2f}"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--sources", nargs="+", default=["minilm-20ng"],
        help=f"from {sorted(SOURCES)}; {', '.join(NEEDS_CHECKPOINT)} as <name>@<checkpoint.pt>",
    )  # fmt: skip
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(DEFAULT_METHODS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cv", type=int, default=5, help="NMTuneCV's (largest) number of folds")
    ap.add_argument(
        "--cap-train", type=int, default=2400, help="rows of the 20newsgroups train split encoded"
    )
    ap.add_argument("--cap-test", type=int, default=1700, help="rows of the 20newsgroups test split encoded")
    ap.add_argument("--digits-cap-train", type=int, default=1000)
    ap.add_argument("--digits-cap-test", type=int, default=500)
    ap.add_argument(
        "--fashion-cap-train", type=int, default=2000, help="rows of Fashion-MNIST train (fashion-c)"
    )
    ap.add_argument("--fashion-cap-test", type=int, default=500, help="rows of each fashion-c test domain")
    ap.add_argument(
        "--out", nargs="+", default=["nmtune-cv-results.jsonl"], help="records (run: the first; summary: all)"
    )
    ap.add_argument("--ablation", action="store_true", help="also score every NMTuneCV candidate (info only)")
    ap.add_argument("--ablation-table", action="store_true", help="print the candidate table of the records")
    ap.add_argument("--pool", action="store_true", help="pool backbones <name>_s<k> into one source")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--encode-only", action="store_true")
    args = ap.parse_args()
    for text in args.sources:
        parse_source(text)
    warnings.filterwarnings("ignore")
    if args.encode_only:
        for text in args.sources:
            name, ckpt, source = parse_source(text)
            print(source, [(t[0], t[1].shape) for t in SOURCES[name](args, ckpt)], flush=True)
        return
    if not args.summary_only:
        run(args)
    rows = load_records(args.out, args.pool)
    metrics = ["ood_acc", "id_acc"] + sorted({k for r in rows for k in r if k.startswith("ood-")})
    for metric in metrics:
        print(summary(rows, metric))
    if args.ablation_table:
        print(ablation_table(rows))


if __name__ == "__main__":
    main()
