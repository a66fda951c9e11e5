"""The import graph of sim_pairs, graphs and rs3l: no cycles, and no import against the flow sim_pairs -> graphs -> rs3l.

A static walk (``ast``) of every module of the three packages, counting imports inside
functions too (a function-level import is still a dependency, only a later one) and
``importlib.import_module("...")`` / ``find_spec("...")`` with a literal name. Two graphs
are checked for cycles: modules (``rs3l.train.trainer``), and units, a unit being a
top-level module or a subpackage (``rs3l.diagnostics``, ``rs3l.train``), so that two
modules leaning on each other through different files of a subpackage are caught too.
The walker itself is tested on tiny packages written to ``tmp_path``.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim_pairs", "graphs", "rs3l")

#: What each package must never import (STYLE.md convention 1): data flows one way,
#: sim_pairs -> files -> graphs -> rs3l, and sim_pairs never imports torch.
FORBIDDEN = {
    "sim_pairs": ("graphs", "rs3l", "torch", "torch_geometric", "torch_cluster"),
    "graphs": ("rs3l", "pythia8", "pythia8mc"),
    "rs3l": ("pythia8", "pythia8mc"),
}


def _module_files(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every ``.py`` file of ``packages``."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_init = parts[-1] == "__init__"
            if is_init:
                parts.pop()
            out[".".join(parts)] = (path, is_init)
    return out


def _literal_import(node: ast.Call) -> str | None:
    """The module named by ``import_module("x")``, ``importlib.util.find_spec("x")`` or ``__import__("x")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in ("import_module", "find_spec", "__import__") and node.args:
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
            return arg.value
    return None


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the absolute names of everything it imports, anywhere in its body.

    ``from pkg import name`` points at ``pkg.name`` when that is a module of ``packages``
    and at ``pkg`` otherwise; relative imports are resolved against the module's package.
    """
    files = _module_files(root, packages)
    graph: dict[str, set[str]] = {}
    for module, (path, is_init) in files.items():
        package = module.split(".") if is_init else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package[: len(package) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    targets.add(child if child in files else base)
            elif isinstance(node, ast.Call) and (name := _literal_import(node)):
                targets.add(name)
        graph[module] = targets
    return graph


def _internal(graph: dict[str, set[str]], unit=lambda module: module) -> dict[str, set[str]]:
    """The graph restricted to modules of the walked packages, each mapped through ``unit``, without self-edges."""
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        src = unit(module)
        out.setdefault(src, set())
        for target in targets:
            # "a.b.c" (a module, or a name in one) is ours when it or a parent is a walked module
            parts = target.split(".")
            known = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in graph), None)
            if known is not None and unit(known) != src:
                out[src].add(unit(known))
    return out


def unit_of(module: str) -> str:
    """``rs3l.train.trainer`` -> ``rs3l.train``; ``rs3l.diagnostics`` -> ``rs3l.diagnostics``; ``rs3l`` -> ``rs3l``."""
    return ".".join(module.split(".")[:2])


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one node (Tarjan), as a sorted list of nodes; [] when acyclic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the number of modules (a few hundred)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def flow_violations(graph: dict[str, set[str]], forbidden: dict[str, tuple[str, ...]]) -> list[str]:
    """``"module imports target"`` for every import of a name its top-level package must not import."""
    out = []
    for module, targets in sorted(graph.items()):
        banned = forbidden.get(module.split(".")[0], ())
        for target in sorted(targets):
            if target.split(".")[0] in banned:
                out.append(f"{module} imports {target}")
    return out


def check(root: Path, packages: tuple[str, ...], forbidden: dict[str, tuple[str, ...]]) -> list[str]:
    """Every problem of the import graph under ``root``, one line each; [] when clean."""
    graph = import_graph(root, packages)
    problems = [f"module cycle: {' <-> '.join(c)}" for c in find_cycles(_internal(graph))]
    problems += [f"cycle between units: {' <-> '.join(c)}" for c in find_cycles(_internal(graph, unit_of))]
    return problems + flow_violations(graph, forbidden)


# ------------------------------------------------------------------ the walker, on planted packages
def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_walker_finds_a_cycle_through_a_function_level_import(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import g\n",
        "pkg/b.py": "def g():\n    from pkg import a\n    return a\n",
    })
    assert check(tmp_path, ("pkg",), {}) == ["module cycle: pkg.a <-> pkg.b", "cycle between units: pkg.a <-> pkg.b"]


def test_walker_finds_a_cycle_between_a_module_and_a_subpackage(tmp_path):
    # no module cycle (diag -> sub.low, sub.high -> diag) but the units lean on each other
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/diag.py": "import pkg.sub.low\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/low.py": "X = 1\n",
        "pkg/sub/high.py": "from .. import diag\n",
    })
    assert check(tmp_path, ("pkg",), {}) == ["cycle between units: pkg.diag <-> pkg.sub"]


def test_walker_resolves_relative_and_literal_imports(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from .sub import low\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/low.py": "import importlib\nM = importlib.import_module('other.thing')\nfrom ...up import x\n",
        "pkg/sub/high.py": "from . import low\nfrom .low import M\n",
    })
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg"] == {"pkg.sub.low"}
    assert graph["pkg.sub.high"] == {"pkg.sub.low"}
    assert graph["pkg.sub.low"] == {"importlib", "other.thing", "up"}
    assert check(tmp_path, ("pkg",), {}) == []


def test_walker_finds_an_import_against_the_flow(tmp_path):
    _write(tmp_path, {
        "first/__init__.py": "",
        "first/io.py": "def f():\n    import torch\n    from second.reader import r\n",
        "second/__init__.py": "",
        "second/reader.py": "import first.io\n",
    })
    problems = check(tmp_path, ("first", "second"), {"first": ("second", "torch")})
    assert problems == ["module cycle: first.io <-> second.reader", "cycle between units: first.io <-> second.reader",
                        "first.io imports second.reader", "first.io imports torch"]


# ------------------------------------------------------------------ the real packages
def test_walk_sees_the_real_packages():
    graph = import_graph(ROOT, PACKAGES)
    # a known edge of each kind: module level, function level, relative
    assert "torch" in graph["rs3l.train.trainer"]
    assert "graphs.dataset" in graph["rs3l.train.pretrain"]
    assert "sim_pairs.typed_config" in graph["rs3l.config"]


def test_no_import_cycles_and_nothing_against_the_flow():
    assert check(ROOT, PACKAGES, FORBIDDEN) == []
