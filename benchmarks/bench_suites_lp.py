"""Linear-probe accuracy on the suites: raw pixels for the image suites (digits, fashion-c), GloVe-50
features (through the feature cache) for the text suites (r8, 20ng-subgroups) with --text. A sanity check
that every OOD evaluation set is well above chance.

Usage: python benchmarks/bench_suites_lp.py [--text] [--fashion-train 10000]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

from nmtune.datasets import load_dataset, stratified_fraction
from nmtune.suites import get_suite


def flat(ds):
    return np.asarray(ds.inputs).reshape(len(ds), -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fashion-train", type=int, default=10000, help="training subset (fashion-c)")
    ap.add_argument("--text", action="store_true", help="GloVe-50 probes on r8 and 20ng-subgroups instead")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.text:
        return text_suites()
    for suite_name in ("digits", "fashion-c"):
        suite = get_suite(suite_name)
        for task in suite.tasks:
            t0 = time.perf_counter()
            train = load_dataset(task.train.dataset, task.train.split)
            if suite_name == "fashion-c":
                train = train.subset(stratified_fraction(train.labels, args.fashion_train / len(train), 0))
            clf = LogisticRegression(max_iter=1000).fit(flat(train), train.labels)
            for dom in task.evals:
                ev = load_dataset(dom.data.dataset, dom.data.split)
                acc = clf.score(flat(ev), ev.labels)
                print(f"{suite_name:<10} {task.name:<20} {dom.name:<12} {dom.kind:<4} acc={acc:.3f}")
            took = time.perf_counter() - t0
            print(f"  ({took:.1f} s, train rows {len(train)}, chance {1 / train.n_classes:.2f})", flush=True)
        if suite.skipped:
            print(f"{suite_name}: skipped (data not installed): {', '.join(suite.skipped)}")


def text_suites():
    from nmtune.cache import get_features

    for suite_name in ("r8", "20ng-subgroups"):
        for task in get_suite(suite_name).tasks:
            tr = get_features("glove-50", task.train.dataset, task.train.split, progress=False)
            clf = LogisticRegression(max_iter=2000, C=10.0).fit(np.asarray(tr.X), tr.y)
            for dom in task.evals:
                ev = get_features("glove-50", dom.data.dataset, dom.data.split, progress=False)
                acc = clf.score(np.asarray(ev.X), ev.y)
                line = f"{suite_name:<15} {task.name:<12} {dom.name:<12} {dom.kind:<4} acc={acc:.3f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
