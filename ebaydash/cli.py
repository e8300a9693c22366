"""The ``ebaydash`` command: demo data, seeding, importing orders, the scaling recommendation, and
the database schema (``ebaydash db upgrade|current|check``).

Exit codes: 0 success, 1 failure the message explains, 2 bad usage or configuration;
``recommend`` also exits 10 (scale up) and 11 (scale down); ``db check`` exits 1 when the database
is not at this version's revision; ``cluster status`` exits 3 when the balancer or a replica is
down; every command exits 141 (as a command killed by SIGPIPE does), without a message, when the
reader of its output goes away before it is all written (``ebaydash accounts | head -1``).
Every command but ``db`` brings an empty or older database to the current revision first (unless
EBAYDASH_AUTO_MIGRATE=false); those that only read or change what is there (``db current``,
``db check``, ``recommend``, ``accounts``, ``users``…) say that a SQLite database does not exist
yet, rather than create it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import select
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ebaydash.errors import RAISED_TOO, ConfigError, EbaydashError, SchemaMissing
from ebaydash.redaction import install_log_redaction
from ebaydash.settings import SETTINGS, Number, Settings

Handler = Callable[[argparse.Namespace, Settings], int]


# -- option values: checked by argparse, so a bad one exits 2 with its range, before any work ----


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=``: a whole number from ``low`` (to ``high``, when given)."""
    expected = (
        f"a whole number of at least {low:,}" if high is None else f"a whole number from {low:,} to {high:,}"
    )

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {raw!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {expected}, not {value:,}")
        return value

    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def number(low: float, high: float, *, above_low: bool = False, unit: str = "") -> Callable[[str], float]:
    """An argparse ``type=``: a finite number from ``low`` (or above it, ``above_low``) to ``high``."""
    what = f"a number of {unit}" if unit else "a number"
    expected = (
        f"{what} above {low:g} and at most {high:g}" if above_low else f"{what} from {low:g} to {high:g}"
    )

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {raw!r}") from None
        # float() takes "nan" and "inf", which every comparison below would let through or trip on
        too_low = value <= low if above_low else value < low
        if not math.isfinite(value) or too_low or value > high:
            raise argparse.ArgumentTypeError(f"must be {expected}, not {raw}")
        return value

    return parse


def like_setting(field: str) -> Callable[[str], Any]:
    """An argparse ``type=`` for an option that stands in for a setting: the setting's own range,
    so the option cannot allow what ``EBAYDASH_<FIELD>`` refuses."""
    (spec,) = (spec for spec in SETTINGS if spec.field == field)
    assert isinstance(spec.parse, Number), f"{field} is not a numeric setting"
    parse_setting = spec.parse

    def parse(raw: str) -> Any:
        try:
            return parse_setting(raw)
        except ValueError:
            try:
                shown = f"{parse_setting.kind(raw)}"  # a number out of range: shown as one
            except ValueError:
                shown = repr(raw)
            raise argparse.ArgumentTypeError(f"must be {spec.expected}, not {shown}") from None

    return parse


#: ``ebaydash loadgen``'s limits, as :mod:`ebaydash.services.loadgen` enforces them (a test keeps
#: them equal): importing that module here would load pandas and the services for every ``--help``.
LOADGEN_MAX_SECONDS = 3600.0
LOADGEN_MAX_REQUESTS = 1_000_000
LOADGEN_MAX_WORKERS = 32


# -- files and folders named on the command line ----------------------------------------------

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def _unreadable(name: str, path: Path) -> str | None:
    """Why the regular file ``path`` cannot be opened for reading, or None when it can."""
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return f"{name}: cannot be read ({exc.strerror or exc})"


def _file_problem(name: str, *, folder_ok: bool = False) -> str | None:
    """What is wrong with ``name`` as a file to read (or, ``folder_ok``, a folder to list), in
    words that are true: missing, a broken link, not a regular file, unreadable. None when fine."""
    path = Path(name)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            return f"{name}: a symbolic link to something that does not exist"
        return f"{name}: no such file" + (" or folder" if folder_ok else "")
    except OSError as exc:
        return f"{name}: cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        if not folder_ok:
            return f"{name} is a folder; name the file itself"
        try:
            with os.scandir(path) as entries:
                next(entries, None)
        except OSError as exc:
            return f"{name}: the folder cannot be read ({exc.strerror or exc})"
        return None
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _KINDS if test(mode)), "a special file")
        wanted = "a regular file or a folder" if folder_ok else "a regular file"
        return f"{name} is {kind}, not {wanted}"
    return _unreadable(name, path)


def readable_file(name: str) -> str:
    """An argparse ``type=``: the name of a regular file this process can read."""
    problem = _file_problem(name)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return name


def _output_problem(name: str, *, folder: bool = False) -> str | None:
    """What stops writing the file ``name`` (or, ``folder``, files into the folder ``name``,
    made when missing) before any work is done, so a long import does not end in a traceback."""
    path = Path(name)
    if folder:
        if path.exists() and not path.is_dir():
            return f"{name} is not a folder; name a folder to write into"
        parent = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not parent.is_dir():
            return f"{name}: {parent} is not a folder"
        return None
    if path.is_dir():
        return f"{name} is a folder; name the file to write"
    if not path.parent.is_dir():
        return f"{name}: the folder {path.parent} does not exist"
    return None


def _absent_database(settings: Settings) -> Path | None:
    """The SQLite database file that does not exist yet, if the settings name one: opening it
    would create it, and its folder (:func:`ebaydash.db.engine.make_engine`)."""
    from sqlalchemy.engine import make_url

    for raw in dict.fromkeys(u for u in (settings.database_url, settings.database_admin_url) if u):
        url = make_url(raw)
        # "sqlite://" and ":memory:" are in memory; a "file:" URI (?uri=true) is SQLite's to read
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or "uri" in url.query:
            continue
        path = Path(url.database or "")
        try:
            path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return path.resolve()
        except OSError:
            pass  # not ours to judge (permissions…): opening it says what is wrong
    return None


def _missing_database(settings: Settings) -> None:
    """Refuse, with how to create it, a SQLite database that does not exist yet: a command that
    reads or changes existing data must not create a file (and folders) for a mistyped
    EBAYDASH_DATABASE_URL or EBAYDASH_DATA_DIR."""
    absent = _absent_database(settings)
    if absent is not None:
        raise SchemaMissing(
            f"The database {absent} does not exist yet. Create it with `ebaydash db upgrade`, or load "
            "the demo into it with `ebaydash seed-demo` (`make run` does that too); or check "
            "EBAYDASH_DATABASE_URL / EBAYDASH_DATA_DIR."
        )


def _absent_database_status(settings: Settings) -> str | None:
    """What ``db current`` and ``db check`` say of a database that does not exist yet: the same
    as of an empty one, its revision none, without creating it."""
    absent = _absent_database(settings)
    if absent is None:
        return None
    from ebaydash.db import migrations

    return (
        f"The database {absent} does not exist yet; `ebaydash db upgrade` creates it at revision "
        f"{migrations.head()} (`ebaydash seed-demo` also loads the demo)."
    )


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    """The database with its schema made current (or checked, with auto-migration off)."""
    from ebaydash.context import open_database

    db = open_database(settings)
    try:
        db.ensure_ready()
    except BaseException:
        db.dispose()
        raise
    return db


def _plain_database(settings: Settings):  # type: ignore[no-untyped-def]
    """The database as it is: `ebaydash db` looks at and changes the schema itself (as the tables'
    owner, through EBAYDASH_DATABASE_ADMIN_URL when it is set)."""
    from ebaydash.context import admin_database

    return admin_database(settings)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import migrations

    db = _plain_database(settings)
    try:
        result = migrations.upgrade(db, timeout_s=settings.migration_timeout_s)
    finally:
        db.dispose()
    print(result.describe())
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import migrations

    absent = _absent_database_status(settings)
    if absent:
        print("(none)")
        print(absent)
        return 0
    db = _plain_database(settings)
    try:
        found = migrations.read_status(db)
    finally:
        db.dispose()
    print(found.current or "(none)")
    print(found.describe())
    return 0


def cmd_db_check(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import migrations

    absent = _absent_database_status(settings)
    if absent:
        print(f"ebaydash: {absent}", file=sys.stderr)
        return 1
    db = _plain_database(settings)
    try:
        result = migrations.check(db)
    finally:
        db.dispose()
    if result.ok:
        print(result.status.describe())
        return 0
    if not result.status.ok:
        print(f"ebaydash: {result.status.describe()}", file=sys.stderr)
        return 1
    print(
        f"ebaydash: at revision {result.status.current}, but the tables differ from this version's: "
        + "; ".join(result.drift),
        file=sys.stderr,
    )
    return 1


def _account_ids(conn: Any, names: Sequence[str] | None) -> list[int] | None:
    """The ids of the accounts ``--account`` named (by name, or by id when all digits and no
    account has that name); None, meaning every account, when it was not given."""
    from ebaydash.db import access as db_access

    if not names:
        return None
    return [int(db_access.account_named_or_numbered(conn, name).id) for name in names]


def _import_account_name(ctx: Any, given: str) -> str:
    """The name to import into for ``--account``: an existing account's, by name or by id (as the
    other commands take it), else ``given`` itself, the name of the account the import creates."""
    from ebaydash.db import access as db_access
    from ebaydash.errors import NotFound

    with ctx.db.connect() as conn:
        try:
            return str(db_access.account_named_or_numbered(conn, given).name)
        except NotFound:
            return given


def cmd_db_rebuild_rollups(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import rollups
    from ebaydash.db.bulk import LOAD_TIMEOUT_MS

    db = _database(settings)
    try:
        with db.transaction(timeout_ms=LOAD_TIMEOUT_MS) as conn:
            written = rollups.rebuild(conn, _account_ids(conn, args.account))
    finally:
        db.dispose()
    print(", ".join(f"{table}: {rows:,} rows" for table, rows in written.items()))
    return 0


def cmd_db_check_rollups(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import rollups
    from ebaydash.db.bulk import LOAD_TIMEOUT_MS

    db = _database(settings)
    try:
        with db.connect(timeout_ms=LOAD_TIMEOUT_MS) as conn:
            differences = rollups.check(conn, _account_ids(conn, args.account))
    finally:
        db.dispose()
    if not differences:
        print("rollups agree with the orders")
        return 0
    for difference in differences[:20]:
        print(f"ebaydash: {difference.describe()}", file=sys.stderr)
    print(
        f"ebaydash: {len(differences):,} rollup rows differ from the orders; "
        "run `ebaydash db rebuild-rollups`",
        file=sys.stderr,
    )
    return 1


def cmd_db_revision(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.db import migrations

    db = _plain_database(settings)
    try:
        if args.autogenerate:
            migrations.ensure_schema(db, settings.replace(auto_migrate=False))
        paths = migrations.revision(db, args.message, autogenerate=args.autogenerate)
    finally:
        db.dispose()
    for path in paths:
        print(f"wrote {path}")
    print("Now write its test in tests/test_migrations.py (see tests/migration_support.py).")
    return 0


def cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash import sample_data

    problem = _output_problem(args.out, folder=True)
    if problem:
        print(f"ebaydash: {problem}", file=sys.stderr)
        return 2
    frames = sample_data.generate(seed=args.seed)
    try:
        written = sample_data.write_csvs(frames, Path(args.out))
    except OSError as exc:  # a read-only or full disk: found only by writing
        print(f"ebaydash: cannot write the demo files to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path} ({len(frames[path.stem]):,} rows)")
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.sample_data import demo_dir
    from ebaydash.seeding import seed_demo

    where = demo_dir(args.sample_dir or settings.sample_dir)
    # a missing folder is left to seed_demo, whose message says how to write the files
    if where.exists() and not where.is_dir():
        print(f"ebaydash: {where} is not a folder; name the folder holding the demo CSVs", file=sys.stderr)
        return 2
    db = _database(settings)
    try:
        result = seed_demo(db, where)
    finally:
        db.dispose()
    print(result.message)
    # a relative EBAYDASH_DATA_DIR is relative to where the command runs: say which database the
    # app must be started on to see this data
    print(f"Database: {_where(settings)}")
    return 0


def _where(settings: Settings) -> str:
    """The database, for a person: the SQLite file's absolute path, or the URL without password."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.seeding import seed_synthetic

    db = _database(settings)
    try:
        result = seed_synthetic(db, args.orders, accounts=args.accounts, seed=args.seed)
    finally:
        db.dispose()
    print(result.message)
    return 0


# `ebaydash recommend` exit codes, for scripts and cron (also in README and --help)
EXIT_HOLD = 0
EXIT_SCALE_UP = 10
EXIT_SCALE_DOWN = 11
RECOMMEND_EXITS = {"hold": EXIT_HOLD, "scale_up": EXIT_SCALE_UP, "scale_down": EXIT_SCALE_DOWN}


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.services import access

    if settings.redis_url is None:
        print(
            "ebaydash: note: EBAYDASH_REDIS_URL is not set, so this command cannot see the app's "
            "metrics (they stay in each app process); it will hold.",
            file=sys.stderr,
        )
    ctx = build_context(settings, start_sampler=False)
    try:
        decision = services.recommendation(
            ctx, access.operator(), act=not args.dry_run, replicas=args.replicas
        )
    finally:
        ctx.close()
    code = RECOMMEND_EXITS[decision.action]
    if args.json:
        payload = {**asdict(decision), "label": decision.label, "exit_code": code, "dry_run": args.dry_run}
        print(json.dumps(_rounded(payload), default=str, indent=2))
    else:
        from ebaydash.formatting import plural
        from ebaydash.monitor.scaling import fmt

        desired = plural(decision.desired_replicas, "replica")
        print(f"{decision.label}: {decision.current_replicas} -> {desired}")
        print(_for_the_command_line(decision.reason))

        for rule in decision.rules:
            # in the rule's unit, as on the scaling page: memory as a percentage, times in ms
            shown = "-" if rule.observed is None else fmt(rule.observed, rule.unit)
            print(f"  {rule.label}: {shown} ({rule.verdict}: {rule.note})")
        if decision.cooldown_left_s:
            print(f"  cooldown left: {decision.cooldown_left_s:,.0f} s")
    if decision.rule == "state_unavailable":
        return 1
    return code


def _rounded(value: Any) -> Any:
    """``value`` with its floats rounded to 6 decimals, lists and dicts through: ``0.074`` rather
    than the ``0.07400000000000001`` a sum of fractions leaves, in a command's JSON."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def cmd_loadgen(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.context import build_context
    from ebaydash.services import loadgen

    if settings.redis_url is None:
        print(
            "ebaydash: note: EBAYDASH_REDIS_URL is not set: this traffic is recorded in this process "
            "only, and the app's charts show it only when both share a Redis.",
            file=sys.stderr,
        )
    ctx = build_context(settings, start_sampler=False)
    ctx.recorder.start()  # push the metrics while the load runs, so the charts move

    def progress(result: loadgen.LoadResult) -> None:
        if not args.quiet:
            print(
                f"  {result.seconds:5.0f} s  {result.requests:,} page views, {result.errors:,} errors",
                flush=True,
            )

    try:
        result = loadgen.run(
            ctx,
            seconds=args.seconds,
            requests=args.requests,
            workers=args.workers,
            fresh=args.fresh,
            seed=args.seed,
            progress=progress,
        )
    finally:
        ctx.close()
    from ebaydash.formatting import duration_ms, plural

    pages = ", ".join(f"{name} {n:,}" for name, n in sorted(result.by_page.items()))
    print(
        f"{plural(result.requests, 'page view')} in {result.seconds:.1f} s ({result.per_minute:,.0f}/min; "
        f"stopped by {result.stopped_by}), {plural(result.errors, 'error')}; "
        f"p50 {duration_ms(result.percentile_ms(50))}, p95 {duration_ms(result.percentile_ms(95))}. {pages}."
    )
    return 0 if result.errors == 0 else 1


MAX_ERRORS_SHOWN = 50
MAX_NOT_ORDERS_SHOWN = 20
IMPORT_SUFFIXES = (".csv", ".json", ".txt", ".tsv")


def _import_paths(names: Sequence[str]) -> tuple[list[Path], list[str]]:
    """The files to import: each FILE, and the order files (``.csv``, ``.json``, ``.txt``,
    ``.tsv``) of each folder, in name order. Returns the paths and the usage problems."""
    paths: list[Path] = []
    problems: list[str] = []
    for name in names:
        problem = _file_problem(name, folder_ok=True)
        if problem:
            problems.append(problem)
            continue
        path = Path(name)
        if not path.is_dir():
            paths.append(path)
            continue
        found = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMPORT_SUFFIXES
        )
        if not found:
            problems.append(
                f"{name} is a folder without order files ({', '.join(IMPORT_SUFFIXES)}); "
                "name the files to import, or a folder holding them"
            )
        for file in found:
            unreadable = _unreadable(str(file), file)
            if unreadable:
                problems.append(unreadable)
            else:
                paths.append(file)
    return paths, problems


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.formatting import plural
    from ebaydash.services import access

    if args.timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            print(
                f"ebaydash: {args.timezone!r} is not a time zone; use e.g. America/New_York", file=sys.stderr
            )
            return 2
    paths, problems = _import_paths(args.files)
    if args.rejects:
        # written after the import: a bad path found then would follow a committed import
        rejects_problem = _output_problem(args.rejects)
        if rejects_problem:
            problems.append(f"--rejects {rejects_problem}")
    if problems:
        for problem in problems:
            print(f"ebaydash: {problem}", file=sys.stderr)
        return 2
    if len(paths) > len(args.files):
        print(f"Importing {len(paths):,} files: {', '.join(p.name for p in paths)}")
    files = [services.ImportFile(path.name, path=path) for path in paths]
    steps: list[str] = []

    def progress(_fraction: float, step: str) -> None:
        head = step.split(":")[0]
        if sys.stderr.isatty() and (not steps or steps[-1] != head):
            steps.append(head)
            print(f"… {step}", file=sys.stderr)

    # Refresh-ahead outlives this process only through a shared cache: without Redis it is skipped,
    # with it the command waits (bounded) so the replicas' next viewers read warm figures.
    shared = bool(settings.redis_url)
    ctx = build_context(settings if shared else settings.replace(refresh_ahead=False), start_sampler=False)
    try:
        # order files or eBay money records (Transaction report, Finances API pages), by content
        report = services.import_files(
            ctx,
            access.operator(),
            files,
            account_name=_import_account_name(ctx, args.account),
            timezone=args.timezone,
            skip_invalid=args.skip_invalid,
            progress=progress,
        )
        created_zone = None
        if report.account_created and report.account_id is not None:
            # the zone as stored: an order import's report names it, a money import's does not
            created_zone = services.account(ctx, access.operator(), report.account_id, fresh=True).timezone
        if shared and report.account_id is not None:
            from ebaydash.services import sellers

            sellers.wait_for_refresh(ctx, report.account_id, timeout_s=120)
    finally:
        ctx.close()
    for f in report.files:
        extra = f", {plural(f.not_orders, 'row')} not orders" if f.not_orders else ""
        held = plural(f.orders, report.kind.removesuffix("s"))
        what = f"{held}, {f.valid:,} valid, {plural(f.errors, 'problem')}"
        print(f"{f.name}: {f.format}, {what}{extra}")
    if report.account_created:
        print(
            f"Created the account {report.account_name!r} (it did not exist): "
            f"{report.currency or 'USD'}, {report.marketplace or 'EBAY_US'}, time zone {created_zone}."
        )
    print(report.summary_text(skip_hint="run the same command with --skip-invalid"))
    counts = " + ".join(f"{n:,} {label}" for label, n in report.counts().items() if n)
    if report.orders_in:  # a file that held none (unreadable, not eBay's) has nothing to account for
        print(
            f"{report.kind.capitalize()}: {counts or '0'} = {report.accounted:,} of "
            f"{report.orders_in:,} in the files."
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    if report.not_orders:
        print(f"{plural(report.not_orders_count, 'row')} that are not orders:")
        for row in report.not_orders[:MAX_NOT_ORDERS_SHOWN]:
            print(f"  {row.describe()}")
        if report.not_orders_count > MAX_NOT_ORDERS_SHOWN:
            print(f"  … and {report.not_orders_count - MAX_NOT_ORDERS_SHOWN:,} more")
    if report.errors:
        shown = report.errors[:MAX_ERRORS_SHOWN]
        print(f"{plural(report.problems_count, 'problem')}:")
        for error in shown:
            print(f"  {error.describe()}")
        if report.problems_count > len(shown):
            more = report.problems_count - len(shown)
            hint = "" if args.rejects else " (use --rejects FILE to write them all)"
            print(f"  … and {more:,} more{hint}")
    if args.rejects:
        try:
            Path(args.rejects).write_text(report.rejects_csv(), encoding="utf-8")
        except OSError as exc:  # checked before the import; a full disk shows only now
            print(
                f"ebaydash: the problems could not be written to {args.rejects}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        kept = f" (the first {len(report.errors):,})" if report.problems_count > len(report.errors) else ""
        print(f"Wrote {plural(report.problems_count, 'problem')}{kept} to {args.rejects}.")
    return 0 if report.ok else 1


def _plain(text: str | None) -> str | None:
    """Help text for a terminal: docstrings mark code with reStructuredText's double backticks,
    which ``--help`` would print raw."""
    return None if text is None else re.sub(r"``(.+?)``", r"\1", text)


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """:func:`_plain` on every description, epilog and argument help of ``parser`` and its
    subcommands."""
    parser.description = _plain(parser.description)
    parser.epilog = _plain(parser.epilog)
    for action in parser._actions:
        action.help = _plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _plain(choice.help)
            for child in set(action.choices.values()):
                _plain_help(child)


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """``users grant|revoke|list``: as the operator at the shell (named in the audit log)."""
    from ebaydash.context import build_context
    from ebaydash.services import access

    ctx = build_context(settings, start_sampler=False)
    try:
        me = access.operator()
        if args.users_command == "grant":
            change = access.grant(ctx, me, args.email, args.account, args.role)
            was = f" (was {change.previous})" if change.previous and change.previous != change.role else ""
            print(f"{change.email} is {change.role} of {change.account_name!r}{was}.")
        elif args.users_command == "revoke":
            change = access.revoke(ctx, me, args.email, args.account)
            if change.previous is None:
                print(f"{change.email} had no grant on {change.account_name!r}; nothing changed.")
            else:
                print(f"{change.email} is no longer {change.previous} of {change.account_name!r}.")
        else:
            rows = access.grants(ctx, me)
            if settings.admin_email:
                print(f"{settings.admin_email}: admin of every account (EBAYDASH_ADMIN_EMAIL)")
            if not rows:
                print("Nobody has signed in or been granted anything yet.")
            for row in rows:
                if row.account_name is None and row.every_account:
                    continue  # the EBAYDASH_ADMIN_EMAIL line above says it
                if row.account_name is None:
                    print(f"{row.email}: {row.standing}")
                else:
                    print(f"{row.email}: {row.role} of {row.account_name!r} (by {row.granted_by})")
    finally:
        ctx.close()
    return 0


def cmd_accounts(args: argparse.Namespace, settings: Settings) -> int:
    """``accounts``: every account's name, id, time zone and currency (the names other commands'
    ``--account`` takes)."""
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.services import access

    ctx = build_context(settings, start_sampler=False)
    try:
        found = services.accounts(ctx, access.operator(), fresh=True)
    finally:
        ctx.close()
    if args.json:
        # the same fields as the table, plus the eBay seller id and the newest order (ISO, UTC)
        fields = ("id", "name", "ebay_user_id", "timezone", "currency", "marketplace", "last_order_at")
        listed = [{f: getattr(a, f) for f in fields} for a in found]
        print(json.dumps(listed, default=lambda v: v.isoformat(), indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("There are no accounts yet: `ebaydash seed-demo` loads the demo, `ebaydash import` adds one.")
        return 0
    rows = [("ID", "NAME", "TIME ZONE", "CURRENCY", "MARKETPLACE")]
    rows += [(str(a.id), a.name, a.timezone, a.currency, a.marketplace) for a in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_costs_import(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.services import access

    path = Path(args.file)  # readable_file checked it
    ctx = build_context(settings, start_sampler=False)
    try:
        report = services.import_costs(
            ctx, access.operator(), path.name, path.read_bytes(), account_name=args.account
        )
    finally:
        ctx.close()
    print(report.summary)
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        print(f"  {error.describe()}")
    if len(report.errors) > MAX_ERRORS_SHOWN:
        print(f"  … and {len(report.errors) - MAX_ERRORS_SHOWN:,} more")
    return 0 if report.committed else 1


#: ``--account`` of the commands that look an existing account up with
#: :func:`ebaydash.db.access.account_named_or_numbered`.
ACCOUNT_NAME_OR_ID_HELP = (
    "the account with this name (as `ebaydash accounts` lists it; an id, all digits, also works "
    "when no account has that name)"
)
ROLLUP_ACCOUNT_HELP = f"only {ACCOUNT_NAME_OR_ID_HELP}; repeatable; default: every account"


def build_parser() -> argparse.ArgumentParser:
    from ebaydash import __version__

    parser = argparse.ArgumentParser(prog="ebaydash", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    # `existing_database`: the command reads or changes data that must already be there, so on a
    # SQLite file that does not exist it says so instead of creating it (see _missing_database)
    p = sub.add_parser("sample", help="write the demo CSVs (deterministic from --seed)")
    p.add_argument(
        "--out",
        metavar="FOLDER",
        default="sample_data",
        help="folder to write the CSVs to, made if missing (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=7,
        help="random seed: the same seed writes the same files (default: %(default)s)",
    )
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("seed-demo", help="load the demo CSVs into an empty database (idempotent)")
    p.add_argument(
        "--sample-dir",
        metavar="FOLDER",
        default=None,
        help="folder holding the demo CSVs, as `ebaydash sample` writes them (default: EBAYDASH_SAMPLE_DIR)",
    )
    p.set_defaults(handler=cmd_seed_demo)

    p = sub.add_parser("seed", help="bulk-load a large synthetic data set, for benchmarks")
    p.add_argument(
        "--orders",
        type=positive_int,
        default=100_000,
        help="orders to create, at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--accounts",
        type=positive_int,
        default=20,
        help="new accounts to spread them over (unevenly), at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=42,
        help="random seed, 0 or more: the same seed makes the same data (default: %(default)s)",
    )
    p.set_defaults(handler=cmd_seed)

    p = sub.add_parser(
        "accounts",
        help="list the accounts: id, name, time zone, currency, marketplace",
        description="Every account, by name: the names `--account` of the other commands takes.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list (an empty one for no account)")
    p.set_defaults(handler=cmd_accounts, existing_database=True)

    p = sub.add_parser(
        "import",
        help="import orders (getOrders JSON, Seller Hub Orders CSV) or eBay money records (Transaction "
        "report CSV, Finances API getTransactions/getPayouts JSON)",
        description="Import order or money files (or every .csv/.json/.txt/.tsv file of a folder) into an "
        "account, all or nothing unless --skip-invalid. Exit code 1 when problems stopped the import.",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="orders (getOrders JSON pages, Seller Hub Orders reports) or money records (the Transaction "
        "report, getTransactions / getPayouts pages), or folders holding them",
    )
    p.add_argument(
        "--account",
        metavar="NAME",
        required=True,
        help=f"{ACCOUNT_NAME_OR_ID_HELP}; when neither matches, a new account of this name is created",
    )
    p.add_argument(
        "--timezone",
        default=None,
        help="zone of the Seller Hub dates, e.g. America/New_York; a new account is created in it. "
        "Without it: an existing account's zone, else the zone of the eBay site the files come from "
        "(e.g. Europe/Berlin for ebay.de), else EBAYDASH_TIMEZONE",
    )
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid orders and list the invalid ones"
    )
    p.add_argument("--rejects", metavar="CSV", default=None, help="write every problem to this CSV file")
    p.set_defaults(handler=cmd_import)

    costs = sub.add_parser(
        "costs",
        help="cost of goods per SKU",
        description="The seller's cost of goods per SKU, with the day each cost applies from.",
    )
    costs_sub = costs.add_subparsers(dest="costs_command", required=True)
    p = costs_sub.add_parser(
        "import",
        help="add or change costs from a CSV file: SKU, cost, currency (optional), valid_from",
        description="Add or change the costs of an account from a CSV file with the columns SKU, "
        "cost, currency (optional; the account's) and valid_from (YYYY-MM-DD). All rows or none; "
        "every change is logged. Exit code 1 when problems stopped the import.",
    )
    p.add_argument("file", metavar="FILE", type=readable_file, help="the CSV file")
    p.add_argument("--account", required=True, help="the account's name (`ebaydash accounts` lists them)")
    p.set_defaults(handler=cmd_costs_import, existing_database=True)

    p = sub.add_parser(
        "recommend",
        help="print the scaling recommendation (exit 0 hold, 10 scale up, 11 scale down)",
        description="The scaling rules engine's decision on the replicas' shared metrics. A change is "
        "claimed in the shared scaling state (unless --dry-run), so of several replicas or cron jobs "
        "only one acts on an episode; the others then hold during the cooldown.",
        epilog="exit codes: 0 hold, 10 scale up, 11 scale down, 1 failure (e.g. the shared state "
        "could not be written), 2 bad usage or configuration",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--dry-run", action="store_true", help="decide, but claim nothing in the shared state")
    p.add_argument(
        "--replicas",
        type=like_setting("replicas"),
        default=None,
        help="replicas running now, 1 to 1000 (default EBAYDASH_REPLICAS)",
    )
    p.set_defaults(handler=cmd_recommend, existing_database=True)

    db = sub.add_parser(
        "db",
        help="the database schema: upgrade, current, check; the rollups: rebuild-rollups, check-rollups",
        description="Schema migrations (Alembic). The app and every other command upgrade an empty or "
        "older database on start unless EBAYDASH_AUTO_MIGRATE=false; these commands do it by hand.",
    )
    db_sub = db.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser(
        "upgrade",
        help="bring the schema to this version's revision (adopts tables made before migrations)",
        description="Create the tables of an empty database, adopt the tables of one made before "
        "migrations (after checking them), or apply the newer revisions. One transaction on Postgres, "
        "under an advisory lock: replicas running it together migrate once.",
    )
    p.set_defaults(handler=cmd_db_upgrade)
    p = db_sub.add_parser("current", help="print the database's revision and what it means")
    p.set_defaults(handler=cmd_db_current)  # a database that does not exist yet: revision none
    p = db_sub.add_parser(
        "check",
        help="exit 0 when the schema is current, 1 when it is behind or differs",
        epilog="exit codes: 0 current, 1 behind, empty, missing, unknown revision or different tables, "
        "2 bad usage or configuration",
    )
    p.set_defaults(handler=cmd_db_check)  # a database that does not exist yet: exit 1, as empty
    p = db_sub.add_parser(
        "rebuild-rollups",
        help="recompute the overview's rollups from the orders (one transaction)",
    )
    p.add_argument("--account", metavar="NAME", action="append", help=ROLLUP_ACCOUNT_HELP)
    p.set_defaults(handler=cmd_db_rebuild_rollups, existing_database=True)
    p = db_sub.add_parser(
        "check-rollups",
        help="exit 0 when the rollups equal a full recomputation from the orders, 1 when not",
    )
    p.add_argument("--account", metavar="NAME", action="append", help=ROLLUP_ACCOUNT_HELP)
    p.set_defaults(handler=cmd_db_check_rollups, existing_database=True)
    p = db_sub.add_parser(
        "revision",
        help="(developers) write a new migration file in ebaydash/db/migrations/versions",
    )
    p.add_argument("-m", "--message", required=True, help="what the change does")
    p.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it from the difference between the database (at the head) and ebaydash.db.schema",
    )
    p.set_defaults(handler=cmd_db_revision)

    users = sub.add_parser(
        "users",
        help="who may sign in and see what: grant, revoke, list",
        description="Roles per account: seller (the account's pages), manager (also the system "
        "pages), admin (every account, the system pages, grants and the audit log). Every change is "
        "written to the audit log under your operating-system user.",
    )
    users_sub = users.add_subparsers(dest="users_command", required=True)
    p = users_sub.add_parser("grant", help="give EMAIL a role on an account (replaces their role on it)")
    p.add_argument("email", metavar="EMAIL", help="the address the sign-in provider gives for them")
    p.add_argument("--account", metavar="NAME", required=True, help=ACCOUNT_NAME_OR_ID_HELP)
    p.add_argument(
        "--role",
        required=True,
        choices=["seller", "manager", "admin"],
        help="seller: the account's pages; manager: also the system pages; admin: every account, the "
        "system pages and the grants",
    )
    p.set_defaults(handler=cmd_users, existing_database=True)
    p = users_sub.add_parser("revoke", help="take EMAIL's grant on an account away")
    p.add_argument("email", metavar="EMAIL", help="the address the grant was given to")
    p.add_argument("--account", metavar="NAME", required=True, help=ACCOUNT_NAME_OR_ID_HELP)
    p.set_defaults(handler=cmd_users, existing_database=True)
    p = users_sub.add_parser("list", help="everyone known and their grants")
    p.set_defaults(handler=cmd_users, existing_database=True)

    p = sub.add_parser(
        "loadgen",
        help="drive real service calls so the monitoring pages show traffic",
        description="Simulated visitors of the overview, orders and order-detail pages, calling the "
        "same services. Stops after --requests page views or --seconds, whichever comes first.",
    )
    p.add_argument(
        "--seconds",
        type=number(0, LOADGEN_MAX_SECONDS, above_low=True, unit="seconds"),
        default=60.0,
        help=f"stop after this long: above 0, at most {LOADGEN_MAX_SECONDS:g} (default: %(default)g)",
    )
    p.add_argument(
        "--requests",
        type=whole_number(1, LOADGEN_MAX_REQUESTS),
        default=2000,
        help=f"stop after this many page views: 1 to {LOADGEN_MAX_REQUESTS:,} (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=whole_number(1, LOADGEN_MAX_WORKERS),
        default=4,
        help=f"concurrent visitors: 1 to {LOADGEN_MAX_WORKERS} (default: %(default)s)",
    )
    p.add_argument(
        "--fresh",
        type=number(0, 1),
        default=0.1,
        help="share of calls that bypass the cache, from 0 to 1 (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=None, help="repeatable choice of pages and accounts")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_loadgen, existing_database=True)

    from ebaydash.cluster.commands import add_parsers as add_cluster_parsers

    add_cluster_parsers(sub)  # cluster start|stop|status, autoscale
    _plain_help(parser)
    return parser


def _command_line_logging(level: str) -> None:
    """Log lines on stderr as ``ebaydash: WARNING: …``, without those about an error that is also
    raised (:data:`ebaydash.errors.RAISED_TOO`): :func:`main` prints that one, once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ebaydash: %(levelname)s: %(message)s"))
    handler.addFilter(lambda record: not any(getattr(record, key, False) for key in RAISED_TOO))
    logging.basicConfig(level=level, handlers=[handler])
    # Alembic's INFO lines (plugins set up on import, each step) say nothing to an operator: the
    # migration runner prints its own line per migration (as ebaydash.db.migrations.runner does)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _for_the_command_line(message: object) -> str:
    """A message (an error's), its advice for the dashboard's viewers turned to the operator's."""
    from ebaydash.db.faults import RECOVERS

    return str(message).replace(RECOVERS, "Run the command again once it is back.")


#: The reader of stdout went away before the command had written everything (``ebaydash accounts
#: | head -1``): 141 is what a shell reports for a command killed by SIGPIPE (128 + 13), kept apart
#: from 1 so a script under ``set -o pipefail`` sees the same as for any other command cut short.
EXIT_BROKEN_PIPE = 141


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe (or socket) whose reader has closed it: a BrokenPipeError from
    elsewhere (a socket the command uses) is not the operator's ``| head``."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no file behind sys.stdout: not its pipe
        return False
    if not hasattr(select, "poll"):  # cannot tell: take it for stdout's, as the Python docs do
        return True
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are reported whatever is asked for
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. Output cut short by its reader (``| head``) ends the command
    quietly with :data:`EXIT_BROKEN_PIPE`, as the Python documentation's "Note on SIGPIPE" does."""
    try:
        try:
            return _main(argv)
        finally:
            # what is still buffered is written now, so a reader that has gone shows here rather
            # than as "Exception ignored … BrokenPipeError" when the interpreter exits
            sys.stdout.flush()
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise
        # the rest of the output (and the interpreter's last flush) goes nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    install_log_redaction()
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 2
    # the server's default (INFO) would fill an operator's terminal: warnings, unless asked for more
    _command_line_logging(settings.log_level if "EBAYDASH_LOG_LEVEL" in os.environ else "WARNING")
    handler: Handler = args.handler
    from ebaydash.db import scope

    try:
        if getattr(args, "existing_database", False):
            _missing_database(settings)
        # the command line is the operator's: every account, also under row-level security
        with scope.all_accounts():
            return handler(args, settings)
    except ConfigError as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 2
    except EbaydashError as exc:
        # the message names the cause and the fix
        print(f"ebaydash: {_for_the_command_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
