"""Rendering glyphs of the fonts shipped with matplotlib, with seeded augmentation.

A *family* is a set of font files (its styles: regular, bold, italic...). A glyph is first drawn once per
(style, code point) on a 64 x 64 canvas (:data:`HIRES`) at a fixed em size with a fixed baseline, centred
horizontally on its ink, so that case, ascenders and descenders keep their place (``o`` stays smaller than
``O``). Each sample then applies, in order: a random affine map (scale, rotation, shear, translation) and a
stroke-weight change (grey erosion or dilation) on the 64 x 64 canvas, a 2 x 2 box reduction to 32 x 32, a
Gaussian blur, an ink-intensity factor and additive Gaussian noise (:data:`AUGMENTATION`).

Images are float32 in [0, 1], shape (N, H, W): white ink on black, like MNIST.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np

from nmtune.exceptions import require, unknown_name_error

__all__ = [
    "FAMILIES", "HIRES", "EM", "AUGMENTATION", "font_dir", "covered", "styles_of", "base_glyphs", "augment",
]  # fmt: skip

#: Font files of each family, under matplotlib's ``mpl-data/fonts/ttf``.
FAMILIES = {
    "dejavu-sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"),
    "dejavu-serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf"),
    "dejavu-mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
                    "DejaVuSansMono-BoldOblique.ttf"),
    "stix": ("STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf"),
    "cm": ("cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf"),
}  # fmt: skip

HIRES = 64  #: side of the canvas glyphs are drawn and augmented on (twice the output side)
EM = 38  #: em size in pixels on that canvas (the tallest DejaVu letters span 1.41 em)
_BASELINE = HIRES / 2 + 0.415 * EM  # centres the DejaVu letters' span from -1.12 em to +0.29 em

#: Ranges of the per-sample augmentation (drawn uniformly unless stated). Pixels are output pixels.
AUGMENTATION = {
    "scale": (0.92, 1.06),
    "rotation_deg": (-7.0, 7.0),
    "shear": (-0.12, 0.12),
    "shift_px": (-1.0, 1.0),
    "stroke": {"thinner": 0.15, "same": 0.45, "bolder": 0.3, "boldest": 0.1},  # probabilities
    "blur_sigma_px": (0.0, 0.6),
    "ink": (0.8, 1.0),
    "noise_std": (0.0, 0.05),
}
_STROKE_SIZE = {"thinner": -2, "same": 0, "bolder": 2, "boldest": 3}  # grey erosion (<0) / dilation footprint


def font_dir() -> Path:
    """The folder of TrueType fonts shipped in matplotlib's wheel (``mpl-data/fonts/ttf``)."""
    mpl = require("matplotlib", "plots", "the glyph datasets (fonts)")
    return Path(mpl.get_data_path()) / "fonts" / "ttf"


def _check_family(family: str) -> tuple[str, ...]:
    if family not in FAMILIES:
        raise unknown_name_error("font family", family, FAMILIES)
    return FAMILIES[family]


@functools.cache
def _cmap(style: str) -> frozenset[int]:
    ttlib = require("fontTools.ttLib", "plots", "reading font coverage")
    font = ttlib.TTFont(font_dir() / style, lazy=True)
    return frozenset(font.getBestCmap() or ())


def covered(families) -> frozenset[int]:
    """Code points that every style of ``families`` maps to a glyph (cmap coverage, read with fontTools).

    Parameters
    ----------
    families : str or sequence of str
        Keys of :data:`FAMILIES`.

    Returns
    -------
    frozenset of int
    """
    return frozenset.intersection(*(_cmap(style) for style in styles_of(families)))


@functools.cache
def _font(style: str):
    require("PIL.ImageFont", "vision", "the glyph datasets")
    from PIL import ImageFont

    return ImageFont.truetype(str(font_dir() / style), EM)


@functools.cache
def _glyph(style: str, code_point: int) -> np.ndarray:
    """One clean drawing, uint8 (64, 64), read-only (memoised: about 4 KiB each)."""
    from PIL import Image, ImageDraw

    font, char = _font(style), chr(code_point)
    left, _, right, _ = font.getbbox(char, anchor="ls")
    canvas = Image.new("L", (HIRES, HIRES), 0)
    ImageDraw.Draw(canvas).text((HIRES / 2 - (left + right) / 2, _BASELINE), char, 255, font, anchor="ls")
    out = np.asarray(canvas, dtype=np.uint8).copy()
    out.flags.writeable = False
    return out


def styles_of(families) -> tuple[str, ...]:
    """The font files of one family name or of a sequence of family names, in order."""
    families = (families,) if isinstance(families, str) else tuple(families)
    return tuple(style for family in families for style in _check_family(family))


def base_glyphs(families, code_points) -> np.ndarray:
    """The clean 64 x 64 drawings of ``code_points`` in every style of ``families`` (memoised per glyph).

    Parameters
    ----------
    families : str or sequence of str
        Keys of :data:`FAMILIES`.
    code_points : sequence of int, length C

    Returns
    -------
    numpy.ndarray
        uint8, shape (S, C, 64, 64) for the S styles of the families.
    """
    styles = styles_of(families)
    code_points = [int(c) for c in code_points]
    for style in styles:
        missing = sorted(set(code_points) - _cmap(style))
        if missing:
            shown = ", ".join(f"U+{c:04X}" for c in missing[:5])
            raise ValueError(
                f"Font {style!r} has no glyph for {len(missing)} of the code points ({shown}"
                f"{', ...' if len(missing) > 5 else ''}); choose code points that every style covers "
                "(nmtune.datasets.glyphs.covered)."
            )
    out = np.empty((len(styles), len(code_points), HIRES, HIRES), dtype=np.uint8)
    for s, style in enumerate(styles):
        for k, cp in enumerate(code_points):
            out[s, k] = _glyph(style, cp)
    return out


def reduce2(images: np.ndarray) -> np.ndarray:
    """2 x 2 box reduction: float32 (N, 2H, 2W) -> (N, H, W)."""
    x = np.asarray(images, dtype=np.float32)
    return (x[:, ::2, ::2] + x[:, 1::2, ::2] + x[:, ::2, 1::2] + x[:, 1::2, 1::2]) * np.float32(0.25)


def sample_seed(family: str, split: str, code_point: int) -> list[int]:
    """The seed of the augmentation of one class in one family and split (independent of the other classes)."""
    return [zlib.crc32(f"glyphs:{family}:{split}".encode()), int(code_point)]


def _blur(images: np.ndarray, sigma: np.ndarray, radius: int = 2) -> np.ndarray:
    """Gaussian blur of each image (N, H, W) with its own ``sigma`` (N,) in pixels; zero padding.

    The separable kernel is truncated at ``radius`` pixels (2 covers 3 sigma for sigma <= 0.67); a sigma of 0
    leaves the image as it is.
    """
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    safe = np.maximum(sigma, 1e-6)[:, None]
    k = np.exp(-(t[None, :] ** 2) / (2 * safe**2))
    k = (k / k.sum(axis=1, keepdims=True)).astype(np.float32)[:, :, None, None]  # (N, 2r+1, 1, 1)
    n, h, w = images.shape
    out = images
    for axis in (1, 2):
        padded = np.pad(out, [(0, 0)] + [(radius, radius) if a == axis else (0, 0) for a in (1, 2)])
        taps = [
            padded[:, j : j + h, :] if axis == 1 else padded[:, :, j : j + w] for j in range(2 * radius + 1)
        ]
        out = sum(k[:, j] * taps[j] for j in range(2 * radius + 1))
    return out


def augment(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Augment clean 64 x 64 drawings into 32 x 32 samples, one random draw per image.

    Parameters
    ----------
    base : numpy.ndarray
        uint8 or float in [0, 1] (uint8 is divided by 255), shape (N, 64, 64).
    rng : numpy.random.Generator
        Source of every random choice (draws happen in a fixed order, so a seed fixes the output).

    Returns
    -------
    numpy.ndarray
        float32, shape (N, 32, 32), in [0, 1].
    """
    from PIL import Image
    from scipy.ndimage import grey_dilation, grey_erosion

    a = AUGMENTATION
    x = np.asarray(base, dtype=np.float32)
    if base.dtype == np.uint8:
        x = x / 255.0
    n = x.shape[0]
    scale, rot = rng.uniform(*a["scale"], n), np.deg2rad(rng.uniform(*a["rotation_deg"], n))
    shear, shift = rng.uniform(*a["shear"], n), rng.uniform(*a["shift_px"], (n, 2)) * 2
    strokes = rng.choice(list(_STROKE_SIZE), size=n, p=list(a["stroke"].values()))
    blur, ink = rng.uniform(*a["blur_sigma_px"], n), rng.uniform(*a["ink"], n)
    noise = rng.uniform(*a["noise_std"], n)[:, None, None] * rng.standard_normal((n, HIRES // 2, HIRES // 2))
    # inverse maps output -> input about the centre c: rotation and scale, then a horizontal shear
    cos, sin, c = np.cos(rot) / scale, np.sin(rot) / scale, HIRES / 2
    m = np.stack([np.stack([cos, sin + shear], 1), np.stack([-sin, cos], 1)], 1)  # (N, 2, 2)
    off = c - np.einsum("nij,nj->ni", m, c + shift)  # (N, 2)
    coeffs = np.concatenate([m[:, 0], off[:, :1], m[:, 1], off[:, 1:]], axis=1).tolist()  # (N, 6)
    hires = np.empty_like(x)
    for i in range(n):
        im = Image.fromarray(x[i]).transform((HIRES, HIRES), Image.AFFINE, coeffs[i], Image.BILINEAR)
        hires[i] = np.asarray(im, dtype=np.float32)
    for stroke, size in _STROKE_SIZE.items():
        rows = np.flatnonzero(strokes == stroke)
        if size > 0 and rows.size:
            hires[rows] = grey_dilation(hires[rows], size=(1, size, size))
        elif size < 0 and rows.size:  # half of a one-pixel erosion: hairlines thin out without vanishing
            hires[rows] = 0.5 * (hires[rows] + grey_erosion(hires[rows], size=(1, -size, -size)))
    out = _blur(reduce2(hires), blur)
    out = out * ink[:, None, None] + noise
    return np.clip(out, 0.0, 1.0).astype(np.float32)
