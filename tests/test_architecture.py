"""The layering of docs/architecture.md, enforced: no package imports from its own layer or a higher one.

Every ``import nmtune.x`` / ``from nmtune.x import ...`` in ``src/nmtune`` (module level and inside functions)
is read with ``ast``; ``x`` is the importing or imported top-level unit (a subpackage or a module of the root).
An import is allowed only from a strictly lower layer (or within the same unit). Strict layers also rule out
import cycles between units.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "nmtune"

LAYERS = {  # lowest first; see docs/architecture.md
    0: {"exceptions"},
    1: {"_internal"},
    2: {"losses", "noise", "spectrum", "datasets", "encoders", "feature_files", "results"},
    3: {"heads", "suites", "cache"},
    4: {"protocol", "report", "api"},
    5: {"pretrain"},
    6: {"apps"},
    7: {"cli"},
    8: {"__main__"},
}
LAYER_OF = {unit: layer for layer, units in LAYERS.items() for unit in units}
ROOT_NAMES_ALLOWED = {"__version__"}  # ``from nmtune import __version__`` is a constant, allowed anywhere


def _unit(module: str) -> str:
    return module.split(".")[1]


def _imports():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        src = rel.parts[0].removesuffix(".py")
        if src == "__init__":
            continue  # the root package only re-exports (lazily)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("nmtune."):
                        yield src, _unit(alias.name), f"{rel}:{node.lineno}"
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "nmtune":
                    for alias in node.names:
                        if alias.name not in ROOT_NAMES_ALLOWED:
                            yield src, alias.name, f"{rel}:{node.lineno}"
                elif node.module.startswith("nmtune."):
                    yield src, _unit(node.module), f"{rel}:{node.lineno}"


def test_every_unit_has_a_layer():
    units = {p.name.removesuffix(".py") for p in ROOT.iterdir() if p.name != "__init__.py"}
    units = {u for u in units if not u.startswith(".") and u not in {"__pycache__", "configs"}}
    assert units <= set(LAYER_OF), (
        f"place these in LAYERS and docs/architecture.md: {sorted(units - set(LAYER_OF))}"
    )


def test_imports_point_strictly_down():
    bad = [
        f"{where}: {src} (layer {LAYER_OF[src]}) imports {dst} (layer {LAYER_OF.get(dst)})"
        for src, dst, where in _imports()
        if src != dst and (dst not in LAYER_OF or LAYER_OF[dst] >= LAYER_OF[src])
    ]
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_the_check_sees_imports_inside_functions():
    found = {(src, dst) for src, dst, _ in _imports()}
    assert ("protocol", "heads") in found  # protocol/methods.py imports the heads lazily, inside a function
    assert ("cli", "apps") in found


@pytest.mark.parametrize("unit", sorted(LAYERS[0]))
def test_the_bottom_layer_imports_nothing_of_nmtune(unit):
    assert not [w for src, dst, w in _imports() if src == unit and dst != unit]
