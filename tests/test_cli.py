"""The ``ebaydash`` command's own surface: its version and its help text."""

from __future__ import annotations

import argparse

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
