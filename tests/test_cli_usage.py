"""``ebaydash``'s answers to bad input: option values out of range, files that are not files,
account names, and databases that do not exist yet. Each is a clear message and the documented
exit code (2 bad usage, 1 a failure the message explains), never a traceback."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from ebaydash import cli
from ebaydash.db import access as db_access
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import accounts, orders
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.seeding import seed_synthetic
from ebaydash.services import loadgen
from ebaydash.settings import Settings

PACKAGE = Path(cli.__file__).resolve().parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No EBAYDASH_* variable of the caller's, and a data folder of the test's own."""
    for name in [name for name in os.environ if name.startswith("EBAYDASH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EBAYDASH_DATA_DIR", str(tmp_path / "data"))


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)


@pytest.fixture
def migrated(migrated_sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """An empty SQLite database at the newest revision, its file private to the test."""
    path = tmp_path / "migrated.sqlite3"
    shutil.copyfile(migrated_sqlite_template, path)
    database = Database(make_engine(Settings(database_url=f"sqlite:///{path}")), timeout_ms=60_000)
    yield database
    database.dispose()


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``ebaydash argv`` expecting argparse to refuse it (exit 2); its stderr."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2, err
    assert "Traceback" not in err
    return err


# -- numeric options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["seed", "--orders", "-5"], "argument --orders: must be a whole number of at least 1, not -5"),
        (["seed", "--orders", "0"], "argument --orders: must be a whole number of at least 1, not 0"),
        (["seed", "--orders", "many"], "argument --orders: must be a whole number of at least 1, not 'many'"),
        (
            ["seed", "--orders", "10", "--accounts", "0"],
            "argument --accounts: must be a whole number of at least 1",
        ),
        (["seed", "--orders", "10", "--seed", "-1"], "argument --seed: must be a whole number of at least 0"),
        (
            ["loadgen", "--seconds", "-1"],
            "argument --seconds: must be a number of seconds above 0 and at most 3600",
        ),
        (["loadgen", "--seconds", "0"], "argument --seconds: must be a number of seconds above 0"),
        (["loadgen", "--seconds", "nan"], "argument --seconds: must be a number of seconds above 0"),
        (["loadgen", "--seconds", "inf"], "argument --seconds: must be a number of seconds above 0"),
        (
            ["loadgen", "--seconds", "3601"],
            "argument --seconds: must be a number of seconds above 0 and at most 3600",
        ),
        (["loadgen", "--requests", "0"], "argument --requests: must be a whole number from 1 to 1,000,000"),
        (
            ["loadgen", "--requests", "1000001"],
            "argument --requests: must be a whole number from 1 to 1,000,000",
        ),
        (["loadgen", "--workers", "0"], "argument --workers: must be a whole number from 1 to 32, not 0"),
        (["loadgen", "--workers", "33"], "argument --workers: must be a whole number from 1 to 32, not 33"),
        (["loadgen", "--fresh", "-0.1"], "argument --fresh: must be a number from 0 to 1, not -0.1"),
        (["loadgen", "--fresh", "1.5"], "argument --fresh: must be a number from 0 to 1, not 1.5"),
        (
            ["recommend", "--replicas", "0"],
            "argument --replicas: must be a whole number from 1 to 1000, not 0",
        ),
        (["recommend", "--replicas", "1001"], "argument --replicas: must be a whole number from 1 to 1000"),
        (
            ["recommend", "--replicas", "two"],
            "argument --replicas: must be a whole number from 1 to 1000, not 'two'",
        ),
    ],
)
def test_a_numeric_option_out_of_its_range_is_a_usage_error_naming_the_range(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in usage_error(argv, capsys)


def test_in_range_values_pass_and_keep_their_type() -> None:
    args = cli.build_parser().parse_args(
        ["loadgen", "--seconds", "0.5", "--requests", "1000000", "--workers", "32", "--fresh", "0"]
    )
    assert (args.seconds, args.requests, args.workers, args.fresh) == (0.5, 1_000_000, 32, 0.0)
    args = cli.build_parser().parse_args(["seed", "--orders", "1", "--accounts", "1", "--seed", "0"])
    assert (args.orders, args.accounts, args.seed) == (1, 1, 0)
    assert cli.build_parser().parse_args(["recommend", "--replicas", "1000"]).replicas == 1000


#: Numeric options that take any whole number: a seed only picks a random sequence (``random.Random``
#: takes negatives too).
ANY_WHOLE_NUMBER = {("sample", "--seed"), ("loadgen", "--seed")}
#: Registered by ebaydash.cluster.commands, which checks their ranges itself (exit 2 with the range).
OTHER_MODULES = {"cluster", "autoscale"}


def every_option(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if not path and name in OTHER_MODULES:
                    continue
                yield from every_option(child, (*path, name))
        else:
            yield path, action


def test_every_numeric_option_has_its_range_checked_by_argparse() -> None:
    """A bare ``type=int`` or ``float`` lets -5, 0 or nan through to code that cannot take them."""
    bare = [
        (" ".join(path), action.option_strings[0])
        for path, action in every_option(cli.build_parser())
        if action.type in (int, float) and (" ".join(path), action.option_strings[0]) not in ANY_WHOLE_NUMBER
    ]
    assert bare == []


def test_every_option_of_the_commands_says_what_it_is_for() -> None:
    silent = [
        f"{' '.join(path)} {action.option_strings[0] if action.option_strings else action.dest}"
        for path, action in every_option(cli.build_parser())
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert silent == []


def test_the_command_lines_loadgen_limits_are_the_service_s() -> None:
    assert cli.LOADGEN_MAX_SECONDS == loadgen.MAX_SECONDS
    assert cli.LOADGEN_MAX_REQUESTS == loadgen.MAX_REQUESTS
    assert cli.LOADGEN_MAX_WORKERS == loadgen.MAX_WORKERS


@pytest.mark.parametrize(
    ("orders", "count", "seed", "named"),
    [
        (-5, 20, 42, "orders"),
        (0, 20, 42, "orders"),
        (10, 0, 42, "accounts"),
        (10, -1, 42, "accounts"),
        (10, 2, -1, "seed"),
        (10.5, 2, 42, "orders"),
    ],
)
def test_seed_synthetic_refuses_impossible_values_before_writing(
    migrated: Database, orders: int, count: int, seed: int, named: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"^{named} must be a whole number of at least [01], not"):
        seed_synthetic(migrated, orders, accounts=count, seed=seed)
    with migrated.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 0


def test_seed_synthetic_still_seeds_the_smallest_set(migrated: Database) -> None:
    result = seed_synthetic(migrated, 1, accounts=1, seed=0)
    assert result.counts["orders"] == 1 and result.counts["accounts"] == 1


# -- files named on the command line -------------------------------------------------------------


def import_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_import_says_what_is_wrong_with_each_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    err = import_error(["import", "/dev/null", "--account", "x"], capsys)
    assert "/dev/null is a character device, not a regular file or a folder" in err
    assert "no such file" not in err
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert f"{pipe} is a named pipe, not a regular file" in import_error(
        ["import", str(pipe), "--account", "x"], capsys
    )
    missing = tmp_path / "missing.csv"
    assert f"{missing}: no such file or folder" in import_error(
        ["import", str(missing), "--account", "x"], capsys
    )
    link = tmp_path / "link.csv"
    link.symlink_to(missing)
    err = import_error(["import", str(link), "--account", "x"], capsys)
    assert f"{link}: a symbolic link to something that does not exist" in err
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.md").write_text("no orders here")
    assert f"{folder} is a folder without order files" in import_error(
        ["import", str(folder), "--account", "x"], capsys
    )
    # nothing was done: the database was not even opened
    assert not (tmp_path / "db.sqlite3").exists()


def test_import_and_costs_name_an_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    folder = tmp_path / "orders"
    folder.mkdir()
    locked = folder / "orders.csv"
    locked.write_text("a,b\n")
    # chmod 0 would not stop root (the tests may run as root), so the file refuses as for others
    real_open = Path.open

    def refusing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    for named in (locked, folder):
        err = import_error(["import", str(named), "--account", "x"], capsys)
        assert f"{locked}: cannot be read (Permission denied)" in err
    err = usage_error(["costs", "import", str(locked), "--account", "x"], capsys)
    assert f"{locked}: cannot be read (Permission denied)" in err


def test_costs_import_says_what_is_wrong_with_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = usage_error(["costs", "import", "/dev/null", "--account", "x"], capsys)
    assert "argument FILE: /dev/null is a character device, not a regular file" in err
    assert f"{tmp_path} is a folder; name the file itself" in usage_error(
        ["costs", "import", str(tmp_path), "--account", "x"], capsys
    )
    assert f"{tmp_path / 'nope.csv'}: no such file" in usage_error(
        ["costs", "import", str(tmp_path / "nope.csv"), "--account", "x"], capsys
    )


def test_a_rejects_file_that_cannot_be_written_stops_the_import_before_it_starts(
    migrated: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, str(migrated.engine.url))
    orders_file = str(PACKAGE.parent / "tests" / "fixtures" / "getorders_page1.json")
    rejects = tmp_path / "no-such-folder" / "problems.csv"
    err = import_error(["import", orders_file, "--account", "Shop", "--rejects", str(rejects)], capsys)
    assert f"--rejects {rejects}: the folder {rejects.parent} does not exist" in err
    with migrated.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0


def test_sample_and_seed_demo_say_when_their_folder_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert cli.main(["sample", "--out", str(afile)]) == 2
    assert f"{afile} is not a folder" in capsys.readouterr().err
    assert cli.main(["sample", "--out", str(afile / "inside")]) == 2
    assert f"{afile} is not a folder" in capsys.readouterr().err
    assert cli.main(["seed-demo", "--sample-dir", str(afile)]) == 2
    assert f"{afile} is not a folder" in capsys.readouterr().err


# -- accounts: the command that lists them, names taken wherever an account is asked for ----------


def test_accounts_lists_names_ids_zones_and_currencies(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, demo_url)
    assert cli.main(["accounts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TIME", "ZONE", "CURRENCY", "MARKETPLACE"]
    assert len(lines) == 1 + 5  # the demo's five accounts
    assert any(re.fullmatch(r"1\s+Retro Records\s+America/New_York\s+USD\s+EBAY_US", line) for line in lines)
    assert any(re.fullmatch(r"\d+\s+Stitch & Thread\s+Europe/London\s+GBP\s+EBAY_GB", line) for line in lines)


def test_accounts_json_lists_the_same_accounts(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, demo_url)
    assert cli.main(["accounts", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 5
    retro = next(a for a in listed if a["id"] == 1)
    assert (retro["name"], retro["timezone"], retro["currency"], retro["marketplace"]) == (
        "Retro Records",
        "America/New_York",
        "USD",
        "EBAY_US",
    )
    assert dt.datetime.fromisoformat(retro["last_order_at"]).tzinfo is not None


def test_accounts_on_an_empty_database_says_how_to_add_one(
    migrated: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, str(migrated.engine.url))
    assert cli.main(["accounts"]) == 0
    assert "There are no accounts yet" in capsys.readouterr().out
    assert cli.main(["accounts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_an_unknown_account_points_to_a_command_that_lists_them(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, demo_url)
    assert cli.main(["users", "revoke", "a@b.c", "--account", "nosuch"]) == 1
    err = capsys.readouterr().err
    assert "There is no account called 'nosuch'; `ebaydash accounts` lists them." in err
    assert cli.main(["accounts"]) == 0  # and that command exists


def subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser, by command path."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= subcommands(child, (*path, name))
    return found


def test_every_command_a_message_names_exists() -> None:
    """Messages send people to `ebaydash …` commands: each must be one ``ebaydash --help`` lists."""
    known = subcommands(cli.build_parser())
    named: set[tuple[str, ...]] = set()
    for source in PACKAGE.rglob("*.py"):
        for words in re.findall(r"`ebaydash ([a-z][a-z -]*)", source.read_text(encoding="utf-8")):
            command: tuple[str, ...] = ()
            for word in words.split():
                if (*command, word) not in known:
                    break
                command = (*command, word)
            assert command, f"{source.relative_to(PACKAGE.parent)}: `ebaydash {words}` is no command"
            named.add(command)
    assert ("accounts",) in named  # what ebaydash.db.access tells a person who names no account


def test_the_rollup_commands_take_an_account_name_or_id(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database(monkeypatch, demo_url)
    assert cli.main(["db", "check-rollups", "--account", "retro  records"]) == 0
    assert cli.main(["db", "rebuild-rollups", "--account", "Retro Records", "--account", "2"]) == 0
    assert "day_rollups:" in capsys.readouterr().out
    assert cli.main(["db", "check-rollups", "--account", "nosuch"]) == 1
    assert "There is no account called 'nosuch'; `ebaydash accounts` lists them." in capsys.readouterr().err
    assert cli.main(["db", "check-rollups", "--account", "99"]) == 1
    assert "There is no account called '99' nor with id 99" in capsys.readouterr().err
    parsers = subcommands(cli.build_parser())
    for command in ("rebuild-rollups", "check-rollups"):
        help_text = " ".join(parsers[("db", command)].format_help().split())
        assert "--account NAME only the account with this name" in help_text


def test_a_name_wins_over_an_id_spelled_the_same(demo_url: str) -> None:
    database = Database(make_engine(Settings(database_url=demo_url)), timeout_ms=60_000)
    try:
        with database.transaction() as conn:
            conn.execute(update(accounts).where(accounts.c.id == 1).values(name="2"))
            assert db_access.account_named_or_numbered(conn, "2").id == 1  # the account called "2"
            assert db_access.account_named_or_numbered(conn, "3").id == 3  # no name "3": the id
            with pytest.raises(NotFound, match="no account called '٣';"):
                db_access.account_named_or_numbered(conn, "٣")  # digits, but not ASCII ones
            with pytest.raises(NotFound, match="no account called '99999999999999999999';"):
                db_access.account_named_or_numbered(conn, "99999999999999999999")  # past 64 bits
    finally:
        database.dispose()


# -- a database that does not exist yet ----------------------------------------------------------

#: Every command that reads or changes what is already in the database, by path, with arguments.
EXISTING_DATA_COMMANDS = {
    ("db", "check-rollups"): [],
    ("db", "rebuild-rollups"): [],
    ("recommend",): ["--dry-run"],
    ("accounts",): [],
    ("users", "list"): [],
    ("users", "grant"): ["a@b.c", "--account", "x", "--role", "seller"],
    ("users", "revoke"): ["a@b.c", "--account", "x"],
    ("loadgen",): ["--requests", "1"],
    ("costs", "import"): ["{csv}", "--account", "x"],
}


@pytest.mark.parametrize("command", EXISTING_DATA_COMMANDS, ids=" ".join)
def test_a_command_on_existing_data_does_not_create_a_missing_database(
    command: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "nonexistent_dir"
    use_database(monkeypatch, f"sqlite:///{folder / 'x.db'}")
    costs = tmp_path / "costs.csv"
    costs.write_text("SKU,cost,valid_from\nA,1.00,2026-01-01\n")
    argv = [*command, *(arg.replace("{csv}", str(costs)) for arg in EXISTING_DATA_COMMANDS[command])]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert f"The database {folder / 'x.db'} does not exist yet" in err
    assert "`ebaydash db upgrade`" in err and "Traceback" not in err
    assert not folder.exists()


def test_db_current_and_check_call_a_database_that_does_not_exist_yet_empty_and_leave_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nonexistent_dir" / "x.db"
    use_database(monkeypatch, f"sqlite:///{path}")
    assert cli.main(["db", "current"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"(none)\nThe database {path} does not exist yet; `ebaydash db upgrade` creates it")
    assert cli.main(["db", "check"]) == 1  # as for an empty database
    err = capsys.readouterr().err
    assert f"The database {path} does not exist yet; `ebaydash db upgrade` creates it" in err
    assert not path.parent.exists()


def test_every_command_on_existing_data_is_checked_above() -> None:
    declared = {
        path
        for path, parser in subcommands(cli.build_parser()).items()
        if parser.get_default("existing_database")
    }
    assert declared == set(EXISTING_DATA_COMMANDS)


def test_db_upgrade_still_creates_the_database_and_then_the_others_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new_dir" / "x.db"
    use_database(monkeypatch, f"sqlite:///{path}")
    assert cli.main(["db", "upgrade"]) == 0
    assert path.exists()
    assert cli.main(["db", "check"]) == 0
    assert "the current one" in capsys.readouterr().out


def test_the_import_timezone_help_says_which_zone_applies_in_order() -> None:
    parser = subcommands(cli.build_parser())[("import",)]
    [option] = [" ".join(str(a.help).split()) for a in parser._actions if a.dest == "timezone"]
    # the option, else the existing account's zone, else the files' eBay site's, else the setting
    order = (
        "a new account is created in it",
        "an existing account's zone",
        "the eBay site the files come from",
        "EBAYDASH_TIMEZONE",
    )
    assert [words for words in order if words in option] == list(order), option
    assert sorted(order, key=option.index) == list(order), option
