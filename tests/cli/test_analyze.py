"""``nmtune analyze`` end to end through nmtune.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmtune.cli import main
from nmtune.feature_files import save_feature_file
from nmtune.spectrum import spectrum_metrics


def test_analyze_csv_writes_json_and_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    r = np.random.default_rng(0)
    X = (r.normal(size=(120, 24)) * np.linspace(3, 0.1, 24)).astype(np.float32)
    y = r.integers(0, 4, size=120)
    path = save_feature_file(tmp_path / "feats.csv", X, y)
    out = tmp_path / "out"
    code = main(
        ["analyze", str(path), "--label-column", "label", "--center", "--normalize-rows", "--out", str(out)]
    )
    assert code == 0
    record = json.loads((out / "spectrum.json").read_text())
    expected = spectrum_metrics(X, center=True, normalize_rows=True)
    for key in ("sve", "lsvr", "rankme", "sigma_1"):
        assert record[key] == pytest.approx(expected[key], rel=1e-6)
    assert record["n_samples"] == 120 and record["dim"] == 24 and record["n_labels"] == 4
    assert len(record["singular_values"]) == 24 and record["center"] and record["normalize_rows"]
    assert (out / "spectrum.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "sve" in printed and "lsvr" in printed and "spectrum.json" in printed


def test_analyze_npy_no_plot_and_errors(tmp_path, capsys):
    X = np.random.default_rng(1).normal(size=(30, 5)).astype(np.float32)
    path = save_feature_file(tmp_path / "f.npy", X)
    assert main(["analyze", str(path), "--out", str(tmp_path / "o"), "--no-plot", "--method", "tsqr"]) == 0
    assert (tmp_path / "o" / "spectrum.json").exists() and not (tmp_path / "o" / "spectrum.png").exists()
    assert main(["analyze", str(tmp_path / "f.txt"), "--out", str(tmp_path / "o")]) == 2
    assert "Accepted formats" in capsys.readouterr().err


def test_analyze_several_files_overlays_their_spectra(tmp_path, capsys):
    from nmtune.spectrum import singular_values

    r = np.random.default_rng(0)
    a = r.standard_normal((200, 16)).astype(np.float32)
    b = (10 * a[:, :1] + 0.1 * r.standard_normal((200, 16))).astype(np.float32)  # one dominant direction
    np.save(tmp_path / "clean.npy", a)
    np.save(tmp_path / "noisy.npy", b)
    out = tmp_path / "both"
    assert main(["analyze", str(tmp_path / "clean.npy"), str(tmp_path / "noisy.npy"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "clean.npy" in text and "noisy.npy" in text and "spectrum.png" in text
    clean = json.loads((out / "spectrum-clean.json").read_text())
    noisy = json.loads((out / "spectrum-noisy.json").read_text())
    np.testing.assert_allclose(clean["singular_values"], singular_values(a), rtol=1e-9)
    assert noisy["lsvr"] < clean["lsvr"]  # the dominant direction shows
    assert (out / "spectrum.png").stat().st_size > 1000
    assert sorted(p.name for p in out.iterdir()) == [
        "spectrum-clean.json",
        "spectrum-noisy.json",
        "spectrum.png",
    ]
