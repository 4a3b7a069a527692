"""scripts/reverdict_stored_summary.py: an old-format summary re-decided under the current rules."""

import json

import numpy as np
import pytest

from nmtune.apps.study.verdict import claim_verdicts

GAMMAS, SEEDS = (0.0, 0.1, 0.3), (0, 1, 2)


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("scripts/reverdict_stored_summary.py")


def _values():
    """``values[method][(gamma, seed)] = (id, ood)``: the clean model leads by 2 points under LP and NMTune alike."""
    rng = np.random.default_rng(0)
    out = {}
    for m, shift in (("lp", 0.0), ("mlp", -0.01), ("nmtune", 0.01)):
        out[m] = {}
        for g in GAMMAS:
            for s in SEEDS:
                base = 0.9 - (0.02 if g > 0 else 0.0) + shift + 0.003 * rng.standard_normal()
                out[m][(g, s)] = (base, base - 0.4 - 0.1 * g + 0.003 * rng.standard_normal())
    return out


def _spectra():
    return {(g, s): (4.0 + g + 0.01 * s, 1.5 + 0.5 * g - 0.01 * s) for g in GAMMAS for s in SEEDS}


def _old_summary(values, spectra):
    summary = {}
    for m, cells in values.items():
        for i, kind in enumerate(("id", "ood")):
            summary[f"{kind}_{m}"] = {str(g): [cells[(g, s)][i] for s in SEEDS] for g in GAMMAS}
    for key, i in (("sve_id", 0), ("lsvr_ood", 1)):
        summary[key] = {str(g): [spectra[(g, s)][i] for s in SEEDS] for g in GAMMAS}
    summary["clean_test_accuracy"] = {str(g): [0.99 - 0.1 * g] * len(SEEDS) for g in GAMMAS}
    config = {"setup": "glyphs", "objective": "supervised", "seeds": list(SEEDS), "fractions": [1.0],
              "methods": ["lp", "mlp", "nmtune"], "probe": "lp"}  # fmt: skip
    return {"summary": summary, "config": config}


def test_the_stored_summary_gives_the_verdicts_of_the_records(script, hand_data):
    values, spectra = _values(), _spectra()
    data, _ = hand_data(values, spectra)
    stored = script.StoredSummary(_old_summary(values, spectra))
    from_records = claim_verdicts(data)
    from_summary = claim_verdicts(stored)
    assert [v.key for v in from_summary] == [v.key for v in from_records]
    for a, b in zip(from_summary, from_records):
        assert a.effect == pytest.approx(b.effect, abs=1e-12)
        assert a.p == pytest.approx(b.p, abs=1e-9, nan_ok=True)
        assert a.holm == b.holm


def test_the_folder_is_rewritten_once_with_the_old_file_below(script, tmp_path):
    folder = tmp_path / "glyphs"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(_old_summary(_values(), _spectra())))
    (folder / "verdict.md").write_text("# old verdicts\n")
    script.reverdict(folder, folder)
    script.reverdict(folder, folder)  # twice: the old file is kept once
    text = (folder / "verdict.md").read_text()
    assert text.count("# old verdicts") == 1 and text.count(script.MARKER) == 1
    assert text.count("# Superseded: the verdict file as first generated") == 1  # its header once too
    assert "Provisional" in text and "Unit of replication: the pre-training seed" in text
    lead = next(v for v in json.loads((folder / "reverdict.json").read_text())["verdicts"]
                if v["key"] == "nmtune-restores-lead-vs-lp")  # fmt: skip
    assert lead["holm"] == "inconclusive" and abs(lead["effect"]) < 0.01  # equal leads: nothing restored
    assert (folder / "forest_claims.png").is_file() and (folder / "forest_heads.png").is_file()
