"""Issue 24's pre-registered evaluation of NMTuneCV variants (docs/preregistration-robust-head.md).

Per task, one pass fits every candidate of the union of the variants on every fold and once on all the training
data, then applies each variant's selection rule: since NMTuneCV derives its folds and each candidate's seed from
``random_state`` and the candidate's name, the result is exactly each variant's own ``NMTuneCV.fit``
(``tests/heads/test_robust_head.py`` checks this). Baselines ``lp``, ``logreg-cv`` and ``logreg-gcv``
are fitted as heads of the registry. One JSON record per (source, task, seed), appended to ``--out`` (runs in it
are skipped: the script resumes). ``benchmarks/report_robust_head.py`` applies the pre-registered decision rule.

    python benchmarks/eval_robust_head.py --sources digits --seeds 0 --out docs/results/robust-head/records-digits.jsonl
    python benchmarks/report_robust_head.py docs/results/robust-head/records-*.jsonl

The second pre-registration (``--round 2``: variants V3-V6, sources e5-20ng, minilm-20ng-full, glyphs-noisy):

    python benchmarks/eval_robust_head.py --round 2 --sources e5-20ng \
        --out docs/results/robust-head-2/records-e5-20ng.jsonl

Only the public library is used. N samples, D features, C classes, K folds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from nmtune.heads import NMTuneCV, create_head
from nmtune.heads.cv import DEFAULT_CS, candidate_seed, fit_candidate
from nmtune.heads.persample import WIDE_CS
from nmtune.heads.selection import combine, fold_scores, mix_probas, select_candidate, simplicity_order

_PS = {"penalty": "per-sample", "Cs": WIDE_CS}
#: Every variant of the two pre-registrations and the default they were compared with (``nmtune-cv`` in the
#: records: NMTuneCV's default before issue 24, now the head ``nmtune-cv-best``), as NMTuneCV parameters. V3 is
#: the default since the second round.
ALL_VARIANTS = {
    "nmtune-cv": {"penalty": "sum", "Cs": DEFAULT_CS, "selection": "best"},
    "V1-ps": {**_PS, "selection": "best"},
    "V2-ps-lpft": {**_PS, "lpft": True},
    "V3-ps-avg": {**_PS, "selection": "average-1se"},
    "V4-wiseft": {**_PS, "selection": "wise-ft"},
    "V5-path": {**_PS, "selection": "average-path"},
    "V6-gb": {**_PS, "selection": "average-1se", "group_balance": True},
}
#: What each pre-registration runs (docs/preregistration-robust-head.md, docs/preregistration-robust-head-2.md).
ROUNDS = {
    1: {
        "variants": ("nmtune-cv", "V1-ps", "V2-ps-lpft", "V3-ps-avg"),
        "sources": ("minilm-20ng", "digits", "fashion-c"),
    },
    2: {
        "variants": ("nmtune-cv", "V1-ps", "V3-ps-avg", "V4-wiseft", "V5-path", "V6-gb"),
        "sources": ("e5-20ng", "minilm-20ng-full", "glyphs-noisy"),
    },
}
#: The variants of the first round (the fast-path test and earlier callers use this name).
VARIANTS = {v: ALL_VARIANTS[v] for v in ROUNDS[1]["variants"]}
BASELINES = ("lp", "logreg-cv", "logreg-gcv")
#: Glyph backbones of the second round, (γ, pre-training seed): the glyph study's width-32 ResNet-8 pre-trained
#: with symmetric label noise γ, as files ``g<γ>_s<seed>.pt`` in ``--checkpoints``.
GLYPH_BACKBONES = tuple((g, s) for g in ("0.05", "0.1", "0.2") for s in (0, 1))
#: source name -> (encoder or encoders, suite, max_train, max_eval). ``{ckpt}`` is ``--checkpoints``.
SOURCES = {
    "minilm-20ng": ("minilm", "20ng-subgroups", 300, 200),
    "digits": ("efficientnet-lite0", "digits", 2000, 500),
    "fashion-c": ("efficientnet-lite0", "fashion-c", 2000, 500),
    "e5-20ng": ("e5-small", "20ng-subgroups", 300, 200),
    "minilm-20ng-full": ("minilm", "20ng-subgroups", None, None),
    "glyphs-noisy": (
        tuple(f"pretrained:{{ckpt}}/g{g}_s{k}.pt" for g, k in GLYPH_BACKBONES),
        "glyphs",
        None,
        None,
    ),
}


def variant_predictions(X, y, groups, evals, seed, variants=VARIANTS, device="cpu", log=None) -> dict:
    """Each variant's class probabilities on ``evals`` and its selection, from one pass over the candidates.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
        Labels encoded 0..C-1.
    groups : ndarray of shape (N,) or None
        Source sub-domain of each training row.
    evals : list of ndarray of shape (n_j, D)
        Evaluation features.
    seed : int
        NMTuneCV's ``random_state``.
    variants : dict
        Name -> NMTuneCV parameters (all with the same ``cv``).
    device : str
    log : callable or None
        Called with a progress line.

    Returns
    -------
    dict
        ``variants``: name -> {``proba`` (list over evals), ``pick``, ``averaged``, ``fit_seconds``, ``candidates``
        (name -> {``val``: mean fold accuracy, ``proba`` list over evals})}; ``nmtune_seconds`` (one NMTune refit);
        ``n_splits``.
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    ests = {v: NMTuneCV(random_state=seed, device=device, **kw) for v, kw in variants.items()}
    folds = next(iter(ests.values())).make_folds(y, groups)
    families = {v: e.candidates(X.shape[0]) for v, e in ests.items()}
    fitted = {}
    for fam in families.values():
        for c in fam:
            if not c.members:
                if c.name in fitted and fitted[c.name] != c:
                    raise ValueError(f"candidate {c.name!r} differs between variants")
                fitted[c.name] = c
    g = None if groups is None else np.asarray(groups)
    probas, tests, fold_time, refit_time = {}, {}, {}, {}
    for name, c in fitted.items():
        s = candidate_seed(seed, name)
        fold_time[name] = 0.0
        for k, (tr, va) in enumerate(folds):
            t0 = time.perf_counter()
            m = fit_candidate(c, s, X[tr], y[tr], None if g is None else g[tr])
            fold_time[name] += time.perf_counter() - t0
            probas[name, k] = m.predict_proba(X[va])
        t0 = time.perf_counter()
        m = fit_candidate(c, s, X, y, g)
        refit_time[name] = time.perf_counter() - t0
        tests[name] = [m.predict_proba(np.asarray(E, dtype=np.float32)) for E in evals]
        if log:
            log(f"  {name}: folds {fold_time[name]:.1f} s, refit {refit_time[name]:.1f} s")
    out = {"variants": {}, "nmtune_seconds": refit_time.get("nmtune"), "n_splits": len(folds)}
    for v, fam in families.items():
        p = dict(probas)
        scores = fold_scores(fam, p, y, folds)  # (candidates, K); adds the blends' fold probabilities to p
        rule = ests[v].selection
        best = select_candidate(scores, simplicity_order(fam), rule)
        combo = combine(rule, fam, scores, p, y, folds)

        def test_proba(c):
            if c.members:
                return [np.stack([tests[m][j] for m in c.members]).mean(axis=0) for j in range(len(evals))]
            return tests[c.name]

        if combo is not None:
            best = combo.best_index
            weights = combo.weights
            proba = [
                mix_probas([tests[m][j] for m in weights], list(weights.values()), combo.space)
                for j in range(len(evals))
            ]
            refit_names = list(weights)
        else:
            proba = test_proba(fam[best])
            refit_names = list(fam[best].members or (fam[best].name,))
        seconds = sum(fold_time[c.name] for c in fam if not c.members) + sum(
            refit_time[m] for m in refit_names
        )
        out["variants"][v] = {
            "proba": proba,
            "pick": fam[best].name,
            "averaged": None if combo is None else combo.params.get("averaged"),
            "alpha": None if combo is None else combo.params.get("alpha"),
            "fit_seconds": seconds,
            "candidates": {
                c.name: {"val": float(scores[i].mean()), "proba": test_proba(c)} for i, c in enumerate(fam)
            },
        }
    return out


# -- the run ---------------------------------------------------------------------------------------------------------


def _eval_groups(suite, task, max_eval):
    """Per evaluation domain: the sub-domain of each row (None where the dataset declares none)."""
    from nmtune.datasets import capped_name, dataset_groups
    from nmtune.suites import get_suite

    t = next(t for t in get_suite(suite).tasks if t.name == task)
    out = []
    for d in t.evals:
        try:
            g = dataset_groups(capped_name(d.data.dataset, max_eval), d.data.split)
        except Exception:  # noqa: BLE001 - a dataset without groups
            g = None
        out.append(None if g is None else np.asarray(g))
    return out


def _acc(proba, y) -> float:
    return float(100.0 * np.mean(np.asarray(proba).argmax(1) == y))


def _domain_scores(proba_list, task, eval_groups) -> dict:
    """ID / OOD accuracy (%), each OOD domain's, and the worst OOD domain or target group."""
    ids, oods, worst = [], {}, []
    for proba, d, g in zip(proba_list, task.evals, eval_groups):
        a = _acc(proba, d.y)
        if d.kind == "id":
            ids.append(a)
            continue
        oods[d.name] = a
        worst.append(a)
        if g is not None and len(g) == len(d.y):
            pred = np.asarray(proba).argmax(1)
            worst += [float(100.0 * np.mean(pred[g == u] == d.y[g == u])) for u in np.unique(g)]
    return {"id": float(np.mean(ids)), "ood": float(np.mean(list(oods.values()))), "ood_domains": oods,
            "worst": float(min(worst))}  # fmt: skip


def _encoders(source: str, checkpoints: Path | None) -> list[tuple[str, str]]:
    """``(encoder, task suffix)`` pairs of a source: one encoder, or one per glyph backbone."""
    encoder = SOURCES[source][0]
    if isinstance(encoder, str):
        return [(encoder, "")]
    if checkpoints is None:
        raise SystemExit(
            f"source {source!r} needs --checkpoints: the folder of the glyph backbones g<γ>_s<seed>.pt "
            "(nmtune study noisy-pretrain --gammas 0.05 0.1 0.2 --seeds 0 1 writes them to <out>/checkpoints)."
        )
    pairs = []
    for (gamma, seed), template in zip(GLYPH_BACKBONES, encoder):
        enc = template.format(ckpt=Path(checkpoints).resolve())
        path = Path(enc.split(":", 1)[1])
        if not path.is_file():
            raise SystemExit(
                f"source {source!r}: backbone {path} does not exist (in --checkpoints {checkpoints})."
            )
        pairs.append((enc, f"@g{gamma}_s{seed}"))
    return pairs


def run(sources, seeds, out: Path, log=print, variants=VARIANTS, checkpoints: Path | None = None) -> None:
    """Evaluate every (source, task, seed) not yet in ``out``; one JSON line each."""
    from scipy.stats import spearmanr

    from nmtune.protocol.feature_tasks import suite_feature_tasks

    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["source"], r["task"], r["seed"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    for source in sources:
        _, suite, max_train, max_eval = SOURCES[source]
        for encoder, suffix in _encoders(source, checkpoints):
            tasks = suite_feature_tasks(
                encoder, suite, max_train=max_train, max_eval=max_eval, progress=False
            )
            for task in tasks:
                _run_task(task, task.name + suffix, source, encoder, suite, max_eval, seeds, done, out, log,
                          variants, spearmanr)  # fmt: skip


def _run_task(
    task, name, source, encoder, suite, max_eval, seeds, done, out, log, variants, spearmanr
) -> None:
    eval_groups = _eval_groups(suite, task.name, max_eval)
    for seed in seeds:
        if (source, name, seed) in done:
            continue
        start = time.time()
        log(f"{source} {name} seed {seed}: N = {task.X_train.shape[0]}, D = {task.X_train.shape[1]}")
        groups = None if task.groups_train is None else np.asarray(task.groups_train)
        evals = [d.X for d in task.evals]
        rec = {"source": source, "encoder": encoder, "suite": suite, "task": name, "seed": seed,
               "n_train": int(task.X_train.shape[0]), "methods": {}}  # fmt: skip
        for b in BASELINES:
            t0 = time.perf_counter()
            head = create_head(b, random_state=seed, **({"device": "cpu"} if b == "lp" else {}))
            fit_kw = {"groups": groups} if b == "logreg-gcv" and groups is not None else {}
            head.fit(task.X_train, task.y_train, **fit_kw)
            secs = time.perf_counter() - t0
            probas = [head.predict_proba(E) for E in evals]
            rec["methods"][b] = {**_domain_scores(probas, task, eval_groups), "fit_seconds": secs}
        res = variant_predictions(task.X_train, task.y_train, groups, evals, seed, variants=variants, log=log)
        rec["nmtune_seconds"], rec["n_splits"] = res["nmtune_seconds"], res["n_splits"]
        for v, r in res["variants"].items():
            cands = {n: {"val": c["val"], **_domain_scores(c["proba"], task, eval_groups)}
                     for n, c in r["candidates"].items()}  # fmt: skip
            vals = [c["val"] for c in cands.values()]
            oods = [c["ood"] for c in cands.values()]
            rho = spearmanr(vals, oods).statistic if len(set(vals)) > 1 else float("nan")
            rec["methods"][v] = {
                **_domain_scores(r["proba"], task, eval_groups),
                "pick": r["pick"],
                "averaged": r["averaged"],
                "fit_seconds": r["fit_seconds"],
                "oracle": max(cands, key=lambda n: cands[n]["ood"]),
                "oracle_ood": max(oods),
                "spearman_val_ood": float(rho),
                "candidates": {
                    n: {"val": c["val"], "id": c["id"], "ood": c["ood"]} for n, c in cands.items()
                },
            }
            if r.get("alpha") is not None:
                rec["methods"][v]["alpha"] = r["alpha"]
        rec["seconds"] = time.time() - start
        with out.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        summary = {m: round(v["ood"], 2) for m, v in rec["methods"].items()}
        log(f"  done in {rec['seconds']:.0f} s: OOD {summary}")


def main(argv=None) -> None:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1,
                        help="which pre-registration: its variants and (without --sources) its sources")  # fmt: skip
    parser.add_argument("--sources", nargs="+", choices=list(SOURCES), help="default: the round's sources")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--checkpoints", type=Path, help="folder of the glyph backbones (source glyphs-noisy)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/results/robust-head/records.jsonl"),
        help="records file (one JSON line per source, task, seed)",
    )
    args = parser.parse_args(argv)
    spec = ROUNDS[args.round]
    variants = {v: ALL_VARIANTS[v] for v in spec["variants"]}
    run(args.sources or list(spec["sources"]), args.seeds, args.out, log=lambda s: print(s, flush=True),
        variants=variants, checkpoints=args.checkpoints)  # fmt: skip


if __name__ == "__main__":
    main()
