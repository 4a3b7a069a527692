"""Hand-made study records: one task, one fraction, one head seed, so a table cell is the value written here."""

import pytest

from nmtune.apps.study.summary import StudyData, study_rows


def _record(method, gamma, seed, id_acc, ood_acc, *, sve=1.0, lsvr=1.0, id_f1=None, ood_f1=None, task="t"):
    label = f"pretrained:g{gamma:g}_s{seed}@hand"
    return {
        "run_id": f"{label}/{task}/{method}",
        "status": "done",
        "config": {
            "encoder": label,
            "suite": "hand",
            "task": task,
            "method": method,
            "selection": "paper",
            "fraction": 1.0,
            "seed": 0,
            "noise": 0.0,
            "pretrain_noise": gamma,
            "protocol_version": 2,
        },
        "domains": {
            "in": {
                "kind": "id",
                "accuracy": id_acc,
                "macro_f1": id_acc if id_f1 is None else id_f1,
                "sve": sve,
                "lsvr": 0.0,
            },
            "out": {
                "kind": "ood",
                "accuracy": ood_acc,
                "macro_f1": ood_acc if ood_f1 is None else ood_f1,
                "sve": 0.0,
                "lsvr": lsvr,
            },
        },  # fmt: skip
        "fit_seconds": 0.0,
    }


def make_data(values, spectra=None):
    """``values[method][(gamma, seed)] = (id_acc, ood_acc)``; ``spectra[(gamma, seed)] = (sve, lsvr)``."""
    records, backbones = [], {}
    for method, cells in values.items():
        for (g, s), (a_id, a_ood) in cells.items():
            sve, lsvr = (spectra or {}).get((g, s), (1.0, 1.0))
            records.append(_record(method, g, s, a_id, a_ood, sve=sve, lsvr=lsvr))
            backbones[f"pretrained:g{g:g}_s{s}@hand"] = {"gamma": g, "seed": s}
    return StudyData(study_rows(records, backbones), backbones), records


@pytest.fixture
def hand_data():
    return make_data
