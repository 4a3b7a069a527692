"""Spectrum figure: a readable PNG in three panels."""

from __future__ import annotations

import numpy as np
import pytest

from nmtune.spectrum import plot_spectrum

plt = pytest.importorskip("matplotlib.pyplot")


def test_writes_png_with_three_panels(tmp_path):
    r = np.random.default_rng(0)
    spectra = {f"noise {g} %": np.sort(r.gamma(1.0 + g / 10, size=768))[::-1] for g in (0, 10, 30)}
    out = plot_spectrum(spectra, tmp_path / "sub" / "spectrum.png", title="three spectra")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = plt.imread(out)
    assert img.shape[0] > 300 and img.shape[1] > 1000
    assert img[..., :3].std() > 0.05  # something was drawn


def test_short_spectrum_gets_one_panel_not_two_empty_ones(tmp_path):
    short = plt.imread(plot_spectrum({"a": [3.0, 2.0, 1.0, 0.0]}, tmp_path / "short.png", normalize=True))
    mid = plt.imread(plot_spectrum({"a": np.linspace(1, 0, 300)}, tmp_path / "mid.png"))
    full = plt.imread(plot_spectrum({"a": np.linspace(1, 0, 600)}, tmp_path / "full.png"))
    assert short.shape[1] < mid.shape[1] < full.shape[1]  # 1, 2 and 3 panels


def test_normalize_divides_each_spectrum_by_its_sum_and_sorts():
    from nmtune.spectrum.plot import prepare_spectra

    raw = {"a": [1.0, 3.0, 2.0], "zero": [0.0, 0.0]}
    norm = prepare_spectra(raw, normalize=True)
    np.testing.assert_allclose(norm["a"], [0.5, 2 / 6, 1 / 6])
    np.testing.assert_array_equal(norm["zero"], [0.0, 0.0])
    np.testing.assert_array_equal(prepare_spectra(raw)["a"], [3.0, 2.0, 1.0])


def test_bad_spectra(tmp_path):
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_spectrum({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="'a'"):
        plot_spectrum({"a": [1.0, -2.0]}, tmp_path / "x.png")
