"""``nmtune --help`` stays fast: building the parser imports neither torch nor scikit-learn."""

import subprocess
import sys


def test_building_the_parser_imports_no_torch_or_sklearn():
    code = (
        "import sys; from nmtune.cli import build_parser; build_parser(); "
        "heavy = sorted(m for m in ('torch', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_top_level_heads_are_still_importable_lazily():
    import nmtune

    assert nmtune.NMTune.__name__ == "NMTune"
    assert "NMTune" in dir(nmtune)
