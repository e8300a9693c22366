"""Starting, watching and stopping the cluster's processes (Streamlit replicas and HAProxy).

Processes are started in their own session, so they outlive the command that started them
(``make cluster`` returns) and a Ctrl-C in that terminal does not reach them. Each one is
remembered as a :class:`Proc`: its pid *and* its start time, so a pid the system has since given
to another process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Proc:
    pid: int
    started: float  # psutil's create_time, to tell our process from a later one with its pid

    @classmethod
    def of(cls, pid: int) -> Proc:
        return cls(pid, psutil.Process(pid).create_time())

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            return (
                abs(process.create_time() - self.started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False

    def signal(self, signum: int) -> bool:
        if not self.alive():
            return False
        try:
            os.kill(self.pid, signum)
            return True
        except ProcessLookupError:
            return False

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; returns once the process is gone."""
        if not self.signal(signal.SIGTERM):
            return
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            _reap(self.pid)
            time.sleep(0.05)
        if self.alive():
            self.signal(signal.SIGKILL)
            while self.alive():
                _reap(self.pid)
                time.sleep(0.05)
        _reap(self.pid)


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our child (a process started by this one stays a zombie otherwise)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def spawn(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> Proc:
    """Start ``command`` detached (own session), its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc.of(process.pid)


def healthy(url: str, *, timeout_s: float = 1.0) -> bool:
    """``url`` answers 200 (used on a replica's /_stcore/health)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def wait_healthy(url: str, proc: Proc, *, timeout_s: float) -> bool:
    """Poll ``url`` until it answers 200; False if ``proc`` died or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if healthy(url, timeout_s=1.0):
            return True
        if not proc.alive():
            return False
        time.sleep(0.2)
    return False


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` of a log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
