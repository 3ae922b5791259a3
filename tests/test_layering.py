"""The arrows point one way: platforms and services -> features -> runtime/branch -> engine.

Every import of every module of the integration is read from its syntax tree, wherever it stands:
at the top, inside a function, under `if TYPE_CHECKING:`. Relative imports are resolved as Python
resolves them (from a package's `__init__` the package itself is the anchor). From these:

- no circle among the integration's modules, the engine's included;
- no module imports one of a higher layer (`LAYERS`) unless `UPWARD_IMPORTS` says why;
- nobody imports config_flow.py (Home Assistant loads it; its helpers live in flow/);
- the engine imports no Home Assistant and none of the glue; the simulator only the engine.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "smart_library"
ENGINE = PACKAGE / "engine"
SIMULATOR = ROOT / "simulator"
NAME = "custom_components.smart_library"

# Low to high. A module's layer is that of its longest dotted prefix listed here ("__init__" is the
# integration's own package). A module may import its own layer and those below.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("engine", frozenset({"engine"})),
    ("base", frozenset({"const", "helpers"})),
    ("building", frozenset({"building"})),
    # The branch at run time and the one identity base every entity (features' too) builds on.
    ("branch", frozenset({"branch", "entity"})),
    (
        "features",
        frozenset({"access", "safety", "usage", "dashboard", "flow", "pages"}),
    ),
    ("runtime", frozenset({"runtime"})),
    (
        "top",
        frozenset(
            {
                "__init__",
                "config_flow",
                "diagnostics",
                "intent",
                "llm",
                "logbook",
                # The administrator's panel: its commands read the services' runtime data.
                "panel",
                "repairs",
                "services",
                # The platforms.
                "binary_sensor",
                "button",
                "calendar",
                "event",
                "light",
                "lock",
                "media_player",
                "select",
                "sensor",
                "switch",
                "todo",
            }
        ),
    ),
)

# Imports against the arrows, each with the reason it is allowed: (importer, imported) -> why.
UPWARD_IMPORTS: dict[tuple[str, str], str] = {
    (
        "building.module_checks",
        "branch",
    ): "a check is about one Branch; the type only (under TYPE_CHECKING)",
    (
        "access.reader_keys",
        "runtime",
    ): "a reader key resolves its branch and the service's access in a loaded entry's runtime data",
}


@dataclass(frozen=True, slots=True)
class Module:
    """One Python file: its absolute dotted name, whether it is a package's `__init__`."""

    name: str
    path: Path
    is_package: bool


def _modules(folder: Path, name: str) -> dict[str, Module]:
    """Return every module under a folder (all packages, recursively) by absolute name."""
    found: dict[str, Module] = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        dotted = ".".join((name, *(parts[:-1] if is_package else parts)))
        found[dotted] = Module(dotted, path, is_package)
    return found


def _anchor(module: Module, level: int) -> str:
    """Return the package a relative import of `level` dots starts from."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for _ in range(level - 1):
        assert "." in package, f"{module.path}: relative import beyond the top package"
        package = package.rpartition(".")[0]
    return package


def _imports(module: Module) -> Iterator[tuple[str, str | None]]:
    """Yield every import of a module as (absolute module, imported name or None).

    The whole tree is walked: imports inside functions and under TYPE_CHECKING count too.
    """
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _anchor(module, node.level)
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                yield base, alias.name


def _target(known: dict[str, Module], base: str, name: str | None) -> str | None:
    """Return the known module an import reaches (`from pkg import mod` reaches pkg.mod)."""
    if name is not None and f"{base}.{name}" in known:
        return f"{base}.{name}"
    while base and base not in known:
        base = base.rpartition(".")[0]
    return base or None


def _short(name: str) -> str:
    """Return a module's name inside the integration ("__init__" for the package itself)."""
    return name.removeprefix(f"{NAME}.") if name != NAME else "__init__"


@cache
def _graph() -> dict[str, frozenset[str]]:
    """Return each module of the integration and the integration's modules it imports.

    Importing `pkg.mod` also runs `pkg/__init__.py`: a sub-package's `__init__` counts as
    imported too, unless the importer is inside that package (it is then already running).
    The integration's own `__init__` runs before anything of it and is left out that way.
    """
    known = _modules(PACKAGE, NAME)
    graph: dict[str, frozenset[str]] = {}
    for module in known.values():
        found: set[str] = set()
        for base, name in _imports(module):
            if (target := _target(known, base, name)) is None:
                continue
            found.add(target)
            parent = target.rpartition(".")[0]
            while parent.startswith(f"{NAME}.") and not module.name.startswith(
                f"{parent}."
            ):
                found.add(parent)
                parent = parent.rpartition(".")[0]
        found.discard(module.name)
        graph[_short(module.name)] = frozenset(_short(t) for t in found)
    return graph


def _layer(module: str) -> int:
    """Return the index of a module's layer (its longest listed dotted prefix)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        for index, (_, members) in enumerate(LAYERS):
            if prefix in members:
                return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _knots(graph: dict[str, frozenset[str]]) -> list[set[str]]:
    """Return the groups of modules that reach each other through imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    knots: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            knot = set()
            while True:
                member = stack.pop()
                knot.add(member)
                if member == node:
                    break
            if len(knot) > 1:
                knots.append(knot)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return knots


def _circle(graph: dict[str, frozenset[str]], knot: set[str]) -> list[str]:
    """Return a shortest circle through the first module of a knot, as a path."""
    start = min(knot)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & knot):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no circle in {knot}")


def _circles(graph: dict[str, frozenset[str]]) -> list[str]:
    """Return one circle of each knot, with the knot's other modules when there are more."""
    found = []
    for knot in _knots(graph):
        circle = _circle(graph, knot)
        line = " -> ".join(circle)
        if others := sorted(knot - set(circle)):
            line += f"  (the same knot holds {', '.join(others)})"
        found.append(line)
    return sorted(found)


def test_the_walk_sees_every_package_and_every_kind_of_import() -> None:
    """The graph holds nested packages' modules and imports found in functions or TYPE_CHECKING."""
    graph = _graph()
    for module in (
        "__init__",
        "config_flow",
        "flow.moved",
        "services.registry",
        "engine.building.controller",
        "engine.safety.incidents",
    ):
        assert module in graph, module
    assert "branch" in graph["building.module_checks"]  # under TYPE_CHECKING
    assert "services.usage" in graph["services.registry"]  # `from . import usage`
    assert {"flow.moved", "runtime"} <= graph["__init__"]  # from a package's __init__


def test_no_import_circle() -> None:
    """No module of the integration (engine included) reaches itself through its imports."""
    circles = _circles(_graph())
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_circle_finder_finds_a_circle() -> None:
    """A circle hidden three modules deep is found and reported as a path."""
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a", "d"}),
        "d": frozenset(),
    }
    assert _circles(graph) == ["a -> b -> c -> a"]
    graph |= {"d": frozenset({"b"}), "b": frozenset({"c", "d"})}
    assert _circles(graph) == ["a -> b -> c -> a  (the same knot holds d)"]


def test_imports_follow_the_layers() -> None:
    """Each module imports only its own layer and lower ones, apart from the listed exceptions."""
    graph = _graph()
    upward = {
        (module, imported)
        for module, imports in graph.items()
        for imported in imports
        if _layer(imported) > _layer(module)
    }
    unexplained = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {imported} "
        f"({LAYERS[_layer(imported)][0]})"
        for module, imported in sorted(upward - UPWARD_IMPORTS.keys())
    ]
    assert not unexplained, "imports against the layers:\n" + "\n".join(unexplained)
    stale = sorted(UPWARD_IMPORTS.keys() - upward)
    assert not stale, f"listed exceptions no module needs any more: {stale}"


def test_nobody_imports_the_config_flow() -> None:
    """config_flow.py holds the steps only; what others need of it lives in flow/."""
    importers = sorted(m for m, imports in _graph().items() if "config_flow" in imports)
    assert not importers, f"config_flow imported by {', '.join(importers)}"


def test_engine_imports_no_home_assistant() -> None:
    """No module of engine/ (any sub-package) imports homeassistant or the glue above it."""
    modules = _modules(ENGINE, f"{NAME}.engine")
    assert len(modules) > 10
    assert any(m.count(".") > 3 for m in modules)  # engine's sub-packages are walked
    for module in modules.values():
        for base, _ in _imports(module):
            where = module.path.relative_to(PACKAGE)
            assert base.split(".")[0] != "homeassistant", f"{where}: {base}"
            if base.startswith(NAME):
                assert base.startswith(f"{NAME}.engine"), f"{where}: {base}"


def test_simulator_imports_only_the_engine() -> None:
    """The simulator may use the engine (the shared point map) but none of the glue."""
    modules = _modules(SIMULATOR, "simulator")
    assert modules
    for module in modules.values():
        for base, name in _imports(module):
            where = module.path.relative_to(ROOT)
            assert base.split(".")[0] != "homeassistant", f"{where}: {base}"
            full = f"{base}.{name}" if name else base
            if "smart_library" in full:
                assert full.startswith(f"{NAME}.engine"), f"{where}: {full}"
