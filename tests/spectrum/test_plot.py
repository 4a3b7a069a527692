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


def test_short_spectrum_and_normalize(tmp_path):
    out = plot_spectrum({"a": [3.0, 2.0, 1.0, 0.0]}, tmp_path / "short.png", normalize=True)
    assert out.exists() and out.stat().st_size > 1000


def test_bad_spectra(tmp_path):
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_spectrum({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="'a'"):
        plot_spectrum({"a": [1.0, -2.0]}, tmp_path / "x.png")
