"""Compare two results stores run by run: the same runs, the same numbers (or list what differs).

    PYTHONPATH=src .venv/bin/python scripts/compare_stores.py BEFORE.sqlite AFTER.sqlite [--tol 0]

Runs are matched by run id. For every run in both stores the status, ``n_train``, the selected parameters and,
per evaluation domain, ``n``, accuracy, macro-F1, SVE, LSVR and RankMe are compared (exactly by default; ``--tol``
allows an absolute difference). Keys that only one side has (e.g. per-sample predictions added by a newer
nmtune) are ignored. Exit status 0 when everything matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys

from nmtune.results import ResultsStore

METRICS = ("n", "accuracy", "macro_f1", "sve", "lsvr", "rankme")


def _close(a, b, tol: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) and math.isnan(b):
            return True
        return abs(a - b) <= tol
    return a == b


def compare(before: dict, after: dict, tol: float) -> list[str]:
    """Differences between two records of one run (empty when they agree)."""
    out = []
    for key in ("status", "n_train", "selected"):
        if before.get(key) != after.get(key):
            out.append(f"{key}: {before.get(key)!r} -> {after.get(key)!r}")
    dom_a, dom_b = before.get("domains") or {}, after.get("domains") or {}
    if set(dom_a) != set(dom_b):
        out.append(f"domains: {sorted(dom_a)} -> {sorted(dom_b)}")
    for name in sorted(set(dom_a) & set(dom_b)):
        for m in METRICS:
            a, b = dom_a[name].get(m), dom_b[name].get(m)
            if not _close(a, b, tol):
                out.append(f"{name}.{m}: {a!r} -> {b!r}")
    return out


def main(argv=None) -> int:
    """Compare the stores named on the command line; 0 when every shared run matches and none is unmatched."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--tol", type=float, default=0.0, help="absolute tolerance for float metrics (default 0)")
    args = ap.parse_args(argv)
    with ResultsStore(args.before, create=False) as a, ResultsStore(args.after, create=False) as b:
        ra = {r["run_id"]: r for r in a.records(status=None)}
        rb = {r["run_id"]: r for r in b.records(status=None)}
    only_a, only_b = sorted(set(ra) - set(rb)), sorted(set(rb) - set(ra))
    bad = 0
    for rid in sorted(set(ra) & set(rb)):
        diffs = compare(ra[rid], rb[rid], args.tol)
        if diffs:
            bad += 1
            cfg = ra[rid]["config"]
            print(f"{rid} {cfg.get('task')}/{cfg.get('method')} seed {cfg.get('seed')}: " + "; ".join(diffs))
    for name, ids in (("only in before", only_a), ("only in after", only_b)):
        if ids:
            print(f"{len(ids)} runs {name}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    n = len(set(ra) & set(rb))
    print(
        f"{n} runs in both stores, {n - bad} identical, {bad} differ; {len(only_a)} / {len(only_b)} unmatched"
    )
    return 0 if bad == 0 and not only_a and not only_b else 1


if __name__ == "__main__":
    sys.exit(main())
