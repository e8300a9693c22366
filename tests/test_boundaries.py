"""Module boundaries the design relies on: no import cycles, and who may import what."""

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "ebaydash"
MIGRATION_ENV = PACKAGE / "db" / "migrations" / "env.py"
MIGRATION_VERSIONS = PACKAGE / "db" / "migrations" / "versions"


def _module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == MIGRATION_ENV:
            continue  # a script Alembic runs, not a module: importing it would start a migration
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


def importers_of(top_level: str) -> set[str]:
    """The package modules importing ``top_level`` (or a module of it) anywhere in their source:
    at the top, inside a function, or under TYPE_CHECKING."""
    return {
        module
        for module, path in _module_files().items()
        if any(base.split(".")[0] == top_level for base, _name in _imports(path, module))
    }


def test_the_import_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    """Negative control for the checks below: a late import is found like any other."""
    source = tmp_path / "late.py"
    source.write_text("def draw() -> None:\n    import streamlit as st\n    from redis import Redis\n")
    assert {base for base, _ in _imports(source, "late")} == {"streamlit", "redis"}


def test_only_ui_imports_streamlit() -> None:
    """Nowhere in the package, not even inside a function, except ebaydash/ui.py."""
    assert importers_of("streamlit") == {"ebaydash.ui"}


def test_importing_any_module_but_ui_loads_no_streamlit() -> None:
    """The same at run time: no module pulls streamlit in through another package."""
    modules = [m for m in _module_files() if m != "ebaydash.ui"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_module_talks_to_redis() -> None:
    """ebaydash/redis_connection.py holds the client, its time limits and the breaker; the cache and
    the shared metrics go through it."""
    assert importers_of("redis") == {"ebaydash.redis_connection"}
    assert importers_of("hiredis") == {"ebaydash.redis_connection"}


def test_pages_import_only_services_ui_and_models_from_the_package() -> None:
    allowed = {"ebaydash.services", "ebaydash.ui", "ebaydash.models"}
    pages = [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]
    for page in pages:
        for base, name in _imports(page, page.stem):
            if base.split(".")[0] != "ebaydash":
                continue
            imported = f"{base}.{name}" if name else base
            assert base in allowed or imported in allowed, f"{page.name} imports {imported}"


# -- SQL ------------------------------------------------------------------------------------------

# What a module outside db/ may take from SQLAlchemy: types to annotate with, the URL parser, the
# error classes and the event hooks the monitor times statements with. Nothing that builds SQL.
SQLALCHEMY_OUTSIDE_DB = {
    # a transaction handed through, never used for a statement here: the demo's money records
    # (ebaydash.demo_money) are written in the demo load's own transaction, by db/ functions
    "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.Row",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.make_url",
    "sqlalchemy.exc.ArgumentError",
    "sqlalchemy.event",
}


def test_no_sqlalchemy_statement_is_built_outside_the_database_layer() -> None:
    import sqlalchemy

    for module, path in _module_files().items():
        if module.startswith("ebaydash.db"):
            continue
        for base, name in _imports(path, module):
            if base.split(".")[0] == "sqlalchemy":
                imported = f"{base}.{name}" if name else base
                assert imported in SQLALCHEMY_OUTSIDE_DB, f"{module} imports {imported}"
            if base.startswith("ebaydash.db") and name:
                # tables, columns and metadata would let a module build statements after all
                value = getattr(importlib.import_module(base), name, None)
                assert not isinstance(value, sqlalchemy.sql.ClauseElement | sqlalchemy.MetaData), (
                    f"{module} imports the table or clause {base}.{name}"
                )


def test_sql_text_lives_only_in_the_database_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "db"):
            continue
        source = path.read_text()
        for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM"):
            assert keyword not in source, f"{path.relative_to(ROOT)} contains SQL text ({keyword!r})"


def test_the_sql_check_would_see_a_table_imported_outside_db() -> None:
    """Negative control: a Table is a ClauseElement, so the check above catches one."""
    import sqlalchemy

    from ebaydash.db.schema import ORDER_STATUSES, orders

    assert isinstance(orders, sqlalchemy.sql.ClauseElement)
    assert not isinstance(ORDER_STATUSES, sqlalchemy.sql.ClauseElement)


# -- layers ---------------------------------------------------------------------------------------

# Below the services, a layer never reaches up or sideways into a file format or a page concern.
LOWER_LAYERS_MAY_NOT_IMPORT = {
    "ebaydash.db": ("ebaydash.importers", "ebaydash.services", "ebaydash.cache", "ebaydash.monitor"),
    "ebaydash.importers": ("ebaydash.db", "ebaydash.services", "ebaydash.cache", "ebaydash.monitor"),
    "ebaydash.cache": ("ebaydash.db", "ebaydash.importers", "ebaydash.services"),
}


def _layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    found = []
    for module, targets in graph.items():
        for layer, forbidden in LOWER_LAYERS_MAY_NOT_IMPORT.items():
            if module == layer or module.startswith(layer + "."):
                found += [f"{module} imports {t}" for t in targets if t.startswith(forbidden)]
    return sorted(found)


def test_the_database_importer_and_cache_layers_do_not_reach_across() -> None:
    assert _layer_violations(import_graph()) == []


def test_the_layer_check_sees_a_database_module_importing_a_file_format() -> None:
    """Negative control: the upsert once imported the importers' merge rules."""
    graph = {"ebaydash.db.upsert.plan": {"ebaydash.importers.merge"}}
    assert _layer_violations(graph) == ["ebaydash.db.upsert.plan imports ebaydash.importers.merge"]
