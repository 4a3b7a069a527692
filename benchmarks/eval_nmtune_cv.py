"""Compare NMTuneCV with the linear probe, logistic regression and NMTune on real domain shifts.

Sources (encoder x suite); every method sees the training split only, evaluation splits are only scored:

- ``<encoder>-20ng``: the 20 Newsgroups sub-group shift of the ``20ng-subgroups`` suite (6 tasks: comp-rec, ...,
  sci-talk; source = the first half of each group's newsgroups, target = the rest), built here from one encoding
  of the whole corpus (``cap:<n>:20newsgroups``, stratified by newsgroup, seed 0) so that each document is encoded
  once, and so that the newsgroup of every training document is known: it is passed to ``nmtune-cv`` as
  ``groups``. ID = source newsgroups of the test split, OOD = target newsgroups of the test split.
- ``efficientnet-digits``: the ``digits`` suite (MNIST-5k <-> optdigits, both directions), no sub-domains.

Methods: ``lp`` (LinearProbe defaults), ``logreg`` (standardised LogisticRegression, C = 1), ``logreg-cv`` (C
picked by stratified 5-fold CV on the training data from 0.01 ... 100), ``logreg-gcv`` (C picked on the same
group-aware folds as nmtune-cv; = logreg-cv without groups), ``nmtune`` (NMTune defaults), ``nmtune-cv``
(NMTuneCV defaults, ``groups`` where the source has them).

Records go to a JSONL file (one line per source, task, method, seed; rerunning skips what is there); the summary
averages each seed over the tasks of a source and gives mean and 95 % t-intervals over seeds, and paired
differences (nmtune-cv minus each baseline).

Usage: python benchmarks/eval_nmtune_cv.py --sources minilm-20ng --seeds 0 1 2 --out results.jsonl
       python benchmarks/eval_nmtune_cv.py --summary-only --out seed0.jsonl seed1.jsonl ...
"""

import argparse
import itertools
import json
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
from nmtune.heads.folds import selection_folds

LOGREG_CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
METHODS = ("lp", "logreg", "logreg-cv", "logreg-gcv", "nmtune", "nmtune-cv")
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


def digits_tasks(encoder, cap_train, cap_test):
    """The 2 tasks of the digits suite, no groups."""
    from nmtune.protocol.feature_tasks import suite_feature_tasks

    out = []
    for t in suite_feature_tasks(encoder, "digits", max_train=cap_train, max_eval=cap_test, progress=False):
        evals = {d.kind: (np.asarray(d.X, dtype=np.float32), np.asarray(d.y)) for d in t.evals}
        out.append((t.name, np.asarray(t.X_train, dtype=np.float32), np.asarray(t.y_train), None, evals))
    return out


SOURCES = {
    "minilm-20ng": lambda a: twenty_ng_tasks("minilm", a.cap_train, a.cap_test),
    "glove-20ng": lambda a: twenty_ng_tasks("glove-50", a.cap_train, a.cap_test),
    "efficientnet-digits": lambda a: digits_tasks(
        "efficientnet-lite0", a.digits_cap_train, a.digits_cap_test
    ),
}


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
    return NMTuneCV(cv=cv, random_state=seed, device="cpu", n_jobs=1), {"groups": groups}


def run(args):
    out = Path(args.out[0])
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["source"], r["task"], r["method"], r["seed"]))
    for source in args.sources:
        tasks = SOURCES[source](args)
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
                        **{f"{k}_acc": 100.0 * float(est.score(*v)) for k, v in evals.items()},
                    }
                    if method == "nmtune-cv":
                        record["chosen"] = est.best_params_["candidate"]
                        record["n_splits"] = est.n_splits_
                        record["cv_scores"] = dict(
                            zip(
                                est.cv_results_["param_candidate"],
                                est.cv_results_["mean_test_score"].round(4),
                            )
                        )
                    if method.startswith("logreg-"):
                        record["chosen"] = est.best_params_["logisticregression__C"]
                    print(json.dumps(record), flush=True)
                    with out.open("a") as f:
                        f.write(json.dumps(record) + "\n")


def summary(paths, metric="ood_acc"):
    rows = [json.loads(line) for path in paths for line in Path(path).read_text().splitlines()]
    lines = []
    for source in sorted({r["source"] for r in rows}):
        rs = [r for r in rows if r["source"] == source]
        tasks = sorted({r["task"] for r in rs})
        table = {}  # (method, seed) -> mean over tasks
        for method in METHODS:
            for seed in sorted({r["seed"] for r in rs}):
                vals = [r[metric] for r in rs if r["method"] == method and r["seed"] == seed]
                if len(vals) == len(tasks):
                    table[method, seed] = float(np.mean(vals))
        seeds = sorted({s for _, s in table})
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
        chosen = [r["chosen"] for r in rs if r["method"] == "nmtune-cv"]
        if chosen:
            counts = {c: chosen.count(c) for c in sorted(set(chosen))}
            lines.append(f"  nmtune-cv picks: {counts}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", nargs="+", choices=sorted(SOURCES), default=["minilm-20ng"])
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cv", type=int, default=5, help="NMTuneCV's (largest) number of folds")
    ap.add_argument(
        "--cap-train", type=int, default=2400, help="rows of the 20newsgroups train split encoded"
    )
    ap.add_argument("--cap-test", type=int, default=1700, help="rows of the 20newsgroups test split encoded")
    ap.add_argument("--digits-cap-train", type=int, default=1000)
    ap.add_argument("--digits-cap-test", type=int, default=500)
    ap.add_argument(
        "--out", nargs="+", default=["nmtune-cv-results.jsonl"], help="records (run: the first; summary: all)"
    )
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--encode-only", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.encode_only:
        for source in args.sources:
            print(source, [(t[0], t[1].shape) for t in SOURCES[source](args)], flush=True)
        return
    if not args.summary_only:
        run(args)
    print(summary(args.out, "ood_acc"))
    print(summary(args.out, "id_acc"))


if __name__ == "__main__":
    main()
