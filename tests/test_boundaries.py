"""Module boundaries the design relies on, checked in fresh interpreters."""

import ast
import subprocess
import sys

from tests.conftest import ROOT

PACKAGE = ROOT / "ebaydash"
MIGRATION_ENV = PACKAGE / "db" / "migrations" / "env.py"
MIGRATION_VERSIONS = PACKAGE / "db" / "migrations" / "versions"


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == MIGRATION_ENV:
            continue  # a script Alembic runs, not a module: importing it would start a migration
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


def test_sql_text_lives_only_in_queries_and_ingest() -> None:
    """Statements are built in db/queries.py; ingest, admin and the engine hold maintenance SQL,
    and migration revisions the SQL of their schema changes."""
    allowed = {"queries.py", "ingest.py", "engine.py", "admin.py"}
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed or path.is_relative_to(MIGRATION_VERSIONS):
            continue  # a migration may move data with SQL of its own
        source = path.read_text()
        for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM"):
            assert keyword not in source, f"{path.relative_to(ROOT)} contains SQL text ({keyword!r})"
