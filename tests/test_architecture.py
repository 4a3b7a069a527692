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


# --- no import cycle between modules, within a unit too ----------------------------------------------------------
#
# Every ``import`` (module level and inside functions, absolute and relative) from one module of ``src/nmtune`` to
# another is an edge; a strongly connected set of more than one module is a cycle. Importing ``pkg.mod`` is an
# edge to ``pkg/mod.py``; ``from pkg import name`` is an edge to ``pkg/name.py`` when that module exists, else to
# ``pkg/__init__.py``. The implicit import of a parent package is not an edge (every module would then be in a
# cycle with its package's ``__init__``).

#: Allowed: a registry's loader function imports the modules that register themselves (registration by import,
#: ``datasets/_base.py``'s ``_import_loaders``; docs/architecture.md).
REGISTRATION_LOADERS = {"_import_loaders"}

#: Known cycles, to be removed when opened (the test fails once a listed cycle is gone, so the entry goes too):
KNOWN_CYCLES = [
    # datasets/_base.py imports resize_images from datasets/images.py inside _load_cached (the `@<size>` suffix),
    # while images.py registers its datasets through _base: the resizing belongs below _base.
    {"nmtune.datasets._base", "nmtune.datasets.images"},
]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_edges(root: Path):
    """``{module: {imported module: [where, ...]}}`` for every module under ``root`` (a package folder)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    top = root.name
    graph = {m: {} for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

        def in_loader(node, parents=parents):
            while node in parents:
                node = parents[node]
                if (
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name in REGISTRATION_LOADERS
                ):
                    return True
            return False

        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            for target in targets:
                if (
                    target.split(".")[0] == top
                    and target in modules
                    and target != name
                    and not in_loader(node)
                ):
                    graph[name].setdefault(target, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return graph


def _cycles(graph) -> list[set[str]]:
    """Strongly connected sets of more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(component)
    return out


def test_no_import_cycles_within_packages():
    graph = _module_edges(ROOT)
    found = _cycles(graph)
    new = [c for c in found if c not in KNOWN_CYCLES]
    shown = [
        " <-> ".join(sorted(c))
        + ": "
        + "; ".join(f"{a} -> {b} ({w[0]})" for a in sorted(c) for b, w in graph[a].items() if b in c)
        for c in new
    ]
    assert not new, "import cycles (open them: move the shared piece below both):\n" + "\n".join(shown)
    gone = [c for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these known cycles are open now: remove them from KNOWN_CYCLES: {gone}"


def test_the_cycle_check_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "nmtune"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text("def f():\n    from nmtune.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import a\n")
    (pkg / "sub" / "c.py").write_text("def _import_loaders():\n    from nmtune.sub import d\n")
    (pkg / "sub" / "d.py").write_text("import nmtune.sub.c\n")
    assert _cycles(_module_edges(pkg)) == [
        {"nmtune.sub.a", "nmtune.sub.b"}
    ]  # c <-> d is registration by import


# --- benchmarks and scripts use the public library only -----------------------------------------------------------

OUTSIDE = [ROOT.parents[1] / "benchmarks", ROOT.parents[1] / "scripts"]


def _private_imports(path: Path) -> list[str]:
    """``file:line name`` of every import of a private part of nmtune (a module or name starting with ``_``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "nmtune"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "nmtune"
        ):
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if any(part.startswith("_") and not part.startswith("__") for part in name.split(".")):
                out.append(f"{path.name}:{node.lineno} {name}")
    return out


def test_benchmarks_and_scripts_import_no_private_part_of_nmtune():
    files = [p for folder in OUTSIDE if folder.is_dir() for p in sorted(folder.glob("*.py"))]
    assert files, "no benchmark found: the check would pass vacuously"
    bad = [hit for p in files for hit in _private_imports(p)]
    assert not bad, "private imports (use the public API, or make the piece public):\n" + "\n".join(bad)


def test_the_private_import_check_sees_modules_and_names(tmp_path):
    code = (
        "import nmtune.heads._persist\nfrom nmtune.heads import _persist\nfrom nmtune._internal.stats import t\n"
        "def f():\n    from nmtune.heads.cv import select_candidate\n    from nmtune import __version__\n"
    )
    (tmp_path / "b.py").write_text(code)
    assert [h.split()[1] for h in _private_imports(tmp_path / "b.py")] == [
        "nmtune.heads._persist",
        "nmtune.heads._persist",
        "nmtune._internal.stats.t",
    ]
