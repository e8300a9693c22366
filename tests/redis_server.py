"""A private redis-server child process on a free port, to stop, freeze and slow on purpose.

The fault tests break it, and the benchmark (``bench/cache.py``, which like the tests runs from the
repository) measures a Redis outage with it; the shared Redis at 127.0.0.1:6379 is never touched
that way. It lives here, not in the shipped package: nothing in the app starts servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server child process on a free port, which tests may stop, freeze and slow."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.frozen = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--enable-debug-command",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except redis.RedisError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self, timeout: float = 1.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def stop(self) -> None:
        """Terminate it: connections are refused from now on."""
        if self.process is None:
            return
        if self.frozen:
            self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing ever answers (a hung Redis)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.frozen = False

    def slow_down(self, seconds: float) -> threading.Thread:
        """Keep the server busy for ``seconds`` (DEBUG SLEEP) from a separate connection: every
        other command waits that long for its answer. Returns the thread running it."""
        client = self.client(timeout=seconds + 5)
        started = threading.Event()

        def sleep() -> None:
            started.set()
            client.execute_command("DEBUG", "SLEEP", seconds)  # type: ignore[no-untyped-call]
            client.close()

        thread = threading.Thread(target=sleep, daemon=True)
        thread.start()
        started.wait()
        # go on once the server is busy: a fixed 50 ms was not always enough on a loaded machine
        # (CI: the test's call found Redis still answering, no l2.error counted)
        # (a raw PING: redis-py retries a timed-out command until the server answers)
        deadline = time.monotonic() + seconds / 2
        while time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.settimeout(0.1)
                probe.sendall(b"PING\r\n")
                try:
                    probe.recv(16)
                except TimeoutError:
                    break  # the sleep holds the server
            time.sleep(0.01)
        return thread
