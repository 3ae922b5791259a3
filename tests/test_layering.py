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
    files = sorted(ENGINE.glob("*.py"))
    assert len(files) > 5
    for path in files:
        for name in _imports(path):
            assert not name.startswith("homeassistant"), f"{path.name}: {name}"
            assert not name.startswith(".."), (
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


def _glue_graph() -> dict[str, set[str]]:
    """Return each glue module's imports of sibling glue modules (outside TYPE_CHECKING)."""
    package = ENGINE.parent
    names = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in tree.body:  # module level only: TYPE_CHECKING blocks are ast.If
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                head = node.module.split(".")[0]
                if head in names:
                    found.add(head)
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                found.update(a.name for a in node.names if a.name in names)
        graph[path.stem] = found - {path.stem}
    return graph


def test_no_import_circle_among_the_glue_modules() -> None:
    """No two modules of the integration import each other, directly or around a circle."""
    graph = _glue_graph()
    assert "models" in graph and "coordinator" in graph
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
