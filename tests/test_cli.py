"""The ``ebaydash`` command's own surface: its version, its help text, and how it speaks of a
database that is down or demo files that are missing."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ebaydash import __version__, cli


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"ebaydash {__version__}"


def every_help(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """The ``--help`` text of ``parser`` and of each of its subcommands, by command path."""
    found = {path: parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(every_help(child, (*path, name)))
    return found


def test_no_help_text_shows_raw_double_backticks() -> None:
    helps = every_help(cli.build_parser())
    assert ("db", "upgrade") in helps and ("cluster", "start") in helps  # it walks every level
    raw = [" ".join(path) or "ebaydash" for path, text in helps.items() if "``" in text]
    assert raw == []
    # the module docstring (the top-level description) does use them: this is what was cleaned
    assert "``" in (cli.__doc__ or "")
    assert "(ebaydash db upgrade|current|check)" in helps[()]


def test_plain_keeps_text_without_markup() -> None:
    assert cli._plain("run ``ebaydash db upgrade`` first") == "run ebaydash db upgrade first"
    assert cli._plain("a `single` quote and 2 `` marks") == "a `single` quote and 2 `` marks"
    assert cli._plain(None) is None


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")}
    return subprocess.run(
        [sys.executable, "-m", "ebaydash.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def test_an_unreachable_database_is_said_once_and_to_the_operator(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    done = _run(["users", "list"], {"EBAYDASH_DATABASE_URL": url}, tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("cannot be reached") == 1, done.stderr  # not also as a log line
    assert "Run the command again once it is back." in done.stderr
    assert "dashboard" not in done.stderr and "Traceback" not in done.stderr
    assert "INFO" not in done.stderr  # Alembic's and the server's INFO lines stay out


def test_seed_demo_works_from_another_directory_and_names_a_missing_file(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run(["seed-demo"], {"EBAYDASH_DATA_DIR": str(tmp_path / "data")}, elsewhere)
    assert done.returncode == 0, done.stderr
    assert "Demo data loaded" in done.stdout
    # where the data went, so the app can be started on it
    assert f"Database: {(tmp_path / 'data' / 'ebaydash.sqlite3').resolve()}" in done.stdout
    # a demo directory without its files: the file and the fix, no traceback
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _run(
        ["seed-demo", "--sample-dir", str(empty)], {"EBAYDASH_DATA_DIR": str(tmp_path / "data2")}, elsewhere
    )
    assert done.returncode == 2
    assert f"{empty / 'accounts.csv'} is missing" in done.stderr
    assert "ebaydash sample --out" in done.stderr and "Traceback" not in done.stderr


def test_recommend_on_an_unreachable_database_says_so_and_exits_1(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    done = _run(["recommend"], {"EBAYDASH_DATABASE_URL": url}, tmp_path)
    assert done.returncode == 1, done.stdout  # a hold on unknown state is no verdict
    assert "scaling state could not be read" in done.stdout and "cannot be reached" in done.stdout
    assert "dashboard" not in done.stdout and "Traceback" not in done.stderr
