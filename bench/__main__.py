"""``python -m bench [--orders N] [--only SECTION …] [--quick]`` → docs/BENCHMARKS.md.

Prepares a Postgres database holding ``--orders`` synthetic orders (created once and reused while its
size matches), runs every section module in this package, and writes the results with the machine,
the date and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import shlex
import subprocess
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

import bench
from bench import BenchEnv, Measurement
from bench import _admin as admin
from ebaydash.db import migrations, queries
from ebaydash.db.engine import Database, make_engine
from ebaydash.seeding import seed_synthetic
from ebaydash.settings import Settings

DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = "ebaydash_bench"


def sections() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def prepare_database(admin_url: str, orders_wanted: int, prefix: str = BENCH_DB) -> Settings:
    """The benchmark database with exactly ``orders_wanted`` orders (re-seeded when it differs)."""
    name = f"{prefix}_{orders_wanted}"  # one database per size, so runs of other sizes keep it
    admin.create_database(admin_url, name, exist_ok=True)
    url = admin.url_for(admin_url, name)
    settings = Settings(database_url=url, statement_timeout_ms=600_000)
    db = Database(make_engine(settings), timeout_ms=600_000)
    try:
        try:
            have = queries.order_count_total(db)
        except Exception:
            have = -1
        if have != orders_wanted:
            print(f"bench: seeding {orders_wanted:,} orders into {name} (had {have:,})", flush=True)
            admin.reset_schema(url)
            migrations.upgrade(db)
            result = seed_synthetic(db, orders_wanted, accounts=20, seed=42)
            print(f"bench: {result.message}", flush=True)
            admin.vacuum_analyze(url)
    finally:
        db.dispose()
    return Settings(database_url=url)


def machine() -> list[str]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
        except OSError:
            return "not found"

    return [
        f"- CPU: {cpu}, {psutil.cpu_count(logical=True)} logical cores",
        f"- Memory: {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python: {sys.version.split()[0]}",
        f"- Postgres: {version(['psql', '--version'])}",
        f"- Redis: {version(['redis-server', '--version'])}",
    ]


def render(store: dict[str, Any]) -> str:
    """docs/BENCHMARKS.md from every section's latest stored run."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); each section shows when and with which",
        "command it last ran. Raw results: `docs/bench-results.json`.",
        "",
        "## Machine",
        "",
        *store.get("machine", []),
        "",
    ]
    for section, run in sorted(store.get("sections", {}).items()):
        lines += [
            f"## {section}",
            "",
            f"Ran `{run['command']}` on {run['when']} against {run['orders']:,} orders.",
            "",
            *([run["summary"], ""] if run.get("summary") else []),
            "| What | Result | Target | Met | Note |",
            "| --- | --- | --- | --- | --- |",
        ]
        for m in run["measurements"]:
            met = "—" if m["ok"] is None else ("yes" if m["ok"] else "**no**")
            result = f"{m['value']:,.3f} {m['unit']}"
            lines.append(f"| {m['name']} | {result} | {m['target'] or '—'} | {met} | {m['note']} |")
        if run.get("error"):
            lines.append(f"\nThis section failed: `{run['error']}`")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="*", default=None, help=f"sections: {', '.join(sections())}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--out", default="docs/BENCHMARKS.md")
    parser.add_argument("--admin-url", default=os.environ.get("EBAYDASH_BENCH_PG_URL", DEFAULT_ADMIN))
    parser.add_argument(
        "--redis-url", default=os.environ.get("EBAYDASH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument(
        "--db-prefix",
        default=os.environ.get("EBAYDASH_BENCH_DB_PREFIX", BENCH_DB),
        help="the benchmark database is PREFIX_ORDERS (another prefix keeps runs on a shared server apart)",
    )
    parser.add_argument("--label", default=None, help=argparse.SUPPRESS)  # set for section processes
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = args.label or (" ".join(["python -m bench", shlex.join(given)]) if given else "make bench")
    names = args.only or sections()

    # a section with a database of its own (USES_BENCH_DB = False) does not need the shared one seeded
    if any(getattr(importlib.import_module(f"bench.{n}"), "USES_BENCH_DB", True) for n in names):
        settings = prepare_database(args.admin_url, args.orders, args.db_prefix)
    else:
        settings = Settings()
    if len(names) > 1:
        return _each_in_its_own_process(args, names, command)
    return _run_section(args, names[0], command, settings)


def _run_section(args: argparse.Namespace, name: str, command: str, settings: Settings) -> int:
    """Run one section here and merge its results into the stored ones and the written page."""
    env = BenchEnv(
        settings=settings,
        admin_url=args.admin_url,
        redis_url=args.redis_url,
        orders=args.orders,
        quick=args.quick,
    )
    out = Path(args.out)
    store_path = out.parent / "bench-results.json"
    store: dict[str, Any] = json.loads(store_path.read_text()) if store_path.exists() else {}
    store["machine"] = machine()
    store.setdefault("sections", {})
    print(f"bench: {name}", flush=True)
    module = importlib.import_module(f"bench.{name}")
    run: dict[str, Any] = {
        "command": command,
        "when": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        # a section with a data set of its own size says so (big_seller: EBAYDASH_BENCH_BIG_ORDERS)
        "orders": getattr(module, "ORDERS", args.orders),
        "measurements": [],
        "error": None,
        # a section's findings in prose (its module's SUMMARY), printed above its table
        "summary": getattr(module, "SUMMARY", ""),
    }
    try:
        measured: list[Measurement] = module.run(env)
    except Exception as exc:
        traceback.print_exc()
        run["error"] = repr(exc)
        measured = []
    for m in measured:
        flag = "" if m.ok is None else (" ok" if m.ok else " MISSED")
        print(f"  {m.name}: {m.value:,.3f} {m.unit} {m.target}{flag}", flush=True)
        run["measurements"].append(asdict(m))
    store["sections"][name] = run
    out.parent.mkdir(parents=True, exist_ok=True)
    store_path.write_text(json.dumps(store, indent=1, default=str) + "\n")
    out.write_text(render(store))
    print(f"bench: wrote {out}")
    return 1 if run["error"] else 0


def _each_in_its_own_process(args: argparse.Namespace, names: list[str], command: str) -> int:
    """Run every section in a fresh interpreter, one after the other: what one section leaves behind
    (the naive pandas comparison grows the heap by 400 MB, contexts leave threads) must not weigh on
    the next one's timings."""
    failed = []
    for name in names:
        child = [
            sys.executable,
            "-m",
            "bench",
            "--only",
            name,
            "--orders",
            str(args.orders),
            "--out",
            args.out,
            "--admin-url",
            args.admin_url,
            "--redis-url",
            args.redis_url,
            "--db-prefix",
            args.db_prefix,
            "--label",
            command,
            *(["--quick"] if args.quick else []),
        ]
        if subprocess.run(child, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
