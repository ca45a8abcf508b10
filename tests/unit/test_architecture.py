"""The import graph of gateway/ and protocols/ keeps the layering the README describes.

Every `import` and `from ... import` statement counts, wherever it stands: at module level,
inside a function (a late import is still a dependency), and under `if TYPE_CHECKING:`
(a type named from a higher layer couples the layers as much as a call does). Imports made by
name at run time (`importlib.import_module`, as the emulator loads the protocols it lists)
are not statements and are not seen; the emulator is the top layer, so they point downward.

Checked: no cycle between modules; no module imports a layer above its own (or a sibling
it must not know: the store and the rules know nothing of each other), so no protocol imports
the emulator; no protocol imports the store or another protocol; no module imports another
module's underscore name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom first: a module may import its own layer (without cycles) and any layer below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("gateway", "gateway.errors", "gateway.query", "gateway.indexing", "gateway.oai_sets")),
    ("records", ("gateway.records",)),
    ("model", ("gateway.model",)),
    ("rules", ("gateway.rules",)),
    ("store", ("gateway.store",)),
    ("domain services", ("gateway.loading", "gateway.publishing")),
    ("catalog", ("gateway.catalog",)),
    # record matching and the Merge program: over the catalog's operations, named as Protocols
    ("matching", ("gateway.matching",)),
    # harvesting: OAI-PMH client, import transformation, match-or-create over the catalog
    ("harvesting", ("gateway.harvesting",)),
    # interlibrary loan: a domain over the catalog, its wire in protocols/iso18626
    ("ill", ("gateway.ill",)),
    # protocols name what they need of the running gateway in protocols.host; the emulator
    # satisfies those interfaces, so no protocol imports it
    ("protocols", ("protocols",)),
    ("emulator", ("gateway.emulator", "gateway.__main__")),
)
# Layers that must not know each other although one sits above the other.
APART: frozenset[tuple[str, str]] = frozenset({("store", "rules")})
PROTOCOLS = "protocols"
STORE = "gateway.store"


@dataclass(frozen=True)
class Import:
    """One imported module (and the names taken from it) in one module, at one line."""

    importer: str
    imported: str
    names: tuple[str, ...]
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """Every module of the packages under `root`, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def _absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The project modules `name` imports, each `from` import resolved to a submodule when
    the imported name is one (`from gateway import records` imports gateway.records)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _known(alias.name, modules):
                    found.append(Import(name, _known(alias.name, modules), (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(name, is_package, node.module, node.level)
            plain: list[str] = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    found.append(Import(name, sub, (), node.lineno))
                else:
                    plain.append(alias.name)
            if plain and _known(base, modules):
                found.append(Import(name, base, tuple(plain), node.lineno))
            elif plain and any(n.startswith("_") and not n.startswith("__") for n in plain):
                # a third-party module's private name is just as private
                found.append(Import(name, base, tuple(plain), node.lineno))
    return found


def _known(dotted: str, modules: dict[str, Path]) -> str:
    """The project module `dotted` names (its closest enclosing one), or ''."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return ""


def layer_of(module: str, layers: Sequence[tuple[str, Sequence[str]]]) -> tuple[int, str] | None:
    """(rank, layer name) by the longest prefix that names the module or a package of it."""
    best: tuple[int, int, str] | None = None
    for rank, (layer, prefixes) in enumerate(layers):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank, layer)
    return None if best is None else (best[1], best[2])


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    # iterative Tarjan: the graph is deep enough to make recursion a risk on small stacks
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def violations(
    root: Path,
    packages: Sequence[str] = ("gateway", PROTOCOLS),
    layers: Sequence[tuple[str, Sequence[str]]] = LAYERS,
    apart: frozenset[tuple[str, str]] = APART,
) -> list[str]:
    """Every breach of the layering rules in the packages under `root`, one line each."""
    modules = find_modules(root, packages)
    found: list[str] = []
    edges: set[tuple[str, str]] = set()
    for name, path in modules.items():
        where = f"{path.relative_to(root)}"
        mine = layer_of(name, layers)
        if mine is None:
            found.append(f"{where}: {name} is in no layer")
            continue
        for imp in imports_of(name, path, modules):
            line = f"{where}:{imp.line}"
            private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
            if private and imp.imported != name:
                found.append(f"{line}: imports {imp.imported}'s private {', '.join(private)}")
            if imp.imported not in modules:
                continue
            if imp.imported != name:
                edges.add((name, imp.imported))
            theirs = layer_of(imp.imported, layers)
            if theirs is None:
                continue
            if theirs[0] > mine[0]:
                found.append(f"{line}: {mine[1]} {name} imports {theirs[1]} {imp.imported} (upward)")
            if (mine[1], theirs[1]) in apart or (theirs[1], mine[1]) in apart:
                found.append(f"{line}: {mine[1]} {name} imports {theirs[1]} {imp.imported}")
            found.extend(_protocol_breach(line, name, imp.imported))
    found.extend(f"import cycle: {' <-> '.join(c)}" for c in cycles(edges))
    return found


def _protocol_of(module: str) -> str | None:
    """`protocols.sru.cql` -> `sru`; the protocols package's shared modules belong to none."""
    parts = module.split(".")
    if parts[0] != PROTOCOLS or len(parts) < 2:
        return None
    return parts[1]


def _protocol_breach(line: str, importer: str, imported: str) -> list[str]:
    mine = _protocol_of(importer)
    if mine is None:
        return []
    if imported == STORE or imported.startswith(STORE + "."):
        return [f"{line}: protocol {importer} imports the store ({imported})"]
    theirs = _protocol_of(imported)
    if theirs is not None and theirs != mine and _is_protocol_package(imported):
        return [f"{line}: protocol {importer} imports another protocol ({imported})"]
    return []


def _is_protocol_package(module: str) -> bool:
    # protocols/<name>/ is a protocol; a lone protocols/<name>.py is a shared wire helper
    return (ROOT_FOR_PROTOCOLS[0] / PROTOCOLS / module.split(".")[1]).is_dir()


ROOT_FOR_PROTOCOLS: list[Path] = [ROOT]


# --- the project itself ------------------------------------------------------------------------


def test_the_project_keeps_its_layers() -> None:
    assert violations(ROOT) == []


def test_every_module_has_a_layer_and_the_graph_is_not_empty() -> None:
    modules = find_modules(ROOT, ("gateway", PROTOCOLS))
    assert "gateway.catalog" in modules and "gateway.emulator.app" in modules
    assert all(layer_of(m, LAYERS) is not None for m in modules)
    edges = [i for n, p in modules.items() for i in imports_of(n, p, modules)]
    assert len(edges) > 200  # the walk sees the real imports, not an empty tree


def test_no_protocol_imports_the_emulator() -> None:
    modules = find_modules(ROOT, ("gateway", PROTOCOLS))
    upward = [
        f"{imp.importer} imports {imp.imported}"
        for name, path in modules.items()
        if name.startswith(PROTOCOLS)
        for imp in imports_of(name, path, modules)
        if imp.imported.startswith("gateway.emulator") or imp.imported == "gateway.__main__"
    ]
    assert upward == []


def test_catalog_and_generator_modules_stay_small() -> None:
    catalog = sorted((ROOT / "gateway" / "catalog").glob("*.py"))
    generator = sorted((ROOT / "gateway" / "emulator" / "generator").glob("*.py"))
    assert len(catalog) >= 5 and len(generator) >= 3
    assert {p.name: n for p in catalog if (n := len(p.read_text().splitlines())) >= 500} == {}
    assert {p.name: n for p in generator if (n := len(p.read_text().splitlines())) > 600} == {}


# --- the checker, on small synthetic trees -----------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in {
        "gateway/__init__.py": "",
        "gateway/errors.py": "",
        "gateway/records/__init__.py": "",
        "gateway/rules/__init__.py": "",
        "gateway/store/__init__.py": "",
        "gateway/catalog/__init__.py": "",
        "gateway/emulator/__init__.py": "",
        "protocols/__init__.py": "",
        "protocols/sru/__init__.py": "",
        "protocols/z3950/__init__.py": "",
        **files,
    }.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.fixture
def synthetic(tmp_path: Path) -> Iterable[Path]:
    ROOT_FOR_PROTOCOLS[0] = tmp_path
    yield tmp_path
    ROOT_FOR_PROTOCOLS[0] = ROOT


def test_a_clean_tree_passes(synthetic: Path) -> None:
    root = _tree(
        synthetic,
        {
            "gateway/rules/alma.py": "from gateway import records\nfrom gateway.errors import X\n",
            "gateway/catalog/search.py": "from gateway.store import Store\nfrom gateway.rules import alma\n",
            "protocols/sru/cql.py": "from gateway.catalog import Catalog\nfrom . import diag\n",
            "protocols/sru/diag.py": "from gateway.errors import QueryError\n",
            "protocols/host.py": "from gateway.catalog import Catalog\n",
            "protocols/sru/__init__.py": "from protocols.host import Gateway\n",
            "gateway/emulator/host.py": "from protocols.host import ServerStarter\n",
            "gateway/emulator/app.py": "import protocols.sru\nfrom gateway.catalog import search\n",
        },
    )
    assert violations(root) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # records reaching up into rules
            {"gateway/records/splice.py": "from gateway.rules.alma import stamp\n",
             "gateway/rules/alma.py": "stamp = 1\n"},
            "records gateway.records.splice imports rules gateway.rules.alma (upward)",
        ),
        (  # the same, only for the type checker: it still counts
            {"gateway/store/rows.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
             "    from gateway.catalog import Catalog\n"},
            "store gateway.store.rows imports catalog gateway.catalog (upward)",
        ),
        (  # inside a function: still a dependency
            {"gateway/catalog/x.py": "def f():\n    from gateway.emulator import app\n",
             "gateway/emulator/app.py": ""},
            "catalog gateway.catalog.x imports emulator gateway.emulator.app (upward)",
        ),
        (
            {"gateway/store/sql.py": "from gateway.rules import validate\n"},
            "store gateway.store.sql imports rules gateway.rules",
        ),
        (  # a protocol reaching up into the emulator that runs it
            {"protocols/sru/ops.py": "from gateway.emulator.host import Gateway\n",
             "gateway/emulator/host.py": ""},
            "protocols protocols.sru.ops imports emulator gateway.emulator.host (upward)",
        ),
        (  # the same from a shared protocols module, only for the type checker
            {"protocols/host.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
             "    from gateway.emulator.settings import Settings\n",
             "gateway/emulator/settings.py": ""},
            "protocols protocols.host imports emulator gateway.emulator.settings (upward)",
        ),
        (
            {"protocols/sru/ops.py": "from gateway.store import Store\n"},
            "protocol protocols.sru.ops imports the store (gateway.store)",
        ),
        (
            {"protocols/sru/ops.py": "from protocols.z3950 import bib1\n",
             "protocols/z3950/bib1.py": ""},
            "protocol protocols.sru.ops imports another protocol (protocols.z3950.bib1)",
        ),
        (
            {"gateway/catalog/a.py": "from gateway.records.marc import _parse\n",
             "gateway/records/marc.py": "def _parse(): ...\n"},
            "imports gateway.records.marc's private _parse",
        ),
        (
            {"protocols/sru/faults.py": "from . import _parameters\n"},
            "imports protocols.sru's private _parameters",
        ),
        (
            {"gateway/catalog/a.py": "from gateway.catalog import b\n",
             "gateway/catalog/b.py": "def f():\n    from gateway.catalog.a import g\n"},
            "import cycle: gateway.catalog.a <-> gateway.catalog.b",
        ),
    ],
)
def test_the_checker_finds_each_kind_of_breach(
    synthetic: Path, files: dict[str, str], expected: str
) -> None:
    found = violations(_tree(synthetic, files))
    assert any(expected in line for line in found), found


def test_a_shared_wire_helper_is_no_protocol(synthetic: Path) -> None:
    root = _tree(synthetic, {"protocols/forms.py": "", "protocols/sru/p.py": "from protocols import forms\n"})
    assert violations(root) == []
