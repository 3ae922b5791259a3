"""The arrows point one way: Home Assistant glue -> engine; the simulator uses only the engine."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
ENGINE = ROOT / "custom_components" / "smart_library" / "engine"
SIMULATOR = ROOT / "simulator"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
    return found


def test_engine_imports_no_home_assistant() -> None:
    """No module of engine/ imports homeassistant (or the integration's glue above it)."""
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        for name in _imports(path):
            assert not name.startswith("homeassistant"), f"{path.name}: {name}"
            depth = len(
                path.relative_to(ENGINE).parts
            )  # 1: engine/x.py, 2: engine/pkg/x.py
            assert not name.startswith("." * (depth + 1)), (
                f"{path.name}: {name}"
            )  # glue above engine/
            assert "smart_library." not in name or ".engine" in name, (
                f"{path.name}: {name}"
            )


def test_simulator_imports_only_the_engine() -> None:
    """The simulator may use the engine (the shared point map) but none of the glue."""
    files = sorted(SIMULATOR.glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            assert not name.startswith("homeassistant"), f"{path.name}: {name}"
            if "smart_library" in name:
                assert name.startswith("custom_components.smart_library.engine"), (
                    f"{path.name}: {name}"
                )


PACKAGE = ENGINE.parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    """Return each module's imports of the integration's modules: every import, anywhere.

    Imports inside functions and under `TYPE_CHECKING` count: a circle hidden in a function
    is still a circle a reader has to hold in their head.
    """
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        base = name.split(".") if name else []
        if not is_package:
            base = base[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            parent = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*parent, *([node.module] if node.module else [])])
            for candidate in (
                target,
                *(f"{target}.{a.name}" if target else a.name for a in node.names),
            ):
                if candidate in modules and candidate not in (name, ""):
                    found.add(candidate)
        graph[name] = found
    return graph


def test_no_import_circle_among_the_integrations_modules() -> None:
    """No module imports another that imports it back, directly or around a circle."""
    graph = _graph()
    assert "branch" in graph and "building.coordinator" in graph
    assert "safety.runtime" in graph and "runtime" in graph
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path[path.index(module) :], module))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_config_flow_is_imported_by_nobody() -> None:
    """config_flow.py holds the flow's steps; nothing else of the integration imports it."""
    graph = _graph()
    assert not [m for m, imports in graph.items() if "config_flow" in imports]


def test_features_never_import_the_top() -> None:
    """Low modules (engine, building, branch, helpers) never import a feature or the top."""
    graph = _graph()
    low = ("engine", "building", "branch", "helpers", "const")
    high = (
        "access",
        "safety",
        "services",
        "dashboard",
        "runtime",
        "flow",
        "config_flow",
    )
    for module, imports in graph.items():
        if module.split(".")[0] in low:
            upward = {i for i in imports if i.split(".")[0] in high}
            assert not upward, f"{module} imports {sorted(upward)}"
