"""Raw-pixel linear-probe accuracy on the image suites (digits, fashion-c): a sanity check that every OOD
evaluation set is well above chance. Usage: python benchmarks/bench_suites_lp.py [--fashion-train 10000]
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
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
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


if __name__ == "__main__":
    main()
