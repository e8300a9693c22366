"""Module boundaries the design relies on: no import cycles, and who may import what."""

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "ebaydash"


def _module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def _imports(path: Path, module: str) -> Iterator[tuple[str, str | None]]:
    """Every import of ``path``, wherever it is: at the top, inside a function, or only for the
    type checker (``if TYPE_CHECKING:``), as ``(module, name)``: ``from a import b`` is
    ``("a", "b")``, ``import a.b`` is ``("a.b", None)``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield from ((base, alias.name) for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from ebaydash.cache import codec`` imports the
    module ``ebaydash.cache.codec``; ``from ebaydash.cache import NO_VALUE`` the package)."""
    files = _module_files()

    def owner(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for base, name in _imports(path, module):
            if base.split(".")[0] != "ebaydash":
                continue
            full = f"{base}.{name}" if name else base
            targets.add(full if full in files else owner(base))
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path ``[a, b, …, a]``, or ``None`` when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycles_between_package_modules() -> None:
    """Every import counts, also those inside functions and under TYPE_CHECKING: a cycle hidden
    that way is still two modules that cannot be understood, or moved, one without the other."""
    graph = import_graph()
    assert "ebaydash.db.schema" in graph["ebaydash.db.queries"]  # the graph sees the imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    """Negative control: the check above can fail."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    # the cycles the package once had, through a function-level and a TYPE_CHECKING import
    assert find_cycle({"context": {"traffic"}, "traffic": {"loadgen"}, "loadgen": {"context"}}) is not None


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_only_ui_imports_streamlit() -> None:
    modules = [m for m in _modules() if m != "ebaydash.ui"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pages_import_only_services_and_ui_from_the_package() -> None:
    allowed = {"ebaydash.services", "ebaydash.ui", "ebaydash.models", "ebaydash.db.schema"}
    for page in sorted((ROOT / "pages").glob("*.py")):
        tree = ast.parse(page.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ebaydash"):
                names = {f"{node.module}.{alias.name}" for alias in node.names}
                assert node.module in allowed or names <= allowed, f"{page.name} imports {node.module}"


def test_sql_text_lives_only_in_the_database_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "db"):
            continue
        source = path.read_text()
        for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM"):
            assert keyword not in source, f"{path.relative_to(ROOT)} contains SQL text ({keyword!r})"
