"""The shape of the package: no import cycle inside ``watcher/`` and imports that point the
intended way.

    face (cli, demo_run, serve) -> app -> runner -> sources / store / detectors / notify -> models

The graph is built with :mod:`ast` from every import in every module: at module level, inside
functions, and under ``TYPE_CHECKING`` (a type-only import is still a dependency), plus the
modules a package pulls in by discovery (:func:`watcher.plugins.discover`, ``iter_modules``). An edge goes to the module
itself when it exists (``from watcher.store import db`` is an edge to ``watcher.store.db``),
otherwise to the package that defines the name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "watcher"

LAYERS: dict[str, int] = {
    # 1: shared records, settings and libraries every part may use
    "watcher": 1,
    "watcher.errors": 1,
    "watcher.models": 1,
    "watcher.readable": 1,
    "watcher.money": 1,
    "watcher.retry_after": 1,
    "watcher.secrets": 1,
    "watcher.validation": 1,
    "watcher.dburl": 1,
    "watcher.config": 1,
    "watcher.plugins": 1,
    "watcher.logs": 1,
    "watcher.http": 1,
    "watcher.inflate": 1,
    "watcher.netguard": 1,
    "watcher.dates": 1,
    "watcher.when": 1,
    "watcher.images": 1,
    "watcher.workers": 1,  # worker processes for CPU-bound pure work
    "watcher.thumbnail": 1,
    "watcher.i18n": 1,
    "watcher.text": 1,
    "watcher.demo": 1,  # the sample marketplace: a stand-alone server
    # 2: the parts a check is made of
    "watcher.sources": 2,
    "watcher.store": 2,
    "watcher.detectors": 2,
    "watcher.notify": 2,
    # 3: one check, stage by stage
    "watcher.runner": 3,
    "watcher.strategies": 3,  # how each kind of shop is fetched and stored
    "watcher.imaging": 3,  # the photos detectors ask for: stored hashes, else fetched
    # 4: the composition root and the plugin assembly
    "watcher.app": 4,
    "watcher.registry": 4,
    # 5: what a user runs
    "watcher.scheduler": 5,
    "watcher.inspect": 5,
    "watcher.status": 5,
    "watcher.cli": 5,
    "watcher.demo_run": 5,
    "watcher.serve": 5,
    "watcher.web": 5,  # the dashboard
    "watcher.__main__": 5,
}
"""Each module's layer, by its longest listed prefix. An import may point to the same layer
or a lower one, never up. A new module needs its place here."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "watcher.detectors": ("watcher.http", "watcher.sources"),
    "watcher.sources": ("watcher.store",),
}
"""Imports a part must never make, even sideways within its layer."""

SQL_MODULES = (
    "sqlalchemy",
    "sqlmodel",
    "sqlite3",
    "psycopg",
    "watcher.store.db",
    "watcher.store.tables",
)
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")
"""Detectors run no SQL: they import no database library or table and hold no statement."""

KNOWN: set[tuple[str, str]] = set()
"""Rule breaks that another part removes: ``(module, imported module)``, or ``(module,
"SQL")`` for a detector's statements. Nothing else belongs here."""


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement: who imports what, and on which line."""

    source: str
    target: str
    line: int


@dataclass(frozen=True, slots=True)
class Module:
    """One module's source, and whether it is a package's ``__init__``."""

    source: str
    package: bool = False


def package_modules() -> dict[str, Module]:
    """Every module of ``watcher/`` by its dotted name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = Module(path.read_text(encoding="utf-8"), is_package)
    return out


def _resolve(name: str, modules: Mapping[str, Module]) -> str:
    """``name`` if it is one of ``modules``, else its longest prefix that is; names outside
    ``modules`` are returned unchanged."""
    probe = name
    while probe:
        if probe in modules:
            return probe
        probe = probe.rpartition(".")[0]
    return name


def _package_of(name: str, module: Module) -> str:
    return name if module.package else name.rpartition(".")[0]


def _discovered(
    name: str, module: Module, tree: ast.AST, modules: Mapping[str, Module]
) -> list[str]:
    """The modules a package imports by discovery (:func:`watcher.plugins.discover`, or
    ``pkgutil.iter_modules`` directly): every public module of the package but ``base``."""
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and (getattr(n.func, "id", None) or getattr(n.func, "attr", None))
        in ("discover", "iter_modules")
    ]
    if not calls or name == "watcher.plugins":
        return []
    package = _package_of(name, module)
    found = []
    for other in modules:
        parent, _, leaf = other.rpartition(".")
        if parent == package and not leaf.startswith("_") and leaf != "base":
            found.append(other)
    return found


def imports(modules: Mapping[str, Module]) -> Iterator[Import]:
    """Every import of every module (external ones included): module level, inside
    functions, under ``TYPE_CHECKING``, and by discovery."""
    for name, module in modules.items():
        tree = ast.parse(module.source, name)
        package = _package_of(name, module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, _resolve(alias.name, modules), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    origin = ".".join([*base, node.module] if node.module else base)
                else:
                    origin = node.module or ""
                for alias in node.names:
                    full = f"{origin}.{alias.name}"
                    target = full if full in modules else _resolve(origin, modules)
                    yield Import(name, target, node.lineno)
        for target in _discovered(name, module, tree, modules):
            yield Import(name, target, 0)


def graph(modules: Mapping[str, Module]) -> dict[str, set[str]]:
    """Module -> the modules among ``modules`` it imports."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports(modules):
        if imp.target in modules and imp.target != imp.source:
            edges[imp.source].add(imp.target)
    return edges


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def closed_path(component: list[str], edges: Mapping[str, set[str]]) -> list[str]:
    """The shortest cycle through the first module of ``component``, for the message."""
    inside = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & inside):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return component


def layer(module: str) -> int | None:
    """The layer of ``module`` by its longest prefix in :data:`LAYERS` (the bare package
    name ``watcher`` only matches itself)."""
    probe = module
    while probe and probe != "watcher":
        if probe in LAYERS:
            return LAYERS[probe]
        probe = probe.rpartition(".")[0]
    return LAYERS.get(module)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _sql_in_detectors(name: str, module: Module) -> Iterator[str]:
    """Statements and engine access in a detector module."""
    for node in ast.walk(ast.parse(module.source, name)):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.lstrip().upper().startswith(SQL_WORDS)
        ):
            yield f"{name} (line {node.lineno}): detectors run no SQL"
        if isinstance(node, ast.Attribute) and node.attr == "engine":
            yield f"{name} (line {node.lineno}): detectors reach the database engine"


def all_violations(modules: Mapping[str, Module]) -> list[tuple[tuple[str, str], str]]:
    """Every rule break as ``(key, message)``: the key is the ``(module, imported module)``
    edge, or ``(module, "SQL")`` for a detector's statements; the message reads
    ``source -> target (line n): rule``."""
    out: list[tuple[tuple[str, str], str]] = []
    for imp in imports(modules):
        key = (imp.source, imp.target)
        where = f"{imp.source} -> {imp.target} (line {imp.line})"
        low, high = layer(imp.target), layer(imp.source)
        if imp.target in modules and low is not None and high is not None and low > high:
            out.append((key, f"{where}: imports up, from layer {high} to layer {low}"))
        for part, banned in FORBIDDEN.items():
            if _under(imp.source, part) and any(_under(imp.target, b) for b in banned):
                out.append((key, f"{where}: {part} must not import {imp.target}"))
        if _under(imp.source, "watcher.detectors") and any(
            _under(imp.target, m) for m in SQL_MODULES
        ):
            out.append((key, f"{where}: detectors run no SQL"))
    for name, module in modules.items():
        if _under(name, "watcher.detectors"):
            out.extend(((name, "SQL"), message) for message in _sql_in_detectors(name, module))
    return list(dict.fromkeys(out))


def violations(modules: Mapping[str, Module], known: set[tuple[str, str]]) -> list[str]:
    """The messages of :func:`all_violations` whose key is not in ``known``."""
    return [message for key, message in all_violations(modules) if key not in known]


# The rules on the real package.


def test_every_module_has_a_layer() -> None:
    missing = [m for m in package_modules() if layer(m) is None]
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


def test_no_import_cycles() -> None:
    edges = graph(package_modules())
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(
        f"{' -> '.join(closed_path(c, edges))}  (all of: {', '.join(c)})" for c in found
    )


def test_imports_point_down() -> None:
    found = violations(package_modules(), KNOWN)
    assert not found, "imports against the intended direction:\n" + "\n".join(found)


def test_known_edges_are_still_needed() -> None:
    """Each entry of :data:`KNOWN` still excuses a violation, so the list only shrinks."""
    needed = {key for key, _ in all_violations(package_modules())}
    stale = sorted(KNOWN - needed)
    assert not stale, f"remove from KNOWN, these no longer break a rule: {stale}"


# The checks themselves, on small made-up packages: each can fail.


def test_a_cycle_through_a_function_level_import_is_found() -> None:
    modules = {
        "watcher": Module("", package=True),
        "watcher.config": Module("def f():\n    from watcher.sources import kinds\n"),
        "watcher.sources": Module("from watcher.sources.base import Source\n", package=True),
        "watcher.sources.base": Module("from watcher.config import ShopConfig\n"),
    }
    edges = graph(modules)
    found = cycles(edges)
    assert found == [["watcher.config", "watcher.sources", "watcher.sources.base"]]
    assert closed_path(found[0], edges) == [
        "watcher.config",
        "watcher.sources",
        "watcher.sources.base",
        "watcher.config",
    ]


def test_discovery_and_relative_and_type_only_imports_are_edges() -> None:
    modules = {
        "watcher.notify": Module("", package=True),
        "watcher.notify.channels": Module(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..outbox import Outbox\n"
            "def kinds():\n    return discover(package, Channel)\n",
            package=True,
        ),
        "watcher.notify.channels.base": Module(""),
        "watcher.notify.channels.email": Module("from . import base\n"),
        "watcher.notify.outbox": Module(""),
    }
    assert graph(modules) == {
        "watcher.notify": set(),
        "watcher.notify.channels": {"watcher.notify.outbox", "watcher.notify.channels.email"},
        "watcher.notify.channels.base": set(),
        "watcher.notify.channels.email": {"watcher.notify.channels.base"},
        "watcher.notify.outbox": set(),
    }


def test_each_rule_reports_its_edge() -> None:
    modules = {
        "watcher.config": Module("import watcher.sources.shopify\n"),
        "watcher.sources.shopify": Module("from watcher.store import Store\n"),
        "watcher.store": Module("", package=True),
        "watcher.detectors.launches": Module(
            "from watcher.http import Http\nimport sqlalchemy\n"
            "def f(ctx):\n    return ctx.store.engine.execute('SELECT 1')\n"
        ),
        "watcher.http": Module(""),
    }
    found = violations(modules, set())
    assert found == [
        "watcher.config -> watcher.sources.shopify (line 1): imports up, from layer 1 to layer 2",
        "watcher.sources.shopify -> watcher.store (line 1): watcher.sources must not import"
        " watcher.store",
        "watcher.detectors.launches -> watcher.http (line 1): watcher.detectors must not import"
        " watcher.http",
        "watcher.detectors.launches -> sqlalchemy (line 2): detectors run no SQL",
        "watcher.detectors.launches (line 4): detectors run no SQL",
        "watcher.detectors.launches (line 4): detectors reach the database engine",
    ]
    excused = {("watcher.config", "watcher.sources.shopify"), ("watcher.detectors.launches", "SQL")}
    assert len(violations(modules, excused)) == 3


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("watcher.cli.commands.check", 5),
        ("watcher.store.repo", 2),
        ("watcher.text.seasons", 1),
        ("watcher", 1),
        ("watcher.cliffs", None),
    ],
)
def test_layer_by_longest_prefix(module: str, expected: int | None) -> None:
    assert layer(module) == expected
