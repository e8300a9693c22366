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


# -- output whose reader has gone (`ebaydash … | head -1`) ---------------------------------------


def _to_a_closed_pipe(args: list[str], cwd: Path, *, unbuffered: bool) -> subprocess.CompletedProcess[str]:
    """``ebaydash ARGS`` with stdout a pipe whose reader has already closed it, as ``| head -1``
    leaves it once head has its line: every write to it fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EBAYDASH_", "PYTHONUNBUFFERED"))}
    # unbuffered: the error comes from a print inside the command; buffered: from the last flush
    env = {**clean, "EBAYDASH_DATA_DIR": str(cwd), **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})}
    try:
        return subprocess.run(
            [sys.executable, "-m", "ebaydash.cli", *args],
            env=env,
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def _stand_in_cluster(run_dir: Path) -> None:
    """The run directory of a cluster whose balancer and replicas have all ended (no HAProxy):
    ``cluster status`` prints its lines on stdout, then what is down on stderr, and exits 3."""
    from ebaydash.cluster import Cluster, ClusterSpec, Replica
    from ebaydash.cluster.processes import Proc

    run_dir.mkdir()
    process = subprocess.Popen(["sleep", "60"])
    ended = Proc.of(process.pid)
    process.kill()
    process.wait()
    spec = ClusterSpec(run_dir=run_dir, replicas=2, port=_closed_port(), slots=2)
    replicas = {
        name: Replica(name, _closed_port(), _closed_port(), ended.pid, ended.started) for name in ("r1", "r2")
    }
    Cluster(spec, ended, replicas)._save()


@pytest.mark.parametrize(
    ("command", "unbuffered"),
    [
        # a print inside the command fails: nothing else is said
        (["cluster", "--run-dir", "run", "status"], True),
        # the output waits in the buffer: what is down still goes to stderr, then the flush fails
        (["cluster", "--run-dir", "run", "status"], False),
        # argparse's SystemExit after the help (unbuffered, argparse itself ignores a failed write)
        (["--help"], False),
    ],
    ids=["status-unbuffered", "status-buffered", "help"],
)
def test_output_whose_reader_has_gone_ends_quietly_with_141(
    tmp_path: Path, command: list[str], unbuffered: bool
) -> None:
    _stand_in_cluster(tmp_path / "run")
    done = _to_a_closed_pipe(command, tmp_path, unbuffered=unbuffered)
    assert done.returncode == cli.EXIT_BROKEN_PIPE == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    if unbuffered or command == ["--help"]:
        assert done.stderr == ""
    else:
        assert done.stderr.endswith("not all healthy (3 down); exit code 3\n")


def test_output_read_to_the_end_is_the_control(tmp_path: Path) -> None:
    """The same commands with a reader that reads it all: their output and their own exit codes."""
    _stand_in_cluster(tmp_path / "run")
    done = _run(["--help"], {}, tmp_path)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("usage: ebaydash")
    done = _run(["cluster", "--run-dir", "run", "status"], {}, tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("Balancer ") and "not all healthy (3 down)" in done.stderr


def test_a_broken_pipe_that_is_not_stdout_is_no_reader_gone(tmp_path: Path) -> None:
    """A command's own socket breaking (HAProxy's, say) while stdout is fine is a failure to show,
    not a quiet 141."""
    script = (
        "import sys\n"
        "from ebaydash import cli\n"
        "from ebaydash.cluster import commands\n"
        "def broken(args, settings):\n"
        "    print('before')\n"
        "    raise BrokenPipeError(32, 'Broken pipe (a socket)')\n"
        "commands.cmd_cluster_status = broken\n"
        "sys.exit(cli.main(['cluster', 'status']))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, "EBAYDASH_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == "before\n"
    assert "BrokenPipeError: [Errno 32] Broken pipe (a socket)" in done.stderr


def test_the_autoscaler_loop_stops_when_its_output_has_no_reader() -> None:
    """A tick that fails is tried again; a report that cannot be written is not a tick failing."""
    import threading

    from ebaydash.cluster.autoscale import Autoscaler

    scaler = Autoscaler.__new__(Autoscaler)  # no cluster, context or database: only the loop
    ticks: list[int] = []
    stop = threading.Event()

    def tick() -> object:
        ticks.append(1)
        if len(ticks) == 1:
            raise RuntimeError("redis hiccup")  # retried
        if len(ticks) == 5:
            stop.set()  # a loop that goes on after a failed report ends here
        return object()

    def report(step: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    scaler.tick = tick  # type: ignore[method-assign,assignment]
    with pytest.raises(BrokenPipeError):
        scaler.run(interval_s=0.0, stop=stop, report=report)
    assert len(ticks) == 2
